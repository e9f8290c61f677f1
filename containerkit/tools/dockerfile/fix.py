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

from pydantic import BaseModel, Field

from containerkit.tools.analyze.models import ModuleAnalysis
from containerkit.tools.dockerfile._common import exec_form, is_alpine
from containerkit.tools.dockerfile.catalog import BaseImageCatalog, ImageProbe
from containerkit.tools.dockerfile.generate import GeneratedDockerfile, build_context, generate_dockerfile

__all__ = ["BuildFailureInfo", "FailureClass", "FixResult", "classify_failure", "fix_dockerfile"]


class BuildFailureInfo(BaseModel):
    """What a failed build (or container start) left behind: enough for a human or the fixer to act."""

    step: str | None = None
    step_number: int | None = None
    exit_code: int | None = None
    message: str = ""
    log_tail: str = ""


class FailureClass(BaseModel):
    kind: str
    detail: str = ""
    packages: list[str] = Field(default_factory=list)
    """Debian build packages the cause calls for (missing_system_package)."""
    subject: str | None = None
    """What the log names: the Python/Node version wanted, the missing module, the missing image."""


class FixResult(BaseModel):
    content: str
    changed: bool
    reason: str
    kind: str = "unknown"
    context: str | None = None
    """Build context (relative to the repo root) the new content needs, when the fix regenerated the
    Dockerfile (a workspace member is built from the workspace root); None: keep the current one."""


class _Rule(NamedTuple):
    kind: str
    pattern: re.Pattern[str]
    packages: tuple[str, ...] = ()


def _r(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.I | re.M)


# Order matters: the first match names the cause. Packages are Debian names (build stage).
_RULES: tuple[_Rule, ...] = (
    _Rule(
        "base_image_missing",
        _r(
            r"base image (\S+) is not available|pull access denied for (\S+?),|manifest for (\S+) not found"
            r"|No such image: (\S+)"
        ),
    ),
    _Rule("lockfile_out_of_sync", _r(r"`?npm ci`? can only install packages when your package\.json and package-lock")),
    _Rule(
        "lockfile_out_of_sync",
        _r(r"Missing: \S+ from lock file|lockfile needs to be updated|ERR_PNPM_OUTDATED_LOCKFILE"),
    ),
    _Rule(
        "lockfile_out_of_sync",
        _r(r"pyproject\.toml changed significantly since poetry\.lock|poetry\.lock is not consistent"),
    ),
    _Rule("lockfile_out_of_sync", _r(r"uv\.lock.*needs to be updated|The lockfile at `uv\.lock` needs to be updated")),
    _Rule("lockfile_out_of_sync", _r(r"Pipfile\.lock \(\w+\) out of date|lock file is not up to date")),
    _Rule(
        "missing_system_package", _r(r"pg_config executable not found|libpq-fe\.h: No such file"), ("libpq-dev", "gcc")
    ),
    _Rule(
        "missing_system_package",
        _r(r"mysql_config not found|mysqlclient.*pkg-config"),
        ("default-libmysqlclient-dev", "gcc", "pkg-config"),
    ),
    _Rule("missing_system_package", _r(r"Python\.h: No such file"), ("gcc", "python3-dev")),
    _Rule("missing_system_package", _r(r"ffi\.h: No such file"), ("gcc", "libffi-dev")),
    _Rule("missing_system_package", _r(r"openssl/\w+\.h: No such file|cannot find -lssl"), ("gcc", "libssl-dev")),
    _Rule(
        "missing_system_package",
        _r(r"libxml/\w+\.h: No such file|xslt-config|libxslt"),
        ("gcc", "libxml2-dev", "libxslt1-dev"),
    ),
    _Rule(
        "missing_system_package",
        _r(r"jpeglib\.h|headers or library files could not be found for jpeg"),
        ("gcc", "libjpeg-dev", "zlib1g-dev"),
    ),
    _Rule(
        "missing_system_package",
        _r(r"zlib\.h: No such file|headers or library files could not be found for zlib"),
        ("gcc", "zlib1g-dev"),
    ),
    _Rule("missing_system_package", _r(r"sqlite3\.h: No such file"), ("gcc", "libsqlite3-dev")),
    _Rule("missing_system_package", _r(r"yaml\.h: No such file"), ("gcc", "libyaml-dev")),
    _Rule("missing_system_package", _r(r"krb5-config"), ("gcc", "libkrb5-dev")),
    _Rule(
        "missing_system_package",
        _r(r"can't find Rust compiler|Cargo, the Rust package manager, is not installed"),
        ("cargo", "rustc"),
    ),
    _Rule(
        "missing_system_package",
        _r(r"gyp ERR! find Python|gyp ERR!.*(make|g\+\+|cc)|make: not found|g\+\+: not found"),
        ("g++", "make", "python3"),
    ),
    _Rule(
        "missing_system_package",
        _r(
            r"command '(x86_64-linux-gnu-)?gcc' failed|gcc: not found|unable to execute 'gcc'|error: command 'cc' failed"
        ),
        ("gcc", "libc6-dev"),
    ),
    _Rule(
        "missing_system_package",
        _r(r"pkg-config: not found|Could not find pkg-config|pkg-config.*not found"),
        ("pkg-config",),
    ),
    _Rule(
        "missing_system_package",
        _r(r"git: not found|Cannot find command 'git'|spawn git ENOENT|git.*No such file"),
        ("git",),
    ),
    _Rule("runtime_version", _r(r"requires a different Python: [\d.]+ not in '([^']+)'")),
    _Rule(
        "runtime_version", _r(r"The engine \"node\" is incompatible with this module\. Expected version \"([^\"]+)\"")
    ),
    _Rule(
        "runtime_version",
        _r(r"EBADENGINE.*\n(?:.*\n)*?.*required: \{[^}]*node: '([^']+)'|Required: \{\"node\":\"([^\"]+)\""),
    ),
    _Rule("missing_build_step", _r(r"Cannot find module '(/app/(?:dist|build|\.next|out)/[^']*)'")),
    _Rule("missing_build_step", _r(r"Could not find a production build in the '\.next' directory")),
    _Rule("dependency_not_found", _r(r"No matching distribution found for (\S+)")),
    _Rule(
        "dependency_not_found",
        _r(r"npm ERR! 404 .*'(\S+)@|E404.*Not Found - GET \S+/(\S+) |notarget No matching version found for (\S+)"),
    ),
    _Rule("wrong_start_command", _r(r"ModuleNotFoundError: No module named '([\w.]+)'")),
    _Rule("wrong_start_command", _r(r"can't open file '([^']+)': \[Errno 2\]")),
    _Rule("wrong_start_command", _r(r"Error: Cannot find module '([^']+)'")),
    _Rule(
        "wrong_start_command",
        _r(r"exec: \"?([\w./-]+)\"?: executable file not found|exec (\S+): no such file or directory"),
    ),
    _Rule(
        "copy_source_missing",
        _r(r"COPY failed: .*?(\S+): no such file or directory|failed to compute cache key: .*\"(\S+)\" not found"),
    ),
    _Rule("command_not_found", _r(r"(?:/bin/sh: \d+: )?([\w.-]+): (?:command )?not found")),
)

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


