"""What agents need that is not state: the engine, settings, the catalog, an optional LLM.

Passed as LangGraph's run context (``context=Deps(...)``), so it is rebuilt on resume and never
lands in a checkpoint (no client handles, no credentials in the session store).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from docker import DockerClient

from containerkit.settings import Settings
from containerkit.tools.dockerfile import BaseImageCatalog, load_catalog
from containerkit.tools.engine import connect_docker, image_exists
from containerkit.tools.images import parse_image_ref
from containerkit.tools.registry import manifest_digest

__all__ = ["Deps"]


@dataclass
class Deps:
    settings: Settings
    docker_client: DockerClient | None = None
    llm: Any | None = None
    """Optional LangChain chat model; agents work without it."""
    registry_auth: dict[str, str] | None = field(default=None, repr=False)
    _catalog: BaseImageCatalog | None = field(default=None, repr=False)

    @property
    def docker(self) -> DockerClient:
        """The engine, connected on first use, so analysis works on a machine without Docker."""
        if self.docker_client is None:
            self.docker_client = connect_docker(self.settings.docker_host)
        return self.docker_client

    def catalog(self, override: str | None = None) -> BaseImageCatalog:
        if override:
            return load_catalog(self.settings.base_images, override=override)
        if self._catalog is None:
            self._catalog = load_catalog(self.settings.base_images)
        return self._catalog

    def image_probe(self, registry: str | None) -> Any:
        """A probe for the catalog: the image exists locally, or the configured registry serves it."""

        def probe(ref: str) -> bool:
            try:
                if image_exists(self.docker, ref):
                    return True
            except Exception:  # noqa: BLE001 - no engine: fall through to the registry
                pass
            if registry:
                r = parse_image_ref(ref)
                if r.registry == registry:
                    return manifest_digest(r, timeout=3) is not None
            return False

        return probe
