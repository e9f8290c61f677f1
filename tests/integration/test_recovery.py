"""The recovery loop end to end: a failing build is classified, the Dockerfile fixed, the build retried."""

from __future__ import annotations

import shutil
import time
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import free_port
from tests.integration._cli import ck, last_json, tree_digest

pytestmark = [pytest.mark.integration, pytest.mark.slow]
FAULTS = Path(__file__).resolve().parents[1] / "fixtures" / "faults"


def test_missing_build_packages_are_added_until_the_image_builds_and_serves(  # type: ignore[no-untyped-def]
    docker_client, containers, tmp_path: Path
) -> None:
    app = tmp_path / "app"
    shutil.copytree(FAULTS / "psycopg2-no-headers", app)
    before = tree_digest(app)
    res = ck("run", str(app), "--no-scan", "--json", home=tmp_path / "home")
    assert res.returncode == 0, res.stderr[-3000:]
    out = last_json(res.stdout)
    assert out["status"] == "succeeded"

    recovery = out["recovery"]
    assert 1 <= len(recovery) <= 2  # bounded by --max-fix-attempts (default 2)
    assert all(a["cause"] == "native_build" and a["dockerfile_revision"] for a in recovery)
    assert "libpq-dev" in recovery[0]["detail"]
    builds = [s for s in out["stages"] if s["stage"] == "buildsec"]
    assert [b["ok"] for b in builds] == [False] * len(recovery) + [True]

    # the fixed Dockerfile lives in the session; the user's files are untouched
    assert out["dockerfile_origin"] == "fixed"
    assert not out["dockerfile"].startswith(str(app))
    assert "libpq-dev" in Path(out["dockerfile"]).read_text()
    assert tree_digest(app) == before | {p: v for p, v in tree_digest(app).items() if p.startswith("k8s/")}

    port = free_port()
    name = f"ck-test-fixed-{port}"
    containers.append(name)
    docker_client.containers.run(
        out["image_id"], name=name, detach=True, network_mode="host", environment={"PORT": str(port)}
    )
    deadline = time.monotonic() + 30
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2) as r:
                assert r.status == 200 and b"psycopg2" in r.read()
            break
        except OSError:
            assert time.monotonic() < deadline, docker_client.containers.get(name).logs()[-2000:]
            time.sleep(0.3)
