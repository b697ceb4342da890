"""Why a lead is not (yet) MQL: each condition of the MQL rule with the lead's value and
the threshold, as of a given time.

The MQL rule (contract 4, `stages.mql`): score >= threshold, fit grade at least the minimum,
and at least N criteria met. When the rule names scoring models (contract 4b), the score
condition is met by any eligible score reaching its own threshold, and lists each. The
engine tests it when an event arrives, so "as of `at`" is what the lead would bring to its
next event: the score decayed to `at`, and criteria that look at recent history ("within
30 days") judged at `at`. For a lead past the question
(handed off, in sales' hands, disqualified, erased) the answer says why it does not apply.

Pure: the state given is never changed (conditions are evaluated on a copy).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from streams.domain import fit
from streams.domain.criteria import met as criteria_met
from streams.domain.models import LeadState, Stage
from streams.domain.policy import Policy
from streams.domain.scoring import model_score_at, score_at

# stages in which the question "why not MQL" is answered by the MQL rule itself
OPEN_STAGES = frozenset({Stage.RAW, Stage.ENGAGED, Stage.NURTURE})
_SALES_STAGES = frozenset({Stage.SAL, Stage.SQL, Stage.OPPORTUNITY})


def shown(x: float) -> float:
    """A score or points as people read them: one decimal."""
    return round(x + 0.0, 1) or 0.0  # (no "-0.0")


@dataclass(frozen=True, slots=True)
class Check:
    """One condition of the MQL rule."""

    condition: str  # "score" | "fit_grade" | "criteria"
    met: bool
    value: float | str | int
    threshold: float | str | int
    text: str  # for people: "score 31.2 < 50 (18.8 short)"
    missing: tuple[str, ...] = ()  # criteria: the ones not met, in policy order
    # score, when the MQL rule names scoring models: every eligible score as
    # (model or None for the default score, value, threshold, met)
    scores: tuple[tuple[str | None, float, float, bool], ...] = ()

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"condition": self.condition, "value": self.value,
                               "threshold": self.threshold, "text": self.text}
        if self.condition == "criteria":
            out["missing"] = list(self.missing)
        if self.scores:
            out["scores"] = [{"model": m, "value": v, "threshold": t, "met": ok}
                             for m, v, t, ok in self.scores]
        return out


@dataclass(frozen=True, slots=True)
class WhyNotMql:
    applies: bool  # False: the lead is past the question (or out of it)
    summary: str  # one line for people
    checks: tuple[Check, ...]  # every condition (empty when the question does not apply)
    at: int  # the time the conditions were judged at (epoch ms)

    @property
    def unmet(self) -> tuple[Check, ...]:
        return tuple(c for c in self.checks if not c.met)

    def to_dict(self) -> dict[str, Any]:
        return {"applies": self.applies, "summary": self.summary, "as_of": self.at,
                "unmet": [c.to_dict() for c in self.unmet]}


def _as_of(state: LeadState, policy: Policy, at: int) -> LeadState:
    """A copy judged at `at` with this policy (a cached fit from another version is redone)."""
    view = state.copy()
    if at > view.clock:
        view.clock = at  # history criteria ("within N days") look back from the clock
    if view.pv != policy.version or at > state.clock:
        fit.refresh(view, policy)
    return view


def mql_checks(state: LeadState, policy: Policy, at: int) -> tuple[Check, ...]:
    """The MQL rule's three conditions for this lead as of `at` (whatever its stage)."""
    st = policy.stages
    view = _as_of(state, policy, at)
    t = max(at, state.clock)
    if policy.mql_models:
        checks = [_model_scores_check(state, policy, t)]
    else:
        score = score_at(state, t, policy.scoring)
        ok = score >= st.mql_score
        checks = [Check("score", ok, shown(score), st.mql_score,
                        _score_text("score", score, st.mql_score))]
    grade, need_grade = view.grade, st.mql_min_grade
    ok = fit.grade_at_least(grade, need_grade)
    checks.append(Check("fit_grade", ok, grade, need_grade,
                        f"fit grade {grade} {'meets' if ok else 'below'} minimum {need_grade}"))
    have = criteria_met(view, policy)
    need = st.mql_min_criteria
    missing = tuple(n for n in policy.criteria_names if n not in have)
    ok = len(have) >= need
    text = f"criteria met {len(have)} {'>=' if ok else '<'} {need}"
    if not ok:
        text += (f" (needs {need - len(have)} more of: {', '.join(missing)})" if missing
                 else "")
    checks.append(Check("criteria", ok, len(have), need, text, missing))
    return tuple(checks)


def _score_text(label: str, score: float, threshold: float) -> str:
    if score >= threshold:
        return f"{label} {shown(score):g} >= {threshold:g}"
    return f"{label} {shown(score):g} < {threshold:g} ({shown(threshold - score):g} short)"


def _model_scores_check(state: LeadState, policy: Policy, t: int) -> Check:
    """The score condition when the MQL rule names scoring models: met when any eligible
    score reaches its threshold; value and threshold are the closest one's (the hottest)."""
    rows: list[tuple[str | None, float, float]] = []
    if policy.mql_default:
        rows.append((None, score_at(state, t, policy.scoring), policy.stages.mql_score))
    rows += [(m.name, model_score_at(state, m, t), m.mql_score) for m in policy.mql_models]
    best = max(rows, key=lambda r: r[1] / r[2] if r[2] > 0 else float("inf"))
    met = [r for r in rows if r[1] >= r[2]]
    shown_rows = met or rows
    text = "; ".join(_score_text("score" if m is None else f"{m} score", v, thr)
                     for m, v, thr in shown_rows)
    if not met and len(rows) > 1:
        text = "no score hot enough: " + text
    return Check("score", bool(met), shown(best[1]), best[2], text,
                 scores=tuple((m, shown(v), thr, v >= thr) for m, v, thr in rows))


def _handed_off(state: LeadState) -> str:
    if state.ho_at is None:
        return ""
    path = state.ho_path or "?"
    return f"handed off ({path}) to queue {state.ho_queue or '-'}"


def why_not_mql(state: LeadState, policy: Policy, at: int) -> WhyNotMql:
    """Why this lead is not MQL as of `at` (epoch ms; the caller's "now")."""
    at = max(at, state.clock)
    stage = state.stage
    if stage is Stage.ERASED:
        return WhyNotMql(False, "erased: only the fact remains", (), at)
    if stage is Stage.DISQUALIFIED:
        return WhyNotMql(False, f"disqualified by rule {state.disq_rule or '?'}: never "
                         "handed to sales", (), at)
    if stage is Stage.MQL:
        return WhyNotMql(False, "already MQL: " + (_handed_off(state) or "handed off"), (),
                         at)
    if stage in _SALES_STAGES:
        ho = _handed_off(state)
        return WhyNotMql(False, f"past MQL: sales moved it to {stage.value}"
                         + (f" after it was {ho}" if ho else ""), (), at)
    if stage in (Stage.WON, Stage.LOST):
        return WhyNotMql(False, f"closed by sales: {stage.value}", (), at)
    checks = mql_checks(state, policy, at)
    unmet = [c for c in checks if not c.met]
    prefix = "back in nurture (sales rejected or recycled it); " if stage is Stage.NURTURE \
        else ""
    if unmet:
        summary = prefix + "not MQL: " + "; ".join(c.text for c in unmet)
    else:
        summary = (prefix + "every condition of the MQL rule holds: it qualifies on its "
                   "next event")
    return WhyNotMql(True, summary, checks, at)
