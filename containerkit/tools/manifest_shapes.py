"""The shapes of the manifests the analysis reads: a value of the wrong type is skipped, with a note.

``project = "x"`` or ``dependencies = 5`` in a pyproject.toml, ``"scripts": []`` in a package.json:
the detectors read these keys expecting a table, a list or a string. :func:`conform` drops every
value whose type does not match its declared shape (and says so through ``say``), so a detector
sees either the right type or nothing, and a malformed manifest never crashes the analysis.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar, cast

__all__ = ["SHAPES", "conform"]

Shape = Any
"""``str``/``bool``/``int``/``dict``/``list`` (any such value), a dict of known keys (others kept as
they are), ``("map", shape)`` (a table whose every value has ``shape``), ``("list", shape)`` (a list
whose every item has ``shape``) or ``("any", shape, ...)`` (the first shape that fits)."""

_STR_MAP = ("map", str)
_STR_LIST = ("list", str)
_DEP = ("any", str, dict)
_POETRY: Shape = {
    "name": str,
    "version": str,
    "dependencies": ("map", _DEP),
    "dev-dependencies": ("map", _DEP),
    "group": ("map", {"dependencies": ("map", _DEP)}),
    "scripts": ("map", _DEP),
    "packages": ("list", {"include": str, "from": str}),
}

SHAPES: dict[str, Shape] = {
    "pyproject.toml": {
        "project": {
            "name": str,
            "version": str,
            "requires-python": str,
            "dependencies": _STR_LIST,
            "optional-dependencies": ("map", _STR_LIST),
            "scripts": _STR_MAP,
            "gui-scripts": _STR_MAP,
        },
        "build-system": {"requires": _STR_LIST, "build-backend": str},
        "dependency-groups": ("map", list),
        "tool": {
            "poetry": _POETRY,
            "uv": {"sources": ("map", dict), "workspace": {"members": _STR_LIST, "exclude": _STR_LIST}},
            "pdm": dict,
            "setuptools": dict,
            "hatch": dict,
        },
    },
    "Pipfile": {
        "requires": {"python_version": str, "python_full_version": str},
        "packages": ("map", _DEP),
        "dev-packages": ("map", _DEP),
        "source": ("list", dict),
    },
    "package.json": {
        "name": str,
        "version": str,
        "main": str,
        "type": str,
        "packageManager": str,
        "scripts": _STR_MAP,
        "dependencies": _STR_MAP,
        "devDependencies": _STR_MAP,
        "peerDependencies": _STR_MAP,
        "optionalDependencies": _STR_MAP,
        "engines": _STR_MAP,
        "workspaces": ("any", _STR_LIST, {"packages": _STR_LIST}),
    },
    "composer.json": {
        "name": str,
        "type": str,
        "require": _STR_MAP,
        "require-dev": _STR_MAP,
        "scripts": ("map", ("any", str, _STR_LIST)),
    },
    "Cargo.toml": {
        "package": {"name": str, "version": ("any", str, dict), "rust-version": ("any", str, dict), "edition": str},
        "bin": ("list", {"name": str, "path": str}),
        "dependencies": ("map", _DEP),
        "features": ("map", list),
        "workspace": {"members": _STR_LIST, "exclude": _STR_LIST, "dependencies": ("map", _DEP)},
    },
    "rust-toolchain.toml": {"toolchain": {"channel": str}},
    "deno.json": {"name": str, "tasks": ("map", ("any", str, dict)), "imports": _STR_MAP},
    "deno.jsonc": {"name": str, "tasks": ("map", ("any", str, dict)), "imports": _STR_MAP},
}

_DROP = object()
T = TypeVar("T")


def _type_name(value: Any) -> str:
    return {dict: "a table", list: "a list", str: "a string", bool: "a boolean", int: "a number"}.get(
        type(value), type(value).__name__
    )


def _fits(value: Any, shape: Shape) -> bool:
    if isinstance(shape, dict):
        return isinstance(value, dict)
    if isinstance(shape, tuple):
        kind = shape[0]
        if kind == "map":
            return isinstance(value, dict)
        if kind == "list":
            return isinstance(value, list)
        return any(_fits(value, s) for s in shape[1:])
    if shape is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, shape)


def _conform(value: Any, shape: Shape, where: str, notes: list[str]) -> Any:
    if not _fits(value, shape):
        notes.append(f"ignored {where}: it is {_type_name(value)}, not the expected type")
        return _DROP
    if isinstance(shape, dict):
        out = {}
        for key, item in value.items():
            if key in shape:
                kept = _conform(item, shape[key], f"{where}.{key}" if where else str(key), notes)
                if kept is _DROP:
                    continue
                out[key] = kept
            else:
                out[key] = item
        return out
    if isinstance(shape, tuple) and shape[0] == "map":
        out = {}
        for key, item in value.items():
            kept = _conform(item, shape[1], f"{where}.{key}", notes)
            if kept is not _DROP:
                out[key] = kept
        return out
    if isinstance(shape, tuple) and shape[0] == "list":
        items = [_conform(item, shape[1], f"{where}[{i}]", notes) for i, item in enumerate(value)]
        return [i for i in items if i is not _DROP]
    if isinstance(shape, tuple):  # "any": conform to the first shape that fits
        for s in shape[1:]:
            if _fits(value, s):
                return _conform(value, s, where, notes)
    return value


def conform(name: str, data: T, say: Callable[[str, str], None] | None = None) -> T:
    """``data`` read from the manifest ``name`` with every wrongly typed known value dropped.

    ``say(file, note)`` receives one note per dropped value (the analysis records it as evidence).
    A manifest this module does not know is returned as it is.
    """
    shape = SHAPES.get(name.rsplit("/", 1)[-1])
    if shape is None or not isinstance(data, dict):
        return data
    notes: list[str] = []
    out = _conform(data, shape, "", notes)
    if say is not None:
        for note in notes[:20]:
            say(name, note)
    return cast("T", out)
