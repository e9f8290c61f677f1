"""Python lockfiles as hash-checked pip requirements for the target Python (production only)."""

from __future__ import annotations

import json
from pathlib import Path

from containerkit.tools.dockerfile._pylock import locked_requirements

APPS = Path(__file__).resolve().parent.parent / "fixtures" / "apps"
H = "sha256:" + "a" * 64
H2 = "sha256:" + "b" * 64

UV_LOCK = f"""version = 1
requires-python = ">=3.10"

[[package]]
name = "svc"
version = "0.1.0"
source = {{ virtual = "." }}
dependencies = [
    {{ name = "web-kit", extra = ["speed"] }},
    {{ name = "tomli", marker = "python_full_version < '3.11'" }},
    {{ name = "winreg-helper", marker = "sys_platform == 'win32'" }},
]

[package.dev-dependencies]
dev = [{{ name = "pytest" }}]

[[package]]
name = "web-kit"
version = "2.0.0"
source = {{ registry = "https://pypi.org/simple" }}
dependencies = [{{ name = "idna" }}]
sdist = {{ url = "https://x/web_kit-2.0.0.tar.gz", hash = "{H}" }}
wheels = [{{ url = "https://x/web_kit-2.0.0-py3-none-any.whl", hash = "{H2}" }}]

[package.optional-dependencies]
speed = [{{ name = "fastjson" }}]

[[package]]
name = "fastjson"
version = "1.1.0"
source = {{ registry = "https://pypi.org/simple" }}
sdist = {{ url = "https://x/fastjson-1.1.0.tar.gz", hash = "{H}" }}

[[package]]
name = "idna"
version = "3.10"
source = {{ registry = "https://pypi.org/simple" }}
wheels = [{{ url = "https://x/idna-3.10-py3-none-any.whl", hash = "{H}" }}]

[[package]]
name = "tomli"
version = "2.0.2"
source = {{ registry = "https://pypi.org/simple" }}
wheels = [{{ url = "https://x/tomli-2.0.2-py3-none-any.whl", hash = "{H}" }}]

[[package]]
name = "winreg-helper"
version = "1.0"
source = {{ registry = "https://pypi.org/simple" }}
wheels = [{{ url = "https://x/w-1.0-py3-none-any.whl", hash = "{H}" }}]

[[package]]
name = "pytest"
version = "8.3.3"
source = {{ registry = "https://pypi.org/simple" }}
wheels = [{{ url = "https://x/pytest-8.3.3-py3-none-any.whl", hash = "{H}" }}]
"""


def _names(lines: list[str]) -> list[str]:
    return [line.split("==", 1)[0] for line in lines]


def test_uv_lock_keeps_what_production_reaches_on_the_target_python() -> None:
    on_312 = locked_requirements("uv.lock", UV_LOCK, python="3.12")
    assert _names(on_312.lines) == ["fastjson", "idna", "web-kit"]  # extra followed; no dev, win32, tomli
    assert on_312.hashed and f"--hash={H2}" in on_312.text()
    assert any(x.startswith("pytest 8.3.3") for x in on_312.left_out)
    on_310 = locked_requirements("uv.lock", UV_LOCK, python="3.10")
    assert "tomli" in _names(on_310.lines)  # python_full_version < '3.11' holds on 3.10


def test_poetry_lock_starts_from_the_projects_own_dependencies() -> None:
    lock = f"""
[[package]]
name = "flask"
version = "3.0.3"
optional = false
python-versions = ">=3.8"
files = [{{file = "flask-3.0.3-py3-none-any.whl", hash = "{H}"}}]

[package.dependencies]
click = ">=8.1.3"
importlib-metadata = {{version = ">=3.6.0", markers = "python_version < \\"3.10\\""}}

[[package]]
name = "click"
version = "8.1.7"
optional = false
python-versions = ">=3.7"
files = [{{file = "click-8.1.7-py3-none-any.whl", hash = "{H}"}}]

[[package]]
name = "importlib-metadata"
version = "8.5.0"
optional = false
python-versions = ">=3.8"
files = [{{file = "importlib_metadata-8.5.0-py3-none-any.whl", hash = "{H}"}}]

[[package]]
name = "black"
version = "24.10.0"
optional = false
python-versions = ">=3.9"
files = [{{file = "black-24.10.0-py3-none-any.whl", hash = "{H}"}}]

[metadata]
lock-version = "2.0"
"""
    pyproject = {"tool": {"poetry": {"dependencies": {"python": "^3.11", "Flask": "3.0.3"}}}}
    req = locked_requirements("poetry.lock", lock, python="3.11", pyproject=pyproject)
    assert _names(req.lines) == ["click", "flask"] and req.hashed
    assert any(x.startswith("black") for x in req.left_out)


def test_pdm_lock_default_group_and_package_markers() -> None:
    lock = f"""
[metadata]
groups = ["default", "dev"]
lock_version = "4.5.0"

[[package]]
name = "gunicorn"
version = "23.0.0"
requires_python = ">=3.7"
groups = ["default"]
files = [{{file = "gunicorn-23.0.0-py3-none-any.whl", hash = "{H}"}}]

[[package]]
name = "colorama"
version = "0.4.6"
groups = ["default"]
marker = "platform_system == \\"Windows\\""
files = [{{file = "colorama-0.4.6-py2.py3-none-any.whl", hash = "{H}"}}]

[[package]]
name = "ruff"
version = "0.8.0"
groups = ["dev"]
files = [{{file = "ruff-0.8.0.tar.gz", hash = "{H}"}}]
"""
    req = locked_requirements("pdm.lock", lock, python="3.12")
    assert _names(req.lines) == ["gunicorn"]
    assert {x.split(":")[0] for x in req.left_out} == {"colorama 0.4.6", "ruff 0.8.0"}


