"""Fixing mode: read a failed build (or a failed start), name the cause, and change the Dockerfile
to address it.

The rules are data (a table of patterns -> cause -> packages), so adding a cause is one row. Fixes
edit the Dockerfile's text where they can (so they work on a user's Dockerfile and keep earlier
fixes), and a fix that would produce the same file again is reported as ``changed=False`` rather
than retried.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path, PurePosixPath
from typing import NamedTuple

from pydantic import BaseModel

from containerkit.tools.analyze.models import ModuleAnalysis
from containerkit.tools.diagnose.models import Diagnosis, FailureEvidence, FailureStage
from containerkit.tools.dockerfile._common import APT_CLEAN, exec_form, is_alpine
from containerkit.tools.dockerfile._python import LEAN_MARK, LEAN_STEP, LOCK_REQUIREMENTS
from containerkit.tools.dockerfile.catalog import BaseImageCatalog, ImageProbe
from containerkit.tools.dockerfile.generate import GeneratedDockerfile, build_context, generate_dockerfile
from containerkit.tools.dockerfile.models import BuildFailureInfo

__all__ = [
    "CONTAINER_DEFAULTS",
    "BuildFailureInfo",
    "FailureClass",
    "FixResult",
    "classify_failure",
    "fix_dockerfile",
    "start_command_of",
]

FailureClass = Diagnosis
"""The name this module's callers knew a diagnosis by."""


class FixResult(BaseModel):
    content: str
    changed: bool
    reason: str
    kind: str = "unknown"
    context: str | None = None
    """Build context (relative to the repo root) the new content needs, when the fix regenerated the
    Dockerfile (a workspace member is built from the workspace root); None: keep the current one."""
    files: dict[str, str] = {}
    """Files the new content needs in the build context (a translated lockfile), by path relative to it."""


# Runtime libraries the final stage needs when the build compiled against the -dev package.
_RUNTIME_LIBS = {
    "libpq-dev": "libpq5",
    "default-libmysqlclient-dev": "libmariadb3",
    "libxml2-dev": "libxml2",
    "libxslt1-dev": "libxslt1.1",
    "libjpeg-dev": "libjpeg62-turbo",
    "libffi-dev": "libffi8",
    "libyaml-dev": "libyaml-0-2",
    "libsqlite3-dev": "libsqlite3-0",
    "libkrb5-dev": "libkrb5-3",
    "portaudio19-dev": "libportaudio2",
    "libsndfile1-dev": "libsndfile1",
    "libzbar-dev": "libzbar0",
    "libgmp-dev": "libgmp10",
    "libldap2-dev": "libldap-2.5-0",
    "libsasl2-dev": "libsasl2-2",
    "libsnappy-dev": "libsnappy1v5",
    "libpcap-dev": "libpcap0.8",
    "uuid-dev": "libuuid1",
    "libzmq3-dev": "libzmq5",
    "libgeos-dev": "libgeos-c1v5",
    "libproj-dev": "libproj25",
    "libgdal-dev": "libgdal32",
    "libmagic-dev": "libmagic1",
    "libxmlsec1-dev": "libxmlsec1-openssl",
    "libglib2.0-dev": "libglib2.0-0",
    "libpng-dev": "libpng16-16",
    "libtiff-dev": "libtiff6",
    "libwebp-dev": "libwebp7",
    "libfreetype-dev": "libfreetype6",
    "liblcms2-dev": "liblcms2-2",
    "libopenjp2-7-dev": "libopenjp2-7",
    "libcurl4-openssl-dev": "libcurl4",
    "libreadline-dev": "libreadline8",
    "libsodium-dev": "libsodium23",
    "libcairo2-dev": "libcairo2",
    "unixodbc-dev": "libodbc2",
    "libasound2-dev": "libasound2",
    "libexpat1-dev": "libexpat1",
    "libssl-dev": "libssl3",
    "libbz2-dev": "libbz2-1.0",
    "liblzma-dev": "liblzma5",
    "libsystemd-dev": "libsystemd0",
    "libcups2-dev": "libcups2",
    "libhdf5-dev": "libhdf5-103-1",
}
# The same needs under Alpine's apk.
_APK = {
    "libpq-dev": "postgresql-dev",
    "libpq5": "libpq",
    "default-libmysqlclient-dev": "mariadb-dev",
    "libmariadb3": "mariadb-connector-c",
    "python3-dev": "python3-dev",
    "libc6-dev": "musl-dev",
    "libssl-dev": "openssl-dev",
    "libxml2-dev": "libxml2-dev",
    "libxslt1-dev": "libxslt-dev",
    "libxslt1.1": "libxslt",
    "libjpeg-dev": "jpeg-dev",
    "libjpeg62-turbo": "libjpeg-turbo",
    "zlib1g-dev": "zlib-dev",
    "libsqlite3-dev": "sqlite-dev",
    "libsqlite3-0": "sqlite-libs",
    "libyaml-dev": "yaml-dev",
    "libyaml-0-2": "yaml",
    "libffi8": "libffi",
    "libkrb5-dev": "krb5-dev",
    "libkrb5-3": "krb5-libs",
}


def classify_failure(failure: BuildFailureInfo, stage: FailureStage = "build") -> Diagnosis:
    """Name the cause of a failed build (or start) from its message and log tail."""
    from containerkit.tools.diagnose.classify import classify

    return classify(
        FailureEvidence(stage=stage, message=failure.message, log_tail=failure.log_tail, exit_code=failure.exit_code)
    )


