"""``containerkit warm``: keep containerkit loaded so the edit loop's reruns skip the start-up."""

from __future__ import annotations

import contextlib
import time

import typer

from containerkit.cli import current_env, handle_errors
from containerkit.errors import InvalidOption

__all__ = ["register"]


@handle_errors
def warm_cmd(
    idle: str = typer.Option("15m", "--idle", help="Stop after this long without a run (e.g. 30s, 15m, 2h)."),
    detach: bool = typer.Option(False, "--detach", "-d", help="Serve in the background and return at once."),
    stop_it: bool = typer.Option(False, "--stop", help="Stop the warm server of this home."),
) -> None:
    """Keep containerkit loaded for fast reruns: later `run`s of this home fork from it (a run starts one)."""
    from containerkit.cli._warm import serve, socket_path, spawn, stop
    from containerkit.settings import parse_duration

    env = current_env()
    home = env.settings.home
    if stop_it:
        env.err.print("stopped the warm server" if stop(home) else "no warm server runs for this home")
        return
    idle_s = parse_duration(idle, what="--idle")
    if idle_s < 1:
        raise InvalidOption("--idle must be at least one second", hint="Write --idle 15m.")
    if not detach:
        env.err.print(f"warm: `containerkit run` of {home} forks from this process (Ctrl-C or --idle {idle} stops it)")
        with contextlib.suppress(KeyboardInterrupt):
            serve(home, idle_s=idle_s)
        return
    home.mkdir(parents=True, exist_ok=True)
    path = socket_path(home)
    path.unlink(missing_ok=True)
    proc = spawn(home, idle, env.environ)
    deadline = time.monotonic() + 60
    while not path.exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            raise InvalidOption(
                f"the warm server did not start (see {home / 'warm.log'})",
                hint="Run `containerkit warm` in the foreground to see why.",
            )
        time.sleep(0.05)
    env.err.print(
        f"warm server {proc.pid} serves runs of {home} until {idle} pass without one; "
        "`containerkit warm --stop` ends it"
    )


def register(app: typer.Typer) -> None:
    app.command("warm")(warm_cmd)
