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


def test_a_port_exposed_by_the_users_own_dockerfile_makes_a_server(tmp_path: Path) -> None:
    from containerkit.agents.buildsec import _kind
    from containerkit.state import DockerfileInfo, Session
    from containerkit.tools.analyze.models import ModuleAnalysis, RepoAnalysis

    (tmp_path / "job.py").write_text("print('done')\n")
    module = ModuleAnalysis(path=".", name="x", language="python", port=8000, start_command="python job.py")
    base = Session(session_id="s", repo_path=str(tmp_path), analysis=RepoAnalysis(root=str(tmp_path), modules=[module]))
    theirs = base.model_copy(update={"dockerfile": DockerfileInfo(content="", path="D", origin="user")})
    ours = base.model_copy(update={"dockerfile": DockerfileInfo(content="", path="D", origin="generated")})
    assert _kind(theirs, module, [80]) == "server"
    assert _kind(ours, module, [8000]) is None  # ours expose a port for every module
    assert _kind(theirs, module, []) is None