# -- Dockerfile text surgery -------------------------------------------------------------------


class _Stage(NamedTuple):
    start: int  # index of the FROM line
    end: int  # index after the last line
    image: str


def _stages(lines: list[str]) -> list[_Stage]:
    starts = [i for i, ln in enumerate(lines) if ln.strip().upper().startswith("FROM ")]
    out: list[_Stage] = []
    for k, s in enumerate(starts):
        parts = [p for p in lines[s].split()[1:] if not p.startswith("--")]
        out.append(_Stage(s, starts[k + 1] if k + 1 < len(starts) else len(lines), parts[0] if parts else ""))
    return out


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", text.replace("\\\n", " ")).strip()


def _failing_stage(lines: list[str], failure: BuildFailureInfo) -> int:
    """The stage holding the failing step (the first stage when the step cannot be placed)."""
    stages = _stages(lines)
    if not stages:
        return -1
    if failure.step:
        want = _norm(failure.step)[:60]
        joined = "\n".join(lines)
        pos = _norm(joined).find(want) if want else -1
        if pos >= 0:
            # map the position in the normalised text back to a line
            acc = 0
            for i, ln in enumerate(lines):
                acc += len(_norm(ln)) + 1
                if acc > pos:
                    for k, st in enumerate(stages):
                        if st.start <= i < st.end:
                            return k
    return 0


def _install_line(image: str, packages: list[str]) -> str:
    if is_alpine(image):
        return f"RUN apk add --no-cache {' '.join(sorted({_APK.get(p, p) for p in packages}))}"
    return (
        "RUN apt-get update \\\n"
        f" && apt-get install -y --no-install-recommends {' '.join(sorted(set(packages)))} \\\n"
        f" && {APT_CLEAN}"
    )


def _stage_installs(stage_text: str, packages: list[str], image: str) -> list[str]:
    """The packages this stage does not install yet."""
    names = {_APK.get(p, p) if is_alpine(image) else p for p in packages}
    return sorted(p for p in names if not re.search(rf"(?<![\w.-]){re.escape(p)}(?![\w.-])", stage_text))


def _insert_after_from(lines: list[str], stage: _Stage, new: str) -> None:
    lines.insert(stage.start + 1, new)


def _node_headers(content: str, cls: Diagnosis) -> tuple[str, str]:
    """node-gyp downloads the headers of the running node; node images ship them under /usr/local."""
    lines = content.splitlines()
    stages = _stages(lines)
    step = "ENV npm_config_nodedir=/usr/local"
    if not stages or step in content:
        return content, f"node-gyp still fetches the node headers ({cls.detail})"
    for st in reversed(stages):  # every stage that installs node modules
        text = "\n".join(lines[st.start : st.end])
        if re.search(r"\b(npm (ci|install)|yarn|pnpm install)\b", text):
            lines.insert(st.start + 1, step)
    return "\n".join(lines) + "\n", "node-gyp downloads the node headers: point it at the ones the image ships"


_SOURCE_BUILD = re.compile(
    r"pip-build-env-|Building wheel for \S+ \(pyproject\.toml\)|Preparing metadata \(pyproject\.toml\)"
    r"|metadata-generation-failed|Failed building wheel"
)
_PY_IN_LOG = re.compile(r"python(3\.\d+)[/ ]|cp3(\d+)-")


def _older_python(content: str, failure: BuildFailureInfo, cls: Diagnosis, fx: _FixCtx) -> tuple[str, str] | None:
    """A pinned package built from source on a Python newer than the default: its wheels are for older ones.

    Moving to the catalog's default Python (pins are usually made against it) avoids the source build
    altogether, which beats installing compilers (or a Rust toolchain the build cannot download).
    """
    if fx.module.language != "python" or not _SOURCE_BUILD.search(failure.log_tail):
        return None
    entry = fx.catalog.entries.get("python")
    if entry is None:
        return None
    m = _PY_IN_LOG.search(failure.log_tail)
    running = m.group(1) if m and m.group(1) else (f"3.{m.group(2)}" if m else None)
    default = entry.default
    try:
        newer = running is not None and tuple(map(int, running.split("."))) > tuple(map(int, default.split(".")))
    except ValueError:
        return None
    if not newer:
        return None
    if LOCK_REQUIREMENTS in content:  # the translated lockfile depends on the Python: translate it again
        gen = _generate(fx.module.model_copy(update={"language_version": default}), fx)
        new, changed = gen.content, [f"python {running} -> {default}, lockfile translated again"]
    else:
        new, changed = _swap_versions(content, "python", default, fx)
    if not changed:
        return None
    return new, (
        f"a pinned package has no wheel for Python {running} and its source build fails ({cls.detail}): "
        f"build on Python {default}, which its wheels support ({'; '.join(changed)})"
    )


