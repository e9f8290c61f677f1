"""Source rewrites for the fixable rules, applied to one instruction's source span at a time.

Each fixer gets the span text exactly as written (continuations, comments, CRLF kept) and returns
it changed as little as possible, so the rest of the file stays byte-identical.
"""

from __future__ import annotations

import json
import posixpath
import re
import shlex
from collections.abc import Callable

from containerkit.tools.lint._checks import env_pairs, healthcheck_command
from containerkit.tools.lint._context import Ctx
from containerkit.tools.lint.models import Instruction

__all__ = ["FIXERS", "Fixer"]

Fixer = Callable[[str, Instruction, Ctx], str]

_SEP = re.compile(r"&&|\|\||[;|]|(?<![\\`])\n")
_HEAD = re.compile(r"^(\s*)(\S+)")


def _insert_after(pattern: re.Pattern[str], addition: str, present: re.Pattern[str]) -> Fixer:
    """Insert ``addition`` after each match of ``pattern`` whose command lacks ``present``."""

    def fix(span: str, ins: Instruction, ctx: Ctx) -> str:
        out: list[str] = []
        last = 0
        for m in pattern.finditer(span):
            end = _SEP.search(span, m.end())
            if present.search(span[m.start() : end.start() if end else len(span)]):
                continue
            out.append(span[last : m.end()])
            out.append(addition)
            last = m.end()
        out.append(span[last:])
        return "".join(out)

    return fix


def _append(command: str) -> Fixer:
    """Chain ``&& command`` on a new continued line at the end of a shell-form RUN."""

    def fix(span: str, ins: Instruction, ctx: Ctx) -> str:
        if ins.heredocs or ins.json_args is not None:
            return span
        cr = "\r" if span.endswith("\r") else ""
        body = span[: len(span) - len(cr)].rstrip()
        conn = "" if body.endswith(";") else "&& "
        return f"{body} {ctx.parsed.escape}{cr}\n    {conn}{command}{cr}"

    return fix


def _replace_span(build: Callable[[str, Instruction, Ctx], str | None]) -> Fixer:
    """Replace the whole instruction with one line built from its parsed form (None: leave it)."""

    def fix(span: str, ins: Instruction, ctx: Ctx) -> str:
        head = _HEAD.match(span)
        new = build(head.group(2) if head else ins.keyword, ins, ctx)
        if new is None:
            return span
        cr = "\r" if span.endswith("\r") else ""
        return (head.group(1) if head else "") + new + cr

    return fix


def _case(written: str, word: str) -> str:
    return word.lower() if written.islower() else word


def _maintainer(kw: str, ins: Instruction, ctx: Ctx) -> str:
    return f"{_case(kw, 'LABEL')} maintainer={json.dumps(ins.value)}"


_SHELL_META = re.compile(r"[|&;<>$`*?(){}\[\]~]")


def _exec_form(kw: str, ins: Instruction, ctx: Ctx) -> str | None:
    value = ins.value
    prefix = ""
    if ins.keyword == "HEALTHCHECK":
        value = healthcheck_command(ins) or ""
        prefix = "".join(f"--{k}={v} " for k, v in ins.flags.items()) + "CMD "
    if not value:
        return None
    argv: list[str]
    try:
        argv = ["/bin/sh", "-c", value] if _SHELL_META.search(value) else shlex.split(value)
    except ValueError:
        argv = ["/bin/sh", "-c", value]
    return f"{kw} {prefix}{json.dumps(argv)}"


def _abs_workdir(kw: str, ins: Instruction, ctx: Ctx) -> str | None:
    """Resolve the relative WORKDIR the way the builder does: against the WORKDIR in effect."""
    stage = ctx.stage(ins)
    chain = [] if stage is None else ctx.lineage(stage)[::-1]
    cur = "/"
    for st in chain:
        for w in st.instructions:
            if w.keyword == "WORKDIR" and (st is not stage or w.line < ins.line):
                cur = posixpath.join(cur, w.value.strip().strip("\"'"))
    return f"{kw} {posixpath.normpath(posixpath.join(cur, ins.value.strip().strip(chr(34) + chr(39))))}"


