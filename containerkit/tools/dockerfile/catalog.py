"""The base-image catalog: which image an ecosystem and version build on, and what exists.

Shipped as ``catalog.toml``; the user's ``[base_images]`` table is merged over it (an enterprise
points entries, or a ``mirror`` prefix, at its own registry) and ``--base-image`` forces the image
of the final stage. With a probe, a missing image falls back to the closest available version.
"""

from __future__ import annotations

import tomllib
from importlib import resources
from typing import Any, Protocol

from pydantic import BaseModel, Field, ValidationError

from containerkit.errors import ContainerKitError, InvalidOption

__all__ = [
    "BaseImageCatalog",
    "CatalogEntry",
    "ImageProbe",
    "ResolvedBase",
    "closest_versions",
    "image_probe",
    "load_catalog",
]


class ImageProbe(Protocol):
    """Says whether an image reference can be used (present locally, or in the registry)."""

    def __call__(self, ref: str) -> bool: ...


class CatalogEntry(BaseModel):
    image: str
    runtime: str | None = None
    """Final-stage image when it differs from the build image (compiled languages, static sites)."""
    tools: dict[str, str] = Field(default_factory=dict)
    """Build image per package manager (maven, gradle, composer, conda)."""
    runtime_fallbacks: list[str] = Field(default_factory=list)
    """Final-stage images (no {version}) used, with a warning, when ``runtime`` is not available."""
    default: str
    versions: list[str] = Field(default_factory=list)

    def ref(self, version: str, tool: str | None = None) -> str:
        template = self.tools.get(tool or "", self.image)
        return template.format(version=version)

    def runtime_ref(self, version: str) -> str:
        return (self.runtime or self.image).format(version=version)


class ResolvedBase(BaseModel):
    image: str
    """The build-stage image (the only one for single-stage ecosystems)."""
    version: str | None
    warning: str | None = None
    runtime: str = ""
    """The final-stage image; equal to ``image`` when the ecosystem has no separate runtime."""

    def model_post_init(self, __context: Any) -> None:
        if not self.runtime:
            self.runtime = self.image


class BaseImageCatalog(BaseModel):
    entries: dict[str, CatalogEntry]
    override: str | None = None
    """A single image forced for the final stage of every module (``--base-image``)."""
    mirror: str | None = None
    """Registry prefix put before every catalog image (``registry.corp.example/hub``)."""

    def _m(self, ref: str) -> str:
        if not self.mirror:
            return ref
        return f"{self.mirror.rstrip('/')}/{ref.removeprefix('docker.io/')}"

    def resolve(
        self,
        language: str,
        version: str | None,
        probe: ImageProbe | None = None,
        *,
        tool: str | None = None,
    ) -> ResolvedBase:
        """Pick the images for ``language``/``version``; fall back to the closest available version."""
        entry = self.entries.get(language)
        if entry is None:
            if self.override:
                return ResolvedBase(image=self.override, version=version)
            raise InvalidOption(
                f"the base-image catalog has no entry for {language!r}",
                hint=f"Add [base_images.{language}] to your config or pass --base-image.",
            )
        wanted = _normalise(version, entry) if version else entry.default

        def pair(v: str) -> tuple[str, str]:
            build = self._m(entry.ref(v, tool))
            if self.override:
                return (build if entry.runtime else self.override), self.override
            return build, self._m(entry.runtime_ref(v))

        fallback: list[str] = []  # the stand-in final image, when the catalog's runtime is missing

        def runtime_ok(b: str, r: str) -> bool:
            if probe is None or r == b or probe(r):
                return True
            if self.override or not entry.runtime_fallbacks:
                return False
            if not fallback:
                fallback.append(next((f for f in map(self._m, entry.runtime_fallbacks) if probe(f)), ""))
            return bool(fallback[0])

        def usable(v: str) -> bool:
            if probe is None:
                return True
            b, r = pair(v)
            return probe(b) and runtime_ok(b, r)

        def result(v: str, warning: str | None) -> ResolvedBase:
            b, r = pair(v)
            if probe is not None and r != b and fallback and fallback[0] and not probe(r):
                note = f"{r} is not available locally or in the registry; the final stage uses {fallback[0]} instead"
                warning = f"{warning}; {note}" if warning else note
                r = fallback[0]
            return ResolvedBase(image=b, runtime=r, version=v, warning=warning)

        if usable(wanted):
            return result(wanted, None)
        missing = [x for x in dict.fromkeys(pair(wanted)) if probe is not None and not probe(x)]
        if len(missing) > 1 and runtime_ok(*pair(wanted)):
            missing = missing[:1]  # the runtime has a stand-in: only the build image's version is missing
        for cand in _closest(wanted, [entry.default, *entry.versions]):
            if usable(cand):
                b, _ = pair(cand)
                return result(
                    cand,
                    f"{', '.join(missing)} is not available locally or in the registry; "
                    f"using {language} {cand} ({b}), the closest available version",
                )
        b, r = pair(wanted)
        return ResolvedBase(
            image=b,
            runtime=r,
            version=wanted,
            warning=f"{', '.join(missing)} was not found locally or in the registry, nor any other {language} version",
        )


