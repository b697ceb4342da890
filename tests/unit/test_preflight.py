"""The worker's topic check asks for leads.shadow-diffs only when a shadow policy runs."""

from __future__ import annotations

from pathlib import Path

import pytest

from streams import preflight
from streams.paths import DEFAULT_POLICY
from streams.settings import Settings


def test_shadow_diffs_topic_is_required_only_with_a_shadow(monkeypatch: pytest.MonkeyPatch,
                                                            tmp_path: Path) -> None:
    def counts(settings: Settings, names: list[str]) -> dict[str, int | None]:
        return {n: None if n.endswith("shadow-diffs") else 4 for n in names}

    monkeypatch.setattr(preflight, "partition_counts", counts)
    preflight.preflight(Settings(data_dir=tmp_path))
    with pytest.raises(preflight.PreflightError, match="shadow-diffs"):
        preflight.preflight(Settings(data_dir=tmp_path, shadow_policy_path=DEFAULT_POLICY))
