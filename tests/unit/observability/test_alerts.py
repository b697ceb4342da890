"""deploy/prometheus: alerts.yml passes `promtool check rules` and its unit tests.

promtool comes from deploy/prometheus/install-promtool.sh. Locally the promtool tests are
skipped when it is absent; in CI (CI=true) they fail instead.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[3]
PROM = ROOT / "deploy" / "prometheus"
ALERTS = PROM / "alerts.yml"
ALERTS_TEST = PROM / "alerts_test.yml"
EXPECTED_ALERTS = {
    "LeadflowWorkerDown",
    "LeadflowConsumerLagGrowing",
    "LeadflowStalled",
    "LeadflowDeadLetters",
    "LeadflowSlaBreachRateHigh",
    "LeadflowProcessingSlow",
    "LeadflowInputResyncs",
    "LeadflowInputIdleWaits",
    "LeadflowHandoffQuantityOutOfRange",
}


def _promtool() -> str:
    path = shutil.which("promtool")
    if path is None:
        if os.environ.get("CI") == "true":
            pytest.fail("promtool is required in CI: run deploy/prometheus/install-promtool.sh")
        pytest.skip("promtool not installed (deploy/prometheus/install-promtool.sh)")
    return path


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [_promtool(), *args], cwd=PROM, capture_output=True, text=True, timeout=300
    )


def _rules() -> list[dict[str, Any]]:
    doc = yaml.safe_load(ALERTS.read_text())
    return [r for g in doc["groups"] for r in g["rules"] if "alert" in r]


def test_promtool_check_rules() -> None:
    res = _run("check", "rules", str(ALERTS))
    assert res.returncode == 0, res.stdout + res.stderr
    assert f"SUCCESS: {len(EXPECTED_ALERTS)} rules found" in res.stdout


def test_promtool_test_rules() -> None:
    res = _run("test", "rules", str(ALERTS_TEST))
    assert res.returncode == 0, res.stdout + res.stderr
    assert "SUCCESS" in res.stdout


def test_promtool_check_config() -> None:
    res = _run("check", "config", "--syntax-only", str(PROM / "prometheus.yml"))
    assert res.returncode == 0, res.stdout + res.stderr


def test_every_alert_present_with_summary_and_runbook() -> None:
    rules = _rules()
    assert {r["alert"] for r in rules} == EXPECTED_ALERTS
    for rule in rules:
        ann = rule.get("annotations", {})
        assert ann.get("summary"), rule["alert"]
        assert len(ann.get("runbook", "")) > 80, rule["alert"]
        assert rule.get("labels", {}).get("severity") in {"critical", "warning", "info"}


def test_alert_metric_names_are_exported() -> None:
    from tests.unit.observability.test_dashboard import referenced_metrics, unknown_metrics

    exprs = [r["expr"] for r in _rules()]
    assert referenced_metrics(exprs)
    assert unknown_metrics(exprs) == set()


def test_every_alert_has_a_firing_and_a_quiet_unit_test() -> None:
    doc = yaml.safe_load(ALERTS_TEST.read_text())
    seen: dict[str, set[bool]] = {}
    for test in doc["tests"]:
        for check in test.get("alert_rule_test", []):
            seen.setdefault(check["alertname"], set()).add(bool(check.get("exp_alerts")))
    assert seen == {name: {True, False} for name in EXPECTED_ALERTS}


def test_alerts_test_is_up_to_date_with_its_generator(tmp_path: Path) -> None:
    """alerts_test.yml is generated from alerts.yml (exact annotations): regenerate in a copy."""
    for name in ("alerts.yml", "make_alerts_test.py"):
        shutil.copy(PROM / name, tmp_path / name)
    import sys

    res = subprocess.run(
        [sys.executable, str(tmp_path / "make_alerts_test.py")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert res.returncode == 0, res.stderr
    assert (tmp_path / "alerts_test.yml").read_text() == ALERTS_TEST.read_text(), (
        "run: .venv/bin/python deploy/prometheus/make_alerts_test.py"
    )


def test_prometheus_scrapes_leadflow_on_6066() -> None:
    doc = yaml.safe_load((PROM / "prometheus.yml").read_text())
    assert doc["rule_files"] == ["alerts.yml"]
    (job,) = [j for j in doc["scrape_configs"] if j["job_name"] == "leadflow"]
    assert job["metrics_path"] == "/metrics"
    assert job["scrape_interval"] == "5s"
    assert job["static_configs"][0]["targets"] == ["127.0.0.1:6066"]


def test_install_script_is_idempotent_and_keeps_no_server() -> None:
    script = (PROM / "install-promtool.sh").read_text()
    assert os.access(PROM / "install-promtool.sh", os.X_OK)
    assert "command -v promtool" in script
    assert "policy-rc.d" in script
    assert "systemctl disable --now prometheus" in script
    if shutil.which("promtool"):
        res = subprocess.run(
            ["sh", str(PROM / "install-promtool.sh")], capture_output=True, text=True, timeout=30
        )
        assert res.returncode == 0
        assert "already installed" in res.stdout
