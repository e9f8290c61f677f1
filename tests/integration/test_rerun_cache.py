"""A rerun with nothing changed reuses what cannot have changed; any change, or --no-cache, does it again."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from containerkit.graph import SessionStore
from containerkit.state import Session
from tests.integration._cli import ck, last_json

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def _run(app: Path, home: Path, *extra: str) -> dict[str, Any]:
    res = ck("run", str(app), "--json", "--image", "rerun-cache/app:1", *extra, home=home)
    assert res.returncode == 0, res.stderr[-3000:]
    out = last_json(res.stdout)
    assert out["status"] == "succeeded"
    return out


def _session(home: Path, session_id: str) -> Session:
    with SessionStore(home / "sessions.sqlite") as store:
        return store.load(session_id)


def test_a_rerun_with_nothing_changed_reports_the_verified_session_without_redoing_it(
    example_copy, tmp_path: Path
) -> None:
    app = example_copy("python-http")
    home = tmp_path / "home"
    first = _run(app, home)
    assert first["verify"]["passed"] and not first["verify"]["cached"] and not first["scan"]["cached"]
    assert first["reused_from"] is None

    res = ck("run", str(app), "--json", "--image", "rerun-cache/app:1", home=home)
    assert res.returncode == 0, res.stderr[-3000:]
    again = last_json(res.stdout)
    assert f"nothing changed since session {first['session_id']}" in " ".join(res.stderr.split())
    # the same session's result, every part of it marked as reused, no stage run again
    assert again["status"] == "succeeded" and again["reused_from"] == first["session_id"] == again["session_id"]
    assert again["image_id"] == first["image_id"] and again["image"] == first["image"]
    assert again["verify"]["cached"] and again["verify"]["passed"]
    assert again["scan"]["cached"] and again["scan"]["counts"] == first["scan"]["counts"]
    assert Path(again["scan"]["report_path"]).is_file()
    assert {s["stage"] for s in again["stages"]} == {s["stage"] for s in first["stages"]}
    assert all(s["duration_s"] == 0.0 and "reused: nothing changed" in s["note"] for s in again["stages"])
    with SessionStore(home / "sessions.sqlite") as store:
        assert [s.session_id for s in store.list()] == [first["session_id"]]  # no new session for a rerun

    with (app / "app.py").open("a") as fh:
        fh.write("\n# an edit\n")
    edited = _run(app, home)
    assert edited["reused_from"] is None and edited["session_id"] != first["session_id"]
    assert edited["image_id"] != first["image_id"]
    assert not edited["verify"]["cached"] and not edited["scan"]["cached"]


def test_a_change_outside_the_image_runs_a_session_that_reuses_verify_scan_and_manifests(
    example_copy, tmp_path: Path
) -> None:
    app = example_copy("python-http")
    home = tmp_path / "home"
    first = _run(app, home)
    (app / ".idea").mkdir()
    (app / ".idea" / "workspace.xml").write_text("<project/>\n")  # an IDE file: .dockerignore keeps it out

    again = _run(app, home)
    assert again["reused_from"] is None and again["session_id"] != first["session_id"]  # the tree changed
    assert again["image_id"] == first["image_id"]  # the same inputs build the same image
    assert again["verify"]["cached"] and again["verify"]["passed"]
    assert again["scan"]["cached"] and again["scan"]["counts"] == first["scan"]["counts"]
    assert Path(again["scan"]["report_path"]).is_file()  # the report is beside the new session
    assert again["session_id"] in again["scan"]["report_path"]
    assert again["manifests"] == first["manifests"]
    manifests = _session(home, again["session_id"]).manifests
    assert manifests is not None and manifests.cached


def test_a_rerun_checks_the_engine_the_registry_and_the_inputs_before_reusing(
    example_copy, tmp_path: Path, registry: str, docker_client: Any
) -> None:
    app = example_copy("python-http")
    home = tmp_path / "home"
    image = "rerun-cache/checked:1"

    def run(*extra: str) -> dict[str, Any]:
        res = ck("run", str(app), "--json", "--image", image, "--registry", registry, *extra, home=home)
        assert res.returncode == 0, res.stderr[-3000:]
        out = last_json(res.stdout)
        assert out["status"] == "succeeded"
        return out

    first = run("-e", "GREETING=first-secret-value")
    assert run("-e", "GREETING=first-secret-value")["reused_from"] == first["session_id"]
    # another value of the same variable: the app may answer differently, so it runs again
    other = run("-e", "GREETING=second-secret-value")
    assert other["reused_from"] is None and other["verify"]["cached"] is False
    # no value of the app's environment is kept anywhere in the home (keys hold an HMAC only)
    for f in home.rglob("*"):
        if f.is_file():
            assert b"secret-value" not in f.read_bytes(), f

    # the local tag now names another image: the earlier result is not what the engine holds
    base = docker_client.images.get(first["image_id"])
    busybox = docker_client.images.get("busybox:1.35")
    busybox.tag(image)
    again = run("-e", "GREETING=second-secret-value")
    assert again["reused_from"] is None and again["image_id"] == first["image_id"]
    assert run("-e", "GREETING=second-secret-value")["reused_from"] == again["session_id"]

    # someone pushed another image under the same name: the registry no longer serves the verified digest
    pushed = f"{registry}/{image}"
    busybox.tag(pushed)
    for _ in docker_client.images.push(pushed, stream=True, decode=True):
        pass
    base.tag(pushed)  # the engine's tag is ours again; only the registry differs
    after_push = run("-e", "GREETING=second-secret-value")
    assert after_push["reused_from"] is None and after_push["digest"] == again["digest"]

    # --no-cache runs every stage, and a label is a new session's
    assert run("-e", "GREETING=second-secret-value", "--no-cache")["reused_from"] is None
    assert run("-e", "GREETING=second-secret-value", "--label", "team=shop")["reused_from"] is None


def test_a_run_whose_repository_changed_meanwhile_is_not_kept_for_reruns(
    example_copy, tmp_path: Path, registry: str
) -> None:
    from containerkit.graph import run_session
    from containerkit.settings import Settings
    from containerkit.state import RunOptions

    app = example_copy("python-http")
    home = tmp_path / "home"
    settings = Settings.load({"CONTAINERKIT_HOME": str(home), "CONTAINERKIT_PULL_POLICY": "never"})
    edited: list[str] = []

    def edit_during_the_build(event: dict[str, Any]) -> None:
        # the user saves a file while the image builds: the image may hold the older one
        if event.get("stage") == "buildsec" and not edited:
            with (app / "app.py").open("a") as fh:
                fh.write("\n# saved during the build\n")
            edited.append("app.py")

    session = run_session(
        app,
        RunOptions(image="rerun-cache/meanwhile:1", verify=False, scan=False),
        settings=settings,
        on_event=edit_during_the_build,
    )
    assert session.status == "succeeded" and edited
    res = ck("run", str(app), "--json", "--image", "rerun-cache/meanwhile:1", "--no-verify", "--no-scan", home=home)
    out = last_json(res.stdout)
    assert out["status"] == "succeeded" and out["reused_from"] is None  # built again from the saved file


def test_a_changed_gate_scans_again(example_copy, tmp_path: Path) -> None:
    app = example_copy("python-http")
    home = tmp_path / "home"
    _run(app, home, "--no-verify")
    out = _run(app, home, "--no-verify", "--fail-on", "high")
    assert not out["scan"]["cached"]
    assert _run(app, home, "--no-verify", "--fail-on", "high")["scan"]["cached"]