def _add_to_copy(span: str, ins: Instruction, ctx: Ctx) -> str:
    head = _HEAD.match(span)
    if head is None:
        return span
    return span[: head.start(2)] + _case(head.group(2), "COPY") + span[head.end(2) :]


def _dest_slash(span: str, ins: Instruction, ctx: Ctx) -> str:
    if ins.json_args is not None:
        m = re.search(r"(\"(?:\\.|[^\"\\])*)\"(\s*\]\s*)$", span)
        return span[: m.start()] + m.group(1) + '/"' + m.group(2) if m else span
    return re.sub(r"(\S)(\s*)$", r"\1/\2", span, count=1)


def _env_to_arg(kw: str, ins: Instruction, ctx: Ctx) -> str | None:
    pairs = env_pairs(ins)
    if len(pairs) != 1:
        return None
    key, value = pairs[0]
    return f"{_case(kw, 'ARG')} {key}={value}"


_APT_INSTALL = re.compile(r"\bapt-get\b(?:[ \t]+-\S+)*[ \t]+install\b")
_YES = re.compile(r"(?:^|\s)(?:-[a-zA-Z]*y[a-zA-Z]*|--yes|--assume-yes|--assumeyes|-qq)(?=\s|$)")

# Order matters: apt -> apt-get first, so later apt-get fixers see the renamed command.
FIXERS: tuple[tuple[str, Fixer], ...] = (
    ("DL3027", lambda span, ins, ctx: re.sub(
        r"(?<![\w/.-])apt(?=[ \t]+(?:-\S+[ \t]+)*(?:install|update|upgrade|remove|purge|autoremove|dist-upgrade|full-upgrade|clean)\b)",
        "apt-get", span)),
    ("DL3014", _insert_after(_APT_INSTALL, " -y", _YES)),
    ("DL3015", _insert_after(_APT_INSTALL, " --no-install-recommends", re.compile(r"--no-install-recommends|Install-Recommends"))),
    ("DL3042", _insert_after(re.compile(r"\b(?:pip[\d.]*|python[\d.]*[ \t]+-m[ \t]+pip)[ \t]+install\b"), " --no-cache-dir", re.compile(r"--no-cache-dir"))),
    ("DL3019", _insert_after(re.compile(r"\bapk[ \t]+add\b"), " --no-cache", re.compile(r"--no-cache\b"))),
    ("DL3030", _insert_after(re.compile(r"\byum(?:[ \t]+-\S+)*[ \t]+(?:group|local)?install\b"), " -y", _YES)),
    ("DL3038", _insert_after(re.compile(r"\b(?:micro)?dnf(?:[ \t]+-\S+)*[ \t]+(?:group|local)?install\b"), " -y", _YES)),
    ("DL3034", _insert_after(re.compile(r"\bzypper(?:[ \t]+-\S+)*[ \t]+(?:install|in|remove|rm|patch)\b"), " -y", re.compile(r"(?:^|\s)(?:-[a-z]*[yn][a-z]*|--non-interactive|--no-confirm)(?=\s|$)"))),
    ("DL3047", _insert_after(re.compile(r"(?<![\w/.-])wget\b(?!-)"), " --progress=dot:giga", re.compile(r"--progress|(?:^|\s)(?:-q|--quiet|-nv|--no-verbose|-o|-a)(?=\s|$)"))),
    ("DL3009", _append("rm -rf /var/lib/apt/lists/*")),
    ("DL3032", _append("yum clean all")),
    ("DL3040", _append("dnf clean all")),
    ("DL3036", _append("zypper clean")),
    ("DL3060", _append("yarn cache clean")),
    ("DL4000", _replace_span(_maintainer)),
    ("DL3025", _replace_span(_exec_form)),
    ("DL3000", _replace_span(_abs_workdir)),
    ("DL3020", _add_to_copy),
    ("DL3021", _dest_slash),
    ("CK1008", _replace_span(_env_to_arg)),
)  # fmt: skip
