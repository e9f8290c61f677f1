"""Which builder the engine offers is probed once and remembered per engine version and docker CLI."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from containerkit.tools import engine


class _Engine:
    def __init__(self, version: str) -> None:
        self.v = version

    def version(self) -> dict[str, Any]:
        return {"Version": self.v}


def test_the_builder_is_probed_once_per_engine_version(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    probes: list[int] = []

    def probe() -> str | None:
        probes.append(1)
        return "/usr/bin/docker"

    monkeypatch.setattr(engine, "buildkit_cli", probe)
    cache = tmp_path / "builder.json"
    first = engine.remembered_buildkit_cli(_Engine("20.10.24"), cache)  # type: ignore[arg-type]
    again = engine.remembered_buildkit_cli(_Engine("20.10.24"), cache)  # type: ignore[arg-type]
    assert first == again == "/usr/bin/docker"
    assert len(probes) == 1
    engine.remembered_buildkit_cli(_Engine("27.0.1"), cache)  # type: ignore[arg-type]
    assert len(probes) == 2  # another engine: probed again


def test_no_buildkit_is_remembered_too(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    probes: list[int] = []

    def probe() -> str | None:
        probes.append(1)
        return None

    monkeypatch.setattr(engine, "buildkit_cli", probe)
    cache = tmp_path / "builder.json"
    assert engine.remembered_buildkit_cli(_Engine("20.10.24"), cache) is None  # type: ignore[arg-type]
    assert engine.remembered_buildkit_cli(_Engine("20.10.24"), cache) is None  # type: ignore[arg-type]
    assert len(probes) == 1