def _add_packages(content: str, failure: BuildFailureInfo, cls: Diagnosis, fx: _FixCtx) -> tuple[str, str]:
    if cls.subject == "headers" and not cls.packages:
        return _node_headers(content, cls)
    older = _older_python(content, failure, cls, fx)
    if older is not None:
        return older
    lines = content.splitlines()
    stages = _stages(lines)
    if not stages:
        return content, "the Dockerfile has no FROM"
    k = _failing_stage(lines, failure)
    target = stages[k]
    stage_text = "\n".join(lines[target.start : target.end])
    wanted = list(cls.packages)
    if fx.module.language == "python" and "gcc" in wanted and not is_alpine(target.image):
        wanted.append("python3-dev")  # a C extension needs Python.h; images built on Debian's python lack it
    build_pkgs = _stage_installs(stage_text, wanted, target.image)
    runtime = [_RUNTIME_LIBS[p] for p in cls.packages if p in _RUNTIME_LIBS]
    final = stages[-1]
    final_pkgs: list[str] = []
    if runtime and k != len(stages) - 1:
        final_pkgs = _stage_installs("\n".join(lines[final.start : final.end]), runtime, final.image)
    if not build_pkgs and not final_pkgs:
        return content, f"the packages {', '.join(cls.packages)} are installed already"
    # insert into the later stage first so the earlier indices stay valid
    if final_pkgs:
        _insert_after_from(lines, final, _install_line(final.image, final_pkgs))
    if build_pkgs:
        _insert_after_from(lines, target, _install_line(target.image, build_pkgs))
    added = build_pkgs + ([f"{', '.join(final_pkgs)} at run time"] if final_pkgs else [])
    return "\n".join(lines) + "\n", f"install the missing system packages {', '.join(added)} ({cls.detail})"


def _relax_lockfile(content: str, failure: BuildFailureInfo, cls: Diagnosis, fx: _FixCtx) -> tuple[str, str]:
    new = re.sub(r"\bnpm ci\b", "npm install --no-audit --no-fund", content)
    new = re.sub(r" --frozen-lockfile\b| --immutable\b", "", new)
    new = re.sub(r"(pnpm install)", r"\1 --no-frozen-lockfile", new) if "pnpm install" in new else new
    new = re.sub(r"\buv sync --frozen\b", "uv sync", new)
    new = re.sub(r"(\S*poetry) install", r"\1 lock && \1 install", new) if " lock && " not in new else new
    new = re.sub(r"(\S*pipenv) requirements", r"\1 lock && \1 requirements", new) if "pipenv lock" not in new else new
    return new, (
        "the lockfile does not match the manifest: re-resolve it in the build (commit an updated lockfile to "
        f"get exact installs back) ({cls.detail})"
    )


def _template_regex(template: str) -> re.Pattern[str]:
    parts = template.split("{version}")
    return re.compile("^" + "(?P<v>[\\w.]+?)".join(re.escape(p) for p in parts) + "$")


def _swap_versions(content: str, language: str, version: str, fx: _FixCtx) -> tuple[str, list[str]]:
    """Re-point FROM lines that use this language's catalog images at ``version`` (probe-checked)."""
    entry = fx.catalog.entries.get(language)
    if entry is None:
        return content, []
    resolved = fx.catalog.resolve(language, version, fx.probe)
    if resolved.version != fx.catalog.resolve(language, version).version:
        return content, []  # the wanted version is not available: moving elsewhere would not help
    lines = content.splitlines()
    changed: list[str] = []
    templates = [entry.image, *(entry.tools.values()), *([entry.runtime] if entry.runtime else [])]
    for i, ln in enumerate(lines):
        parts = ln.split()
        if len(parts) < 2 or parts[0].upper() != "FROM":
            continue
        idx = next(j for j, p in enumerate(parts[1:], 1) if not p.startswith("--"))
        for t in templates:
            if "{version}" in t and _template_regex(fx.catalog._m(t)).match(parts[idx]):
                new_image = fx.catalog._m(t).format(version=resolved.version)
                if new_image != parts[idx]:
                    changed.append(f"{parts[idx]} -> {new_image}")
                    parts[idx] = new_image
                    lines[i] = " ".join(parts)
                break
    return "\n".join(lines) + "\n", changed


def _wanted_version(spec: str) -> str | None:
    """The lowest version a requirement admits: '>=3.12' -> '3.12', '^20.11' -> '20'."""
    m = re.search(r"(\d+(?:\.\d+)?)", spec)
    return m.group(1) if m else None


def _runtime_version(content: str, failure: BuildFailureInfo, cls: Diagnosis, fx: _FixCtx) -> tuple[str, str]:
    language = fx.module.language or ("python" if "Python" in cls.detail else "node")
    wanted = _wanted_version(cls.subject or "")
    if wanted is None:
        return content, f"the log names no {language} version ({cls.detail})"
    if language == "node":
        wanted = wanted.split(".")[0]
    new, changed = _swap_versions(content, language, wanted, fx)
    if not changed:
        return content, f"no {language} {wanted} base image is available to satisfy {cls.subject}"
    return new, f"use {language} {wanted} as the error asks ({cls.subject}): {'; '.join(changed)}"


def _fallback_base(content: str, failure: BuildFailureInfo, cls: Diagnosis, fx: _FixCtx) -> tuple[str, str]:
    missing = (cls.subject or "").rstrip(",")
    lang = fx.module.language
    entry = fx.catalog.entries.get(lang or "")
    if not missing or entry is None or fx.probe is None:
        return content, f"no probe or catalog entry to find a replacement for {missing or 'the base image'}"
    version = None
    for t in [entry.image, *(entry.tools.values()), *([entry.runtime] if entry.runtime else [])]:
        if "{version}" in t and (m := _template_regex(fx.catalog._m(t)).match(missing)):
            version = m.group("v")
            break
    resolved = fx.catalog.resolve(lang or "", version, fx.probe)
    if resolved.warning is None or not fx.probe(resolved.image):
        return content, f"no available {lang} image can replace {missing}"
    lines = content.splitlines()
    for i, ln in enumerate(lines):
        if ln.upper().startswith("FROM ") and missing in ln.split():
            for t in [entry.image, *([entry.runtime] if entry.runtime else [])]:
                if _template_regex(fx.catalog._m(t)).match(missing):
                    lines[i] = ln.replace(missing, fx.catalog._m(t).format(version=resolved.version))
    return "\n".join(lines) + "\n", f"{missing} is not available; use {lang} {resolved.version} (closest available)"


