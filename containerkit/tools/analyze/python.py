"""Python modules: package manager, interpreter version, framework, entry point and start command."""

from __future__ import annotations

import posixpath
import re
import sys
from typing import Any, NamedTuple

from containerkit.tools.analyze._common import Found, ModuleDir, major_minor, port_command
from containerkit.tools.analyze.models import ModuleAnalysis
from containerkit.tools.analyze.native import native_needs

__all__ = ["MARKERS", "detect_python"]

MARKERS = (
    "requirements.txt",
    "pyproject.toml",
    "Pipfile",
    "setup.py",
    "setup.cfg",
    "environment.yml",
    "environment.yaml",
    "manage.py",
)
_DEP_FILES = ("requirements.txt", "pyproject.toml", "setup.py", "setup.cfg", "Pipfile", "environment.yml")
_FRAMEWORKS = ("django", "fastapi", "flask", "streamlit")
_FRAMEWORK_PORTS = {"django": 8000, "flask": 5000, "fastapi": 8000, "streamlit": 8501}
_ENTRY_CANDIDATES = ("app.py", "main.py", "server.py", "wsgi.py", "asgi.py", "run.py", "api.py", "streamlit_app.py")
_RUNS = re.compile(
    r"__main__|\b(Flask|FastAPI|serve_forever|uvicorn\.run|web\.run_app)\b|^import streamlit|\bst\.", re.M
)


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


class _Req(NamedTuple):
    name: str
    extras: frozenset[str]
    specs: tuple[tuple[str, str], ...]
    url: str | None


_SIMPLE_REQ = re.compile(
    r"^([A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)\s*(?:\[([^\]]*)\])?\s*"
    r"((?:(?:===|==|!=|~=|<=|>=|<|>)\s*[^\s,;]+\s*,?\s*)*)$"
)
_SPEC = re.compile(r"(===|==|!=|~=|<=|>=|<|>)\s*([^\s,;]+)")


def _parse_req(line: str) -> _Req | None:
    """A PEP 508 requirement: plain lines by a regex, lines with markers or URLs by ``packaging``."""
    if m := _SIMPLE_REQ.match(line):
        extras = frozenset(e.strip().lower() for e in (m.group(2) or "").split(",") if e.strip())
        return _Req(m.group(1), extras, tuple(_SPEC.findall(m.group(3) or "")), None)
    from packaging.requirements import InvalidRequirement, Requirement  # markers, URLs: the real parser

    try:
        r = Requirement(line)
    except InvalidRequirement:
        return None
    return _Req(r.name, frozenset(r.extras), tuple((x.operator, x.version) for x in r.specifier), r.url)


def _req(line: str) -> tuple[str | None, str | None]:
    """(name, local path) of one requirement line; pip options and comments give (None, None)."""
    line = line.split(" #", 1)[0].strip()
    if not line or line.startswith("#"):
        return None, None
    if line.startswith(("-e ", "--editable ")) or line.startswith(("./", "../", "file:")):
        target = line.split(None, 1)[-1] if line.startswith("-") else line
        return None, target.removeprefix("file:").strip()
    if line.startswith("-"):
        return None, None
    r = _parse_req(line)
    if r is None:
        return None, None
    path = r.url.removeprefix("file:").lstrip("/") if r.url and r.url.startswith("file:") else None
    return _norm(r.name), path


# The file a production install uses, most specific first; Django projects often keep a folder of them.
_REQ_CANDIDATES = (
    "requirements.txt",
    "requirements/production.txt",
    "requirements/prod.txt",
    "requirements-prod.txt",
    "requirements_prod.txt",
    "requirements/base.txt",
    "requirements/common.txt",
    "requirements/main.txt",
)
_INCLUDE = re.compile(r"^\s*(?:-r|-c|--requirement|--constraint)[ =]\s*(\S+)")


def _requirements(d: ModuleDir) -> tuple[str | None, list[str]]:
    """The requirements file to install and every file it includes (-r/-c), inside the module."""
    main = next((c for c in _REQ_CANDIDATES if d.has(c)), None)
    if main is None:
        return None, []
    seen: list[str] = []
    stack = [main]
    while stack:
        f = stack.pop()
        if f in seen or not d.has(f):
            continue
        seen.append(f)
        for line in d.read(f).splitlines():
            if m := _INCLUDE.match(line):
                inc = posixpath.normpath(posixpath.join(posixpath.dirname(f), m.group(1)))
                if not inc.startswith("../"):
                    stack.append(inc)
    return main, seen


