"""The remediation plan of a scan report: for every finding, the fix, grouped into actions.

* a vulnerable package: the lowest version fixing every advisory it has, and the line that pins it
  (requirements*.txt, pyproject.toml, package.json, go.mod, or a ``pip install``/``npm install``/
  ``apt-get install`` in the Dockerfile) as it is and as it should be;
* a package of the base image: another base on the engine (a newer catalog version, another tag of
  the same repository) that no longer has it, checked by an SBOM and the same advisory database;
  else a rebuild on a fresh pull of the same tag when a fix is published (never ``apt-get upgrade``);
* a root image: ``USER`` with a non-root uid; a secret: out of the image, into a build secret;
* lint findings: the linter's own fix (the rewritten line) or its hint; failed controls: what passes them.

``plan_remediation`` is pure (report and file texts in, plan out); ``remediate`` gathers its inputs
(Dockerfile, manifests of the context, base images on the engine) for ``scan_image``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import unquote

from containerkit.errors import ContainerKitError
from containerkit.tools.image_fs import LayerCache
from containerkit.tools.lint import Finding as LintFinding
from containerkit.tools.lint.models import ParsedDockerfile
from containerkit.tools.scan.models import LEVELS, Level, ScanReport, secret_level
from containerkit.tools.scan.remediation_models import (
    ActionKind,
    BaseImageOption,
    FileChange,
    RemediationAction,
    RemediationPlan,
    Unresolved,
)
from containerkit.tools.secrets import SecretFinding
from containerkit.tools.vulns import Finding as VulnFinding
from containerkit.tools.vulns import VulnDB

__all__ = ["NON_ROOT_UID", "BaseCheck", "finding_key", "plan_remediation", "remediate"]

NON_ROOT_UID = "10001"
_LINT_LEVEL: dict[str, Level] = {"error": "high", "warning": "medium", "info": "low", "style": "info"}
_VULN_LEVEL: dict[str, Level] = {"CRITICAL": "critical", "HIGH": "high", "MEDIUM": "medium", "LOW": "low"}
_RANK = {lvl: i for i, lvl in enumerate(LEVELS)}
_KIND_ORDER: dict[str, int] = {
    "secret": 0,
    "base_image": 1,
    "upgrade": 2,
    "rebuild": 3,
    "user": 4,
    "dockerfile": 5,
    "compliance": 6,
    "lint": 7,
}
_MANIFESTS = ("requirements*.txt", "pyproject.toml", "package.json", "go.mod")
_MAX_MANIFEST_BYTES = 1_000_000
_MAX_BASE_CANDIDATES = 3
_SECRET_NAME = re.compile(r"(?i)(password|passwd|secret|token|api[_-]?key|private[_-]?key|credential|access[_-]?key)")
_CANDIDATE_FORMAT = 1

# Failed controls and policy rules whose fix is another action's, or a sentence of their own.
_ROOT_IDS = frozenset({"CIS-4.1", "CKP001", "DL3002", "CK1003"})
# Lint rules whose fix is a failed control's (one action for both), and controls a lint fix passes.
_LINT_AS_CONTROL = {"DL3057": "CIS-4.6"}
_CONTROL_AS_LINT = {"CIS-4.9": "DL3020"}
_SECRET_IDS = frozenset({"CIS-4.10", "NIST-4.1.4"})
_VULN_IDS = frozenset({"CIS-4.4", "NIST-4.1.1", "CKP003"})
_ADVICE: dict[str, tuple[str, str]] = {
    "CIS-4.2": ("Build on a base image from a trusted registry", "Point FROM at an allowed registry or mirror."),
    "NIST-4.1.5": ("Build on a base image from a trusted registry", "Point FROM at an allowed registry or mirror."),
    "CKP004": ("Build on a base image from a trusted registry", "Point FROM at an allowed registry or mirror."),
    "CKP002": ("Pin the base image", "Name a version tag or a digest in FROM, not latest."),
    "CIS-4.3": (
        "Install only what the image needs",
        "apt-get install --no-install-recommends, apk add --no-cache; leave editors, ssh and sudo out.",
    ),
    "CIS-4.5": ("Sign and verify images", "Push with DOCKER_CONTENT_TRUST=1 or sign the pushed digest (cosign)."),
    "CIS-4.12": ("Sign and verify images", "Push with DOCKER_CONTENT_TRUST=1 or sign the pushed digest (cosign)."),
    "CIS-4.6": (
        "Add a HEALTHCHECK",
        "HEALTHCHECK CMD a request to the app's health path (or a process check) before CMD.",
    ),
    "CIS-4.7": (
        "Update and install in one RUN",
        "apt-get update && apt-get install ... in the same RUN, so the index is never a stale cached layer.",
    ),
    "CIS-4.8": (
        "Remove setuid and setgid bits",
        "RUN find / -xdev -perm /6000 -type f -exec chmod a-s {} + in the final stage.",
    ),
    "CIS-4.9": ("Use COPY instead of ADD", "ADD fetches URLs and unpacks archives; COPY copies only."),
    "CIS-4.11": ("Verify what is installed", "Drop the switch that turns signature or TLS checks off."),
    "NIST-4.1.2": ("Fix the image's configuration defects", "Apply the Dockerfile lint fixes of this plan."),
    "NIST-4.1.3": ("Remove the flagged files", "Rebuild without the files the malware check named."),
}


def finding_key(part: str, ident: str, where: str = "") -> str:
    """How a plan names a finding, ``part:where:id``: ``vulnerabilities:PyYAML:GHSA-...``,
    ``lint:4:DL3042`` (line 4), ``secrets:root/.aws/credentials:aws-access-key-id``, ``compliance:CIS-4.1``."""
    return f"{part}:{where}:{ident}" if where else f"{part}:{ident}"


class BaseCheck(NamedTuple):
    """What is known about the final stage's base image on the engine."""

    image: str
    layers: frozenset[str]
    """Its layer diff ids: a package in one of them came with the base."""
    options: list[BaseImageOption]


