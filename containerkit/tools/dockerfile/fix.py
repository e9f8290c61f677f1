"""Fixing mode: read a failed build, name the cause, and change the Dockerfile to address it.

The rules are data (a table of patterns → cause → fix), so adding a cause is one row, and a fix
that would produce the same file again is reported as no fix rather than retried.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import NamedTuple

from pydantic import BaseModel

from containerkit.tools.analyze.models import ModuleAnalysis
from containerkit.tools.dockerfile.catalog import BaseImageCatalog, ImageProbe
from containerkit.tools.dockerfile.generate import generate_dockerfile

__all__ = ["BuildFailureInfo", "FailureClass", "FixResult", "classify_failure", "fix_dockerfile"]


class BuildFailureInfo(BaseModel):
    """What a failed build left behind: enough for a human or the fixer to act."""

    step: str | None = None
    step_number: int | None = None
    exit_code: int | None = None
    message: str = ""
    log_tail: str = ""


class FailureClass(BaseModel):
    kind: str
    detail: str = ""
    packages: list[str] = []


class FixResult(BaseModel):
    content: str
    changed: bool
    reason: str


class _Rule(NamedTuple):
    kind: str
    pattern: re.Pattern[str]
    packages: tuple[str, ...] = ()


# Debian package names; the fixer installs them in the build stage (and runtime stage for libs).
_RULES: tuple[_Rule, ...] = (
    _Rule(
        "base_image_missing",
        re.compile(r"pull access denied|manifest for .* not found|No such image|repository does not exist", re.I),
    ),
    _Rule(
        "missing_system_package", re.compile(r"pg_config executable not found|libpq-fe\.h", re.I), ("libpq-dev", "gcc")
    ),
    _Rule(
        "missing_system_package",
        re.compile(
            r"Python\.h: No such file|command 'gcc' failed|gcc: not found|error: command 'cc'|unable to execute 'gcc'",
            re.I,
        ),
        ("gcc", "python3-dev"),
    ),
    _Rule(
        "missing_system_package",
        re.compile(r"mysql_config not found", re.I),
        ("default-libmysqlclient-dev", "gcc", "pkg-config"),
    ),
    _Rule("missing_system_package", re.compile(r"ffi\.h: No such file", re.I), ("libffi-dev", "gcc")),
    _Rule("missing_system_package", re.compile(r"openssl/\w+\.h: No such file", re.I), ("libssl-dev", "gcc")),
    _Rule(
        "missing_system_package",
        re.compile(r"gyp ERR!|node-gyp|make: not found|g\+\+: not found", re.I),
        ("python3", "make", "g++"),
    ),
    _Rule(
        "missing_system_package",
        re.compile(r"git: not found|Cannot find command 'git'|spawn git ENOENT", re.I),
        ("git",),
    ),
    _Rule(
        "lockfile_out_of_sync",
        re.compile(
            r"npm ci.*can only install packages when your package\.json and package-lock\.json|`npm ci` can only install|The `npm ci` command can only install|lockfile needs to be updated|frozen-lockfile",
            re.I,
        ),
    ),
    _Rule(
        "dependency_not_found",
        re.compile(
            r"No matching distribution found for (\S+)|Could not find a version that satisfies|npm ERR! 404|E404|notarget",
            re.I,
        ),
    ),
    _Rule(
        "runtime_version",
        re.compile(
            r"requires a different Python|Requires-Python|engine \"node\" is incompatible|Unsupported engine", re.I
        ),
    ),
    _Rule(
        "copy_source_missing", re.compile(r"COPY failed|failed to compute cache key|no such file or directory", re.I)
    ),
    _Rule("command_not_found", re.compile(r"(\S+): (?:command )?not found", re.I)),
)


def classify_failure(failure: BuildFailureInfo) -> FailureClass:
    text = f"{failure.message}\n{failure.log_tail}"
    for rule in _RULES:
        m = rule.pattern.search(text)
        if m:
            return FailureClass(kind=rule.kind, detail=m.group(0)[:200], packages=list(rule.packages))
    return FailureClass(kind="unknown", detail=failure.message[:200])


_Fixer = Callable[[str, FailureClass, ModuleAnalysis, BaseImageCatalog, "ImageProbe | None"], tuple[str, str]]


def _add_packages(
    content: str, cls: FailureClass, m: ModuleAnalysis, cat: BaseImageCatalog, probe: ImageProbe | None
) -> tuple[str, str]:
    if m.language is None:
        return content, "no module language to regenerate from"
    runtime_libs = [p for p in cls.packages if p.startswith("lib") and p.endswith("-dev")]
    mod = m.model_copy(
        update={
            "system_packages": sorted(
                {*m.system_packages, *(p.replace("-dev", "5") for p in runtime_libs if p == "libpq-dev")}
            )
        }
    )
    gen = generate_dockerfile(mod, cat, probe=probe, extra_build_packages=cls.packages)
    return gen.content, f"install the missing system packages {', '.join(cls.packages)} ({cls.detail})"


def _relax_lockfile(
    content: str, cls: FailureClass, m: ModuleAnalysis, cat: BaseImageCatalog, probe: ImageProbe | None
) -> tuple[str, str]:
    new = re.sub(r"\bnpm ci\b", "npm install --no-audit --no-fund", content)
    new = new.replace("--frozen-lockfile", "")
    return new, "the lockfile does not match package.json: install without the lockfile check"


def _regenerate(
    content: str, cls: FailureClass, m: ModuleAnalysis, cat: BaseImageCatalog, probe: ImageProbe | None
) -> tuple[str, str]:
    if m.language is None:
        return content, "no module language to regenerate from"
    gen = generate_dockerfile(m, cat, probe=probe)
    return (
        gen.content,
        f"replace the failing Dockerfile with one generated from the analysis ({cls.kind}: {cls.detail})",
    )


def _fallback_base(
    content: str, cls: FailureClass, m: ModuleAnalysis, cat: BaseImageCatalog, probe: ImageProbe | None
) -> tuple[str, str]:
    if m.language is None:
        return content, "no module language to regenerate from"
    gen = generate_dockerfile(m, cat, probe=probe)
    return gen.content, f"base image unavailable; switch to {gen.base_image}"


_FIXERS: dict[str, _Fixer] = {
    "missing_system_package": _add_packages,
    "lockfile_out_of_sync": _relax_lockfile,
    "base_image_missing": _fallback_base,
    "copy_source_missing": _regenerate,
    "command_not_found": _regenerate,
    "runtime_version": _regenerate,
    "unknown": _regenerate,
}


def fix_dockerfile(
    content: str,
    failure: BuildFailureInfo,
    module: ModuleAnalysis,
    catalog: BaseImageCatalog,
    *,
    probe: ImageProbe | None = None,
) -> FixResult:
    """Return a changed Dockerfile addressing the failure's cause, or ``changed=False`` when none applies."""
    cls = classify_failure(failure)
    fixer = _FIXERS.get(cls.kind)
    if fixer is None:
        return FixResult(content=content, changed=False, reason=f"no automatic fix for {cls.kind}: {cls.detail}")
    new, reason = fixer(content, cls, module, catalog, probe)
    if new.strip() == content.strip():
        return FixResult(content=content, changed=False, reason=f"no change would address {cls.kind}: {cls.detail}")
    return FixResult(content=new, changed=True, reason=reason)