def _collectstatic(content: str, cls: Diagnosis) -> tuple[str, str]:
    """Django serves a static manifest that ``collectstatic`` writes: run it in the image."""
    step = "RUN python manage.py collectstatic --noinput"
    lines = content.splitlines()
    final = _final_stage(lines)
    if final is None or step in content:
        return content, f"collectstatic runs already ({cls.detail})"
    copy = next(
        (i for i in range(final.end - 1, final.start, -1) if re.match(r"COPY (--chown=\S+ )?\. ", lines[i])), None
    )
    if copy is None:
        return content, "no step copies the source to run collectstatic after"
    lines.insert(copy + 1, step)
    return "\n".join(lines) + "\n", f"the static files manifest is missing at start ({cls.detail}): run collectstatic"


_NO_SCHEMA = re.compile(r"no such table|does not exist|doesn't exist|Invalid object name", re.I)
_INIT_COMMAND = re.compile(r"""@[\w.]*command\(\s*["'](init-db|init_db|initdb|create-db|create_db)["']""")


def _schema_step(fx: _FixCtx, start: str) -> str | None:
    """The command that creates the app's database schema, from what the repository defines."""
    m, ctx = fx.module, fx.context
    if m.framework == "django":
        return "python manage.py migrate --noinput"
    has = (lambda rel: (ctx / rel).is_file()) if ctx is not None else (lambda rel: False)
    flask_app = re.match(r"flask (--app \S+) ", start + " ")
    flask = f"flask {flask_app.group(1)}" if flask_app else "flask"
    if m.framework == "flask" and has("migrations/env.py") and "flask-migrate" in {d.lower() for d in m.dependencies}:
        return f"{flask} db upgrade"
    if has("alembic.ini"):
        return "alembic upgrade head"
    if m.framework == "flask" and ctx is not None:
        from containerkit.tools.sources import read_small, walk_sources

        for path in walk_sources(ctx, (".py",), max_files=200, max_depth=3):
            hit = _INIT_COMMAND.search(read_small(path, 256 * 1024) or "")
            if hit:
                return f"{flask} {hit.group(1)}"
    return None


def _init_schema(content: str, cls: Diagnosis, fx: _FixCtx) -> tuple[str, str]:
    """The database answers without the app's tables: run the repo's migrate/init step before the server.

    At start, not at build: the database may be a service the image only meets at run time.
    """
    start = start_command_of(content)
    if start is None:
        return content, f"no start command to run the schema step before ({cls.detail})"
    step = _schema_step(fx, start)
    if step is None:
        return (
            content,
            f"the database has no {cls.subject or 'tables'} and the repository names no migrate or init step",
        )
    if step in start:
        return content, f"{step!r} runs already and the table {cls.subject} is still missing"
    new = _replace_cmd(content, exec_form(f"{step} && {start}"))
    return new, f"the database has no table {cls.subject} at start ({cls.detail}): run {step!r} before the server"


def _add_build_step(content: str, failure: BuildFailureInfo, cls: Diagnosis, fx: _FixCtx) -> tuple[str, str]:
    m = fx.module
    if m.language == "python" and _NO_SCHEMA.search(cls.detail):
        return _init_schema(content, cls, fx)
    if m.language == "python" and (m.framework == "django" or "staticfiles" in cls.detail):
        return _collectstatic(content, cls)
    if m.language not in ("node", "static"):
        return content, f"no build step is known for {m.language}"
    if m.build_command and m.build_command in content:
        return (
            content,
            f"the build step {m.build_command!r} already runs; its output is not where the start command looks",
        )
    build = m.build_command or _build_command_for(fx, cls.subject or "")
    if build is None:
        return content, f"{cls.subject or 'the build output'} is missing at start and the repository names no build"
    gen = _generate(m.model_copy(update={"build_command": build}), fx)
    return gen.content, f"{cls.subject or 'the build output'} is missing at start: add a build stage running {build!r}"


_BUILDERS = re.compile(
    r"\b(tsc|next build|vite build|webpack|nest build|ng build|rollup|esbuild|babel|react-scripts build|nuxt build"
    r"|nuxi build|astro build|remix build|react-router build|svelte-kit build|tsup|swc|parcel build|gatsby build)\b"
)


def _build_command_for(fx: _FixCtx, subject: str) -> str | None:
    """The build the repository defines (under any script name), else the one its start command implies."""
    import json

    pm = fx.module.package_manager or "npm"
    scripts: dict[str, str] = {}
    if fx.context is not None:
        try:
            pkg = json.loads((fx.context / "package.json").read_text(encoding="utf-8"))
            raw = pkg.get("scripts") if isinstance(pkg, dict) else None
            scripts = {str(k): str(v) for k, v in raw.items()} if isinstance(raw, dict) else {}
        except (OSError, ValueError):
            scripts = {}
    for name in ("build", "compile", "build:prod", "build:production", "dist", "tsc"):
        if name in scripts:
            return f"{pm} run {name}"
    for name, body in scripts.items():
        if _BUILDERS.search(body) and not name.startswith(("dev", "watch", "test", "lint")):
            return f"{pm} run {name}"
    start = fx.module.start_command or ""
    if "next start" in start or "/.next" in subject:
        return "npx next build"
    if fx.context is not None and (fx.context / "tsconfig.json").is_file():
        return "npx tsc -p ."
    return None


