"""Python: a virtualenv built from the lockfile in a build stage, copied into a slim runtime.

Every package manager ends in the same place (``/opt/venv`` with the locked dependencies), so
the runtime stage is one shape; the project itself runs from ``/app`` like in development.
"""

from __future__ import annotations

import posixpath

from containerkit.tools.analyze.models import ModuleAnalysis
from containerkit.tools.dockerfile._common import (
    APP_UID,
    APT_CLEAN,
    Ctx,
    Rendered,
    exec_form,
    header,
    healthcheck_exec,
    install_packages,
    is_alpine,
    join,
    user_lines,
)

_PYPROJECT_DEPS = (
    "RUN python -c \"import tomllib; print('\\\\n'.join(tomllib.load(open('pyproject.toml', 'rb'))"
    ".get('project', {}).get('dependencies', [])))\" > /tmp/requirements.txt \\\n"
    " && pip install --no-cache-dir -r /tmp/requirements.txt"
)
# Poetry's `a || b` has no PEP 440 spelling: it becomes the one range covering both alternatives.
_POETRY_TO_PEP508 = (
    "from pathlib import Path; "
    "from poetry.core.factory import Factory; "
    "from poetry.core.constraints.version import VersionRange as R, VersionUnion as U; "
    "hull = lambda d, r: d.with_constraint(R(r[0].min, r[-1].max, r[0].include_min, r[-1].include_max)); "
    "print('\\\\n'.join((hull(d, d.constraint.ranges) if isinstance(d.constraint, U) else d).to_pep_508() "
    "for d in Factory().create_poetry(Path.cwd()).package.requires))"
)
_POETRY_DECLARED = (
    "RUN /opt/tools/bin/pip install --no-cache-dir 'poetry-core>=1.9,<3' \\\n"
    f' && /opt/tools/bin/python -c "{_POETRY_TO_PEP508}" \\\n'
    "    > /tmp/requirements.txt \\\n"
    " && pip install --no-cache-dir -r /tmp/requirements.txt"
)
_MAMBA_UID = 57439
LOCK_REQUIREMENTS = ".ck-requirements.lock.txt"
"""A lockfile translated to hash-checked requirements (generate_dockerfile(lock_requirements=True))."""  # the mambauser of the micromamba images


def _tool(spec: str) -> str:
    """Install a packaging tool into its own venv, so it never lands in the runtime image."""
    return f"/opt/tools/bin/pip install --no-cache-dir '{spec}'"


