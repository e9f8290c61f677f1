"""A Dockerfile parser that keeps line numbers: directives, continuations, heredocs, JSON form, stages.

It follows BuildKit's reading rules closely enough for linting and for byte-exact fixes: every
instruction knows the source lines it spans, so a fix rewrites only those lines.
"""

from __future__ import annotations

import json
import re

from containerkit.errors import InvalidDockerfile
from containerkit.tools.lint.models import Heredoc, Instruction, ParsedDockerfile, Stage

__all__ = ["expand_vars", "parse_dockerfile"]

_DIRECTIVE = re.compile(r"^\s*#\s*(escape|syntax|check)\s*=\s*(.*?)\s*$", re.I)
_PRAGMA = re.compile(r"^\s*#\s*(?:hadolint|containerkit)\s+(global\s+)?ignore\s*=\s*([A-Za-z0-9_, ]+)", re.I)
_HEAD = re.compile(r"\s*(\S+)[ \t]*(.*)", re.S)
_FLAG = re.compile(r"--([A-Za-z][\w-]*)(?:=(\"[^\"]*\"|\S*))?(?:\s+|$)")
_HEREDOC = re.compile(r"(?<![<\w])<<(-?)([\"']?)([A-Za-z_][\w.-]*)\2")
_VAR = re.compile(r"\$(?:\{([A-Za-z_]\w*)(?:(:?[-+])([^}]*))?\}|([A-Za-z_]\w*))")
_FROM = re.compile(r"(\S+)(?:\s+as\s+(\S+))?\s*$", re.I)

_FLAG_KEYWORDS = frozenset({"FROM", "RUN", "COPY", "ADD", "HEALTHCHECK"})
_JSON_KEYWORDS = frozenset({"RUN", "CMD", "ENTRYPOINT", "SHELL", "COPY", "ADD", "VOLUME"})
_HEREDOC_KEYWORDS = frozenset({"RUN", "COPY", "ADD"})


def expand_vars(text: str, values: dict[str, str | None]) -> str:
    """Expand ``$VAR``/``${VAR}``/``${VAR:-d}``/``${VAR:+a}``; unknown variables are left as written."""

    def sub(m: re.Match[str]) -> str:
        name = m.group(1) or m.group(4)
        known = name in values and values[name] is not None
        value = values.get(name) or ""
        op = m.group(2)
        if op in (":-", "-"):
            return value if known and (value or op == "-") else (m.group(3) or "")
        if op in (":+", "+"):
            return (m.group(3) or "") if known and (value or op == "+") else ""
        return value if known else m.group(0)

    return _VAR.sub(sub, text) if "$" in text else text


def _split_flags(rest: str) -> tuple[dict[str, str], str]:
    flags: dict[str, str] = {}
    pos = 0
    while rest.startswith("--", pos):
        m = _FLAG.match(rest, pos)
        if m is None:
            break
        name, value = m.group(1).lower(), (m.group(2) or "").strip('"')
        flags[name] = f"{flags[name]} {value}" if name in flags else value
        pos = m.end()
    return flags, rest[pos:]


def _json_form(rest: str) -> list[str] | None:
    stripped = rest.strip()
    if not stripped.startswith("["):
        return None
    try:
        data = json.loads(stripped)
    except (ValueError, RecursionError):  # not JSON, a 10,000-digit number, nesting past the recursion limit
        return None
    if isinstance(data, list) and all(isinstance(x, str) for x in data):
        return data
    return None


def _check_text(text: str) -> None:
    if "\x00" in text:
        raise InvalidDockerfile("the Dockerfile is a binary file (it holds NUL bytes)")