_ENTRY_FILES = ("main.py", "app.py", "server.py", "wsgi.py", "run.py", "server.js", "index.js", "app.js", "main.js")


def _before_lean(lines: list[str], start: int, end: int, default: int) -> int:
    """Where a step that runs pip goes: before the step that takes pip out of the venv, if the stage has one."""
    first = None
    for i in range(start, end):
        if lines[i].startswith("RUN "):
            first = i
        if LEAN_MARK in lines[i] and first is not None:
            return min(first, default)
    return default


def _wrong_start(content: str, failure: BuildFailureInfo, cls: Diagnosis, fx: _FixCtx) -> tuple[str, str]:
    m = fx.module
    subject = cls.subject or ""
    current = start_command_of(content)
    tool = subject.split(".")[0]
    if tool and tool in (current or "").split()[:1] and tool in ("gunicorn", "uvicorn", "flask", "streamlit"):
        # the server the start command runs is not installed: install it with the app's dependencies
        lines = content.splitlines()
        stages = _stages(lines)
        k = _failing_stage(lines, failure) if len(stages) == 1 else 0
        st = stages[k]
        idx = max(i for i in range(st.start, st.end) if lines[i].startswith("RUN ") or i == st.start)
        pip = "pip install --no-cache-dir" if "/opt/venv" in content or "pip" in content else None
        if pip is None or f"pip install --no-cache-dir {tool}" in content:
            return content, f"{tool} is missing at start and cannot be installed by the fixer"
        lines.insert(_before_lean(lines, st.start, st.end, idx + 1), f"RUN {pip} {tool}")
        return "\n".join(lines) + "\n", f"the start command runs {tool}, which is not installed: install it"
    served = _retarget_server(content, current or "", fx)
    if served is not None:
        return served
    candidates: list[str] = []
    if fx.context is not None:
        candidates = _same_name_elsewhere(fx.context, subject) + [f for f in _ENTRY_FILES if (fx.context / f).is_file()]
    if m.entrypoint:
        candidates.insert(0, m.entrypoint)
    runner = "python" if m.language == "python" else "node" if m.language in ("node", "static") else None
    if runner is None:
        return content, f"no other start command is known for {m.language}"
    for cand in dict.fromkeys(candidates):
        if (runner == "python" and not cand.endswith(".py")) or (runner == "node" and not cand.endswith(".js")):
            continue
        new_cmd = f"{runner} {cand}"
        if (current and _norm(current) == new_cmd) or (cand in subject and subject):
            continue
        new = _replace_cmd(content, exec_form(new_cmd))
        if new != content:
            return new, f"the start command fails ({cls.detail}): run {new_cmd} instead"
    sub = _unchecked_submodule(fx, subject)
    if sub:
        return (
            content,
            f"{sub}/ is a git submodule that is not checked out: run `git submodule update --init` ({cls.detail})",
        )
    return content, f"no other entry point to start ({cls.detail})"


_SERVERS = ("gunicorn", "uvicorn", "hypercorn", "daphne", "waitress-serve")
_APP_OBJECT = re.compile(
    r"^(\w+)\s*=\s*(?:flask\.)?(?:Flask|FastAPI|Starlette|Quart|Sanic|Litestar|Falcon|falcon\.App|falcon\.asgi\.App)\(",
    re.M,
)
_FACTORY = re.compile(r"^def (create_app|make_app|app_factory)\(\s*\)", re.M)


def _app_target(context: Path) -> str | None:
    """``module:object`` (or ``module:factory()``) of the WSGI/ASGI app the code defines."""
    from containerkit.tools.sources import read_small, walk_sources

    for path in walk_sources(context, (".py",), max_files=300, max_depth=4):
        text = read_small(path) or ""
        rel = path.relative_to(context).with_suffix("").as_posix().removeprefix("src/")
        module = rel.removesuffix("/__init__").replace("/", ".")
        if m := _APP_OBJECT.search(text):
            return f"{module}:{m.group(1)}"
        if m := _FACTORY.search(text):
            return f"{module}:{m.group(1)}()"
    return None


def _retarget_server(content: str, current: str, fx: _FixCtx) -> tuple[str, str] | None:
    """A WSGI/ASGI server told to load a module that does not exist: point it at the app the code defines."""
    words = current.split()
    if fx.context is None or not words or words[0] not in _SERVERS:
        return None
    old = next((w for w in words[1:] if re.fullmatch(r"[\w.]+:[\w()]+", w.strip("'\""))), None)
    target = _app_target(fx.context)
    if old is None or target is None or old.strip("'\"") == target:
        return None
    if target.endswith("()") and words[0] == "uvicorn":
        new_cmd = current.replace(old, f"--factory {target[:-2]}")
    else:
        new_cmd = current.replace(old, f"'{target}'" if target.endswith("()") else target)
    new = _replace_cmd(content, exec_form(new_cmd))
    return (
        (new, f"{words[0]} loads {old}, which does not exist: load {target}, the app the code defines")
        if new != content
        else None
    )