# -- the plan ------------------------------------------------------------------------------------


class _Plan:
    def __init__(self) -> None:
        self.actions: dict[str, RemediationAction] = {}
        self.unresolved: list[Unresolved] = []

    def add(self, key: str, kind: ActionKind, title: str, severity: Level, resolves: str, **fields: Any) -> None:
        act = self.actions.get(key)
        if act is None:
            act = self.actions[key] = RemediationAction(key=key, kind=kind, title=title, severity=severity, **fields)
        elif _RANK[severity] < _RANK[act.severity]:
            act.severity = severity
        if resolves not in act.resolves:
            act.resolves.append(resolves)

    def sorted(self) -> list[RemediationAction]:
        return sorted(self.actions.values(), key=lambda a: (_RANK[a.severity], _KIND_ORDER[a.kind], a.title))


def plan_remediation(
    report: ScanReport,
    *,
    dockerfile_text: str | None = None,
    dockerfile_name: str = "Dockerfile",
    manifests: dict[str, str] | None = None,
    base: BaseCheck | None = None,
) -> RemediationPlan:
    """The plan for ``report``: ``manifests`` maps a file name (relative to the context) to its text."""
    parsed = _parse(dockerfile_text)
    lines = dockerfile_text.split("\n") if dockerfile_text is not None else []
    df = _Dockerfile(dockerfile_name, lines, parsed)
    plan = _Plan()
    if report.vulnerabilities is not None:
        _vulnerabilities(plan, report.vulnerabilities.findings, df, manifests or {}, base)
    if report.secrets is not None:
        for s in report.secrets.findings:
            _secret(plan, s, df)
    if report.lint is not None:
        _lint(plan, report.lint.findings, df, dockerfile_text)
    if report.policy is not None:
        for v in (*report.policy.violations, *report.policy.warnings):
            _control(plan, finding_key("policy", v.rule_id), v.rule_id, "high" if v.level == "deny" else "low", df)
    if report.compliance is not None:
        for c in report.compliance.controls:
            if c.status == "fail":
                _control(plan, finding_key("compliance", c.id), c.id, "medium", df)
    notes: list[str] = []
    if base is None and dockerfile_text is None:
        notes.append("no Dockerfile given: the plan names versions, not the lines to change")
    return RemediationPlan(
        base_image=df.base,
        actions=plan.sorted(),
        base_options=base.options if base is not None else [],
        unresolved=plan.unresolved,
        notes=notes,
    )


