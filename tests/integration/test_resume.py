"""A run killed with SIGKILL during the build resumes without redoing finished stages."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from tests.integration._cli import ck, last_json

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_resume_after_kill_during_build_skips_finished_stages(example_copy, registry: str, tmp_path: Path) -> None:
    app = example_copy("python-http")
    # a Dockerfile whose build takes a while (cache-busted), so the kill lands mid-build
    (app / "Dockerfile").write_text(
        "FROM python:3.11-slim\nWORKDIR /app\n"
        f"RUN echo {uuid.uuid4().hex} > /tmp/nonce && sleep 6\n"
        "COPY requirements.txt .\nRUN pip install --no-cache-dir -r requirements.txt\n"
        'COPY . .\nUSER 10001\nCMD ["gunicorn", "app:app"]\n'
    )
    home = tmp_path / "home"
    env = {**os.environ, "CONTAINERKIT_HOME": str(home), "CONTAINERKIT_PULL_POLICY": "never"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "containerkit", "run", str(app), "--registry", registry, "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert proc.stderr is not None
    session_id = None
    deadline = time.monotonic() + 120
    for line in proc.stderr:
        if line.startswith("session "):
            session_id = line.split()[1]
        if "buildsec" in line and "▶" in line:
            break
        assert time.monotonic() < deadline, "the build stage never started"
    assert session_id
    time.sleep(1.5)  # inside the build's sleep step
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL

    shown = ck("sessions", "show", session_id, "--json", home=home)
    assert shown.returncode == 0, shown.stderr
    before = last_json(shown.stdout)
    assert before["status"] == "running"
    assert [h["stage"] for h in before["history"]] == ["analyze"]

    res = ck("resume", session_id, "--json", home=home)
    assert res.returncode == 0, res.stderr[-3000:]
    out = last_json(res.stdout)
    assert out["status"] == "succeeded"
    assert out["session_id"] == session_id
    stages = [s["stage"] for s in out["stages"]]
    assert stages.count("analyze") == 1, stages  # analysis was not redone
    # build with its verify and gating scan, then the push, then the manifests
    assert stages == ["analyze", "buildsec", "infra", "deploy"], stages
    assert all(s["ok"] for s in out["stages"])
    assert out["digest"].startswith("sha256:")

    again = ck("resume", session_id, "--json", home=home)
    assert again.returncode == 2
    assert last_json(again.stdout)["errors"][0]["code"] == "CK502"


@pytest.fixture
def late_registry(tmp_path: Path):  # type: ignore[no-untyped-def]
    """A registry on a free port that the test starts only when it chooses (the 'it was down' case)."""
    import shutil
    import urllib.request

    from tests.conftest import free_port

    binary = shutil.which("docker-registry") or shutil.which("registry")
    if binary is None:
        pytest.skip("no registry binary (Debian's docker-registry) to start a second registry")
    port = free_port()
    cfg = tmp_path / "registry.yml"
    cfg.write_text(
        f"version: 0.1\nlog: {{level: error}}\nstorage: {{filesystem: {{rootdirectory: {tmp_path / 'data'}}}}}\n"
        f"http: {{addr: 127.0.0.1:{port}}}\n"
    )
    procs: list[subprocess.Popen[bytes]] = []

    def start() -> None:
        procs.append(
            subprocess.Popen([binary, "serve", str(cfg)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        )
        deadline = time.monotonic() + 20
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/v2/", timeout=1).close()
                return
            except OSError:
                assert time.monotonic() < deadline, "the second registry did not start"
                time.sleep(0.2)

    yield f"127.0.0.1:{port}", start
    for p in procs:
        p.terminate()
        p.wait(timeout=10)


def test_failed_session_is_retried_from_the_failed_stage(example_copy, late_registry, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    address, start_registry = late_registry
    app = example_copy("node-http")
    home = tmp_path / "home"
    res = ck("run", str(app), "--registry", address, "--no-scan", "--json", home=home)
    first = last_json(res.stdout)
    assert res.returncode == 1 and first["status"] == "failed"
    # a transient fault: the push was retried with backoff, then the run gave up with the category
    retries = first["recovery"]
    assert retries and all(a["action"] == "retry" and a["cause"] == "registry_unreachable" for a in retries)
    assert first["errors"][-1]["code"] == "CK901" and first["errors"][-1]["category"] == "registry_unreachable"
    assert any(e["code"] == "CK301" for e in first["errors"])

    start_registry()  # the user fixes the cause
    res = ck("resume", first["session_id"], "--json", home=home)
    assert res.returncode == 0, res.stderr[-3000:]
    out = last_json(res.stdout)
    assert out["status"] == "succeeded" and out["digest"].startswith("sha256:")
    stages = [s["stage"] for s in out["stages"]]
    assert stages.count("buildsec") == 1 and stages.count("analyze") == 1  # the image was not rebuilt
    assert stages.count("infra") == len(retries) + 2 and stages[-1] == "deploy"
    assert out["image_id"] == first["image_id"]
