"""Python lockfiles as hash-checked pip requirements for one target Python.

``poetry.lock``, ``pdm.lock``, ``uv.lock`` and ``Pipfile.lock`` name exact versions and file hashes;
pip installs those from any simple index (PEP 503/691) with ``--require-hashes --no-deps``, so a
build needs neither the packaging tool nor the index's JSON API. Only what production needs is
kept: the dependencies reachable from the project's own (dev groups left out), with every
environment marker evaluated for the target: CPython ``MAJOR.MINOR`` on Linux x86_64.

A package with no hash (a git or path source) makes the whole set unhashed: pip refuses a mix.
"""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Iterable
from typing import Any, NamedTuple

__all__ = ["LOCKFILES", "LockedRequirements", "lock_wheel_pythons", "locked_requirements"]

LOCKFILES = ("uv.lock", "poetry.lock", "pdm.lock", "Pipfile.lock")


class LockedRequirements(NamedTuple):
    lock: str
    lines: list[str]
    """``name==version --hash=sha256:...`` (hashes on continuation lines), sorted by name."""
    hashed: bool
    left_out: list[str]
    """``name version: why`` for locked packages the target does not need (markers, dev groups)."""

    def text(self) -> str:
        head = f"# from {self.lock}: the exact versions{' and hashes' if self.hashed else ''} production needs\n"
        return head + "".join(line + "\n" for line in self.lines)

    def pip_args(self) -> str:
        return "--no-deps --require-hashes" if self.hashed else "--no-deps"


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _environment(python: str) -> dict[str, str]:
    major_minor = ".".join(python.split(".")[:2])
    return {
        "python_version": major_minor,
        "python_full_version": f"{major_minor}.0",
        "implementation_name": "cpython",
        "implementation_version": f"{major_minor}.0",
        "platform_python_implementation": "CPython",
        "sys_platform": "linux",
        "platform_system": "Linux",
        "os_name": "posix",
        "platform_machine": "x86_64",
        "platform_release": "",
        "platform_version": "",
        "extra": "",
    }


def _marker_ok(marker: str | None, env: dict[str, str], extras: Iterable[str] = ()) -> bool:
    if not marker or not marker.strip():
        return True
    from packaging.markers import InvalidMarker, Marker

    try:
        m = Marker(marker)
    except InvalidMarker:
        return True  # unreadable: keep the package rather than break the app
    wanted = list(extras) or [""]
    return any(m.evaluate({**env, "extra": e}) for e in wanted)


def _line(name: str, version: str, hashes: list[str]) -> str:
    uniq = sorted({h if ":" in h else f"sha256:{h}" for h in hashes})
    return f"{name}=={version}" + "".join(f" \\\n    --hash={h}" for h in uniq)


class _Pkg(NamedTuple):
    name: str
    version: str
    hashes: list[str]
    marker: str | None
    deps: list[tuple[str, str | None, list[str]]]
    """(dependency name, marker, extras it asks for)."""
    extras: dict[str, list[tuple[str, str | None, list[str]]]]


def _walk(
    packages: dict[str, _Pkg], roots: list[tuple[str, str | None, list[str]]], env: dict[str, str]
) -> tuple[list[_Pkg], list[str]]:
    """The packages reachable from ``roots`` whose edge markers hold for ``env``."""
    seen: dict[str, set[str]] = {}
    order: list[str] = []
    stack = list(roots)
    while stack:
        name, marker, extras = stack.pop()
        key = _norm(name)
        pkg = packages.get(key)
        if pkg is None or not _marker_ok(marker, env):
            continue
        new_extras = set(extras) - seen.get(key, set())
        if key in seen and not new_extras:
            continue
        if key not in seen:
            order.append(key)
            stack.extend(pkg.deps)
        seen.setdefault(key, set()).update(extras)
        for e in new_extras:
            stack.extend(pkg.extras.get(e, []))
    kept = [packages[k] for k in order]
    left = [
        f"{p.name} {p.version}: not needed on python {env['python_version']}"
        for k, p in packages.items()
        if k not in seen
    ]
    return kept, left


def _pep508(spec: str) -> tuple[str, str | None, list[str]]:
    from packaging.requirements import InvalidRequirement, Requirement

    try:
        r = Requirement(spec)
    except InvalidRequirement:
        return spec.split()[0], None, []
    return r.name, str(r.marker) if r.marker else None, sorted(r.extras)


# -- uv.lock -------------------------------------------------------------------------------------


