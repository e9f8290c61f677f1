"""Faults of the session store and of user files, measured (``benchmarks/faults.py`` does the registry and the engine).

Columns: the fault, the outcome a user sees (exit code, error code, what resume did), the data lost
(sessions or finished stages missing afterwards, the store's integrity check: must be none), the time.

- full disk: ``CONTAINERKIT_HOME`` on a 8 MiB tmpfs (needs root), filled before a run and during a build;
- SIGKILL as each stage starts (analyze -> buildsec, buildsec -> infra, infra -> deploy), then resume;
- two runs of one repository at once;
- fuzzing: every parser of a user's file with ``--fuzz N`` examples each (hypothesis, tests/unit/test_fuzz_parsers.py).

    python benchmarks/faults_store.py [--registry 127.0.0.1:5000] [--fuzz 10000] [--only disk,kill,twice,fuzz]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
STAGES = ["analyze", "buildsec", "infra", "deploy"]
Row = tuple[str, str, str, float]


def _env(home: Path) -> dict[str, str]:
    return {**os.environ, "CONTAINERKIT_HOME": str(home), "CONTAINERKIT_PULL_POLICY": "never"}


def _ck(home: Path, *args: str) -> tuple[int, dict[str, Any] | list[Any] | None, str]:
    res = subprocess.run(
        [sys.executable, "-m", "containerkit", *args],
        capture_output=True,
        text=True,
        env=_env(home),
        timeout=1800,
        check=False,
    )
    start = res.stdout.rfind("\n{")
    text = res.stdout[start + 1 :] if start >= 0 and not res.stdout.lstrip().startswith("[") else res.stdout
    try:
        return res.returncode, json.loads(text), res.stderr
    except ValueError:
        return res.returncode, None, res.stderr


def _start(home: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "containerkit", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_env(home),
    )


def _wait_for(proc: subprocess.Popen[str], pattern: str) -> list[str]:
    assert proc.stderr is not None
    seen = []
    for line in proc.stderr:
        seen.append(line)
        if re.search(pattern, line):
            return seen
    raise RuntimeError(f"the run ended before {pattern!r}: {''.join(seen)[-1500:]}")


def _integrity(home: Path) -> str:
    conn = sqlite3.connect(f"file:{home / 'sessions.sqlite'}?mode=ro", uri=True)
    try:
        return str(conn.execute("PRAGMA integrity_check").fetchone()[0])
    finally:
        conn.close()


def _sessions(home: Path) -> list[str]:
    _rc, rows, _err = _ck(home, "sessions", "list", "--json")
    return sorted(r["session_id"] for r in rows) if isinstance(rows, list) else []


def _app(work: Path, slow_build: bool = False) -> Path:
    app = work / f"app-{uuid.uuid4().hex[:6]}"
    shutil.copytree(ROOT / "examples" / "python-http", app, ignore=shutil.ignore_patterns("Dockerfile", "k8s"))
    if slow_build:
        (app / "Dockerfile").write_text(
            "FROM python:3.11-slim\nWORKDIR /app\n"
            f"RUN echo {uuid.uuid4().hex} > /tmp/nonce && sleep 15\n"
            "COPY requirements.txt .\nRUN pip install --no-cache-dir -r requirements.txt\n"
            'COPY . .\nUSER 10001\nCMD ["gunicorn", "app:app"]\n'
        )
    return app


@contextlib.contextmanager
def _tmpfs(path: Path, size: str = "8m") -> Iterator[None]:
    path.mkdir(parents=True, exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)], check=True)
    try:
        yield
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def _fill(home: Path) -> Path:
    filler = home / "filler"
    with contextlib.suppress(OSError), filler.open("wb", buffering=0) as fh:  # unbuffered: nothing left to flush
        while True:
            fh.write(b"\0" * 65536)
    return filler


def _error_code(doc: Any, err: str) -> str:
    if isinstance(doc, dict) and doc.get("errors"):
        return str(doc["errors"][-1].get("code"))
    m = re.search(r"\[(CK\d+)\]", err)
    return m.group(1) if m else "-"


def disk(work: Path, registry: str) -> list[Row]:
    rows: list[Row] = []
    if os.geteuid() != 0:
        return [("full disk under CONTAINERKIT_HOME", "skipped: mounting a tmpfs needs root", "-", 0.0)]
    home = work / "disk-home"
    with _tmpfs(home):
        t0 = time.perf_counter()
        empty = work / "empty"
        empty.mkdir(exist_ok=True)
        (empty / "README.md").write_text("nothing\n")
        _ck(home, "run", str(empty), "--json")
        before = _sessions(home)
        filler = _fill(home)
        rc, doc, err = _ck(home, "run", str(empty), "--json")
        trace = "Traceback" in err
        filler.unlink()
        lost = set(before) - set(_sessions(home))
        rows.append(
            (
                "full disk before a run",
                f"exit {rc}, {_error_code(doc, err)}{', TRACEBACK' if trace else ''}",
                f"{len(lost)} session(s); integrity {_integrity(home)}",
                time.perf_counter() - t0,
            )
        )
        t0 = time.perf_counter()
        proc = _start(home, "run", str(_app(work)), "--registry", registry, "--json")
        seen = _wait_for(proc, r"▶ buildsec")
        sid = next(ln.split()[1] for ln in seen if ln.startswith("session "))
        filler = _fill(home)
        _out, err = proc.communicate(timeout=1800)
        first = f"exit {proc.returncode}, {_error_code(None, err)}"
        filler.unlink()
        rc, doc, _err = _ck(home, "resume", sid, "--json")
        stages = [s["stage"] for s in doc.get("stages", [])] if isinstance(doc, dict) else []
        redone = sum(stages.count(s) - 1 for s in set(stages) if stages.count(s) > 1)
        rows.append(
            (
                "full disk during a build",
                f"{first}; resume: exit {rc}, {doc.get('status') if isinstance(doc, dict) else '?'}",
                f"{'none' if stages[:1] == ['analyze'] else 'analysis lost'}; {redone} stage(s) redone; "
                f"integrity {_integrity(home)}",
                time.perf_counter() - t0,
            )
        )
    return rows


def kill(work: Path, registry: str) -> list[Row]:
    rows: list[Row] = []
    home = work / "kill-home"
    proc = _start(home, "run", str(_app(work)), "--registry", registry, "--json")
    sid = ""
    for n, boundary in enumerate(STAGES[1:]):
        t0 = time.perf_counter()
        if n:
            proc = _start(home, "resume", sid, "--json")
        seen = _wait_for(proc, rf"▶ {boundary}\b")
        sid = sid or next(ln.split()[1] for ln in seen if ln.startswith("session "))
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=60)
        _rc, doc, _err = _ck(home, "sessions", "show", sid, "--json")
        done = [h["stage"] for h in doc["history"]] if isinstance(doc, dict) else []
        expected = STAGES[: STAGES.index(boundary)]
        rows.append(
            (
                f"SIGKILL as {boundary} starts",
                f"killed; checkpointed {', '.join(done)}",
                "none" if done == expected else f"expected {expected}, found {done}",
                time.perf_counter() - t0,
            )
        )
    t0 = time.perf_counter()
    rc, doc, _err = _ck(home, "resume", sid, "--json")
    stages = [s["stage"] for s in doc.get("stages", [])] if isinstance(doc, dict) else []
    rows.append(
        (
            "resume after the three kills",
            f"exit {rc}, {doc.get('status') if isinstance(doc, dict) else '?'}, stages {' '.join(stages)}",
            f"{'none' if stages == STAGES else 'stages redone'}; integrity {_integrity(home)}",
            time.perf_counter() - t0,
        )
    )
    return rows


def twice(work: Path, registry: str) -> list[Row]:
    home = work / "twice-home"
    app = _app(work, slow_build=True)
    t0 = time.perf_counter()
    first = _start(home, "run", str(app), "--registry", registry, "--json", "--no-scan")
    _wait_for(first, r"▶ buildsec")
    rc, doc, err = _ck(home, "run", str(app), "--registry", registry, "--json")
    first.communicate(timeout=1800)
    ids = _sessions(home)
    return [
        (
            "a second run of one repository during the first",
            f"second: exit {rc}, {_error_code(doc, err)}; first: exit {first.returncode}",
            f"{'none' if len(ids) == 1 else f'{len(ids)} sessions'}; integrity {_integrity(home)}",
            time.perf_counter() - t0,
        )
    ]


def fuzz(examples: int) -> list[Row]:
    rows: list[Row] = []
    tests = [
        "test_repository_manifests_and_lockfiles_parse_or_are_typed_errors",
        "test_dockerfile_parsers_and_the_linter_parse_or_are_typed_errors",
        "test_env_files_parse_or_are_typed_errors",
        "test_config_toml_parses_or_is_a_typed_error",
        "test_dockerignore_files_parse_or_are_typed_errors",
        "test_osv_records_parse_or_are_typed_errors",
        "test_image_references_parse_or_are_typed_errors",
    ]
    for test in tests:
        t0 = time.perf_counter()
        res = subprocess.run(
            [
                sys.executable,
                "-m",
                "pytest",
                "-q",
                "-p",
                "no:cacheprovider",
                f"tests/unit/test_fuzz_parsers.py::{test}",
            ],
            capture_output=True,
            text=True,
            cwd=ROOT,
            env={**os.environ, "CK_FUZZ_EXAMPLES": str(examples), "CK_FUZZ_RANDOM": "1"},
            check=False,
        )
        name = test.removeprefix("test_").split("_parse")[0].replace("_", " ")
        ok = res.returncode == 0
        rows.append(
            (
                f"fuzz: {name}",
                f"{examples} examples, {'no uncaught exception' if ok else 'UNCAUGHT: ' + res.stdout[-300:]}",
                "-",
                time.perf_counter() - t0,
            )
        )
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--registry", default="127.0.0.1:5000")
    ap.add_argument("--fuzz", type=int, default=10_000, help="Examples per parser.")
    ap.add_argument("--only", default="disk,kill,twice,fuzz")
    args = ap.parse_args()
    chosen = {s.strip() for s in args.only.split(",")}
    rows: list[Row] = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        if "disk" in chosen:
            rows += disk(work, args.registry)
        if "kill" in chosen:
            rows += kill(work, args.registry)
        if "twice" in chosen:
            rows += twice(work, args.registry)
    if "fuzz" in chosen:
        rows += fuzz(args.fuzz)
    widths = [max(len(r[i]) for r in [("fault", "outcome", "data lost", 0.0), *rows]) for i in range(3)]
    print(f"{'fault':<{widths[0]}}  {'outcome':<{widths[1]}}  {'data lost':<{widths[2]}}  time")
    for fault, outcome, lost, took in rows:
        print(f"{fault:<{widths[0]}}  {outcome:<{widths[1]}}  {lost:<{widths[2]}}  {took:6.1f}s")


if __name__ == "__main__":
    main()
