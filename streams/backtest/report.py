"""What changes between two replays, lead by lead, and why.

`compare` lists the leads whose first fresh hand-off (path or queue) differs between policy A
and policy B, with what each policy saw at the lead's last event: score, grade, criteria met,
the MQL conditions missed, and the scoring rules that gave it points. The report
(`document.py`) groups them by reason, by MQL condition, by rule and by criterion, and writes
them all to `changed_leads.csv`; the charts are in `charts.py`.
"""

from __future__ import annotations

from dataclasses import dataclass

from streams.backtest.charts import chart
from streams.backtest.figures import Figures, figures
from streams.backtest.replay import Replay
from streams.domain import LeadState, Policy, Stage
from streams.domain.scoring import current_score
from streams.domain.why import Check, mql_checks, shown

__all__ = ["Change", "Figures", "chart", "compare", "figures", "why_not"]

_CONDITION_SHORT = {"score": "score", "fit_grade": "grade", "criteria": "criteria"}


def _pct(n: int, d: int) -> str:
    return f"{100.0 * n / d:.1f}% ({n}/{d})" if d else "n/a (0)"


def _unmet(state: LeadState, policy: Policy, score: float | None = None
           ) -> tuple[Check, ...]:
    """The MQL conditions this final state misses, at its last event (stage ignored: under a
    replayed policy a recorded outcome may have moved a lead that policy never handed off).

    `score`: the score when the other policy handed the lead off. That is the moment this
    policy said no (both saw the same events until then); afterwards the recorded outcomes
    moved the lead on, or a rejection reset its score, so its final score says nothing."""
    checks = mql_checks(state, policy, state.clock)
    if score is not None:
        need = policy.stages.mql_score
        ok = score >= need
        text = (f"score {shown(score):g} at the other policy's hand-off "
                f"{'>=' if ok else '<'} {need:g}")
        checks = (Check("score", ok, shown(score), need, text), *checks[1:])
    return tuple(c for c in checks if not c.met)


def why_not(state: LeadState | None, policy: Policy, score: float | None = None) -> str:
    """Why this lead was not handed off under ``policy`` (its final state; `score`: see
    `_unmet`)."""
    if state is None:
        return "never seen"
    if state.stage is Stage.DISQUALIFIED:
        return f"disqualified by rule {state.disq_rule}"
    if state.stage is Stage.ERASED:
        return "erased"
    unmet = _unmet(state, policy, score)
    if unmet:
        return "; ".join(c.text for c in unmet)
    return f"moved to {state.stage.value} by a recorded outcome before it qualified"


def _reason(state: LeadState | None, policy: Policy, score: float | None = None) -> str:
    """`why_not` without the lead's own values: what groups leads in the report."""
    if state is None or state.stage in (Stage.DISQUALIFIED, Stage.ERASED):
        return why_not(state, policy, score)
    st = policy.stages
    need = {"score": f"score < {st.mql_score:g}", "fit_grade": f"grade below {st.mql_min_grade}",
            "criteria": f"criteria < {st.mql_min_criteria}"}
    unmet = _unmet(state, policy, score)
    if unmet:
        return ", ".join(need[c.condition] for c in unmet)
    return "a recorded outcome moved it before it qualified"


@dataclass
class Change:
    """A lead whose first fresh hand-off differs between A and B (path, or queue)."""

    lead_id: str
    path_a: str | None
    path_b: str | None
    why: str  # for this lead, with its values
    reason: str = ""  # the same without values: what the report groups by
    queue_a: str | None = None
    queue_b: str | None = None
    score_a: float = 0.0  # at the lead's last event, one decimal
    score_b: float = 0.0
    grade_a: str = ""
    grade_b: str = ""
    criteria_a: tuple[str, ...] = ()
    criteria_b: tuple[str, ...] = ()
    unmet_a: tuple[str, ...] = ()  # MQL conditions missed under A (score, grade, criteria)
    unmet_b: tuple[str, ...] = ()
    rules: tuple[str, ...] = ()  # scoring rules that gave it points (under A or B)


def _facts(state: LeadState | None, policy: Policy, score: float | None
           ) -> tuple[float, str, tuple[str, ...], tuple[str, ...]]:
    if state is None:
        return 0.0, "", (), ()
    crit = mql_checks(state, policy, state.clock)[2]
    met = tuple(n for n in policy.criteria_names if n not in crit.missing)
    unmet = tuple(_CONDITION_SHORT[c.condition] for c in _unmet(state, policy, score))
    return shown(current_score(state, policy.scoring)), state.grade, met, unmet


def compare(a: Replay, fa: Figures, b: Replay, fb: Figures) -> list[Change]:
    out = []
    for lid in sorted(set(fa.first_path) | set(fb.first_path)):
        pa, pb = fa.first_path.get(lid), fb.first_path.get(lid)
        qa, qb = fa.first_queue.get(lid), fb.first_queue.get(lid)
        if pa == pb and qa == qb:
            continue
        sa, sb = a.states.get(lid), b.states.get(lid)
        # the score when the policy that handed it off did so (SCORE path only)
        at_a = fa.first_score.get(lid) if pa == "SCORE" and pb is None else None
        at_b = fb.first_score.get(lid) if pb == "SCORE" and pa is None else None
        if pa is not None and pb is None:
            why = f"not under B: {why_not(sb, b.policy, at_a)}"
            reason = f"not under B: {_reason(sb, b.policy, at_a)}"
        elif pb is not None and pa is None:
            why = f"not under A: {why_not(sa, a.policy, at_b)}"
            reason = f"not under A: {_reason(sa, a.policy, at_b)}"
        elif pa != pb:
            why = reason = f"path {pa} -> {pb}"
        else:
            why = reason = f"queue {qa} -> {qb}"
        score_a, grade_a, crit_a, unmet_a = _facts(sa, a.policy, at_b)
        score_b, grade_b, crit_b, unmet_b = _facts(sb, b.policy, at_a)
        rules = sorted({k for s in (sa, sb) if s is not None for k, v in s.contrib.items()
                        if v})
        out.append(Change(lid, pa, pb, why, reason, qa, qb, score_a, score_b, grade_a,
                          grade_b, crit_a, crit_b, unmet_a, unmet_b, tuple(rules)))
    return out
