"""A read-only checkout (a CI mount, a shared volume): the run still works, nothing is written there."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.integration._cli import ck, last_json, tree_digest

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.fixture
def readonly_copy(example_copy, tmp_path: Path):  # type: ignore[no-untyped-def]
    src = example_copy("node-http")
    ro = tmp_path / "ro"
    ro.mkdir()
    if subprocess.run(["mount", "--bind", str(src), str(ro)], capture_output=True, check=False).returncode != 0:
        pytest.skip("bind mounts need root (this test makes a real read-only file system)")
    try:
        subprocess.run(["mount", "-o", "remount,ro,bind", str(ro)], check=True, capture_output=True)
        yield ro
    finally:
        subprocess.run(["umount", str(ro)], check=False, capture_output=True)


def test_generated_dockerfile_goes_to_the_session_when_the_repo_is_read_only(
    readonly_copy: Path, tmp_path: Path
) -> None:
    before = tree_digest(readonly_copy)
    res = ck("run", str(readonly_copy), "--no-scan", "--out", str(tmp_path / "k8s"), "--json", home=tmp_path / "home")
    assert res.returncode == 0, res.stderr[-3000:]
    out = last_json(res.stdout)
    assert out["status"] == "succeeded"
    assert out["dockerfile"].startswith(str(tmp_path / "home"))  # kept in the session folder
    assert "cannot write into the repository" in res.stderr
    assert tree_digest(readonly_copy) == before
    assert out["image_id"]
