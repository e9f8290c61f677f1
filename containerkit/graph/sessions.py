"""The session store: LangGraph's SQLite checkpointer at ``$CONTAINERKIT_HOME/sessions.sqlite``.

Session id = thread id. Reading a session needs no graph: the latest checkpoint's channel values
are the session state.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path

from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer
from langgraph.checkpoint.sqlite import SqliteSaver

from containerkit.errors import SessionNotFound
from containerkit.state import STATE_MODELS, Session

__all__ = ["SessionInfo", "SessionStore"]


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


class SessionStore:
    """Owns the SQLite connection; hands out the checkpointer the graph compiles with."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.conn = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.saver = SqliteSaver(self.conn, serde=JsonPlusSerializer(allowed_msgpack_modules=_allowed()))
        self.saver.setup()

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> SessionStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def load(self, session_id: str) -> Session:
        tup = self.saver.get_tuple({"configurable": {"thread_id": session_id, "checkpoint_ns": ""}})
        if tup is None:
            raise SessionNotFound(f"no session {session_id!r} in {self.path}", session_id=session_id)
        values = tup.checkpoint.get("channel_values", {})
        return Session.model_validate({k: v for k, v in values.items() if k in Session.model_fields})

    def ids(self) -> list[str]:
        rows = self.conn.execute(
            "SELECT thread_id, MAX(checkpoint_id) AS last FROM checkpoints WHERE checkpoint_ns = '' "
            "GROUP BY thread_id ORDER BY last DESC"
        ).fetchall()
        return [str(r[0]) for r in rows]

    def resolve(self, prefix: str) -> str:
        """Accept a unique prefix of a session id, as git does for commits."""
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

    def list(self) -> list[SessionInfo]:
        out = []
        for sid in self.ids():
            s = self.load(sid)
            out.append(
                SessionInfo(
                    session_id=sid,
                    status=s.status,
                    repo=s.repo_path,
                    updated=s.updated.isoformat(timespec="seconds"),
                )
            )
        return out
