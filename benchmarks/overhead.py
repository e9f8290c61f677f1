"""Overhead of `containerkit run` against a plain `docker build` + `docker push` of the same Dockerfile.

Both sides do the same work in the same run, alternating, on a copy of an example, in three modes:

- unchanged: nothing changed since the last run (the rerun an agent or CI does): the plain side
  rebuilds from cache and pushes layers the registry has; ``containerkit run`` (scan and verify on)
  should reuse its verdicts (target: median < 1.0 s and within 1.0 s of the plain side);
- edit: a source edit before every round, cached dependency layers (the everyday inner loop); the
  plain side also starts the app once and waits for its answer (what verify does), so the target is
  plain build + push + start + 1.0 s;
- cold: ``--no-cache`` builds (what `run` does on a new app: dependencies installed, image pushed).

With ``--warm`` the runs are as a user's by default: the warm-up run starts a warm server (a run
does when none serves its home; ``CONTAINERKIT_AUTO_WARM=0`` turns that off) and every later
``containerkit run`` forks from it, so start-up and imports are paid once. Without it every run is a
new process with no server (the first run of a loop, or auto-warm off); the report says which.
containerkit's own modules are compiled first (``compileall``), as ``pip install`` leaves a package:
an environment with ``PYTHONDONTWRITEBYTECODE=1`` and an editable install would otherwise compile
them in every process. ``containerkit run --no-scan`` is timed too (its ratio to the plain side is the orchestration
overhead), and for ``containerkit run`` the time of each stage (from ``run --json``) and the time
outside stages (start-up, imports, checkpoints, rendering) are printed, so the cost is visible where it
lies. Medians of ``--rounds`` rounds; on a loaded machine compare the ratios, not the seconds.

    python benchmarks/overhead.py [python-http|node-http] [--rounds N] [--modes unchanged,edit,cold] [--warm]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOCKER = "/usr/bin/docker" if Path("/usr/bin/docker").exists() else "docker"
STAGES = ("analyze", "buildsec", "infra", "deploy")


def _timed(cmd: list[str], env: dict[str, str], cwd: Path | None = None) -> tuple[float, str]:
    t0 = time.perf_counter()
    res = subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True, check=False)
    if res.returncode != 0:
        sys.exit(f"failed: {' '.join(cmd)}\n{res.stdout[-2000:]}\n{res.stderr[-2000:]}")
    return time.perf_counter() - t0, res.stdout


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start_time(ref: str, env: dict[str, str], timeout: float = 60.0) -> float:
    """The app's own start: `docker run` until it answers HTTP on $PORT (what verify waits for)."""
    port = _free_port()
    t0 = time.perf_counter()
    cid = subprocess.run(
        [DOCKER, "run", "-d", "--network", "host", "-e", f"PORT={port}", ref],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    try:
        while time.perf_counter() - t0 < timeout:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=1):
                    return time.perf_counter() - t0
            except OSError:
                time.sleep(0.05)
        sys.exit(f"{ref} did not answer on port {port} within {timeout}s")
    finally:
        subprocess.run([DOCKER, "rm", "-f", cid], env=env, capture_output=True, check=False)
    return time.perf_counter() - t0


def _stages(out: str) -> dict[str, float]:
    """Seconds per stage (summed over visits) from `run --json`."""
    doc = json.loads(out)
    if doc.get("status") != "succeeded":
        sys.exit(f"containerkit run did not succeed: {json.dumps(doc.get('errors'))[:2000]}")
    per: dict[str, float] = {}
    for s in doc["stages"]:
        per[s["stage"]] = per.get(s["stage"], 0.0) + float(s["duration_s"])
    cached = [k for k in ("verify", "scan") if (doc.get(k) or {}).get("cached")]
    per["cached"] = float(len(cached))
    return per