def _deps(d: ModuleDir, pyproject: dict[str, Any], paths: set[str]) -> list[str]:
    deps: list[str] = []
    project = pyproject.get("project") or {}
    for line in [str(x) for x in project.get("dependencies") or []]:
        name, path = _req(line)
        deps += [name] if name else []
        paths.update([path] if path else [])
    tool = pyproject.get("tool") or {}
    poetry = tool.get("poetry") or {}
    for k, v in (poetry.get("dependencies") or {}).items():
        if k != "python":
            deps.append(_norm(k))
            if isinstance(v, dict) and isinstance(v.get("path"), str):
                paths.add(v["path"])
    for v in ((tool.get("uv") or {}).get("sources") or {}).values():
        if isinstance(v, dict) and isinstance(v.get("path"), str):
            paths.add(v["path"])
    req_files = _requirements(d)[1]
    for rf in req_files:
        for line in d.read(rf).splitlines():
            name, path = _req(line)
            deps += [name] if name else []
            paths.update([path] if path else [])
    if d.has("Pipfile"):
        pipfile = d.toml("Pipfile")
        deps += [_norm(k) for k in (pipfile.get("packages") or {})]
    if d.has("setup.py") and not deps:
        m = re.search(r"install_requires\s*=\s*\[(.*?)\]", d.read("setup.py"), re.S)
        for item in re.findall(r"""["']([^"']+)["']""", m.group(1) if m else ""):
            name, _ = _req(item)
            deps += [name] if name else []
    for env in ("environment.yml", "environment.yaml"):
        if d.has(env):
            deps += _conda_deps(d.read(env))
    return deps


def _pins(d: ModuleDir, pyproject: dict[str, Any]) -> tuple[dict[str, str], dict[str, set[str]]]:
    """Exact versions (``==``) and extras of the direct dependencies, from requirements and pyproject."""
    lines = [str(x) for x in (pyproject.get("project") or {}).get("dependencies") or []]
    for rf in _requirements(d)[1]:
        lines += [ln.split(" #", 1)[0].strip() for ln in d.read(rf).splitlines()]
    pins: dict[str, str] = {}
    extras: dict[str, set[str]] = {}
    for line in lines:
        if not line or line.startswith(("#", "-", ".", "/")):
            continue
        r = _parse_req(line)
        if r is None:
            continue
        name = _norm(r.name)
        extras.setdefault(name, set()).update(e.lower() for e in r.extras)
        exact = [v for op, v in r.specs if op in ("==", "===") and "*" not in v]
        if exact:
            pins[name] = exact[0]
    poetry = ((pyproject.get("tool") or {}).get("poetry") or {}).get("dependencies") or {}
    for k, v in poetry.items() if isinstance(poetry, dict) else []:
        spec = v.get("version") if isinstance(v, dict) else v
        if isinstance(spec, str) and re.match(r"^=?=?\d+(\.\d+)*$", spec.strip()):
            pins[_norm(k)] = spec.strip().lstrip("=")
        if isinstance(v, dict) and isinstance(v.get("extras"), list):
            extras.setdefault(_norm(k), set()).update(str(e).lower() for e in v["extras"])
    return pins, extras


def _conda_deps(text: str) -> list[str]:
    import yaml  # only conda projects pay for it

    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError:
        return []
    out: list[str] = []
    for item in data.get("dependencies") or [] if isinstance(data, dict) else []:
        if isinstance(item, str):
            out.append(_norm(re.split(r"[=<>~! ]", item, maxsplit=1)[0]))
        elif isinstance(item, dict):
            out += [n for x in item.get("pip") or [] if (n := _req(str(x))[0])]
    return out


