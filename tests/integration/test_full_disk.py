"""A full disk under CONTAINERKIT_HOME (a small tmpfs mounted by the test): a clean typed error, the
store intact, and once space is freed the work carries on. Needs root (mount)."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.integration._cli import ck, last_json
from tests.integration.test_operations import STAGES, _env, _start, _wait_for

pytestmark = [pytest.mark.integration]


@pytest.fixture
def small_home(tmp_path: Path) -> Iterator[Path]:
    """CONTAINERKIT_HOME on its own 8 MiB tmpfs."""
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("mounting a tmpfs needs root")
    home = tmp_path / "home"
    home.mkdir()
    res = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", str(home)], capture_output=True, text=True)
    if res.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {res.stderr.strip()}")
    try:
        yield home
    finally:
        subprocess.run(["umount", "-l", str(home)], check=False)


def _fill(home: Path) -> Path:
    """Write until the file system refuses (ENOSPC); returns the filler to delete later."""
    filler = home / "filler"
    with filler.open("wb", buffering=0) as fh:  # unbuffered: closing has nothing left to flush
        try:
            while True:
                fh.write(b"\0" * 65536)
        except OSError as exc:
            assert exc.errno == 28
    return filler


def _integrity(home: Path) -> str:
    conn = sqlite3.connect(f"file:{home / 'sessions.sqlite'}?mode=ro", uri=True)
    try:
        return str(conn.execute("PRAGMA integrity_check").fetchone()[0])
    finally:
        conn.close()


def _repo(tmp_path: Path, name: str) -> Path:
    repo = tmp_path / name
    repo.mkdir()
    (repo / "README.md").write_text("nothing to deploy\n")
    return repo


def test_a_full_disk_is_a_clean_error_and_the_store_stays_intact(small_home: Path, tmp_path: Path) -> None:
    first = ck("run", str(_repo(tmp_path, "a")), "--json", home=small_home)
    saved = last_json(first.stdout)["session_id"]
    filler = _fill(small_home)

    res = ck("run", str(_repo(tmp_path, "b")), "--json", home=small_home)
    assert res.returncode == 1
    assert "Traceback" not in res.stderr
    error = last_json(res.stdout)["errors"][0]
    assert error["code"] == "CK503"
    assert "is full" in error["message"] and "Free some space" in error["hint"]
    # doctor moves nothing aside on a full disk (the store is not corrupt)
    doc = ck("sessions", "doctor", "--json", home=small_home)
    report = json.loads(doc.stdout)
    assert doc.returncode == 1 and report["moved_to"] is None and not report["actions"]
    exported = ck("sessions", "export", saved, "-o", str(small_home / "bundle.tar.gz"), home=small_home)
    assert exported.returncode != 0 and "Traceback" not in exported.stderr
    assert not [p for p in small_home.iterdir() if p.name.endswith((".tmp", ".tar.gz"))]

    filler.unlink()
    assert _integrity(small_home) == "ok"
    listed = json.loads(ck("sessions", "list", "--json", home=small_home).stdout)
    assert [r["session_id"] for r in listed] == [saved]
    again = ck("run", str(tmp_path / "b"), "--json", home=small_home)
    assert again.returncode == 2 and last_json(again.stdout)["status"] == "failed"  # saved this time
    assert len(json.loads(ck("sessions", "list", "--json", home=small_home).stdout)) == 2


@pytest.mark.slow
def test_a_disk_that_fills_during_a_build_loses_nothing_and_resume_finishes(
    small_home: Path, example_copy: Any, registry: str
) -> None:
    app = example_copy("python-http")
    proc = _start("run", str(app), "--registry", registry, "--json", env=_env(small_home))
    seen = _wait_for(proc, r"▶ buildsec")
    session_id = next(ln.split()[1] for ln in seen if ln.startswith("session "))
    filler = _fill(small_home)
    _out, err = proc.communicate(timeout=600)
    assert proc.returncode != 0
    assert "Traceback" not in err
    assert "CK503" in err or "CK113" in err, err[-2000:]

    filler.unlink()
    assert _integrity(small_home) == "ok"
    shown = last_json(ck("sessions", "show", session_id, "--json", home=small_home).stdout)
    assert shown["history"][0]["stage"] == "analyze"  # what was checkpointed before the disk filled is kept
    res = ck("resume", session_id, "--json", home=small_home)
    assert res.returncode == 0, res.stderr[-3000:]
    result = last_json(res.stdout)
    assert result["status"] == "succeeded"
    assert [s["stage"] for s in result["stages"] if s["ok"]] == STAGES
    assert [s["stage"] for s in result["stages"]].count("analyze") == 1