def _install(m: ModuleAnalysis, src: str = ".") -> list[str]:
    """Manifests first, then a lockfile-exact install into /opt/venv (cached until they change).

    ``src`` is the module's folder in the build context; the install runs in the module's folder.
    """
    pm = m.package_manager or "pip"
    files = set(m.dependency_files)

    def cp(*names: str) -> str:
        return f"COPY {' '.join(posixpath.join(src, n) if src != '.' else n for n in names)} ./"

    if pm == "poetry" and "poetry.lock" in files:
        return [
            cp("pyproject.toml", "poetry.lock"),
            f"RUN {_tool('poetry>=1.8,<3')} \\\n"
            " && VIRTUAL_ENV=/opt/venv /opt/tools/bin/poetry install --no-root --only main --no-interaction --no-ansi",
        ]
    if pm == "uv" and "uv.lock" in files:
        return [
            cp("pyproject.toml", "uv.lock"),
            f"RUN {_tool('uv>=0.4,<1')} \\\n"
            " && UV_PROJECT_ENVIRONMENT=/opt/venv UV_PYTHON_DOWNLOADS=never \\\n"
            "    /opt/tools/bin/uv sync --frozen --no-dev --no-install-project",
        ]
    if pm == "pdm" and "pdm.lock" in files:
        return [
            cp("pyproject.toml", "pdm.lock"),
            f"RUN {_tool('pdm>=2.10,<3')} \\\n"
            " && /opt/tools/bin/pdm export --prod --format requirements --output /tmp/requirements.txt \\\n"
            " && pip install --no-cache-dir --no-deps -r /tmp/requirements.txt",
        ]
    if pm == "pipenv" and "Pipfile.lock" in files:
        return [
            cp("Pipfile", "Pipfile.lock"),
            f"RUN {_tool('pipenv>=2023.1')} \\\n"
            " && /opt/tools/bin/pipenv requirements > /tmp/requirements.txt \\\n"
            " && pip install --no-cache-dir -r /tmp/requirements.txt",
        ]
    if pm == "poetry" and "pyproject.toml" in files:
        # no poetry.lock committed: `poetry lock` would need PyPI's JSON API (often blocked by proxies and
        # mirrors); poetry-core, Poetry's own parser, turns the declared constraints (^, ~, *, ||, markers,
        # extras) into PEP 508 requirements that pip installs from any simple index
        return [cp("pyproject.toml"), _POETRY_DECLARED]
    if not files and not m.requirements_file:
        # no manifest (a lone script): what it imports, unpinned; nothing when it uses the stdlib only
        names = " ".join(sorted(m.dependencies))
        return [f"RUN pip install --no-cache-dir {names}"] if names else []
    if m.requirements_file or "requirements.txt" in files:
        req = m.requirements_file or "requirements.txt"
        # the file and the ones it includes (-r/-c), each at its own path so the includes resolve
        reqs = [f for f in m.dependency_files if f.endswith(".txt")] or [req]
        by_dir: dict[str, list[str]] = {}
        for f in reqs:
            by_dir.setdefault(posixpath.dirname(f), []).append(f)
        copies = [
            f"COPY {' '.join(posixpath.join(src, f) if src != '.' else f for f in group)} ./{d + '/' if d else ''}"
            for d, group in sorted(by_dir.items())
        ]
        # a translated lockfile is the complete set: pip installs exactly it (--no-deps)
        no_deps = " --no-deps" if req == LOCK_REQUIREMENTS else ""
        return [*copies, f"RUN pip install --no-cache-dir{no_deps} -r {req}"]
    if pm == "pipenv" and "Pipfile" in files:
        return [
            cp("Pipfile"),
            f"RUN {_tool('pipenv>=2023.1')} \\\n"
            " && /opt/tools/bin/pipenv lock && /opt/tools/bin/pipenv requirements > /tmp/requirements.txt \\\n"
            " && pip install --no-cache-dir -r /tmp/requirements.txt",
        ]
    if "pyproject.toml" in files:
        # no lockfile: the dependencies pyproject declares, with their specifiers, before the source
        return [cp("pyproject.toml"), _PYPROJECT_DEPS]
    return []


_COMPILERS = frozenset({"gcc", "g++", "build-essential", "clang"})
# Python's own headers, when the image's Python came without them (a distribution's python3): the
# official images have them, so a C extension built from source needs nothing more there
_PY_HEADERS = (
    "$(python -c \"import os, sysconfig; print('' if os.path.exists(os.path.join("
    "sysconfig.get_paths()['include'], 'Python.h')) else 'python3-dev')\")"
)


def _build_packages(image: str, packages: list[str]) -> list[str]:
    """The build stage's system packages; with a C compiler, Python's headers too when the image lacks them."""
    lines = install_packages(image, packages)
    if lines and not is_alpine(image) and _COMPILERS & set(packages) and "python3-dev" not in packages:
        lines[0] = lines[0].replace(" \\\n && rm -rf", f" \\\n    {_PY_HEADERS} \\\n && rm -rf", 1)
    return lines


def _build_step(m: ModuleAnalysis) -> list[str]:
    """A build step on the final source (Django's collectstatic); settings that need the run-time
    environment may fail it, which is not fatal: the app can still collect at start."""
    if not m.build_command:
        return []
    return [
        f"RUN {m.build_command} \\\n || echo 'warning: {m.build_command} failed at build time"
        " (do the settings need the environment?)' >&2"
    ]


