"""The warm server's door: what it refuses before forking (no fork happens in these tests)."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

from containerkit.cli import _warm


def _ask(request: dict[str, object], stamp: str) -> tuple[bool, dict[str, object]]:
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    with ours, theirs:
        read_end, write_end = os.pipe()
        try:
            _warm._send(theirs, request, [read_end, write_end, write_end])
            children: set[int] = set()
            keep_serving = _warm._accept(ours, ours, stamp, children)
            assert not children  # refused: nothing was forked
            reply, _ = _warm._recv(theirs)
        finally:
            os.close(read_end)
            os.close(write_end)
    return keep_serving, reply


def test_a_server_older_than_the_code_refuses_and_stops() -> None:
    keep, reply = _ask({"argv": ["run", "."], "env": {}, "cwd": "/", "code": "old"}, stamp="new")
    assert not keep and reply["status"] == "refused" and "changed" in str(reply["reason"])


@pytest.mark.parametrize(
    "request_doc",
    [
        {"argv": ["mcp"], "env": {}, "cwd": "/"},  # a long-running server is never forked from it
        {"argv": [], "env": {}, "cwd": "/"},
        {"argv": "run", "env": {}, "cwd": "/"},
        {"argv": ["run"], "env": "PATH=/bin", "cwd": "/"},
    ],
)
def test_what_is_not_a_warm_run_is_refused_and_the_server_goes_on(request_doc: dict[str, object]) -> None:
    stamp = "same"
    keep, reply = _ask({**request_doc, "code": stamp}, stamp=stamp)
    assert keep and reply["status"] == "refused"


def test_the_client_runs_in_its_own_process_when_no_server_answers(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("CONTAINERKIT_HOME", str(tmp_path))
    assert _warm.try_warm(["run", "."]) is None  # no socket
    (tmp_path / "warm.sock").write_text("")  # a stale file where the socket was: not a server
    assert _warm.try_warm(["run", "."]) is None
    assert _warm.try_warm(["lint", "Dockerfile"]) is None  # only `run` goes to a warm server
    assert not _warm.stop(tmp_path)  # nothing to stop; the stale socket is removed
    assert not (tmp_path / "warm.sock").exists()


def test_the_code_stamp_changes_when_a_file_of_containerkit_changes(tmp_path: Path) -> None:
    first = _warm.code_stamp()
    assert first == _warm.code_stamp()
    target = Path(_warm.__file__)
    st = target.stat()
    try:
        os.utime(target, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000))
        assert _warm.code_stamp() != first
    finally:
        os.utime(target, ns=(st.st_atime_ns, st.st_mtime_ns))


@pytest.mark.parametrize(
    ("environ", "why"),
    [
        ({"CONTAINERKIT_NO_WARM": "1"}, "this process is a warm run already"),
        ({"CONTAINERKIT_AUTO_WARM": "0"}, "turned off"),
        ({"CONTAINERKIT_AUTO_WARM": " Off "}, "turned off"),
    ],
)
def test_no_server_is_started_when_turned_off(tmp_path: Path, environ: dict[str, str], why: str) -> None:
    assert _warm.auto_start(tmp_path, environ) is None, why
    assert not (tmp_path / "warm.log").exists() and not (tmp_path / "warm.started").exists()


def test_no_server_is_started_for_a_home_too_deep_for_a_unix_socket(tmp_path: Path) -> None:
    home = tmp_path / ("d" * 120)
    assert _warm.auto_start(home, {}) is None
    assert not home.exists()  # nothing written either


def test_no_second_server_while_the_last_one_starts_or_after_it_failed(tmp_path: Path) -> None:
    """A run ending while the server it started still loads (no socket yet) must not start another;
    nor does every run retry a server that failed to start."""
    (tmp_path / "warm.started").touch()
    assert _warm.auto_start(tmp_path, {}) is None
    assert not (tmp_path / "warm.log").exists()
