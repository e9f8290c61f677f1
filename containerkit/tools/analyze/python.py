"""Python modules: package manager, interpreter version, framework, entry point and start command."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from packaging.requirements import InvalidRequirement, Requirement

from containerkit.tools.analyze._fs import load_toml, read_text
from containerkit.tools.analyze._source import find_health_path, find_port
from containerkit.tools.analyze.models import Evidence, ModuleAnalysis

__all__ = ["MARKERS", "detect_python"]

MARKERS = ("requirements.txt", "pyproject.toml", "Pipfile", "setup.py", "setup.cfg", "environment.yml")
_LOCKS = {"poetry.lock": "poetry", "uv.lock": "uv", "pdm.lock": "pdm", "Pipfile.lock": "pipenv"}
_FRAMEWORK_PORTS = {"django": 8000, "flask": 5000, "fastapi": 8000, "streamlit": 8501}
_ENTRY_CANDIDATES = ("app.py", "main.py", "server.py", "wsgi.py", "asgi.py", "run.py", "api.py", "manage.py")


def _req_name(line: str) -> str | None:
    line = line.split("#", 1)[0].strip()
    if not line or line.startswith("-"):
        return None
    try:
        return Requirement(line).name.lower().replace("_", "-")
    except InvalidRequirement:
        return None


def _version_from_spec(spec: str) -> str | None:
    m = re.search(r"(\d+\.\d+)", spec)
    return m.group(1) if m else None


def detect_python(root: Path, mod_dir: Path, rel: str) -> ModuleAnalysis | None:
    present = [m for m in MARKERS if (mod_dir / m).is_file()]
    if not present:
        return None
    ev: list[Evidence] = []
    deps: list[str] = []
    dep_files: list[str] = []
    pm = "pip"
    version: str | None = None
    lockfile: str | None = None
    pyproject: dict[str, Any] = {}

    if (mod_dir / "pyproject.toml").is_file():
        pyproject = load_toml(mod_dir / "pyproject.toml", f"{rel}/pyproject.toml".lstrip("./"))
        project = pyproject.get("project", {})
        for d in project.get("dependencies", []) or []:
            if n := _req_name(str(d)):
                deps.append(n)
        poetry = pyproject.get("tool", {}).get("poetry", {})
        if poetry:
            pm = "poetry"
            deps += [str(k).lower() for k in (poetry.get("dependencies") or {}) if k != "python"]
            if pv := (poetry.get("dependencies") or {}).get("python"):
                version = _version_from_spec(str(pv))
        if rp := project.get("requires-python"):
            version = version or _version_from_spec(str(rp))
            ev.append(Evidence(file="pyproject.toml", says=f"requires-python {rp}"))
        dep_files.append("pyproject.toml")
    if (mod_dir / "requirements.txt").is_file():
        for line in read_text(mod_dir / "requirements.txt").splitlines():
            if n := _req_name(line):
                deps.append(n)
        dep_files.insert(0, "requirements.txt")
        ev.append(Evidence(file="requirements.txt", says="pip requirements"))
    for lock, manager in _LOCKS.items():
        if (mod_dir / lock).is_file():
            pm, lockfile = manager, lock
            dep_files.append(lock)
            ev.append(Evidence(file=lock, says=f"{manager} lockfile"))
            break
    if pm == "pip" and (mod_dir / "Pipfile").is_file():
        pm = "pipenv"
        dep_files.append("Pipfile")
    for vf in (".python-version", "runtime.txt"):
        if (mod_dir / vf).is_file():
            v = _version_from_spec(read_text(mod_dir / vf, 200))
            if v:
                version = v
                ev.append(Evidence(file=vf, says=f"python {v}"))
                break

    framework = next((f for f in ("django", "fastapi", "flask", "streamlit") if f in deps), None)
    if framework is None and (mod_dir / "manage.py").is_file():
        framework = "django"
    if framework:
        ev.append(Evidence(file=dep_files[0] if dep_files else ".", says=f"depends on {framework}"))

    entry = _entrypoint(mod_dir, framework)
    start = _start_command(mod_dir, framework, entry, deps)
    procfile = _procfile_web(mod_dir)
    if procfile:
        start = procfile
        ev.append(Evidence(file="Procfile", says=f"web: {procfile}"))
    files = [mod_dir / entry] if entry else []
    port_hit = find_port(*files)
    if port_hit:
        port = port_hit[0]
        ev.append(Evidence(file=port_hit[1], says=f"listens on {port}"))
    else:
        port = _FRAMEWORK_PORTS.get(framework or "", 8000)
    if start and "{port}" in start:
        start = start.replace("{port}", "${PORT:-%d}" % port)  # honour $PORT at run time
    return ModuleAnalysis(
        path=rel,
        name=_name(pyproject, mod_dir, root),
        language="python",
        language_version=version,
        package_manager=pm,
        framework=framework,
        port=port,
        start_command=start,
        health_path=find_health_path(*files),
        entrypoint=entry,
        dependency_files=dep_files,
        lockfile=lockfile,
        dependencies=sorted(set(deps)),
        confidence=0.9 if entry else 0.5,
        evidence=ev,
    )


def _name(pyproject: dict[str, Any], mod_dir: Path, root: Path) -> str:
    name = pyproject.get("project", {}).get("name") or pyproject.get("tool", {}).get("poetry", {}).get("name")
    return str(name or (mod_dir.name if mod_dir != root else root.resolve().name))


def _entrypoint(mod_dir: Path, framework: str | None) -> str | None:
    if framework == "django" and (mod_dir / "manage.py").is_file():
        return "manage.py"
    candidates = [c for c in _ENTRY_CANDIDATES if (mod_dir / c).is_file()]
    for c in candidates:  # prefer a file that runs something when executed
        text = read_text(mod_dir / c, 256 * 1024)
        if "__main__" in text or re.search(r"\b(Flask|FastAPI|serve_forever|uvicorn\.run|st\.)\b", text):
            return c
    return candidates[0] if candidates else None


def _app_object(mod_dir: Path, entry: str, cls: str) -> str:
    m = re.search(rf"^(\w+)\s*=\s*{cls}\(", read_text(mod_dir / entry, 256 * 1024), re.M)
    return f"{entry[:-3].replace('/', '.')}:{m.group(1) if m else 'app'}"


def _start_command(mod_dir: Path, framework: str | None, entry: str | None, deps: list[str]) -> str | None:
    if entry is None:
        return None
    if framework == "django":
        wsgi = next(iter(sorted(mod_dir.glob("*/wsgi.py"))), None)
        if wsgi and "gunicorn" in deps:
            return f"gunicorn {wsgi.parent.name}.wsgi"  # gunicorn binds 0.0.0.0:$PORT
        return "python manage.py runserver 0.0.0.0:{port}"
    if framework == "fastapi" and "uvicorn" in deps:
        return f"uvicorn {_app_object(mod_dir, entry, 'FastAPI')} --host 0.0.0.0 --port {{port}}"
    if framework == "flask" and "gunicorn" in deps:
        return f"gunicorn {_app_object(mod_dir, entry, 'Flask')}"  # binds 0.0.0.0:$PORT
    if framework == "streamlit":
        return f"streamlit run {entry} --server.port {{port}} --server.address 0.0.0.0"
    return f"python {entry}"


def _procfile_web(mod_dir: Path) -> str | None:
    p = mod_dir / "Procfile"
    if not p.is_file():
        return None
    for line in read_text(p, 64 * 1024).splitlines():
        if line.startswith("web:"):
            cmd = line[4:].strip().replace("$PORT", "{port}").replace("${PORT}", "{port}")
            return cmd
    return None
