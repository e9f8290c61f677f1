"""The session store under hostile conditions: corrupt, foreign, locked, a home that is a file, one bad row."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from containerkit.errors import InvalidOption, SessionStoreUnusable
from containerkit.graph.sessions import SessionStore, doctor
from containerkit.settings import Settings
from containerkit.state import RunOptions, Session


def _store_with(path: Path, *ids: str) -> None:
    with SessionStore(path) as store:
        for n, sid in enumerate(ids, start=1):
            session = Session(session_id=sid, repo_path="/repo", options=RunOptions())
            checkpoint: Any = {
                "v": 1,
                "id": f"1ef00000-0000-6000-8000-{n:012d}",
                "ts": "2026-01-01T00:00:00+00:00",
                "channel_values": session.model_dump(),
                "channel_versions": {},
                "versions_seen": {},
            }
            config: Any = {"configurable": {"thread_id": sid, "checkpoint_ns": ""}}
            store.saver.put(config, checkpoint, {"source": "input", "step": -1, "parents": {}}, {})


def test_one_corrupt_checkpoint_row_is_reported_and_never_hides_the_others(tmp_path: Path) -> None:
    db = tmp_path / "sessions.sqlite"
    _store_with(db, "aaaa00000001", "bbbb00000002", "cccc00000003")
    conn = sqlite3.connect(db)
    conn.execute("UPDATE checkpoints SET checkpoint = X'DEADBEEF00' WHERE thread_id = 'bbbb00000002'")
    conn.commit()
    conn.close()
    with SessionStore(db) as store:
        infos = {i.session_id: i for i in store.list()}
        assert infos.keys() == {"aaaa00000001", "bbbb00000002", "cccc00000003"}
        assert infos["bbbb00000002"].status == "unreadable"
        assert "cannot be read" in infos["bbbb00000002"].problem
        assert infos["aaaa00000001"].status == "running"
        with pytest.raises(SessionStoreUnusable, match="bbbb00000002") as exc:
            store.load("bbbb00000002")
        assert "sessions doctor" in exc.value.hint
    report = doctor(db)
    assert report.ok and report.moved_to is None
    assert [u.split(":")[0] for u in report.unreadable] == ["bbbb00000002"]


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (b"garbage\n" * 100, "not a SQLite database"),
        (b"SQLite format 3\x00" + b"\x01" * 200, "corrupt|cannot be used"),
    ],
)
def test_a_corrupt_store_is_a_typed_error_and_doctor_moves_it_aside(tmp_path: Path, content: bytes, words: str) -> None:
    db = tmp_path / "sessions.sqlite"
    db.write_bytes(content)
    with pytest.raises(SessionStoreUnusable, match=words) as exc:
        SessionStore(db)
    assert "containerkit sessions doctor" in exc.value.hint
    report = doctor(db)
    assert report.ok
    assert report.moved_to is not None and ".corrupt-" in report.moved_to
    assert Path(report.moved_to).read_bytes() == content  # kept, not deleted
    with SessionStore(db) as store:
        assert store.list() == []


def test_a_foreign_sqlite_database_is_never_changed(tmp_path: Path) -> None:
    db = tmp_path / "sessions.sqlite"
    conn = sqlite3.connect(db)
    conn.execute("CREATE TABLE users (name TEXT)")
    conn.commit()
    conn.close()
    before = db.read_bytes()
    with pytest.raises(SessionStoreUnusable, match="did not create"):
        SessionStore(db)
    assert db.read_bytes() == before
    assert doctor(db, repair=False).ok is False
    assert db.read_bytes() == before


def test_a_locked_store_names_the_other_process_and_doctor_moves_nothing(tmp_path: Path) -> None:
    db = tmp_path / "sessions.sqlite"
    _store_with(db, "aaaa00000001")
    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("PRAGMA journal_mode=DELETE")
    holder.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(SessionStoreUnusable, match=r"locked|cannot be used"):
            store = SessionStore.__new__(SessionStore)
            store.path = db
            store.conn = sqlite3.connect(db, timeout=0.1, isolation_level=None)
            try:
                with store:
                    store.conn.execute("BEGIN IMMEDIATE")
            finally:
                store.conn.close()
        report = doctor(db)
        assert report.moved_to is None
    finally:
        holder.execute("ROLLBACK")
        holder.close()


@pytest.mark.parametrize("kind", ["folder", "fifo"])
def test_a_store_that_is_not_a_file_is_a_typed_error(tmp_path: Path, kind: str) -> None:
    import os

    db = tmp_path / "sessions.sqlite"
    if kind == "folder":
        db.mkdir()
    else:
        os.mkfifo(db)
    with pytest.raises(SessionStoreUnusable, match="not a regular file"):
        SessionStore(db)


def test_a_home_that_is_a_file_is_a_typed_error(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.write_text("x")
    with pytest.raises(SessionStoreUnusable, match="is a file"):
        SessionStore(home / "sessions.sqlite")
    with pytest.raises(InvalidOption, match="is a file"):
        Settings.load({"CONTAINERKIT_HOME": str(home)})
    with pytest.raises(SessionStoreUnusable, match="CONTAINERKIT_HOME"):
        SessionStore(home / "sub" / "sessions.sqlite")


def test_an_empty_or_blank_session_prefix_matches_nothing(tmp_path: Path) -> None:
    db = tmp_path / "sessions.sqlite"
    _store_with(db, "aaaa00000001")
    with SessionStore(db) as store:
        for prefix in ("", "   "):
            with pytest.raises(InvalidOption, match="empty"):
                store.resolve(prefix)
        assert store.resolve("aaaa") == "aaaa00000001"


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("registry = 5\n", "registry must be a string"),
        ("base_images = 5\n", "base_images must be a table"),
        ("x = " + "9" * 10_000 + "\n", "cannot be read as TOML"),
        ("x = " + "[" * 100_000 + "]" * 100_000 + "\n", "nested too deeply|deeper"),
        ("pull_policy = \n", "not valid TOML"),
    ],
)
def test_a_hostile_config_toml_is_an_invalid_option(tmp_path: Path, text: str, words: str) -> None:
    (tmp_path / "config.toml").write_text(text)
    with pytest.raises(InvalidOption, match=words):
        Settings.load({"CONTAINERKIT_HOME": str(tmp_path)})