# Does the app or an installed package import setuptools (pkg_resources ships with it) where a
# missing one fails? An import inside a ``try`` is optional; the packaging tools' own files do not count.
# ``--record LIST`` (before the source is copied, pip still there) notes setuptools' top-level entries;
# ``--prune LIST ROOTS`` (after) removes them unless something under ROOTS needs them: a source edit
# reruns only this quick step, not pip's uninstall.
_SETUPTOOLS_USERS = (
    "import ast, pathlib, shutil, sys",
    'NAMES, TOOLS = {"setuptools", "pkg_resources"}, {"setuptools", "pkg_resources", "_distutils_hack", "pip"}',
    "def needs(node, guarded=False):",
    "    if isinstance(node, ast.Import) and not guarded:",
    '        return any(a.name.split(".")[0] in NAMES for a in node.names)',
    "    if isinstance(node, ast.ImportFrom) and not guarded and not node.level:",
    '        return (node.module or "").split(".")[0] in NAMES',
    "    inside = node.body if isinstance(node, ast.Try) else []",
    "    return any(needs(c, guarded or any(c is b for b in inside)) for c in ast.iter_child_nodes(node))",
    "def uses(path):",
    "    try:",
    "        text = path.read_bytes()",
    '        wanted = (b"pkg_resources" in text or b"setuptools" in text) and not TOOLS & set(path.parts)',
    "        return wanted and needs(ast.parse(text))",
    "    except (OSError, SyntaxError, ValueError, RecursionError):",
    "        return False",
    "def used(roots):",
    '    return any(uses(p) for r in roots for p in pathlib.Path(r).rglob("*.py"))',
    'if sys.argv[1] == "--record":',
    "    import importlib.metadata as md",
    "    try:",
    '        dist = md.distribution("setuptools")',
    "    except md.PackageNotFoundError:",
    "        sys.exit(0)",
    '    site = pathlib.Path(str(dist.locate_file("")))',
    '    tops = sorted({str(site / pathlib.PurePath(f).parts[0]) for f in dist.files or [] if ".." not in str(f)})',
    '    pathlib.Path(sys.argv[2]).write_text("".join(t + chr(10) for t in tops))',
    "    sys.exit(0)",
    'if sys.argv[1] == "--prune":',
    "    listed = pathlib.Path(sys.argv[2])",
    "    tops = listed.read_text().splitlines() if listed.exists() else []",
    "    if tops and not used(sys.argv[3:]):",
    "        for top in map(pathlib.Path, tops):",
    "            shutil.rmtree(top) if top.is_dir() else top.unlink(missing_ok=True)",
    "    sys.exit(0)",
    "sys.exit(0 if used(sys.argv[1:]) else 1)",
)
_USES_SCRIPT = "/tmp/ck_uses_setuptools.py"
_SETUPTOOLS_LIST = "/tmp/ck-setuptools-files"


def _write_script(lines: tuple[str, ...], path: str) -> str:
    """A short Python program written by printf (one argument per line: no heredoc in the legacy builder)."""
    args = " \\\n".join(f"    '{line}'" for line in lines)
    return f"printf '%s\\n' \\\n{args} \\\n    > {path}"


LEAN_STEP = "pip uninstall --yes --quiet"
LEAN_MARK = "rm -f /opt/venv/bin/activate"
"""In the build stage's last step, where the packaging tools leave the runtime venv: a step added
later that still needs pip goes before it."""
RUNTIME_PACKAGES = "/tmp/ck-runtime-packages"
"""The Debian packages owning the shared libraries the venv's extension modules load (ELF NEEDED)."""
# ldd lists every NEEDED library with where it resolved; those from the system (not a wheel's own
# bundled .libs in /opt/venv) are looked up in dpkg by file name: their packages are what the runtime needs
_NEEDED_PACKAGES = (
    "find /opt/venv -name '*.so*' -type f -exec ldd {} + 2>/dev/null \\\n"
    "    | awk '$2 == \"=>\" && $3 ~ /^\\// && $3 !~ /^\\/opt\\// {print $3}' | sort -u \\\n"
    '    | while read -r lib; do dpkg -S "*/$(basename "$lib")" 2>/dev/null | head -n 1 | cut -d: -f1; done \\\n'
    f"    | sort -u > {RUNTIME_PACKAGES}"
)


