"""Bad input: a clear error (code + hint), non-zero exit, session saved, nothing of the user's overwritten."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.integration._cli import ck, last_json, tree_digest

pytestmark = pytest.mark.integration


def _run_fails(target: Path, home: Path, *extra: str) -> tuple[int, dict[str, object]]:
    res = ck("run", str(target), "--json", *extra, home=home)
    assert "Traceback" not in res.stderr
    return res.returncode, last_json(res.stdout)


def _assert_saved(home: Path, session_id: str, code: str) -> None:
    shown = ck("sessions", "show", session_id, "--json", home=home)
    assert shown.returncode == 0, shown.stderr
    state = last_json(shown.stdout)
    assert state["status"] == "failed"
    assert code in [e["code"] for e in state["errors"]]
    assert all(e["hint"] for e in state["errors"])


@pytest.mark.parametrize(
    ("make", "code"),
    [
        (lambda d: d / "does-not-exist", "CK101"),
        (lambda d: (d / "file.txt").write_text("x") and d / "file.txt", "CK102"),
        (lambda d: (d / "empty").mkdir() or d / "empty", "CK103"),
    ],
    ids=["missing-path", "file-not-folder", "empty-folder"],
)
def test_bad_paths_fail_clearly_and_are_saved(make, code: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    target = make(tmp_path)
    rc, out = _run_fails(target, tmp_path / "home")
    assert rc == 2
    assert out["status"] == "failed"
    assert out["errors"][0]["code"] == code
    assert out["errors"][0]["hint"]
    _assert_saved(tmp_path / "home", str(out["session_id"]), code)


def test_malformed_package_json_names_the_line(tmp_path: Path) -> None:
    app = tmp_path / "app"
    app.mkdir()
    (app / "package.json").write_text('{\n  "name": "x",\n  "dependencies": {"express": "4"\n}\n')
    before = tree_digest(app)
    rc, out = _run_fails(app, tmp_path / "home")
    assert rc == 2
    err = out["errors"][0]
    assert err["code"] == "CK104"
    assert "package.json" in err["message"] and "line" in err["message"]
    assert tree_digest(app) == before
    _assert_saved(tmp_path / "home", str(out["session_id"]), "CK104")


def test_invalid_image_reference_is_rejected_before_work(example_copy, tmp_path: Path) -> None:
    app = example_copy("python-http")
    before = tree_digest(app)
    rc, out = _run_fails(app, tmp_path / "home", "--image", "UPPER/Case:bad tag")
    assert rc == 2
    assert out["status"] == "failed" and out["errors"][0]["code"] == "CK105"
    assert tree_digest(app) == before  # nothing written: rejected before analysis
    assert "session_id" not in out  # refused at the edge, before a session (or any work) starts


@pytest.mark.slow
def test_unreachable_registry(example_copy, docker_client, tmp_path: Path) -> None:
    app = example_copy("python-http")
    rc, out = _run_fails(app, tmp_path / "home", "--registry", "127.0.0.1:9")
    assert rc == 1
    assert out["status"] == "failed"
    err = out["errors"][0]
    assert err["code"] == "CK301"
    assert "127.0.0.1:9" in err["message"] and err["hint"]
    assert out["image_id"]  # the build itself succeeded and is kept
    _assert_saved(tmp_path / "home", str(out["session_id"]), "CK301")


@pytest.mark.slow
def test_failing_build_is_recovered_then_fails_with_attempts_recorded(docker_client, tmp_path: Path) -> None:
    app = tmp_path / "app"
    app.mkdir()
    (app / "app.py").write_text("print('hi')\n")
    # a dependency that does not exist: the user's Dockerfile fails, then the generated one fails too
    (app / "requirements.txt").write_text("containerkit-no-such-package-xyz==9.9.9\n")
    mine = 'FROM python:3.11-slim\nCOPY . /app\nRUN exit 3\nCMD ["python", "/app/app.py"]\n'
    (app / "Dockerfile").write_text(mine)
    before = tree_digest(app)
    rc, out = _run_fails(app, tmp_path / "home")
    assert rc == 1
    assert out["status"] == "failed"
    recovery = out["recovery"]
    assert len(recovery) >= 1
    assert recovery[0]["failed_stage"] == "buildsec" and recovery[0]["code"] == "CK202"
    assert recovery[0]["action"] == "fix_dockerfile"
    assert recovery[0]["dockerfile_revision"] == 2  # a changed Dockerfile was built
    builds = [s for s in out["stages"] if s["stage"] == "buildsec"]
    assert len(builds) == 1 + sum(1 for a in recovery if a["dockerfile_revision"])
    assert all(not b["ok"] for b in builds)
    codes = [e["code"] for e in out["errors"]]
    assert codes.count("CK202") == len(builds) + 1  # every failed build, and the final stop on the last one
    # the generated Dockerfile fails for a cause that is the user's: a precise stop, not a blind retry
    assert codes[-1] == "CK202" and out["errors"][-1]["category"] == "package_not_found"
    assert recovery[-1]["outcome"].startswith("failed again")
    assert "package_not_found" in out["errors"][-1]["message"]
    assert "No matching distribution found for containerkit-no-such-package-xyz" in out["errors"][-1]["message"]
    assert tree_digest(app) == before  # the user's Dockerfile is untouched
    _assert_saved(tmp_path / "home", str(out["session_id"]), "CK202")
