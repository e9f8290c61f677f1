"""Sessions at scale: delete, prune by age, export one as a bundle, statistics over the store.

Each works on the store and the session folders (``$CONTAINERKIT_HOME/sessions/<id>``) together;
a session a live process is running (its repository's lock is held) is never deleted.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import shutil
import statistics
import tarfile
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from containerkit.errors import InvalidOption, OutputUnwritable, RepoBusy
from containerkit.graph.locks import running_sessions
from containerkit.graph.sessions import SessionFilter, SessionStore
from containerkit.settings import Settings
from containerkit.state import Session

__all__ = [
    "ExportResult",
    "PruneResult",
    "SessionStats",
    "delete_sessions",
    "export_session",
    "prune_sessions",
    "redact_build_values",
    "session_stats",
]

_MAX_BUNDLE_FILE = 16 * 1024 * 1024
"""A file in the session folder or the manifests larger than this is listed, not bundled."""


_SAFE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}\Z")


def _own_folder(settings: Settings, sid: str) -> Path | None:
    """The session's own folder; None for an id that is not one plain name (``..``, ``a/b``)."""
    if not _SAFE_ID.match(sid) or sid in (".", ".."):
        return None
    folder = settings.session_dir(sid)
    return folder if folder.parent == settings.home / "sessions" else None


def _remove_folder(settings: Settings, sid: str) -> None:
    folder = _own_folder(settings, sid)
    if folder is not None and folder.is_dir() and not folder.is_symlink():
        shutil.rmtree(folder, ignore_errors=True)


def delete_sessions(settings: Settings, ids: Iterable[str]) -> list[str]:
    """Delete the sessions (ids or unique prefixes) and their folders; returns the full ids deleted.

    Every id is resolved before anything is deleted, so a typo deletes nothing; a session a live
    process runs is :class:`RepoBusy`.
    """
    with SessionStore(settings.sessions_db) as store:
        resolved = list(dict.fromkeys(store.resolve(i) for i in ids))
        live = running_sessions(settings.home) & set(resolved)
        if live:
            sid = sorted(live)[0]
            raise RepoBusy(
                f"session {sid} is running now and is not deleted",
                hint="Wait for it to finish (or stop its process), then delete it.",
                session_id=sid,
            )
        for sid in resolved:
            store.delete(sid)
            _remove_folder(settings, sid)
    return resolved


@dataclass
class PruneResult:
    deleted: list[str] = field(default_factory=list)
    kept_running: list[str] = field(default_factory=list)
    older_than_s: float = 0.0
    dry_run: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "deleted": self.deleted,
            "kept_running": self.kept_running,
            "older_than_s": self.older_than_s,
            "dry_run": self.dry_run,
        }


def prune_sessions(
    settings: Settings, *, older_than_s: float | None = None, where: SessionFilter | None = None, dry_run: bool = False
) -> PruneResult:
    """Delete the sessions last updated longer ago than ``older_than_s`` (default: the configured TTL).

    ``where`` narrows the choice (status, labels). Sessions a live process runs are kept.
    """
    ttl = settings.sessions_ttl_s if older_than_s is None else older_than_s
    if ttl < 0:
        raise InvalidOption("--older-than must not be negative", hint="Write a duration such as 30d.")
    base = where or SessionFilter()
    selector = SessionFilter(statuses=base.statuses, labels=base.labels, older_than_s=ttl)
    result = PruneResult(older_than_s=ttl, dry_run=dry_run)
    if not settings.sessions_db.exists():
        return result
    with SessionStore(settings.sessions_db) as store:
        live = running_sessions(settings.home)
        for info in store.list(selector):
            if info.session_id in live:
                result.kept_running.append(info.session_id)
                continue
            if not dry_run:
                store.delete(info.session_id)
                _remove_folder(settings, info.session_id)
            result.deleted.append(info.session_id)
    return result


# -- export -----------------------------------------------------------------------------------


@dataclass
class ExportResult:
    path: str
    session_id: str
    files: list[dict[str, Any]] = field(default_factory=list)
    redacted: int = 0
    """Credentials replaced by their redacted form across the bundle."""
    skipped: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "session_id": self.session_id,
            "files": self.files,
            "redacted": self.redacted,
            "skipped": self.skipped,
        }


