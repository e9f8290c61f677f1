"""Rendering progress events on the terminal: stages, build steps, push bytes, warnings."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, DownloadColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

__all__ = ["ProgressRenderer"]


class ProgressRenderer:
    """Turns the graph's custom stream events into live terminal output (stderr)."""

    def __init__(self, console: Console, *, verbose: bool = False) -> None:
        self.console = console
        self.verbose = verbose
        self.progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            TextColumn("{task.completed}/{task.total}"),
            TimeElapsedColumn(),
            console=console,
            transient=True,
        )
        self.push_progress = Progress(
            TextColumn("{task.description}"), BarColumn(), DownloadColumn(), console=console, transient=True
        )
        self._build: TaskID | None = None
        self._push: dict[str, TaskID] = {}

    def __enter__(self) -> ProgressRenderer:
        self.resume()
        return self

    def __exit__(self, *exc: object) -> None:
        self.pause()

    def pause(self) -> None:
        """Stop the live display while the user answers a question."""
        # rich prints a newline when it stops a display on a pipe: stop only what runs
        for live in (self.progress, self.push_progress):
            if live.live.is_started:
                live.stop()

    def resume(self) -> None:
        if self.console.is_terminal:  # live bars on a terminal; a pipe or a file gets the lines only
            self.progress.start()

    def __call__(self, ev: dict[str, Any]) -> None:
        """Render one event; rendering never breaks the run it reports on."""
        try:
            self._render(ev)
        except Exception as exc:  # noqa: BLE001 - a display problem is not the user's failure
            self.console.print(f"(progress display error: {escape(str(exc))})", markup=True)

    def _render(self, ev: dict[str, Any]) -> None:
        ev = {k: escape(v) if isinstance(v, str) else v for k, v in ev.items()}
        kind = ev.get("kind")
        if kind == "session":
            self.console.print(f"[bold]session[/] {ev.get('message')} {ev.get('status')}")
        elif kind == "stage":
            self._stage(ev)
        elif kind == "build":
            total = int(ev.get("total") or 0)
            if self._build is None:
                self._build = self.progress.add_task("build", total=total)
            self.progress.update(
                self._build,
                completed=int(ev.get("step") or 0),
                total=total,
                description=f"build: {str(ev.get('message', ''))[:60]}",
            )
        elif kind in ("push", "pull"):
            self._push_event(ev)
        elif kind == "retry":
            self.console.print(f"[magenta]↻ retry:[/] {ev.get('message')}")
        elif kind == "approval" and ev.get("status") == "waiting":
            self.console.print(f"[bold]approval[/] {ev.get('message')}: waiting for a decision")
        elif kind == "deploy":
            self.console.print(f"  [blue]deploy:[/] {ev.get('message')}", highlight=False)
        elif kind == "warning":
            self.console.print(f"[yellow]warning:[/] {ev.get('message')}")
        elif kind == "log" and (self.verbose or ev.get("stage") != "build"):
            self.console.print(f"[dim]{ev.get('message')}[/]", highlight=False)

    def _stage(self, ev: dict[str, Any]) -> None:
        stage, status = ev.get("stage"), ev.get("status")
        name = f"{stage}: {ev['message']}" if ev.get("message") and status in ("started", "finished") else stage
        if status == "started":
            self.console.print(f"[cyan]▶ {name}[/]")
        elif status == "finished":
            d = (ev.get("data") or {}).get("duration_s")
            self.console.print(f"[green]✔ {name}[/] ({d:.1f}s)" if d is not None else f"[green]✔ {name}[/]")
            if stage == "buildsec" and self._build is not None:
                self.progress.remove_task(self._build)
                self._build = None
        elif status == "failed":
            self.console.print(f"[red]✘ {stage}[/]: {ev.get('message')}")
            if self._build is not None:
                self.progress.remove_task(self._build)
                self._build = None
        elif status == "recovering":
            self.console.print(f"[magenta]↻ recovery:[/] {ev.get('message')}")
        elif status == "succeeded":
            self.console.print("[bold green]✔ done[/]")

    def _push_event(self, ev: dict[str, Any]) -> None:
        layer = str(ev.get("layer") or "")
        total = int(ev.get("total") or 0)
        if not layer or not total:
            return
        if not self._push and self.console.is_terminal:
            self.push_progress.start()
        if layer not in self._push:
            self._push[layer] = self.push_progress.add_task(f"{ev.get('kind', 'push')} {layer[:12]}", total=total)
        self.push_progress.update(self._push[layer], completed=int(ev.get("current") or 0), total=total)