def classify_failure(failure: BuildFailureInfo) -> FailureClass:
    """Name the cause of a failed build from its message and log tail (first matching rule wins)."""
    text = f"{failure.message}\n{failure.log_tail}"
    for rule in _RULES:
        m = rule.pattern.search(text)
        if m:
            subject = next((g for g in m.groups() if g), None)
            return FailureClass(kind=rule.kind, detail=m.group(0)[:200], packages=list(rule.packages), subject=subject)
    return FailureClass(kind="unknown", detail=(failure.message or failure.log_tail[-200:])[:200])


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
        " && rm -rf /var/lib/apt/lists/*"
    )


def _stage_installs(stage_text: str, packages: list[str], image: str) -> list[str]:
    """The packages this stage does not install yet."""
    names = {_APK.get(p, p) if is_alpine(image) else p for p in packages}
    return sorted(p for p in names if not re.search(rf"(?<![\w.-]){re.escape(p)}(?![\w.-])", stage_text))


def _insert_after_from(lines: list[str], stage: _Stage, new: str) -> None:
    lines.insert(stage.start + 1, new)


def _add_packages(content: str, failure: BuildFailureInfo, cls: FailureClass, fx: _FixCtx) -> tuple[str, str]:
    lines = content.splitlines()
    stages = _stages(lines)
    if not stages:
        return content, "the Dockerfile has no FROM"
    k = _failing_stage(lines, failure)
    target = stages[k]
    stage_text = "\n".join(lines[target.start : target.end])
    build_pkgs = _stage_installs(stage_text, cls.packages, target.image)
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


