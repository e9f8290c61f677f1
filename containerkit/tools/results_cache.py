"""Results keyed by what they depend on: a rerun with nothing changed reuses them instead of redoing the work.

A :class:`CacheKey` is a model: the named inputs a result depends on (an image id, a database's
version, a digest of the rules, the options), hashed. A result is stored under its key's digest
with the key beside it, so a reused result carries the key it was computed from, and a miss can
say which inputs changed since the last result for the same subject (:meth:`ResultCache.changed`).
Any changed input is a different digest: a result is never reused across a changed input.

Stored as JSON files under ``<cache_dir>/results/<kind>/``, written atomically (a reader never sees
half a file); an unreadable entry is a miss, never an error. Values of the user's environment never
enter a key: :func:`secret_digest` keys them with an HMAC under a random per-cache key instead.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import hmac
import json
import os
import secrets
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, Field, ValidationError

__all__ = [
    "CacheKey",
    "CachedEntry",
    "ResultCache",
    "code_fingerprint",
    "content_digests",
    "digest_of",
    "file_fingerprint",
    "files_fingerprint",
    "secret_digest",
]

M = TypeVar("M", bound=BaseModel)
_FORMAT = "1"


def digest_of(value: object) -> str:
    """A stable digest of a JSON-able value (keys sorted)."""
    data = json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(data.encode()).hexdigest()


def file_fingerprint(path: Path | str | None) -> str:
    """What changes when a file changes: its size and modification time (``absent`` when there is none)."""
    if path is None:
        return "none"
    try:
        st = os.stat(path)
    except OSError:
        return "absent"
    return f"{st.st_size}:{st.st_mtime_ns}"


def files_fingerprint(paths: Iterable[tuple[str, Path]]) -> str:
    """One digest for a set of files (name, path): a file added, removed, resized or touched changes it."""
    h = hashlib.sha256()
    for name, path in sorted(paths, key=lambda p: p[0]):
        h.update(f"{name}\0{file_fingerprint(path)}\n".encode())
    return h.hexdigest()


def content_digests(root: Path) -> dict[str, str]:
    """Every file under ``root`` (relative path -> sha256 of its content): to see files are as written."""
    out: dict[str, str] = {}
    with contextlib.suppress(OSError):
        for p in sorted(root.rglob("*")):
            if p.is_file() and not p.is_symlink():
                out[str(p.relative_to(root))] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


@functools.cache
def code_fingerprint() -> str:
    """containerkit's own code and data files (rules, policies, catalogs): an upgrade or an edit changes it."""
    import containerkit
    from containerkit._stamp import code_stamp

    return f"{containerkit.__version__}:{code_stamp()}"


class CacheKey(BaseModel):
    """The inputs one result depends on. ``subject`` names what the result is about across runs
    (a module, an image name) so a miss can say which inputs changed; it is not part of the digest."""

    kind: str
    subject: str = ""
    inputs: dict[str, str] = Field(default_factory=dict)

    @property
    def digest(self) -> str:
        return digest_of({"format": _FORMAT, "kind": self.kind, "inputs": self.inputs})[:40]

    def changed_from(self, other: CacheKey) -> list[str]:
        """The names of the inputs that differ from ``other`` (added, removed or changed)."""
        names = sorted(set(self.inputs) | set(other.inputs))
        return [n for n in names if self.inputs.get(n) != other.inputs.get(n)]


class CachedEntry(BaseModel):
    key: CacheKey
    result: dict[str, Any]
    attachments: list[str] = Field(default_factory=list)
    """Names of the files kept beside the result (a full report)."""


class ResultCache:
    """Results on disk under ``root``, by kind and key digest. ``enabled=False`` (``--no-cache``) reads
    nothing and still writes, so the next run can reuse what this one computed."""

    def __init__(self, root: Path, *, enabled: bool = True) -> None:
        self.root = Path(root)
        self.enabled = enabled

    def _path(self, kind: str, name: str) -> Path:
        return self.root / kind / f"{name}.json"

    def _last(self, key: CacheKey) -> Path:
        return self._path(key.kind, "last-" + digest_of(key.subject)[:24])

    def get(self, key: CacheKey, model: type[M]) -> tuple[M, CachedEntry] | None:
        """The result stored under ``key`` (and its entry), or None: a miss, disabled, or unreadable."""
        if not self.enabled:
            return None
        try:
            entry = CachedEntry.model_validate_json(self._path(key.kind, key.digest).read_bytes())
            if entry.key.digest != key.digest or any(self.attachment(key, n) is None for n in entry.attachments):
                return None
            return model.model_validate(entry.result), entry
        except (OSError, ValueError, ValidationError):
            return None

    def put(self, key: CacheKey, result: BaseModel, *, attachments: Mapping[str, str] | None = None) -> None:
        """Keep ``result`` under ``key`` (with text files, such as a full report, beside it); a cache that
        cannot be written is skipped silently (it is a cache)."""
        entry = CachedEntry(key=key, result=result.model_dump(mode="json"), attachments=sorted(attachments or {}))
        with contextlib.suppress(OSError):
            for name, text in (attachments or {}).items():
                _write(self._attachment(key, name), text)
            _write(self._path(key.kind, key.digest), entry.model_dump_json())
            if key.subject:
                _write(self._last(key), key.model_dump_json())

    def _attachment(self, key: CacheKey, name: str) -> Path:
        return self.root / key.kind / f"{key.digest}.{name}"

    def attachment(self, key: CacheKey, name: str) -> Path | None:
        """The file kept with the result under ``key`` as ``name``, if it is there."""
        path = self._attachment(key, name)
        return path if path.is_file() else None

    def changed(self, key: CacheKey) -> list[str]:
        """On a miss: which inputs differ from the last result stored for the same subject ([] if none)."""
        try:
            last = CacheKey.model_validate_json(self._last(key).read_bytes())
        except (OSError, ValueError, ValidationError):
            return []
        return key.changed_from(last)

    def secret_key(self) -> bytes:
        """A random key kept (mode 0600) in the cache folder: digests of secret values are useless elsewhere."""
        path = self.root / ".hmac-key"
        with contextlib.suppress(OSError):
            data = path.read_bytes()
            if len(data) == 32:
                return data
        data = secrets.token_bytes(32)
        with contextlib.suppress(OSError):
            self.root.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
        return data


def _write(path: Path, text: str) -> None:
    """Atomically (temp file + rename), without fsync: a cache entry lost in a crash is only a miss."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except OSError:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def secret_digest(key: bytes, values: Mapping[str, str]) -> str:
    """An HMAC of the values (names included): changes when a value changes, reveals none of them."""
    body = json.dumps(dict(sorted(values.items())), separators=(",", ":")).encode()
    return hmac.new(key, body, hashlib.sha256).hexdigest()
