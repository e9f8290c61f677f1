"""Lean production images on the real engine (issue 13): what is absent from the final image, what
the build stage found for it, and that the container still answers."""

from __future__ import annotations

import contextlib
import shutil
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from containerkit.tools.analyze import analyze_repo
from containerkit.tools.analyze.models import ModuleAnalysis
from containerkit.tools.dockerfile import generate_dockerfile, load_catalog
from containerkit.tools.dockerfile.catalog import image_probe
from containerkit.tools.engine import BuildRequest, base_images_of, build_image, image_exists
from containerkit.tools.image_size import image_size
from tests.conftest import free_port

pytestmark = [pytest.mark.integration, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]


@contextlib.contextmanager
def _built(docker_client: Any, app: Path, content: str, dockerignore: str) -> Iterator[str]:
    missing = [img for img in base_images_of(content) if not image_exists(docker_client, img)]
    if missing:
        pytest.skip(f"base image {missing[0]} is not on this engine (scripts/test-infra.sh up builds it)")
    (app / "Dockerfile").write_text(content)
    (app / ".dockerignore").write_text(dockerignore)
    tag = f"ck-lean-{app.name}:{uuid.uuid4().hex[:8]}"
    try:
        build_image(
            BuildRequest(context=app, dockerfile=app / "Dockerfile", tags=[tag], pull_policy="never"),
            docker_client=docker_client,
        )
        yield tag
    finally:
        if image_exists(docker_client, tag):
            docker_client.images.remove(tag, force=True)


def _sh(docker_client: Any, tag: str, script: str) -> str:
    out = docker_client.containers.run(tag, ["sh", "-c", script], remove=True, network_mode="none")
    return str(out.decode("utf-8", "replace"))


def _answers(docker_client: Any, tag: str, containers: list[str]) -> None:
    port = free_port()
    name = f"ck-lean-{uuid.uuid4().hex[:8]}"
    containers.append(name)
    c = docker_client.containers.run(tag, detach=True, name=name, network_mode="host", environment={"PORT": str(port)})
    end = time.monotonic() + 60
    while time.monotonic() < end:
        c.reload()
        if c.status in ("exited", "dead"):
            pytest.fail(c.logs(tail=30).decode("utf-8", "replace"))
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=3) as resp:
                assert resp.status < 500
                return
        except urllib.error.HTTPError as exc:
            assert exc.code < 500
            return
        except OSError:
            time.sleep(1)
    pytest.fail(f"no answer on {port}: {c.logs(tail=30).decode('utf-8', 'replace')}")


def test_python_image_has_no_packaging_tools_and_compiled_app_bytecode_and_answers(  # type: ignore[no-untyped-def]
    tmp_path: Path, docker_client, registry, containers
) -> None:
    app = tmp_path / "python-http"
    shutil.copytree(ROOT / "examples" / "python-http", app)
    module = analyze_repo(app).primary()
    gen = generate_dockerfile(module, load_catalog(), probe=image_probe(docker_client, registry), repo_root=app)
    with _built(docker_client, app, gen.content, gen.dockerignore) as tag:
        out = _sh(
            docker_client,
            tag,
            "python -m pip --version >/dev/null 2>&1 && echo pip;"
            " python -c 'import setuptools' >/dev/null 2>&1 && echo setuptools;"
            " ls /opt/venv/bin | grep -q activate && echo activate;"
            " ls /app/__pycache__/*.pyc >/dev/null 2>&1 && echo bytecode;"
            " python -c 'import flask, gunicorn' && echo deps",
        )
        assert out.split() == ["bytecode", "deps"], out
        size = image_size(docker_client, tag, base_image=gen.base_image)
        assert size.base_size_bytes and size.size_bytes > size.base_size_bytes
        assert any("COPY" in layer.created_by for layer in size.layers if not layer.base)
        _answers(docker_client, tag, containers)


