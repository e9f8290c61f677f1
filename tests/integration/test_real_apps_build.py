"""Real apps, first try, on the real engine: the generated Dockerfile of each case builds, the
container answers HTTP, and the runtime version picked is the one the project asked for.

Cases come from tests/fixtures/realapps (small, dependency-light ones: the slow front-end builds are
checked statically by the unit tests).
"""

from __future__ import annotations

import contextlib
import shutil
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from typing import Any

import pytest

from containerkit.tools.analyze import analyze_repo
from containerkit.tools.dockerfile import generate_dockerfile, load_catalog
from containerkit.tools.dockerfile.catalog import image_probe
from containerkit.tools.engine import BuildRequest, base_images_of, build_image, image_exists
from tests.conftest import free_port

pytestmark = [pytest.mark.integration, pytest.mark.slow]

REAL = Path(__file__).resolve().parents[1] / "fixtures" / "realapps"


def _wait(url: str, container: Any, deadline_s: float = 90) -> str:
    end = time.monotonic() + deadline_s
    last = ""
    while time.monotonic() < end:
        container.reload()
        if container.status in ("exited", "dead"):
            pytest.fail(f"container exited before answering:\n{container.logs(tail=40).decode('utf-8', 'replace')}")
        try:
            with urllib.request.urlopen(url, timeout=3) as resp:
                return str(resp.read(200).decode("utf-8", "replace"))
        except urllib.error.HTTPError as exc:
            return f"HTTP {exc.code}"
        except OSError as exc:
            last = str(exc)
        time.sleep(1)
    pytest.fail(f"{url} did not answer ({last}):\n{container.logs(tail=40).decode('utf-8', 'replace')}")


@pytest.mark.parametrize(
    ("name", "base", "fixed_port"),
    [
        ("node-main-no-start", "node:22-slim", None),  # 1. no start script: main
        ("node-index-loads-server", "node:22-slim", None),
        ("node-pnpm8-lock", "node:22-slim", None),  # 4. pnpm 8 installed with npm -g
        ("node-yarn-berry", "node:22-slim", None),  # 4. yarn 3 installed with npm -g
        ("node-engines-18", "node:18-slim", None),  # 7. engines.node 18.x
        ("py-lone-main", "python:3.11-slim", None),  # 2. a lone main.py
        ("py-requires-312", "python:3.13-slim", None),  # 7. requires-python >=3.12: the newest there is
        ("py-gunicorn-app-elsewhere", "python:3.11-slim", None),  # 5. the app object found in web/server.py
        ("py-flask-run-localhost", "python:3.11-slim", None),  # 5. app.run() on 127.0.0.1 made reachable
        ("py-flask-package-factory", "python:3.11-slim", None),  # 5. create_app() in a package named apart
        ("py-psycopg2-source", "python:3.11-slim", None),  # 6. compiled: libpq-dev, gcc, Python's headers
        ("node-hardcoded-port", "node:22-slim", 5005),  # 5. listen(5005) in the code
        ("node-bcrypt-native", "node:20-slim", None),  # 6. bcrypt 5 compiled with node-gyp, no download
        ("py-django-collectstatic", "python:3.11-slim", None),  # STATIC_ROOT: collectstatic in the image
        ("node-prepare-builds", "node:22-slim", None),  # `prepare: tsc` runs at install: source first
    ],
)
def test_real_app_builds_and_answers(  # type: ignore[no-untyped-def]
    name: str, base: str, fixed_port: int | None, tmp_path: Path, docker_client, registry, containers
) -> None:
    app = tmp_path / name
    shutil.copytree(REAL / name, app, ignore=shutil.ignore_patterns("expected.json", "node_modules"))
    module = analyze_repo(app).primary()
    gen = generate_dockerfile(module, load_catalog(), probe=image_probe(docker_client, registry), repo_root=app)
    missing = [img for img in base_images_of(gen.content) if not image_exists(docker_client, img)]
    if missing:
        pytest.skip(f"base image {missing[0]} is not on this engine (scripts/test-infra.sh up builds it)")
    assert gen.base_image == base, gen.content
    (app / "Dockerfile").write_text(gen.content)
    (app / ".dockerignore").write_text(gen.dockerignore)
    tag = f"ck-real-{name}:{uuid.uuid4().hex[:8]}"
    try:
        build_image(
            BuildRequest(context=app, dockerfile=app / "Dockerfile", tags=[tag], pull_policy="never"),
            docker_client=docker_client,
        )
        port = fixed_port or free_port()
        cname = f"ck-real-{name}-{uuid.uuid4().hex[:6]}"
        containers.append(cname)
        container = docker_client.containers.run(
            tag, detach=True, name=cname, network_mode="host", environment={"PORT": str(port)}
        )
        body = _wait(f"http://127.0.0.1:{port}/", container)
        assert body and not body.startswith("HTTP 5"), body
    finally:
        for cname in list(containers):
            with contextlib.suppress(Exception):
                docker_client.containers.get(cname).remove(force=True)
        if image_exists(docker_client, tag):
            docker_client.images.remove(tag, force=True)


