"""The cases of issue 14, through the CLI: each ends in a typed error with a hint (never CK999, never a hang),
and nothing is written where the user did not point."""

from __future__ import annotations

import io
import json
import os
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

import containerkit.cli as cli
from containerkit.cli import Environment, app

runner = CliRunner()
DOCKERFILE = "FROM alpine:3.19\nRUN echo hi\nUSER 1000\n"


def _run(args: list[str], home: Path, **environ: str) -> tuple[int, str, str]:
    env = Environment(
        stdout=io.StringIO(),
        stderr=io.StringIO(),
        environ={"CONTAINERKIT_HOME": str(home), "CONTAINERKIT_PULL_POLICY": "never", **environ},
    )
    cli._ENV[:] = [env]
    try:
        result = runner.invoke(app, args)
    finally:
        cli._ENV.clear()
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    out, err = env.stdout.getvalue(), env.stderr.getvalue()  # type: ignore[attr-defined]
    assert "CK999" not in out + err, err
    assert result.exit_code != 70, err
    return result.exit_code, out, " ".join(err.split())


@pytest.fixture
def home(tmp_path: Path) -> Path:
    h = tmp_path / "home"
    h.mkdir()
    return h


@pytest.fixture
def python_repo(tmp_path: Path) -> Path:
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "app.py").write_text("print('hi')\n")
    (repo / "requirements.txt").write_text("flask==3.0.0\n")
    return repo


# -- writes ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["table", "json", "sarif"])
def test_lint_output_onto_the_linted_dockerfile_is_refused(tmp_path: Path, home: Path, fmt: str) -> None:
    df = tmp_path / "Dockerfile"
    df.write_text(DOCKERFILE)
    code, _, err = _run(["lint", str(df), "-f", fmt, "--output", str(df), "--no-hadolint"], home)
    assert code == 2 and "[CK112]" in err and "input" in err
    assert df.read_text() == DOCKERFILE


@pytest.mark.parametrize(
    ("target", "code"),
    [("missing/out.json", "CK113"), (".", "CK112"), ("/dev/full", "CK112"), ("fifo", "CK112"), ("link", "CK112")],
)
def test_lint_output_to_bad_places_is_a_typed_error(tmp_path: Path, home: Path, target: str, code: str) -> None:
    (tmp_path / "Dockerfile").write_text(DOCKERFILE)
    os.mkfifo(tmp_path / "fifo")
    outside = tmp_path.parent / f"{tmp_path.name}-outside.txt"
    outside.write_text("victim")
    (tmp_path / "link").symlink_to(outside)
    out = target if target.startswith("/") else str(tmp_path / target)
    rc, _, err = _run(["lint", str(tmp_path / "Dockerfile"), "-f", "json", "-o", out, "--no-hadolint"], home)
    assert rc == 2 and f"[{code}]" in err and "hint:" in err
    assert outside.read_text() == "victim"


@pytest.mark.parametrize("command", [["sbom", "img:1"], ["scan", "img:1", "--no-external"]])
def test_scan_and_sbom_refuse_a_bad_output_before_touching_the_engine(
    tmp_path: Path, home: Path, command: list[str]
) -> None:
    code, _, err = _run([*command, "-o", str(tmp_path / "no" / "out.json")], home, DOCKER_HOST="unix:///nonexistent")
    assert code == 2 and "[CK113]" in err
    code, _, err = _run([*command, "-o", "/dev/full"], home, DOCKER_HOST="unix:///nonexistent")
    assert code == 2 and "[CK112]" in err


def test_scan_db_naming_an_unrelated_sqlite_file_leaves_it_as_it_was(tmp_path: Path, home: Path) -> None:
    app_db = tmp_path / "app.sqlite"
    conn = sqlite3.connect(app_db)
    conn.execute("CREATE TABLE users (name TEXT)")
    conn.commit()
    conn.close()
    before = app_db.read_bytes()
    code, _, err = _run(["scan", "img:1", "--db", str(app_db), "--no-external"], home, DOCKER_HOST="unix:///none")
    assert code != 0 and "did not create" in err
    assert app_db.read_bytes() == before
    code, _, err = _run(["db", "import", str(tmp_path / "x.json")], home, CONTAINERKIT_VULNDB=str(app_db))
    assert code != 0 and app_db.read_bytes() == before