def _readable_files(root: Path) -> Iterable[tuple[str, Path]]:
    """Regular files under ``root`` (links are not followed), as (relative path, path)."""
    if not root.is_dir() or root.is_symlink():
        return
    for path in sorted(root.rglob("*")):
        if path.is_file() and not path.is_symlink():
            yield path.relative_to(root).as_posix(), path


_ENV_LINE = re.compile(r"(?P<head>(?:^[ \t]*|(?<=[ \t\]]))(?:ENV|ARG)[ \t]+)(?P<rest>.*)$", re.I | re.M)
"""An ENV or ARG instruction: at a line's start (a Dockerfile) or after a build log's ``#6 [3/6]``."""
_PAIR = re.compile(r"""(?P<key>[A-Za-z_][A-Za-z0-9_]*)=(?P<val>"(?:[^"\\]|\\.)*"|'[^']*'|\S+)""")


def redact_build_values(text: str) -> tuple[str, int]:
    """A Dockerfile with the values of ``ENV`` / ``ARG`` variables named like secrets replaced.

    ``ENV DB_PASSWORD=hunter2`` is no credential the secret rules can recognise by its shape, but its
    name says what it is. A reference (``ENV TOKEN=$TOKEN``) is kept: it holds no value.
    """
    from containerkit.tools.manifests import is_secret_name

    count = 0

    def secret(key: str, value: str) -> bool:
        return is_secret_name(key) and not value.strip("\"'").startswith("$") and value.strip("\"'") != ""

    def pair(m: re.Match[str]) -> str:
        nonlocal count
        if secret(m["key"], m["val"]):
            count += 1
            return f"{m['key']}=<redacted>"
        return m.group(0)

    def line(m: re.Match[str]) -> str:
        nonlocal count
        rest = m["rest"]
        first, _, value = rest.strip().partition(" ")
        if "=" not in first:  # the legacy form: ENV KEY VALUE
            if secret(first, value.strip()):
                count += 1
                return f"{m['head']}{first} <redacted>"
            return m.group(0)
        return m["head"] + _PAIR.sub(pair, rest)

    return _ENV_LINE.sub(line, text), count


