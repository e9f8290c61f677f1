"""Evaluate Rego policies in-process (regopy) over the build facts.

Each policy file's package is queried for ``deny`` and ``warn`` sets (conftest's convention); an
element is a string or an object with ``msg`` and optional ``id``. The default policy ships beside
this module; users add files or folders of ``.rego`` with ``--policy``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

from regopy import Interpreter, LogLevel  # type: ignore[import-untyped]
from regopy.rego_shared import RegoError  # type: ignore[import-untyped]

from containerkit.errors import ContainerKitError
from containerkit.tools.compliance.facts import BuildFacts
from containerkit.tools.fsio import read_text
from containerkit.tools.policy.errors import (
    PolicyDataInvalid,
    PolicyEvaluationFailed,
    PolicyNotFound,
    PolicySyntaxError,
)
from containerkit.tools.policy.models import PolicyResult, PolicyViolation

__all__ = ["DEFAULT_POLICY", "evaluate_policies", "policy_files"]

DEFAULT_POLICY = Path(__file__).with_name("default.rego")
_NORMALIZE = Path(__file__).with_name("_normalize.rego")
_PACKAGE = re.compile(r"^\s*package\s+([\w.]+)", re.M)
_REGO_ERROR = re.compile(r"\(error \d+:(?P<file>[^|]*)\|(?P<off>\d+)\|\d+\s*\(errormsg \d+:(?P<msg>[^)]*)\)")
_LEVELS: tuple[Literal["deny", "warn"], ...] = ("deny", "warn")


def policy_files(paths: Sequence[Path]) -> list[Path]:
    """Expand folders to their ``*.rego`` files (sorted, ``*_test.rego`` left out)."""
    out: list[Path] = []
    for p in paths:
        if p.is_dir():
            out.extend(sorted(f for f in p.rglob("*.rego") if not f.name.endswith("_test.rego")))
        elif p.is_file():
            out.append(p)
        else:
            raise PolicyNotFound(f"policy {p} does not exist", path=str(p))
    return out


def evaluate_policies(
    facts: BuildFacts | Mapping[str, Any],
    policy_paths: Sequence[Path] = (),
    data: Mapping[str, Any] | None = None,
    *,
    include_default: bool = True,
) -> PolicyResult:
    """Evaluate the default policy (unless disabled) and the user's over ``facts``.

    Keys whose value is None are dropped from the input, so Rego sees "not collected" as undefined.
    """
    files = ([DEFAULT_POLICY] if include_default else []) + policy_files(list(policy_paths))
    doc = facts.model_dump(mode="json", exclude_none=True) if isinstance(facts, BuildFacts) else dict(facts)
    rego = _interpreter()
    rego.add_module("containerkit_internal", _NORMALIZE.read_text(encoding="utf-8"))
    packages: dict[str, str] = {}
    for f in files:
        source = _read(f)
        _check_syntax(f, source)
        rego.add_module(str(f), source)
        for pkg in _PACKAGE.findall(source):
            packages.setdefault(pkg, str(f))
    if data is not None:
        if not isinstance(data, Mapping):
            raise PolicyDataInvalid(f"policy data is a {type(data).__name__}, not an object")
        rego.add_data_json(json.dumps(dict(data)))
    rego.set_input_term(json.dumps(doc))
    found: dict[str, list[PolicyViolation]] = {"deny": [], "warn": []}
    for pkg, file in packages.items():
        for level in _LEVELS:
            query = f"x := [data.containerkit_internal.norm(v) | some v in data.{pkg}.{level}]"
            for item in _query(rego, query, file):
                found[level].append(_violation(item, pkg, file, level))
    return PolicyResult(violations=found["deny"], warnings=found["warn"], policies=[str(f) for f in files])


def _interpreter() -> Interpreter:
    rego = Interpreter()
    rego.log_level = LogLevel.NONE  # regopy prints errors on stdout otherwise, which breaks --json
    return rego


def _read(path: Path) -> str:
    """The policy's text: bounded, never a FIFO or device, nesting the Rego parser survives."""
    try:
        source = read_text(path, max_bytes=1024 * 1024, what="policy", encoding="utf-8")
    except ContainerKitError as exc:
        raise PolicyNotFound(f"cannot read policy {path}: {exc.message}", path=str(path)) from None
    depth = deepest = 0
    for ch in source:  # the native Rego parser recurses per bracket and crashes past a few thousand
        if ch in "([{":
            depth += 1
            deepest = max(deepest, depth)
        elif ch in ")]}":
            depth = max(depth - 1, 0)
    if deepest > _MAX_NESTING:
        raise PolicySyntaxError(f"{path}: brackets nested {deepest} deep (at most {_MAX_NESTING})", path=str(path))
    return source


_MAX_NESTING = 200


def _check_syntax(path: Path, source: str) -> None:
    """Compile each file alone first, so an error names the file (and line) that holds it."""
    try:
        probe = _interpreter()
        probe.add_module(str(path), source)
        out = probe.query("data")
    except RegoError as exc:
        raise PolicySyntaxError(_describe(path, source, str(exc)), path=str(path)) from None
    if not out.ok():
        raise PolicySyntaxError(_describe(path, source, str(out)), path=str(path))
    if not _PACKAGE.search(source):
        raise PolicySyntaxError(f"{path}: no package declaration", path=str(path))


def _describe(path: Path, source: str, raw: str) -> str:
    m = _REGO_ERROR.search(raw)
    if m is None:
        return f"{path}: invalid Rego ({raw.strip().splitlines()[0] if raw.strip() else 'parse failed'})"
    line = source.count("\n", 0, int(m.group("off"))) + 1
    return f"{path}:{line}: {m.group('msg')}"


def _query(rego: Interpreter, query: str, file: str) -> list[Any]:
    try:
        out = rego.query(query)
    except json.JSONDecodeError:
        raise PolicyEvaluationFailed(
            f"{file}: regopy could not return a message; build messages from computed strings with concat, "
            "not sprintf %v (a regopy 1.5 quirk)",
            policy=file,
        ) from None
    except RegoError as exc:  # a conflict between modules surfaces here
        raise PolicyEvaluationFailed(f"{query} failed: {str(exc).strip()[:300]}", policy=file) from None
    if not out.ok():
        raise PolicyEvaluationFailed(f"{query} failed: {str(out).strip()[:300]}", policy=file)
    results = out.results
    if not results or "x" not in results[0].bindings:
        return []
    value = results[0].bindings["x"]
    if not isinstance(value, list):  # pragma: no cover - a comprehension is always a list
        raise PolicyEvaluationFailed(f"{query} did not give a list", policy=file)
    return value


def _violation(item: Any, pkg: str, file: str, level: Literal["deny", "warn"]) -> PolicyViolation:
    """``item`` is already normalised by _normalize.rego: {"id", "msg"} or {"invalid"}."""
    if not isinstance(item, dict) or "msg" not in item:
        bad = item.get("invalid") if isinstance(item, dict) else item
        raise PolicyEvaluationFailed(f"data.{pkg}.{level} holds {str(bad)[:120]}, not a message", policy=file)
    rule_id = str(item.get("id") or f"{pkg}.{level}")
    return PolicyViolation(rule_id=rule_id, message=str(item["msg"]), policy_file=file, package=pkg, level=level)
