"""Runtime versions: which catalog version satisfies what a project states, and which exists.

A module's ``version_constraints`` are ``source: spec`` lines. Ranges declared in the manifest
(``requires-python``, Poetry's ``python``, ``engines.node``) are *requirements*: no image outside
them is used, and when none is available the run stops before building. Pins a developer's tools
write (``.python-version``, ``runtime.txt``, ``.nvmrc``, ``.node-version``, ``.tool-versions``,
``volta``) are *preferences*: the pinned version when it exists, else the closest one inside the
requirements, with a warning. With no preference the newest available version inside the
requirements is used; with no probe (nothing says what exists) the catalog's default when allowed.
"""

from __future__ import annotations

import re

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import InvalidVersion, Version

from containerkit.errors import BaseImageUnavailable
from containerkit.tools.dockerfile.catalog import BaseImageCatalog, ImageProbe

__all__ = ["RuntimeVersionUnavailable", "pick_version", "satisfies"]

PREFERENCE_SOURCES = frozenset(
    {".python-version", "runtime.txt", ".nvmrc", ".node-version", ".tool-versions", "volta.node"}
)


class RuntimeVersionUnavailable(BaseImageUnavailable):
    """No base image satisfies the runtime version the project requires (raised before building)."""


def _split(line: str) -> tuple[str, str]:
    source, sep, spec = line.partition(": ")
    return (source.strip(), spec.strip()) if sep else ("", line.strip())


# -- Python (PEP 440, plus Poetry's ^ and ~) ------------------------------------------------------


def _poetry_one(part: str) -> str:
    part = part.strip()
    m = re.fullmatch(r"([\^~])\s*(\d+)(?:\.(\d+))?(?:\.(\d+))?", part)
    if m:
        major, minor = int(m.group(2)), m.group(3)
        lo = ".".join(g for g in m.group(2, 3, 4) if g is not None)
        if m.group(1) == "^":
            hi = f"{major + 1}.0" if major > 0 or minor is None else f"0.{int(minor) + 1}"
        else:
            hi = f"{major}.{int(minor) + 1}" if minor is not None else f"{major + 1}.0"
        return f">={lo},<{hi}"
    if re.fullmatch(r"\d+(\.\d+)?", part):
        return f"=={part}.*"
    if re.fullmatch(r"\d+\.\d+\.\d+", part):
        return f"=={part}"
    return part


def _python_sets(spec: str) -> list[SpecifierSet]:
    """Alternatives (Poetry's ``||``), each a PEP 440 specifier set."""
    out: list[SpecifierSet] = []
    for alt in spec.split("||"):
        parts = [_poetry_one(p) for p in re.split(r",|\s+(?=[<>=!~^])", alt) if p.strip()]
        try:
            out.append(SpecifierSet(",".join(parts)))
        except InvalidSpecifier:
            continue
    return out


def _python_ok(version: str, spec: str) -> bool:
    """Some patch release of ``version`` (a catalog MAJOR.MINOR) satisfies ``spec``."""
    sets = _python_sets(spec)
    if not sets:
        return True  # unreadable: not a reason to refuse
    mentioned = re.findall(r"\d+\.\d+(?:\.\d+)?", spec)
    points = [f"{version}.0", f"{version}.99"] + [p for p in mentioned if p.startswith(version + ".") or p == version]
    return any(s.contains(p, prereleases=True) for s in sets for p in points)


# -- Node (npm semver ranges) ----------------------------------------------------------------------


def _tuple(text: str) -> tuple[list[int], int]:
    """'18.2' -> ([18, 2], 2): the numbers given and how many (x/* stop)."""
    nums: list[int] = []
    for p in text.lstrip("v=").split("."):
        if not p.isdigit():
            break
        nums.append(int(p))
    return nums, len(nums)


def _comparators(part: str) -> list[tuple[str, tuple[int, ...]]]:
    """One space-separated comparator set as (op, version) pairs with ^, ~, x and partials expanded."""
    part = re.sub(r"(>=|<=|>|<|=|\^|~)\s+", r"\1", part.strip())
    if m := re.fullmatch(r"(\S+)\s+-\s+(\S+)", part):
        lo, _ = _tuple(m.group(1))
        hi, n = _tuple(m.group(2))
        upper = [("<=", (*hi, 0, 0)[:3])] if n == 3 else [("<", _bump(hi, n - 1))] if n else []
        return [(">=", (*lo, 0, 0, 0)[:3]), *upper]
    out: list[tuple[str, tuple[int, ...]]] = []
    for c in part.split():
        m = re.fullmatch(r"(>=|<=|>|<|=|\^|~)?v?([\dxX*.]+)", c)
        if not m:
            continue
        op, (nums, n) = m.group(1) or "", _tuple(m.group(2))
        full = (*nums, 0, 0, 0)[:3]
        if n == 0:
            continue  # '*', 'x': anything
        if op == "^":
            first = next((i for i, v in enumerate(nums) if v != 0), n - 1)
            out += [(">=", full), ("<", _bump(nums, first))]
        elif op == "~":
            out += [(">=", full), ("<", _bump(nums, min(1, n - 1) if n > 1 else 0))]
        elif op in ("", "=") and n < 3:
            out += [(">=", full), ("<", _bump(nums, n - 1))]
        else:
            out.append((op or "=", full))
    return out