def test_old_pdm_lock_reads_hashes_from_the_metadata_table() -> None:
    lock = f"""
[[package]]
name = "gunicorn"
version = "21.2.0"
summary = "WSGI HTTP Server for UNIX"

[metadata]
lock_version = "4.2"

[metadata.files]
"gunicorn 21.2.0" = [{{url = "https://x/gunicorn-21.2.0-py3-none-any.whl", hash = "{H}"}}]
"""
    req = locked_requirements("pdm.lock", lock, python="3.11")
    assert req.hashed and req.lines == [f"gunicorn==21.2.0 \\\n    --hash={H}"]


def test_pipfile_lock_default_section_with_markers() -> None:
    data = {
        "_meta": {},
        "default": {
            "flask": {"hashes": [H], "version": "==3.0.3"},
            "pywin32": {"hashes": [H], "markers": "sys_platform == 'win32'", "version": "==306"},
            "local-lib": {"editable": True, "path": "./lib"},
        },
        "develop": {"pytest": {"hashes": [H], "version": "==8.3.3"}},
    }
    req = locked_requirements("Pipfile.lock", json.dumps(data), python="3.12")
    assert _names(req.lines) == ["flask"]
    assert any("local-lib" in x for x in req.left_out) and not any("pytest" in x for x in req.lines)


def test_a_package_without_hashes_makes_the_set_unhashed() -> None:
    data = {"default": {"a": {"hashes": [H], "version": "==1.0"}, "b": {"hashes": [], "version": "==2.0"}}}
    req = locked_requirements("Pipfile.lock", json.dumps(data), python="3.12")
    assert not req.hashed and req.lines == ["a==1.0", "b==2.0"] and req.pip_args() == "--no-deps"


def test_fixture_lockfiles_translate() -> None:
    uv = locked_requirements("uv.lock", (APPS / "py-fastapi-uv" / "uv.lock").read_text(), python="3.11")
    assert {"fastapi", "uvicorn", "starlette", "pydantic"} <= set(_names(uv.lines)) and uv.hashed
    pipenv = locked_requirements("Pipfile.lock", (APPS / "py-pipenv" / "Pipfile.lock").read_text(), python="3.12")
    assert pipenv.hashed and pipenv.lines


def test_generator_installs_the_translated_lock_with_plain_pip() -> None:
    from containerkit.tools.analyze import analyze_repo
    from containerkit.tools.dockerfile import generate_dockerfile, load_catalog

    root = APPS / "py-fastapi-uv"
    gen = generate_dockerfile(analyze_repo(root).primary(), load_catalog(), repo_root=root, lock_requirements=True)
    assert "COPY .ck-requirements.lock.txt ./" in gen.content
    assert "RUN pip install --no-cache-dir --no-deps -r .ck-requirements.lock.txt" in gen.content
    assert "uv sync" not in gen.content and "/opt/tools/bin/pip install" not in gen.content  # no packaging tool
    body = gen.files[".ck-requirements.lock.txt"]
    assert body.startswith("# generated by containerkit from uv.lock for Python 3.")
    assert "\n--require-hashes\n" in body and "fastapi==0.115.5 \\\n    --hash=sha256:" in body
    plain = generate_dockerfile(analyze_repo(root).primary(), load_catalog(), repo_root=root)
    assert plain.files == {} and "uv sync" in plain.content  # off by default


def test_python_is_one_the_lockfile_has_wheels_for(tmp_path: Path) -> None:
    from containerkit.tools.analyze import analyze_repo
    from containerkit.tools.dockerfile import generate_dockerfile, load_catalog
    from containerkit.tools.dockerfile._pylock import lock_wheel_pythons

    files = ", ".join(
        f'{{file = "fastcore-1.0-cp{v}-cp{v}-manylinux_2_17_x86_64.manylinux2014_x86_64.whl", hash = "{H}"}}'
        for v in ("310", "311", "312")
    )
    win_only = f'{{file = "winthing-1.0-cp313-cp313-win_amd64.whl", hash = "{H}"}}'
    (tmp_path / "poetry.lock").write_text(
        f'[[package]]\nname = "fastcore"\nversion = "1.0"\nfiles = [{files}]\n\n'
        f'[[package]]\nname = "winthing"\nversion = "1.0"\nfiles = [{win_only}]\n\n'
        f'[[package]]\nname = "purelib"\nversion = "2.0"\nfiles = [{{file = "purelib-2.0-py3-none-any.whl", hash = "{H}"}}]\n'
    )
    (tmp_path / "pyproject.toml").write_text(
        '[tool.poetry]\nname = "svc"\nversion = "0.1.0"\n\n[tool.poetry.dependencies]\npython = "^3.10"\nfastcore = "1.0"\n'
    )
    (tmp_path / "main.py").write_text("if __name__ == '__main__':\n    print('x')\n")
    text = (tmp_path / "poetry.lock").read_text()
    assert lock_wheel_pythons("poetry.lock", text, ["3.13", "3.12", "3.11", "3.10", "3.9"]) == ["3.12", "3.11", "3.10"]
    m = analyze_repo(tmp_path).primary()
    available = {"python:3.11-slim", "python:3.13-slim"}
    gen = generate_dockerfile(m, load_catalog(), probe=lambda ref: ref in available, repo_root=tmp_path)
    assert "FROM python:3.11-slim AS build" in gen.content  # 3.13 would compile fastcore: no cp313 wheel
