"""``leadflow policy check FILE``: validate a policy file, listing every problem."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from streams.errors import USAGE

if TYPE_CHECKING:
    from streams.domain import Policy

app = typer.Typer(help="Work with policy files (the sales-marketing agreement as code).",
                  no_args_is_help=True)


def summary(policy: object) -> str:
    from streams.domain import Policy

    assert isinstance(policy, Policy)
    st = policy.stages
    queues = [q.name for q in policy.routing.queues]
    models = [f"{m.name} (half-life {m.scoring.half_life_days:g} d)" for m in policy.models]
    scored = sum(1 for v in policy.scoring.points.values() if v)
    return (
        f"{scored} scored event types, {len(policy.scoring.rules)} asset/campaign rules, "
        f"{len(policy.fit.rules)} fit rules, criteria [{', '.join(policy.criteria_names)}], "
        f"MQL at {_mql_scores(policy)} + grade {st.mql_min_grade} + "
        f"{st.mql_min_criteria} criteria, {len(policy.disqualify)} disqualify rules, "
        f"{len(queues)} queues [{', '.join(queues)}], follow-up "
        f"{policy.sla.default_hours:g} h"
        + (f", scoring models [{', '.join(models)}]" if models else "")
    )


def _mql_scores(policy: Any) -> str:
    """"score >= 50", or with scoring models "analytics >= 60 or integration >= 45"."""
    parts = [f"score >= {policy.stages.mql_score:g}"] if policy.mql_default else []
    parts += [f"{m.name} >= {m.mql_score:g}" for m in policy.mql_models]
    return " or ".join(parts)


def load_or_exit(file: Path) -> Policy:
    """The policy in `file`, or exit 2 after printing every problem (capped, with file:line)
    to stderr. `policy check`, `worker`, `backtest` and `demo` all refuse a policy this way,
    so a user sees the same lines whichever command found the mistake."""
    from streams.domain import PolicyError, load_policy

    try:
        return load_policy(file)
    except PolicyError as err:
        for line in err.lines():
            typer.echo(line, err=True)
        raise typer.Exit(USAGE) from None


@app.command("check")
def check(
    file: Annotated[Path, typer.Argument(help="The policy YAML file to check.")],
) -> None:
    """Validate a policy file: an ok line with its version and a summary, or every problem
    with its path and file:line (exit 2)."""
    policy = load_or_exit(file)
    typer.echo(f"{file}: ok, version {policy.version}")
    typer.echo(f"  {summary(policy)}")
