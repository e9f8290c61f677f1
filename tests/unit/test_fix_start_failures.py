"""Fixes for failures seen when the image starts: each changes only what the evidence calls for."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from containerkit.tools.analyze.models import ModuleAnalysis
from containerkit.tools.diagnose import FailureEvidence, classify
from containerkit.tools.dockerfile import BuildFailureInfo, fix_dockerfile, generate_dockerfile, load_catalog


@pytest.fixture(scope="module")
def catalog():  # type: ignore[no-untyped-def]
    return load_catalog()


def _py() -> ModuleAnalysis:
    return ModuleAnalysis(
        path=".",
        name="demo",
        language="python",
        language_version="3.11",
        package_manager="pip",
        framework="flask",
        port=8000,
        start_command="gunicorn app:app",
        dependency_files=["requirements.txt"],
    )


def _node(**kw: object) -> ModuleAnalysis:
    base = {
        "path": ".",
        "name": "demo",
        "language": "node",
        "package_manager": "npm",
        "port": 3000,
        "start_command": "npm start",
        "dependency_files": ["package.json"],
    }
    return ModuleAnalysis.model_validate({**base, **kw})


def _fix(content: str, log: str, module: ModuleAnalysis, catalog, context: Path | None = None, stage: str = "verify"):  # type: ignore[no-untyped-def]
    diag = classify(FailureEvidence(stage=stage, log_tail=log))  # type: ignore[arg-type]
    return fix_dockerfile(content, BuildFailureInfo(log_tail=log), module, catalog, context=context, diagnosis=diag)


def test_a_library_missing_at_start_is_installed_in_the_final_stage_only(catalog) -> None:  # type: ignore[no-untyped-def]
    before = generate_dockerfile(_py(), catalog).content
    res = _fix(
        before, "ImportError: libpq.so.5: cannot open shared object file: No such file or directory", _py(), catalog
    )
    assert res.changed and res.kind == "missing_runtime_library"
    build, final = res.content.split("\n\nFROM ", 1)
    assert "libpq5" not in build and "libpq5" in final
    assert final.index("libpq5") < final.index("USER ")  # installed as root, before the user switch


def test_dev_dependencies_are_kept_when_node_env_production_pruned_them(catalog) -> None:  # type: ignore[no-untyped-def]
    m = _node(start_command="ts-node src/index.ts")
    before = generate_dockerfile(m, catalog).content
    res = _fix(before, "> ts-node src/index.ts\nsh: 1: ts-node: not found", m, catalog)
    assert res.changed and res.kind == "dev_tool_at_runtime"
    assert "--omit=dev" not in res.content and "--include=dev" in res.content


def test_a_folder_the_app_writes_is_given_to_the_runtime_user(catalog) -> None:  # type: ignore[no-untyped-def]
    before = generate_dockerfile(_py(), catalog).content
    res = _fix(before, "PermissionError: [Errno 13] Permission denied: 'data/cache.db'", _py(), catalog)
    assert res.changed and "RUN mkdir -p /app/data && chown -R 10001:10001 /app/data" in res.content
    final = res.content.split("\n\nFROM ")[-1]
    assert final.index("chown") < final.index("USER 10001")
    # never a system folder
    res = _fix(before, "PermissionError: [Errno 13] Permission denied: '/etc/app.conf'", _py(), catalog)
    assert not res.changed


def test_an_undeclared_import_installs_its_distribution(catalog) -> None:  # type: ignore[no-untyped-def]
    before = generate_dockerfile(_py(), catalog).content
    res = _fix(before, "ModuleNotFoundError: No module named 'yaml'", _py(), catalog)
    assert res.changed and "RUN pip install --no-cache-dir PyYAML" in res.content
    assert res.content.index("RUN pip install --no-cache-dir PyYAML") < res.content.index("pip uninstall")
    assert "add it to the manifest" in res.reason


def test_a_bind_address_is_set_but_a_database_url_is_never_invented(catalog) -> None:  # type: ignore[no-untyped-def]
    before = generate_dockerfile(_py(), catalog).content
    res = _fix(before, "KeyError: 'HOST'", _py(), catalog)
    assert res.changed and "ENV HOST=0.0.0.0" in res.content
    res = _fix(before, "KeyError: 'HOST'\nenvironment variable DATABASE_URL is not set", _py(), catalog)
    assert not res.changed and "DATABASE_URL" in res.reason


def test_the_build_the_repository_defines_is_added_under_its_own_name(catalog, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "package.json").write_text(
        json.dumps({"scripts": {"compile": "tsc -p .", "start": "node dist/index.js"}})
    )
    m = _node(start_command="node dist/index.js")
    before = generate_dockerfile(m, catalog).content
    res = _fix(before, "Error: Cannot find module '/app/dist/index.js'", m, catalog, context=tmp_path)
    assert res.changed and "npm run compile" in res.content
    # next start without a build script: the build its start command implies
    (tmp_path / "package.json").write_text(json.dumps({"scripts": {"dev": "next dev", "start": "next start"}}))
    m = _node(start_command="next start", framework="next")
    res = _fix(
        generate_dockerfile(m, catalog).content,
        "Error: Could not find a production build in the '.next' directory.",
        m,
        catalog,
        context=tmp_path,
    )
    assert res.changed and "next build" in res.content


def test_node_gyp_header_downloads_use_the_headers_in_the_image(catalog) -> None:  # type: ignore[no-untyped-def]
    m = _node()
    before = generate_dockerfile(m, catalog).content
    log = "gyp http fetch GET https://nodejs.org/download/release/v22.1.0/node-v22.1.0-headers.tar.gz attempt 1 failed with ENOTFOUND"
    res = _fix(before, log, m, catalog, stage="build")
    assert res.changed and "ENV npm_config_nodedir=/usr/local" in res.content


def test_a_pin_built_from_source_on_a_newer_python_moves_to_the_default_one(catalog) -> None:  # type: ignore[no-untyped-def]
    m = ModuleAnalysis(
        path=".",
        name="demo",
        language="python",
        language_version="3.13",
        package_manager="pip",
        framework="fastapi",
        port=8000,
        start_command="uvicorn main:app",
        dependency_files=["requirements.txt"],
    )
    before = generate_dockerfile(m, catalog).content
    assert "python:3.13-slim" in before
    log = (
        "Preparing metadata (pyproject.toml): finished with status 'error'\n"
        '  File "/tmp/pip-build-env-x/normal/lib/python3.13/site-packages/httpx/_transports/default.py", line 118\n'
        "  httpx.ConnectError: [Errno -2] Name or service not known\n"
        "error: metadata-generation-failed\n"
    )
    res = _fix(before, log, m, catalog, stage="build")
    assert res.changed and res.kind == "network_blocked"
    assert "python:3.13-slim" not in res.content and "python:3.11-slim" in res.content
    assert "no wheel for Python 3.13" in res.reason


def test_a_start_command_list_runs_every_step_and_execs_the_last() -> None:
    from containerkit.tools.dockerfile._common import exec_form

    assert exec_form("flask db upgrade; gunicorn app:app") == (
        'CMD ["sh", "-c", "flask db upgrade; exec gunicorn app:app"]'
    )
    assert (
        exec_form("npm run migrate && node server.js") == 'CMD ["sh", "-c", "npm run migrate && exec node server.js"]'
    )
    assert exec_form("a || b") == 'CMD ["sh", "-c", "a || b"]'  # the shell must stay
    assert exec_form("gunicorn app:app --bind 0.0.0.0:$PORT") == (
        'CMD ["sh", "-c", "exec gunicorn app:app --bind 0.0.0.0:$PORT"]'
    )


def test_a_database_beside_the_code_gets_the_app_folder_given_to_the_user(catalog) -> None:  # type: ignore[no-untyped-def]
    before = generate_dockerfile(_py(), catalog).content
    res = _fix(before, "django.db.utils.OperationalError: unable to open database file", _py(), catalog)
    assert res.changed and res.kind == "permission_denied"
    assert "chown -R 10001:10001 /app" in res.content


def test_a_server_told_to_load_a_missing_module_loads_the_app_the_code_defines(catalog, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "app.py").write_text("from flask import Flask\n\napp = Flask(__name__)\n")
    before = generate_dockerfile(_py(), catalog).content.replace(
        'CMD ["gunicorn", "app:app"]', 'CMD ["gunicorn", "wsgi:app"]'
    )
    log = "ModuleNotFoundError: No module named 'wsgi'"
    diag = classify(FailureEvidence(stage="verify", log_tail=log, start_command="gunicorn wsgi:app"))
    res = fix_dockerfile(before, BuildFailureInfo(log_tail=log), _py(), catalog, context=tmp_path, diagnosis=diag)
    assert res.changed and res.kind == "wrong_start_command"
    assert 'CMD ["gunicorn", "app:app"]' in res.content


@pytest.mark.parametrize(
    ("log", "framework", "files", "step"),
    [
        (
            "sqlite3.OperationalError: no such table: post",
            "flask",
            {"app.py": "from flask import Flask\napp = Flask(__name__)\n@app.cli.command('init-db')\ndef i(): ...\n"},
            "init-db",
        ),
        (
            "django.db.utils.OperationalError: no such table: clips_clip",
            "django",
            {"manage.py": ""},
            "python manage.py migrate --noinput",
        ),
        (
            'psycopg2.errors.UndefinedTable: relation "users" does not exist',
            "fastapi",
            {"alembic.ini": "[alembic]\n", "main.py": ""},
            "alembic upgrade head",
        ),
    ],
)
def test_missing_tables_run_the_repositorys_schema_step_before_the_server(  # type: ignore[no-untyped-def]
    tmp_path, log: str, framework: str, files: dict[str, str], step: str
) -> None:
    from containerkit.tools.dockerfile import BuildFailureInfo, fix_dockerfile, generate_dockerfile, load_catalog
    from containerkit.tools.dockerfile.fix import start_command_of

    for name, text in files.items():
        (tmp_path / name).write_text(text)
    m = ModuleAnalysis(
        path=".", name="demo", language="python", framework=framework, start_command="python app.py", port=8000
    )
    before = generate_dockerfile(m, load_catalog()).content
    diag = classify(FailureEvidence(stage="verify", log_tail=log))
    res = fix_dockerfile(
        before, BuildFailureInfo(message="500", log_tail=log), m, load_catalog(), context=tmp_path, diagnosis=diag
    )
    assert diag.category == "missing_build_step" and res.changed, res.reason
    start = start_command_of(res.content) or ""
    assert step in start and start.index(step) < start.index("python app.py")  # at start, before the server
    assert "&& exec python app.py" in start
    # a repository without any schema step: no guess
    empty = tmp_path / "empty"
    empty.mkdir()
    none = fix_dockerfile(
        before,
        BuildFailureInfo(message="500", log_tail=log),
        m.model_copy(update={"framework": "fastapi"}),
        load_catalog(),
        context=empty,
        diagnosis=diag,
    )
    assert not none.changed