def test_dockerfile_write_force_never_writes_through_a_link_out_of_the_repo(
    tmp_path: Path, home: Path, python_repo: Path
) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("victim")
    (python_repo / "Dockerfile").symlink_to(victim)
    code, _, err = _run(["dockerfile", str(python_repo), "--write", "--force"], home)
    assert code == 2 and "[CK112]" in err and "outside" in err
    assert victim.read_text() == "victim"


def test_dockerfile_write_onto_a_folder_is_a_typed_error(home: Path, python_repo: Path) -> None:
    (python_repo / "Dockerfile").mkdir()
    code, _, err = _run(["dockerfile", str(python_repo), "--write", "--force"], home)
    assert code == 2 and "[CK112]" in err


# -- reads ----------------------------------------------------------------------------------------


def test_lint_and_db_import_of_a_fifo_do_not_hang(tmp_path: Path, home: Path) -> None:
    pipe = tmp_path / "pipe"
    os.mkfifo(pipe)
    code, _, err = _run(["lint", str(pipe), "--no-hadolint"], home)
    assert code == 2 and "[CK110]" in err
    code, _, err = _run(["db", "import", str(pipe)], home)
    assert code == 2 and "[CK110]" in err


@pytest.mark.parametrize(
    "body",
    ["[" * 100_000 + "]" * 100_000, '{"id": "X", "modified": "2024", "n": ' + "9" * 10_000 + "}", '{"id":"\\ud800"}'],
)
def test_db_import_of_hostile_json_is_a_typed_error(tmp_path: Path, home: Path, body: str) -> None:
    f = tmp_path / "osv.json"
    f.write_text(body)
    code, _, err = _run(["db", "import", str(f)], home)
    assert code == 2 and "[CK248]" in err


@pytest.mark.parametrize(
    ("pyproject", "package_json"),
    [
        ('project = "x"\n', None),
        ('[project]\nname = "a"\ndependencies = 5\n', None),
        ("x = " + "9" * 10_000 + "\n", None),
        ("x = " + "[" * 100_000 + "]" * 100_000 + "\n", None),
        (None, '{"name": "a", "scripts": [], "engines": 5, "dependencies": 5}'),
        (None, '{"a": ' + "[" * 100_000 + "]" * 100_000 + "}"),
        (None, '{"n": ' + "9" * 10_000 + "}"),
    ],
)
def test_hostile_manifests_never_crash_the_analysis(
    tmp_path: Path, home: Path, pyproject: str | None, package_json: str | None
) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    if pyproject is not None:
        (repo / "pyproject.toml").write_text(pyproject)
        (repo / "app.py").write_text("print(1)\n")
    if package_json is not None:
        (repo / "package.json").write_text(package_json)
        (repo / "server.js").write_text("require('http').createServer().listen(3000)\n")
    code, out, err = _run(["analyze", str(repo), "--json"], home)
    assert code == 0 or "[CK104]" in err
    if code == 0:
        assert json.loads(out)["modules"]


# -- options --------------------------------------------------------------------------------------


@pytest.mark.parametrize("image", ["Not A/Valid::Image", "python:3.12\nRUN echo INJECTED", "127.0.0.1:99999/py:3"])
def test_an_invalid_base_image_is_refused(home: Path, python_repo: Path, image: str) -> None:
    code, out, err = _run(["dockerfile", str(python_repo), "--base-image", image], home)
    assert code == 2 and "[CK105]" in err and out == ""


def test_run_with_an_empty_registry_is_refused_with_a_hint(home: Path, python_repo: Path) -> None:
    code, _, err = _run(["run", str(python_repo), "--registry", ""], home)
    assert code == 2 and "registry is empty" in err and "leave --registry out" in err


def test_db_update_with_a_url_that_is_not_http_is_refused(home: Path) -> None:
    for url in ("not a url", "file:///etc/passwd", "http://127.0.0.1:99999", "ftp://x"):
        code, _, err = _run(["db", "update", "-e", "PyPI"], home, CONTAINERKIT_OSV_URL=url)
        assert code == 2 and "[CK106]" in err


