"""Real apps, first try: does ``containerkit run`` take each one to a container that answers?

Runs ``python -m containerkit run APP --json --no-scan`` (verify on, no registry) on a fresh copy of
every app folder given, one at a time, with a per-app timeout, and prints one row per app: the
language and framework (from ``containerkit analyze --json``), the outcome, the recovery attempts and
the time. Then the totals and the rate that matters: works among the apps buildable here.

Outcomes:

- ``works``: status ``succeeded`` and verify passed (answered, stayed up, or exited 0 as a job);
- ``needs_config``: the run stopped asking for configuration a program cannot guess;
- ``failed:<category>``: the category the orchestrator named last (``buildsec failed (no_answer)``), else
  the last recovery attempt's cause, else the last error's code;
- ``not_buildable``: the runtime's base image is not available here (``base_image_missing``,
  ``CK203``), counted apart from the failures;
- ``CK999``: an internal error, flagged whatever else happened;
- ``UNVERIFIED``: status ``succeeded`` without a passed verify (must never happen), flagged;
  ``works`` without an HTTP answer is flagged ``no-http-answer`` (verify judged it a worker: it stayed up) or
  ``job-exit-0`` (a one-shot job that exited 0): worth a look when the app is a web app;
- ``timeout`` / ``crashed``: no result within the time allowed / no JSON result at all.

The folders given are never written to: each app is copied (without ``node_modules`` and ``.git``)
into a temporary folder, removed afterwards unless ``--keep DIR`` is given; the image built for it is
removed unless ``--keep-images``.

    python benchmarks/corpus.py APP_DIR... [--timeout S] [--json OUT] [--each PARENT]...
                                [--python PY] [--keep DIR] [--keep-images] [--env KEY=VALUE]... [--label L]
    python benchmarks/corpus.py --from-json OUT [--from-json OUT2]...   # the table again, runs merged
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

SKIP = {"node_modules", ".git"}
NOT_BUILDABLE_CAUSES = {"base_image_missing"}
NOT_BUILDABLE_CODES = {"CK203"}


@dataclass
class AppResult:
    app: str
    path: str
    language: str = "?"
    framework: str = ""
    outcome: str = "?"
    category: str = ""
    status: str = ""
    attempts: int = 0
    seconds: float = 0.0
    session_id: str = ""
    flags: list[str] = field(default_factory=list)
    errors: list[dict[str, str]] = field(default_factory=list)
    recovery: list[dict[str, Any]] = field(default_factory=list)
    verify: dict[str, Any] = field(default_factory=dict)
    needs: list[Any] = field(default_factory=list)
    dockerfile: str = ""
    stderr_tail: str = ""
    label: str = ""
    """What ran (``--label``, e.g. containerkit's commit): results of several runs can be merged."""


def _copy(src: Path, dst: Path) -> None:
    shutil.copytree(src, dst, symlinks=True, ignore=lambda _d, names: [n for n in names if n in SKIP])


def _last_json(stdout: str) -> dict[str, Any] | None:
    text = stdout.strip()
    for start in [0, *(m.start() + 1 for m in re.finditer(r"\n\{", text))][::-1]:
        try:
            value = json.loads(text[start:])
        except ValueError:
            continue
        if isinstance(value, dict):
            return value
    return None


def _ck(python: str, *args: str) -> list[str]:
    return [python, "-m", "containerkit", *args]


def _analyze(python: str, app: Path, env: dict[str, str]) -> tuple[str, str]:
    try:
        res = subprocess.run(
            _ck(python, "analyze", str(app), "--json"),
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return "?", "analyze timed out"
    out = _last_json(res.stdout)
    if not out or not out.get("modules"):
        codes = re.findall(r"CK\d{3}", res.stdout + res.stderr)
        return "?", f"analyze: {codes[-1] if codes else 'no module'}"
    mod = out["modules"][0]
    lang = str(mod.get("language") or "?")
    if mod.get("language_version"):
        lang += f" {mod['language_version']}"
    framework = str(mod.get("framework") or "")
    if len(out["modules"]) > 1:
        framework += f" (+{len(out['modules']) - 1} modules)"
    return lang, framework


def _cleanup_verify(stderr: str) -> None:
    """After a killed run: remove the verify containers of the images this run started, only those."""
    for image in set(re.findall(r"verify: starting\s+(\S+)", stderr)):
        ids = subprocess.run(
            ["docker", "ps", "-aq", "--filter", "label=containerkit-verify", "--filter", f"ancestor={image}"],
            capture_output=True,
            text=True,
            check=False,
        ).stdout.split()
        if ids:
            subprocess.run(["docker", "rm", "-f", *ids], capture_output=True, check=False)


def _remove_image(image_id: str) -> None:
    if image_id and shutil.which("docker"):
        subprocess.run(["docker", "image", "rm", "-f", image_id], capture_output=True, check=False)


def _extract(r: AppResult, out: dict[str, Any]) -> None:
    r.status = str(out.get("status") or "")
    r.session_id = str(out.get("session_id") or "")
    r.errors = [
        {"stage": str(e.get("stage", "")), "code": str(e.get("code", "")), "message": str(e.get("message", ""))[:500]}
        for e in out.get("errors") or []
    ]
    r.recovery = [
        {k: a.get(k) for k in ("number", "failed_stage", "code", "cause", "action", "detail", "evidence", "outcome")}
        for a in out.get("recovery") or []
    ]
    r.attempts = len(r.recovery)
    r.verify = {k: v for k, v in (out.get("verify") or {}).items() if k != "image_id"}
    r.needs = list(out.get("needs") or [])
    r.dockerfile = str(out.get("dockerfile") or "")


def classify(r: AppResult) -> None:
    """The outcome from what the run reported (also re-applied to saved results by ``--from-json``)."""
    if r.outcome in {"timeout", "crashed"}:
        return
    r.flags = [f for f in r.flags if f not in {"CK999", "succeeded-without-verify", "no-http-answer", "job-exit-0"}]
    r.category = ""
    codes = [e["code"] for e in r.errors]
    causes = [str(a.get("cause")) for a in r.recovery if a.get("cause")]
    # the orchestrator's last word names the category even when no attempt was made: "buildsec failed (no_answer)"
    stated = [m.group(1) for e in r.errors for m in [re.search(r"failed \((\w+)\)", e["message"])] if m]
    if "CK999" in codes:
        r.flags.append("CK999")
    if r.status == "succeeded":
        if r.verify.get("passed"):
            r.outcome = "works"
            if not r.verify.get("answered"):  # judged a worker (stayed up) or a job (exited 0): not a server?
                r.flags.append("no-http-answer" if r.verify.get("exit_code") is None else "job-exit-0")
        else:
            r.outcome = "UNVERIFIED"
            r.flags.append("succeeded-without-verify")
        return
    if r.status == "needs_config":
        r.outcome = "needs_config"
        return
    last = stated[-1] if stated else causes[-1] if causes else None
    if last in NOT_BUILDABLE_CAUSES or NOT_BUILDABLE_CODES & set(codes):
        r.outcome, r.category = "not_buildable", last or "CK203"
        return
    r.category = last or (codes[-1] if codes else r.status or "unknown")
    r.outcome = "CK999" if "CK999" in codes else f"failed:{r.category}"


def run_app(app: Path, *, python: str, timeout: float, work: Path, keep_images: bool, extra: list[str]) -> AppResult:
    r = AppResult(app=app.name, path=str(app))
    env = {**os.environ, "CONTAINERKIT_PULL_POLICY": os.environ.get("CONTAINERKIT_PULL_POLICY", "never")}
    env["COLUMNS"] = "500"  # progress lines unwrapped: the cleanup after a timeout reads them
    copy = work / app.name
    if copy.exists():
        shutil.rmtree(copy)
    _copy(app, copy)
    t0 = time.perf_counter()
    r.language, r.framework = _analyze(python, copy, env)
    proc = subprocess.Popen(
        _ck(python, "run", str(copy), "--json", "--no-scan", *extra),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        start_new_session=True,
    )
    try:
        stdout, stderr = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        stdout, stderr = proc.communicate()
        _cleanup_verify(stderr)
        r.seconds = round(time.perf_counter() - t0, 1)
        r.outcome, r.category, r.stderr_tail = "timeout", "timeout", stderr[-1500:]
        sid = re.search(r"session[ :]+([0-9a-f]{12})", stderr)
        r.session_id = sid.group(1) if sid else ""
        return r
    r.seconds = round(time.perf_counter() - t0, 1)
    r.stderr_tail = stderr[-1500:]
    out = _last_json(stdout)
    if out is None:
        r.outcome, r.category = "crashed", f"exit {proc.returncode}"
        if "CK999" in stdout + stderr:
            r.outcome = "CK999"
            r.flags.append("CK999")
        return r
    _extract(r, out)
    classify(r)
    if not keep_images:
        _remove_image(str(out.get("image_id") or ""))
    return r


def _table(rows: list[list[str]]) -> str:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def report(results: list[AppResult]) -> str:
    rows = [["app", "language", "framework", "outcome", "attempts", "time", "flags"]]
    for r in results:
        rows.append(
            [r.app, r.language, r.framework, r.outcome, str(r.attempts), f"{r.seconds:.0f}s", ",".join(r.flags)]
        )
    lines = [_table(rows), ""]
    total = len(results)
    works = sum(r.outcome == "works" for r in results)
    needs = sum(r.outcome == "needs_config" for r in results)
    not_buildable = sum(r.outcome == "not_buildable" for r in results)
    failed = Counter(r.category for r in results if r.outcome not in {"works", "needs_config", "not_buildable"})
    buildable = total - not_buildable
    lines.append(f"apps: {total}")
    lines.append(f"works: {works}")
    lines.append(f"needs_config: {needs}")
    lines.append(f"not buildable here (base image missing): {not_buildable}")
    lines.append(f"failed: {sum(failed.values())}")
    for cat, n in failed.most_common():
        lines.append(f"  {cat}: {n}")
    ck999 = sum("CK999" in r.flags for r in results)
    unverified = sum("succeeded-without-verify" in r.flags for r in results)
    lines.append(f"CK999 (internal error): {ck999}")
    lines.append(f"succeeded without a passed verify: {unverified}")
    quiet = [r.app for r in results if {"no-http-answer", "job-exit-0"} & set(r.flags)]
    lines.append(
        f"works without an HTTP answer (judged a worker or a job): {len(quiet)}"
        + (f" ({', '.join(quiet)})" if quiet else "")
    )
    rate = f"{works / buildable:.0%}" if buildable else "n/a"
    lines.append(f"works among buildable: {works}/{buildable} = {rate}")
    finished = buildable - sum(r.outcome == "timeout" for r in results)
    if finished != buildable and finished:
        lines.append(
            f"works among buildable that finished within the timeout: {works}/{finished} = {works / finished:.0%}"
        )
    lines.append(f"total time: {sum(r.seconds for r in results):.0f}s")
    return "\n".join(lines)


def _apps(dirs: list[str], parents: list[str]) -> list[Path]:
    apps = [Path(d).resolve() for d in dirs]
    for p in parents:
        apps += sorted(c.resolve() for c in Path(p).iterdir() if c.is_dir() and c.name not in SKIP)
    missing = [str(a) for a in apps if not a.is_dir()]
    if missing:
        raise SystemExit(f"not a folder: {', '.join(missing)}")
    return apps


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("dirs", nargs="*", metavar="APP_DIR", help="one app folder each")
    ap.add_argument("--each", action="append", default=[], metavar="PARENT", help="every subfolder is an app")
    ap.add_argument("--timeout", type=float, default=240.0, help="seconds per app (default 240)")
    ap.add_argument("--json", dest="json_out", metavar="OUT", help="write every result here as JSON")
    ap.add_argument("--python", default=sys.executable, help="the interpreter that has containerkit")
    ap.add_argument("--keep", metavar="DIR", help="keep each app's copy (and its Dockerfile) under DIR")
    ap.add_argument("--keep-images", action="store_true", help="do not remove the images built")
    ap.add_argument("--env", action="append", default=[], metavar="KEY=VALUE", help="passed to every run")
    ap.add_argument("--label", default="", help="stored with each result (e.g. the containerkit commit)")
    ap.add_argument(
        "--from-json",
        action="append",
        metavar="IN",
        help="run nothing: print the table of results saved with --json (several: merged, the later wins per app)",
    )
    args = ap.parse_args(argv)
    if args.from_json:
        merged = {x["app"]: x for f in args.from_json for x in json.loads(Path(f).read_text())}
        saved = [AppResult(**x) for x in merged.values()]
        for r in saved:
            classify(r)
        print(report(saved))
        return 0
    apps = _apps(args.dirs, args.each)
    if not apps:
        ap.error("no app folder given")
    names = Counter(a.name for a in apps)
    if dup := [n for n, c in names.items() if c > 1]:
        ap.error(f"two apps share a folder name: {', '.join(dup)}")
    extra = [x for kv in args.env for x in ("--env", kv)]
    results: list[AppResult] = []
    with tempfile.TemporaryDirectory(prefix="ck-corpus-") as tmp:
        work = Path(args.keep).resolve() if args.keep else Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        for i, app in enumerate(apps, 1):
            print(f"[{i}/{len(apps)}] {app.name} ...", file=sys.stderr, flush=True)
            r = run_app(
                app, python=args.python, timeout=args.timeout, work=work, keep_images=args.keep_images, extra=extra
            )
            r.label = args.label
            print(f"[{i}/{len(apps)}] {app.name}: {r.outcome} in {r.seconds:.0f}s", file=sys.stderr, flush=True)
            results.append(r)
            if args.json_out:  # written after every app: a long run interrupted keeps what it has
                Path(args.json_out).write_text(json.dumps([asdict(x) for x in results], indent=1) + "\n")
            if not args.keep:
                shutil.rmtree(work / app.name, ignore_errors=True)
    print(report(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