def _key(v: str) -> tuple[int, ...]:
    out: list[int] = []
    for p in v.split("."):
        digits = "".join(ch for ch in p if ch.isdigit())
        if not digits:
            break
        out.append(int(digits))
    return tuple(out)


def _normalise(version: str, entry: CatalogEntry) -> str:
    """'3.12.1' -> '3.12' and '>=20' -> '20' when the catalog tags at that precision."""
    v = version.strip().lstrip("^~>=<v ")
    known = [entry.default, *entry.versions]
    if v in known:
        return v
    key = _key(v)
    for k in known:
        kk = _key(k)
        if kk and key[: len(kk)] == kk:
            return k
    return v


def _closest(wanted: str, versions: list[str]) -> list[str]:
    w = _key(wanted)
    uniq = [v for v in dict.fromkeys(versions) if v != wanted]
    # same major first, then newer before older at equal distance (a newer runtime usually runs the code)
    return sorted(uniq, key=lambda v: (_key(v)[:1] != w[:1], abs(_dist(_key(v), w)), _dist(_key(v), w) < 0))


def closest_versions(wanted: str, versions: list[str]) -> list[str]:
    """``versions`` (``wanted`` left out) ordered by closeness to ``wanted``: same major first, then
    the smaller distance, the newer one on a tie."""
    return _closest(wanted, versions)


def _dist(a: tuple[int, ...], b: tuple[int, ...]) -> int:
    pa = (*a, 0, 0)[:2]
    pb = (*b, 0, 0)[:2]
    return (pa[0] - pb[0]) * 100 + (pa[1] - pb[1])


def load_catalog(user: dict[str, Any] | None = None, override: str | None = None) -> BaseImageCatalog:
    """The shipped catalog, with the user's ``[base_images]`` table merged over it."""
    raw: dict[str, Any] = tomllib.loads(resources.files(__package__).joinpath("catalog.toml").read_text("utf-8"))
    user = dict(user or {})
    mirror = user.pop("mirror", None)
    if mirror is not None and not isinstance(mirror, str):
        raise InvalidOption("base_images.mirror must be a string such as 'registry.corp.example/hub'")
    for lang, entry in user.items():
        base = raw.get(lang, {})
        if isinstance(entry, str):
            raw[lang] = {**base, "image": entry, "default": base.get("default", "latest")}
        elif isinstance(entry, dict):
            merged = {**base, **entry}
            if isinstance(base.get("tools"), dict) and isinstance(entry.get("tools"), dict):
                merged["tools"] = {**base["tools"], **entry["tools"]}
            merged.setdefault("default", "latest")
            raw[lang] = merged
        else:
            raise InvalidOption(
                f"base_images.{lang} must be an image template or a table, not {type(entry).__name__}",
                hint='Write e.g. python = "registry.corp/python:{version}-slim".',
            )
    try:
        entries = {k: CatalogEntry.model_validate(v) for k, v in raw.items()}
    except ValidationError as exc:
        raise InvalidOption(
            f"invalid [base_images] entry: {exc.errors()[0]['loc']} {exc.errors()[0]['msg']}",
            hint="Each entry needs at least `image` (a template with {version}) and `default`.",
        ) from None
    return BaseImageCatalog(entries=entries, override=override, mirror=mirror or None)


def image_probe(docker_client: Any, registry: str | None = None) -> ImageProbe:
    """A probe answering from the local engine, then from ``registry`` (the configured one).

    A bare reference (``python:3.12-slim``) is looked up in ``registry`` as
    ``registry/python:3.12-slim``; one naming ``registry`` itself (a mirror) is asked as it is. No
    other registry is contacted: a probe must not send traffic the user did not configure.
    """
    from containerkit.tools.engine import image_exists
    from containerkit.tools.images import parse_image_ref
    from containerkit.tools.registry import manifest_digest

    def probe(ref: str) -> bool:
        if image_exists(docker_client, ref):
            return True
        if not registry:
            return False
        try:
            parsed = parse_image_ref(ref)
        except ContainerKitError:
            return False
        if parsed.registry is None:
            parsed = parsed.with_registry(registry)
        return parsed.registry == registry and manifest_digest(parsed, timeout=5.0) is not None

    return probe