def _lean_venv(m: ModuleAnalysis, native: bool) -> tuple[str, str | None]:
    """The runtime venv without pip, wheel and (unless the app or a dependency imports it) setuptools;
    with a native toolchain in the stage, the list of run-time packages its libraries need.

    Two steps: the first (before the source is copied: no source edit reruns it) takes pip and wheel
    out and notes setuptools' files; the second (after the copy) reads the imports and removes those
    files unless something needs them (its command; None when setuptools is declared: it stays)."""
    declared = {d.lower() for d in m.dependencies}
    tools = " ".join(t for t in ("wheel", "pip") if t not in declared)  # pip last: it removes itself
    parts: list[str] = []
    prune = None
    if "setuptools" not in declared:
        parts += [
            _write_script(_SETUPTOOLS_USERS, _USES_SCRIPT),
            f"python {_USES_SCRIPT} --record {_SETUPTOOLS_LIST}",
        ]
        prune = (
            f"python {_USES_SCRIPT} --prune {_SETUPTOOLS_LIST} /opt/venv/lib . \\\n"
            f" && rm -f {_USES_SCRIPT} {_SETUPTOOLS_LIST}"
        )
    if tools:
        parts.append(f"python -m {LEAN_STEP} {tools}")
    parts.append(f"{LEAN_MARK}* /opt/venv/bin/Activate.ps1")  # PATH names the venv
    # the installer's bookkeeping (PEP 376/627: what to uninstall) goes with the installer; METADATA and
    # entry_points.txt, what importlib.metadata reads at run time, stay
    parts.append(
        r"find /opt/venv -path '*.dist-info/*' \( -name RECORD -o -name INSTALLER -o -name REQUESTED \) -delete"
    )
    if native:
        parts.append(_NEEDED_PACKAGES)
    return "RUN " + " \\\n && ".join(parts), prune


def _runtime_libraries() -> list[str]:
    """Install the packages the build stage found in the ELF NEEDED entries, when the base lacks them."""
    return [
        f"COPY --from=build {RUNTIME_PACKAGES} {RUNTIME_PACKAGES}",
        f'RUN pkgs=$(for p in $(cat {RUNTIME_PACKAGES}); do dpkg -s "$p" >/dev/null 2>&1 || echo "$p"; done) \\\n'
        ' && if [ -n "$pkgs" ]; then apt-get update \\\n'
        "    && apt-get install -y --no-install-recommends $pkgs \\\n"
        f"    && {APT_CLEAN}; fi",
    ]


def _compile() -> str:
    """The app's bytecode, compiled while building (the runtime user cannot write __pycache__);
    checked against the source's hash, so a copy that changes mtimes keeps it valid."""
    return (
        "RUN python -m compileall -q -j 0 --invalidation-mode checked-hash"
        " -x '/(node_modules|\\.git|\\.venv|venv)/' . > /dev/null || true"
    )


def _start(m: ModuleAnalysis) -> str:
    return m.start_command or f"python {m.entrypoint or 'app.py'}"


def _health(port: int, path: str | None) -> str:
    target = f"'http://127.0.0.1:' + os.environ.get('PORT', '{port}') + '{path or '/'}'"
    if path:
        code = f"import os, urllib.request; urllib.request.urlopen({target}, timeout=2)"
    else:
        code = f"import os, socket; socket.create_connection(('127.0.0.1', int(os.environ.get('PORT', '{port}'))), 2)"
    return healthcheck_exec(["python", "-c", code])


