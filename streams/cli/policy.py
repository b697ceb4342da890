"""``leadflow policy check FILE``: validate a policy file, listing every problem."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from streams.errors import USAGE

app = typer.Typer(help="Work with policy files (the sales-marketing agreement as code).",
                  no_args_is_help=True)


def summary(policy: object) -> str:
    from streams.domain import Policy

    assert isinstance(policy, Policy)
    st = policy.stages
    queues = [q.name for q in policy.routing.queues]
    scored = sum(1 for v in policy.scoring.points.values() if v)
    return (
        f"{scored} scored event types, {len(policy.scoring.rules)} asset/campaign rules, "
        f"{len(policy.fit.rules)} fit rules, criteria [{', '.join(policy.criteria_names)}], "
        f"MQL at score >= {st.mql_score:g} + grade {st.mql_min_grade} + "
        f"{st.mql_min_criteria} criteria, {len(policy.disqualify)} disqualify rules, "
        f"{len(queues)} queues [{', '.join(queues)}], follow-up "
        f"{policy.sla.default_hours:g} h"
    )


@app.command("check")
def check(
    file: Annotated[Path, typer.Argument(help="The policy YAML file to check.")],
) -> None:
    """Validate a policy file: an ok line with its version and a summary, or every problem
    with its path and file:line (exit 2)."""
    from streams.domain import PolicyError, load_policy

    try:
        policy = load_policy(file)
    except PolicyError as err:
        typer.echo(f"{file}: invalid policy, {len(err.problems)} problem(s)", err=True)
        for p in err.problems:
            typer.echo(f"  {p}", err=True)
        raise typer.Exit(USAGE) from None
    typer.echo(f"{file}: ok, version {policy.version}")
    typer.echo(f"  {summary(policy)}")