def _version_constraints(d: ModuleDir, pyproject: dict[str, Any]) -> list[str]:
    """Every Python version constraint the project states, as ``source: spec`` (for the catalog)."""
    out: list[str] = []
    for vf in (".python-version", "runtime.txt"):
        if m := re.search(r"(?:^|python-)(\d+\.\d+)", d.read(vf, 256).strip()):
            out.append(f"{vf}: {m.group(1)}")
    rp = (pyproject.get("project") or {}).get("requires-python")
    if isinstance(rp, str) and rp.strip():
        out.append(f"requires-python: {rp.strip()}")
    poetry = ((pyproject.get("tool") or {}).get("poetry") or {}).get("dependencies", {})
    if isinstance(poetry, dict) and isinstance(poetry.get("python"), str) and not rp:
        out.append(f"tool.poetry python: {poetry['python'].strip()}")
    return out


def _version(d: ModuleDir, pyproject: dict[str, Any]) -> str | None:
    v = d.version_file((".python-version", "runtime.txt"), r"(\d+\.\d+)")
    if v:
        return v
    if d.has("Pipfile") and (pv := (d.toml("Pipfile").get("requires") or {}).get("python_version")):
        d.say("Pipfile", f"python_version {pv}")
        return major_minor(str(pv))
    for env in ("environment.yml", "environment.yaml"):
        if m := re.search(r"^\s*-\s*python\s*[=><~]+\s*(\d+\.\d+)", d.read(env), re.M):
            d.say(env, f"python {m.group(1)}")
            return m.group(1)
    rp = (pyproject.get("project") or {}).get("requires-python")
    rp = rp or ((pyproject.get("tool") or {}).get("poetry") or {}).get("dependencies", {}).get("python")
    if rp and (v := major_minor(str(rp))):
        d.say("pyproject.toml", f"requires-python {rp}")
        return v
    return None


def _package_manager(d: ModuleDir, pyproject: dict[str, Any]) -> tuple[str, str | None]:
    tool = pyproject.get("tool") or {}
    for lock, pm in (("uv.lock", "uv"), ("poetry.lock", "poetry"), ("pdm.lock", "pdm"), ("Pipfile.lock", "pipenv")):
        if d.has(lock):
            d.say(lock, f"{pm} lockfile")
            return pm, lock
    for section, pm in (("poetry", "poetry"), ("pdm", "pdm"), ("uv", "uv")):
        if section in tool:
            d.say("pyproject.toml", f"[tool.{section}]")
            return pm, None
    if d.has("Pipfile"):
        return "pipenv", None
    if d.first("environment.yml", "environment.yaml"):
        d.say(d.first("environment.yml", "environment.yaml") or "", "conda environment")
        return "conda", None
    return "pip", None


def _scripts(pyproject: dict[str, Any]) -> dict[str, str]:
    """``[project.scripts]`` (and Poetry's ``[tool.poetry.scripts]``): command -> ``module:function``."""
    project = pyproject.get("project") or {}
    poetry = (pyproject.get("tool") or {}).get("poetry") or {}
    out = {**(poetry.get("scripts") or {}), **(project.get("scripts") or {})}
    return {str(k): str(v) for k, v in out.items() if isinstance(v, str)}


def _module_file(d: ModuleDir, dotted: str) -> str | None:
    """The source file of an importable module, in a flat or a ``src/`` layout."""
    base = dotted.replace(".", "/")
    for cand in (f"{base}.py", f"{base}/__main__.py", f"src/{base}.py", f"src/{base}/__main__.py"):
        if d.has(cand):
            return cand
    return None


def _src_packages(d: ModuleDir) -> list[str]:
    return [f"src/{c}" for c in d.children("src") if d.has(f"src/{c}/__init__.py")]


_NOT_APP_PACKAGES = frozenset({"tests", "test", "docs", "doc", "examples", "scripts", "migrations", "build", "dist"})


def _top_packages(d: ModuleDir) -> list[str]:
    """Top-level import packages (a folder with ``__init__.py``), tests and docs left out."""
    return sorted(c for c in d.children() if c not in _NOT_APP_PACKAGES and d.has(f"{c}/__init__.py"))


