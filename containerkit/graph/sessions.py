"""The session store: LangGraph's SQLite checkpointer at ``$CONTAINERKIT_HOME/sessions.sqlite``.

Session id = thread id. Reading a session needs no graph: the latest checkpoint's channel values
are the session state.

A store that cannot be used (corrupt, not ours, locked by another process, on a full or read-only
disk, a home that is a file) is a :class:`SessionStoreUnusable` naming the way out:
``containerkit sessions doctor`` (:func:`doctor`) checks the file and moves a corrupt one aside.
One unreadable session is reported on its own and never hides the others.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import stat
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer
from langgraph.checkpoint.sqlite import SqliteSaver

from containerkit.errors import InvalidOption, SessionNotFound, SessionStoreUnusable
from containerkit.state import STATE_MODELS, Session

__all__ = ["DoctorReport", "SessionFilter", "SessionInfo", "SessionStore", "doctor"]

SQLITE_MAGIC = b"SQLite format 3\x00"
OUR_TABLES = frozenset({"checkpoints", "writes"})
DOCTOR = "containerkit sessions doctor"
_FIELDS = frozenset(Session.model_fields)


def _allowed() -> list[tuple[str, ...]]:
    """State classes the checkpoint may rebuild (LangGraph refuses unregistered types)."""
    from containerkit.tools.analyze.models import Evidence, ModuleAnalysis

    models: tuple[type, ...] = (*STATE_MODELS, ModuleAnalysis, Evidence)
    return [(m.__module__, m.__name__) for m in models]


@dataclass(frozen=True)
class SessionInfo:
    session_id: str
    status: str
    repo: str
    updated: str
    problem: str = ""
    """Why the session cannot be read (status ``unreadable``); empty for a healthy one."""
    created: str = ""
    labels: dict[str, str] = field(default_factory=dict)

    @classmethod
    def of(cls, s: Session) -> SessionInfo:
        return cls(
            session_id=s.session_id,
            status=s.status,
            repo=s.repo_path,
            updated=s.updated.isoformat(timespec="seconds"),
            created=s.created.isoformat(timespec="seconds"),
            labels=dict(s.labels),
        )


@dataclass(frozen=True)
class SessionFilter:
    """Which sessions ``sessions list`` (and ``prune``) select; every given condition must hold."""

    statuses: frozenset[str] = frozenset()
    labels: Mapping[str, str] = field(default_factory=dict)
    older_than_s: float | None = None
    """Last updated at least this many seconds ago."""
    newer_than_s: float | None = None
    """Last updated at most this many seconds ago."""

    def matches(self, s: Session, now: datetime) -> bool:
        if self.statuses and s.status not in self.statuses:
            return False
        if any(s.labels.get(k) != v for k, v in self.labels.items()):
            return False
        age = now - s.updated
        if self.older_than_s is not None and age < timedelta(seconds=self.older_than_s):
            return False
        return not (self.newer_than_s is not None and age > timedelta(seconds=self.newer_than_s))

    @property
    def empty(self) -> bool:
        return not (self.statuses or self.labels or self.older_than_s is not None or self.newer_than_s is not None)


_LOW_SPACE = 1024 * 1024


def disk_full(path: Path) -> bool:
    """Less than 1 MiB free on the file system holding ``path`` (SQLite then fails in several ways:
    "database or disk is full", or "disk I/O error" when it cannot grow its shared-memory file)."""
    for p in (path, *path.parents):
        try:
            st = os.statvfs(p)
        except OSError:
            continue
        return st.f_bavail * st.f_frsize < _LOW_SPACE
    return False


def _store_error(path: Path, exc: BaseException) -> SessionStoreUnusable:
    """The typed error for a SQLite or OS failure on the store, with the way out in the hint."""
    text = str(exc).lower()
    if ("full" in text or "i/o" in text or getattr(exc, "errno", None) == 28) and disk_full(path):
        return SessionStoreUnusable(
            f"the disk holding {path} is full; the store was not changed",
            hint="Free some space (or point CONTAINERKIT_HOME at a folder on another disk), then run again: "
            "a run that was interrupted carries on with `containerkit resume ID`.",
            path=str(path),
        )
    if "locked" in text or "busy" in text:
        return SessionStoreUnusable(
            f"the session store {path} is locked by another containerkit process",
            hint=f"Wait for the other run to finish (or stop it), then try again; `{DOCTOR}` shows what holds it.",
            path=str(path),
        )
    if "full" in text or getattr(exc, "errno", None) == 28:
        return SessionStoreUnusable(
            f"the disk holding {path} is full",
            hint="Free some space, or point CONTAINERKIT_HOME at a folder on another disk.",
            path=str(path),
        )
    if "readonly" in text or "read-only" in text or "permission" in text or "unable to open" in text:
        return SessionStoreUnusable(
            f"the session store {path} cannot be written: {exc}",
            hint="Make CONTAINERKIT_HOME a writable folder (export CONTAINERKIT_HOME=...).",
            path=str(path),
        )
    if "not a database" in text or "malformed" in text or "corrupt" in text:
        return SessionStoreUnusable(
            f"the session store {path} is corrupt: {exc}",
            hint=f"Run `{DOCTOR}`: it moves the corrupt file aside and starts a fresh store.",
            path=str(path),
        )
    return SessionStoreUnusable(f"the session store {path} cannot be used: {exc}", path=str(path))


def _check_home(home: Path) -> None:
    """``CONTAINERKIT_HOME`` must be (or become) a writable folder."""
    try:
        if home.exists() and not home.is_dir():
            raise SessionStoreUnusable(
                f"CONTAINERKIT_HOME {home} is a file, not a folder",
                hint="Point CONTAINERKIT_HOME at a folder (it is created when missing), or move the file away.",
                path=str(home),
            )
        home.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise SessionStoreUnusable(
            f"cannot create CONTAINERKIT_HOME {home}: {exc.strerror}",
            hint="Point CONTAINERKIT_HOME at a writable folder.",
            path=str(home),
        ) from None
    if not os.access(home, os.W_OK | os.X_OK):
        raise SessionStoreUnusable(
            f"CONTAINERKIT_HOME {home} is not writable",
            hint="Point CONTAINERKIT_HOME at a writable folder (export CONTAINERKIT_HOME=...).",
            path=str(home),
        )


def _check_file(path: Path) -> None:
    """The store is a regular file that starts as SQLite does (or is empty / absent)."""
    try:
        st = path.stat()
    except FileNotFoundError:
        return
    except OSError as exc:
        raise _store_error(path, exc) from None
    if not stat.S_ISREG(st.st_mode):
        raise SessionStoreUnusable(
            f"the session store {path} is not a regular file",
            hint=f"Move {path} away (or run `{DOCTOR}`), or point CONTAINERKIT_HOME elsewhere.",
            path=str(path),
        )
    if st.st_size == 0:
        return
    try:
        with path.open("rb") as fh:
            head = fh.read(len(SQLITE_MAGIC))
    except OSError as exc:
        raise _store_error(path, exc) from None
    if head != SQLITE_MAGIC:
        raise SessionStoreUnusable(
            f"the session store {path} is not a SQLite database (corrupt or overwritten)",
            hint=f"Run `{DOCTOR}`: it moves the file aside and starts a fresh store.",
            path=str(path),
        )


def _tables(conn: sqlite3.Connection) -> set[str]:
    rows = conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
    return {str(r[0]) for r in rows}


def _foreign_tables(path: Path) -> set[str]:
    """Tables of an existing store that containerkit does not create (read through a read-only connection)."""
    if not path.exists() or path.stat().st_size == 0:
        return set()
    ro = sqlite3.connect(f"file:{quote(str(path))}?mode=ro", uri=True, timeout=10)
    try:
        return _tables(ro) - OUR_TABLES
    finally:
        ro.close()


class SessionStore:
    """Owns the SQLite connection; hands out the checkpointer the graph compiles with.

    Used as a context manager, a SQLite failure inside the block (locked, full, corrupt) leaves
    as a :class:`SessionStoreUnusable`.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        _check_home(path.parent)
        _check_file(path)
        conn: sqlite3.Connection | None = None
        try:
            foreign = _foreign_tables(path)  # read-only: a file that is not ours is never changed
            if foreign:
                raise SessionStoreUnusable(
                    f"{path} is a SQLite database containerkit did not create (tables: {', '.join(sorted(foreign))})",
                    hint=f"Nothing was changed in it. Run `{DOCTOR}` to move it aside, "
                    "or point CONTAINERKIT_HOME at another folder.",
                    path=str(path),
                )
            conn = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None, timeout=10)
            conn.execute("PRAGMA journal_mode=WAL")
            # in WAL mode, NORMAL keeps every commit through a killed process (what resume needs) and
            # drops the fsync per checkpoint that FULL adds (a power cut may lose the last stage only)
            conn.execute("PRAGMA synchronous=NORMAL")
            self.conn = conn
            self.saver = SqliteSaver(conn, serde=JsonPlusSerializer(allowed_msgpack_modules=_allowed()))
            self.saver.setup()
        except SessionStoreUnusable:
            if conn is not None:
                conn.close()
            raise
        except (sqlite3.Error, OSError) as exc:
            if conn is not None:
                conn.close()
            raise _store_error(path, exc) from None

    def close(self) -> None:
        with contextlib.suppress(sqlite3.Error):
            self.conn.close()

    def __enter__(self) -> SessionStore:
        return self

    def __exit__(self, exc_type: object, exc: BaseException | None, tb: object) -> None:
        self.close()
        if isinstance(exc, sqlite3.Error):
            raise _store_error(self.path, exc) from exc

    def load(self, session_id: str) -> Session:
        try:
            row = self.conn.execute(
                "SELECT type, checkpoint FROM checkpoints WHERE thread_id = ? AND checkpoint_ns = '' "
                "ORDER BY checkpoint_id DESC LIMIT 1",
                (session_id,),
            ).fetchone()
        except sqlite3.Error as exc:
            raise _store_error(self.path, exc) from None
        if row is None:
            raise SessionNotFound(f"no session {session_id!r} in {self.path}", session_id=session_id)
        return self._decode(session_id, row[0], row[1])

    def _decode(self, session_id: str, kind: str, blob: bytes) -> Session:
        """The session state in one checkpoint row (its channel values, as LangGraph wrote them)."""
        try:
            checkpoint = self.saver.serde.loads_typed((kind, blob))
        except Exception as exc:  # noqa: BLE001 - any decoding failure of one row is that row's problem
            raise SessionStoreUnusable(
                f"session {session_id}'s checkpoint cannot be read: {type(exc).__name__}: {_short(exc)}",
                hint=f"The other sessions are intact; `{DOCTOR}` lists the unreadable ones.",
                session_id=session_id,
            ) from None
        try:
            values = checkpoint.get("channel_values", {})
            return Session.model_validate({k: v for k, v in values.items() if k in _FIELDS})
        except Exception as exc:  # noqa: BLE001 - a checkpoint written by another version or damaged
            raise SessionStoreUnusable(
                f"session {session_id}'s checkpoint does not hold a session: {_short(exc)}",
                hint=f"The other sessions are intact; `{DOCTOR}` lists the unreadable ones.",
                session_id=session_id,
            ) from None

    def _latest(self) -> Iterator[tuple[str, Session | SessionStoreUnusable]]:
        """Every session's latest checkpoint, newest first, read in one query (a store of thousands lists fast)."""
        try:
            rows = self.conn.execute(
                "SELECT c.thread_id, c.type, c.checkpoint FROM checkpoints AS c JOIN "
                "(SELECT thread_id, MAX(checkpoint_id) AS last FROM checkpoints WHERE checkpoint_ns = '' "
                "GROUP BY thread_id) AS l ON c.thread_id = l.thread_id AND c.checkpoint_id = l.last "
                "WHERE c.checkpoint_ns = '' ORDER BY c.checkpoint_id DESC"
            ).fetchall()
        except sqlite3.Error as exc:
            raise _store_error(self.path, exc) from None
        for sid, kind, blob in rows:
            try:
                yield str(sid), self._decode(str(sid), kind, blob)
            except SessionStoreUnusable as exc:
                yield str(sid), exc

    def ids(self) -> list[str]:
        try:
            rows = self.conn.execute(
                "SELECT thread_id, MAX(checkpoint_id) AS last FROM checkpoints WHERE checkpoint_ns = '' "
                "GROUP BY thread_id ORDER BY last DESC"
            ).fetchall()
        except sqlite3.Error as exc:
            raise _store_error(self.path, exc) from None
        return [str(r[0]) for r in rows]

    def resolve(self, prefix: str) -> str:
        """Accept a unique prefix of a session id, as git does for commits."""
        if not prefix.strip():
            raise InvalidOption(
                "the session id is empty",
                hint="Give a session id or a unique prefix of one; `containerkit sessions list` shows them.",
            )
        ids = self.ids()
        if prefix in ids:
            return prefix
        matches = [i for i in ids if i.startswith(prefix)]
        if len(matches) == 1:
            return matches[0]
        if not matches:
            raise SessionNotFound(f"no session {prefix!r}", session_id=prefix)
        raise SessionNotFound(
            f"{prefix!r} matches {len(matches)} sessions", hint="Give more characters of the session id."
        )

    def list(self, where: SessionFilter | None = None) -> list[SessionInfo]:
        """Every session, newest first; one that cannot be read is listed as ``unreadable``.

        With a filter, only the sessions it selects (an unreadable one only when nothing filters).
        """
        where = where or SessionFilter()
        out = []
        at = datetime.now(UTC)
        for sid, s in self._latest():
            if isinstance(s, SessionStoreUnusable):
                if where.empty or "unreadable" in where.statuses:
                    out.append(SessionInfo(session_id=sid, status="unreadable", repo="", updated="", problem=s.message))
                continue
            if where.matches(s, at):
                out.append(SessionInfo.of(s))
        return out

    def sessions(self, where: SessionFilter | None = None) -> Iterator[Session]:
        """Every readable session ``where`` selects, newest first (unreadable ones are skipped: `doctor` lists them)."""
        at = datetime.now(UTC)
        for _sid, s in self._latest():
            if isinstance(s, SessionStoreUnusable):
                continue
            if where is None or where.matches(s, at):
                yield s

    def delete(self, session_id: str) -> None:
        """Remove every checkpoint of the session (one transaction: all or nothing)."""
        try:
            self.saver.delete_thread(session_id)
        except sqlite3.Error as exc:
            raise _store_error(self.path, exc) from None


