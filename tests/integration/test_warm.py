"""`containerkit warm`: runs fork from a loaded server and behave exactly as a run in its own process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.integration._cli import ck, last_json

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def _client(home: Path, *args: str, cwd: Path, **popen: object) -> subprocess.Popen[str]:
    env = {**os.environ, "CONTAINERKIT_HOME": str(home), "CONTAINERKIT_PULL_POLICY": "never"}
    env.pop("CONTAINERKIT_NO_WARM", None)
    return subprocess.Popen(
        [sys.executable, "-m", "containerkit", *args],
        cwd=cwd,
        env=env,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        **popen,  # type: ignore[arg-type]
    )


@pytest.fixture
def warm_home(tmp_path: Path):  # type: ignore[no-untyped-def]
    home = tmp_path / "home"
    started = ck("warm", "--detach", "--idle", "2m", home=home)
    assert started.returncode == 0, started.stderr
    assert (home / "warm.sock").stat().st_mode & 0o777 == 0o600  # this user only
    yield home
    stopped = ck("warm", "--stop", home=home)
    assert stopped.returncode == 0 and "stopped" in stopped.stderr
    assert not (home / "warm.sock").exists()


def test_a_run_forks_from_the_warm_server_with_the_callers_folder_environment_and_exit_code(
    example_copy, warm_home: Path, registry: str, tmp_path: Path
) -> None:
    app = example_copy("python-http")
    # a relative path, the registry from the caller's environment: both are the caller's, not the server's
    env = {
        **os.environ,
        "CONTAINERKIT_HOME": str(warm_home),
        "CONTAINERKIT_PULL_POLICY": "never",
        "CONTAINERKIT_REGISTRY": registry,
    }
    env.pop("CONTAINERKIT_NO_WARM", None)
    res = subprocess.run(
        [sys.executable, "-m", "containerkit", "run", app.name, "--json", "--image", "warm/app:1"],
        cwd=app.parent,
        env=env,
        text=True,
        capture_output=True,
        timeout=600,
        check=False,
    )
    assert res.returncode == 0, res.stderr[-3000:]
    out = last_json(res.stdout)
    assert out["status"] == "succeeded" and out["image"] == f"{registry}/warm/app:1"
    assert out["repo"] == str(app.resolve()) and out["verify"]["passed"]
    assert "run forked as pid" in (warm_home / "warm.log").read_text()

    # bad input: the same typed error and exit code as a run in its own process
    bad = subprocess.run(
        [sys.executable, "-m", "containerkit", "run", "no-such-folder", "--json"],
        cwd=tmp_path,
        env=env,
        text=True,
        capture_output=True,
        timeout=120,
        check=False,
    )
    alone = subprocess.run(
        [sys.executable, "-m", "containerkit", "run", "no-such-folder", "--json"],
        cwd=tmp_path,
        env={**env, "CONTAINERKIT_NO_WARM": "1"},
        text=True,
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert bad.returncode == alone.returncode != 0
    assert last_json(bad.stdout)["errors"][0]["code"] == last_json(alone.stdout)["errors"][0]["code"]
    assert (warm_home / "warm.log").read_text().count("run forked as pid") == 2


def test_ctrl_c_reaches_the_warm_run_and_the_session_is_kept(example_copy, warm_home: Path) -> None:
    app = example_copy("python-http")
    proc = _client(warm_home, "run", str(app), "--image", "warm/interrupted:1", cwd=app)
    assert proc.stderr is not None
    seen = ""
    deadline = time.monotonic() + 120
    while "buildsec" not in seen and time.monotonic() < deadline:
        line = proc.stderr.readline()
        if not line:
            break
        seen += line
    assert "buildsec" in seen, seen
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, (seen + err)[-3000:]  # as Ctrl-C ends a run in its own process
    listed = ck("sessions", "list", "--json", home=warm_home)
    assert listed.returncode == 0 and str(app.resolve()) in listed.stdout  # the interrupted session is kept


def test_a_run_starts_a_warm_server_for_the_next_one_unless_turned_off(example_copy, tmp_path: Path) -> None:
    app = example_copy("python-http")
    home = tmp_path / "home"
    auto = {"CONTAINERKIT_AUTO_WARM": "1", "CK_TEST_TOKEN": "s3cr3t-of-the-first-run"}
    first = ck("run", str(app), "--no-scan", "--json", home=home, env_extra=auto)
    try:
        assert first.returncode == 0, first.stderr[-3000:]
        assert "started warm server" in first.stderr
        deadline = time.monotonic() + 60
        while not (home / "warm.sock").exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert (home / "warm.sock").stat().st_mode & 0o777 == 0o600
        pid = int((home / "warm.pid").read_text())
        # the server keeps nothing of the first run's environment but what it needs to start
        assert b"s3cr3t-of-the-first-run" not in Path(f"/proc/{pid}/environ").read_bytes()

        with (app / "app.py").open("a") as fh:
            fh.write("\n# an edit\n")
        second = ck("run", str(app), "--no-scan", "--json", home=home, env_extra=auto)
        assert second.returncode == 0, second.stderr[-3000:]
        assert last_json(second.stdout)["status"] == "succeeded"
        assert "run forked as pid" in (home / "warm.log").read_text()  # served warm
        assert "started warm server" not in second.stderr  # one server per home
    finally:
        ck("warm", "--stop", home=home)

    off = tmp_path / "off"
    third = ck("run", str(app), "--no-scan", "--json", home=off, env_extra={"CONTAINERKIT_AUTO_WARM": "0"})
    assert third.returncode == 0, third.stderr[-3000:]
    assert "warm server" not in third.stderr and not (off / "warm.sock").exists()


def test_a_server_whose_socket_another_server_took_stops(tmp_path: Path) -> None:
    """Two runs of one home ending together may each start a server; the one that lost its socket
    (the other bound the path again) gets no request ever, so it stops instead of idling for 10 minutes."""
    home = tmp_path / "home"
    first = ck("warm", "--detach", "--idle", "2m", home=home)
    assert first.returncode == 0, first.stderr
    old = int((home / "warm.pid").read_text())
    # the second as a run starts one: straight on the path (`warm --detach` would remove the socket first)
    env = {**os.environ, "CONTAINERKIT_HOME": str(home)}
    second = subprocess.Popen(
        [sys.executable, "-m", "containerkit", "warm", "--idle", "2m"],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while int((home / "warm.pid").read_text()) != second.pid:
            assert time.monotonic() < deadline, "the second server did not start"
            time.sleep(0.1)
        assert (home / "warm.sock").exists()  # the path is there all along, now the second's socket
        while time.monotonic() < deadline:
            try:
                os.kill(old, 0)
            except ProcessLookupError:
                break
            time.sleep(0.2)
        else:
            pytest.fail("the server that lost its socket is still running")
        assert second.poll() is None  # the new one serves
    finally:
        ck("warm", "--stop", home=home)
        second.wait(timeout=30)
