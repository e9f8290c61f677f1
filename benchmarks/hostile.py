"""Hostile input sweep: hundreds of bad but ordinary inputs across every subcommand, each a subprocess.

Every case runs ``containerkit ...`` in its own sandbox (a work folder the user points at, an
``outside`` folder with a victim file it must never change, its own CONTAINERKIT_HOME) with a
timeout, and is classified as one of:

- hang        the timeout fired (a FIFO opened for reading, a lock waited on forever)
- traceback   a Python traceback reached the user
- CK999       an internal error (exit 70) came out of a user's bad input
- injection   a generated Dockerfile holds other instructions than the benign one of the same repo
- outside     a file outside where the user pointed was written (or an input was replaced)
- clean       a typed error with a hint, or a correct result

    python benchmarks/hostile.py [--jobs 2] [--timeout 30] [--only SUBSTRING] [--list] [--verbose]

Cases that need a read-only or a full disk mount small tmpfs folders when run as root (skipped
otherwise); cases that need an image tag ``busybox:1.35`` as ``ck-hostile-sweep:1`` (skipped when
absent). Not a pass/fail test: it prints the counts (and the failing cases).
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import shutil
import signal
import sqlite3
import stat
import subprocess
import sys
import tempfile
import time
import zipfile
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

from containerkit.errors import ContainerKitError
from containerkit.tools.lint.parser import parse_dockerfile

CK = [sys.executable, "-m", "containerkit"]
IMAGE = "ck-hostile-sweep:1"
MARK = "INJECTED"

Setup = Callable[[Path], None]


@dataclass
class Case:
    name: str
    argv: list[str]
    """Arguments after ``containerkit``; ``{W}`` is the work folder, ``{O}`` the outside one, ``{H}`` the home."""
    setup: Setup | None = None
    env: dict[str, str] = field(default_factory=dict)
    protect: list[str] = field(default_factory=list)
    """Sandbox-relative files the command must leave as they are (its inputs)."""
    dockerfile: str | None = None
    """Where a generated Dockerfile appears: "stdout" or a sandbox-relative path; checked for injection."""
    baseline: str | None = None
    """The benign repository template whose Dockerfile the generated one must match (instruction keywords)."""
    needs: str | None = None
    """"image", "ro" or "full": skipped when that is not available."""


@dataclass
class Outcome:
    case: Case
    kind: str
    rc: int | None
    detail: str = ""
    seconds: float = 0.0


# -- sandbox helpers ------------------------------------------------------------------------------


def w(rel: str, text: str | bytes) -> Setup:
    """Write a file below the sandbox."""

    def do(root: Path) -> None:
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(text, bytes):
            p.write_bytes(text)
        else:
            p.write_text(text, encoding="utf-8")

    return do


def both(*steps: Setup | None) -> Setup:
    def do(root: Path) -> None:
        for s in steps:
            if s is not None:
                s(root)

    return do


def fifo(rel: str) -> Setup:
    def do(root: Path) -> None:
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        os.mkfifo(p)

    return do


def link(rel: str, target: str) -> Setup:
    """A symlink at ``rel`` to ``target`` (``{O}``/``{W}`` expanded, else as given)."""

    def do(root: Path) -> None:
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.symlink_to(_expand(target, root))

    return do


def mkdir(rel: str) -> Setup:
    return lambda root: (root / rel).mkdir(parents=True, exist_ok=True)


def sqlite_file(rel: str, tables: str) -> Setup:
    def do(root: Path) -> None:
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(p)
        conn.executescript(tables)
        conn.commit()
        conn.close()

    return do


def zip_file(rel: str, members: dict[str, bytes]) -> Setup:
    def do(root: Path) -> None:
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(p, "w") as zf:
            for name, data in members.items():
                zf.writestr(name, data)

    return do


def _expand(s: str, root: Path) -> str:
    return s.replace("{W}", str(root / "work")).replace("{O}", str(root / "outside")).replace("{H}", str(root / "home"))


# -- repository templates -------------------------------------------------------------------------

NODE_SERVER = (
    "const http = require('http');\nhttp.createServer((q, r) => r.end('ok')).listen(process.env.PORT || 3000);\n"
)
PY_APP = "from http.server import HTTPServer, BaseHTTPRequestHandler\nHTTPServer(('0.0.0.0', 8000), BaseHTTPRequestHandler).serve_forever()\n"


def node_repo(pkg: dict[str, object] | str, folder: str = "work/repo") -> Setup:
    body = pkg if isinstance(pkg, str) else json.dumps(pkg)
    return both(w(f"{folder}/package.json", body), w(f"{folder}/server.js", NODE_SERVER))


def py_repo(
    pyproject: str | None = None, folder: str = "work/repo", requirements: str | None = "flask==3.0.0\n"
) -> Setup:
    steps: list[Setup | None] = [w(f"{folder}/app.py", PY_APP)]
    if pyproject is not None:
        steps.append(w(f"{folder}/pyproject.toml", pyproject))
    if requirements is not None:
        steps.append(w(f"{folder}/requirements.txt", requirements))
    return both(*steps)


BENIGN_NODE = {"name": "shop", "version": "1.0.0", "main": "server.js", "scripts": {"start": "node server.js"}}
BASELINES: dict[str, Setup] = {
    "node": node_repo(BENIGN_NODE),
    "node-build": node_repo({**BENIGN_NODE, "scripts": {"start": "node server.js", "build": "tsc"}}),
    "python": py_repo(),
    "python-pyproject": py_repo(
        '[project]\nname = "shop"\nversion = "1"\ndependencies = ["flask"]\n', requirements=None
    ),
}

# payloads a repository might carry into generated text
PAYLOADS = [
    f"x\nRUN echo {MARK}",
    f"x\r\nRUN echo {MARK}",
    f"x\rRUN echo {MARK}",
    f"x\\\nRUN echo {MARK}",
    "x\\",
    f"x\u2028RUN echo {MARK}",
    f"x\x85RUN echo {MARK}",
    f"x\x0bRUN echo {MARK}",
    "x <<EOF",
    f'a" && echo {MARK} && "',
    "$(touch /tmp/pwned)",
    "`id`",
    f"# escape=`\nRUN echo {MARK}",
    "x" * 5000,
    "\x00nul",
    "\u202eevil",  # right-to-left override
]


# -- the cases ------------------------------------------------------------------------------------


def lint_cases() -> list[Case]:
    df = "FROM alpine:3.19\nRUN echo hi\nUSER 1000\n"
    base = w("work/Dockerfile", df)
    cases = [
        Case("lint: missing file", ["lint", "{W}/nope"]),
        Case("lint: folder without Dockerfile", ["lint", "{W}"], mkdir("work/empty")),
        Case("lint: FIFO", ["lint", "{W}/fifo"], fifo("work/fifo")),
        Case("lint: folder whose Dockerfile is a FIFO", ["lint", "{W}/d"], fifo("work/d/Dockerfile")),
        Case("lint: /dev/null", ["lint", "/dev/null"]),
        Case("lint: /dev/zero", ["lint", "/dev/zero"]),
        Case("lint: /dev/urandom", ["lint", "/dev/urandom"]),
        Case("lint: binary file", ["lint", "{W}/bin"], w("work/bin", b"\x7fELF\x00\x01\x02" * 100)),
        Case("lint: latin-1 file", ["lint", "{W}/l1"], w("work/l1", "FROM alpine:3\nLABEL a=é\n".encode("latin-1"))),
        Case("lint: empty file", ["lint", "{W}/e"], w("work/e", "")),
        Case("lint: only comments", ["lint", "{W}/c"], w("work/c", "# nothing\n# here\n")),
        Case("lint: 20 MB file", ["lint", "{W}/big"], w("work/big", "FROM a:1\n" + "RUN x\n" * 3_500_000)),
        Case(
            "lint: 100k continuation lines",
            ["lint", "{W}/cont"],
            w("work/cont", "FROM a:1\nRUN x \\\n" + " y \\\n" * 100_000 + " z\n"),
        ),
        Case("lint: 50k heredocs", ["lint", "{W}/hd"], w("work/hd", "FROM a:1\n" + "RUN <<EOF\nx\nEOF\n" * 50_000)),
        Case("lint: unterminated heredoc", ["lint", "{W}/uh"], w("work/uh", "FROM a:1\nRUN <<EOF\necho\n")),
        Case(
            "lint: invalid escape directive",
            ["lint", "{W}/esc", "--fail-on", "error"],
            w("work/esc", "# escape=x\n" + df),
        ),
        Case("lint: backtick escape", ["lint", "{W}/esc2"], w("work/esc2", "# escape=`\nFROM a:1\nRUN a `\n b\n")),
        Case("lint: path too long", ["lint", "/tmp/" + "a" * 5000]),
        Case("lint: path component too long", ["lint", "/tmp/" + "a" * 300 + "/Dockerfile"]),
        Case("lint: path with newline", ["lint", "{W}/a\nb"], w("work/a\nb", df)),
        Case(
            "lint: symlink loop",
            ["lint", "{W}/loop"],
            both(link("work/loop", "{W}/loop2"), link("work/loop2", "{W}/loop")),
        ),
        Case("lint: dangling symlink", ["lint", "{W}/dangle"], link("work/dangle", "{W}/missing")),
        Case("lint: bad --format", ["lint", "{W}/Dockerfile", "-f", "xml"], base),
        Case("lint: bad --fail-on", ["lint", "{W}/Dockerfile", "--fail-on", "catastrophic"], base),
        Case("lint: weird --ignore", ["lint", "{W}/Dockerfile", "--ignore", ",,,\n"], base),
        Case("lint: unknown instruction", ["lint", "{W}/u"], w("work/u", "FROM a:1\nFOO bar\n")),
        Case(
            "lint: JSON-looking CMD garbage",
            ["lint", "{W}/j"],
            w("work/j", 'FROM a:1\nCMD ["a", 1, {"x": [[[[1]]]]}]\n'),
        ),
        Case(
            "lint: deep JSON CMD",
            ["lint", "{W}/dj"],
            w("work/dj", "FROM a:1\nCMD " + "[" * 100_000 + "]" * 100_000 + "\n"),
        ),
        Case("lint: 10k-digit EXPOSE", ["lint", "{W}/ex"], w("work/ex", "FROM a:1\nEXPOSE " + "9" * 10_000 + "\n")),
        Case("lint: huge USER uid", ["lint", "{W}/uid"], w("work/uid", "FROM a:1\nUSER " + "1" * 10_000 + "\n")),
        Case("lint: weird FROM", ["lint", "{W}/wf"], w("work/wf", "FROM\nFROM --platform=\nFROM a AS\n")),
        Case("lint: trusted registry empty", ["lint", "{W}/Dockerfile", "--trusted-registry", ""], base),
        Case(
            "lint: --fix on a file linking outside",
            ["lint", "{W}/lnk", "--fix"],
            both(w("outside/Dockerfile", "FROM a:1\nRUN apt-get install -y x=1\n"), link("work/lnk", "{O}/Dockerfile")),
        ),
        Case("lint: --fix on a FIFO", ["lint", "{W}/fifo", "--fix"], fifo("work/fifo")),
        Case(
            "lint: --fix --diff",
            ["lint", "{W}/fx", "--fix", "--diff"],
            w("work/fx", "FROM a:1\nRUN apt-get install x=1\n"),
        ),
        Case("lint: BOM file --fix", ["lint", "{W}/bom", "--fix"], w("work/bom", b"\xef\xbb\xbfFROM a:1\nADD x /y\n")),
    ]
    outputs = [
        ("the input itself", "{W}/Dockerfile"),
        ("a missing folder", "{W}/nodir/out.txt"),
        ("a folder", "{W}"),
        ("/dev/full", "/dev/full"),
        ("/dev/null", "/dev/null"),
        ("a FIFO", "{W}/outfifo"),
        ("a symlink outside", "{W}/outlink"),
        ("a symlink to the input", "{W}/inlink"),
        ("a dangling symlink outside", "{W}/dangling"),
        ("a path too long", "/tmp/" + "b" * 5000),
        ("an empty name", ""),
        ("a file in a file", "{W}/Dockerfile/x"),
        ("a read-only disk", "{RO}/out.txt"),
        ("a full disk", "{FULL}/out.txt"),
        ("a new file", "{W}/report.out"),
    ]
    extra = both(
        base,
        fifo("work/outfifo"),
        w("outside/victim.txt", "victim\n"),
        link("work/outlink", "{O}/victim.txt"),
        link("work/inlink", "{W}/Dockerfile"),
        link("work/dangling", "{O}/new.txt"),
    )
    for fmt in ("table", "json", "sarif"):
        for label, target in outputs if fmt != "sarif" else outputs[:4]:
            needs = "ro" if "{RO}" in target else "full" if "{FULL}" in target else None
            cases.append(
                Case(
                    f"lint -f {fmt} --output {label}",
                    ["lint", "{W}/Dockerfile", "-f", fmt, "--output", target],
                    extra,
                    protect=["work/Dockerfile"],
                    needs=needs,
                )
            )
    return cases


def scan_cases() -> list[Case]:
    cases = [
        Case(f"scan: image {ref!r}", ["scan", ref, "--no-external"])
        for ref in (
            "",
            " ",
            "Not A/Valid::Image",
            "x" * 300,
            "nope-missing:1",
            "alpine@sha256:zz",
            "a\nb",
            "-",
            "::",
            "UPPER:1",
        )
    ]
    cases += [
        Case(f"sbom: image {ref!r}", ["sbom", ref])
        for ref in ("", "Not A/Valid::Image", "nope-missing:1", "a\nb", "x" * 300)
    ]
    cases += [
        Case("scan: --format bad", ["scan", IMAGE, "-f", "pdf"]),
        Case("scan: --fail-on bad", ["scan", IMAGE, "--fail-on", "everything"]),
        Case("sbom: --format bad", ["sbom", IMAGE, "-f", "spdx"]),
        Case(
            "scan: --db foreign sqlite",
            ["scan", IMAGE, "--db", "{O}/app.sqlite", "--no-external"],
            sqlite_file("outside/app.sqlite", "CREATE TABLE users (name TEXT); INSERT INTO users VALUES ('a');"),
            protect=["outside/app.sqlite"],
            needs="image",
        ),
        Case(
            "scan: --db text file",
            ["scan", IMAGE, "--db", "{O}/notes.txt", "--no-external"],
            w("outside/notes.txt", "my notes\n"),
            protect=["outside/notes.txt"],
            needs="image",
        ),
        Case("scan: --db FIFO", ["scan", IMAGE, "--db", "{W}/fifo", "--no-external"], fifo("work/fifo"), needs="image"),
        Case("scan: --db folder", ["scan", IMAGE, "--db", "{W}", "--no-external"], needs="image"),
        Case("scan: --db missing folder", ["scan", IMAGE, "--db", "{W}/no/db.sqlite", "--no-external"], needs="image"),
        Case("scan: --db /dev/null", ["scan", IMAGE, "--db", "/dev/null", "--no-external"], needs="image"),
        Case(
            "scan: --dockerfile FIFO",
            ["scan", IMAGE, "--dockerfile", "{W}/fifo", "--no-external"],
            fifo("work/fifo"),
            needs="image",
        ),
        Case("scan: --dockerfile missing", ["scan", IMAGE, "--dockerfile", "{W}/nope", "--no-external"], needs="image"),
        Case(
            "scan: --dockerfile binary",
            ["scan", IMAGE, "--dockerfile", "{W}/bin", "--no-external"],
            w("work/bin", b"\x00\x01"),
            needs="image",
        ),
        Case(
            "scan: --context a file",
            ["scan", IMAGE, "--context", "{W}/f", "--no-external"],
            w("work/f", "x"),
            needs="image",
        ),
        Case("scan: --context missing", ["scan", IMAGE, "--context", "{W}/none", "--no-external"], needs="image"),
        Case(
            "scan: --context with a FIFO",
            ["scan", IMAGE, "--context", "{W}/ctx", "--no-external"],
            both(fifo("work/ctx/pipe"), w("work/ctx/a.txt", "x")),
            needs="image",
        ),
        Case(
            "scan: --context with a link outside",
            ["scan", IMAGE, "--context", "{W}/ctx", "--no-external"],
            both(w("outside/secret.env", "AWS_SECRET_ACCESS_KEY=abc\n"), link("work/ctx/s.env", "{O}/secret.env")),
            needs="image",
        ),
        Case("scan: --policy missing", ["scan", IMAGE, "--policy", "{W}/none.rego", "--no-external"], needs="image"),
        Case(
            "scan: --policy FIFO",
            ["scan", IMAGE, "--policy", "{W}/p.rego", "--no-external"],
            fifo("work/p.rego"),
            needs="image",
        ),
        Case(
            "scan: --policy garbage",
            ["scan", IMAGE, "--policy", "{W}/p.rego", "--no-external"],
            w("work/p.rego", "package x\n{{{{"),
            needs="image",
        ),
        Case(
            "scan: --policy binary",
            ["scan", IMAGE, "--policy", "{W}/p.rego", "--no-external"],
            w("work/p.rego", b"\x00\xff" * 100),
            needs="image",
        ),
        Case(
            "scan: --policy deep",
            ["scan", IMAGE, "--policy", "{W}/p.rego", "--no-external"],
            w("work/p.rego", "package ck\nx := " + "[" * 5000 + "]" * 5000 + "\n"),
            needs="image",
        ),
        Case(
            "scan: --allowed-registry empty", ["scan", IMAGE, "--allowed-registry", "", "--no-external"], needs="image"
        ),
        Case("scan: DOCKER_HOST garbage", ["scan", "a:1", "--no-external"], env={"DOCKER_HOST": "garbage://x"}),
        Case(
            "scan: DOCKER_HOST bad port", ["scan", "a:1", "--no-external"], env={"DOCKER_HOST": "tcp://127.0.0.1:99999"}
        ),
        Case(
            "scan: DOCKER_HOST missing socket",
            ["scan", "a:1", "--no-external"],
            env={"DOCKER_HOST": "unix:///nonexistent.sock"},
        ),
        Case("sbom: DOCKER_HOST garbage", ["sbom", "a:1"], env={"DOCKER_HOST": "garbage://x"}),
        Case("sbom: DOCKER_HOST closed port", ["sbom", "a:1"], env={"DOCKER_HOST": "tcp://127.0.0.1:1"}),
    ]
    outputs = [
        ("a missing folder", "{W}/nodir/out"),
        ("a folder", "{W}"),
        ("/dev/full", "/dev/full"),
        ("a FIFO", "{W}/outfifo"),
        ("a symlink outside", "{W}/outlink"),
        ("a read-only disk", "{RO}/out"),
        ("a full disk", "{FULL}/out"),
        ("a new file", "{W}/out.json"),
    ]
    extra = both(fifo("work/outfifo"), w("outside/victim.txt", "victim\n"), link("work/outlink", "{O}/victim.txt"))
    for label, target in outputs:
        needs = "ro" if "{RO}" in target else "full" if "{FULL}" in target else "image"
        for fmt in (
            ("json", "table", "sarif", "cyclonedx", "markdown") if label in ("a folder", "a new file") else ("json",)
        ):
            cases.append(
                Case(
                    f"scan -f {fmt} --output {label}",
                    ["scan", IMAGE, "-f", fmt, "-o", target, "--no-external"],
                    extra,
                    needs=needs,
                )
            )
        for fmt in ("cyclonedx", "json"):
            cases.append(
                Case(f"sbom -f {fmt} --output {label}", ["sbom", IMAGE, "-f", fmt, "-o", target], extra, needs=needs)
            )
    cases.append(
        Case(
            "scan --output the --dockerfile",
            ["scan", IMAGE, "--dockerfile", "{W}/Dockerfile", "-f", "json", "-o", "{W}/Dockerfile", "--no-external"],
            w("work/Dockerfile", "FROM busybox:1.35\n"),
            protect=["work/Dockerfile"],
            needs="image",
        )
    )
    return cases


def osv(id_: str, **extra: object) -> bytes:
    rec = {"id": id_, "modified": "2024-01-01T00:00:00Z", "affected": [{"package": {"ecosystem": "PyPI", "name": "x"}}]}
    rec.update(extra)
    return json.dumps(rec).encode()


def db_cases() -> list[Case]:
    imports: list[tuple[str, Setup | None, str]] = [
        ("missing", None, "{W}/none.json"),
        ("FIFO", fifo("work/f.json"), "{W}/f.json"),
        ("/dev/zero", None, "/dev/zero"),
        ("/dev/null", None, "/dev/null"),
        ("folder with a FIFO", both(fifo("work/d/a.json"), w("work/d/b.json", osv("B-1"))), "{W}/d"),
        ("empty file", w("work/e.json", ""), "{W}/e.json"),
        ("not JSON", w("work/n.json", "hello"), "{W}/n.json"),
        ("100k-deep JSON", w("work/deep.json", "[" * 100_000 + "]" * 100_000), "{W}/deep.json"),
        ("100k-deep objects", w("work/deepo.json", '{"a":' * 100_000 + "1" + "}" * 100_000), "{W}/deepo.json"),
        (
            "10,000-digit number",
            w("work/num.json", '{"id": "X", "modified": "2024", "n": ' + "9" * 10_000 + "}"),
            "{W}/num.json",
        ),
        ("wrong types", w("work/wt.json", '{"id": 5, "modified": [], "affected": "x"}'), "{W}/wt.json"),
        ("list of junk", w("work/lj.json", '[1, null, "x", []]'), "{W}/lj.json"),
        ("a string", w("work/s.json", '"just a string"'), "{W}/s.json"),
        ("NaN", w("work/nan.json", '{"id": "X", "modified": NaN}'), "{W}/nan.json"),
        ("lone surrogate", w("work/sur.json", '{"id": "\\ud800", "modified": "2024"}'), "{W}/sur.json"),
        ("latin-1 bytes", w("work/l1.json", b'{"id": "\xe9"}'), "{W}/l1.json"),
        ("bad zip", w("work/b.zip", b"PK\x03\x04garbage"), "{W}/b.zip"),
        ("zip with deep member", zip_file("work/z.zip", {"a.json": b"[" * 100_000}), "{W}/z.zip"),
        (
            "zip with a huge number",
            zip_file("work/z2.zip", {"a.json": b'{"id":"X","modified":"2024","n":' + b"9" * 10_000 + b"}"}),
            "{W}/z2.zip",
        ),
        ("zip with a path escape", zip_file("work/z3.zip", {"../../evil.json": osv("E-1")}), "{W}/z3.zip"),
        ("valid record", w("work/ok.json", osv("OK-1")), "{W}/ok.json"),
        ("path too long", None, "/tmp/" + "c" * 5000),
        ("symlink loop", both(link("work/l1", "{W}/l2"), link("work/l2", "{W}/l1")), "{W}/l1"),
    ]
    cases = [Case(f"db import: {label}", ["db", "import", target], setup) for label, setup, target in imports]
    cases += [
        Case(f"db import --json: {label}", ["db", "import", target, "--json"], setup)
        for label, setup, target in imports[:8]
    ]
    for url in (
        "not a url",
        "file:///etc/passwd",
        "ftp://example.com",
        "http://",
        "http://127.0.0.1:99999",
        "http://[::1",
        "javascript:alert(1)",
        "",
        "http://127.0.0.1:1",
        "https://exa mple.com",
        "\nhttp://x",
        "//host/path",
    ):
        cases.append(Case(f"db update: URL {url!r}", ["db", "update", "-e", "PyPI"], env={"CONTAINERKIT_OSV_URL": url}))
    cases += [
        Case("db update: unknown ecosystem", ["db", "update", "-e", "Nope"]),
        Case("db update: empty ecosystem", ["db", "update", "-e", ""]),
        Case(
            "db update: newline ecosystem",
            ["db", "update", "-e", "PyPI\nnpm"],
            env={"CONTAINERKIT_OSV_URL": "http://127.0.0.1:1"},
        ),
    ]
    dbs: list[tuple[str, Setup | None, str]] = [
        ("missing", None, "{W}/none.sqlite"),
        ("a text file", w("outside/t.sqlite", "text\n"), "{O}/t.sqlite"),
        ("a foreign SQLite", sqlite_file("outside/f.sqlite", "CREATE TABLE users (x);"), "{O}/f.sqlite"),
        ("a FIFO", fifo("work/f.sqlite"), "{W}/f.sqlite"),
        ("a folder", mkdir("work/dbdir"), "{W}/dbdir"),
        ("/dev/null", None, "/dev/null"),
        ("a truncated SQLite", w("outside/tr.sqlite", b"SQLite format 3\x00" + b"\x00" * 50), "{O}/tr.sqlite"),
        ("in a missing folder", None, "{W}/no/such/db.sqlite"),
        (
            "our tables, mangled",
            sqlite_file("work/m.sqlite", "CREATE TABLE advisories (x); CREATE TABLE meta (y);"),
            "{W}/m.sqlite",
        ),
    ]
    for label, setup, target in dbs:
        prot = [target.replace("{O}/", "outside/")] if target.startswith("{O}") else []
        cases.append(
            Case(
                f"db info: CONTAINERKIT_VULNDB {label}",
                ["db", "info"],
                setup,
                env={"CONTAINERKIT_VULNDB": target},
                protect=prot,
            )
        )
        cases.append(
            Case(
                f"db import: CONTAINERKIT_VULNDB {label}",
                ["db", "import", "{W}/ok.json"],
                both(setup, w("work/ok.json", osv("OK-1"))),
                env={"CONTAINERKIT_VULNDB": target},
                protect=prot,
            )
        )
    return cases


def workflow_cases() -> list[Case]:
    cases: list[Case] = []
    # metadata that would write instructions
    for i, p in enumerate(PAYLOADS):
        cases.append(
            Case(
                f"dockerfile: package.json name payload {i}",
                ["dockerfile", "{W}/repo"],
                node_repo({**BENIGN_NODE, "name": p}),
                dockerfile="stdout",
                baseline="node",
            )
        )
        cases.append(
            Case(
                f"dockerfile: package.json version payload {i}",
                ["dockerfile", "{W}/repo"],
                node_repo({**BENIGN_NODE, "version": p}),
                dockerfile="stdout",
                baseline="node",
            )
        )
        cases.append(
            Case(
                f"dockerfile: engines.node payload {i}",
                ["dockerfile", "{W}/repo"],
                node_repo({**BENIGN_NODE, "engines": {"node": p}}),
                dockerfile="stdout",
                baseline="node",
            )
        )
        cases.append(
            Case(
                f"dockerfile: main payload {i}",
                ["dockerfile", "{W}/repo"],
                node_repo({**BENIGN_NODE, "main": p, "scripts": {}}),
                dockerfile="stdout",
                baseline="node",
            )
        )
        cases.append(
            Case(
                f"dockerfile: build script payload {i}",
                ["dockerfile", "{W}/repo"],
                node_repo({**BENIGN_NODE, "scripts": {"start": "node server.js", "build": p}}),
                dockerfile="stdout",
                baseline="node-build",
            )
        )
        cases.append(
            Case(
                f"dockerfile: pyproject name payload {i}",
                ["dockerfile", "{W}/repo"],
                py_repo(
                    f'[project]\nname = {json.dumps(p)}\nversion = "1"\ndependencies = ["flask"]\n', requirements=None
                ),
                dockerfile="stdout",
                baseline="python-pyproject",
            )
        )
        cases.append(
            Case(
                f"dockerfile: --base-image payload {i}",
                ["dockerfile", "{W}/repo", "--base-image", p],
                py_repo(),
                dockerfile="stdout",
                baseline="python",
            )
        )
    for i, name in enumerate(
        ["repo\nRUN echo " + MARK, "repo\\", "re po", "repo$(id)", "repo\rRUN x", "#repo", "repo\u2028RUN x"]
    ):
        cases.append(
            Case(
                f"dockerfile: repo folder name {i}",
                ["dockerfile", f"{{W}}/{name}"],
                py_repo(folder=f"work/{name}"),
                dockerfile="stdout",
                baseline="python",
            )
        )
    cases += [
        Case(f"dockerfile: pyproject {label}", ["dockerfile", "{W}/repo"], py_repo(text, requirements=None))
        for label, text in [
            ('project = "x"', 'project = "x"\n'),
            ("dependencies = 5", '[project]\nname = "a"\ndependencies = 5\n'),
            ("scripts = []", '[project]\nname = "a"\nscripts = []\n'),
            ("requires-python = 3", '[project]\nname = "a"\nrequires-python = 3\n'),
            ("tool.poetry = 1", "[tool]\npoetry = 1\n"),
            ("poetry deps list", "[tool.poetry]\ndependencies = [1, 2]\n"),
            ("build-system = []", "build-system = []\n"),
            ("10,000-digit int", "x = " + "9" * 10_000 + "\n"),
            ("100k-deep array", "x = " + "[" * 100_000 + "]" * 100_000 + "\n"),
            ("bad syntax", "[project\nname = \n"),
            ("NUL byte", '[project]\nname = "a\x00"\n'),
            ("name is a table", "[project]\nname = {a = 1}\n"),
            ("datetime version", '[project]\nname = "a"\nrequires-python = 1979-05-27\n'),
        ]
    ]
    cases += [
        Case(f"dockerfile: package.json {label}", ["dockerfile", "{W}/repo"], node_repo(text))
        for label, text in [
            ("a list", "[]"),
            ("a string", '"x"'),
            ("scripts = []", '{"name": "a", "scripts": []}'),
            ("scripts.start = 5", '{"name": "a", "scripts": {"start": 5}}'),
            ("engines = 5", '{"name": "a", "engines": 5}'),
            ("dependencies = 5", '{"name": "a", "dependencies": 5}'),
            ("workspaces = 5", '{"name": "a", "workspaces": 5}'),
            ("workspaces objects", '{"name": "a", "workspaces": [{"x": 1}]}'),
            ("name = null", '{"name": null}'),
            ("name = []", '{"name": []}'),
            ("10,000-digit number", '{"name": "a", "v": ' + "9" * 10_000 + "}"),
            ("100k-deep", '{"a":' + "[" * 100_000 + "]" * 100_000 + "}"),
            ("bad JSON", '{"name": '),
            ("BOM", "\ufeff" + json.dumps(BENIGN_NODE)),
            ("duplicate keys", '{"name": "a", "name": "b\\nRUN x"}'),
            ("packageManager garbage", '{"name": "a", "packageManager": "pnpm@\\nRUN x"}'),
        ]
    ]
    cases += [
        Case(
            "dockerfile: package.json is a FIFO",
            ["dockerfile", "{W}/repo"],
            both(fifo("work/repo/package.json"), w("work/repo/server.js", NODE_SERVER)),
        ),
        Case(
            "dockerfile: .gitignore is a FIFO",
            ["dockerfile", "{W}/repo"],
            both(py_repo(), fifo("work/repo/.gitignore")),
        ),
        Case(
            "dockerfile: .dockerignore is a FIFO",
            ["dockerfile", "{W}/repo"],
            both(py_repo(), fifo("work/repo/.dockerignore")),
        ),
        Case(
            "dockerfile: requirements.txt links outside",
            ["dockerfile", "{W}/repo"],
            both(
                w("work/repo/app.py", PY_APP),
                w("outside/req.txt", "flask\n"),
                link("work/repo/requirements.txt", "{O}/req.txt"),
            ),
        ),
        Case(
            "dockerfile: Cargo.toml name payload",
            ["dockerfile", "{W}/repo"],
            both(
                w("work/repo/Cargo.toml", f'[package]\nname = "a\\nRUN echo {MARK}"\nversion = "0.1.0"\n'),
                w("work/repo/src/main.rs", "fn main() {}\n"),
            ),
            dockerfile="stdout",
        ),
        Case(
            "dockerfile: go.mod module payload",
            ["dockerfile", "{W}/repo"],
            both(
                w("work/repo/go.mod", "module a\\\ngo 1.22\n"), w("work/repo/main.go", "package main\nfunc main() {}\n")
            ),
            dockerfile="stdout",
        ),
        Case(
            "dockerfile: composer.json wrong types",
            ["dockerfile", "{W}/repo"],
            both(w("work/repo/composer.json", '{"require": 5, "name": []}'), w("work/repo/index.php", "<?php echo 1;")),
        ),
        Case(
            "dockerfile: Pipfile wrong types",
            ["dockerfile", "{W}/repo"],
            both(w("work/repo/Pipfile", "requires = 5\npackages = []\n"), w("work/repo/app.py", PY_APP)),
        ),
        Case(
            "dockerfile: deno.json wrong types",
            ["dockerfile", "{W}/repo"],
            both(
                w("work/repo/deno.json", '{"tasks": [], "imports": 5}'),
                w("work/repo/main.ts", "Deno.serve(() => new Response('x'))\n"),
            ),
        ),
        Case(
            "dockerfile: .python-version payload",
            ["dockerfile", "{W}/repo"],
            both(py_repo(), w("work/repo/.python-version", f"3.12\nRUN echo {MARK}\n")),
            dockerfile="stdout",
            baseline="python",
        ),
        Case(
            "dockerfile: .nvmrc payload",
            ["dockerfile", "{W}/repo"],
            both(node_repo(BENIGN_NODE), w("work/repo/.nvmrc", f"20\\\nRUN echo {MARK}\n")),
            dockerfile="stdout",
            baseline="node",
        ),
        Case(
            "dockerfile: Procfile payload",
            ["dockerfile", "{W}/repo"],
            both(py_repo(), w("work/repo/Procfile", "web: gunicorn app:app \\\n")),
            dockerfile="stdout",
            baseline="python",
        ),
        Case(
            "dockerfile: pom.xml billion laughs",
            ["dockerfile", "{W}/repo"],
            w(
                "work/repo/pom.xml",
                '<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">'
                '<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;"><!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;"><!ENTITY e "&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;">'
                '<!ENTITY f "&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;"><!ENTITY g "&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;">]><project><artifactId>&g;</artifactId></project>',
            ),
        ),
        Case(
            "dockerfile: pom.xml deep",
            ["dockerfile", "{W}/repo"],
            w("work/repo/pom.xml", "<a>" * 100_000 + "</a>" * 100_000),
        ),
        Case("dockerfile: csproj garbage", ["dockerfile", "{W}/repo"], w("work/repo/App.csproj", "<Project><<<")),
    ]
    # paths
    cases += [
        Case("analyze: missing path", ["analyze", "{W}/none"]),
        Case("analyze: a file", ["analyze", "{W}/f"], w("work/f", "x")),
        Case("analyze: a FIFO", ["analyze", "{W}/fifo"], fifo("work/fifo")),
        Case("analyze: /dev/null", ["analyze", "/dev/null"]),
        Case("analyze: path too long", ["analyze", "/tmp/" + "d" * 5000]),
        Case("analyze: empty folder", ["analyze", "{W}/empty"], mkdir("work/empty")),
        Case("analyze: empty string", ["analyze", ""]),
        Case(
            "analyze: symlink loop inside",
            ["analyze", "{W}/repo", "--json"],
            both(py_repo(), link("work/repo/loop", "{W}/repo")),
        ),
        Case("analyze: link to / inside", ["analyze", "{W}/repo"], both(py_repo(), link("work/repo/root", "/"))),
        Case(
            "analyze: wrong types --json",
            ["analyze", "{W}/repo", "--json"],
            py_repo('project = "x"\n', requirements=None),
        ),
        Case("dockerfile: --module missing", ["dockerfile", "{W}/repo", "--module", "nope"], py_repo()),
        Case("dockerfile: --module empty", ["dockerfile", "{W}/repo", "--module", ""], py_repo()),
        Case("dockerfile: --module ../..", ["dockerfile", "{W}/repo", "--module", "../.."], py_repo()),
        Case(
            "dockerfile: --base-image valid",
            ["dockerfile", "{W}/repo", "--base-image", "python:3.12-slim"],
            py_repo(),
            dockerfile="stdout",
            baseline="python",
        ),
        Case(
            "dockerfile: --base-image 'Not A/Valid::Image'",
            ["dockerfile", "{W}/repo", "--base-image", "Not A/Valid::Image"],
            py_repo(),
            dockerfile="stdout",
            baseline="python",
        ),
        Case(
            "dockerfile: --base-image bad port",
            ["dockerfile", "{W}/repo", "--base-image", "127.0.0.1:99999/py:3"],
            py_repo(),
            dockerfile="stdout",
            baseline="python",
        ),
        Case(
            "dockerfile: --base-image empty",
            ["dockerfile", "{W}/repo", "--base-image", ""],
            py_repo(),
            dockerfile="stdout",
            baseline="python",
        ),
    ]
    # --write
    cases += [
        Case(
            "dockerfile --write: Dockerfile is a folder",
            ["dockerfile", "{W}/repo", "--write"],
            both(py_repo(), mkdir("work/repo/Dockerfile/x")),
        ),
        Case(
            "dockerfile --write --force: Dockerfile is a folder",
            ["dockerfile", "{W}/repo", "--write", "--force"],
            both(py_repo(), mkdir("work/repo/Dockerfile/x")),
        ),
        Case(
            "dockerfile --write --force: Dockerfile links outside",
            ["dockerfile", "{W}/repo", "--write", "--force"],
            both(py_repo(), w("outside/victim.txt", "victim\n"), link("work/repo/Dockerfile", "{O}/victim.txt")),
        ),
        Case(
            "dockerfile --write: dangling link outside",
            ["dockerfile", "{W}/repo", "--write"],
            both(py_repo(), link("work/repo/Dockerfile", "{O}/created-by-ck")),
        ),
        Case(
            "dockerfile --write: .dockerignore links outside",
            ["dockerfile", "{W}/repo", "--write"],
            both(py_repo(), link("work/repo/.dockerignore", "{O}/ignore-created")),
        ),
        Case(
            "dockerfile --write --force: Dockerfile is a FIFO",
            ["dockerfile", "{W}/repo", "--write", "--force"],
            both(py_repo(), fifo("work/repo/Dockerfile")),
        ),
        Case("dockerfile --write: read-only repo", ["dockerfile", "{RO}/repo", "--write"], needs="ro"),
        Case("dockerfile --write: full disk", ["dockerfile", "{FULL}/repo", "--write"], needs="full"),
        Case(
            "dockerfile --write: payload name",
            ["dockerfile", "{W}/repo", "--write"],
            node_repo({**BENIGN_NODE, "name": f"x\nRUN echo {MARK}"}),
            dockerfile="work/repo/Dockerfile",
            baseline="node",
        ),
        Case(
            "dockerfile --write: the named repo is a link (written through it, nowhere else)",
            ["dockerfile", "{W}/lnk", "--write"],
            both(
                py_repo(folder="elsewhere/repo"),
                link("work/lnk", "{W}/../elsewhere/repo"),
                link("elsewhere/repo/k", "{O}"),
            ),
        ),
    ]
    # run: option validation (fails before any build)
    for label, args in [
        ("--image port out of range", ["--image", "127.0.0.1:99999/x:1"]),
        ("--image garbage", ["--image", "Not A/Valid::Image"]),
        ("--image newline", ["--image", "x:1\nRUN y"]),
        ("--image empty", ["--image", ""]),
        ("--registry empty", ["--registry", ""]),
        ("--registry spaces", ["--registry", "   "]),
        ("--registry port out of range", ["--registry", "127.0.0.1:99999"]),
        ("--registry with path", ["--registry", "127.0.0.1:5000/x/y"]),
        ("--registry newline", ["--registry", "a\nb"]),
        ("--max-fix-attempts -1", ["--max-fix-attempts", "-1"]),
        ("--max-fix-attempts 1e9", ["--max-fix-attempts", "1000000000"]),
        ("--fail-on bad", ["--fail-on", "meh"]),
        ("--policy missing", ["--policy", "{W}/none.rego", "--registry", ""]),
        ("--base-image garbage", ["--base-image", "Not A/Valid::Image", "--registry", ""]),
        ("--namespace garbage with bad registry", ["--namespace", "A B\nC", "--registry", "127.0.0.1:99999"]),
        ("--module missing with bad image", ["--module", "nope", "--image", "UPPER"]),
    ]:
        cases.append(Case(f"run: {label}", ["run", "{W}/repo", *args], py_repo()))
    cases += [
        Case("run: missing repo with bad registry", ["run", "{W}/none", "--registry", ""]),
        Case("run: repo is a FIFO", ["run", "{W}/fifo", "--image", "UPPER"], fifo("work/fifo")),
    ]
    return cases


def _checkpoint_store(rel: str, *, corrupt_one: bool = False) -> Setup:
    """A sessions.sqlite with two real sessions; with ``corrupt_one`` the newest checkpoint blob is garbage."""

    def do(root: Path) -> None:
        from containerkit.graph.sessions import SessionStore
        from containerkit.state import RunOptions, Session

        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        with SessionStore(path) as store:
            for sid in ("aaaa00000001", "bbbb00000002"):
                session = Session(session_id=sid, repo_path=str(root / "work" / "repo"), options=RunOptions())
                cfg = {"configurable": {"thread_id": sid, "checkpoint_ns": ""}}
                checkpoint = {
                    "v": 1,
                    "id": f"1ef00000-0000-6000-8000-00000000000{sid[-1]}",
                    "ts": "2026-01-01T00:00:00+00:00",
                    "channel_values": session.model_dump(),
                    "channel_versions": {},
                    "versions_seen": {},
                }
                store.saver.put(cfg, checkpoint, {"source": "input", "step": -1, "parents": {}}, {})  # type: ignore[arg-type]
        if corrupt_one:
            conn = sqlite3.connect(path)
            conn.execute("UPDATE checkpoints SET checkpoint = X'DEADBEEF00' WHERE thread_id = 'bbbb00000002'")
            conn.commit()
            conn.close()

    return do


def session_cases() -> list[Case]:
    stores: list[tuple[str, Setup | None, dict[str, str]]] = [
        ("garbage sessions.sqlite", w("home/sessions.sqlite", "garbage\n" * 100), {}),
        ("empty sessions.sqlite", w("home/sessions.sqlite", ""), {}),
        (
            "foreign sessions.sqlite",
            sqlite_file("home/sessions.sqlite", "CREATE TABLE users (x); INSERT INTO users VALUES (1);"),
            {},
        ),
        ("truncated sessions.sqlite", w("home/sessions.sqlite", b"SQLite format 3\x00" + b"\x01" * 200), {}),
        ("sessions.sqlite is a folder", mkdir("home/sessions.sqlite"), {}),
        ("sessions.sqlite is a FIFO", fifo("home/sessions.sqlite"), {}),
        ("sessions.sqlite links to /dev/null", link("home/sessions.sqlite", "/dev/null"), {}),
        (
            "sessions.sqlite links outside",
            both(w("outside/victim.txt", "victim\n"), link("home/sessions.sqlite", "{O}/victim.txt")),
            {},
        ),
        ("one corrupt checkpoint row", _checkpoint_store("home/sessions.sqlite", corrupt_one=True), {}),
        ("healthy store", _checkpoint_store("home/sessions.sqlite"), {}),
        ("CONTAINERKIT_HOME is a file", w("outside/homefile", "x"), {"CONTAINERKIT_HOME": "{O}/homefile"}),
        ("CONTAINERKIT_HOME is /dev/null", None, {"CONTAINERKIT_HOME": "/dev/null"}),
        ("CONTAINERKIT_HOME too long", None, {"CONTAINERKIT_HOME": "/tmp/" + "e" * 5000}),
        ("CONTAINERKIT_HOME read-only", None, {"CONTAINERKIT_HOME": "{RO}/home"}),
        ("CONTAINERKIT_HOME full", None, {"CONTAINERKIT_HOME": "{FULL}/home"}),
        ("CONTAINERKIT_HOME under a file", w("outside/homefile2", "x"), {"CONTAINERKIT_HOME": "{O}/homefile2/sub"}),
    ]
    cases: list[Case] = []
    for label, setup, env in stores:
        needs = "ro" if "{RO}" in str(env) else "full" if "{FULL}" in str(env) else None
        prot = ["outside/victim.txt"] if "victim" in label or "outside" in label else []
        for argv in (
            ["sessions", "list"],
            ["sessions", "list", "--json"],
            ["sessions", "show", "aaaa"],
            ["sessions", "show", ""],
            ["resume", "bbbb"],
            ["sessions", "doctor"],
            ["run", "{W}/repo", "--image", "UPPER:1"],
        ):
            cases.append(
                Case(
                    f"{' '.join(a for a in argv if '{' not in a)}: {label}",
                    list(argv),
                    both(setup, py_repo()),
                    env=dict(env),
                    protect=prot,
                    needs=needs,
                )
            )
    cases += [
        Case(
            "sessions show: empty prefix, healthy store",
            ["sessions", "show", ""],
            _checkpoint_store("home/sessions.sqlite"),
        ),
        Case("resume: empty prefix, healthy store", ["resume", ""], _checkpoint_store("home/sessions.sqlite")),
        Case("resume: whitespace prefix", ["resume", "  "], _checkpoint_store("home/sessions.sqlite")),
        Case(
            "sessions show: corrupt row shown",
            ["sessions", "show", "bbbb"],
            _checkpoint_store("home/sessions.sqlite", corrupt_one=True),
        ),
        Case(
            "sessions doctor --check: garbage", ["sessions", "doctor", "--check"], w("home/sessions.sqlite", "garbage")
        ),
    ]
    # config.toml
    for label, text in [
        ("bad syntax", "pull_policy = \n"),
        ("10,000-digit int", "x = " + "9" * 10_000 + "\n"),
        ("deep array", "x = " + "[" * 100_000 + "]" * 100_000 + "\n"),
        ("registry = 5", "registry = 5\n"),
        ("base_images = 5", "base_images = 5\n"),
        ("base_images.python = 5", "[base_images]\npython = 5\n"),
        ("base_images.python.image = 5", "[base_images.python]\nimage = 5\n"),
        (
            "base_images image payload",
            f'[base_images.python]\nimage = "python:{{version}}\\nRUN echo {MARK}"\ndefault = "3.12"\n',
        ),
        ("pull_policy = []", "pull_policy = []\n"),
        ("binary", "\x00\x01\x02"),
    ]:
        cases.append(
            Case(
                f"dockerfile: config.toml {label}",
                ["dockerfile", "{W}/repo"],
                both(py_repo(), w("home/config.toml", text)),
                dockerfile="stdout",
                baseline="python",
            )
        )
    cases += [
        Case(
            "dockerfile: config is a FIFO",
            ["dockerfile", "{W}/repo"],
            both(py_repo(), fifo("work/cfg")),
            env={"CONTAINERKIT_CONFIG": "{W}/cfg"},
        ),
        Case(
            "dockerfile: config is a folder", ["dockerfile", "{W}/repo"], py_repo(), env={"CONTAINERKIT_CONFIG": "{W}"}
        ),
        Case(
            "dockerfile: pull policy garbage",
            ["dockerfile", "{W}/repo"],
            py_repo(),
            env={"CONTAINERKIT_PULL_POLICY": "sometimes"},
        ),
        Case(
            "run: CONTAINERKIT_REGISTRY garbage",
            ["run", "{W}/repo"],
            py_repo(),
            env={"CONTAINERKIT_REGISTRY": "127.0.0.1:99999"},
        ),
    ]
    return cases


def all_cases() -> list[Case]:
    return [*lint_cases(), *scan_cases(), *db_cases(), *workflow_cases(), *session_cases()]


# -- running --------------------------------------------------------------------------------------


def _snapshot(root: Path, rels: list[str]) -> dict[str, str]:
    """Hashes of everything under outside/ and of the protected inputs (no symlink is followed)."""
    out: dict[str, str] = {}
    outside = root / "outside"
    for dirpath, _dirs, files in os.walk(outside):
        for f in files:
            out[os.path.relpath(os.path.join(dirpath, f), root)] = _hash(Path(dirpath) / f)
    for rel in rels:
        out[rel] = _hash(root / rel)
    return out


def _hash(p: Path) -> str:
    try:
        st = p.lstat()
    except OSError:
        return "absent"
    if stat.S_ISLNK(st.st_mode):
        return "link:" + os.readlink(p)
    if not stat.S_ISREG(st.st_mode):
        return f"mode:{stat.S_IFMT(st.st_mode)}"
    return hashlib.sha256(p.read_bytes()).hexdigest()


def _keywords(text: str) -> list[str]:
    return [i.keyword for i in parse_dockerfile(text).instructions]


def _baseline(key: str, cache: dict[str, list[str]]) -> list[str]:
    if key not in cache:
        from containerkit.tools.analyze import analyze_repo
        from containerkit.tools.dockerfile import generate_dockerfile, load_catalog

        with tempfile.TemporaryDirectory(prefix="ck-base-") as tmp:
            BASELINES[key](Path(tmp))
            analysis = analyze_repo(Path(tmp) / "work" / "repo")
            gen = generate_dockerfile(analysis.primary(), load_catalog(), repo_root=analysis.root)
            cache[key] = _keywords(gen.content)
    return cache[key]


@dataclass
class Mounts:
    ro: Path | None = None
    full: Path | None = None


@contextlib.contextmanager
def mounts(base: Path) -> Iterator[Mounts]:
    """A read-only tmpfs holding a python repo, and a 256 KiB tmpfs filled to the last byte (root only)."""
    m = Mounts()
    made: list[Path] = []
    if os.geteuid() == 0 and shutil.which("mount"):
        ro, full = base / "ro", base / "full"
        ro.mkdir()
        full.mkdir()
        try:
            subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "ck-ro", str(ro)], check=True, capture_output=True)
            made.append(ro)
            py_repo(folder="repo")(ro)
            (ro / "home").mkdir()
            subprocess.run(["mount", "-o", "remount,ro", str(ro)], check=True, capture_output=True)
            m.ro = ro
            subprocess.run(
                ["mount", "-t", "tmpfs", "-o", "size=256k", "ck-full", str(full)], check=True, capture_output=True
            )
            made.append(full)
            py_repo(folder="repo")(full)
            (full / "home").mkdir()
            with contextlib.suppress(OSError), open(full / "filler", "wb") as fh:
                while True:
                    fh.write(b"\0" * 4096)
                    fh.flush()
            m.full = full
        except (subprocess.CalledProcessError, OSError):
            pass
    try:
        yield m
    finally:
        for p in reversed(made):
            subprocess.run(["umount", str(p)], check=False, capture_output=True)


def run_case(case: Case, base: Path, index: int, m: Mounts, timeout: float, baselines: dict[str, list[str]]) -> Outcome:
    root = base / f"case{index:04d}"
    (root / "work").mkdir(parents=True)
    (root / "outside").mkdir()
    (root / "home").mkdir()
    (root / "outside" / "sentinel.txt").write_text("do not touch\n")
    if case.setup is not None:
        case.setup(root)

    def expand(s: str) -> str:
        s = _expand(s, root)
        return s.replace("{RO}", str(m.ro)).replace("{FULL}", str(m.full))

    argv = [expand(a) for a in case.argv]
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONTAINERKIT_")}
    env.update({"CONTAINERKIT_HOME": str(root / "home"), "CONTAINERKIT_PULL_POLICY": "never", "COLUMNS": "200"})
    env.update({k: expand(v) for k, v in case.env.items()})
    before = _snapshot(root, case.protect)
    started = time.perf_counter()
    try:
        proc = subprocess.run(
            [*CK, *argv], cwd=root / "work", env=env, capture_output=True, timeout=timeout, stdin=subprocess.DEVNULL
        )
    except ValueError as exc:  # a NUL byte cannot even be passed as an argument: the OS refuses it, not us
        return Outcome(case, "unpassable", None, str(exc), 0.0)
    except subprocess.TimeoutExpired:
        return Outcome(case, "hang", None, f"no answer in {timeout:.0f}s", time.perf_counter() - started)
    seconds = time.perf_counter() - started
    out = proc.stdout.decode("utf-8", "replace")
    err = proc.stderr.decode("utf-8", "replace")
    both_out = out + err
    if "Traceback (most recent call last)" in both_out:
        return Outcome(case, "traceback", proc.returncode, err[-400:], seconds)
    if proc.returncode == 70 or "[CK999]" in both_out:
        return Outcome(case, "CK999", proc.returncode, " ".join(err.split())[:300], seconds)
    if proc.returncode not in (0, 1, 2):
        return Outcome(case, "crash", proc.returncode, " ".join(err.split())[:300], seconds)
    if case.dockerfile is not None and proc.returncode == 0:
        text = out if case.dockerfile == "stdout" else _read(root / case.dockerfile)
        if text:
            problem = _injection(text, case, baselines)
            if problem:
                return Outcome(case, "injection", proc.returncode, problem, seconds)
    after = _snapshot(root, case.protect)
    changed = sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))
    if changed:
        return Outcome(case, "outside", proc.returncode, f"changed: {', '.join(changed)}", seconds)
    if proc.returncode == 2 and "[CK" not in err and "Usage:" not in err and "Error" not in err:
        return Outcome(case, "unexplained", proc.returncode, " ".join(err.split())[:300], seconds)
    return Outcome(case, "clean", proc.returncode, " ".join(err.split())[:160], seconds)


def _read(p: Path) -> str:
    try:
        return p.read_text("utf-8", errors="replace")
    except OSError:
        return ""


def _injection(text: str, case: Case, baselines: dict[str, list[str]]) -> str | None:
    """Why ``text`` holds other instructions than the generator meant (None when it does not)."""
    try:
        parsed = parse_dockerfile(text)
    except ContainerKitError as exc:
        return f"the generated Dockerfile does not parse: {exc.message}"
    if parsed.directives:
        return f"a parser directive: {parsed.directives}"
    for ins in parsed.instructions:
        if ins.value.startswith(f"echo {MARK}"):
            return f"an instruction from the payload at line {ins.line}: {ins.keyword} {ins.value[:60]!r}"
    if case.baseline is not None:
        want = _baseline(case.baseline, baselines)
        got = [i.keyword for i in parsed.instructions]
        if got != want:
            return f"instructions {got} != {want}"
    return None


def _interrupt(_signum: int, _frame: object) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--timeout", type=float, default=30.0)
    ap.add_argument("--only", default=None, help="Run the cases whose name holds this text.")
    ap.add_argument("--list", action="store_true", help="List the cases and exit.")
    ap.add_argument("--verbose", "-v", action="store_true", help="Print every case, not only the failing ones.")
    args = ap.parse_args(argv)
    signal.signal(signal.SIGTERM, _interrupt)  # `timeout` sends SIGTERM: still unmount and print the counts
    cases = [c for c in all_cases() if args.only is None or args.only in c.name]
    if args.list:
        for c in cases:
            print(c.name)
        print(f"{len(cases)} cases")
        return 0
    have_image = subprocess.run(["docker", "image", "inspect", IMAGE], capture_output=True, check=False).returncode == 0
    if (
        not have_image
        and subprocess.run(["docker", "tag", "busybox:1.35", IMAGE], capture_output=True, check=False).returncode == 0
    ):
        have_image = True
    baselines: dict[str, list[str]] = {}
    for key in BASELINES:
        _baseline(key, baselines)
    outcomes: list[Outcome] = []
    skipped = 0
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="ck-hostile-") as tmp, mounts(Path(tmp)) as m:
        base = Path(tmp)
        global_victim = base / "global-victim.txt"
        global_victim.write_text("never written\n")
        runnable: list[tuple[int, Case]] = []
        for i, c in enumerate(cases):
            if (
                (c.needs == "image" and not have_image)
                or (c.needs == "ro" and m.ro is None)
                or (c.needs == "full" and m.full is None)
            ):
                skipped += 1
                continue
            runnable.append((i, c))
        with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
            futures = [pool.submit(run_case, c, base, i, m, args.timeout, baselines) for i, c in runnable]
            try:
                for fut in as_completed(futures):
                    try:
                        o = fut.result()
                    except Exception as exc:  # noqa: BLE001 - a harness problem must not lose the other results
                        o = Outcome(Case("harness", []), "harness", None, repr(exc))
                    outcomes.append(o)
                    if args.verbose or o.kind != "clean":
                        print(f"{o.kind:>11}  rc={o.rc!s:>4}  {o.seconds:5.1f}s  {o.case.name}: {o.detail}", flush=True)
                    if len(outcomes) % 50 == 0:
                        print(f"... {len(outcomes)}/{len(runnable)}", file=sys.stderr, flush=True)
            except KeyboardInterrupt:
                for f in futures:
                    f.cancel()
                print(f"interrupted after {len(outcomes)} cases", file=sys.stderr)
        if global_victim.read_text() != "never written\n":
            outcomes.append(Outcome(Case("global victim", []), "outside", None, "the global victim file changed"))
        ro_intact = m.ro is None or not any(
            p.name.startswith(".") and p.name.endswith(".ck-tmp") for p in m.ro.rglob("*")
        )
    unpassable = [o for o in outcomes if o.kind == "unpassable"]
    outcomes = [o for o in outcomes if o.kind != "unpassable"]
    kinds = Counter(o.kind for o in outcomes)
    elapsed = time.perf_counter() - started
    print()
    print(
        f"cases        {len(outcomes)}  (skipped {skipped}: no image / no mount; {len(unpassable)} with a NUL byte"
        f" in an argument the OS refuses)  in {elapsed:.0f}s"
    )
    print(f"clean        {kinds['clean']}")
    print(f"CK999        {kinds['CK999']}")
    print(f"hangs        {kinds['hang']}")
    print(f"tracebacks   {kinds['traceback']}")
    print(f"injections   {kinds['injection']}")
    print(f"writes outside {kinds['outside']}")
    other = {
        k: v
        for k, v in kinds.items()
        if k not in ("clean", "CK999", "hang", "traceback", "injection", "outside", "unpassable")
    }
    if other:
        print(f"other        {other}")
    if not ro_intact:
        print("temp files left on the read-only mount")
    slow = sorted(outcomes, key=lambda o: -o.seconds)[:3]
    print("slowest      " + "; ".join(f"{o.case.name} {o.seconds:.1f}s" for o in slow))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