def test_run_time_library_of_a_wheel_built_from_source_comes_from_its_elf_needed_entries(  # type: ignore[no-untyped-def]
    tmp_path: Path, docker_client, registry
) -> None:
    """psycopg2 compiled from source links libpq.so.5: with no run-time package named by the
    analysis, the build stage reads it from the ELF NEEDED entries and the final stage installs libpq5."""
    app = tmp_path / "pg"
    app.mkdir()
    (app / "requirements.txt").write_text("psycopg2==2.9.10\n")
    (app / "app.py").write_text("import psycopg2\nprint(psycopg2.__version__)\n")
    module = ModuleAnalysis(
        path=".",
        name="pg",
        language="python",
        package_manager="pip",
        dependency_files=["requirements.txt"],
        dependencies=["psycopg2"],
        start_command="python app.py",
        build_packages=["gcc", "libpq-dev"],
    )
    catalog = load_catalog()
    gen = generate_dockerfile(module, catalog, probe=image_probe(docker_client, registry))
    # a base whose Python ships without its C headers (the offline test images) needs them to compile
    content = gen.content.replace("gcc libpq-dev", "gcc libpq-dev python3-dev", 1)
    assert "libpq5" not in content
    with _built(docker_client, app, content, gen.dockerignore) as tag:
        out = _sh(docker_client, tag, "cat /tmp/ck-runtime-packages; which gcc || true; python app.py")
        assert "libpq5" in out.split() and "/gcc" not in out and "2.9.10" in out, out


def test_node_app_started_with_node_runs_on_busybox_with_only_node_and_its_libraries(  # type: ignore[no-untyped-def]
    tmp_path: Path, docker_client, registry, containers
) -> None:
    app = tmp_path / "node-http"
    shutil.copytree(ROOT / "examples" / "node-http", app, ignore=shutil.ignore_patterns("node_modules"))
    module = analyze_repo(app).primary()
    gen = generate_dockerfile(module, load_catalog(), probe=image_probe(docker_client, registry), repo_root=app)
    assert gen.base_image.startswith("busybox:") and "plain node" in gen.base_reason
    with _built(docker_client, app, gen.content, gen.dockerignore) as tag:
        out = _sh(
            docker_client,
            tag,
            "command -v npm yarn corepack apt-get; ls /usr/local/include 2>/dev/null;"
            " node -e 'console.log(process.version, require(\"os\").userInfo({}).uid)'",
        )
        # no package manager, no headers: node (of the build image's version) as the runtime user
        assert out.split()[0].startswith("v22") and out.split()[1:] == ["10001"], out
        # stripped of its symbols and debug information (apt installs binutils in a stage of its own)
        stat = "stat -c %s /usr/local/bin/node"
        build_image_node = int(_sh(docker_client, base_images_of(gen.content)[0], stat))
        assert int(_sh(docker_client, tag, stat)) < build_image_node - 10_000_000
        size = image_size(docker_client, tag)
        assert size.size_bytes < 200_000_000  # the node image alone is 320 MB here
        _answers(docker_client, tag, containers)


def test_run_reports_the_size_of_each_layer_and_of_a_naive_image_on_the_same_base(  # type: ignore[no-untyped-def]
    tmp_path: Path, docker_client
) -> None:
    from tests.integration._cli import ck, last_json

    app = tmp_path / "python-http"
    shutil.copytree(ROOT / "examples" / "python-http", app)
    res = ck("run", str(app), "--no-scan", "--compare-naive", "--json", home=tmp_path / "home")
    out = last_json(res.stdout)
    try:
        assert res.returncode == 0, res.stderr[-2000:]
        size = out["image_size"]
        assert size["size_bytes"] == docker_client.images.get(out["image_id"]).attrs["Size"]
        assert size["base_image"] == "python:3.11-slim" and size["naive_base_image"] == "python:3.11-slim"
        own = [layer for layer in size["layers"] if not layer["base"]]
        assert any(layer["created_by"].startswith("COPY") for layer in own)
        assert sum(layer["size_bytes"] for layer in size["layers"]) <= size["size_bytes"]
        # interpreted, no native build: not bigger than the naive single-stage image
        assert size["size_bytes"] <= size["naive_size_bytes"] and size["ratio_to_naive"] <= 1.0
        assert out["base_reason"] and out["verify"]["passed"]
        naive_tag = f"containerkit-naive:{out['session_id'][:12].lower()}"  # built, measured, removed
        assert not [t for img in docker_client.images.list() for t in img.tags if t == naive_tag]
    finally:
        if out.get("image_id"):
            docker_client.images.remove(out["image_id"], force=True)
