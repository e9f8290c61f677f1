"""Results keyed by what they depend on: reused when nothing changed, never across a changed input."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from pydantic import BaseModel

from containerkit.tools.results_cache import CacheKey, ResultCache, secret_digest
from containerkit.tools.scan import ScanOptions, scan_cache_key
from containerkit.tools.verify import VerifyRequest, VerifyResult, verify_cache_key

IMAGE = "sha256:" + "a" * 64


class Result(BaseModel):
    value: int


def _touch(path: Path, text: str) -> None:
    """Rewrite a file with a new size or time, as an edit does."""
    path.write_text(text)
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000))


def test_a_stored_result_is_reused_under_the_same_key(tmp_path: Path) -> None:
    cache = ResultCache(tmp_path)
    key = CacheKey(kind="scan", subject="app", inputs={"image_id": IMAGE})
    cache.put(key, Result(value=3), attachments={"report.json": "{}"})
    hit = cache.get(CacheKey(kind="scan", subject="app", inputs={"image_id": IMAGE}), Result)
    assert hit is not None and hit[0] == Result(value=3)
    assert cache.attachment(key, "report.json") is not None


def test_no_cache_reads_nothing_but_still_records(tmp_path: Path) -> None:
    key = CacheKey(kind="verify", inputs={"image_id": IMAGE})
    ResultCache(tmp_path, enabled=False).put(key, Result(value=1))
    assert ResultCache(tmp_path, enabled=False).get(key, Result) is None
    assert ResultCache(tmp_path).get(key, Result) is not None


def test_a_missing_attachment_or_a_corrupt_entry_is_a_miss(tmp_path: Path) -> None:
    cache = ResultCache(tmp_path)
    key = CacheKey(kind="scan", inputs={"image_id": IMAGE})
    cache.put(key, Result(value=1), attachments={"report.json": "{}"})
    attachment = cache.attachment(key, "report.json")
    assert attachment is not None
    attachment.unlink()
    assert cache.get(key, Result) is None
    (tmp_path / "scan" / f"{key.digest}.json").write_text("{not json")
    assert cache.get(key, Result) is None


def test_a_miss_names_the_inputs_that_changed(tmp_path: Path) -> None:
    cache = ResultCache(tmp_path)
    cache.put(CacheKey(kind="scan", subject="app", inputs={"image_id": "a", "rules": "1"}), Result(value=1))
    later = CacheKey(kind="scan", subject="app", inputs={"image_id": "b", "rules": "1"})
    assert cache.get(later, Result) is None
    assert cache.changed(later) == ["image_id"]


def _scan_inputs(tmp_path: Path) -> ScanOptions:
    ctx = tmp_path / "app"
    ctx.mkdir(exist_ok=True)
    (ctx / "Dockerfile").write_text("FROM python:3.12-slim\n")
    (ctx / "app.py").write_text("print('hi')\n")
    (ctx / "notes.txt").write_text("ignored\n")
    (ctx / ".dockerignore").write_text("notes.txt\n")
    (tmp_path / "db.sqlite").write_bytes(b"SQLite format 3\x00")
    (tmp_path / "policy.rego").write_text("package user\n")
    return ScanOptions(
        image_ref="app:1",
        dockerfile=ctx / "Dockerfile",
        context=ctx,
        vuln_db=tmp_path / "db.sqlite",
        policies=[tmp_path / "policy.rego"],
    )


def test_the_scan_key_is_stable_when_nothing_changed(tmp_path: Path) -> None:
    options = _scan_inputs(tmp_path)
    a = scan_cache_key(IMAGE, options, fail_on="critical")
    b = scan_cache_key(IMAGE, options.model_copy(), fail_on="critical")
    assert a.digest == b.digest


@pytest.mark.parametrize(
    "change",
    [
        "image_id",
        "fail_on",
        "image_ref",
        "dockerfile",
        "context_file",
        "vuln_db",
        "policy_file",
        "policy_data",
        "trusted_registries",
        "parts",
    ],
)
def test_every_scan_input_invalidates_the_verdict(tmp_path: Path, change: str) -> None:
    options = _scan_inputs(tmp_path)
    before = scan_cache_key(IMAGE, options, fail_on="critical")
    image, fail_on = IMAGE, "critical"
    if change == "image_id":
        image = "sha256:" + "b" * 64
    elif change == "fail_on":
        fail_on = "high"
    elif change == "image_ref":
        options = options.model_copy(update={"image_ref": "app:latest"})
    elif change == "dockerfile":
        _touch(tmp_path / "app" / "Dockerfile", "FROM python:3.13-slim\n")
    elif change == "context_file":
        _touch(tmp_path / "app" / "app.py", "print('edited')\n")
    elif change == "vuln_db":
        _touch(tmp_path / "db.sqlite", "SQLite format 3\x00 more advisories")
    elif change == "policy_file":
        _touch(tmp_path / "policy.rego", "package user\ndeny contains 1 if true\n")
    elif change == "policy_data":
        options = options.model_copy(update={"policy_data": {"allowed_registries": ["r.example"]}})
    elif change == "trusted_registries":
        options = options.model_copy(update={"trusted_registries": ["r.example"]})
    elif change == "parts":
        options = options.model_copy(update={"secrets": False})
    after = scan_cache_key(image, options, fail_on=fail_on)
    assert after.digest != before.digest
    assert after.changed_from(before)


def test_a_file_the_build_never_sends_does_not_invalidate_the_verdict(tmp_path: Path) -> None:
    options = _scan_inputs(tmp_path)
    before = scan_cache_key(IMAGE, options, fail_on="critical")
    _touch(tmp_path / "app" / "notes.txt", "still ignored, but edited\n")
    assert scan_cache_key(IMAGE, options, fail_on="critical").digest == before.digest


@pytest.mark.parametrize(
    "update",
    [
        {"image": "sha256:" + "b" * 64},
        {"kind": "worker"},
        {"port": 9000},
        {"health_path": "/healthz"},
        {"env": {"DATABASE_URL": "postgres://a", "EXTRA": "1"}},
        {"env": {"DATABASE_URL": "postgres://b"}},
        {"timeout_s": 5.0},
    ],
)
def test_every_verify_input_invalidates_the_outcome(update: dict[str, object]) -> None:
    req = VerifyRequest(image=IMAGE, kind="server", port=8000, health_path="/", env={"DATABASE_URL": "postgres://a"})
    before = verify_cache_key(req, secret_key=b"k" * 32)
    assert verify_cache_key(req.model_copy(), secret_key=b"k" * 32).digest == before.digest
    assert verify_cache_key(req.model_copy(update=update), secret_key=b"k" * 32).digest != before.digest


def test_verify_keys_never_hold_the_environment_values(tmp_path: Path) -> None:
    req = VerifyRequest(image=IMAGE, env={"API_TOKEN": "s3cr3t-value"})
    cache = ResultCache(tmp_path)
    key = verify_cache_key(req, secret_key=cache.secret_key())
    cache.put(key, VerifyResult(image_id=IMAGE, kind="server", passed=True, reason="answered", env_names=["API_TOKEN"]))
    stored = "".join(p.read_text() for p in (tmp_path / "verify").iterdir())
    assert "s3cr3t-value" not in stored and "s3cr3t-value" not in key.model_dump_json()
    assert "API_TOKEN" in key.inputs["env_names"]
    assert (tmp_path / ".hmac-key").stat().st_mode & 0o077 == 0
    assert secret_digest(b"x" * 32, {"A": "1"}) != secret_digest(b"y" * 32, {"A": "1"})