def _uv(text: str, env: dict[str, str]) -> tuple[list[_Pkg], list[str], bool]:
    data = tomllib.loads(text)
    packages: dict[str, _Pkg] = {}
    roots: list[tuple[str, str | None, list[str]]] = []
    for p in data.get("package") or []:
        deps = [(str(d["name"]), d.get("marker"), list(d.get("extra") or [])) for d in p.get("dependencies") or []]
        extras = {
            str(e): [(str(d["name"]), d.get("marker"), list(d.get("extra") or [])) for d in ds]
            for e, ds in (p.get("optional-dependencies") or {}).items()
        }
        source = p.get("source") or {}
        if "virtual" in source or ("editable" in source and source["editable"] in (".", "./")):
            roots += deps
            continue
        files = [p.get("sdist") or {}, *(p.get("wheels") or [])]
        hashes = [str(f["hash"]) for f in files if isinstance(f, dict) and f.get("hash")]
        name = _norm(str(p["name"]))
        fork = " or ".join(f"({m})" for m in p.get("resolution-markers") or []) or None
        if name in packages and (fork is None or not _marker_ok(fork, env)):
            continue  # one version per name: the fork whose resolution markers hold for the target
        packages[name] = _Pkg(str(p["name"]), str(p.get("version", "")), hashes, fork, deps, extras)
    kept, left = _walk(packages, roots, env)
    hashed = all(p.hashes for p in kept)
    return kept, left, hashed


# -- poetry.lock ---------------------------------------------------------------------------------


def _poetry_deps(table: dict[str, Any]) -> list[tuple[str, str | None, list[str]]]:
    out: list[tuple[str, str | None, list[str]]] = []
    for name, spec in table.items():
        items = spec if isinstance(spec, list) else [spec]  # multiple constraints per marker
        for item in items:
            if isinstance(item, dict):
                if item.get("optional"):
                    continue
                out.append((str(name), item.get("markers"), list(item.get("extras") or [])))
            else:
                out.append((str(name), None, []))
    return out


def _poetry(text: str, pyproject: dict[str, Any], env: dict[str, str]) -> tuple[list[_Pkg], list[str], bool]:
    data = tomllib.loads(text)
    old_files = (data.get("metadata") or {}).get("files") or {}
    packages: dict[str, _Pkg] = {}
    for p in data.get("package") or []:
        files = p.get("files") or old_files.get(p["name"]) or []
        hashes = [str(f["hash"]) for f in files if isinstance(f, dict) and f.get("hash")]
        extras: dict[str, list[tuple[str, str | None, list[str]]]] = {}
        for extra, reqs in (p.get("extras") or {}).items():
            extras[str(extra)] = [(_pep508(r)[0], _pep508(r)[1], _pep508(r)[2]) for r in reqs]
        deps: list[tuple[str, str | None, list[str]]] = []
        for name, spec in (p.get("dependencies") or {}).items():
            items = spec if isinstance(spec, list) else [spec]
            for item in items:
                if isinstance(item, dict) and item.get("optional"):
                    continue  # reached through an extra only
                marker = item.get("markers") if isinstance(item, dict) else None
                wanted = [str(e) for e in item.get("extras") or []] if isinstance(item, dict) else []
                deps.append((str(name), marker, wanted))
        packages[_norm(str(p["name"]))] = _Pkg(str(p["name"]), str(p["version"]), hashes, None, deps, extras)
    poetry = (pyproject.get("tool") or {}).get("poetry") or {}
    roots = [d for d in _poetry_deps(dict(poetry.get("dependencies") or {})) if d[0] != "python"]
    roots += [_pep508(str(r)) for r in (pyproject.get("project") or {}).get("dependencies") or []]
    kept, left = _walk(packages, roots, env)
    return kept, left, all(p.hashes for p in kept)


# -- pdm.lock ------------------------------------------------------------------------------------


def _pdm(text: str, env: dict[str, str]) -> tuple[list[_Pkg], list[str], bool]:
    data = tomllib.loads(text)
    old_files = (data.get("metadata") or {}).get("files") or {}
    kept: list[_Pkg] = []
    left: list[str] = []
    for p in data.get("package") or []:
        name, version = str(p["name"]), str(p.get("version", ""))
        groups = p.get("groups") or p.get("sections") or ["default"]
        files = p.get("files") or old_files.get(f"{name} {version}") or []
        hashes = [str(f["hash"]) for f in files if isinstance(f, dict) and f.get("hash")]
        if "default" not in groups:
            left.append(f"{name} {version}: group {', '.join(groups)}")
        elif not _marker_ok(p.get("marker"), env):
            left.append(f"{name} {version}: not needed on python {env['python_version']}")
        else:
            kept.append(_Pkg(name, version, hashes, None, [], {}))
    return kept, left, all(p.hashes for p in kept)


# -- Pipfile.lock --------------------------------------------------------------------------------