def _entrypoint(
    d: ModuleDir, framework: str | None, scripts: dict[str, str] | None = None
) -> tuple[str | None, list[str]]:
    """The file that starts the app, and every file that could have (two means ambiguity)."""
    if framework == "django" and d.has("manage.py"):
        return "manage.py", ["manage.py"]
    candidates = [c for c in _ENTRY_CANDIDATES if d.has(c)]
    for pkg in ("app", "src", d.name.replace("-", "_"), *_src_packages(d)):
        names = ("main.py", "app.py", "server.py", "wsgi.py", "asgi.py", "__main__.py")
        candidates += [f"{pkg}/{c}" for c in names if d.has(f"{pkg}/{c}") and f"{pkg}/{c}" not in candidates]
    for target in (scripts or {}).values():
        f = _module_file(d, target.split(":", 1)[0])
        if f and f not in candidates:
            candidates.append(f)
    # an application package whose __init__ builds the app (Flask's create_app pattern), under any
    # name: the folder's, the project's (`flaskr` in `flask-tutorial`), or any top-level package
    for pkg in dict.fromkeys(("app", d.name.replace("-", "_"), *_src_packages(d), *_top_packages(d))):
        init = f"{pkg}/__init__.py"
        if init not in candidates and d.has(init) and _APP_BUILDER.search(d.read(init)):
            candidates.append(init)
    running = [c for c in candidates if _RUNS.search(d.read(c))]
    chosen = running or candidates
    return (chosen[0] if chosen else None), chosen


_IMPORT = re.compile(r"^\s*(?:from\s+([A-Za-z_][\w.]*)\s+import|import\s+([A-Za-z_][\w.]*))", re.M)
_IMPORT_TO_DIST = {
    "yaml": "pyyaml",
    "PIL": "pillow",
    "cv2": "opencv-python-headless",
    "bs4": "beautifulsoup4",
    "sklearn": "scikit-learn",
    "dotenv": "python-dotenv",
    "jwt": "pyjwt",
    "dateutil": "python-dateutil",
    "multipart": "python-multipart",
    "socketio": "python-socketio",
    "engineio": "python-engineio",
    "magic": "python-magic",
    "telegram": "python-telegram-bot",
    "google": "protobuf",
    "Crypto": "pycryptodome",
    "psycopg2": "psycopg2-binary",
    "MySQLdb": "mysqlclient",
    "serial": "pyserial",
    "attr": "attrs",
    "pkg_resources": "setuptools",
}
"""Import names whose distribution is named differently (for apps with no manifest)."""
_APP_BUILDER = re.compile(r"\b(?:Flask|FastAPI)\(|^def create_app\(", re.M)


def _dotted(path: str) -> str:
    return path.removeprefix("src/")[:-3].replace("/", ".").removesuffix(".__main__").removesuffix(".__init__")


_APP_CLASSES = {"flask": "Flask|Quart|APIFlask", "fastapi": "FastAPI|Starlette"}
_NOT_APP_CODE = re.compile(r"(?:^|/)(?:tests?|docs|migrations|scripts|examples)/|(?:^|/)(?:test_|conftest)")


def _locate_app(d: ModuleDir, entry: str, framework: str) -> tuple[str, str] | None:
    """(``module:attribute`` or ``module:factory()``, file) of the object a WSGI/ASGI server loads,
    read from the code: the entry file first, then the module's other Python files."""
    cls = _APP_CLASSES[framework]
    assign = re.compile(rf"^(\w+)\s*(?::\s*[\w.\[\], ]+)?=\s*(?:\w+\.)?(?:{cls})\(", re.M)
    factory = re.compile(r"^def (create_app|make_app|build_app|get_app)\(", re.M)
    built = re.compile(r"^(\w+)\s*=\s*(?:\w+\.)*(?:create_app|make_app|build_app|get_app)\(", re.M)
    files = [entry] + [f for f in d.sources(".", (".py",), 80) if f != entry and not _NOT_APP_CODE.search(f)]
    for f in files:
        text = d.read(f)
        if m := assign.search(text) or built.search(text):
            return f"{_dotted(f)}:{m.group(1)}", f
        if (fm := factory.search(text)) and re.search(rf"\b(?:{cls})\(", text):
            return f"{_dotted(f)}:{fm.group(1)}()", f
    return None