def _relax_lockfile(content: str, failure: BuildFailureInfo, cls: FailureClass, fx: _FixCtx) -> tuple[str, str]:
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


def _runtime_version(content: str, failure: BuildFailureInfo, cls: FailureClass, fx: _FixCtx) -> tuple[str, str]:
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


def _fallback_base(content: str, failure: BuildFailureInfo, cls: FailureClass, fx: _FixCtx) -> tuple[str, str]:
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


def _add_build_step(content: str, failure: BuildFailureInfo, cls: FailureClass, fx: _FixCtx) -> tuple[str, str]:
    m = fx.module
    if m.language not in ("node", "static"):
        return content, f"no build step is known for {m.language}"
    if m.build_command and m.build_command in content:
        return (
            content,
            f"the build step {m.build_command!r} already runs; its output is not where the start command looks",
        )
    pm = m.package_manager or "npm"
    build = m.build_command or f"{pm} run build"
    gen = _generate(m.model_copy(update={"build_command": build}), fx)
    return gen.content, f"{cls.subject or 'the build output'} is missing at start: add a build stage running {build!r}"


_ENTRY_FILES = ("main.py", "app.py", "server.py", "wsgi.py", "run.py", "server.js", "index.js", "app.js", "main.js")


def _wrong_start(content: str, failure: BuildFailureInfo, cls: FailureClass, fx: _FixCtx) -> tuple[str, str]:
    m = fx.module
    subject = cls.subject or ""
    current = _last_cmd(content)
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
        lines.insert(idx + 1, f"RUN {pip} {tool}")
        return "\n".join(lines) + "\n", f"the start command runs {tool}, which is not installed: install it"
    candidates: list[str] = []
    if fx.context is not None:
        candidates = [f for f in _ENTRY_FILES if (fx.context / f).is_file()]
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
    return content, f"no other entry point to start ({cls.detail})"


def _last_cmd(content: str) -> str | None:
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


def _regenerate(content: str, failure: BuildFailureInfo, cls: FailureClass, fx: _FixCtx) -> tuple[str, str]:
    """A user's Dockerfile failed for a cause no rule knows: offer the one generated from the analysis."""
    if fx.module.language is None:
        return content, "no module language to regenerate from"
    gen = _generate(fx.module, fx)
    if "Generated by containerkit" in content:
        return content, f"the generated Dockerfile fails for a cause no rule knows ({cls.kind}: {cls.detail})"
    return (
        gen.content,
        f"replace the failing Dockerfile with one generated from the analysis ({cls.kind}: {cls.detail})",
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
    return generate_dockerfile(module, fx.catalog, probe=fx.probe, repo_root=_repo_root(fx))


def _no_fix(content: str, failure: BuildFailureInfo, cls: FailureClass, fx: _FixCtx) -> tuple[str, str]:
    return content, f"{cls.kind}: {cls.detail}"


class _FixCtx(NamedTuple):
    module: ModuleAnalysis
    catalog: BaseImageCatalog
    probe: ImageProbe | None
    context: Path | None


_Fixer = Callable[[str, BuildFailureInfo, FailureClass, _FixCtx], tuple[str, str]]

_FIXERS: dict[str, _Fixer] = {
    "missing_system_package": _add_packages,
    "lockfile_out_of_sync": _relax_lockfile,
    "base_image_missing": _fallback_base,
    "runtime_version": _runtime_version,
    "missing_build_step": _add_build_step,
    "wrong_start_command": _wrong_start,
    # a dependency that does not exist is the user's to fix: no Dockerfile change helps
    "dependency_not_found": _no_fix,
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
) -> FixResult:
    """Return a changed Dockerfile addressing the failure's cause, or ``changed=False`` when none applies.

    ``context`` (the module folder) lets a wrong start command be replaced by an entry point that exists.
    """
    cls = classify_failure(failure)
    fixer = _FIXERS.get(cls.kind, _no_fix)
    fx = _FixCtx(module, catalog, probe, context)
    new, reason = fixer(content, failure, cls, fx)
    if new.strip() == content.strip():
        return FixResult(content=content, changed=False, reason=f"no automatic fix: {reason}", kind=cls.kind)
    regenerated = "Generated by containerkit" in new and "Generated by containerkit" not in content
    build_ctx = build_context(module) if regenerated or fixer is _add_build_step else None
    return FixResult(content=new, changed=True, reason=reason, kind=cls.kind, context=build_ctx)