def _bump(nums: list[int], index: int) -> tuple[int, ...]:
    head = [*nums[:index], nums[index] + 1] if index < len(nums) else [*nums, 1]
    return (*head, 0, 0, 0)[:3]


def _cmp(v: tuple[int, ...], op: str, w: tuple[int, ...]) -> bool:
    return {
        ">=": v >= w,
        "<=": v <= w,
        ">": v > w,
        "<": v < w,
        "=": v == w,
    }[op]


def _node_ok(version: str, spec: str) -> bool:
    """Some release of node ``version`` (a catalog major) satisfies the npm range ``spec``."""
    if not re.search(r"\d", spec):
        return True  # 'lts/*', 'node', '*'
    major = _tuple(version)[0][:1] or [0]
    mentioned = [_tuple(x)[0] for x in re.findall(r"\d+(?:\.\d+){0,2}", spec)]
    points: list[tuple[int, ...]] = [(major[0], 0, 0), (major[0], 999, 999)]
    points += [(*n, 0, 0)[:3] for n in mentioned if n and n[0] == major[0]]
    for alt in spec.split("||"):
        comps = _comparators(alt)
        if any(all(_cmp(p, op, w) for op, w in comps) for p in points):
            return True
    return False


def satisfies(language: str, version: str, spec: str) -> bool:
    """Whether the catalog's ``version`` of ``language`` meets one constraint ``spec``."""
    try:
        Version(version)
    except InvalidVersion:
        return True  # 'latest', 'bookworm': nothing to compare
    if language == "python":
        return _python_ok(version, spec)
    if language in ("node", "static"):
        return _node_ok(version, spec)
    return True


def _key(v: str) -> tuple[int, ...]:
    return tuple(int(p) for p in re.findall(r"\d+", v))


def _minor_dist(a: tuple[int, ...], b: tuple[int, ...]) -> int:
    pa, pb = (*a, 0, 0)[:2], (*b, 0, 0)[:2]
    return (pa[0] - pb[0]) * 100 + (pa[1] - pb[1])


def pick_version(
    catalog: BaseImageCatalog,
    key: str,
    language: str,
    constraints: list[str],
    probe: ImageProbe | None,
    *,
    tool: str | None = None,
    fitting: list[str] | None = None,
) -> tuple[str, str | None]:
    """The catalog version to build on, and a warning when a preference could not be met.

    Raises ``RuntimeVersionUnavailable`` when no version satisfies the requirements, or none of
    those that do is available (locally or in the configured registry). ``fitting`` (the versions
    a lockfile has wheels for) narrows the choice when it leaves something available.
    """
    entry = catalog.entries[key]
    known = sorted(dict.fromkeys([entry.default, *entry.versions]), key=_key, reverse=True)
    lines = [_split(c) for c in constraints]
    required = [(src, spec) for src, spec in lines if src not in PREFERENCE_SOURCES]
    preferred = [(src, spec) for src, spec in lines if src in PREFERENCE_SOURCES]
    needs = "; ".join(f"{spec} ({src})" for src, spec in required) or "any version"
    inside = [v for v in known if all(satisfies(language, v, spec) for _, spec in required)]
    where = f"{language} {needs}"
    how = (
        f"Pass --base-image with an image that has it, or add the version to [base_images.{key}] in"
        " ~/.containerkit/config.toml (versions = [...], image = your registry's template)"
    )
    if not inside:
        raise RuntimeVersionUnavailable(
            f"the app requires {where}; the base-image catalog has {language} {', '.join(known)}",
            hint=f"{how}, or widen the constraint if the app runs on one of those.",
        )

    def usable(v: str) -> bool:
        if probe is None:
            return True
        # the image carrying the language version; a separate final image (nginx for a static site)
        # and its stand-ins are the catalog's to resolve
        return probe(catalog.resolve(key, v, None, tool=tool).image)

    available = [v for v in inside if usable(v)]
    if not available:
        elsewhere = [v for v in known if v not in inside and usable(v)]
        images = ", ".join(catalog.resolve(key, v, None, tool=tool).image for v in inside)
        raise RuntimeVersionUnavailable(
            f"the app requires {where}: none of {images} is available locally or in the registry"
            + (f" (available: {language} {', '.join(elsewhere)})" if elsewhere else ""),
            hint=f"Load or push one of {images}; or: {how}.",
        )
    if fitting is not None and (narrowed := [v for v in available if v in fitting]):
        available = narrowed
    if not preferred:
        # nothing tells what exists: the catalog's default (the version it vets) when it is allowed
        newest = entry.default if probe is None and entry.default in available else available[0]
        return newest, None
    good = [v for v in available if all(satisfies(language, v, spec) for _, spec in preferred)]
    if good:
        return good[0], None
    pin = preferred[0][1]
    target = next((v for v in inside if satisfies(language, v, pin)), pin)
    # equally close, the older one: dependencies pinned beside a pin have wheels for it and older
    # Pythons, rarely for newer ones
    t = _key(target)
    choice = min(available, key=lambda v: (_key(v)[:1] != t[:1], abs(_minor_dist(_key(v), t)), _key(v) > t))
    asked = ", ".join(f"{spec} ({src})" for src, spec in preferred)
    return choice, (
        f"{language} {asked} is not available locally or in the registry; using {language} {choice}, the"
        f" closest available version{' within ' + needs if required else ''}"
    )
