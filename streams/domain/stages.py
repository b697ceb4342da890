"""Stage rules: which moves are allowed, and the MQL test.

Score moves leads forward only through RAW -> ENGAGED -> MQL (NURTURE -> MQL to re-qualify).
Sales outcomes are authoritative and move a lead along MQL -> SAL -> SQL -> OPPORTUNITY ->
WON | LOST from any stage that is not terminal, as long as the move is forward in that
pipeline (an ACCEPTED for a lead already in SQL is stale: ignored and counted).
"""

from __future__ import annotations

from streams.domain.fit import grade_at_least
from streams.domain.models import LeadState, Stage
from streams.domain.policy import Policy

# stages in which marketing events can still move the lead by score
SCORING_STAGES = frozenset({Stage.RAW, Stage.ENGAGED, Stage.NURTURE})
# stages in which disqualify rules apply (not yet accepted by sales)
PRE_SALES = frozenset({Stage.RAW, Stage.ENGAGED, Stage.NURTURE, Stage.MQL})
# no more moves except those listed in outcome handling (LOST may be RECYCLED)
TERMINAL = frozenset({Stage.WON, Stage.LOST, Stage.DISQUALIFIED, Stage.ERASED})

PIPELINE_RANK = {
    Stage.RAW: 0,
    Stage.ENGAGED: 0,
    Stage.NURTURE: 0,
    Stage.MQL: 1,
    Stage.SAL: 2,
    Stage.SQL: 3,
    Stage.OPPORTUNITY: 4,
    Stage.WON: 5,
    Stage.LOST: 5,
}

OUTCOME_TARGET = {
    "ACCEPTED": Stage.SAL,
    "MEETING_HELD": Stage.SQL,
    "OPPORTUNITY_CREATED": Stage.OPPORTUNITY,
    "WON": Stage.WON,
    "LOST": Stage.LOST,
    "REJECTED": Stage.NURTURE,
    "RECYCLED": Stage.NURTURE,
}


def outcome_move(current: Stage, outcome_type: str) -> Stage | None:
    """The stage an outcome moves the lead to, or None when it does not fit the stage."""
    target = OUTCOME_TARGET.get(outcome_type)
    if target is None or current in (Stage.ERASED, Stage.DISQUALIFIED, Stage.WON):
        return None
    if target is Stage.NURTURE:
        if current is Stage.NURTURE:
            return None
        if current is Stage.LOST and outcome_type != "RECYCLED":
            return None
        return target
    if current is Stage.LOST:
        return None
    return target if PIPELINE_RANK[target] > PIPELINE_RANK[current] else None


def score_move(state: LeadState, score: float, policy: Policy) -> Stage | None:
    """MQL when score, grade *and* criteria hold; ENGAGED from RAW on score alone."""
    st = policy.stages
    if (score >= st.mql_score and grade_at_least(state.grade, st.mql_min_grade)):
        need = st.mql_min_criteria
        met = state.pcrit.bit_count()  # profile-only criteria, evaluated on profile change
        if met >= need:
            return Stage.MQL
        if met + len(policy.event_criteria) >= need:
            for c in policy.event_criteria:
                if c.when.test(state):
                    met += 1
                    if met >= need:
                        return Stage.MQL
    if state.stage is Stage.RAW and score >= st.engaged_score:
        return Stage.ENGAGED
    return None
