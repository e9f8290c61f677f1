"""`containerkit run` on each example: built, pushed, pulled back, run, answers HTTP 200."""

from __future__ import annotations

import json
import time
import urllib.request
from pathlib import Path

import pytest
import yaml

from containerkit.tools.images import parse_image_ref
from containerkit.tools.manifests import validate_manifest
from containerkit.tools.registry import manifest_digest
from tests.conftest import free_port
from tests.integration._cli import ck, last_json

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def _get(url: str, deadline_s: float = 30) -> tuple[int, bytes]:
    end = time.monotonic() + deadline_s
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                return r.status, r.read()
        except OSError:
            if time.monotonic() > end:
                raise
            time.sleep(0.3)


@pytest.mark.parametrize("example", ["python-http", "node-http"])
def test_run_example_pushes_an_image_that_serves_http(
    example: str, example_copy, registry: str, docker_client, containers, tmp_path: Path
) -> None:
    app = example_copy(example)
    res = ck("run", str(app), "--registry", registry, "--json", home=tmp_path / "home")
    assert res.returncode == 0, res.stderr[-3000:]
    out = last_json(res.stdout)
    assert out["status"] == "succeeded"
    assert out["errors"] == []
    ref = parse_image_ref(out["image"])
    assert ref.registry == registry
    assert out["digest"].startswith("sha256:")
    # the registry serves exactly the digest containerkit reported
    assert manifest_digest(ref) == out["digest"]

    # the Dockerfile was generated (the user had none), runs as non-root, and was written to the repo
    dockerfile = Path(out["dockerfile"])
    assert dockerfile == app / "Dockerfile"
    assert "\nUSER 10001" in dockerfile.read_text()
    assert (app / ".dockerignore").is_file()

    # drop every local copy, pull it back from the registry by digest, and run it
    for tag in docker_client.images.get(out["image"]).tags:
        docker_client.images.remove(tag, force=True)
    docker_client.images.pull(ref.name, tag=out["digest"])
    port = free_port()
    name = f"ck-test-{example}-{port}"
    containers.append(name)
    docker_client.containers.run(
        f"{ref.name}@{out['digest']}", name=name, detach=True, network_mode="host", environment={"PORT": str(port)}
    )
    status, body = _get(f"http://127.0.0.1:{port}/")
    assert status == 200
    assert example in json.loads(body)["service"]
    assert docker_client.containers.get(name).attrs["Config"]["User"].startswith("10001")

    # manifests written, valid against the Kubernetes models, and pointing at the pushed digest
    kinds = {}
    for p in out["manifests"]:
        doc = yaml.safe_load(Path(p).read_text())
        validate_manifest(doc)
        kinds[doc["kind"]] = doc
    assert set(kinds) == {"Deployment", "Service"}
    container = kinds["Deployment"]["spec"]["template"]["spec"]["containers"][0]
    assert container["image"].endswith("@" + out["digest"])
    assert container["securityContext"]["runAsNonRoot"] is True
    assert container["resources"]["limits"] and container["resources"]["requests"]
    assert container["readinessProbe"]["httpGet"]["path"] == "/healthz"
    assert kinds["Service"]["spec"]["ports"][0]["targetPort"] == "http"


def test_existing_dockerfile_is_used_and_kept(example_copy, registry: str, tmp_path: Path) -> None:
    app = example_copy("python-http")
    mine = (
        "FROM python:3.11-slim\nWORKDIR /app\nCOPY requirements.txt .\n"
        'RUN pip install --no-cache-dir -r requirements.txt\nCOPY . .\nUSER 1000\nCMD ["python", "app.py"]\n'
    )
    (app / "Dockerfile").write_text(mine)
    res = ck("run", str(app), "--json", home=tmp_path / "home")
    assert res.returncode == 0, res.stderr[-3000:]
    out = last_json(res.stdout)
    assert out["dockerfile_origin"] == "user"
    assert (app / "Dockerfile").read_text() == mine
    assert out["digest"] is None  # no --registry: built, not pushed
