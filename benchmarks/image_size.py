"""Image size: the generated image of each app against a naive single-stage image of the same app.

For every example (examples/*) and size fixture below, ``containerkit run APP --no-scan
--compare-naive --json`` builds the generated Dockerfile (recovery included), verifies that the
container answers, and builds the naive Dockerfile (the build packages, ``COPY . .``, the install and
the build step in one stage, as root) on the same base image in the same run. The table shows both
sizes, their ratio and the target of the app's kind (issue 13):

- interpreted, no native build step: <= 1.0x the naive image
- a build step or a native toolchain (TypeScript server, psycopg2 from source): <= 0.5x
- Next.js: <= 0.2x
- static front end: under 20 MB

    python benchmarks/image_size.py [--only NAME]... [--app PATH:KIND]... [--json]

``--app`` adds an app of yours (a copy is built; KIND is interpreted, build, next or static), e.g. a
public Next.js repository fetched for the purpose.

Images are removed afterwards. Sizes are the engine's (uncompressed, as ``docker images`` shows).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, NamedTuple

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"


class App(NamedTuple):
    name: str
    path: Path
    kind: str  # interpreted | build | next | static


APPS = [
    App("python-http", ROOT / "examples" / "python-http", "interpreted"),
    App("node-http", ROOT / "examples" / "node-http", "interpreted"),
    App("py-flask-pip", FIXTURES / "apps" / "py-flask-pip", "interpreted"),
    App("py-psycopg2-native", FIXTURES / "apps" / "py-psycopg2-native", "build"),
    App("node-ts-build", FIXTURES / "apps" / "node-ts-build", "build"),
    App("node-next", FIXTURES / "apps" / "node-next", "next"),
    App("node-vite-spa", FIXTURES / "apps" / "node-vite-spa", "static"),
    App("node-cra-start", FIXTURES / "realapps" / "node-cra-start", "static"),
]
TARGETS = {"interpreted": "<= 1.0x", "build": "<= 0.5x", "next": "<= 0.2x", "static": "< 20 MB"}


def _meets(kind: str, size: int, naive: int | None) -> bool:
    """Judged on the bytes, not the rounded ratio."""
    if kind == "static":
        return size < 20_000_000
    limit = {"interpreted": 1.0, "build": 0.5, "next": 0.2}[kind]
    return naive is not None and size <= naive * limit


def _last_json(text: str) -> dict[str, Any] | None:
    start = text.find("{")
    while start != -1:
        try:
            value = json.loads(text[start:])
        except ValueError:
            start = text.find("{", start + 1)
            continue
        return value if isinstance(value, dict) else None
    return None


def _run(app: App, work: Path, env: dict[str, str]) -> dict[str, Any]:
    copy = work / app.name
    shutil.copytree(
        app.path, copy, ignore=shutil.ignore_patterns("expected*.json", "Dockerfile", "k8s", "node_modules")
    )
    cmd = [sys.executable, "-m", "containerkit", "run", str(copy), "--no-scan", "--compare-naive", "--json"]
    cmd += ["--image", f"ck-size/{app.name}:bench"]
    t0 = time.monotonic()
    res = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    out = _last_json(res.stdout) or {}
    size = out.get("image_size") or {}
    verify = out.get("verify") or {}
    row: dict[str, Any] = {
        "app": app.name,
        "kind": app.kind,
        "status": out.get("status", f"exit {res.returncode}"),
        "verified": bool(verify.get("passed")),
        "base": size.get("base_image"),
        "naive_base": size.get("naive_base_image"),
        "size_bytes": size.get("size_bytes"),
        "naive_size_bytes": size.get("naive_size_bytes"),
        "ratio": size.get("ratio_to_naive"),
        "delta_bytes": size["size_bytes"] - size["naive_size_bytes"] if size.get("naive_size_bytes") else None,
        "duration_s": round(time.monotonic() - t0, 1),
    }
    if row["size_bytes"] is None:
        row["error"] = (res.stderr or res.stdout)[-600:]
    row["meets_target"] = row["size_bytes"] is not None and _meets(app.kind, row["size_bytes"], row["naive_size_bytes"])
    if out.get("image_id"):
        subprocess.run(["docker", "image", "rm", "-f", str(out["image_id"])], capture_output=True, check=False)
    return row


def _delta(n: int | None) -> str:
    return f"({'+' if n > 0 else '-'}{abs(n) / 1e6:.2f} MB)" if n is not None else ""


def _mb(n: int | None) -> str:
    return f"{n / 1e6:8.1f}" if n else "       -"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", action="append", default=[], help="an app name (repeatable)")
    ap.add_argument("--app", action="append", default=[], help="PATH:KIND of another app (repeatable)")
    ap.add_argument("--json", action="store_true", help="print the rows as JSON")
    args = ap.parse_args()
    extra = []
    for item in args.app:
        path, _, kind = item.rpartition(":")
        if kind not in TARGETS or not Path(path).is_dir():
            sys.exit(f"--app {item!r}: write PATH:KIND with an existing folder and KIND one of {', '.join(TARGETS)}")
        extra.append(App(Path(path).name, Path(path), kind))
    apps = [a for a in APPS if (not args.only and not extra) or a.name in args.only] + extra
    if not apps:
        sys.exit(f"no app named {', '.join(args.only)}; known: {', '.join(a.name for a in APPS)}")
    work = Path(tempfile.mkdtemp(prefix="ck-size-"))
    env = {**os.environ, "CONTAINERKIT_HOME": str(work / "home"), "CONTAINERKIT_PULL_POLICY": "never"}
    rows = []
    try:
        for app in apps:
            rows.append(_run(app, work, env))
            r = rows[-1]
            if not args.json:
                ratio = f"{r['ratio']:.2f}x" if r["ratio"] else "-"
                print(
                    f"{r['app']:<20} {r['kind']:<11} {_mb(r['size_bytes'])} MB {_mb(r['naive_size_bytes'])} MB"
                    f" {ratio:>7} {_delta(r['delta_bytes'])}  {TARGETS[r['kind']]:<8} {'ok ' if r['meets_target'] else 'NO '}"
                    f" verify {'passed' if r['verified'] else 'FAILED'}  {r['base'] or ''} (naive: {r['naive_base'] or '-'})"
                    f"  ({r['duration_s']}s)"
                    + (f"\n    {r['error'].strip().splitlines()[-1]}" if r.get("error") else ""),
                    flush=True,
                )
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if args.json:
        print(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