def _short(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text if len(text) <= 160 else text[:157] + "..."


# -- doctor -----------------------------------------------------------------------------------


@dataclass
class DoctorReport:
    """What ``sessions doctor`` found and did; ``ok`` when the store is usable afterwards."""

    path: str
    ok: bool = True
    checks: list[str] = field(default_factory=list)
    actions: list[str] = field(default_factory=list)
    unreadable: list[str] = field(default_factory=list)
    moved_to: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "ok": self.ok,
            "checks": self.checks,
            "actions": self.actions,
            "unreadable": self.unreadable,
            "moved_to": self.moved_to,
        }


def _move_aside(path: Path) -> Path:
    stamp = time.strftime("%Y%m%dT%H%M%S")
    target = path.with_name(f"{path.name}.corrupt-{stamp}")
    n = 1
    while target.exists():
        n += 1
        target = path.with_name(f"{path.name}.corrupt-{stamp}-{n}")
    path.rename(target)
    for suffix in ("-wal", "-shm"):
        side = path.with_name(path.name + suffix)
        if side.exists():
            side.rename(target.with_name(target.name + suffix))
    return target


def doctor(path: Path, *, repair: bool = True) -> DoctorReport:
    """Check the store at ``path``; with ``repair`` move a corrupt or foreign one aside and start afresh.

    A locked store is reported, never moved (another process is using it). Sessions whose
    checkpoint cannot be read are listed; the store keeps them.
    """
    report = DoctorReport(path=str(path))
    try:
        _check_home(path.parent)
        report.checks.append(f"home {path.parent}: a writable folder")
    except SessionStoreUnusable as exc:
        report.ok = False
        report.checks.append(f"home: {exc.message} ({exc.hint})")
        return report
    if not path.exists() and not path.is_symlink():
        report.checks.append("no session store yet: one is created on the first run")
        return report
    problem: SessionStoreUnusable | None = None
    try:
        _check_file(path)
        conn = sqlite3.connect(f"file:{quote(str(path))}?mode=ro", uri=True, timeout=2)
        try:
            row = conn.execute("PRAGMA quick_check").fetchone()
            if row is None or row[0] != "ok":
                raise sqlite3.DatabaseError(f"database disk image is malformed ({row[0] if row else 'no answer'})")
            foreign = _tables(conn) - OUR_TABLES
            if foreign:
                raise SessionStoreUnusable(
                    f"{path} holds tables containerkit did not create: {', '.join(sorted(foreign))}"
                )
        finally:
            conn.close()
    except SessionStoreUnusable as exc:
        problem = exc
    except sqlite3.Error as exc:
        problem = _store_error(path, exc)
    if problem is not None and ("locked" in problem.message or "is full" in problem.message):
        report.ok = False
        report.checks.append(problem.message)
        return report
    if problem is not None:
        report.checks.append(problem.message)
        if not repair:
            report.ok = False
            return report
        try:
            moved = _move_aside(path)
        except OSError as exc:
            report.ok = False
            report.actions.append(f"cannot move {path} aside: {exc.strerror}")
            return report
        report.moved_to = str(moved)
        report.actions.append(f"moved {path} to {moved}")
    try:
        with SessionStore(path) as store:
            infos = store.list()
    except SessionStoreUnusable as exc:
        report.ok = False
        report.checks.append(exc.message)
        return report
    if problem is not None:
        report.actions.append(f"started a fresh store at {path}")
    report.unreadable = [f"{i.session_id}: {i.problem}" for i in infos if i.status == "unreadable"]
    report.checks.append(
        f"{len(infos)} session(s), {len(report.unreadable)} unreadable" if infos else "the store is empty"
    )
    return report
