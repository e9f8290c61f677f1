"""Per-ecosystem version ordering (univers) and OSV range evaluation."""

from __future__ import annotations

from functools import lru_cache

from univers import versions as uv

from containerkit.tools.vulns.osv import OsvAffected, OsvEvent

_CLASSES: dict[str, type[uv.Version]] = {
    "PyPI": uv.PypiVersion,
    "npm": uv.SemverVersion,
    "crates.io": uv.SemverVersion,
    "Go": uv.GolangVersion,
    "Maven": uv.MavenVersion,
    "RubyGems": uv.RubygemsVersion,
    "Packagist": uv.ComposerVersion,
    "Debian": uv.DebianVersion,
    "Ubuntu": uv.DebianVersion,
    "Alpine": uv.AlpineLinuxVersion,
}


class BadVersion(ValueError):
    """A version string the ecosystem's scheme cannot read."""


def base_ecosystem(ecosystem: str) -> str:
    return ecosystem.split(":", 1)[0]


@lru_cache(maxsize=65536)
def parse_version(ecosystem: str, version: str) -> uv.Version:
    cls = _CLASSES.get(base_ecosystem(ecosystem))
    if cls is None:
        raise BadVersion(f"no version scheme for ecosystem {ecosystem!r}")
    text = version
    if cls is uv.ComposerVersion or cls is uv.GolangVersion:
        text = text.removeprefix("v")
    try:
        return cls(text)
    except Exception as exc:  # noqa: BLE001 - univers raises several types for unreadable input
        raise BadVersion(f"{version!r} is not a {base_ecosystem(ecosystem)} version: {exc}") from None


def _ge(a: uv.Version, b: uv.Version) -> bool:
    """``a >= b`` through ``<`` only: univers' Alpine/Gentoo ``>=`` disagrees with its ``<`` (r10 vs r6)."""
    return not a < b


def _gt(a: uv.Version, b: uv.Version) -> bool:
    return b < a


def _event_version(e: OsvEvent) -> str:
    return e.introduced or e.fixed or e.last_affected or e.limit or ""


def affected_fix(ecosystem: str, version: str, affected: OsvAffected) -> tuple[bool, str]:
    """Whether ``version`` is affected, and the lowest fixed version above it ("" when none is known).

    Follows the OSV evaluation: events sorted by version, ``introduced`` opens, ``fixed`` (>=) and
    ``last_affected`` (>) close. GIT ranges are ignored; an explicit ``versions`` list also counts.
    """
    v = parse_version(ecosystem, version)
    hit = version in affected.versions
    fix = ""
    for rng in affected.ranges:
        if rng.type not in ("ECOSYSTEM", "SEMVER"):
            continue
        keyed: list[tuple[uv.Version | None, int, OsvEvent]] = []
        for e in rng.events:
            raw = _event_version(e)
            if e.introduced == "0":
                keyed.append((None, 0, e))
                continue
            try:
                keyed.append((parse_version(ecosystem, raw), 1, e))
            except BadVersion:
                continue
        keyed.sort(key=lambda t: (t[1], t[0]) if t[0] is not None else (0, v))
        vulnerable = False
        for ev_version, _, e in keyed:
            if e.introduced is not None:
                if ev_version is None or _ge(v, ev_version):
                    vulnerable = True
            elif e.fixed is not None and ev_version is not None:
                if _ge(v, ev_version):
                    vulnerable = False
            elif e.last_affected is not None and ev_version is not None and _gt(v, ev_version):
                vulnerable = False
        if vulnerable:
            hit = True
            fixes = sorted(
                (ev for ev, _, e in keyed if e.fixed is not None and ev is not None and _gt(ev, v)),
            )
            if fixes and not fix:
                fix = str(next(e.fixed for ev, _, e in keyed if ev == fixes[0] and e.fixed is not None))
    return hit, fix