def _binds_all(text: str) -> bool:
    """The file's own ``.run(...)`` listens on every interface (not Flask's 127.0.0.1 default)."""
    return bool(re.search(r"""\.run\([^)]*host\s*=\s*(?:["']0\.0\.0\.0["']|os\.|[A-Z_]*HOST)""", text, re.S))


def _django_project(d: ModuleDir) -> str | None:
    m = re.search(r"""DJANGO_SETTINGS_MODULE["']\s*,\s*["']([\w.]+)\.settings""", d.read("manage.py"))
    if m and d.has(f"{m.group(1).replace('.', '/')}/wsgi.py"):
        return m.group(1)
    return next((c for c in d.children() if d.has(f"{c}/wsgi.py")), None)


def _django_settings(d: ModuleDir) -> str | None:
    project = _django_project(d) if d.has("manage.py") else None
    if project is None:
        return None
    base = project.replace(".", "/")
    return d.first(f"{base}/settings.py", f"{base}/settings/base.py", f"{base}/settings/production.py")


def _start(d: ModuleDir, framework: str | None, entry: str | None, deps: set[str], port: int) -> str | None:
    p = f"${{PORT:-{port}}}"
    if framework == "django" and entry == "manage.py":
        project = _django_project(d)
        if project and "gunicorn" in deps:
            return f"gunicorn {project}.wsgi"  # gunicorn binds 0.0.0.0:$PORT by itself
        return f"python manage.py runserver 0.0.0.0:{p}"
    if entry is None:
        return None
    runs_itself = "__main__" in d.read(entry)
    if framework in ("fastapi", "flask"):
        server = "uvicorn" if framework == "fastapi" else "gunicorn" if "gunicorn" in deps else None
        found = _locate_app(d, entry, framework)
        if found is None:
            d.say(entry, f"no {_APP_CLASSES[framework].split('|')[0]}(...) object found in the code")
            if runs_itself:
                return f"python {entry}"
        else:
            target, where = found
            if where != entry:
                d.say(where, f"defines the app object {target}")
            if server == "uvicorn":
                if target.endswith("()"):
                    return f"uvicorn --factory {target[:-2]} --host 0.0.0.0 --port {p}"
                return f"uvicorn {target} --host 0.0.0.0 --port {p}"
            if server == "gunicorn":
                return f"gunicorn '{target}'" if target.endswith("()") else f"gunicorn {target}"
            serves_itself = runs_itself and _binds_all(d.read(entry))
            if where.endswith("/__init__.py") or (where == entry and "/" not in entry and not serves_itself):
                # no script that serves by itself (or app.run() on 127.0.0.1 only): flask's own server, bound wide
                return f"flask --app {target.removesuffix('()').split(':', 1)[0] if target.endswith('()') else target} run --host 0.0.0.0 --port {p}"
    if framework == "streamlit":
        return f"streamlit run {entry} --server.port {p} --server.address 0.0.0.0"
    if entry.endswith("/__main__.py"):
        return f"python -m {entry.removeprefix('src/').rsplit('/', 1)[0].replace('/', '.')}"
    if entry.startswith("src/"):
        return f"python -m {entry.removeprefix('src/')[:-3].replace('/', '.')}"
    return f"python {entry}"


def _lone_script(d: ModuleDir) -> str | None:
    """A Python app with no manifest: an entry file at the repo root, or beside a version file."""
    if d.has("package.json") or d.has("go.mod"):
        return None
    entry = d.first(*_ENTRY_CANDIDATES)
    if entry is None or not (d.rel == "." or d.first(".python-version", "runtime.txt")):
        return None
    return entry if _RUNS.search(d.read(entry)) else None


def _imported(d: ModuleDir) -> list[str]:
    """Distributions a manifest-less app imports (stdlib and the app's own modules left out)."""
    local = {f[:-3] for f in d.names() if f.endswith(".py")} | set(d.children())
    found: list[str] = []
    for f in [f for f in d.names() if f.endswith(".py")][:40]:
        for m in _IMPORT.finditer(d.read(f)):
            top = (m.group(1) or m.group(2)).split(".", 1)[0]
            if top in local or top in sys.stdlib_module_names or top == "__future__":
                continue
            dist = _IMPORT_TO_DIST.get(top, top.replace("_", "-").lower())
            if dist not in found:
                found.append(dist)
    return found