def _unchecked_submodule(fx: _FixCtx, subject: str) -> str | None:
    """The submodule folder the missing file lives in, when .gitmodules names it and it is empty."""
    if fx.context is None:
        return None
    rel = subject.removeprefix("/app/").strip("/")
    for folder in (fx.context, *fx.context.parents[:3]):
        gm = folder / ".gitmodules"
        try:
            text = gm.read_text(encoding="utf-8", errors="replace") if gm.is_file() else ""
        except OSError:
            continue
        for path in re.findall(r"^\s*path\s*=\s*(\S+)", text, re.M):
            if rel == path or rel.startswith(path.rstrip("/") + "/"):
                target = folder / path
                if not target.is_dir() or not any(target.iterdir()):
                    return str(path)
    return None


def _same_name_elsewhere(context: Path, subject: str) -> list[str]:
    """Files named like the missing one elsewhere in the module (``server.js`` -> ``src/server.js``)."""
    from containerkit.tools.sources import walk_sources

    name = PurePosixPath(subject.replace("\\", "/")).name
    if not name or "." not in name:
        return []
    found = [
        p.relative_to(context).as_posix()
        for p in walk_sources(context, max_files=2000, max_depth=3)
        if p.name == name and p.parent != context
    ]
    return sorted(found, key=lambda p: p.count("/"))[:5]


def start_command_of(content: str) -> str | None:
    """The command the last CMD runs, as one shell line (``sh -c "exec X"`` read as X)."""
    for ln in reversed(content.splitlines()):
        if ln.startswith("CMD "):
            body = ln[4:].strip()
            if body.startswith("["):
                import json

                try:
                    argv = json.loads(body)
                except ValueError:
                    return body
                if argv[:2] == ["sh", "-c"]:
                    return str(argv[2]).removeprefix("exec ")
                return " ".join(str(a) for a in argv)
            return body
    return None


def _replace_cmd(content: str, cmd_line: str) -> str:
    lines = content.splitlines()
    for i in range(len(lines) - 1, -1, -1):
        if lines[i].startswith("CMD "):
            lines[i] = cmd_line
            return "\n".join(lines) + "\n"
    return "\n".join([*lines, cmd_line]) + "\n"


def _regenerate(content: str, failure: BuildFailureInfo, cls: Diagnosis, fx: _FixCtx) -> tuple[str, str]:
    """A user's Dockerfile failed for a cause no rule knows: offer the one generated from the analysis."""
    if fx.module.language is None:
        return content, "no module language to regenerate from"
    gen = _generate(fx.module, fx)
    if "Generated by containerkit" in content:
        return content, f"the generated Dockerfile fails for a cause no rule knows ({cls.category}: {cls.detail})"
    return (
        gen.content,
        f"replace the failing Dockerfile with one generated from the analysis ({cls.category}: {cls.detail})",
    )


def _repo_root(fx: _FixCtx) -> Path | None:
    """The repository folder, from the module folder and the module's path in the repository."""
    if fx.context is None:
        return None
    depth = len([p for p in PurePosixPath(fx.module.path.strip("/")).parts if p not in (".", "")])
    root = fx.context
    for _ in range(depth):
        root = root.parent
    return root


def _generate(module: ModuleAnalysis, fx: _FixCtx) -> GeneratedDockerfile:
    gen = generate_dockerfile(module, fx.catalog, probe=fx.probe, repo_root=_repo_root(fx), lock_requirements=True)
    fx.files.clear()
    fx.files.update(gen.files)
    return gen


def _final_stage(lines: list[str]) -> _Stage | None:
    stages = _stages(lines)
    return stages[-1] if stages else None


def _before_user(lines: list[str], stage: _Stage) -> int:
    """Index where a root step goes in a stage: before its USER line (after FROM when there is none)."""
    for i in range(stage.start + 1, stage.end):
        if lines[i].strip().upper().startswith("USER "):
            return i
    return stage.start + 1


def _add_runtime_library(content: str, failure: BuildFailureInfo, cls: Diagnosis, fx: _FixCtx) -> tuple[str, str]:
    if not cls.packages:
        return content, f"no Debian package is known to ship {cls.subject or 'the missing library'}"
    lines = content.splitlines()
    final = _final_stage(lines)
    if final is None:
        return content, "the Dockerfile has no FROM"
    pkgs = _stage_installs("\n".join(lines[final.start : final.end]), cls.packages, final.image)
    if not pkgs:
        return content, f"{', '.join(cls.packages)} is installed already ({cls.detail})"
    if final.image.startswith("busybox") and fx.module.language == "node":
        # busybox has no package manager: the app with that package runs on Debian slim instead
        m = fx.module.model_copy(update={"system_packages": sorted({*fx.module.system_packages, *pkgs})})
        gen = _generate(m, fx)
        if gen.content != content:
            return (
                gen.content,
                f"install {', '.join(pkgs)} at run time (on {gen.base_image}): {cls.subject} is missing at start",
            )
    lines.insert(final.start + 1, _install_line(final.image, pkgs))
    return "\n".join(lines) + "\n", f"install {', '.join(pkgs)} at run time: {cls.subject} is missing at start"


