"""``containerkit metrics serve``: the session store's history as Prometheus metrics on 127.0.0.1."""

from __future__ import annotations

import threading

import typer

from containerkit.cli import current_env, handle_errors

__all__ = ["register"]

metrics_app = typer.Typer(help="Prometheus metrics of the session store.", no_args_is_help=True)


@metrics_app.command("serve")
@handle_errors
def metrics_serve(
    port: int = typer.Option(9464, "--port", min=0, max=65535, help="Port to serve /metrics on (0: a free one)."),
    host: str = typer.Option("127.0.0.1", "--host", help="Address to bind (default: this machine only)."),
) -> None:
    """Serve runs, stage durations, recoveries and the last scan verdicts of every session until Ctrl-C."""
    from containerkit.graph.metrics_server import SessionCollector, serve_metrics, store_sessions

    env = current_env()
    server = serve_metrics([SessionCollector(store_sessions(env.settings.sessions_db))], port=port, host=host)
    env.err.print(f"serving {server.url} (Ctrl-C stops)")
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.close()


def register(app: typer.Typer) -> None:
    app.add_typer(metrics_app, name="metrics")
