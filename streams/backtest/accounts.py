"""The account side of ``leadflow backtest`` (contract 4b, issue 16 item 3).

With a policy that has an ``accounts`` section the history is replayed once more through
the engine's offline reference: ``streams.engine.memory.replay`` drives the very runner the
worker runs (so the lead side sends the account signals, and each lead partition's marks,
exactly as live), and ``replay_accounts`` runs the account agent over those signals. The
report's lead figures still come from the fast replay; this replay adds only the accounts.
Inputs are re-encoded as the producer sent them (Avro, keyed by lead id) and keep their
file order per input, so they land on the partitions and offsets the worker would read.
"""

from __future__ import annotations

import csv
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from streams.codecs import default_codecs
from streams.domain import LeadEvent, Policy, SalesOutcome
from streams.domain.account_sla import ESCALATION_SUFFIX
from streams.domain.accounts import AccountState
from streams.domain.kpis import AccountFigures as SlaFigures
from streams.engine.memory import Record, replay, replay_accounts
from streams.processor import LeadProcessor


@dataclass
class AccountFigures:
    """What the report shows of the accounts for one policy."""

    version: str
    records: list[dict[str, Any]]  # AccountQualified records, in the order emitted
    states: dict[str, AccountState] = field(default_factory=dict)  # at the history's end
    seconds: float = 0.0
    # the SlaReport's account figures over the whole history (qualified, contacted, SLA
    # breaches, moved back)
    sla: SlaFigures = field(default_factory=SlaFigures)

    @property
    def latest(self) -> list[dict[str, Any]]:
        """Each account's latest qualification (not its escalation), best score first."""
        last: dict[str, dict[str, Any]] = {}
        for r in self.records:  # per account in qualification order (aq:<id>:<n>)
            if not r["qualification_id"].endswith(ESCALATION_SUFFIX):
                last[r["account_id"]] = r
        return sorted(last.values(), key=lambda r: (-r["score"], r["account_id"]))

    @property
    def by_queue(self) -> Counter[str]:
        return Counter(r["queue"] for r in self.latest)

    @property
    def qualified_at_end(self) -> int:
        return sum(1 for s in self.states.values() if s.qualified)

    @property
    def roles(self) -> Counter[str]:
        """Contacts per buying-group role in the accounts' latest qualifications."""
        return Counter(c["role"] or "-" for r in self.latest for c in r["contacts"])


def account_figures(inputs: list[LeadEvent | SalesOutcome], policy: Policy,
                    partitions: int, now_ms: int) -> AccountFigures | None:
    """The account replay of ``inputs`` (file order, ``read_history``); None when the
    policy has no accounts."""
    if policy.accounts is None:
        return None
    t0 = time.perf_counter()
    codecs = default_codecs()
    records = [Record("outcomes", m.lead_id.encode(), codecs.encode("SalesOutcome",
                                                                     m.to_record()))
               if type(m) is SalesOutcome else
               Record("events", m.lead_id.encode(), codecs.encode("LeadEvent",
                                                                   m.to_record()))
               for m in inputs]
    leads = replay(records, LeadProcessor(policy, codecs, {}), partitions, now_ms)
    accounts = replay_accounts(leads.outbound, policy, codecs, partitions, now_ms)
    found = [o.record for o in accounts.outbound if o.kind == "AccountQualified"]
    sla = SlaFigures()
    for out in accounts.outputs:
        sla.observe(out)
    return AccountFigures(policy.version, found, accounts.states,
                          time.perf_counter() - t0, sla)


def contacts_text(record: dict[str, Any]) -> str:
    return ", ".join(f"{c['lead_id']} {c['role'] or '-'}" for c in record["contacts"])


def write_csv(figures: AccountFigures, path: Path) -> None:
    """Every AccountQualified record of the replay, in the order emitted."""
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(("qualification_id", "account_id", "queue", "owner_rep_id", "score",
                    "fit_grade", "qualified_at", "contacts"))
        for r in figures.records:
            w.writerow((r["qualification_id"], r["account_id"], r["queue"],
                        r["owner_rep_id"] or "", f"{r['score']:.6f}", r["fit_grade"],
                        r["qualified_at"], contacts_text(r)))
