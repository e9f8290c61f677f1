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


def test_a_rerun_reuses_verify_scan_and_manifests_and_an_edit_does_not(example_copy, tmp_path: Path) -> None:
    app = example_copy("python-http")
    home = tmp_path / "home"

    first = _run(app, home)
    assert first["verify"]["passed"] and not first["verify"]["cached"]
    assert not first["scan"]["cached"]

    again = _run(app, home)
    assert again["image_id"] == first["image_id"]  # the same inputs build the same image
    assert again["verify"]["cached"] and again["verify"]["passed"]
    assert again["scan"]["cached"] and again["scan"]["counts"] == first["scan"]["counts"]
    assert Path(again["scan"]["report_path"]).is_file()  # the report is beside the new session
    assert again["session_id"] in again["scan"]["report_path"]
    assert again["manifests"] == first["manifests"]
    manifests = _session(home, again["session_id"]).manifests
    assert manifests is not None and manifests.cached

    with (app / "app.py").open("a") as fh:
        fh.write("\n# an edit\n")
    edited = _run(app, home)
    assert edited["image_id"] != first["image_id"]
    assert not edited["verify"]["cached"] and not edited["scan"]["cached"]


def test_a_changed_gate_scans_again(example_copy, tmp_path: Path) -> None:
    app = example_copy("python-http")
    home = tmp_path / "home"
    _run(app, home, "--no-verify")
    out = _run(app, home, "--no-verify", "--fail-on", "high")
    assert not out["scan"]["cached"]
    assert _run(app, home, "--no-verify", "--fail-on", "high")["scan"]["cached"]
