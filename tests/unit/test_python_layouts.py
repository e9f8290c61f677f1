"""Python layouts real repositories use: a requirements folder, a src/ package, `-e .` in requirements."""

from __future__ import annotations

from pathlib import Path

from containerkit.tools.analyze import analyze_repo
from containerkit.tools.dockerfile import generate_dockerfile, load_catalog


def _write(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
    return root


def test_requirements_folder_installs_production_with_its_includes(tmp_path: Path) -> None:
    repo = _write(
        tmp_path,
        {
            "requirements/base.txt": "Django==5.1.3\n",
            "requirements/production.txt": "-r base.txt\ngunicorn==23.0.0\n",
            "requirements/local.txt": "-r base.txt\ndjango-debug-toolbar\n",
            "manage.py": 'import os\nos.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")\n',
            "config/__init__.py": "",
            "config/wsgi.py": "application = None\n",
        },
    )
    m = analyze_repo(repo).primary()
    assert m.requirements_file == "requirements/production.txt"
    assert set(m.dependency_files) >= {"requirements/production.txt", "requirements/base.txt"}
    assert "requirements/local.txt" not in m.dependency_files  # development only
    assert m.start_command == "gunicorn config.wsgi"
    text = generate_dockerfile(m, load_catalog()).content
    assert "COPY requirements/production.txt requirements/base.txt ./requirements/" in text
    assert "pip install --no-cache-dir -r requirements/production.txt" in text


def test_src_layout_console_script_is_the_start_command_and_the_project_is_installed(tmp_path: Path) -> None:
    repo = _write(
        tmp_path,
        {
            "pyproject.toml": '[project]\nname = "svc"\nversion = "1"\ndependencies = ["flask"]\n'
            '[project.scripts]\nsvc-serve = "svc.server:main"\n'
            '[build-system]\nrequires = ["setuptools"]\nbuild-backend = "setuptools.build_meta"\n',
            "src/svc/__init__.py": "",
            "src/svc/server.py": "from flask import Flask\napp = Flask(__name__)\ndef main():\n    app.run()\n",
        },
    )
    m = analyze_repo(repo).primary()
    assert (m.framework, m.start_command, m.install_project) == ("flask", "svc-serve", True)
    text = generate_dockerfile(m, load_catalog()).content
    deps_at = text.index("pip install --no-cache-dir -r /tmp/requirements.txt")
    project_at = text.index("pip install --no-cache-dir --no-deps .")
    assert deps_at < project_at  # dependencies cached before the project's own install
    assert text.rstrip().endswith('CMD ["svc-serve"]')


def test_requirements_naming_the_project_itself_get_the_source_first(tmp_path: Path) -> None:
    repo = _write(
        tmp_path,
        {
            "requirements.txt": "flask==3.0.3\n-e .\n",
            "pyproject.toml": '[project]\nname = "x"\nversion = "1"\n',
            "app.py": "from flask import Flask\napp = Flask(__name__)\nif __name__ == '__main__':\n    app.run()\n",
        },
    )
    m = analyze_repo(repo).primary()
    assert m.source_before_install
    text = generate_dockerfile(m, load_catalog()).content
    build_stage = text.split("\n\nFROM ", 1)[0]
    assert build_stage.index("COPY . .") < build_stage.index("pip install --no-cache-dir -r requirements.txt")


def test_application_factory_packages_start_through_the_factory(tmp_path: Path) -> None:
    flask_repo = _write(
        tmp_path / "flask",
        {
            "requirements.txt": "flask==3.0.3\ngunicorn==23.0.0\n",
            "app/__init__.py": "from flask import Flask\n\ndef create_app():\n    app = Flask(__name__)\n    return app\n",
        },
    )
    m = analyze_repo(flask_repo).primary()
    assert m.start_command == "gunicorn 'app:create_app()'"
    # quoted parentheses need no shell: the app stays PID 1
    assert generate_dockerfile(m, load_catalog()).content.rstrip().endswith('CMD ["gunicorn", "app:create_app()"]')

    api_repo = _write(
        tmp_path / "api",
        {
            "requirements.txt": "fastapi==0.111.0\nuvicorn==0.30.1\n",
            "app/__init__.py": "from fastapi import FastAPI\n\ndef create_app():\n    return FastAPI()\n",
        },
    )
    assert analyze_repo(api_repo).primary().start_command.startswith("uvicorn --factory app:create_app ")


def test_a_flask_app_that_does_not_serve_itself_runs_with_flasks_server_bound_wide(tmp_path: Path) -> None:
    # no `if __name__ == "__main__"`, no gunicorn: `python app.py` would define the app and exit 0
    (tmp_path / "app.py").write_text(
        "from flask import Flask\napp = Flask(__name__)\n\n@app.route('/')\ndef hi():\n    return 'hi'\n"
    )
    (tmp_path / "requirements.txt").write_text("flask==3.0.3\n")
    m = analyze_repo(tmp_path).primary()
    assert m.start_command is not None and m.start_command.startswith("flask --app app:app run --host 0.0.0.0")