class _Dockerfile:
    def __init__(self, name: str, lines: list[str], parsed: ParsedDockerfile | None) -> None:
        self.name = name
        self.lines = lines
        self.parsed = parsed
        self.final = parsed.stages[-1] if parsed is not None and parsed.stages else None
        self.base = _final_base(parsed)

    def line(self, n: int) -> str:
        return self.lines[n - 1] if 0 < n <= len(self.lines) else ""

    def find(self, pattern: re.Pattern[str], keywords: Iterable[str] = ("RUN",)) -> list[tuple[int, str]]:
        """(line number, line) of every physical line of those instructions matching ``pattern``."""
        if self.parsed is None:
            return []
        want = {k.upper() for k in keywords}
        out: list[tuple[int, str]] = []
        for ins in self.parsed.instructions:
            if ins.keyword.upper() not in want:
                continue
            for n in range(ins.line, ins.end_line + 1):
                if pattern.search(self.line(n)):
                    out.append((n, self.line(n)))
        return out


def _parse(text: str | None) -> ParsedDockerfile | None:
    if text is None:
        return None
    from containerkit.tools.lint.parser import parse_dockerfile

    try:
        return parse_dockerfile(text)
    except ContainerKitError:
        return None


def _final_base(parsed: ParsedDockerfile | None) -> str | None:
    """The external image the final stage stands on (following ``FROM <earlier stage>``)."""
    if parsed is None or not parsed.stages:
        return None
    stage = parsed.stages[-1]
    seen = 0
    while stage.parent is not None and seen < len(parsed.stages):
        stage = parsed.stages[stage.parent]
        seen += 1
    return None if stage.image == "scratch" else stage.image


# -- vulnerabilities -----------------------------------------------------------------------------


def _vulnerabilities(
    plan: _Plan,
    findings: list[VulnFinding],
    df: _Dockerfile,
    manifests: dict[str, str],
    base: BaseCheck | None,
) -> None:
    best = max(
        (o for o in (base.options if base else []) if o.removes),
        key=lambda o: (len(o.removes) - len(o.introduces), -len(o.introduces)),
        default=None,
    )
    by_package: dict[tuple[str, str, str], list[VulnFinding]] = {}
    for f in findings:
        by_package.setdefault((f.ecosystem, f.package, f.version), []).append(f)
    for (eco, package, version), group in by_package.items():
        from_base = base is not None and bool(group[0].layer_diff_id) and group[0].layer_diff_id in base.layers
        layer = group[0].layer_created_by[:200]
        if from_base and best is not None:
            image = df.base or (base.image if base is not None else "")
            for f in group:
                k = finding_key("vulnerabilities", f.id, f.package)
                if k in best.removes:
                    plan.add(
                        "base_image",
                        "base_image",
                        f"Build on {best.image} instead of {image}",
                        _VULN_LEVEL.get(f.severity, "low"),
                        k,
                        base_image=best.image,
                        detail=_base_detail(best),
                        changes=_from_change(df, best.image),
                    )
            group = [f for f in group if finding_key("vulnerabilities", f.id, f.package) not in best.removes]
            if not group:
                continue
        fixes = [f.fixed_version for f in group if f.fixed_version]
        unfixed = [f for f in group if not f.fixed_version]
        for f in unfixed:
            plan.unresolved.append(
                Unresolved(
                    finding=finding_key("vulnerabilities", f.id, f.package),
                    reason=f"no fixed version of {f.package} is published for {f.id}"
                    + (" and no other base image on the engine drops it" if from_base else ""),
                )
            )
        if not fixes:
            continue
        fixed = _highest(eco, fixes)
        resolved = [finding_key("vulnerabilities", f.id, f.package) for f in group if f.fixed_version]
        level = min((_VULN_LEVEL.get(f.severity, "low") for f in group if f.fixed_version), key=_RANK.__getitem__)
        if from_base:
            image = df.base or (base.image if base else "")
            for k in resolved:
                plan.add(
                    f"rebuild:{image}",
                    "rebuild",
                    f"Rebuild on a fresh pull of {image}",
                    level,
                    k,
                    base_image=image,
                    detail="The base image's own packages are fixed upstream; pull the tag again "
                    "(docker build --pull) or pin a patched digest. Not apt-get upgrade: it forks the "
                    "base and hides the fix from the next pull.",
                    layer=layer,
                )
            plan.actions[f"rebuild:{image}"].detail += f" {package} {version} -> {fixed}."
            continue
        changes, detail = _pin_changes(group[0], fixed, df, manifests)
        for k in resolved:
            plan.add(
                f"upgrade:{eco}:{package}",
                "upgrade",
                f"Upgrade {package} {version} to {fixed}",
                level,
                k,
                package=package,
                ecosystem=eco,
                installed_version=version,
                fixed_version=fixed,
                layer=layer,
                detail=detail,
                changes=changes,
            )


