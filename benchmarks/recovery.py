"""Recovery on apps that fail at first: the rate, the attempts per app, and what verify costs.

Runs ``containerkit run --json`` (no LLM, scan off so the numbers are about recovery) on a copy of
every app folder given (default: every app of ``tests/fixtures/broken`` and ``tests/fixtures/faults``)
and prints, per app: the expected outcome (from the app's ``expect.toml`` when it has one), the
outcome, the categories met, the attempts, the build and verify times; then the recovery rate and
verify time against build time, measured in the same run.

Verify's own overhead is measured too, on ``examples/python-http`` (an app ready in about a second):
the same run with ``--verify`` and with ``--no-verify``, alternating, median of N rounds.

    python benchmarks/recovery.py [APP_DIR ...] [--rounds N]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import tomllib
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DIRS = [ROOT / "tests" / "fixtures" / "broken", ROOT / "tests" / "fixtures" / "faults"]


def _apps(args: list[str]) -> list[Path]:
    if args:
        return [Path(a).resolve() for a in args]
    out: list[Path] = []
    for d in DEFAULT_DIRS:
        if d.is_dir():
            out += sorted(p for p in d.iterdir() if p.is_dir())
    return out


def _run(app: Path, home: Path, *extra: str) -> tuple[dict[str, Any] | None, float, str]:
    env = {**os.environ, "CONTAINERKIT_HOME": str(home), "CONTAINERKIT_PULL_POLICY": "never"}
    t0 = time.perf_counter()
    res = subprocess.run(
        [sys.executable, "-m", "containerkit", "run", str(app), "--json", "--no-scan", *extra],
        capture_output=True,
        text=True,
        env=env,
        timeout=1800,
        check=False,
    )
    took = time.perf_counter() - t0
    start = res.stdout.rfind("\n{")
    try:
        return json.loads(res.stdout[start + 1 :] if start >= 0 else res.stdout), took, res.stderr[-500:]
    except ValueError:
        return None, took, res.stderr[-500:]


def _outcome(out: dict[str, Any]) -> str:
    status = str(out.get("status"))
    verify = out.get("verify") or {}
    if status == "succeeded":
        return "exits0" if verify.get("exit_code") == 0 else "answers" if verify.get("answered") else "running"
    return status


def _expected(app: Path) -> dict[str, Any]:
    f = app / "expect.toml"
    return tomllib.loads(f.read_text()) if f.is_file() else {}


def corpus(apps: list[Path]) -> None:
    rows: list[tuple[str, ...]] = []
    recovered = recoverable = 0
    attempts: list[int] = []
    build_s: list[float] = []
    verify_s: list[float] = []
    with tempfile.TemporaryDirectory(prefix="ck-recovery-") as tmp:
        for app in apps:
            work = Path(tmp) / app.name
            shutil.copytree(app, work, ignore=shutil.ignore_patterns("expect.toml", "node_modules"))
            out, took, _err = _run(work, Path(tmp) / "home")
            want = _expected(app)
            if out is None:
                rows.append((app.name, str(want.get("outcome", "?")), "no result", "-", "-", f"{took:.1f}", "-", "-"))
                continue
            got = _outcome(out)
            cats = ",".join(dict.fromkeys(str(a.get("cause")) for a in out.get("recovery", []))) or "-"
            if not out.get("recovery") and out.get("errors"):
                cats = ",".join(e["code"] for e in out["errors"][-1:])
            n = len(out.get("recovery", []))
            builds = [s["duration_s"] for s in out.get("stages", []) if s["stage"] == "buildsec"]
            v = out.get("verify") or {}
            if want.get("recoverable", True) and want.get("outcome", "answers") in ("answers", "exits0", "running"):
                recoverable += 1
                if got == want.get("outcome", got):
                    recovered += 1
                    attempts.append(n)
            if v.get("duration_s"):
                verify_s.append(float(v["duration_s"]))
                build_s.append(float((out.get("stages") or [{}])[-1].get("duration_s", 0)))
            ok = "yes" if got == want.get("outcome", got) else "NO"
            rows.append(
                (
                    app.name,
                    str(want.get("outcome", "?")),
                    got,
                    ok,
                    cats,
                    str(n),
                    f"{sum(builds):.1f}",
                    f"{v.get('duration_s', 0):.1f}",
                    f"{took:.1f}",
                )
            )
    head = ("app", "expected", "outcome", "as expected", "categories", "attempts", "buildsec s", "verify s", "total s")
    widths = [max(len(r[i]) if i < len(r) else 0 for r in [head, *rows]) for i in range(len(head))]
    for r in [head, *rows]:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=False)))
    print()
    if recoverable:
        print(f"recovered without an LLM: {recovered}/{recoverable} ({recovered / recoverable:.0%})")
    if attempts:
        print(f"attempts per recovered app: median {statistics.median(attempts)}, max {max(attempts)}")
    if verify_s:
        print(
            f"verify time: median {statistics.median(verify_s):.2f}s per start "
            f"(buildsec stage median {statistics.median(build_s):.2f}s)"
        )


def verify_overhead(rounds: int) -> None:
    """`run` with and without verify on an app ready in about a second, alternating."""
    with tempfile.TemporaryDirectory(prefix="ck-verify-bench-") as tmp:
        app = Path(tmp) / "python-http"
        shutil.copytree(ROOT / "examples" / "python-http", app)
        home = Path(tmp) / "home"
        _run(app, home)  # warm the build cache
        on: list[float] = []
        off: list[float] = []
        ready: list[float] = []
        for _ in range(rounds):
            _out, took, _err = _run(app, home, "--no-verify")
            off.append(took)
            out, took, _err = _run(app, home)
            on.append(took)
            if out and out.get("verify"):
                ready.append(float(out["verify"].get("time_to_ready_s") or 0))
        m_on, m_off = statistics.median(on), statistics.median(off)
        print(
            f"verify overhead on python-http (ready in {statistics.median(ready):.2f}s): run {m_on:.2f}s vs "
            f"--no-verify {m_off:.2f}s: +{m_on - m_off:.2f}s (target <= 3s), ratio {m_on / m_off:.2f}"
        )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("apps", nargs="*")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--skip-corpus", action="store_true")
    args = ap.parse_args()
    if not args.skip_corpus:
        corpus(_apps(args.apps))
    verify_overhead(args.rounds)


if __name__ == "__main__":
    main()
