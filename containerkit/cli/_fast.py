"""``containerkit --help`` without loading typer, rich or pydantic: the command list as data.

Building typer's command tree and its help costs more than the whole budget of a help screen, so the
top-level help is printed from this table; ``tests/unit/test_cli_fast.py`` keeps it equal to what
typer registers (names and first lines), so it cannot drift. Every other invocation goes to typer.
"""

from __future__ import annotations

import shutil
import textwrap
from typing import IO

__all__ = ["ABOUT", "COMMANDS", "print_help", "wants_top_help"]

ABOUT = "Carry a source repository to a running container: analyze, Dockerfile, build, scan, push, deploy."
COMMANDS: tuple[tuple[str, str], ...] = (
    ("analyze", "Detect the deployable modules of a repository and what each needs to run."),
    ("dockerfile", "Generate a Dockerfile for the repository (printed, or written with --write)."),
    ("run", "Analyze, write a Dockerfile, build, verify, scan, push, write manifests (and deploy): one session."),
    (
        "resume",
        "Continue a session from its last checkpoint (finished stages are not redone); a failed one is retried.",
    ),
    ("deploy", "Apply a session's manifests to the cluster (KUBECONFIG), wait for the rollout, check it answers."),
    ("undeploy", "Delete what the session applied to the cluster: only objects containerkit still manages."),
    ("sessions", "List and inspect saved sessions."),
    ("lint", "Lint a Dockerfile with hadolint-compatible rules (DLxxxx) and containerkit's own (CKxxxx)."),
    ("scan", "Lint, SBOM, vulnerabilities, secrets, compliance and policy of an image, as one verdict."),
    ("sbom", "Software bill of materials of an image, without running it."),
    ("pull", "Pull an image onto the engine (time limit: 10 min per attempt by default)."),
    ("tag", "Give a local image another name (time limit: 2 min by default)."),
    ("push", "Push an image to a registry and check the digest it serves (time limit: 15 min per attempt by default)."),
    ("db", "Manage the local vulnerability database (OSV advisories)."),
    ("mcp", "Serve containerkit's tools, session resources and a prompt over the Model Context Protocol."),
    ("metrics", "Prometheus metrics of the session store."),
    ("warm", "Keep containerkit loaded for fast reruns: later `run`s of this home fork from it (a run starts one)."),
)
OPTIONS: tuple[tuple[str, str], ...] = (
    ("--debug", "Show tracebacks for unexpected errors."),
    ("--help", "Show this message and exit."),
)


def wants_top_help(argv: list[str]) -> bool:
    """``containerkit --help`` (the root's own help, not a command's)."""
    return argv == ["--help"]


def _rows(rows: tuple[tuple[str, str], ...], width: int) -> list[str]:
    name_w = max(len(n) for n, _ in rows)
    out = []
    for name, text in rows:
        lines = textwrap.wrap(text, max(20, width - name_w - 4)) or [""]
        out.append(f"  {name.ljust(name_w)}  {lines[0]}")
        out += [" " * (name_w + 4) + line for line in lines[1:]]
    return out


def print_help(stream: IO[str]) -> None:
    width = min(shutil.get_terminal_size((80, 24)).columns, 100)
    lines = [
        "Usage: containerkit [OPTIONS] COMMAND [ARGS]...",
        "",
        *textwrap.wrap(ABOUT, width - 2, initial_indent="  ", subsequent_indent="  "),
        "",
        "Options:",
        *_rows(OPTIONS, width),
        "",
        "Commands:",
        *_rows(COMMANDS, width),
        "",
        "Run `containerkit COMMAND --help` for a command's options.",
    ]
    print("\n".join(lines), file=stream)