def _med(xs: list[float]) -> str:
    return f"median {statistics.median(xs):6.2f}s  ({', '.join(f'{x:.2f}' for x in xs)})"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("example", nargs="?", default="python-http")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--modes", default="unchanged,edit,cold")
    ap.add_argument("--registry", default=os.environ.get("CK_REGISTRY", "127.0.0.1:5000"))
    ap.add_argument(
        "--warm", action="store_true", help="as by default: the first run starts a warm server, later runs fork from it"
    )
    args = ap.parse_args()

    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", str(ROOT / "containerkit")], capture_output=True, check=False
    )
    work = Path(tempfile.mkdtemp(prefix="ck-bench-"))
    app = work / args.example
    shutil.copytree(
        ROOT / "examples" / args.example, app, ignore=shutil.ignore_patterns("Dockerfile", "k8s", "node_modules")
    )
    env = {**os.environ, "CONTAINERKIT_HOME": str(work / "home"), "CONTAINERKIT_PULL_POLICY": "never"}
    ck = [sys.executable, "-m", "containerkit", "run", str(app), "--registry", args.registry, "--json"]
    name = f"bench/{args.example}"
    source = next(p for p in app.iterdir() if p.suffix in (".py", ".js"))
    comment = "#" if source.suffix == ".py" else "//"
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    print(f"example: {args.example}, rounds per mode: {args.rounds}, modes: {', '.join(modes)}")
    print(f"load average at start: {os.getloadavg()[0]:.2f} (on {os.cpu_count()} CPUs)")
    if args.warm:  # the default: the warm-up run starts the warm server the later runs fork from
        env["CONTAINERKIT_AUTO_WARM"] = "1"
        env.pop("CONTAINERKIT_NO_WARM", None)
        print("containerkit run: as by default, warm (the first run started the server, later runs fork from it)")
    else:
        env["CONTAINERKIT_NO_WARM"] = "1"
        env["CONTAINERKIT_AUTO_WARM"] = "0"
        print("containerkit run: a new process each time, no warm server (start-up and imports included)")

    _timed([*ck, "--image", f"{name}:warmup"], env)  # writes the Dockerfile, warms the caches
    for mode in modes:
        plain: list[float] = []
        started: list[float] = []
        ours: list[float] = []
        scanned: list[float] = []
        stages: list[dict[str, float]] = []
        extra = ["--no-cache"] if mode == "cold" else []
        if mode == "unchanged":  # the runs the reruns repeat (untimed)
            _timed([*ck, "--image", f"{name}:unchanged-ck"], env)
            ref = f"{args.registry}/{name}:unchanged-plain"
            _timed([DOCKER, "build", "--network", "host", "-q", "-t", ref, "."], env, cwd=app)
            _timed([DOCKER, "push", ref], env)
        for i in range(args.rounds):
            # unchanged: the same tags every round, as a rerun does; otherwise a new tag per round
            tag = mode if mode == "unchanged" else f"{mode}-{i}"
            if mode != "unchanged":
                with source.open("a") as fh:
                    fh.write(f"\n{comment} {mode} {i} plain\n")
            ref = f"{args.registry}/{name}:{tag}-plain"
            plain.append(
                _timed([DOCKER, "build", "--network", "host", "-q", *extra, "-t", ref, "."], env, cwd=app)[0]
                + _timed([DOCKER, "push", ref], env)[0]
            )
            if mode == "edit":
                started.append(_start_time(ref, env))
            if mode != "unchanged":
                with source.open("a") as fh:
                    fh.write(f"\n{comment} {mode} {i} containerkit\n")
            ours.append(_timed([*ck, *extra, "--no-scan", "--image", f"{name}:{tag}-ck"], env)[0])
            scan_tag = f"{tag}-ck" if mode == "unchanged" else f"{tag}-scan"
            if mode != "unchanged":
                with source.open("a") as fh:
                    fh.write(f"\n{comment} {mode} {i} containerkit scanned\n")
            took, out = _timed([*ck, *extra, "--image", f"{name}:{scan_tag}"], env)
            scanned.append(took)
            stages.append(_stages(out))
        _report(mode, plain, started, ours, scanned, stages)
    if args.warm:
        _timed([sys.executable, "-m", "containerkit", "warm", "--stop"], env)
    shutil.rmtree(work, ignore_errors=True)
    subprocess.run(
        f"{DOCKER} images --format '{{{{.Repository}}}}:{{{{.Tag}}}}' | grep '/{name}:' | xargs -r {DOCKER} rmi -f",
        shell=True,
        capture_output=True,
        check=False,
    )


def _report(
    mode: str,
    plain: list[float],
    started: list[float],
    ours: list[float],
    scanned: list[float],
    stages: list[dict[str, float]],
) -> None:
    p, o, sc = statistics.median(plain), statistics.median(ours), statistics.median(scanned)
    print(f"[{mode}] docker build + docker push   {_med(plain)}")
    if started:
        print(f"[{mode}] the app's own start (docker run until it answers) {_med(started)}")
    print(f"[{mode}] containerkit run --no-scan   {_med(ours)}")
    print(f"[{mode}] containerkit run             {_med(scanned)}")
    per = {s: statistics.median([r.get(s, 0.0) for r in stages]) for s in STAGES}
    outside = statistics.median([t - sum(r.get(s, 0.0) for s in STAGES) for t, r in zip(scanned, stages, strict=True)])
    cached = statistics.median([r["cached"] for r in stages])
    print(
        f"[{mode}] containerkit run per stage (median): "
        + ", ".join(f"{s} {v:.2f}s" for s, v in per.items())
        + f"; outside stages {outside:.2f}s; verify+scan reused: {cached:.0f} of 2"
    )
    print(
        f"[{mode}] ratio run --no-scan / plain: {o / p:.2f};  run / plain: {sc / p:.2f};  run - plain: {sc - p:+.2f}s"
    )
    if mode == "unchanged":
        print(
            f"[{mode}] target: run < 1.0s and run - plain <= 1.0s: {'met' if sc < 1.0 and sc - p <= 1.0 else 'not met'}"
        )
    elif mode == "edit" and started:
        budget = p + statistics.median(started) + 1.0
        print(f"[{mode}] target: run <= plain + start + 1.0s = {budget:.2f}s: {'met' if sc <= budget else 'not met'}")


if __name__ == "__main__":
    main()
