"""Builds started before anything asks for them, taken over by the build that does.

Why: a cold ``containerkit run`` spends a second or more importing the graph before its first build,
while the engine sits idle. The build the last run of the same repository did can run meanwhile (the
engine works while this process imports). :func:`containerkit.tools.engine.build_image` takes a
speculative build over only when it asks for the same build (the request, tags aside) and nothing in
the build context or the Dockerfile was written since the speculation started; then the result is
the one the build would have given (same steps, same cache hits, same image id), tagged as asked.
Otherwise the speculation is cancelled and the build runs as usual.

This module only keeps the registry and the bookkeeping (stdlib only: the CLI registers a
speculation before anything heavy is imported); the engine runs the build.
"""

from __future__ import annotations

import os
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import subprocess

    from containerkit.tools.engine import BuildRequest, BuildResult
    from containerkit.tools.progress import ProgressEvent, ProgressSink

__all__ = ["Speculation", "cancel_all", "request_key", "start", "take"]

# filesystem timestamps come from a coarse clock that can lag the wall clock by a tick: a write just
# after the speculation started may carry a time just before it
_CLOCK_SLACK_NS = 50_000_000
_DONE = object()


def request_key(req: BuildRequest) -> str:
    """What a build is, for matching: the request without its tags (tags are applied on adoption)."""
    return req.model_copy(update={"tags": []}).model_dump_json()


def written_since(paths: list[Path], since_ns: int) -> str | None:
    """The first file or folder under ``paths`` changed (ctime) at or after ``since_ns``, or None.

    ctime, not mtime: a tool that restores mtimes still moves ctime; a folder's ctime moves when an
    entry is added, removed or renamed, so deletions are seen too.
    """
    limit = since_ns - _CLOCK_SLACK_NS
    for top in paths:
        try:
            if os.lstat(top).st_ctime_ns >= limit:
                return str(top)
        except OSError:
            return str(top)
        if not top.is_dir():
            continue
        for root, dirs, files in os.walk(top):
            for name in dirs + files:
                p = os.path.join(root, name)
                try:
                    if os.lstat(p).st_ctime_ns >= limit:
                        return p
                except OSError:
                    return p
    return None


@dataclass
class Speculation:
    """One speculative build: its events queue up until a build adopts it (on the adopter's thread)."""

    key: str
    started_ns: int
    watch: list[Path]
    events: queue.Queue[Any] = field(default_factory=queue.Queue)
    result: BuildResult | None = None
    error: BaseException | None = None
    proc: subprocess.Popen[str] | None = None
    client: Any = None
    done: threading.Event = field(default_factory=threading.Event)
    cancelled: bool = False

    def sink(self, event: ProgressEvent) -> None:
        self.events.put(event)

    def finished(self, result: BuildResult | None, error: BaseException | None) -> None:
        self.result, self.error = result, error
        self.done.set()
        self.events.put(_DONE)

    def cancel(self) -> None:
        """Stop the build (its docker CLI ends; BuildKit drops what only it asked for) and wait for it."""
        self.cancelled = True
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
        self.done.wait(timeout=60)

    def adopt(self, on_progress: ProgressSink) -> BuildResult | None:
        """The finished build's result, its progress replayed to ``on_progress`` on this thread; None
        when it cannot stand for the build asked for (a file written since it started, or it failed)."""
        changed = written_since(self.watch, self.started_ns)
        if changed is not None:
            self.cancel()
            on_progress({"kind": "log", "stage": "build", "message": f"early build not used: {changed} changed"})
            return None
        while (event := self.events.get()) is not _DONE:
            on_progress(event)
        if self.result is None:
            return None  # it failed: the build runs again as asked and reports its own failure
        on_progress({"kind": "log", "stage": "build", "message": "built while containerkit was starting"})
        return self.result


_LOCK = threading.Lock()
_PENDING: dict[str, Speculation] = {}


def start(key: str, run: Callable[[Speculation], BuildResult], *, watch: list[Path]) -> Speculation:
    """Register a speculation for the build whose :func:`request_key` is ``key`` and run ``run(spec)``
    in a daemon thread (the key is given, so nothing heavy is imported before it starts)."""
    spec = Speculation(key=key, started_ns=time.time_ns(), watch=watch)

    def body() -> None:
        try:
            spec.finished(run(spec), None)
        except BaseException as exc:  # noqa: BLE001 - kept for the adopter, which builds again
            spec.finished(None, exc)

    with _LOCK:
        old = _PENDING.pop(spec.key, None)
        _PENDING[spec.key] = spec
    if old is not None:
        old.cancel()
    threading.Thread(target=body, name="ck-speculative-build", daemon=True).start()
    return spec


def take(req: BuildRequest) -> Speculation | None:
    """The speculation for this build, removed from the registry (each is adopted at most once)."""
    if not _PENDING:
        return None
    with _LOCK:
        return _PENDING.pop(request_key(req), None)


def cancel_all() -> list[Speculation]:
    """Cancel every speculation nobody adopted (a run that failed before its build, or built another
    Dockerfile); they are returned so the caller can remove the untagged images they left."""
    with _LOCK:
        left = list(_PENDING.values())
        _PENDING.clear()
    for spec in left:
        spec.cancel()
    return left
