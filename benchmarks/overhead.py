"""Overhead of `containerkit run` against a plain `docker build` + `docker push` of the same Dockerfile.

Both sides do the same work in the same run, alternating, on a copy of an example whose source
changes before every round (the everyday loop: a source edit, a rebuild of the layers after it, a
push of the new layer). Prints each side's median wall time and the ratio (target <= 1.15).

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


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("example", nargs="?", default="python-http")
    ap.add_argument("--rounds", type=int, default=5)
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

    _timed([*ck, "--image", f"{name}:warmup"], env)  # writes the Dockerfile, warms the cache
    plain: list[float] = []
    ours: list[float] = []
    for i in range(args.rounds):
        with source.open("a") as fh:
            fh.write(f"\n{comment} round {i} plain\n")
        ref = f"{args.registry}/{name}:plain-{i}"
        plain.append(
            _timed([DOCKER, "build", "--network", "host", "-q", "-t", ref, "."], env, cwd=app)
            + _timed([DOCKER, "push", ref], env)
        )
        with source.open("a") as fh:
            fh.write(f"\n{comment} round {i} containerkit\n")
        ours.append(_timed([*ck, "--image", f"{name}:ck-{i}"], env))
    p, o = statistics.median(plain), statistics.median(ours)
    print(f"example: {args.example}, rounds: {args.rounds}")
    print(f"docker build + docker push  median {p:.2f}s  ({', '.join(f'{x:.2f}' for x in plain)})")
    print(f"containerkit run            median {o:.2f}s  ({', '.join(f'{x:.2f}' for x in ours)})")
    print(f"ratio containerkit / plain: {o / p:.2f}  (target <= 1.15)")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