def test_uv_lock_installs_with_pip_from_a_simple_index_with_hashes(tmp_path: Path, docker_client) -> None:  # type: ignore[no-untyped-def]
    """The translated lock installs with plain pip, --require-hashes and --no-deps: no uv in the image."""
    from containerkit.tools.dockerfile._pylock import locked_requirements

    fixture = Path(__file__).resolve().parents[1] / "fixtures" / "apps" / "py-fastapi-uv"
    req = locked_requirements("uv.lock", (fixture / "uv.lock").read_text(), python="3.11")
    (tmp_path / "requirements.lock.txt").write_text(req.text())
    (tmp_path / "Dockerfile").write_text(
        "FROM python:3.11-slim\nCOPY requirements.lock.txt /tmp/\n"
        f"RUN pip install --no-cache-dir {req.pip_args()} -r /tmp/requirements.lock.txt && pip check\n"
    )
    tag = f"ck-real-pylock:{uuid.uuid4().hex[:8]}"
    try:
        build_image(
            BuildRequest(context=tmp_path, dockerfile=tmp_path / "Dockerfile", tags=[tag], pull_policy="never"),
            docker_client=docker_client,
        )
        out = docker_client.containers.run(tag, ["python", "-c", "import fastapi, uvicorn; print('ok')"], remove=True)
        assert out.strip() == b"ok"
    finally:
        if image_exists(docker_client, tag):
            docker_client.images.remove(tag, force=True)


def test_uv_project_built_from_its_translated_lock_answers(tmp_path: Path, docker_client, registry, containers) -> None:  # type: ignore[no-untyped-def]
    """generate_dockerfile(lock_requirements=True): the lock as hashed pip requirements, the app serving."""
    src = Path(__file__).resolve().parents[1] / "fixtures" / "apps" / "py-fastapi-uv"
    app = tmp_path / "py-fastapi-uv"
    shutil.copytree(src, app, ignore=shutil.ignore_patterns("expected.json"))
    module = analyze_repo(app).primary()
    gen = generate_dockerfile(
        module, load_catalog(), probe=image_probe(docker_client, registry), repo_root=app, lock_requirements=True
    )
    for rel, text in gen.files.items():
        (app / gen.context / rel).write_text(text)
    (app / "Dockerfile").write_text(gen.content)
    (app / ".dockerignore").write_text(gen.dockerignore)
    tag = f"ck-real-uvlock:{uuid.uuid4().hex[:8]}"
    try:
        build_image(
            BuildRequest(context=app, dockerfile=app / "Dockerfile", tags=[tag], pull_policy="never"),
            docker_client=docker_client,
        )
        port = free_port()
        cname = f"ck-real-uvlock-{uuid.uuid4().hex[:6]}"
        containers.append(cname)
        container = docker_client.containers.run(
            tag, detach=True, name=cname, network_mode="host", environment={"PORT": str(port)}
        )
        assert _wait(f"http://127.0.0.1:{port}/health", container)
    finally:
        for cname in list(containers):
            with contextlib.suppress(Exception):
                docker_client.containers.get(cname).remove(force=True)
        if image_exists(docker_client, tag):
            docker_client.images.remove(tag, force=True)
