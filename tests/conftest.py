"""Shared fixtures. Integration tests use the real engine and registry brought up by
``scripts/test-infra.sh up`` (the README's test command does that first)."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
REGISTRY = os.environ.get("CK_REGISTRY", "127.0.0.1:5000")
# a run started by a test would leave a warm server for its throwaway home (cli/_warm.py): the tests
# of that start-up turn it on for themselves
os.environ.setdefault("CONTAINERKIT_AUTO_WARM", "0")


def _registry_up() -> bool:
    try:
        with urllib.request.urlopen(f"http://{REGISTRY}/v2/", timeout=3) as r:
            return bool(r.status == 200)
    except OSError:
        return False


@pytest.fixture(scope="session")
def docker_client():  # type: ignore[no-untyped-def]
    """The real engine; a missing one fails the run under CK_REQUIRE_INFRA=1 (CI), else skips."""
    import docker

    try:
        client = docker.from_env(timeout=600)
        client.ping()
    except Exception as exc:  # noqa: BLE001 - any failure means: no engine
        if os.environ.get("CK_REQUIRE_INFRA") == "1":
            pytest.fail(f"no Docker engine ({exc}); run scripts/test-infra.sh up")
        pytest.skip(f"no Docker engine: {exc}")
    return client


@pytest.fixture(scope="session")
def registry(docker_client) -> str:  # type: ignore[no-untyped-def]
    if not _registry_up():
        if os.environ.get("CK_REQUIRE_INFRA") == "1":
            pytest.fail(f"no registry on {REGISTRY}; run scripts/test-infra.sh up")
        pytest.skip(f"no registry on {REGISTRY}")
    return REGISTRY


@pytest.fixture
def ck_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private CONTAINERKIT_HOME; pulling disabled (no registry outside this machine is reachable)."""
    home = tmp_path / "ckhome"
    monkeypatch.setenv("CONTAINERKIT_HOME", str(home))
    monkeypatch.setenv("CONTAINERKIT_PULL_POLICY", "never")
    return home


@pytest.fixture
def example_copy(tmp_path: Path):  # type: ignore[no-untyped-def]
    """Copy an example app to a temp dir so a test may write a Dockerfile and manifests into it."""

    def make(name: str) -> Path:
        dst = tmp_path / name
        shutil.copytree(EXAMPLES / name, dst, ignore=shutil.ignore_patterns("node_modules", "Dockerfile", "k8s"))
        return dst

    return make


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def containers(docker_client) -> Iterator[list[str]]:  # type: ignore[no-untyped-def]
    """Names of containers a test starts; removed afterwards whatever happens."""
    started: list[str] = []
    yield started
    for name in started:
        with contextlib.suppress(Exception):
            docker_client.containers.get(name).remove(force=True)


K8S_KUBECONFIG = (
    Path(
        os.environ.get(
            "K8S_DIR", Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "containerkit/infra/k8s"
        )
    )
    / "kubeconfig"
)


@pytest.fixture(scope="session")
def kube():  # type: ignore[no-untyped-def]
    """The real cluster of `scripts/test-infra.sh up --k8s` (or $KUBECONFIG) with a Ready node.

    Skips with the reason when it is not up; fails instead under CK_REQUIRE_K8S=1.
    """
    from containerkit.errors import ContainerKitError
    from containerkit.tools.k8s.cluster import connect
    from containerkit.tools.k8s.models import KubeTarget

    path = os.environ.get("KUBECONFIG") or str(K8S_KUBECONFIG)
    try:
        cluster = connect(KubeTarget(kubeconfig=path))
        node = cluster.get("/api/v1/nodes/127.0.0.1") or next(iter(cluster.items("/api/v1/nodes")), None)
        ready = node is not None and any(
            c.get("type") == "Ready" and c.get("status") == "True" for c in node["status"].get("conditions", [])
        )
        if not ready:
            raise RuntimeError("no Ready node (is the kubelet up?)")
    except (ContainerKitError, RuntimeError) as exc:
        reason = f"no Kubernetes cluster ({exc}); run scripts/test-infra.sh up --k8s"
        if os.environ.get("CK_REQUIRE_K8S") == "1":
            pytest.fail(reason)
        pytest.skip(reason)
    os.environ["KUBECONFIG"] = path  # the CLI under test honours it
    return cluster


@pytest.fixture
def k8s_namespace(kube):  # type: ignore[no-untyped-def]
    """A fresh namespace, deleted afterwards (with everything in it)."""
    import uuid

    name = f"ck-test-{uuid.uuid4().hex[:8]}"
    a = kube.request(
        "POST", "/api/v1/namespaces", body={"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}
    )
    assert a.status < 300, a.data
    yield name
    kube.request("DELETE", f"/api/v1/namespaces/{name}", body={"propagationPolicy": "Background"})