_PRUNE = (
    (re.compile(r"\s--omit=dev\b"), ""),
    (re.compile(r"\s--only=prod(?:uction)?\b"), ""),
    (re.compile(r"(yarn install[^\n&]*?)\s--production(?:=true)?\b"), r"\1"),
    (re.compile(r"(pnpm install[^\n&]*?)\s--prod\b"), r"\1"),
    (re.compile(r"\s&&\s*npm prune --(?:omit=dev|production)\b"), ""),
    (re.compile(r"^RUN npm prune --(?:omit=dev|production)[^\n]*\n", re.M), ""),
    (re.compile(r"(npm (?:ci|install)[^\n&]*?)\s--production\b"), r"\1"),
)


_INCLUDE_DEV = (
    # NODE_ENV=production makes every installer skip devDependencies: ask for them explicitly
    (re.compile(r"\b(npm (?:ci|install))\b(?![^\n&]*--include=dev)"), r"\1 --include=dev"),
    (re.compile(r"\b(yarn install)\b(?![^\n&]*--production=false)"), r"\1 --production=false"),
    (re.compile(r"\b(pnpm install)\b(?![^\n&]*--prod=false)"), r"\1 --prod=false"),
)


def _keep_dev_tools(content: str, failure: BuildFailureInfo, cls: Diagnosis, fx: _FixCtx) -> tuple[str, str]:
    """The start command runs a tool from devDependencies: keep them in the image it runs in."""
    new = content
    for pattern, repl in (*_PRUNE, *_INCLUDE_DEV):
        new = pattern.sub(repl, new)
    if new == content:
        return content, f"{cls.subject} is missing at start and no step prunes dev dependencies"
    return new, (
        f"the start command runs {cls.subject}, a development dependency that was pruned: keep dev "
        "dependencies (a production start command that runs the built output would give a smaller image)"
    )


# Import names whose distribution has another name.
_IMPORT_TO_DIST = {
    "yaml": "PyYAML",
    "cv2": "opencv-python-headless",
    "PIL": "Pillow",
    "sklearn": "scikit-learn",
    "bs4": "beautifulsoup4",
    "dotenv": "python-dotenv",
    "jwt": "PyJWT",
    "dateutil": "python-dateutil",
    "magic": "python-magic",
    "Crypto": "pycryptodome",
    "OpenSSL": "pyOpenSSL",
    "google.protobuf": "protobuf",
    "attr": "attrs",
    "psycopg2": "psycopg2-binary",
    "MySQLdb": "mysqlclient",
    "serial": "pyserial",
    "usb": "pyusb",
    "zmq": "pyzmq",
    "docx": "python-docx",
    "multipart": "python-multipart",
    "jose": "python-jose",
    "slugify": "python-slugify",
    "telegram": "python-telegram-bot",
    "discord": "discord.py",
    "socketio": "python-socketio",
    "engineio": "python-engineio",
    "git": "GitPython",
}
_DIST_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*\Z")


def _install_missing_dependency(
    content: str, failure: BuildFailureInfo, cls: Diagnosis, fx: _FixCtx
) -> tuple[str, str]:
    """The app imports a package its manifest does not list: install it beside the others."""
    name = cls.subject or ""
    if fx.context is not None and name:
        top = name.split(".")[0]
        if (fx.context / f"{top}.py").is_file() or (fx.context / top).is_dir():
            return _wrong_start(content, failure, cls, fx)  # the app's own module: a path problem
    lines = content.splitlines()
    if fx.module.language == "python":
        dist = _IMPORT_TO_DIST.get(name) or _IMPORT_TO_DIST.get(name.split(".")[0]) or name.split(".")[0]
        install = f"RUN pip install --no-cache-dir {dist}"
        anchor = next(
            (
                i
                for i, ln in enumerate(lines)
                if re.match(r"RUN .*\b(pip|uv pip|poetry|pdm|pipenv)\b", ln) and LEAN_STEP not in ln
            ),
            None,
        )
    elif fx.module.language in ("node", "static"):
        dist = name if name.startswith("@") else name.split("/")[0]
        install = f"RUN npm install --no-save --no-audit --no-fund {dist}"
        anchor = next(
            (i for i, ln in enumerate(lines) if re.match(r"RUN .*\b(npm (ci|install)|yarn|pnpm install)\b", ln)), None
        )
    else:
        return content, f"no installer is known for {fx.module.language}"
    if not _DIST_NAME.match(dist) or install in content:
        return content, f"{name} is missing at start and installing {dist!r} is not possible or done already"
    if anchor is None:
        return content, "no install step to add the package to"
    # continuation lines belong to the anchor
    end = anchor
    while lines[end].rstrip().endswith("\\") and end + 1 < len(lines):
        end += 1
    lines.insert(end + 1, install)
    return "\n".join(lines) + "\n", (
        f"the app imports {name}, which its dependencies do not list: install {dist} (add it to the manifest)"
    )


# Variables whose value in a container is not a guess: where to bind, which environment it is.
CONTAINER_DEFAULTS: dict[str, str] = {
    "HOST": "0.0.0.0",
    "BIND_HOST": "0.0.0.0",
    "BIND_ADDRESS": "0.0.0.0",
    "LISTEN_HOST": "0.0.0.0",
    "LISTEN_ADDRESS": "0.0.0.0",
    "APP_HOST": "0.0.0.0",
    "SERVER_HOST": "0.0.0.0",
    "HTTP_HOST": "0.0.0.0",
    "NODE_ENV": "production",
    "APP_ENV": "production",
    "ENVIRONMENT": "production",
    "FLASK_ENV": "production",
    "RACK_ENV": "production",
    "LOG_LEVEL": "info",
}


