"""``leadflow demo --accounts``: companies with buying groups whose titles map to the
roles of policy/accounts.yaml, the ordinary leads untouched, and a share of the companies
qualifying as accounts when replayed through the accounts policy."""

from __future__ import annotations

from collections import Counter

import pytest

from streams.codecs import default_codecs
from streams.demo import generate
from streams.demo.accounts import ROLE_TITLES, plan
from streams.domain import Policy, load_policy
from streams.domain.accounts import account_key, role_of
from streams.engine.memory import Record, replay, replay_accounts
from streams.paths import POLICY_DIR
from streams.processor import LeadProcessor

NOW = 1_780_000_000_000
DAY = 86_400_000


@pytest.fixture(scope="module")
def ap() -> Policy:
    return load_policy(POLICY_DIR / "accounts.yaml")


def test_every_title_maps_to_its_role_in_the_shipped_policy(ap: Policy) -> None:
    assert ap.accounts is not None
    assert set(ROLE_TITLES) == {name for name, _ in ap.accounts.roles}
    for role, titles in ROLE_TITLES.items():
        for title in titles:
            assert role_of(title, ap.accounts) == role, title


def test_the_plan_groups_contacts_by_account(ap: Policy) -> None:
    assert ap.accounts is not None
    companies = plan(7, 500, NOW - 14 * DAY, 14)
    contacts = [c for co in companies for c in co.contacts]
    assert 0 < len(contacts) <= 200 and len(companies) >= 30
    # contacts take the last lead indices, each once
    assert sorted(c.index for c in contacts) == list(range(500 - len(contacts), 500))
    for co in companies:
        assert 3 <= len(co.contacts) <= 6
        assert {account_key(c.profile, ap.accounts) for c in co.contacts} == {co.account}
        assert len({c.profile["email"].split("@")[1] for c in co.contacts}) == 1
    assert len({co.account for co in companies}) == len(companies)
    assert any(co.account.startswith("ACC-") for co in companies)
    assert any(not co.account.startswith("ACC-") for co in companies)  # by domain


def test_without_accounts_the_ordinary_leads_are_unchanged(ap: Policy) -> None:
    plain = generate(5, 200, NOW, ap)
    grown = generate(5, 200, NOW, ap, accounts=True)
    assert not plain.companies and grown.companies
    first = {c.index for co in grown.companies for c in co.contacts}
    cut = f"L5-{min(first) + 1:05d}"  # the first contact's lead id

    def ordinary(demo: object) -> list[object]:
        return [r.record for r in demo.records  # type: ignore[attr-defined]
                if r.record is not None and r.record.get("lead_id", "") < cut
                and r.kind != "malformed"]

    assert ordinary(plain) == ordinary(grown)
    assert grown.records != plain.records
    assert generate(5, 200, NOW, ap, accounts=True).records == grown.records  # seeded


def test_a_share_of_the_companies_qualify(ap: Policy) -> None:
    codecs = default_codecs()
    demo = generate(7, 300, NOW, ap, accounts=True)
    recs = [Record(r.logical, r.key, r.value(codecs)) for r in demo.records
            if r.kind != "malformed"]
    leads = replay(recs, LeadProcessor(ap, codecs, {}), 4, NOW)
    accounts = replay_accounts(leads.outbound, ap, codecs, 4, NOW)
    qualified = {o.record["account_id"] for o in accounts.outbound
                 if o.kind == "AccountQualified"}
    planned = {co.account: co.intent for co in demo.companies}
    by_intent = Counter(planned[a] for a in qualified if a in planned)
    assert by_intent["hot"] >= 5
    assert len(qualified & set(planned)) < len(planned)  # not every company


def test_the_summary_takes_an_escalated_qualification_as_the_accounts_latest() -> None:
    from streams.demo.summary import account_figures

    def record(qid: str, queue: str) -> dict[str, object]:
        return {"qualification_id": qid, "account_id": qid.split(":")[1], "queue": queue,
                "score": 100.0}

    figs = account_figures([record("aq:acc-1:1", "emea"), record("aq:acc-1:1:esc", "escalation"),
                            record("aq:acc-2:2", "emea"), record("aq:acc-2:10", "apac")])
    assert figs["qualified_accounts"] == 2 and figs["account_escalations"] == 1
    assert figs["accounts_by_queue"] == {"escalation": 1, "apac": 1}
