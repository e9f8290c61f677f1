"""Embedding the graph from Python: progress events stream to the caller, metrics are recorded."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from containerkit.agents import Deps
from containerkit.graph import SessionStore, run_session
from containerkit.settings import Settings
from containerkit.state import RunOptions
from containerkit.tools.engine import buildkit_cli
from containerkit.tools.metrics import BuildSecMetrics, render

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_run_session_streams_progress_and_records_metrics(example_copy, registry: str, tmp_path: Path) -> None:
    app = example_copy("node-http")
    settings = Settings.load({"CONTAINERKIT_HOME": str(tmp_path / "home"), "CONTAINERKIT_PULL_POLICY": "never"})
    metrics = BuildSecMetrics()
    events: list[dict[str, Any]] = []
    session = run_session(
        app,
        RunOptions(registry=registry, no_cache=True),
        settings=settings,
        deps=Deps(settings=settings, metrics=metrics),
        on_event=events.append,
    )
    assert session.status == "succeeded", session.errors
    assert session.build is not None
    if buildkit_cli() is not None:  # per-step durations and cache hits land in the session
        assert session.build.builder == "buildkit"
        assert any(s.duration_s is not None for s in session.build.step_timings)

    started = [e["stage"] for e in events if e.get("kind") == "stage" and e.get("status") == "started"]
    assert started[0] == "analyze" and {"buildsec", "infra", "deploy"} <= set(started)
    steps = [e for e in events if e.get("kind") == "build"]
    assert steps and all(1 <= e["step"] <= e["total"] for e in steps)  # build progress, step N of M
    assert any(e.get("kind") == "push" for e in events)  # push progress per layer

    text = render(metrics).decode()
    assert "containerkit_build_duration_seconds_count 1.0" in text
    assert "containerkit_scan_duration_seconds" in text
    assert "containerkit_compliance_score" in text

    with SessionStore(settings.sessions_db) as store:  # the same session, read back from the store
        again = store.load(session.session_id)
    assert again.images.digest == session.images.digest and again.status == "succeeded"
