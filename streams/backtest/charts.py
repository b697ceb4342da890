"""The report's charts (PNG, matplotlib's Agg backend: no display, no warnings leaking)."""

from __future__ import annotations

import logging
import warnings
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from streams.backtest.counterfactual import REFERRAL_ROW, Scorecard, band_order
from streams.backtest.figures import Figures


@contextmanager
def _pyplot() -> Iterator[Any]:
    """pyplot on the Agg backend, its warnings and log lines kept out of the user's terminal
    (a chart is a file; what the user reads is the report)."""
    log = logging.getLogger("matplotlib")
    level = log.level
    log.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import matplotlib

            matplotlib.use("Agg")
            import matplotlib.pyplot as plt

            yield plt
    finally:
        log.setLevel(level)


def chart(fs: list[Figures], path: Path) -> None:
    with _pyplot() as plt:
        _chart(plt, fs, path)


def _chart(plt: Any, fs: list[Figures], path: Path) -> None:
    days = sorted({d for f in fs for d in f.handoffs_by_day_path})
    fig, axes = plt.subplots(2, 1, figsize=(10, 7), sharex=True)
    ax = axes[0]
    x = list(range(len(days)))
    main = fs[0]
    bottom = [0] * len(days)
    for hpath, color in (("SCORE", "#4C72B0"), ("REFERRAL", "#55A868"),
                         ("ESCALATION", "#C44E52")):
        ys = [main.handoffs_by_day_path.get(d, Counter())[hpath] for d in days]
        ax.bar(x, ys, bottom=bottom, label=f"{hpath} ({main.version})", color=color)
        bottom = [b + y for b, y in zip(bottom, ys, strict=True)]
    for other in fs[1:]:
        ys = [sum(other.handoffs_by_day_path.get(d, Counter()).values()) for d in days]
        ax.plot(x, ys, "k--o", label=f"all paths ({other.version})")
    ax.set_ylabel("hand-offs")
    ax.set_title("Hand-offs per day")
    ax.legend(loc="upper left", fontsize=8)
    ax2 = axes[1]
    bands = sorted({b for c in main.handoffs_by_day_band.values() for b in c},
                   key=lambda s: float(s.split("-")[0].rstrip("+")))
    bottom = [0] * len(days)
    for band in bands:
        ys = [main.handoffs_by_day_band.get(d, Counter())[band] for d in days]
        ax2.bar(x, ys, bottom=bottom, label=f"score {band}")
        bottom = [b + y for b, y in zip(bottom, ys, strict=True)]
    ax2.set_ylabel("fresh hand-offs")
    ax2.set_title(f"Fresh hand-offs (SCORE + REFERRAL) per day by score band ({main.version})")
    ax2.legend(loc="upper left", fontsize=8)
    ax2.set_xticks(x)
    ax2.set_xticklabels([d[5:] for d in days], rotation=45, ha="right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def compare_chart(cards: list[Scorecard], path: Path) -> None:
    """A and B side by side: hand-offs and their evidence, and conversion by score band."""
    with _pyplot() as plt:
        fig, (ax, ax2) = plt.subplots(1, 2, figsize=(11, 4.2))
        labels = ["fresh hand-offs", "with evidence", "no evidence", "won"]
        width = 0.8 / len(cards)
        colors = ("#4C72B0", "#DD8452")
        for i, c in enumerate(cards):
            ys = [len(c.handed), len(c.evidence), c.no_evidence, len(c.won)]
            xs = [k + (i - (len(cards) - 1) / 2) * width for k in range(len(labels))]
            bars = ax.bar(xs, ys, width, label=f"{'AB'[i]} {c.version}", color=colors[i % 2])
            ax.bar_label(bars, fontsize=7)
        ax.set_xticks(range(len(labels)))
        ax.set_xticklabels(labels, fontsize=8)
        ax.set_title("Hand-offs and evidence")
        ax.legend(fontsize=8)
        bands = sorted({b for c in cards for b in c.bands}, key=band_order)
        for i, c in enumerate(cards):
            rates = [100.0 * c.bands[b]["won"] / c.bands[b]["evidence"]
                  if b in c.bands and c.bands[b]["evidence"] else 0.0 for b in bands]
            xs = [k + (i - (len(cards) - 1) / 2) * width for k in range(len(bands))]
            ax2.bar(xs, rates, width, label=f"{'AB'[i]} {c.version}", color=colors[i % 2])
        ax2.set_xticks(range(len(bands)))
        ax2.set_xticklabels([b if b == REFERRAL_ROW else f"score {b}" for b in bands],
                            fontsize=8)
        ax2.set_ylabel("won / hand-offs with evidence (%)")
        ax2.set_title("Conversion to won by band (referrals apart)")
        ax2.legend(fontsize=8)
        fig.tight_layout()
        fig.savefig(path, dpi=100)
        plt.close(fig)


__all__ = ["chart", "compare_chart"]
