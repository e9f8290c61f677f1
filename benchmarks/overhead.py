"""Overhead of `containerkit run` against a plain `docker build` + `docker push` of the same Dockerfile.

Both sides do the same work in the same run, alternating, on a copy of an example, in two modes:

- cold: ``--no-cache`` builds (what `run` does on a new app: dependencies installed, image pushed);
- edit: a source edit before every round, cached dependency layers (the everyday inner loop).

The plain side builds and pushes; so does ``containerkit run --no-scan`` (plus analysis, checkpoints,
digest verification and manifests): their ratio is the orchestration overhead (target <= 1.15).
``containerkit run`` with its default scan (lint, SBOM, vulnerabilities, secrets, compliance, policy)
is timed too, so the price of the scan is visible next to it.

    python benchmarks/overhead.py [python-http|node-http] [--rounds N] [--registry HOST:PORT]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOCKER = "/usr/bin/docker" if Path("/usr/bin/docker").exists() else "docker"


def _timed(cmd: list[str], env: dict[str, str], cwd: Path | None = None) -> float:
    t0 = time.perf_counter()
    res = subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True, check=False)
    if res.returncode != 0:
        sys.exit(f"failed: {' '.join(cmd)}\n{res.stdout[-2000:]}\n{res.stderr[-2000:]}")
    return time.perf_counter() - t0


def _report(mode: str, plain: list[float], ours: list[float], scanned: list[float]) -> None:
    p, o, sc = statistics.median(plain), statistics.median(ours), statistics.median(scanned)
    print(f"[{mode}] docker build + docker push   median {p:6.2f}s  ({', '.join(f'{x:.2f}' for x in plain)})")
    print(f"[{mode}] containerkit run --no-scan   median {o:6.2f}s  ({', '.join(f'{x:.2f}' for x in ours)})")
    print(f"[{mode}] containerkit run (with scan) median {sc:6.2f}s  ({', '.join(f'{x:.2f}' for x in scanned)})")
    print(f"[{mode}] ratio run --no-scan / plain: {o / p:.2f} (target <= 1.15);  run / plain: {sc / p:.2f}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("example", nargs="?", default="python-http")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--registry", default=os.environ.get("CK_REGISTRY", "127.0.0.1:5000"))
    args = ap.parse_args()

    work = Path(tempfile.mkdtemp(prefix="ck-bench-"))
    app = work / args.example
    shutil.copytree(
        ROOT / "examples" / args.example, app, ignore=shutil.ignore_patterns("Dockerfile", "k8s", "node_modules")
    )
    env = {**os.environ, "CONTAINERKIT_HOME": str(work / "home"), "CONTAINERKIT_PULL_POLICY": "never"}
    ck = [sys.executable, "-m", "containerkit", "run", str(app), "--registry", args.registry]
    name = f"bench/{args.example}"
    source = next(p for p in app.iterdir() if p.suffix in (".py", ".js"))
    comment = "#" if source.suffix == ".py" else "//"
    print(f"example: {args.example}, rounds per mode: {args.rounds}")

    _timed([*ck, "--image", f"{name}:warmup"], env)  # writes the Dockerfile, warms the cache
    for mode in ("cold", "edit"):
        plain: list[float] = []
        ours: list[float] = []
        scanned: list[float] = []
        extra = ["--no-cache"] if mode == "cold" else []
        for i in range(args.rounds):
            with source.open("a") as fh:
                fh.write(f"\n{comment} {mode} {i} plain\n")
            ref = f"{args.registry}/{name}:{mode}-plain-{i}"
            plain.append(
                _timed([DOCKER, "build", "--network", "host", "-q", *extra, "-t", ref, "."], env, cwd=app)
                + _timed([DOCKER, "push", ref], env)
            )
            with source.open("a") as fh:
                fh.write(f"\n{comment} {mode} {i} containerkit\n")
            ours.append(_timed([*ck, *extra, "--no-scan", "--image", f"{name}:{mode}-ck-{i}"], env))
            with source.open("a") as fh:
                fh.write(f"\n{comment} {mode} {i} containerkit scanned\n")
            scanned.append(_timed([*ck, *extra, "--image", f"{name}:{mode}-scan-{i}"], env))
        _report(mode, plain, ours, scanned)
    shutil.rmtree(work, ignore_errors=True)
    subprocess.run(
        f"{DOCKER} images --format '{{{{.Repository}}}}:{{{{.Tag}}}}' | grep '/{name}:' | xargs -r {DOCKER} rmi -f",
        shell=True,
        capture_output=True,
        check=False,
    )


if __name__ == "__main__":
    main()
