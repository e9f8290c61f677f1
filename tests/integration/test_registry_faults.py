"""Faults survived: the registry killed (SIGKILL) in the middle of a push.

Back within seconds: the same run finishes (the engine's layer retry or ours), nothing rebuilt.
Gone for longer: the push attempt is cut at its time limit, the retries are recorded, the run fails
with the category, and ``resume`` pushes the image already built once the registry is back.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from containerkit.agents import Deps
from containerkit.graph import resume_session, run_session
from containerkit.settings import Settings
from containerkit.state import RunOptions, Session
from containerkit.tools.images import parse_image_ref
from containerkit.tools.registry import manifest_digest
from containerkit.tools.retry import RetryPolicy
from tests.integration._registries import Registry, untag

pytestmark = [pytest.mark.integration, pytest.mark.slow]

LAYER_BYTES = 40_000_000  # random, so it neither compresses nor finishes before the kill
KILL_AT = 6_000_000


def _app(tmp_path: Path) -> Path:
    app = tmp_path / "bigapp"
    app.mkdir()
    (app / "Dockerfile").write_text(
        f'FROM busybox:1.35\nRUN head -c {LAYER_BYTES} /dev/urandom > /blob\nUSER 65534\nCMD ["sleep", "3600"]\n'
    )
    return app


def _settings(tmp_path: Path) -> Settings:
    settings = Settings.load({"CONTAINERKIT_HOME": str(tmp_path / "home"), "CONTAINERKIT_PULL_POLICY": "never"})
    return dataclasses.replace(settings, retry=RetryPolicy(attempts=3, backoff_s=0.5))


class _Killer:
    """Kills the registry when the push has sent ``KILL_AT`` bytes of a layer; optionally starts it again."""

    def __init__(self, registry: Registry, back_after: float | None) -> None:
        self.registry = registry
        self.back_after = back_after
        self.killed_at: float | None = None
        self.back_at: float | None = None
        self.engine_retries: list[str] = []
        self.events: list[dict[str, Any]] = []

    def __call__(self, ev: dict[str, Any]) -> None:
        self.events.append(ev)
        if ev.get("kind") == "warning" and "Retrying" in str(ev.get("message")):
            self.engine_retries.append(str(ev["message"]))
        if self.killed_at is None and ev.get("kind") == "push" and int(ev.get("current") or 0) > KILL_AT:
            self.registry.kill()
            self.killed_at = time.monotonic()
            if self.back_after is not None:
                threading.Timer(self.back_after, self._back).start()

    def _back(self) -> None:
        self.registry.start()
        self.back_at = time.monotonic()


def _stages(session: Session) -> list[str]:
    return [h.stage for h in session.history]


def _served(session: Session) -> str | None:
    assert session.images.pushed
    return manifest_digest(parse_image_ref(session.images.pushed))


@pytest.fixture
def fault_registry(tmp_path: Path, docker_client: Any) -> Any:
    reg = Registry(tmp_path / "reg-fault")
    reg.start()
    yield reg
    reg.stop()
    untag(docker_client, reg)


def test_registry_killed_mid_push_and_back_the_run_finishes_without_rebuilding(
    fault_registry: Registry, tmp_path: Path
) -> None:
    settings = _settings(tmp_path)
    killer = _Killer(fault_registry, back_after=1.0)
    options = RunOptions(registry=fault_registry.address, scan=False, verify=False)
    t0 = time.monotonic()
    session = run_session(_app(tmp_path), options, settings=settings, deps=Deps(settings=settings), on_event=killer)
    took = time.monotonic() - t0
    assert killer.killed_at is not None, "the push ended before it could be interrupted"
    assert session.status == "succeeded", session.errors
    assert _stages(session).count("buildsec") == 1
    assert session.images.digest and _served(session) == session.images.digest
    ours = [o for o in session.operations if o.operation == "push"]
    assert ours[-1].ok
    # someone retried: the engine (its layer upload, said once per layer) or containerkit (an attempt recorded)
    assert killer.engine_retries or len(ours) > 1
    print(
        f"\nregistry down {killer.back_at - killer.killed_at if killer.back_at else 0:.1f}s mid-push: run {took:.1f}s, "
        f"{len(ours)} push attempt(s), engine retries: {len(killer.engine_retries)}"
    )


def test_registry_killed_mid_push_for_good_then_resume_pushes_the_built_image(
    fault_registry: Registry, tmp_path: Path
) -> None:
    settings = _settings(tmp_path)
    killer = _Killer(fault_registry, back_after=None)
    options = RunOptions(registry=fault_registry.address, scan=False, verify=False, push_timeout=8)
    t0 = time.monotonic()
    failed = run_session(_app(tmp_path), options, settings=settings, deps=Deps(settings=settings), on_event=killer)
    took = time.monotonic() - t0
    assert killer.killed_at is not None
    assert failed.status == "failed"
    codes = [o.code for o in failed.operations]
    assert codes[0] == "CK309"  # the attempt in flight was cut at its time limit
    assert "CK301" in codes and all(not o.ok for o in failed.operations)
    assert all(o.delay_s is not None for o in failed.operations if o.transient and o.number < 3)
    assert failed.errors[-1].code == "CK901" and failed.errors[-1].category == "registry_unreachable"
    assert {a.cause for a in failed.recovery} <= {"registry_unreachable", "operation_timeout"}

    fault_registry.start()  # the operator brings it back
    t1 = time.monotonic()
    done = resume_session(failed.session_id, settings=settings, deps=Deps(settings=settings))
    resumed = time.monotonic() - t1
    assert done.status == "succeeded", done.errors
    assert _stages(done).count("buildsec") == 1 and _stages(done).count("analyze") == 1  # nothing rebuilt
    assert done.build is not None and failed.build is not None and done.build.image_id == failed.build.image_id
    assert _served(done) == done.images.digest
    assert done.operations[: len(failed.operations)] == failed.operations and done.operations[-1].ok
    print(
        f"\nregistry killed mid-push for good: run failed after {took:.1f}s with {len(failed.operations)} push "
        f"attempts and {len(failed.recovery)} stage retries; resume pushed in {resumed:.1f}s without a rebuild"
    )