def _highest(eco: str, versions: list[str]) -> str:
    from containerkit.tools.vulns._versions import BadVersion, parse_version

    try:
        return max(versions, key=lambda v: parse_version(eco, v))
    except BadVersion:
        return sorted(versions)[-1]


def _base_detail(opt: BaseImageOption) -> str:
    more = f"; it has {len(opt.introduces)} advisories this image does not" if opt.introduces else ""
    return (
        f"{opt.image} ({opt.source}) no longer has {len(opt.removes)} of the base image's findings "
        f"(same advisory database){more}. Rebuild and run the tests: a new base can change the runtime."
    )


def _from_change(df: _Dockerfile, image: str) -> list[FileChange]:
    if df.parsed is None or df.base is None:
        return []
    for st in df.parsed.stages:
        if st.image == df.base:
            before = df.line(st.line)
            return [FileChange(file=df.name, line=st.line, before=before, after=before.replace(df.base, image, 1))]
    return []


def _name_pattern(name: str) -> str:
    """A package name as a regex matching its PEP 503 spellings (``PyYAML``, ``pyyaml``, ``py_yaml``)."""
    return "[-_.]+".join(re.escape(p) for p in re.split(r"[-_.]+", name))


def _npm_name(f: VulnFinding) -> str:
    """``@scope/name`` from the purl (``pkg:npm/%40scope/name@1.0``); the finding names only ``name``."""
    if not f.purl.startswith("pkg:npm/"):
        return f.package
    path = unquote(f.purl[len("pkg:npm/") :].split("?", 1)[0])
    return path.rsplit("@", 1)[0] if path.count("@") > (1 if path.startswith("@") else 0) else path


