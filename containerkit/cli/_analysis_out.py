"""`containerkit analyze` output, and its fast path: the most frequent command runs without typer.

``analyze PATH [--json]`` is the first thing an agent or a person runs on a repository, often in a
loop; parsing two arguments does not need typer's machinery (nor its pydantic validators). Anything
else (an option it does not know, ``--help``, an error to report) goes through the typer app, which
renders it exactly as every other command does.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import IO, TYPE_CHECKING

if TYPE_CHECKING:
    from containerkit.tools.analyze import RepoAnalysis

__all__ = ["print_analysis", "try_fast_analyze"]


def print_analysis(result: RepoAnalysis, as_json: bool, stdout: IO[str]) -> None:
    """The analysis as JSON (modules, monorepo flag, build order) or as one table row per module."""
    if as_json:
        doc = {
            "modules": [m.public_dict() for m in result.modules],
            "is_monorepo": result.is_monorepo,
            "build_order": result.build_order,
        }
        print(json.dumps(doc, indent=2, default=str), file=stdout)
        return
    from containerkit.tools.escape import single_line

    # plain columns (no rich: it would double the command's start-up); every cell one printable line,
    # whatever the repository's metadata holds
    head = ("path", "language", "version", "manager", "framework", "port", "start")
    rows = [head] + [
        tuple(
            single_line(v, limit=120)
            for v in (
                m.path,
                m.language or "?",
                m.language_version or "-",
                m.package_manager or "-",
                m.framework or "-",
                str(m.port or "-"),
                m.start_command or "-",
            )
        )
        for m in result.modules
    ]
    widths = [max(len(r[i]) for r in rows) for i in range(len(head) - 1)]
    rule = tuple("-" * len(c) if i == len(head) - 1 else "-" * widths[i] for i, c in enumerate(head))
    for row in [rows[0], rule, *rows[1:]]:
        print("  ".join([*(c.ljust(w) for c, w in zip(row, widths, strict=False)), row[-1]]).rstrip(), file=stdout)


def try_fast_analyze(args: list[str]) -> bool:
    """Serve ``analyze PATH [--json]`` directly; False leaves the arguments to the typer app."""
    if len(args) not in (2, 3) or args[0] != "analyze":
        return False
    rest = args[1:]
    as_json = "--json" in rest
    paths = [a for a in rest if a != "--json"]
    if len(paths) != 1 or paths[0].startswith("-") or len(rest) != len(paths) + as_json:
        return False
    from containerkit.errors import ContainerKitError
    from containerkit.tools.analyze import analyze_repo

    try:
        result = analyze_repo(Path(paths[0]))
    except ContainerKitError:
        return False  # the typer app reports it (code, message, hint) as for every command
    try:
        print_analysis(result, as_json, sys.stdout)
        sys.stdout.flush()
    except BrokenPipeError:  # `containerkit analyze . | head`: the reader left, nothing is wrong
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return True
