"""The worker's web port, as an outsider sees it (contract section 5, issue 14 item 1).

One real worker (with ``LEADFLOW_WEB_TOKEN``) runs a small ``leadflow demo``. Then:
every path Faust would serve by default answers 404 JSON; the data routes want the token;
probes and the scraper stay open; no response names the server's version; and no response
of the whole run holds a profile value (email, first or last name) of a demo lead.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest

from streams.demo import generate
from streams.domain import load_policy
from streams.paths import DEFAULT_POLICY
from tests.support.worker import ROOT, WorkerProcess

pytestmark = pytest.mark.integration

TOKEN = "s3cret-token-for-the-test-0123456789"
NOW = 1_790_000_000_000
SEED, LEADS = 9, 30
PROFILE_KEYS = ("email", "first_name", "last_name", "phone")


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes


@dataclass
class Site:
    worker: WorkerProcess
    lead_ids: list[str]
    profile_values: set[str]
    tables: list[str]
    seen: list[tuple[str, Answer]] = field(default_factory=list)

    def get(self, path: str, token: str | None = None, method: str = "GET") -> Answer:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        req = urllib.request.Request(self.worker.url + path, headers=headers, method=method)
        try:
            with urllib.request.urlopen(req, timeout=10) as resp:
                answer = Answer(resp.status, dict(resp.headers), resp.read())
        except urllib.error.HTTPError as err:
            answer = Answer(err.code, dict(err.headers), err.read())
        self.seen.append((path, answer))
        return answer


def faust_default_paths(tables: list[str], key: str) -> list[str]:
    """Every path Faust registers by default (all its blueprints, every switch on), from
    its own source, with placeholders filled with real table names and a real key."""
    from faust.web import base as faust_web
    from mode.utils.imports import symbol_by_name

    blueprints = [*faust_web.DEFAULT_BLUEPRINTS, *faust_web.PRODUCTION_BLUEPRINTS,
                  *faust_web.DEBUG_BLUEPRINTS, *faust_web.OPTIONAL_BLUEPRINTS]
    paths = set()
    for prefix, ref in blueprints:
        for route in symbol_by_name(ref).routes:
            uri = prefix + route.uri
            for name in tables:
                concrete = uri.replace("{name}", name).replace("{key}", key)
                paths |= {concrete, concrete.rstrip("/") or "/"}
    assert {"/", "/table/", "/router/", "/graph/", "/assignment/"} <= paths  # the source moved?
    return sorted(paths | {"/stats/", "/signal/", "/performance/"})


def demo_profile_values() -> tuple[list[str], set[str]]:
    demo = generate(SEED, LEADS, NOW, load_policy(DEFAULT_POLICY))
    values: set[str] = set()
    for r in demo.records:
        record = r.record or {}
        for source in (record, record.get("attributes") or {}):
            for k in PROFILE_KEYS:
                if isinstance(source.get(k), str) and len(source[k]) >= 3:
                    values.add(source[k])
    assert any("@" in v for v in values), "the demo has no e-mail to look for"
    # the leads the worker will have: those of the offline replay of the same records (an
    # outcome for a lead never seen, or a malformed record, creates none)
    from streams.codecs import default_codecs
    from streams.engine.memory import Record, replay
    from streams.processor import LeadProcessor

    codecs = default_codecs()
    store = replay([Record(r.logical, r.key, r.value(codecs)) for r in demo.records],
                   LeadProcessor(load_policy(DEFAULT_POLICY), codecs, {}), 2, NOW)
    return [lead for lead in demo.lead_ids if lead in store.states], values


def cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    full = {k: v for k, v in os.environ.items() if not k.startswith("LEADFLOW_")}
    full.update(env)
    return subprocess.run([sys.executable, "-m", "streams.cli", *args], cwd=ROOT, env=full,
                          capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def site(broker: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    import uuid

    run = "w" + uuid.uuid4().hex[:8]
    tmp = tmp_path_factory.mktemp(run)
    env = {"LEADFLOW_BROKER": broker, "LEADFLOW_TOPIC_PREFIX": run + ".",
           "LEADFLOW_APP_ID": run, "LEADFLOW_DATA_DIR": str(tmp / "data"),
           "LEADFLOW_PARTITIONS": "2", "LEADFLOW_SLA_CLOCK": "event",
           "LEADFLOW_SLA_CHECK_INTERVAL": "0.5", "LEADFLOW_WEB_TOKEN": TOKEN}
    assert cli(env, "topics", "create").returncode == 0
    worker = WorkerProcess(env, tmp / "worker.log").start()
    env["LEADFLOW_WEB_PORT"] = str(worker.port)
    lead_ids, values = demo_profile_values()
    tables = [f"{run}-{t}-changelog" for t in ("leads", "sla-deadlines", "kpi-windows")]
    s = Site(worker, lead_ids, values, [*tables, "leads", "sla-deadlines", "kpi-windows"])
    try:
        worker.wait_ready()
        res = cli(env, "demo", "--leads", str(LEADS), "--seed", str(SEED), "--now-ms",
                  str(NOW), "-q")
        assert res.returncode == 0, res.stderr
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            found = sum(s.get(f"/leads/{lead}", TOKEN).status == 200 for lead in lead_ids)
            if found == len(lead_ids):
                break
            time.sleep(1)
        assert found == len(lead_ids), f"{found}/{len(lead_ids)} leads served\n{worker.tail()}"
        # The lead view through the CLI, with the token from the environment.
        res = cli(env, "lead", lead_ids[0], "--json")
        assert res.returncode == 0, res.stderr
        yield s
    finally:
        worker.stop()


def is_json(answer: Answer) -> bool:
    try:
        json.loads(answer.body)
    except ValueError:
        return False
    return answer.headers.get("Content-Type", "").startswith("application/json")


def test_faust_default_views_are_gone(site: Site) -> None:
    paths = faust_default_paths(site.tables, site.lead_ids[0])
    for path in paths:
        for token in (None, TOKEN):
            answer = site.get(path, token)
            assert answer.status == 404, (path, answer.status, answer.body[:200])
            assert is_json(answer), (path, answer.body[:200])


def test_contract_routes_exist(site: Site) -> None:
    lead = site.lead_ids[0]
    assert site.get(f"/leads/{lead}", TOKEN).status == 200
    assert site.get("/leads/no-such-lead", TOKEN).status == 404
    unknown = site.get("/accounts/acct-1", TOKEN)
    assert unknown.status == 404 and json.loads(unknown.body)["error"] == "unknown account"
    assert site.get("/kpis", TOKEN).status == 200
    assert site.get("/metrics").status == 200
    assert site.get("/health/live").status == 200
    assert site.get("/health/ready").status == 200
    wrong_method = site.get("/kpis", TOKEN, method="DELETE")
    assert wrong_method.status == 405 and is_json(wrong_method)


@pytest.mark.parametrize("path", ["/leads/{lead}", "/accounts/acct-1", "/kpis"])
def test_data_routes_want_the_token(site: Site, path: str) -> None:
    path = path.format(lead=site.lead_ids[0])
    for token in (None, "wrong-" + TOKEN, TOKEN[:-1]):
        answer = site.get(path, token)
        assert answer.status == 401 and is_json(answer), (path, token, answer.status)
    assert site.get(path, TOKEN).status in (200, 404)


def test_probes_and_scraper_stay_open(site: Site) -> None:
    for path in ("/metrics", "/health/live", "/health/ready"):
        assert site.get(path).status == 200, path


def test_no_response_names_the_server_version(site: Site) -> None:
    assert site.seen, "runs after the other tests of this module"
    for path, answer in site.seen:
        server = answer.headers.get("Server", "")
        assert not re.search(r"\d|aiohttp|python", server, re.I), (path, server)


def test_no_response_holds_personal_data(site: Site) -> None:
    # Everything the run answered, plus every lead (through the contract's route and
    # through each of Faust's default views), the KPIs and the metrics once more.
    for lead in site.lead_ids:
        site.get(f"/leads/{lead}", TOKEN)
        for path in faust_default_paths(site.tables, lead):
            if "/" + lead in path:
                site.get(path, TOKEN)
    site.get("/kpis", TOKEN)
    site.get("/metrics")
    assert len(site.seen) > len(site.lead_ids)
    patterns = [re.compile(r"(?<![\w.])" + re.escape(v) + r"(?![\w])")
                for v in site.profile_values]
    for path, answer in site.seen:
        text = answer.body.decode(errors="replace") + json.dumps(answer.headers)
        leaked = [p.pattern for p in patterns if p.search(text)]
        assert not leaked, f"{path} answers profile values {leaked[:5]}"
