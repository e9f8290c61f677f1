"""`containerkit run --module` on a workspace monorepo: the member builds from the workspace root."""

from __future__ import annotations

import shutil
import time
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import free_port
from tests.integration._cli import ck, last_json

pytestmark = [pytest.mark.integration, pytest.mark.slow]
FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "apps" / "mono-npm-workspaces"


def test_workspace_member_uses_its_sibling_package(docker_client, containers, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    repo = tmp_path / "repo"
    shutil.copytree(FIXTURE, repo)
    res = ck("run", str(repo), "--module", "apps/api", "--no-scan", "--json", home=tmp_path / "home")
    assert res.returncode == 0, res.stderr[-3000:]
    out = last_json(res.stdout)
    assert out["status"] == "succeeded"
    assert out["dockerfile"] == str(repo / "apps" / "api" / "Dockerfile")
    assert (repo / ".dockerignore").is_file()  # at the build context: the workspace root
    assert not (repo / "apps" / "web" / "Dockerfile").exists()  # only the asked-for member

    port = free_port()
    name = f"ck-test-mono-{port}"
    containers.append(name)
    docker_client.containers.run(
        out["image_id"], name=name, detach=True, network_mode="host", environment={"PORT": str(port)}
    )
    deadline = time.monotonic() + 30
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2) as r:
                body = r.read().decode()
            break
        except OSError:
            assert time.monotonic() < deadline, docker_client.containers.get(name).logs()[-2000:]
            time.sleep(0.3)
    assert "world" in body  # the answer comes from the sibling package @acme/shared