def parse_dockerfile(text: str) -> ParsedDockerfile:
    """Parse Dockerfile text; raise InvalidDockerfile for binary input or one without FROM."""
    _check_text(text)
    lines = text.split("\n")
    n = len(lines)
    escape = "\\"
    directives: dict[str, str] = {}
    i = 0
    while i < n:
        m = _DIRECTIVE.match(lines[i])
        if m is None:
            break
        directives[m.group(1).lower()] = m.group(2)
        i += 1
    if directives.get("escape") == "`":
        escape = "`"

    instructions: list[Instruction] = []
    stages: list[Stage] = []
    global_args: dict[str, str | None] = {}
    global_ignores: set[str] = set()
    pending: set[str] = set()

    while i < n:
        raw = lines[i].rstrip("\r")
        stripped = raw.strip()
        if not stripped:
            i += 1
            continue
        if stripped.startswith("#"):
            pm = _PRAGMA.match(stripped)
            if pm:
                codes = {c.strip().upper() for c in pm.group(2).split(",") if c.strip()}
                (global_ignores if pm.group(1) else pending).update(codes)
            i += 1
            continue
        start = i
        parts: list[str] = []
        line = raw
        while True:
            body = line.rstrip()
            if body.endswith(escape) and i + 1 < n:
                parts.append(body[:-1])
                i += 1
                # comment and blank lines inside a continuation are dropped, as BuildKit does
                while i < n and (lines[i].strip().startswith("#") or not lines[i].strip()) and i + 1 < n:
                    i += 1
                line = lines[i].rstrip("\r")
                continue
            parts.append(body[:-1] if body.endswith(escape) else line)
            break
        value = "".join(parts)
        head = _HEAD.match(value)
        if head is None:  # pragma: no cover - stripped is non-empty, so a word exists
            i += 1
            continue
        keyword = head.group(1).upper()
        rest = head.group(2)
        heredocs: list[Heredoc] = []
        if keyword in _HEREDOC_KEYWORDS and "<<" in rest:
            for hm in _HEREDOC.finditer(rest):
                strip_tabs, quote, delim = hm.group(1) == "-", hm.group(2), hm.group(3)
                body_start = i + 1
                j = body_start
                while j < n:
                    candidate = lines[j].rstrip("\r")
                    if (candidate.lstrip("\t") if strip_tabs else candidate) == delim:
                        break
                    j += 1
                body_lines = [ln.rstrip("\r") for ln in lines[body_start:j]]
                if strip_tabs:
                    body_lines = [ln.lstrip("\t") for ln in body_lines]
                heredocs.append(
                    Heredoc(
                        delimiter=delim,
                        body="\n".join(body_lines),
                        line=body_start + 1,
                        strip_tabs=strip_tabs,
                        expand=not quote,
                    )
                )
                i = min(j, n - 1)
        flags: dict[str, str] = {}
        if keyword in _FLAG_KEYWORDS:
            flags, rest = _split_flags(rest)
        json_args = _json_form(rest) if keyword in _JSON_KEYWORDS else None
        instr = Instruction(
            keyword=keyword,
            line=start + 1,
            end_line=i + 1,
            value=rest.strip(),
            flags=flags,
            json_args=json_args,
            heredocs=heredocs,
            stage=len(stages) - 1,
            ignores=frozenset(pending),
        )
        pending = set()
        i += 1
        if keyword == "FROM":
            instr = _open_stage(instr, stages, global_args)
        elif keyword == "ARG" and not stages:
            for name, default in _arg_pairs(rest):
                global_args[name] = default
        instructions.append(instr)
        if stages:
            stages[-1].instructions.append(instr)

    if not stages:
        raise InvalidDockerfile("the Dockerfile has no FROM instruction")
    return ParsedDockerfile(
        instructions=instructions,
        stages=stages,
        escape=escape,
        directives=directives,
        global_args=global_args,
        global_ignores=frozenset(global_ignores),
        line_count=n,
    )


def _arg_pairs(rest: str) -> list[tuple[str, str | None]]:
    out: list[tuple[str, str | None]] = []
    for word in rest.split():
        name, eq, default = word.partition("=")
        out.append((name, default.strip("\"'") if eq else None))
    return out


def _open_stage(instr: Instruction, stages: list[Stage], global_args: dict[str, str | None]) -> Instruction:
    m = _FROM.match(instr.value)
    image = expand_vars(m.group(1), global_args) if m else instr.value
    name = m.group(2).lower() if m and m.group(2) else None
    parent = next((s.index for s in stages if s.name is not None and s.name == image.lower()), None)
    index = len(stages)
    stages.append(
        Stage(index=index, line=instr.line, image=image, name=name, platform=instr.flags.get("platform"), parent=parent)
    )
    return instr.model_copy(update={"stage": index})
