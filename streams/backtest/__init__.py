"""Offline replay of history through the domain core (``leadflow backtest``)."""

from streams.backtest.history import History, HistoryError, read_history
from streams.backtest.replay import Replay, replay

__all__ = ["History", "HistoryError", "Replay", "read_history", "replay"]
