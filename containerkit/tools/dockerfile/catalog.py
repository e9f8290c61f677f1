"""The base-image catalog: which image an ecosystem and version build on, and what exists."""

from __future__ import annotations

import tomllib
from importlib import resources
from typing import Any, Protocol

from pydantic import BaseModel

from containerkit.errors import InvalidOption

__all__ = ["BaseImageCatalog", "CatalogEntry", "ImageProbe", "ResolvedBase", "load_catalog"]


class ImageProbe(Protocol):
    """Says whether an image reference can be used (present locally, or in the registry)."""

    def __call__(self, ref: str) -> bool: ...


class CatalogEntry(BaseModel):
    image: str
    default: str
    versions: list[str] = []

    def ref(self, version: str) -> str:
        return self.image.format(version=version)


class ResolvedBase(BaseModel):
    image: str
    version: str | None
    warning: str | None = None


class BaseImageCatalog(BaseModel):
    entries: dict[str, CatalogEntry]
    override: str | None = None
    """A single image forced for every module (``--base-image``)."""

    def resolve(self, language: str, version: str | None, probe: ImageProbe | None = None) -> ResolvedBase:
        """Pick the image for ``language``/``version``; fall back to the closest available version."""
        if self.override:
            return ResolvedBase(image=self.override, version=version)
        entry = self.entries.get(language)
        if entry is None:
            raise InvalidOption(
                f"the base-image catalog has no entry for {language!r}",
                hint=f"Add [base_images.{language}] to your config or pass --base-image.",
            )
        wanted = version or entry.default
        ref = entry.ref(wanted)
        if probe is None or probe(ref):
            return ResolvedBase(image=ref, version=wanted)
        for cand in _closest(wanted, [entry.default, *entry.versions]):
            if probe(entry.ref(cand)):
                return ResolvedBase(
                    image=entry.ref(cand),
                    version=cand,
                    warning=f"{ref} is not available; using {entry.ref(cand)} (closest available version)",
                )
        return ResolvedBase(image=ref, version=wanted, warning=f"{ref} was not found locally or in the registry")


def _key(v: str) -> tuple[int, ...]:
    return tuple(int(p) for p in v.split(".") if p.isdigit())


def _closest(wanted: str, versions: list[str]) -> list[str]:
    w = _key(wanted)
    uniq = [v for i, v in enumerate(versions) if v not in versions[:i] and v != wanted]
    # same major first, then by distance
    return sorted(uniq, key=lambda v: (_key(v)[:1] != w[:1], abs(_dist(_key(v), w))))


def _dist(a: tuple[int, ...], b: tuple[int, ...]) -> int:
    pa = (a + (0, 0))[:2]
    pb = (b + (0, 0))[:2]
    return (pa[0] - pb[0]) * 100 + (pa[1] - pb[1])


def load_catalog(user: dict[str, Any] | None = None, override: str | None = None) -> BaseImageCatalog:
    """The shipped catalog, with the user's ``[base_images]`` table merged over it."""
    raw = tomllib.loads(resources.files(__package__).joinpath("catalog.toml").read_text("utf-8"))
    for lang, entry in (user or {}).items():
        if isinstance(entry, str):
            raw[lang] = {**raw.get(lang, {}), "image": entry, "default": raw.get(lang, {}).get("default", "latest")}
        elif isinstance(entry, dict):
            raw[lang] = {**raw.get(lang, {}), **entry}
    return BaseImageCatalog(entries={k: CatalogEntry.model_validate(v) for k, v in raw.items()}, override=override)
