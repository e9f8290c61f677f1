"""Operating containerkit: runs side by side on one store, SIGKILL at every stage boundary, metrics and
spans of a real run. Real processes, the real engine and registry."""

from __future__ import annotations

import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.integration._cli import ck, last_json
from tests.integration.test_observability import OtlpReceiver, otel_env

pytestmark = [pytest.mark.integration]

STAGES = ["analyze", "buildsec", "infra", "deploy"]


def _env(home: Path, **extra: str) -> dict[str, str]:
    return {**os.environ, "CONTAINERKIT_HOME": str(home), "CONTAINERKIT_PULL_POLICY": "never", **extra}


def _start(*args: str, env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "containerkit", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def _wait_for(proc: subprocess.Popen[str], pattern: str, timeout: float = 300) -> list[str]:
    """Read the progress on stderr until a line matches; returns the lines read."""
    assert proc.stderr is not None
    seen: list[str] = []
    deadline = time.monotonic() + timeout
    for line in proc.stderr:
        seen.append(line)
        if re.search(pattern, line):
            return seen
        assert time.monotonic() < deadline, f"never saw {pattern!r}: {''.join(seen)[-2000:]}"
    raise AssertionError(f"the process ended before {pattern!r}: {''.join(seen)[-3000:]}")


def _integrity(home: Path) -> str:
    conn = sqlite3.connect(home / "sessions.sqlite")
    try:
        return str(conn.execute("PRAGMA integrity_check").fetchone()[0])
    finally:
        conn.close()


def test_runs_started_together_share_a_fresh_store(tmp_path: Path) -> None:
    """Six processes create and write one store at the same moment: every session is there, intact."""
    home = tmp_path / "home"
    repos = []
    for n in range(6):
        repo = tmp_path / f"repo{n}"
        repo.mkdir()
        (repo / "README.md").write_text("nothing to deploy\n")
        repos.append(repo)
    procs = [_start("run", str(r), "--json", "--label", f"n={i}", env=_env(home)) for i, r in enumerate(repos)]
    outs = [p.communicate(timeout=300) for p in procs]
    for p, (out, err) in zip(procs, outs, strict=True):
        assert p.returncode == 2, err  # no application in the folder: bad input, recorded
        assert "Traceback" not in err and "CK503" not in err
        assert last_json(out)["status"] == "failed"
    listed = ck("sessions", "list", "--json", home=home)
    rows = __import__("json").loads(listed.stdout)
    assert sorted(r["labels"]["n"] for r in rows) == [str(i) for i in range(6)]
    assert {r["status"] for r in rows} == {"failed"}
    assert _integrity(home) == "ok"


@pytest.mark.slow
def test_a_second_run_of_the_same_repository_is_refused_while_another_runs_alongside(
    example_copy: Any, registry: str, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    shop, other = example_copy("python-http"), example_copy("node-http")
    # a build that takes a while (cache-busted), so the second run of this repository starts during it
    (shop / "Dockerfile").write_text(
        "FROM python:3.11-slim\nWORKDIR /app\n"
        f"RUN echo {uuid.uuid4().hex} > /tmp/nonce && sleep 20\n"
        "COPY requirements.txt .\nRUN pip install --no-cache-dir -r requirements.txt\n"
        'COPY . .\nUSER 10001\nCMD ["gunicorn", "app:app"]\n'
    )
    first = _start("run", str(shop), "--registry", registry, "--json", "--no-scan", env=_env(home))
    _wait_for(first, r"▶ buildsec")
    second = ck("run", str(shop), "--registry", registry, "--json", home=home, timeout=120)
    alongside = _start("run", str(other), "--registry", registry, "--json", "--no-scan", env=_env(home))
    out1, err1 = first.communicate(timeout=600)
    out3, err3 = alongside.communicate(timeout=600)

    assert second.returncode == 1, second.stderr
    refusal = last_json(second.stdout)["errors"][0]
    assert refusal["code"] == "CK504"
    assert "Traceback" not in second.stderr
    one, three = last_json(out1), last_json(out3)
    assert first.returncode == 0, err1[-3000:]
    assert alongside.returncode == 0, err3[-3000:]
    assert one["session_id"] in refusal["message"]
    assert one["status"] == three["status"] == "succeeded"
    assert [s["stage"] for s in one["stages"]] == STAGES
    rows = __import__("json").loads(ck("sessions", "list", "--json", home=home).stdout)
    assert sorted(r["session_id"] for r in rows) == sorted([one["session_id"], three["session_id"]])  # no third
    assert _integrity(home) == "ok"


@pytest.mark.slow
def test_sigkill_at_every_stage_boundary_then_resume_redoes_no_finished_stage(
    example_copy: Any, registry: str, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    app = example_copy("python-http")
    proc = _start("run", str(app), "--registry", registry, "--json", env=_env(home))
    seen = _wait_for(proc, r"▶ buildsec")
    session_id = next(ln.split()[1] for ln in seen if ln.startswith("session "))
    kills = []
    for boundary in ("buildsec", "infra", "deploy"):
        if kills:  # resumed: kill it as the next stage starts
            proc = _start("resume", session_id, "--json", env=_env(home))
            seen = _wait_for(proc, rf"▶ {boundary}\b")
            assert not any(re.search(rf"▶ {s}\b", ln) for ln in seen for s in kills[-1]), "a finished stage ran again"
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        shown = last_json(ck("sessions", "show", session_id, "--json", home=home).stdout)
        done = [h["stage"] for h in shown["history"]]
        assert done == STAGES[: STAGES.index(boundary)], (boundary, done)
        assert shown["status"] == "running"
        kills.append(done)
    res = ck("resume", session_id, "--json", home=home)
    assert res.returncode == 0, res.stderr[-3000:]
    out = last_json(res.stdout)
    assert out["status"] == "succeeded"
    assert [s["stage"] for s in out["stages"]] == STAGES  # each stage once: none redone after a kill
    assert all(s["ok"] for s in out["stages"])
    assert out["digest"].startswith("sha256:")
    assert _integrity(home) == "ok"


@pytest.mark.slow
def test_a_run_serves_its_metrics_and_exports_its_spans(example_copy: Any, registry: str, tmp_path: Path) -> None:
    receiver = OtlpReceiver()
    try:
        app = example_copy("python-http")
        env = otel_env(receiver, tmp_path / "home")
        proc = _start("run", str(app), "--registry", registry, "--json", "--metrics-port", "0", env=env)
        seen = _wait_for(proc, r"metrics: http://127\.0\.0\.1:\d+/metrics")
        url = re.search(r"http://127\.0\.0\.1:\d+/metrics", seen[-1]).group(0)  # type: ignore[union-attr]
        scrapes: list[dict[tuple[str, tuple[tuple[str, str], ...]], float]] = []
        failures: list[str] = []
        while proc.poll() is None:
            try:
                with urllib.request.urlopen(url, timeout=5) as r:
                    text = r.read().decode()
            except urllib.error.HTTPError as exc:  # the endpoint answered with an error: a bug
                failures.append(f"{exc.code}: {exc.read()[:300]!r}")
                continue
            except OSError:
                break  # the run ended and its endpoint with it
            scrapes.append(
                {
                    (s.name, tuple(sorted(s.labels.items()))): s.value
                    for fam in text_string_to_metric_families(text)
                    for s in fam.samples
                }
            )
            time.sleep(0.3)
        out, err = proc.communicate(timeout=600)
        assert proc.returncode == 0, err[-3000:]
        result = last_json(out)
        image = result["image"]
        assert scrapes, "never scraped the run's endpoint"
        assert not failures, failures[:3]
        assert any(s.get(("containerkit_runs", (("status", "running"),))) == 1 for s in scrapes)
        last = scrapes[-1]
        assert last[("containerkit_stage_duration_seconds_count", (("stage", "buildsec"),))] == 1
        # an image is named by its pushed reference once pushed, by its local tag before: the last scrape
        # can land between the scan and the push (the run is quick), so either name is right there
        local = image.split("/", 1)[1]
        named = [n for n in (image, local) if ("containerkit_risk_score", (("image", n),)) in last]
        assert named, [k for k in last if k[0] == "containerkit_risk_score"]
        assert ("containerkit_scan_vulnerabilities", (("image", named[0]), ("severity", "CRITICAL"))) in last
        assert 0 <= last[("containerkit_build_cache_hit_ratio", (("image", named[0]),))] <= 1
        assert any(k[0] == "containerkit_scan_duration_seconds_count" for k in last)  # the live scan collector

        deadline = time.monotonic() + 10
        names: set[str] = set()
        while time.monotonic() < deadline:
            names = {span.name for span, _a, _r in receiver.spans()}
            if "containerkit.run" in names:
                break
            time.sleep(0.2)
        expected = {f"containerkit.{s}" for s in STAGES} | {
            "containerkit.run",
            "containerkit.tool.analyze_repo",
            "containerkit.tool.build_image",
            "containerkit.tool.verify_image",
            "containerkit.tool.scan_image",
            "containerkit.tool.push_image",
            "containerkit.tool.generate_manifests",
        }
        assert expected <= names, expected - names
        traces = {span.trace_id for span, _a, _r in receiver.spans()}
        assert len(traces) == 1  # one run, one trace
    finally:
        receiver.close()
