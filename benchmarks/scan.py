"""Scan benchmark: `containerkit scan` of the python example's image, cold and warm, against trivy.

Builds ``examples/python-http`` (Dockerfile from ``containerkit dockerfile --write`` in a temp copy,
host networking, never pulling), then a rebuild that differs only in its last layers (one source
line edited). Measured in this run, median of ``--runs``:

* export   the engine's ``docker save`` of the rebuilt image, read and discarded: the floor of
           any scan that reads layers through the engine API;
* cold     ``scan_image`` of the rebuilt image without cache (SBOM, secrets, compliance, policy);
* warm     the same with a cache populated by a scan of the first image: only new layers are read;
* trivy    ``trivy image --scanners secret`` offline with a fresh cache (secrets only), when installed.

Ratios are printed against trivy and against the cold scan. Not a pass/fail test; the images it
builds are removed unless ``--keep``.

    /tmp/ckvenv/bin/python benchmarks/scan.py [--runs 3] [--keep]
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
from collections.abc import Callable
from pathlib import Path

import docker

from containerkit.tools.scan import ScanOptions, ScanReport, scan_image
from containerkit.tools.vulns.external import find_scanner

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "python-http"
TAG = "ck-bench-scan"
TRIVY_ENV = {
    "TRIVY_SKIP_DB_UPDATE": "true",
    "TRIVY_SKIP_JAVA_DB_UPDATE": "true",
    "TRIVY_SKIP_CHECK_UPDATE": "true",
    "TRIVY_OFFLINE_SCAN": "true",
    "TRIVY_DISABLE_TELEMETRY": "true",
    "TRIVY_SKIP_VERSION_CHECK": "true",
}


def build(client: docker.DockerClient, ctx: Path, tag: str) -> str:
    image, _ = client.images.build(path=str(ctx), tag=tag, network_mode="host", rm=True, forcerm=True, pull=False)
    return str(image.id)


def prepare(client: docker.DockerClient, work: Path) -> tuple[str, str]:
    """(first image, rebuilt image differing in its last layers)."""
    ctx = work / "python-http"
    shutil.copytree(EXAMPLE, ctx)
    cli = Path(sys.executable).parent / "containerkit"
    subprocess.run([str(cli), "dockerfile", str(ctx), "--write", "--force"], check=True, capture_output=True)
    first = build(client, ctx, f"{TAG}:a")
    app = ctx / "app.py"
    app.write_text(app.read_text() + f"\n# rebuilt {time.time()}\n")
    rebuilt = build(client, ctx, f"{TAG}:b")
    return first, rebuilt


def median(runs: int, fn: Callable[[], object]) -> tuple[float, object]:
    times, last = [], None
    for _ in range(runs):
        t0 = time.perf_counter()
        last = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), last


def export(client: docker.DockerClient, ref: str) -> int:
    return sum(len(chunk) for chunk in client.images.get(ref).save(chunk_size=4 << 20, named=False))


def scan(client: docker.DockerClient, ref: str, cache: Path | None) -> ScanReport:
    options = ScanOptions(external_scanners=False, lint=False, cache_dir=cache)
    return scan_image(ref, options, docker_client=client)


def trivy_secrets(trivy: Path, ref: str) -> None:
    with tempfile.TemporaryDirectory() as cache:
        subprocess.run(
            [
                str(trivy),
                "image",
                "--image-src",
                "docker",
                "--scanners",
                "secret",
                "--quiet",
                "--cache-dir",
                cache,
                ref,
            ],
            env={**os.environ, **TRIVY_ENV},
            check=True,
            capture_output=True,
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--keep", action="store_true", help="keep the images built")
    args = parser.parse_args()
    client = docker.from_env(timeout=600)
    with tempfile.TemporaryDirectory(prefix="ck-bench-scan-") as tmp:
        work = Path(tmp)
        first, rebuilt = prepare(client, work)
        try:
            layers = client.api.inspect_image(rebuilt)["RootFS"]["Layers"]
            shared = sum(
                a == b for a, b in zip(client.api.inspect_image(first)["RootFS"]["Layers"], layers, strict=False)
            )
            print(f"image {TAG}:b  layers {len(layers)} (shared with {TAG}:a: {shared})")
            t_export, size = median(args.runs, lambda: export(client, rebuilt))
            print(f"export   {t_export:6.2f} s  ({int(str(size)) >> 20} MiB; the engine's docker save, the floor)")
            t_cold, report = median(args.runs, lambda: scan(client, rebuilt, None))
            assert isinstance(report, ScanReport)
            print(f"cold     {t_cold:6.2f} s  parts {report.durations}")

            def warm() -> ScanReport:
                cache = Path(tempfile.mkdtemp(dir=work))
                scan(client, first, cache)  # populate, not timed
                t0 = time.perf_counter()
                out = scan(client, rebuilt, cache)
                warm_times.append(time.perf_counter() - t0)
                return out

            warm_times: list[float] = []
            _, warm_report = median(args.runs, warm)
            assert isinstance(warm_report, ScanReport)
            t_warm = statistics.median(warm_times)
            print(f"warm     {t_warm:6.2f} s  parts {warm_report.durations}")
            same = (
                warm_report.secrets is not None
                and report.secrets is not None
                and warm_report.secrets.findings == report.secrets.findings
                and warm_report.sbom == report.sbom.model_copy(update={"duration_s": warm_report.sbom.duration_s})
                if warm_report.sbom is not None and report.sbom is not None
                else False
            )
            print(f"warm report identical to cold (SBOM, secrets): {same}")
            print(f"ratio    warm/cold {t_warm / t_cold:.2f}   warm-export {t_warm - t_export:+.2f} s")
            trivy = find_scanner("trivy")
            if trivy is None:
                print("trivy    not installed: no external baseline")
            else:
                t_trivy, _ = median(args.runs, lambda: trivy_secrets(trivy, rebuilt))
                print(f"trivy    {t_trivy:6.2f} s  (secrets only, fresh cache)")
                print(f"ratio    cold/trivy {t_cold / t_trivy:.2f}   warm/trivy {t_warm / t_trivy:.2f}")
        finally:
            if not args.keep:
                for tag in (f"{TAG}:b", f"{TAG}:a"):
                    client.images.remove(tag, force=True)


if __name__ == "__main__":
    main()