def _pipenv(text: str, env: dict[str, str]) -> tuple[list[_Pkg], list[str], bool]:
    data = json.loads(text)
    kept: list[_Pkg] = []
    left: list[str] = []
    for name, spec in (data.get("default") or {}).items():
        version = str(spec.get("version", "")).removeprefix("==")
        if not version:
            left.append(f"{name}: no pinned version (a path or VCS source)")
            continue
        if not _marker_ok(spec.get("markers"), env):
            left.append(f"{name} {version}: not needed on python {env['python_version']}")
            continue
        kept.append(_Pkg(str(name), version, [str(h) for h in spec.get("hashes") or []], None, [], {}))
    return kept, left, all(p.hashes for p in kept)


def locked_requirements(
    lock: str, text: str, *, python: str, pyproject: dict[str, Any] | None = None
) -> LockedRequirements:
    """The lockfile named ``lock`` (its ``text``) as pip requirements for CPython ``python``.

    ``pyproject`` (the parsed pyproject.toml) names the project's own dependencies for Poetry,
    whose lock does not mark which packages production needs.
    """
    env = _environment(python)
    if lock == "uv.lock":
        kept, left, hashed = _uv(text, env)
    elif lock == "poetry.lock":
        kept, left, hashed = _poetry(text, pyproject or {}, env)
    elif lock == "pdm.lock":
        kept, left, hashed = _pdm(text, env)
    elif lock == "Pipfile.lock":
        kept, left, hashed = _pipenv(text, env)
    else:
        raise ValueError(f"not a Python lockfile: {lock}")
    lines = [
        _line(p.name, p.version, p.hashes if hashed else [])
        for p in sorted(kept, key=lambda p: _norm(p.name))
        if p.version
    ]
    return LockedRequirements(lock, lines, hashed and bool(lines), sorted(left))


_WHEEL = re.compile(r"^(?P<name>[^-]+)-(?P<ver>[^-]+)(?:-\d[^-]*)?-(?P<py>[^-]+)-(?P<abi>[^-]+)-(?P<plat>[^-]+)\.whl$")


def _wheel_files(lock: str, data: Any) -> dict[str, list[str]]:
    """Wheel file names per locked package (the lock formats that name their files)."""
    out: dict[str, list[str]] = {}
    if lock == "uv.lock":
        for p in data.get("package") or []:
            urls = [str(w.get("url", "")) for w in p.get("wheels") or [] if isinstance(w, dict)]
            out[_norm(str(p["name"]))] = [u.rsplit("/", 1)[-1].split("#", 1)[0] for u in urls]
    elif lock in ("poetry.lock", "pdm.lock"):
        old = (data.get("metadata") or {}).get("files") or {}
        for p in data.get("package") or []:
            files = p.get("files") or old.get(p["name"]) or old.get(f"{p['name']} {p.get('version', '')}") or []
            names = [str(f.get("file") or f.get("url", "")).rsplit("/", 1)[-1] for f in files if isinstance(f, dict)]
            out[_norm(str(p["name"]))] = [n for n in names if n.endswith(".whl")]
    return out


def _supports(wheels: list[str], minor: tuple[int, int]) -> bool:
    """Some wheel installs on CPython ``minor`` on Linux x86_64 (a pure wheel installs anywhere)."""
    for w in wheels:
        m = _WHEEL.match(w)
        if m is None:
            continue
        plats, abis = m.group("plat").split("."), m.group("abi").split(".")
        linux = any(p == "any" or (p.endswith("x86_64") and "linux" in p and "musl" not in p) for p in plats)
        if not linux:
            continue
        for tag in m.group("py").split("."):
            if tag in ("py3", "py2") or (tag.startswith("py3") and "none" in abis):
                return True
            if tag.startswith("cp3") and tag[3:].isdigit():
                v = (3, int(tag[3:]))
                if v == minor or ("abi3" in abis and v <= minor):
                    return True
    return False


def lock_wheel_pythons(lock: str, text: str, candidates: list[str]) -> list[str]:
    """The ``candidates`` (``3.X``) for which every locked package that ships wheels has one: a lock
    written before a Python release usually lacks its compiled wheels, and the build would compile."""
    try:
        data: Any = tomllib.loads(text) if lock != "Pipfile.lock" else {}
    except tomllib.TOMLDecodeError:
        return candidates
    wheels = {k: v for k, v in _wheel_files(lock, data).items() if v}
    if not wheels:
        return candidates
    minors = {c: (int(c.split(".")[0]), int(c.split(".")[1])) for c in candidates if re.fullmatch(r"\d+\.\d+", c)}
    allowed = set(minors)
    for ws in wheels.values():
        fits = {c for c, minor in minors.items() if _supports(ws, minor)}
        if fits:  # none at all: wheels for another platform only, or a source build on every Python
            allowed &= fits
    return [c for c in candidates if c in allowed]
