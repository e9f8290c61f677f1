"""Faults survived: the Docker engine restarted (or stopped) in the middle of a build.

The shared engine of scripts/test-infra.sh serves other people's tests, so this one starts a second
dockerd of its own (own socket, data root and exec root under /tmp, no bridge, no iptables) and
restarts that one. It needs root and dockerd; without them it skips and says why.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from containerkit.agents import Deps
from containerkit.graph import resume_session, run_session
from containerkit.settings import Settings
from containerkit.state import RunOptions, Session
from tests.integration._engines import SecondEngine

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.fixture(scope="module")
def second_engine(docker_client: Any) -> Iterator[SecondEngine]:
    if os.geteuid() != 0 or shutil.which("dockerd") is None:
        pytest.skip("needs root and dockerd to start a second engine (the shared one is never restarted)")
    engine = SecondEngine()
    try:
        engine.start()
        import docker

        client = docker.DockerClient(base_url=engine.url, timeout=120)
        client.images.load(b"".join(docker_client.images.get("busybox:1.35").save(named="busybox:1.35")))
        client.close()
        yield engine
    finally:
        engine.stop()
        shutil.rmtree(engine.root, ignore_errors=True)


def _app(tmp_path: Path, seconds: int) -> Path:
    app = tmp_path / "slowbuild"
    app.mkdir()
    nonce = os.urandom(4).hex()  # never served from the build cache
    (app / "Dockerfile").write_text(
        f'FROM busybox:1.35\nRUN echo {nonce} > /nonce && sleep {seconds} && echo built > /built\nUSER 65534\nCMD ["sleep", "3600"]\n'
    )
    return app


def _on_step(engine: SecondEngine, action: str) -> Any:
    """Stops or restarts the engine 1.5 s into the slow RUN step (once)."""
    fired: list[float] = []

    def on_event(ev: dict[str, Any]) -> None:
        if not fired and ev.get("kind") == "build" and "sleep" in str(ev.get("message")):
            fired.append(time.monotonic())
            threading.Timer(1.5, engine.stop if action == "stop" else engine.restart).start()

    on_event.fired = fired  # type: ignore[attr-defined]
    return on_event


def _stages(session: Session) -> list[str]:
    return [h.stage for h in session.history]


@pytest.fixture
def settings(second_engine: SecondEngine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    second_engine.start()
    monkeypatch.setenv("DOCKER_HOST", second_engine.url)  # the BuildKit CLI builds where the client points
    return Settings.load(
        {
            "CONTAINERKIT_HOME": str(tmp_path / "home"),
            "CONTAINERKIT_PULL_POLICY": "never",
            "DOCKER_HOST": second_engine.url,
        }
    )


def test_engine_stopped_during_a_build_is_a_typed_error_and_resume_builds(
    second_engine: SecondEngine, settings: Settings, tmp_path: Path
) -> None:
    on_event = _on_step(second_engine, "stop")
    failed = run_session(
        _app(tmp_path, 8), RunOptions(scan=False, verify=False), settings=settings, deps=Deps(settings=settings),
        on_event=on_event,
    )  # fmt: skip
    assert on_event.fired, (failed.status, failed.errors)
    assert failed.status == "failed" and failed.build is None
    codes = [e.code for e in failed.errors]
    assert "CK201" in codes and "CK999" not in codes  # typed: the engine went away, not a crash
    assert failed.errors[-1].category == "daemon_unavailable"
    assert failed.recovery and all(a.cause == "daemon_unavailable" and a.action == "retry" for a in failed.recovery)

    second_engine.start()  # the operator starts it again
    t0 = time.monotonic()
    done = resume_session(failed.session_id, settings=settings, deps=Deps(settings=settings))
    assert done.status == "succeeded", done.errors
    assert _stages(done).count("analyze") == 1 and done.build is not None  # the analysis was not redone
    print(
        f"\nengine stopped mid-build: typed CK201 after {len(failed.recovery)} retries; resume built in "
        f"{time.monotonic() - t0:.1f}s"
    )


def test_engine_restarted_during_a_build_the_run_or_its_resume_finishes(
    second_engine: SecondEngine, settings: Settings, tmp_path: Path
) -> None:
    on_event = _on_step(second_engine, "restart")
    t0 = time.monotonic()
    session = run_session(
        _app(tmp_path, 8), RunOptions(scan=False, verify=False), settings=settings, deps=Deps(settings=settings),
        on_event=on_event,
    )  # fmt: skip
    assert on_event.fired
    assert any(e.code == "CK201" for e in session.errors)  # the lost build was seen for what it was
    resumed = False
    if session.status != "succeeded":
        with contextlib.suppress(Exception):
            second_engine.start()
        session = resume_session(session.session_id, settings=settings, deps=Deps(settings=settings))
        resumed = True
    assert session.status == "succeeded", session.errors
    assert _stages(session).count("analyze") == 1
    print(
        f"\nengine restarted mid-build: succeeded in {time.monotonic() - t0:.1f}s "
        f"({'after resume' if resumed else 'in the same run'}, {len(session.recovery)} retries)"
    )