def render_python(m: ModuleAnalysis, ctx: Ctx) -> Rendered:
    if m.package_manager == "conda":
        return _conda(m, ctx)
    base = ctx.resolve("python", m.language_version)
    port = m.port or 8000
    pd = ctx.path_deps
    # with sibling path dependencies the context holds them and the module at their repo-relative places
    src = pd.member if pd is not None else "."
    workdir = posixpath.normpath(posixpath.join("/app", src))
    deps = [posixpath.join("/app", d) for d in pd.deps] if pd is not None else []
    what = f"python {base.version}, {m.package_manager or 'pip'}"
    lines = [header(m, what + (f", built from {pd.root} with {', '.join(pd.deps)}" if pd else ""))]
    lines += [f"FROM {base.image} AS build", f"WORKDIR {workdir}"]
    lines += _build_packages(base.image, ctx.extra_build_packages)
    lines += [
        "RUN python -m venv /opt/venv /opt/tools",
        'ENV PATH="/opt/venv/bin:$PATH" PIP_DISABLE_PIP_VERSION_CHECK=1',
    ]
    # the folders the manifests point at come first: the install reads them (an editable one keeps pointing there)
    lines += [f"COPY {posixpath.relpath(d, '/app')} {d}/" for d in deps]
    install = _install(m, src)
    if m.source_before_install:  # the requirements install the project itself (`-e .`): source first
        install = ["COPY . ." if src == "." else f"COPY {src} ./", *(x for x in install if not x.startswith("COPY "))]
    lines += install
    if m.install_project and not m.source_before_install:
        # the package itself (src/ layout, console scripts), after its dependencies: a source edit
        # reinstalls only the project
        lines += ["COPY . ." if src == "." else f"COPY {src} ./", "RUN pip install --no-cache-dir --no-deps ."]
    copy_src = "COPY . ." if src == "." else f"COPY {src} ./"
    native = bool(ctx.extra_build_packages) and not is_alpine(base.image)
    lean, prune = _lean_venv(m, native)
    if copy_src in lines:  # the source is in already (it installs the project): one step
        lines.append(f"{lean} \\\n && {prune}" if prune else lean)
    else:  # the prune step reads the app's imports too
        lines += [lean, copy_src, *([f"RUN {prune}"] if prune else [])]
    lines += ["", f"FROM {base.runtime}", f"WORKDIR {workdir}"]
    lines += install_packages(base.runtime, m.system_packages)
    lines += user_lines(base.runtime)
    lines += _runtime_libraries() if native else []
    lines += [
        "COPY --from=build /opt/venv /opt/venv",
        *(f"COPY --from=build {d} {d}" for d in deps),
        f'ENV PATH="/opt/venv/bin:$PATH" PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1 PORT={port}',
        copy_src,
        _compile(),
        *_build_step(m),
        f"USER {APP_UID}:{APP_UID}",
        f"EXPOSE {port}",
        _health(port, m.health_path),
        exec_form(_start(m)),
    ]
    reason = f"{base.runtime}: the slim image of the Python the project asks for" + (
        ", with the run-time libraries its native packages load"
        if native or m.system_packages
        else " (glibc: the manylinux wheels run as built; the catalog has no distroless Python)"
    )
    return Rendered(join(lines), base.runtime, APP_UID, port, base_reason=reason)


def _conda(m: ModuleAnalysis, ctx: Ctx) -> Rendered:
    """Conda environments live in the micromamba image, whose entrypoint activates them."""
    base = ctx.resolve("python", m.language_version, tool="conda")
    port = m.port or 8000
    env_file = next((f for f in m.dependency_files if f.endswith((".yml", ".yaml"))), "environment.yml")
    lines = [
        header(m, "python, conda"),
        f"FROM {base.image}",
        "WORKDIR /app",
        f"COPY --chown={_MAMBA_UID}:{_MAMBA_UID} {env_file} /tmp/environment.yml",
        "RUN micromamba install --yes --name base --file /tmp/environment.yml \\\n && micromamba clean --all --yes",
        "ARG MAMBA_DOCKERFILE_ACTIVATE=1",
        f"ENV PYTHONUNBUFFERED=1 PORT={port}",
        f"COPY --chown={_MAMBA_UID}:{_MAMBA_UID} . .",
        f"USER {_MAMBA_UID}:{_MAMBA_UID}",
        f"EXPOSE {port}",
        _health(port, m.health_path),
        exec_form(_start(m)),
    ]
    return Rendered(join(lines), base.image, _MAMBA_UID, port)
