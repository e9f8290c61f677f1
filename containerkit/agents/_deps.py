"""What agents need that is not state: the engine, settings, the catalog, an optional LLM.

Passed as LangGraph's run context (``context=Deps(...)``), so it is rebuilt on resume and never
lands in a checkpoint (no client handles, no credentials in the session store).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from docker import DockerClient

from containerkit.errors import ContainerKitError
from containerkit.settings import Settings
from containerkit.tools.dockerfile import BaseImageCatalog, ImageProbe, load_catalog
from containerkit.tools.dockerfile.catalog import image_probe
from containerkit.tools.engine import connect_docker
from containerkit.tools.results_cache import ResultCache

if TYPE_CHECKING:  # prometheus_client is imported by the app that serves metrics, not by every run
    from containerkit.tools.metrics import BuildSecMetrics

__all__ = ["Deps"]


@dataclass
class Deps:
    settings: Settings
    docker_client: DockerClient | None = None
    llm: Any | None = None
    """Optional LangChain chat model; agents work without it."""
    registry_auth: dict[str, str] | None = field(default=None, repr=False)
    env: dict[str, str] = field(default_factory=dict, repr=False)
    """The app's environment for verify (``--env``): values live here only, never in a checkpoint."""
    kubeconfig: str | None = None
    """The kubeconfig the deploy stage uses; None: ``$KUBECONFIG``, else ``~/.kube/config``."""
    metrics: BuildSecMetrics | None = None
    """Prometheus collectors the buildsec stage records into (served by an embedding app)."""
    _catalog: BaseImageCatalog | None = field(default=None, repr=False)

    @property
    def docker(self) -> DockerClient:
        """The engine, connected on first use, so analysis works on a machine without Docker."""
        if self.docker_client is None:
            self.docker_client = connect_docker(self.settings.docker_host)
        return self.docker_client

    def results(self, *, enabled: bool = True) -> ResultCache:
        """Results keyed by their inputs (scan verdicts, verify outcomes, manifests); ``enabled=False``
        (``--no-cache``) reads none and still records this run's."""
        return ResultCache(self.settings.cache_dir / "results", enabled=enabled)

    def catalog(self, override: str | None = None) -> BaseImageCatalog:
        if override:
            return load_catalog(self.settings.base_images, override=override)
        if self._catalog is None:
            self._catalog = load_catalog(self.settings.base_images)
        return self._catalog

    def image_probe(self, registry: str | None) -> ImageProbe:
        """The catalog's probe (local engine, then the configured registry); without an engine, none."""
        try:
            client = self.docker
        except ContainerKitError:
            return lambda _ref: False
        return image_probe(client, registry)