def _pin_changes(
    f: VulnFinding, fixed: str, df: _Dockerfile, manifests: dict[str, str]
) -> tuple[list[FileChange], str]:
    """The lines pinning ``f.package`` and their new text, and a sentence saying what to do."""
    eco = f.ecosystem.split(":", 1)[0]
    changes: list[FileChange] = []
    if eco == "PyPI":
        name = _name_pattern(f.package)
        pin = re.compile(rf"(?i)(?<![\w.-])({name})(\[[^\]]*\])?\s*(===?|~=|>=|<=)\s*([\w.!+*-]+)")
        bare = re.compile(rf"(?i)^(\s*)({name})(\[[^\]]*\])?\s*(?=$|;|#)")
        for fname, text in manifests.items():
            if not (fname.endswith(".txt") or fname.endswith("pyproject.toml")):
                continue
            for n, line in enumerate(text.split("\n"), 1):
                new = pin.sub(lambda m: f"{m.group(1)}{m.group(2) or ''}=={fixed}", line, count=1)
                if new == line and fname.endswith(".txt"):
                    new = bare.sub(lambda m: f"{m.group(1)}{m.group(2)}{m.group(3) or ''}>={fixed}", line, count=1)
                if new != line:
                    changes.append(FileChange(file=fname, line=n, before=line, after=new))
        for n, line in df.find(re.compile(rf"(?i)\bpip3?\b|\buv\b|(?<![\w.-]){name}\s*==")):
            new = pin.sub(lambda m: f"{m.group(1)}{m.group(2) or ''}=={fixed}", line, count=1)
            if new != line:
                changes.append(FileChange(file=df.name, line=n, before=line, after=new))
        how = f"Pin {f.package}=={fixed} where it is declared"
        return changes, how + (
            ""
            if changes
            else " (it is not pinned in the files read: it comes in as a dependency; add the pin to your requirements)"
        ) + "."
    if eco == "npm":
        full = _npm_name(f)
        dep = re.compile(rf'("{re.escape(full)}"\s*:\s*")([\^~]|>=|=)?([^"]*)(")')
        for fname, text in manifests.items():
            if not fname.endswith("package.json"):
                continue
            for n, line in enumerate(text.split("\n"), 1):
                new = dep.sub(lambda m: f"{m.group(1)}{m.group(2) or ''}{fixed}{m.group(4)}", line, count=1)
                if new != line:
                    changes.append(FileChange(file=fname, line=n, before=line, after=new))
        inline = re.compile(rf"(?<![\w@/-]){re.escape(full)}@[\w.^~-]+")
        for n, line in df.find(inline):
            changes.append(FileChange(file=df.name, line=n, before=line, after=inline.sub(f"{full}@{fixed}", line)))
        if changes:
            return changes, f"Require {full} {fixed} and regenerate the lock file (npm install)."
        return changes, (
            f'{full} is a transitive dependency: add "overrides": {{"{full}": "{fixed}"}} to package.json, '
            "or upgrade the package that requires it, then regenerate the lock file."
        )
    if eco == "Go":
        mod = re.compile(rf"^(\s*(?:require\s+)?{re.escape(f.package)}\s+)v?[\w.+-]+")
        for fname, text in manifests.items():
            if fname.endswith("go.mod"):
                for n, line in enumerate(text.split("\n"), 1):
                    new = mod.sub(lambda m: f"{m.group(1)}v{fixed.removeprefix('v')}", line, count=1)
                    if new != line:
                        changes.append(FileChange(file=fname, line=n, before=line, after=new))
        return changes, f"go get {f.package}@v{fixed.removeprefix('v')} && go mod tidy."
    if eco in ("Debian", "Alpine"):
        installs = df.find(re.compile(rf"(?<![\w.+-]){re.escape(f.package)}(?![\w.+=-])"))
        for n, line in installs:
            if re.search(r"\b(apt-get|apt|apk)\b", " ".join(df.lines[max(0, n - 5) : n])):
                # apt pins exactly; apk takes a lower bound, quoted (a bare > is a shell redirection)
                pinned = f"{f.package}={fixed}" if eco == "Debian" else f"'{f.package}>={fixed}'"
                changes.append(
                    FileChange(
                        file=df.name,
                        line=n,
                        before=line,
                        after=re.sub(
                            rf"(?<![\w.+-]){re.escape(f.package)}(?![\w.+=-])",
                            pinned.replace("\\", "\\\\"),
                            line,
                            count=1,
                        ),
                    )
                )
        return changes, (
            f"Install {f.package} {fixed} (rebuild so the package index is fresh; pin it when the index may lag). "
            "Not apt-get upgrade: it upgrades everything, uncached and unreviewed."
        )
    return changes, f"Require {f.package} {fixed} in the project's manifest and rebuild."


# -- secrets, root, lint, controls ---------------------------------------------------------------


def _secret(plan: _Plan, s: SecretFinding, df: _Dockerfile) -> None:
    key = finding_key("secrets", s.rule_id, s.path)
    level = secret_level(s)
    if s.source == "context":
        plan.add(
            f"secret:context:{s.path}",
            "secret",
            f"Keep {s.path} out of the build context",
            level,
            key,
            detail="docker build sends the context to the engine; rotate the credential if the context was shared.",
            changes=[FileChange(file=".dockerignore", after=s.path)],
        )
        return
    changes: list[FileChange] = []
    where = s.layer.created_by if s.layer is not None else ""
    copied_alone = False
    if df.parsed is not None and s.source == "layer":
        for ins in df.parsed.instructions:
            if ins.keyword.upper() in ("COPY", "ADD") and _copies_file(ins.json_args or ins.value.split(), s.path):
                copied_alone = True
                changes.append(FileChange(file=df.name, line=ins.line, before=df.line(ins.line), after=""))
    if df.parsed is not None and s.source in ("image-config", "image-history"):
        for ins in df.parsed.instructions:
            if ins.keyword.upper() in ("ENV", "ARG") and _SECRET_NAME.search(ins.value.split("=", 1)[0]):
                changes.append(FileChange(file=df.name, line=ins.line, before=df.line(ins.line), after=""))
    deleted = "" if s.in_final_image else " A later RUN rm does not remove it: the layer keeps it."
    if s.source == "layer" and not copied_alone:
        how = (
            "Rotate it and take the value out of the file (read it from the environment at run time), "
            "or list the file in .dockerignore if the app does not need it."
        )
    else:
        how = (
            "Rotate it; give the step that needs it a build secret "
            f"(RUN --mount=type=secret,id=creds,target=/{s.path.lstrip('/')} ...) "
            "and pass run-time credentials as environment or mounted secrets."
        )
    plan.add(
        f"secret:image:{s.path}",
        "secret",
        f"Take the {s.description} out of the image ({s.path})",
        level,
        key,
        layer=where[:200],
        detail=how + deleted,
        changes=changes,
    )


