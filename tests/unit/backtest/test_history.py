"""Reading JSON Lines history: the orjson fast path gives what the standard library gives."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from streams.backtest import HistoryError, read_history
from streams.backtest.history import _json_lines_text, _records

NOW = 1_790_000_000_000


def _event(i: int, **over: object) -> dict[str, object]:
    rec: dict[str, object] = {"event_id": f"e{i}", "lead_id": f"L{i % 3}", "type": "EMAIL_OPENED",
                              "occurred_at": NOW - 1000 * i, "source": "web",
                              "campaign_id": None, "asset_id": None, "rep_id": None,
                              "attributes": {"country": "US"}}
    rec.update(over)
    return rec


ODD_LINES = [
    json.dumps(_event(1)).encode(),
    b"   ",
    b"\xc2\xa0",  # a no-break space only: blank once stripped as text
    json.dumps(_event(2, occurred_at=2**70)).encode(),  # past 64 bits: orjson would say float
    json.dumps(_event(3, occurred_at=-(2**64))).encode(),
    json.dumps(_event(4, attributes={"title": "Dr\ud800"})).encode(),  # lone surrogate
    json.dumps(_event(5)).encode().replace(b"US", b"U\xffS"),  # invalid UTF-8
    json.dumps(_event(6, occurred_at=float(NOW))).encode(),
    b'{"event_id": "e7", "lead_id": "L1", "type": "WON", "occurred_at": %d, '
    b'"amount": 1.1, "rep_id": null, "reason": null}' % (NOW - 7),
    b'{"event_id": "e8", "lead_id": "L1", "type": "WON", "occurred_at": %d, '
    b'"amount": NaN, "rep_id": null, "reason": null}' % (NOW - 8),
    json.dumps(_event(9, attributes={"n": 1e400})).encode(),
    json.dumps(_event(10)).encode() + b"\x0b",  # vertical tab: str.strip() removes it
    json.dumps(_event(11, lead_id=12345678901234567890123)).encode(),
    b"",
]


def _same(path: Path) -> None:
    """The fast reader's records equal the plain text-mode json reader's, line numbers too."""
    by_text = _json_lines_text(path)
    assert _records(path) == by_text
    h = read_history([path], NOW)
    assert len(by_text) == h.events + h.outcomes + h.invalid


def test_fast_json_lines_read_like_the_standard_library(tmp_path: Path) -> None:
    path = tmp_path / "h.jsonl"
    path.write_bytes(b"\n".join(ODD_LINES) + b"\n")
    _same(path)
    h = read_history([path], NOW)
    assert h.invalid > 0 and h.events > 0 and h.outcomes > 0


@pytest.mark.parametrize("sep", [b"\r\n", b"\r"])
def test_carriage_returns_end_lines_as_in_text_mode(tmp_path: Path, sep: bytes) -> None:
    path = tmp_path / "h.jsonl"
    path.write_bytes(sep.join([*ODD_LINES[:2], json.dumps(_event(20)).encode()]) + sep)
    _same(path)
    assert read_history([path], NOW).events == 2


def test_bad_lines_name_the_line(tmp_path: Path) -> None:
    path = tmp_path / "h.jsonl"
    path.write_bytes(json.dumps(_event(1)).encode() + b"\n\n[1, 2]\n")
    with pytest.raises(HistoryError, match=r"h.jsonl:3: a JSON line must hold one record"):
        read_history([path], NOW)
    path.write_bytes(json.dumps(_event(1)).encode() + b"\n\xef\xbb\xbf{}\n")
    with pytest.raises(HistoryError, match=r"h.jsonl:2: not a JSON record"):
        read_history([path], NOW)
