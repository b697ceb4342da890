"""streams.domain.shadow.diff: what differs between the live and the shadow policy's
decisions on the same record, and when it is worth a ShadowDiff."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from streams.domain import LeadEvent, LeadState, Policy, SalesOutcome, load_policy, step
from streams.domain.shadow import ShadowDiff, diff
from streams.paths import DEFAULT_POLICY
from tests.support.kafka_io import HOUR, lead_event, outcome
from tests.support.shadow import threshold_policy
from tests.support.stories import BANT

T0 = 1_767_225_600_000
LIVE = load_policy(DEFAULT_POLICY)


@pytest.fixture(scope="module")
def shadow70(tmp_path_factory: pytest.TempPathFactory) -> Policy:
    return load_policy(threshold_policy(tmp_path_factory.mktemp("p") / "p70.yaml", 70))


def _model(rec: dict[str, Any]) -> LeadEvent | SalesOutcome:
    if rec["event_id"].startswith("o"):
        return SalesOutcome.from_record(rec)
    return LeadEvent.from_record(rec)


def run(records: list[dict[str, Any]], live: Policy, shadow: Policy
        ) -> list[ShadowDiff | None]:
    """Both policies over the same records, as the worker applies them: one diff (or None)
    per record."""
    a: LeadState | None = None
    b: LeadState | None = None
    out = []
    for rec in records:
        model = _model(rec)
        a2, outs_a = step(a, model, live, T0)
        b2, outs_b = step(b, model, shadow, T0)
        out.append(diff(a, a2, outs_a, b, b2, outs_b, model, (live, shadow)))
        a, b = a2, b2
    return out


STORY = [
    lead_event("e1", "L1", "CONTENT_DOWNLOAD", T0, attributes=BANT),  # 15
    lead_event("e2", "L1", "WEBINAR_ATTENDED", T0 + HOUR),  # 35
    lead_event("e3", "L1", "PRICING_PAGE_VISIT", T0 + 2 * HOUR),  # 60: MQL at 50, not 70
    lead_event("e4", "L1", "EMAIL_OPENED", T0 + 3 * HOUR),  # nobody moves
    lead_event("e5", "L1", "DEMO_REQUESTED", T0 + 4 * HOUR),  # 100: MQL at 70 too
]


def test_the_same_policy_never_differs() -> None:
    assert run(STORY, LIVE, LIVE) == [None] * len(STORY)


def test_a_higher_threshold_hands_off_later(shadow70: Policy) -> None:
    d1, d2, d3, d4, d5 = run(STORY, LIVE, shadow70)
    assert d1 is None and d2 is None
    assert d3 is not None
    rec = d3.to_record()
    assert rec["kinds"] == ["STAGE", "HANDOFF", "PATH", "QUEUE"]
    assert (rec["live_stage"], rec["shadow_stage"]) == ("MQL", "ENGAGED")
    assert (rec["live_path"], rec["shadow_path"]) == ("SCORE", None)
    assert rec["live_queue"] is not None and rec["shadow_queue"] is None
    assert rec["live_score_band"] == rec["shadow_score_band"]
    assert rec["diff_id"] == "shadowdiff:L1:e3" and rec["cause_event_id"] == "e3"
    assert rec["occurred_at"] == T0 + 2 * HOUR
    assert (rec["live_policy_version"], rec["shadow_policy_version"]) == (
        LIVE.version, shadow70.version)
    assert LIVE.version != shadow70.version
    # the difference persists, but neither side moved on e4: not repeated
    assert d4 is None
    # e5: the shadow hands off now, the live one did before
    assert d5 is not None
    assert d5.kinds == ("HANDOFF", "PATH", "QUEUE")
    assert (d5.live.stage, d5.shadow.stage) == ("MQL", "MQL")
    assert (d5.live.handoff, d5.shadow.handoff) == (False, True)


def test_score_bands_differ_when_scoring_differs(tmp_path: Path) -> None:
    text = DEFAULT_POLICY.read_text().replace("    PRICING_PAGE_VISIT: 25\n",
                                              "    PRICING_PAGE_VISIT: 80\n", 1)
    (tmp_path / "p.yaml").write_text(text)
    shadow = load_policy(tmp_path / "p.yaml")
    diffs = run(STORY[:3], LIVE, shadow)
    d3 = diffs[2]
    assert d3 is not None and "SCORE_BAND" in d3.kinds
    assert (d3.live.band, d3.shadow.band) == ("50-99", "100+")


def test_an_outcome_for_an_unknown_lead_decides_nothing(shadow70: Policy) -> None:
    model = SalesOutcome.from_record(outcome("o1", "L9", "ACCEPTED", T0))
    assert diff(None, None, [], None, None, [], model, (LIVE, shadow70)) is None
