"""Whether a module's code starts an HTTP server decides how verify judges it (server or worker/job)."""

from __future__ import annotations

from pathlib import Path

from containerkit.tools.analyze.serving import serves_http
from containerkit.tools.verify import module_kind

BROKEN = Path(__file__).resolve().parents[1] / "fixtures" / "broken"


def test_servers_are_told_from_workers_and_jobs_by_their_code() -> None:
    assert serves_http(BROKEN / "node-ts-node-start", "node") is True  # http.createServer, no framework
    assert serves_http(BROKEN / "py-queue-worker", "python") is False
    assert serves_http(BROKEN / "py-report-job", "python") is False
    assert serves_http(BROKEN, "cobol") is None


def test_a_default_port_alone_does_not_make_a_server() -> None:
    assert module_kind(port=8000, framework=None, language="python", start_command="python main.py") is None
    assert module_kind(port=8000, framework="flask", language="python", start_command="gunicorn app:app") == "server"
    assert module_kind(port=None, framework=None, language="python", start_command="celery -A tasks worker") == (
        "worker"
    )


def test_dependency_folders_are_not_read(tmp_path: Path) -> None:
    (tmp_path / "node_modules" / "x").mkdir(parents=True)
    (tmp_path / "node_modules" / "x" / "index.js").write_text("require('http').createServer().listen(1)")
    (tmp_path / "job.js").write_text("console.log('done')")
    assert serves_http(tmp_path, "node") is False
