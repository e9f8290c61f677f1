"""The advisory database and the policy reader under hostile input: files not ours, URLs that are not, FIFOs."""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from containerkit.errors import ContainerKitError, InputUnreadable, InvalidOption
from containerkit.tools.engine import connect_docker
from containerkit.tools.policy.errors import PolicyNotFound, PolicySyntaxError
from containerkit.tools.policy.evaluate import evaluate_policies
from containerkit.tools.vulns import VulnDB
from containerkit.tools.vulns.db import check_url
from containerkit.tools.vulns.errors import OsvRecordInvalid, VulnDbError


def _record(id_: str) -> dict[str, object]:
    return {
        "id": id_,
        "modified": "2024-01-01T00:00:00Z",
        "affected": [{"package": {"ecosystem": "PyPI", "name": "x"}}],
    }


@pytest.mark.parametrize("tables", ["CREATE TABLE users (x)", "CREATE TABLE advisories (x); CREATE TABLE users (y)"])
def test_a_database_we_did_not_create_is_never_written(tmp_path: Path, tables: str) -> None:
    db = tmp_path / "app.sqlite"
    conn = sqlite3.connect(db)
    conn.executescript(tables)
    conn.commit()
    conn.close()
    before = db.read_bytes()
    src = tmp_path / "r.json"
    src.write_text(json.dumps(_record("A-1")))
    for action in (lambda v: v.import_path(src), lambda v: v.info(), lambda v: v.advisories_for("PyPI", "x")):
        with pytest.raises(VulnDbError, match="did not create"):
            action(VulnDB(db))
    assert db.read_bytes() == before


@pytest.mark.parametrize("content", [b"plain text\n", b"SQLite format 3\x00" + b"\x00" * 10])
def test_a_file_that_is_not_sqlite_is_refused(tmp_path: Path, content: bytes) -> None:
    db = tmp_path / "x.sqlite"
    db.write_bytes(content)
    with pytest.raises(VulnDbError):
        VulnDB(db).info()
    assert db.read_bytes() == content


def test_our_database_round_trips(tmp_path: Path) -> None:
    src = tmp_path / "r.json"
    src.write_text(json.dumps(_record("A-1")))
    db = VulnDB(tmp_path / "v.sqlite")
    assert db.import_path(src).records == 1
    db.check_ours()
    assert db.info().advisories == 1


@pytest.mark.parametrize(
    "url",
    ["not a url", "file:///etc/passwd", "ftp://x", "http://", "http://127.0.0.1:99999", "http://[::1", "", "//h/p"],
)
def test_only_http_urls_with_a_host_are_taken(url: str) -> None:
    with pytest.raises(InvalidOption):
        check_url(url)


@given(url=st.text(max_size=60))
def test_check_url_raises_only_invalid_option(url: str) -> None:
    with contextlib.suppress(InvalidOption):
        assert check_url(url).startswith(("http://", "https://"))


def test_importing_a_fifo_or_a_device_is_refused_without_blocking(tmp_path: Path) -> None:
    pipe = tmp_path / "pipe.json"
    os.mkfifo(pipe)
    db = VulnDB(tmp_path / "v.sqlite")
    for source in (pipe, Path("/dev/zero")):
        with pytest.raises(InputUnreadable):
            db.import_path(source)
    (tmp_path / "folder").mkdir()
    os.mkfifo(tmp_path / "folder" / "a.json")  # inside a folder: skipped, not opened
    (tmp_path / "folder" / "b.json").write_text(json.dumps(_record("B-1")))
    assert db.import_path(tmp_path / "folder").records == 1


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=st.binary(max_size=300) | st.text(max_size=300).map(str.encode))
def test_import_of_any_bytes_is_records_or_a_typed_error(tmp_path: Path, body: bytes) -> None:
    src = tmp_path / "r.json"
    src.write_bytes(body)
    with contextlib.suppress(ContainerKitError):
        VulnDB(tmp_path / "v.sqlite").import_path(src)


def test_a_zip_with_a_deep_or_huge_member_is_a_typed_error(tmp_path: Path) -> None:
    for member in (b"[" * 100_000, b'{"id": "X", "n": ' + b"9" * 10_000 + b"}"):
        z = tmp_path / "all.zip"
        with zipfile.ZipFile(z, "w") as zf:
            zf.writestr("a.json", member)
        with pytest.raises(OsvRecordInvalid):
            VulnDB(tmp_path / "v.sqlite").import_path(z)


def test_a_policy_that_is_a_fifo_or_too_deep_is_a_typed_error(tmp_path: Path) -> None:
    folder = tmp_path / "policies"
    folder.mkdir()
    os.mkfifo(folder / "p.rego")
    with pytest.raises(PolicyNotFound):
        evaluate_policies({}, [folder])
    (folder / "p.rego").unlink()
    (folder / "p.rego").write_text("package ck\nx := " + "[" * 5000 + "]" * 5000 + "\n")
    with pytest.raises(PolicySyntaxError, match="nested"):
        evaluate_policies({}, [folder])


@pytest.mark.parametrize("host", ["tcp://127.0.0.1:99999", "garbage://x", "unix:///nonexistent.sock"])
def test_a_bad_docker_host_is_docker_unavailable(host: str) -> None:
    with pytest.raises(ContainerKitError) as exc:
        connect_docker(host, timeout=2)
    assert exc.value.code == "CK201"