def detect_python(d: ModuleDir) -> Found | None:
    lone = None
    if not any(d.has(m) for m in MARKERS):
        lone = _lone_script(d)
        if lone is None:
            return None
        d.say(lone, "Python app with no dependency manifest")
    pyproject = d.toml("pyproject.toml") if d.has("pyproject.toml") else {}
    paths: set[str] = set()
    deps = _deps(d, pyproject, paths) if lone is None else _imported(d)
    if lone is not None and deps:
        d.say(lone, f"imports {', '.join(deps)} (installed unpinned: add a requirements.txt to pin them)")
    depset = set(deps)
    pins, extras = _pins(d, pyproject) if lone is None else ({}, {})
    pm, lockfile = _package_manager(d, pyproject)
    version = _version(d, pyproject)
    framework = next((f for f in _FRAMEWORKS if f in depset), None)
    if framework is None and d.has("manage.py"):
        framework = "django"
    manifest = next((f for f in (*_DEP_FILES, "manage.py") if d.has(f)), "manage.py")
    if framework:
        d.say(manifest if depset else "manage.py", f"uses {framework}")
    scripts = _scripts(pyproject)
    entry, candidates = _entrypoint(d, framework, scripts)
    if len(candidates) > 1:
        d.say(entry or "", f"chosen over {', '.join(c for c in candidates if c != entry)}")
    port = _FRAMEWORK_PORTS.get(framework or "", 8000)
    sources = [c for c in [entry, *candidates] if c]
    found_port = d.find_port(sources)
    port = found_port or port
    start = _start(d, framework, entry, depset, port)
    # A console script that runs the entry file is how its authors start it (the image installs the project).
    script = next((name for name, target in scripts.items() if _module_file(d, target.split(":", 1)[0]) == entry), None)
    if script and (start is None or start.startswith("python ")):
        start = script
        d.say("pyproject.toml", f"[project.scripts] {script}")
    if web := d.procfile_web():
        start = port_command(web, port)
    needs = native_needs("python", depset, pins, target=version, extras=extras)
    runtime, build = set(needs.runtime), set(needs.build)
    for why in needs.reasons:
        d.say(manifest, why)
    req_main, req_files = _requirements(d)
    if req_main and req_main != "requirements.txt":
        d.say(req_main, "production requirements")
    dep_files = req_files + [f for f in _DEP_FILES if d.has(f) and f not in req_files]
    dep_files += [lockfile] if lockfile and lockfile not in dep_files else []
    project = pyproject.get("project") or {}
    name = project.get("name") or ((pyproject.get("tool") or {}).get("poetry") or {}).get("name") or d.name
    is_library = start is None and framework is None
    build_command = None
    if framework == "django" and (settings := _django_settings(d)) and "STATIC_ROOT" in d.read(settings):
        d.say(settings, "STATIC_ROOT: static files collected in the image")
        build_command = "python manage.py collectstatic --noinput"
    m = ModuleAnalysis(
        path=d.rel,
        name=str(name),
        language="python",
        build_command=build_command,
        language_version=version,
        version_constraints=_version_constraints(d, pyproject),
        pins=pins,
        package_manager=pm,
        framework=framework,
        port=None if is_library else port,
        start_command=start,
        entrypoint=entry,
        dependency_files=dep_files,
        requirements_file=req_main,
        source_before_install=bool(
            paths & {".", "./", "-e .", ".[all]"} or any(p.startswith((".[", "./[")) for p in paths)
        ),
        install_project=bool(
            (pyproject.get("build-system") or d.has("setup.py"))
            and ((entry or "").startswith("src/") or (script is not None and start == script))
        ),
        lockfile=lockfile,
        system_packages=sorted(runtime),
        build_packages=sorted(build),
        dependencies=sorted(depset),
        is_library=is_library,
    )
    base = 0.5 if len(candidates) <= 1 else 0.35
    d.finish(m, sources=sources, default_port=None, base_confidence=base)
    return Found(
        m, ids={_norm(str(name))}, refs=depset, ref_paths=paths, rank=3 if lone is None else -1, lone=lone is not None
    )