def test_lint_reports_an_invalid_escape_directive_as_an_error(tmp_path: Path, home: Path) -> None:
    df = tmp_path / "Dockerfile"
    df.write_text("# escape=x\n" + DOCKERFILE)
    code, out, _ = _run(["lint", str(df), "-f", "json", "--no-hadolint"], home)
    assert code == 1
    assert any(f["rule"] == "CK1012" and f["severity"] == "error" for f in json.loads(out)["findings"])


# -- sessions -------------------------------------------------------------------------------------


def test_a_corrupt_store_names_doctor_and_doctor_repairs_it(home: Path) -> None:
    (home / "sessions.sqlite").write_text("garbage\n" * 50)
    code, _, err = _run(["sessions", "list"], home)
    assert code == 1 and "[CK503]" in err and "containerkit sessions doctor" in err
    code, out, _ = _run(["sessions", "doctor", "--json"], home)
    report: dict[str, Any] = json.loads(out)
    assert code == 0 and report["ok"] and ".corrupt-" in report["moved_to"]
    assert _run(["sessions", "list", "--json"], home)[:2] == (0, "[]\n")


def test_a_home_that_is_a_file_is_a_typed_error(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.write_text("x")
    for args in (["sessions", "list"], ["sessions", "doctor"], ["run", str(tmp_path), "--registry", "x:1"]):
        code, _, err = _run(args, home)
        assert code in (1, 2) and ("[CK106]" in err or "[CK503]" in err), err


def test_an_empty_session_prefix_matches_nothing(home: Path) -> None:
    from tests.unit.test_hostile_store import _store_with

    _store_with(home / "sessions.sqlite", "aaaa00000001")
    for args in (["sessions", "show", ""], ["resume", ""]):
        code, _, err = _run(args, home)
        assert code == 2 and "session id is empty" in err


def test_sessions_list_shows_the_good_sessions_beside_a_corrupt_one(home: Path) -> None:
    from tests.unit.test_hostile_store import _store_with

    db = home / "sessions.sqlite"
    _store_with(db, "aaaa00000001", "bbbb00000002")
    conn = sqlite3.connect(db)
    conn.execute("UPDATE checkpoints SET checkpoint = X'00' WHERE thread_id = 'aaaa00000001'")
    conn.commit()
    conn.close()
    code, out, err = _run(["sessions", "list", "--json"], home)
    rows = {r["session_id"]: r for r in json.loads(out)}
    assert code == 0 and rows["bbbb00000002"]["status"] == "running"
    assert rows["aaaa00000001"]["status"] == "unreadable" and "checkpoint" in rows["aaaa00000001"]["problem"]
    code, out, err = _run(["sessions", "list"], home)
    assert code == 0 and "bbbb00000002" in out and "aaaa00000001" in out and "sessions doctor" in err


def test_run_out_onto_an_existing_file_is_refused_before_the_run(tmp_path: Path, home: Path, python_repo: Path) -> None:
    target = tmp_path / "manifests.yaml"
    target.write_text("mine")
    code, _, err = _run(["run", str(python_repo), "--out", str(target)], home)
    assert code == 2 and "[CK112]" in err and "not a folder" in err
    assert target.read_text() == "mine"
    assert not (home / "sessions.sqlite").exists()  # refused before a session started


def test_manifests_are_written_atomically_and_never_into_a_file(tmp_path: Path) -> None:
    from containerkit.errors import OutputRefused
    from containerkit.tools.manifests import ManifestRequest, generate_manifests, write_manifests

    manifests = generate_manifests(ManifestRequest(name="shop", image="127.0.0.1:5000/shop:1", port=8000))
    out = tmp_path / "k8s"
    paths = write_manifests(manifests, out)
    assert {p.name for p in paths} <= {p.name for p in out.iterdir()}
    blocker = tmp_path / "file"
    blocker.write_text("mine")
    with pytest.raises(OutputRefused, match="not a folder"):
        write_manifests(manifests, blocker)
    assert blocker.read_text() == "mine"


@pytest.mark.parametrize("image", ["", "127.0.0.1:99999/x:1", "Not A/Valid::Image", "x:1\nRUN y"])
def test_run_with_an_invalid_image_is_refused_before_a_session(home: Path, python_repo: Path, image: str) -> None:
    code, _, err = _run(["run", str(python_repo), "--image", image], home)
    assert code == 2 and "[CK105]" in err
    assert not (home / "sessions.sqlite").exists()