def export_session(settings: Settings, session_id: str, out: Path | None = None) -> ExportResult:
    """One ``.tar.gz`` with the session's state, summary, Dockerfile, reports and manifests.

    Values passed with ``--env`` never reach a session; anything in the bundled files that the
    secret rules recognise as a credential is replaced by its redacted form (``sk_l***(32 chars)``),
    and so is the value of an ``ENV`` / ``ARG`` variable named like a secret (:func:`redact_build_values`).
    """
    from containerkit.tools.fsio import check_folder_target
    from containerkit.tools.secrets import redact_secrets

    with SessionStore(settings.sessions_db) as store:
        sid = store.resolve(session_id)
        session = store.load(sid)
    target = (out or Path(f"containerkit-session-{sid}.tar.gz")).expanduser()
    if target.is_dir():
        target = target / f"containerkit-session-{sid}.tar.gz"
    check_folder_target(target.parent)
    if target.exists() and not target.is_file():
        raise OutputUnwritable(f"{target} exists and is not a regular file", hint="Choose another --output.")

    members: dict[str, bytes] = {}
    result = ExportResult(path=str(target.absolute()), session_id=sid)

    def clean(text: str) -> str:
        text, n = redact_secrets(text)
        text, named = redact_build_values(text)
        result.redacted += n + named
        return text

    def tree(value: Any) -> Any:
        """Every string of a JSON document, cleaned before it is serialised (never regexes over escaped JSON)."""
        if isinstance(value, dict):
            return {k: tree(v) for k, v in value.items()}
        if isinstance(value, list):
            return [tree(v) for v in value]
        return clean(value) if isinstance(value, str) else value

    def add_json(name: str, doc: Any) -> None:
        members[name] = json.dumps(tree(doc), indent=2, default=str).encode()  # ASCII: json escapes the rest

    def add_text(name: str, text: str) -> None:
        if name.endswith(".json"):
            try:
                add_json(name, json.loads(text))
                return
            except ValueError:
                pass
        members[name] = clean(text).encode("utf-8", "replace")

    def add_file(name: str, path: Path) -> None:
        try:
            size = path.stat().st_size
            if size > _MAX_BUNDLE_FILE:
                result.skipped.append(f"{name}: {size} bytes, larger than {_MAX_BUNDLE_FILE}")
                return
            data = path.read_bytes()
        except OSError as exc:
            result.skipped.append(f"{name}: {exc.strerror or exc}")
            return
        if b"\x00" in data[:8192]:
            result.skipped.append(f"{name}: binary")
            return
        add_text(name, data.decode("utf-8", "replace"))

    add_json("session.json", session.model_dump(mode="json"))
    add_json("summary.json", json.loads(json.dumps(session.summary(), default=str)))
    if session.dockerfile is not None:
        add_text("Dockerfile", session.dockerfile.content)
    folder = _own_folder(settings, sid)
    for rel, path in _readable_files(folder) if folder is not None else ():
        add_file(f"session-folder/{rel}", path)
    if session.manifests is not None:
        if session.manifests.root:
            for rel, path in _readable_files(Path(session.manifests.root)):
                add_file(f"manifests/{rel}", path)
        else:
            for p in session.manifests.paths:
                add_file(f"manifests/{Path(p).name}", Path(p))
    result.files = [
        {"name": name, "bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}
        for name, data in sorted(members.items())
    ]
    index = {"format": "containerkit-session-bundle/1", "session_id": sid, "files": result.files}
    members["MANIFEST.json"] = json.dumps(index, indent=2).encode()
    _write_tar(target, sid, members)
    return result


def _write_tar(target: Path, sid: str, members: dict[str, bytes]) -> None:
    """Written beside the target and renamed: a failed export never leaves half a bundle."""
    tmp = target.with_name(f".{target.name}.{time.time_ns()}.tmp")
    try:
        with tarfile.open(tmp, "w:gz") as tar:
            for name, data in sorted(members.items()):
                info = tarfile.TarInfo(f"session-{sid}/{name}")
                info.size = len(data)
                info.mtime = int(time.time())
                info.mode = 0o644
                tar.addfile(info, io.BytesIO(data))
        tmp.replace(target)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise OutputUnwritable(
            f"cannot write {target}: {exc.strerror or exc}", hint="Choose a writable --output with free space."
        ) from None


# -- stats ------------------------------------------------------------------------------------


@dataclass
class SessionStats:
    runs: int = 0
    by_status: dict[str, int] = field(default_factory=dict)
    top_errors: list[tuple[str, int]] = field(default_factory=list)
    top_recovery: list[tuple[str, int]] = field(default_factory=list)
    stage_median_s: dict[str, float] = field(default_factory=dict)
    stage_runs: dict[str, int] = field(default_factory=dict)
    recovery_attempts: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "runs": self.runs,
            "by_status": self.by_status,
            "top_errors": [{"code": c, "count": n} for c, n in self.top_errors],
            "top_recovery": [{"category": c, "count": n} for c, n in self.top_recovery],
            "stage_median_s": self.stage_median_s,
            "stage_runs": self.stage_runs,
            "recovery_attempts": self.recovery_attempts,
        }


def session_stats(sessions: Iterable[Session], *, top: int = 5) -> SessionStats:
    """Runs by status, the most frequent error codes and recovery categories, median time per stage."""
    by_status: Counter[str] = Counter()
    errors: Counter[str] = Counter()
    recovery: Counter[str] = Counter()
    durations: dict[str, list[float]] = {}
    n = 0
    for s in sessions:
        n += 1
        by_status[s.summary()["status"]] += 1  # type: ignore[index]
        errors.update(e.code for e in s.errors)
        recovery.update(a.cause or "unknown" for a in s.recovery)
        for h in s.history:
            durations.setdefault(h.stage, []).append(h.duration_s)
    return SessionStats(
        runs=n,
        by_status=dict(by_status.most_common()),
        top_errors=errors.most_common(top),
        top_recovery=recovery.most_common(top),
        stage_median_s={k: round(statistics.median(v), 3) for k, v in sorted(durations.items())},
        stage_runs={k: len(v) for k, v in sorted(durations.items())},
        recovery_attempts=sum(recovery.values()),
    )
