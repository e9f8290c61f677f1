"""Faults survived, measured: each fault is injected into a real run, then the run (or its resume) is judged.

Prints one row per fault: the outcome, the time against the same run without the fault (measured in
this run, the baseline), the attempts containerkit recorded, and the data lost (stages redone, an
analysis or an image changed, a digest the registry does not serve): it must be none.

- registry killed mid-push (SIGKILL after 6 MB of a 40 MB layer), back 1 s later;
- registry killed mid-push for good: the run fails, the registry is started again, ``resume``;
- dockerd stopped mid-build (a second engine of this script's own: the shared one is never touched),
  started again, ``resume``;
- dockerd restarted mid-build (SIGTERM, then started again at once).

    python benchmarks/faults.py            # needs the registry binary (docker-registry); the engine rows need root
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from containerkit.agents import Deps  # noqa: E402
from containerkit.graph import resume_session, run_session  # noqa: E402
from containerkit.settings import Settings  # noqa: E402
from containerkit.state import RunOptions, Session  # noqa: E402
from containerkit.tools.images import parse_image_ref  # noqa: E402
from containerkit.tools.registry import manifest_digest  # noqa: E402
from containerkit.tools.retry import RetryPolicy  # noqa: E402
from tests.integration._engines import SecondEngine  # noqa: E402
from tests.integration._registries import Registry, untag  # noqa: E402

LAYER = 40_000_000
KILL_AT = 6_000_000


@dataclasses.dataclass
class Row:
    fault: str
    outcome: str
    seconds: float
    baseline: float
    attempts: str
    lost: str


def _app(work: Path, name: str, run_step: str) -> Path:
    app = work / name
    app.mkdir()
    (app / "Dockerfile").write_text(f'FROM busybox:1.35\nRUN {run_step}\nUSER 65534\nCMD ["sleep", "3600"]\n')
    return app


def _settings(home: Path, docker_host: str | None = None) -> Settings:
    env = {"CONTAINERKIT_HOME": str(home), "CONTAINERKIT_PULL_POLICY": "never"}
    if docker_host:
        env["DOCKER_HOST"] = docker_host
    return dataclasses.replace(Settings.load(env), retry=RetryPolicy(attempts=3, backoff_s=0.5))


def _lost(before: Session | None, after: Session, *, pushed: bool) -> str:
    """What the fault cost: stages done twice, an analysis or image that changed, a digest not served."""
    problems: list[str] = []
    stages = [h.stage for h in after.history if h.ok]
    for stage in ("analyze", "buildsec"):
        if stages.count(stage) > 1:
            problems.append(f"{stage} redone")
    if before is not None and before.analysis is not None and before.analysis != after.analysis:
        problems.append("analysis changed")
    old_image = before.build.image_id if before is not None and before.build is not None else None
    if old_image and after.build is not None and old_image != after.build.image_id:
        problems.append("image rebuilt")
    if pushed:
        assert after.images.pushed
        if manifest_digest(parse_image_ref(after.images.pushed)) != after.images.digest:
            problems.append("digest not served")
    return ", ".join(problems) or "none"


def _tries(session: Session) -> str:
    ops = len(session.operations)
    return f"{ops} push, {len(session.recovery)} stage" if ops else f"{len(session.recovery)} stage"


def _on_push(registry: Registry, back_after: float | None) -> Callable[[dict[str, Any]], None]:
    fired: list[bool] = []

    def on_event(ev: dict[str, Any]) -> None:
        if not fired and ev.get("kind") == "push" and int(ev.get("current") or 0) > KILL_AT:
            fired.append(True)
            registry.kill()
            if back_after is not None:
                threading.Timer(back_after, registry.start).start()

    return on_event


def registry_rows(work: Path) -> list[Row]:
    rows: list[Row] = []
    registry = Registry(work / "registry")
    registry.start()

    def step() -> str:  # a layer of its own for every run: nothing is "already there" in the registry
        return f"head -c {LAYER} /dev/urandom > /blob && echo {os.urandom(4).hex()} > /nonce"

    try:
        base_settings = _settings(work / "home-base")
        t0 = time.monotonic()
        base = run_session(
            _app(work, "base", step()),
            RunOptions(registry=registry.address, scan=False, verify=False),
            settings=base_settings,
            deps=Deps(settings=base_settings),
        )
        baseline = time.monotonic() - t0
        assert base.status == "succeeded", base.errors

        settings = _settings(work / "home-1")
        t0 = time.monotonic()
        s = run_session(
            _app(work, "back", step()),
            RunOptions(registry=registry.address, scan=False, verify=False),
            settings=settings,
            deps=Deps(settings=settings),
            on_event=_on_push(registry, back_after=1.0),
        )
        rows.append(
            Row("registry SIGKILLed mid-push, back after 1 s", s.status, time.monotonic() - t0, baseline,
                _tries(s), _lost(None, s, pushed=True))
        )  # fmt: skip

        settings = _settings(work / "home-2")
        t0 = time.monotonic()
        failed = run_session(
            _app(work, "gone", step()),
            RunOptions(registry=registry.address, scan=False, verify=False, push_timeout=8),
            settings=settings,
            deps=Deps(settings=settings),
            on_event=_on_push(registry, back_after=None),
        )
        registry.start()
        done = resume_session(failed.session_id, settings=settings, deps=Deps(settings=settings))
        rows.append(
            Row("registry SIGKILLed mid-push until the run failed; resume", f"{failed.status}, resume {done.status}",
                time.monotonic() - t0, baseline, _tries(done), _lost(failed, done, pushed=True))
        )  # fmt: skip
    finally:
        registry.stop()
        import docker

        untag(docker.from_env(), registry)
    return rows


def engine_rows(work: Path) -> list[Row]:
    if os.geteuid() != 0 or shutil.which("dockerd") is None:
        print("(engine rows skipped: starting a second dockerd needs root)")
        return []
    import docker

    engine = SecondEngine()
    rows: list[Row] = []
    old_host = os.environ.get("DOCKER_HOST")
    try:
        engine.start()
        client = docker.DockerClient(base_url=engine.url, timeout=120)
        client.images.load(b"".join(docker.from_env().images.get("busybox:1.35").save(named="busybox:1.35")))
        client.close()
        os.environ["DOCKER_HOST"] = engine.url  # the BuildKit CLI builds where the client points

        def run(name: str, action: Callable[[], None] | None) -> tuple[Session, float]:
            settings = _settings(work / f"home-{name}", engine.url)
            fired: list[bool] = []

            def on_event(ev: dict[str, Any]) -> None:
                if action and not fired and ev.get("kind") == "build" and "sleep" in str(ev.get("message")):
                    fired.append(True)
                    threading.Timer(1.5, action).start()

            t0 = time.monotonic()
            step = f"echo {os.urandom(4).hex()} > /nonce && sleep 8"
            s = run_session(
                _app(work, name, step),
                RunOptions(scan=False, verify=False),
                settings=settings,
                deps=Deps(settings=settings),
                on_event=on_event,
            )
            return s, time.monotonic() - t0

        base, baseline = run("engine-base", None)
        assert base.status == "succeeded", base.errors

        failed, took = run("engine-stop", engine.stop)
        engine.start()
        settings = _settings(work / "home-engine-stop", engine.url)
        t0 = time.monotonic()
        done = resume_session(failed.session_id, settings=settings, deps=Deps(settings=settings))
        codes = sorted({e.code for e in failed.errors})
        rows.append(
            Row(f"dockerd stopped mid-build ({'/'.join(codes)}); resume", f"{failed.status}, resume {done.status}",
                took + time.monotonic() - t0, baseline, _tries(done), _lost(failed, done, pushed=False))
        )  # fmt: skip

        s, took = run("engine-restart", engine.restart)
        outcome = s.status
        if s.status != "succeeded":
            engine.start()
            settings = _settings(work / "home-engine-restart", engine.url)
            s = resume_session(s.session_id, settings=settings, deps=Deps(settings=settings))
            outcome += f", resume {s.status}"
        rows.append(
            Row("dockerd restarted mid-build", outcome, took, baseline, _tries(s), _lost(None, s, pushed=False))
        )
    finally:
        if old_host is None:
            os.environ.pop("DOCKER_HOST", None)
        else:
            os.environ["DOCKER_HOST"] = old_host
        engine.stop()
        shutil.rmtree(engine.root, ignore_errors=True)
    return rows


def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="ck-faults-"))
    try:
        rows = registry_rows(work) + engine_rows(work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"\n{'fault':<58} {'outcome':<30} {'time':>7} {'no fault':>8} {'ratio':>6}  {'retries':<18} data lost")
    for r in rows:
        print(
            f"{r.fault:<58} {r.outcome:<30} {r.seconds:6.1f}s {r.baseline:7.1f}s {r.seconds / r.baseline:6.2f}  "
            f"{r.attempts:<18} {r.lost}"
        )
    if any(r.lost != "none" for r in rows):
        sys.exit(1)


if __name__ == "__main__":
    main()