def _copies_file(args: list[str], path: str) -> bool:
    """Whether COPY/ADD ``args`` (sources then destination) name the file itself, not a folder it is in."""
    words = [a for a in args if not a.startswith("--")]
    if len(words) < 2:
        return False
    name = path.rstrip("/").rsplit("/", 1)[-1]
    *sources, dest = words
    if "/" + path.lstrip("/") == dest:
        return True
    return any(src.rstrip("/").rsplit("/", 1)[-1] == name for src in sources)


def _user_action(plan: _Plan, key: str, severity: Level, df: _Dockerfile) -> None:
    changes: list[FileChange] = []
    if df.final is not None:
        users = [i for i in df.final.instructions if i.keyword.upper() == "USER"]
        if users and users[-1].value.split(":", 1)[0] in ("root", "0", ""):
            before = df.line(users[-1].line)
            changes.append(FileChange(file=df.name, line=users[-1].line, before=before, after=f"USER {NON_ROOT_UID}"))
        else:
            start = [i for i in df.final.instructions if i.keyword.upper() in ("CMD", "ENTRYPOINT")]
            at = start[0].line if start else (df.final.instructions[-1].end_line + 1 if df.final.instructions else None)
            changes.append(FileChange(file=df.name, line=at, after=f"USER {NON_ROOT_UID}"))
    plan.add(
        "user",
        "user",
        f"Run as a non-root user (USER {NON_ROOT_UID})",
        severity,
        key,
        detail=f"A numeric uid needs no account in the image; give it the folders it writes "
        f"(COPY --chown={NON_ROOT_UID}:{NON_ROOT_UID}, or RUN chown in the build).",
        changes=changes,
    )


def _lint(plan: _Plan, findings: list[LintFinding], df: _Dockerfile, text: str | None) -> None:
    from containerkit.tools.lint.fix import FIXABLE_RULES, fix_dockerfile_text

    for f in findings:
        key = finding_key("lint", f.rule, str(f.line))
        level = _LINT_LEVEL[f.severity.value]
        if f.rule in _ROOT_IDS:
            _user_action(plan, key, level, df)
            continue
        if f.rule in _LINT_AS_CONTROL:
            _control(plan, key, _LINT_AS_CONTROL[f.rule], level, df)
            continue
        changes: list[FileChange] = []
        if text is not None and f.rule in FIXABLE_RULES:
            try:
                fixed = fix_dockerfile_text(text, [f])
            except ContainerKitError:
                fixed = text
            changes = _line_changes(df.name, text, fixed)
        plan.add(
            f"lint:{f.rule}",
            "lint",
            f"{f.rule}: {f.message}",
            level,
            key,
            detail=f.hint or ("Applied by containerkit lint --fix." if changes else ""),
        )
        plan.actions[f"lint:{f.rule}"].changes.extend(changes)


def _line_changes(name: str, before: str, after: str) -> list[FileChange]:
    import difflib

    a, b = before.split("\n"), after.split("\n")
    out: list[FileChange] = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(a=a, b=b, autojunk=False).get_opcodes():
        if tag == "equal":
            continue
        for k in range(max(i2 - i1, j2 - j1)):
            out.append(
                FileChange(
                    file=name,
                    line=i1 + min(k, max(i2 - i1 - 1, 0)) + 1,
                    before=a[i1 + k] if i1 + k < i2 else "",
                    after=b[j1 + k] if j1 + k < j2 else "",
                )
            )
    return out


def _control(plan: _Plan, key: str, ident: str, severity: Level, df: _Dockerfile) -> None:
    if ident in _ROOT_IDS:
        _user_action(plan, key, severity, df)
        return
    if ident in _VULN_IDS or ident in _SECRET_IDS:
        what = "vulnerabilities" if ident in _VULN_IDS else "secrets"
        kinds = ("upgrade", "base_image", "rebuild") if what == "vulnerabilities" else ("secret",)
        target = next((a for a in plan.sorted() if a.kind in kinds), None)
        if target is not None:
            target.resolves.append(key)
        else:
            plan.unresolved.append(Unresolved(finding=key, reason=f"follows the {what} findings; none has a fix"))
        return
    lint = plan.actions.get(f"lint:{_CONTROL_AS_LINT.get(ident, '')}")
    if lint is not None:
        lint.resolves.append(key)
        return
    title, detail = _ADVICE.get(ident, (f"Pass {ident}", "See the control's evidence in the report."))
    plan.add(f"control:{title}", "compliance", title, severity, key, detail=detail)


