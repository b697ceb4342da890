"""Stage rules: which moves are allowed, and the MQL test.

Score moves leads forward only through RAW -> ENGAGED -> MQL (NURTURE -> MQL to re-qualify).
Sales outcomes are authoritative and move a lead along MQL -> SAL -> SQL -> OPPORTUNITY ->
WON | LOST from any stage that is not terminal, as long as the move is forward in that
pipeline (an ACCEPTED for a lead already in SQL is stale: ignored and counted).
"""

from __future__ import annotations

from streams.domain.fit import grade_at_least
from streams.domain.models import LeadState, Stage
from streams.domain.policy import Policy, ScoringModel
from streams.domain.scoring import current_score, model_score_at

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
    if score >= st.mql_score and fit_and_criteria(state, policy):
        return Stage.MQL
    if state.stage is Stage.RAW and score >= st.engaged_score:
        return Stage.ENGAGED
    return None


def fit_and_criteria(state: LeadState, policy: Policy) -> bool:
    """The MQL rule's other two conditions: fit grade and criteria."""
    st = policy.stages
    if not grade_at_least(state.grade, st.mql_min_grade):
        return False
    need = st.mql_min_criteria
    met = state.pcrit.bit_count()  # profile-only criteria, evaluated on profile change
    if met >= need:
        return True
    if met + len(policy.event_criteria) >= need:
        for c in policy.event_criteria:
            if c.when.test(state):
                met += 1
                if met >= need:
                    return True
    return False


def model_move(state: LeadState, policy: Policy
               ) -> tuple[Stage | None, ScoringModel | None]:
    """The MQL rule when it names scoring models (`stages.mql.model` / `any_model`): each
    eligible score against its own threshold; of those reached, the hottest (score /
    threshold, then file order; the default score first) qualifies the lead with grade and
    criteria. ENGAGED from RAW when the default score or an eligible one reaches
    stages.engaged.score (lukewarm is general engagement; hot is for a product line)."""
    st = policy.stages
    t = state.clock
    best: ScoringModel | None = None
    best_ratio = -1.0
    hot = False
    score = current_score(state, policy.scoring)
    engaged = score >= st.engaged_score
    if policy.mql_default and score >= st.mql_score:
        hot, best_ratio = True, _ratio(score, st.mql_score)
    for m in policy.mql_models:
        score = model_score_at(state, m, t)
        if score >= st.engaged_score:
            engaged = True
        if score >= m.mql_score:
            r = _ratio(score, m.mql_score)
            if not hot or r > best_ratio:
                hot, best, best_ratio = True, m, r
    if hot and fit_and_criteria(state, policy):
        return Stage.MQL, best
    if state.stage is Stage.RAW and engaged:
        return Stage.ENGAGED, None
    return None, None


def _ratio(score: float, threshold: float) -> float:
    return score / threshold if threshold > 0 else float("inf")
