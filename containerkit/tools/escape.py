"""The escaping layer for generated text: repository metadata never writes a Dockerfile instruction.

Everything the analysis read from a repository (names, versions, scripts, paths, ports) passes
through :func:`safe_module` before a generator renders it: values that would span lines, continue
a line (a trailing backslash), open a heredoc or otherwise carry Dockerfile syntax are cleaned or
dropped, each with a warning. The helpers below make one value safe for one place: a comment, a
label or ENV value, an exec-form (JSON) argument list.
"""

from __future__ import annotations

import json
import re
import shlex
from typing import TYPE_CHECKING, Any

from containerkit.errors import InvalidOption

if TYPE_CHECKING:  # linting and the CLI's plain output use this module without the analysis models
    from containerkit.tools.analyze.models import ModuleAnalysis

__all__ = [
    "comment_text",
    "exec_json",
    "has_line_break",
    "label_value",
    "markdown_code",
    "markdown_text",
    "safe_module",
    "single_line",
]

# what any Dockerfile reader (or a human's editor) may take as the end of a line
_BREAKS = re.compile(r"[\x00-\x1f\x7f\x85\u2028\u2029]")
_HEREDOC = re.compile(r"<<-?\s*[\"']?[A-Za-z_]")
_NAME_OK = re.compile(r"^[A-Za-z0-9@][A-Za-z0-9@._+/-]*\Z")
_PACKAGE_OK = re.compile(r"^[a-z0-9][a-z0-9+._:=~-]*\Z")
_VERSION_OK = re.compile(r"^[0-9A-Za-z][0-9A-Za-z._+-]{0,63}\Z")
_HEALTH_OK = re.compile(r"^/[A-Za-z0-9._~/-]*\Z")
_WORD_OK = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]*\Z")
_PATH_BAD = re.compile(r"[\x00-\x1f\x7f\x85\u2028\u2029\\\"'`$<>|;&]")


def has_line_break(value: str) -> bool:
    """True when ``value`` holds a character some reader treats as a line end (or another control)."""
    return bool(_BREAKS.search(value))


def single_line(value: str, *, limit: int = 200) -> str:
    """``value`` on one line: controls become spaces, runs of spaces one, at most ``limit`` characters."""
    text = re.sub(r"\s+", " ", _BREAKS.sub(" ", value)).strip()
    return text if len(text) <= limit else text[: limit - 3] + "..."


def comment_text(value: str, *, limit: int = 200) -> str:
    """Safe inside a ``# ...`` comment: one line, no trailing backslash, never a parser directive."""
    text = single_line(value, limit=limit).rstrip("\\` ")
    return text.replace("=", "-") if re.match(r"^\s*[A-Za-z]+\s*=", text) else text


def label_value(value: str, *, limit: int = 1024) -> str:
    """A double-quoted LABEL/ENV value: one line, quotes, backslashes and ``$`` escaped."""
    text = single_line(value, limit=limit)
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("$", "\\$") + '"'


_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+!|<>~])")


def markdown_text(value: object, *, limit: int = 500) -> str:
    """Plain text in a Markdown table cell or list item: one line, every character Markdown or HTML
    gives a meaning to escaped, so a package name or a path never becomes a link, markup or a column."""
    return _MD_SPECIAL.sub(r"\\\1", single_line(str(value), limit=limit))