# -- gathering the inputs ------------------------------------------------------------------------


def read_manifests(context: Path | None, dockerfile: Path | None) -> dict[str, str]:
    """The dependency manifests of the build context (and the Dockerfile's folder), by relative name."""
    out: dict[str, str] = {}
    for root in dict.fromkeys(p for p in (context, dockerfile.parent if dockerfile else None) if p is not None):
        if not root.is_dir():
            continue
        for pattern in _MANIFESTS:
            for path in sorted([*root.glob(pattern), *root.glob(f"*/{pattern}")]):
                if "node_modules" in path.parts or not path.is_file():
                    continue
                try:
                    if path.stat().st_size > _MAX_MANIFEST_BYTES:
                        continue
                    out.setdefault(path.relative_to(root).as_posix(), path.read_text("utf-8", errors="replace"))
                except OSError:
                    continue
    return out


def base_candidates(docker_client: Any, base: str, base_id: str) -> list[tuple[str, str]]:
    """(image, "catalog" | "engine") other bases on the engine for ``base``: the catalog's other
    versions of the same image template first (newer first), then other tags of its repository with
    the same variant (``-slim``). Never a pull; at most a few."""
    from containerkit.tools.dockerfile.catalog import load_catalog

    out: dict[str, str] = {}
    for entry in load_catalog().entries.values():
        for template in {entry.image, entry.runtime or entry.image}:
            if "{version}" not in template:
                continue
            head, tail = template.split("{version}", 1)
            m = re.fullmatch(re.escape(head) + r"(.+?)" + re.escape(tail), base)
            if m is None:
                continue
            current = m.group(1)
            for v in _newer_first([entry.default, *entry.versions], current):
                out.setdefault(template.format(version=v), "catalog")
    repo, _, tag = base.rpartition(":") if ":" in base.rsplit("/", 1)[-1] else (base, "", "latest")
    variant = re.sub(r"^[\d.]+", "", tag)
    try:
        images = docker_client.images.list(name=repo)
    except Exception:  # noqa: BLE001 - an engine that cannot list adds no candidate
        images = []
    engine: list[str] = []
    for img in images:
        if img.id == base_id:
            continue
        for t in img.tags:
            other = t.rpartition(":")[2]
            if t.rpartition(":")[0] == repo and other != tag and re.sub(r"^[\d.]+", "", other) == variant:
                engine.append(t)
    for t in sorted(engine, key=lambda t: _version_key(t.rpartition(":")[2]), reverse=True):
        out.setdefault(t, "engine")
    present: list[tuple[str, str]] = []
    seen_ids = {base_id}
    for ref, source in out.items():
        try:
            img = docker_client.images.get(ref)
        except Exception:  # noqa: BLE001 - not on the engine: not a candidate (scan never pulls)
            continue
        if img.id in seen_ids:
            continue
        seen_ids.add(img.id)
        present.append((ref, source))
        if len(present) >= _MAX_BASE_CANDIDATES:
            break
    return present


def _version_key(v: str) -> tuple[int, ...]:
    return tuple(int(x) for x in re.findall(r"\d+", v.split("-", 1)[0])[:3])


def _newer_first(versions: list[str], current: str) -> list[str]:
    cur = _version_key(current)
    newer = [v for v in dict.fromkeys(versions) if _version_key(v) > cur]
    return sorted(newer, key=_version_key, reverse=True)


