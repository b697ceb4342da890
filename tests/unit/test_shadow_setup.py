"""LEADFLOW_SHADOW_POLICY: the setting, the tables it adds (only then), the worker's refusal
of a bad shadow policy exactly as of a bad live one."""

from __future__ import annotations

from pathlib import Path

import pytest

from streams.paths import DEFAULT_POLICY
from streams.settings import Settings, SettingsError
from tests.support.shadow import threshold_policy


def _changelogs(app: object) -> set[str]:
    from streams.preflight import internal_topics

    return {t.name for t in internal_topics(app)}


def test_shadow_tables_only_with_a_shadow_policy(tmp_path: Path) -> None:
    from streams.app import create_app

    plain = create_app(Settings.from_env({"LEADFLOW_STORE": "memory://",
                                          "LEADFLOW_APP_ID": "a1"}))
    assert _changelogs(plain) == {"a1-leads-changelog", "a1-sla-deadlines-changelog",
                                  "a1-kpi-windows-changelog"}
    assert plain.leadflow.shadow_policy is None  # type: ignore[attr-defined]
    path = threshold_policy(tmp_path / "p70.yaml", 70)
    shadowed = create_app(Settings.from_env({"LEADFLOW_STORE": "memory://",
                                             "LEADFLOW_APP_ID": "a2",
                                             "LEADFLOW_SHADOW_POLICY": str(path)}))
    assert _changelogs(shadowed) >= {"a2-shadow-leads-changelog",
                                     "a2-shadow-sla-deadlines-changelog"}
    runtime = shadowed.leadflow  # type: ignore[attr-defined]
    assert runtime.shadow_policy.version != runtime.policy.version
    assert runtime.topic_names["shadow_diffs"] == "leads.shadow-diffs"


def test_the_setting_is_a_path_that_must_exist(tmp_path: Path) -> None:
    assert Settings.from_env({}).shadow_policy_path is None
    s = Settings.from_env({"LEADFLOW_SHADOW_POLICY": str(DEFAULT_POLICY)})
    assert s.shadow_policy_path == DEFAULT_POLICY
    with pytest.raises(SettingsError, match="LEADFLOW_SHADOW_POLICY"):
        Settings.from_env({"LEADFLOW_SHADOW_POLICY": str(tmp_path / "missing.yaml")})


def test_the_worker_refuses_a_bad_shadow_policy_like_a_bad_live_one(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    import typer

    from streams.cli import worker

    bad = tmp_path / "bad.yaml"
    bad.write_text(DEFAULT_POLICY.read_text().replace("min_grade: B", "min_grade: Z", 1))
    for name in list(__import__("os").environ):
        if name.startswith("LEADFLOW_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("LEADFLOW_SHADOW_POLICY", str(bad))
    with pytest.raises(typer.Exit) as exc:
        worker.run()
    assert exc.value.exit_code == 2
    err = capsys.readouterr().err
    assert "bad.yaml:" in err and "min_grade" in err
