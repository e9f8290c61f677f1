"""Lint a Dockerfile: parse once, run the rule table, honour ignores, merge hadolint when present."""

from __future__ import annotations

from pathlib import Path

from containerkit.errors import InvalidDockerfile, PathNotFound
from containerkit.tools.fsio import read_bytes
from containerkit.tools.lint._context import Ctx
from containerkit.tools.lint.hadolint import find_hadolint, merge_findings, run_hadolint
from containerkit.tools.lint.models import Finding, LintConfig, LintReport, ParsedDockerfile
from containerkit.tools.lint.parser import parse_dockerfile
from containerkit.tools.lint.rules import RULES, Rule

__all__ = ["MAX_DOCKERFILE_BYTES", "MAX_INSTRUCTIONS", "MAX_LINES", "lint_dockerfile", "lint_parsed", "read_dockerfile"]

MAX_DOCKERFILE_BYTES = 1024 * 1024
"""A Dockerfile larger than this is not one a person wrote; it is not read."""
MAX_LINES = 20_000
MAX_INSTRUCTIONS = 5000
"""More instructions than this is a generated monster, not a Dockerfile to review (linting takes ~1 ms each)."""
HADOLINT_MAX_BYTES = 256 * 1024
"""hadolint takes minutes on generated monsters; beyond this size only the in-process rules run."""

_BY_KEYWORD: dict[str, tuple[Rule, ...]] = {}
_ANY: tuple[Rule, ...] = tuple(r for r in RULES if not r.keywords)
for _rule in RULES:
    for _kw in _rule.keywords:
        _BY_KEYWORD[_kw] = (*_BY_KEYWORD.get(_kw, ()), _rule)


def read_dockerfile(path: Path) -> str:
    """The text of a Dockerfile on disk; typed errors for missing, binary, undecodable or non-regular files."""
    try:
        is_dir = path.is_dir()
    except (OSError, ValueError):
        is_dir = False
    if is_dir:
        inner = path / "Dockerfile"
        if not inner.is_file():
            raise InvalidDockerfile(f"{path} is a folder without a Dockerfile", path=str(path))
        path = inner
    try:
        data = read_bytes(path, max_bytes=MAX_DOCKERFILE_BYTES, what="Dockerfile")
    except PathNotFound:
        raise PathNotFound(
            f"no such Dockerfile: {path}", path=str(path), hint="Check the path to the Dockerfile."
        ) from None
    if b"\x00" in data:
        raise InvalidDockerfile(f"{path} is a binary file, not a Dockerfile", path=str(path))
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidDockerfile(
            f"{path} is not UTF-8 text (byte {exc.start})", path=str(path), hint="Save the Dockerfile as UTF-8 text."
        ) from None


def lint_parsed(parsed: ParsedDockerfile, config: LintConfig | None = None) -> list[Finding]:
    """containerkit's own findings for a parsed Dockerfile, ignores and severity overrides applied."""
    config = config or LintConfig()
    ctx = Ctx(parsed, config)
    out: list[Finding] = []
    skip = set(config.ignored)
    if config.honour_pragmas:
        skip |= parsed.global_ignores
    for ins in parsed.instructions:
        rules = _BY_KEYWORD.get(ins.keyword, ())
        for rule in (*rules, *_ANY) if _ANY else rules:
            if rule.id in skip or (config.honour_pragmas and rule.id in ins.ignores):
                continue
            if rule.check(ctx, ins):
                out.append(
                    Finding(
                        rule=rule.id,
                        severity=config.severity_overrides.get(rule.id, rule.severity),
                        line=ins.line,
                        message=rule.message,
                        hint=rule.hint,
                        fixable=rule.fixable,
                    )
                )
    out.sort(key=lambda f: (f.line, -f.severity.rank, f.rule))
    return out


def _filter_theirs(findings: list[Finding], parsed: ParsedDockerfile, config: LintConfig) -> list[Finding]:
    """hadolint does not know ``# containerkit ignore=`` nor our config: apply both to its findings."""
    ignores = {ins.line: ins.ignores for ins in parsed.instructions} if config.honour_pragmas else {}
    glob = parsed.global_ignores if config.honour_pragmas else frozenset()
    out = []
    for f in findings:
        if f.rule in config.ignored or f.rule in glob or f.rule in ignores.get(f.line, ()):
            continue
        if f.rule in config.severity_overrides:
            f = f.model_copy(update={"severity": config.severity_overrides[f.rule]})
        out.append(f)
    return out


def _names_a_file(text: str) -> bool:
    """A one-line text too long for a file name, or holding a NUL byte, is Dockerfile text, not a path."""
    try:
        return Path(text).is_file()
    except (OSError, ValueError):
        return False


def lint_dockerfile(source: str | Path, config: LintConfig | None = None) -> LintReport:
    """Lint a Dockerfile given as a Path, a path string, or its text.

    A ``str`` holding a newline, or naming no existing file, is taken as the text itself.
    """
    config = config or LintConfig()
    path: str | None = None
    if isinstance(source, Path) or ("\n" not in source and _names_a_file(source)):
        path = str(source)
        text = read_dockerfile(Path(source))
    else:
        text = source
    if (lines := text.count("\n")) > MAX_LINES:
        raise InvalidDockerfile(
            f"the Dockerfile has {lines} lines; containerkit lints up to {MAX_LINES}",
            hint="Split it, or lint the part you want reviewed.",
        )
    parsed = parse_dockerfile(text)
    if len(parsed.instructions) > MAX_INSTRUCTIONS:
        raise InvalidDockerfile(
            f"the Dockerfile has {len(parsed.instructions)} instructions; containerkit lints up to {MAX_INSTRUCTIONS}",
            hint="Split it, or lint the part you want reviewed.",
        )
    findings = lint_parsed(parsed, config)
    report = LintReport(path=path, findings=findings)
    if config.use_hadolint:
        binary = find_hadolint(config.hadolint_path)
        if binary is not None and len(text) > HADOLINT_MAX_BYTES:
            report.notes.append(f"hadolint not run: the Dockerfile is larger than {HADOLINT_MAX_BYTES // 1024} KiB")
        elif binary is not None:
            run = run_hadolint(text, binary, honour_pragmas=config.honour_pragmas)
            if run.error:
                report.notes.append(run.error)
            else:
                report.findings = merge_findings(findings, _filter_theirs(run.findings, parsed, config))
                report.hadolint_version = run.version
    return report