def check_base(
    report: ScanReport,
    base: str,
    *,
    docker_client: Any,
    db: VulnDB | None,
    cache_dir: Path | None,
    candidates: Callable[[Any, str, str], list[tuple[str, str]]] = base_candidates,
) -> BaseCheck | None:
    """The base's layers, and how each candidate base fares on the same database; None when the
    base is not on the engine."""
    try:
        img = docker_client.images.get(base)
    except Exception:  # noqa: BLE001 - a base the engine does not have: no base facts
        return None
    layers = frozenset(str(x) for x in (img.attrs.get("RootFS") or {}).get("Layers") or [])
    options: list[BaseImageOption] = []
    vulns = report.vulnerabilities.findings if report.vulnerabilities is not None else []
    ours = [f for f in vulns if f.layer_diff_id in layers]
    if db is None or not ours:
        return BaseCheck(image=base, layers=layers, options=options)
    all_ids = {i for f in vulns for i in f.ids}
    cache = LayerCache(cache_dir)
    stamp = _db_stamp(db)
    for ref, source in candidates(docker_client, base, img.id):
        theirs = _candidate_findings(docker_client, ref, db, cache, stamp, cache_dir)
        if theirs is None:
            continue
        still = {(package, i) for package, ids in theirs for i in ids}
        removes = [
            finding_key("vulnerabilities", f.id, f.package)
            for f in ours
            if not any((f.package, i) in still for i in f.ids)
        ]
        options.append(
            BaseImageOption(
                image=ref,
                source="catalog" if source == "catalog" else "engine",
                removes=removes,
                remaining=len(ours) - len(removes),
                introduces=sorted({ids[0] for _, ids in theirs if not (set(ids) & all_ids)}),
            )
        )
    return BaseCheck(image=base, layers=layers, options=options)


def _db_stamp(db: VulnDB) -> str:
    """What a candidate's findings depend on besides the image: the database file as it is now."""
    try:
        st = db.path.stat()
    except OSError:
        return "none"
    return f"{_CANDIDATE_FORMAT}:{st.st_size}:{st.st_mtime_ns}"


def _candidate_findings(
    docker_client: Any, ref: str, db: VulnDB, cache: LayerCache, stamp: str, cache_dir: Path | None
) -> list[tuple[str, list[str]]] | None:
    """(package, [advisory id, aliases...]) of every finding in a candidate base; kept per image id
    and database stamp, so a rerun does not export the candidate again. None when it cannot be read."""
    from containerkit.tools.image_fs import open_image
    from containerkit.tools.sbom import sbom_from_fs
    from containerkit.tools.vulns import match

    try:
        image_id = str(docker_client.images.get(ref).id)
    except Exception:  # noqa: BLE001 - gone since it was listed
        return None
    data = cache.get(image_id, "base-vulns", stamp)
    if isinstance(data, list):
        return [(str(p), [str(i) for i in ids]) for p, ids in data]
    try:
        with open_image(docker_client, ref) as fs:
            sbom = sbom_from_fs(fs, image_ref=ref, cache_dir=cache_dir)
        found = [(f.package, [f.id, *f.aliases]) for f in match(sbom, db).findings]
    except ContainerKitError:
        return None
    cache.put(image_id, "base-vulns", stamp, [[p, ids] for p, ids in found])
    return found


def remediate(
    report: ScanReport,
    *,
    dockerfile: Path | None,
    context: Path | None,
    docker_client: Any,
    db: VulnDB | None,
    cache_dir: Path | None = None,
) -> RemediationPlan:
    """The plan for a finished scan: reads the Dockerfile, the context's manifests and, when findings
    come from the base image, the other bases the engine has (no pull)."""
    text: str | None = None
    if dockerfile is not None:
        try:
            text = dockerfile.read_text("utf-8", errors="replace")
        except OSError:
            text = None
    base_ref = _final_base(_parse(text))
    base = None
    if base_ref is not None:
        base = check_base(report, base_ref, docker_client=docker_client, db=db, cache_dir=cache_dir)
    plan = plan_remediation(
        report,
        dockerfile_text=text,
        dockerfile_name=_relative(dockerfile, context) if dockerfile is not None else "Dockerfile",
        manifests=read_manifests(context, dockerfile),
        base=base,
    )
    if base_ref is not None and base is None:
        plan.notes.append(
            f"base image {base_ref} is not on the engine: its packages are not told from the app's, "
            "and no other base image was compared"
        )
    return plan


def _relative(path: Path, context: Path | None) -> str:
    """The Dockerfile named as the manifests are: relative to the build context when inside it."""
    for root in (context, path.parent):
        if root is None:
            continue
        try:
            return path.resolve().relative_to(root.resolve()).as_posix()
        except (ValueError, OSError):
            continue
    return str(path)