def markdown_code(value: object, *, limit: int = 200) -> str:
    """A value shown as inline code: one line, fenced by more backticks than it holds."""
    text = single_line(str(value), limit=limit).replace("|", "\\|")
    fence = "`" * (max((len(r) for r in re.findall(r"`+", text)), default=0) + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def exec_json(argv: list[str]) -> str:
    """An exec-form argument list: JSON with every non-ASCII and control character escaped."""
    return json.dumps(argv, ensure_ascii=True)


# -- the module, before a generator sees it -----------------------------------------------------

_PATH_FIELDS = (
    "entrypoint",
    "lockfile",
    "requirements_file",
    "static_dir",
    "workspace_root",
    "existing_dockerfile",
)
_PATH_LIST_FIELDS = ("dependency_files", "depends_on")
_COMMAND_FIELDS = ("start_command", "build_command")
_WORD_FIELDS = ("package_manager", "framework")


def _command_problem(value: str) -> str | None:
    if has_line_break(value):
        return "it spans lines"
    if value.rstrip().endswith(("\\", "`")):
        return "it ends in a line continuation"
    if _HEREDOC.search(value):
        return "it opens a heredoc"
    try:
        shlex.split(value)
    except ValueError:
        return "its quotes do not close"
    return None


def _path_problem(value: str) -> str | None:
    if _PATH_BAD.search(value):
        return "it holds a line break, a quote, a backslash, a $ or a shell operator"
    if value.startswith("/") or ".." in value.split("/"):
        return "it leads out of the build context"
    return None


def safe_module(module: ModuleAnalysis) -> tuple[ModuleAnalysis, list[str]]:
    """``module`` with every value a Dockerfile may hold made safe; one warning per value changed.

    The module's own path cannot be dropped: one that holds a line break is an InvalidOption.
    """
    warnings: list[str] = []
    update: dict[str, Any] = {}

    def drop(field: str, value: object, why: str) -> None:
        warnings.append(f"ignored {field} {single_line(repr(value), limit=80)} from the repository: {why}")

    if has_line_break(module.path) or _PATH_BAD.search(module.path):
        raise InvalidOption(
            f"the module folder {module.path!r} holds a line break, a quote or a shell operator: no Dockerfile can name it safely",
            hint="Rename the folder (letters, digits, '-', '_', '.', '/').",
        )
    if not _NAME_OK.match(module.name):
        clean = re.sub(r"[^A-Za-z0-9@._+/-]+", "-", single_line(module.name)).strip("-./") or "app"
        warnings.append(f"the name {single_line(repr(module.name), limit=80)} was written as {clean!r}")
        update["name"] = clean
    for field in _WORD_FIELDS:
        value = getattr(module, field)
        if value is not None and not _WORD_OK.match(value):
            drop(field, value, "not a plain word")
            update[field] = None
    if module.language_version is not None and not _VERSION_OK.match(module.language_version):
        drop("language_version", module.language_version, "not a version")
        update["language_version"] = None
    if module.port is not None and not 1 <= module.port <= 65535:
        drop("port", module.port, "not a TCP port (1-65535)")
        update["port"] = None
    if module.health_path is not None and not _HEALTH_OK.match(module.health_path):
        drop("health_path", module.health_path, "not a plain URL path")
        update["health_path"] = None
    for field in _COMMAND_FIELDS:
        value = getattr(module, field)
        if value is not None and (why := _command_problem(value)):
            drop(field, value, why)
            update[field] = None
    for field in _PATH_FIELDS:
        value = getattr(module, field)
        if value is not None and (why := _path_problem(value)):
            drop(field, value, why)
            update[field] = None
    for field in _PATH_LIST_FIELDS:
        values: list[str] = getattr(module, field)
        kept = [v for v in values if not _path_problem(v) and v.strip() == v and v]
        for v in values:
            if v not in kept:
                drop(field, v, _path_problem(v) or "it is empty or padded with spaces")
        if len(kept) != len(values):
            update[field] = kept
    for field in ("system_packages", "build_packages"):
        values = getattr(module, field)
        kept = [v for v in values if _PACKAGE_OK.match(v)]
        for v in values:
            if v not in kept:
                drop(field, v, "not a package name")
        if len(kept) != len(values):
            update[field] = kept
    deps = [d for d in module.dependencies if not has_line_break(d)]
    if len(deps) != len(module.dependencies):
        update["dependencies"] = deps
    if not update:
        return module, warnings
    return module.model_copy(update=update), warnings