def _env_defaults(content: str, failure: BuildFailureInfo, cls: Diagnosis, fx: _FixCtx) -> tuple[str, str]:
    """A variable a container always sets the same way (bind 0.0.0.0): set it in the image."""
    wanted = [n for n in cls.names or ([cls.subject] if cls.subject else []) if n in CONTAINER_DEFAULTS]
    unknown = [n for n in cls.names if n not in CONTAINER_DEFAULTS]
    if not wanted or unknown:
        return content, f"the app needs {', '.join(unknown or cls.names)}: values only the user has"
    lines = content.splitlines()
    final = _final_stage(lines)
    if final is None:
        return content, "the Dockerfile has no FROM"
    pairs = " ".join(f"{n}={CONTAINER_DEFAULTS[n]}" for n in wanted)
    if f"ENV {pairs}" in content:
        return content, f"{pairs} is set already"
    lines.insert(_before_user(lines, final), f"ENV {pairs}")
    return "\n".join(lines) + "\n", f"the app needs {', '.join(wanted)}: set {pairs}, the value a container needs"


def _writable_path(content: str, failure: BuildFailureInfo, cls: Diagnosis, fx: _FixCtx) -> tuple[str, str]:
    """The app writes where its non-root user may not: give that user the folder, nothing more."""
    target = (cls.subject or "").strip()
    if not target:
        return content, f"the log names no path ({cls.detail})"
    path = PurePosixPath(target if target.startswith("/") else f"/app/{target}")
    folder = path if not path.suffix else path.parent
    if str(folder) in ("/", "/usr", "/etc", "/bin", "/sbin", "/lib", "/proc", "/sys"):
        return content, f"the app writes to {path}, a system folder: that is the app's to change"
    lines = content.splitlines()
    final = _final_stage(lines)
    if final is None:
        return content, "the Dockerfile has no FROM"
    user = next(
        (lines[i].split()[1] for i in range(final.end - 1, final.start, -1) if lines[i].upper().startswith("USER ")),
        None,
    )
    if user is None or user.split(":")[0] in ("0", "root"):
        return content, f"the image runs as root and still cannot write {path}"
    owner = user if ":" in user else f"{user}:{user}"
    step = f"RUN mkdir -p {folder} && chown -R {owner} {folder}"
    if step in content:
        return content, f"{folder} is given to {owner} already"
    lines.insert(_before_user(lines, final), step)
    return "\n".join(lines) + "\n", f"the app writes to {path} at start: give {folder} to the runtime user {owner}"


def _no_fix(content: str, failure: BuildFailureInfo, cls: Diagnosis, fx: _FixCtx) -> tuple[str, str]:
    return content, f"{cls.category}: {cls.detail}"


class _FixCtx(NamedTuple):
    module: ModuleAnalysis
    catalog: BaseImageCatalog
    probe: ImageProbe | None
    context: Path | None
    files: dict[str, str]
    """Filled by a regeneration: the files its Dockerfile needs in the build context."""


_Fixer = Callable[[str, BuildFailureInfo, Diagnosis, _FixCtx], tuple[str, str]]

# Where a fix can come from, per category; the categories no Dockerfile change helps (a package
# that does not exist, a missing database URL, the app's own bug) are not here: the orchestrator's
# policy stops those with the hint.
_FIXERS: dict[str, _Fixer] = {
    "native_build": _add_packages,
    # a download blocked inside a source build: the older Python whose wheels need no download
    "network_blocked": lambda c, f, d, x: _older_python(c, f, d, x) or (c, f"downloads are blocked ({d.detail})"),
    "missing_runtime_library": _add_runtime_library,
    "lockfile_out_of_sync": _relax_lockfile,
    "base_image_missing": _fallback_base,
    "runtime_version": _runtime_version,
    "missing_build_step": _add_build_step,
    "wrong_start_command": _wrong_start,
    "dev_tool_at_runtime": _keep_dev_tools,
    "missing_dependency": _install_missing_dependency,
    "permission_denied": _writable_path,
    "missing_config": _env_defaults,
    "copy_source_missing": _regenerate,
    "command_not_found": _regenerate,
    "unknown": _regenerate,
}


def fix_dockerfile(
    content: str,
    failure: BuildFailureInfo,
    module: ModuleAnalysis,
    catalog: BaseImageCatalog,
    *,
    probe: ImageProbe | None = None,
    context: Path | None = None,
    diagnosis: Diagnosis | None = None,
) -> FixResult:
    """Return a changed Dockerfile addressing the failure's cause, or ``changed=False`` when none applies.

    ``context`` (the module folder) lets a wrong start command be replaced by an entry point that exists;
    ``diagnosis`` is the category already found (a failed start is classified from the container's
    logs); without it the failure is classified as a build failure.
    """
    cls = diagnosis or classify_failure(failure)
    fixer = _FIXERS.get(cls.category, _no_fix)
    fx = _FixCtx(module, catalog, probe, context, {})
    new, reason = fixer(content, failure, cls, fx)
    if new.strip() == content.strip():
        return FixResult(content=content, changed=False, reason=f"no automatic fix: {reason}", kind=cls.category)
    regenerated = "Generated by containerkit" in new and "Generated by containerkit" not in content
    build_ctx = build_context(module) if regenerated or fixer is _add_build_step else None
    return FixResult(content=new, changed=True, reason=reason, kind=cls.category, context=build_ctx, files=fx.files)
