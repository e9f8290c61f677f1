"""One function per automated control: facts in, (status, evidence) out. No I/O here."""

from __future__ import annotations

import re
from typing import NamedTuple

from containerkit.tools.compliance.facts import BuildFacts, Instruction
from containerkit.tools.compliance.models import ControlStatus

__all__ = ["Outcome"]


class Outcome(NamedTuple):
    status: ControlStatus
    evidence: list[str]


_ROOT = {"", "root", "0"}
_SECRET_NAME = re.compile(r"(?i)(password|passwd|secret|token|api[_-]?key|private[_-]?key|credential)")
_FIXABLE = {"CRITICAL", "HIGH"}


class _Pattern(NamedTuple):
    regex: re.Pattern[str]
    why: str


# CIS 4.3: package installs that pull in more than asked, or tools a runtime image should not carry.
_UNNEEDED: tuple[_Pattern, ...] = (
    _Pattern(
        re.compile(r"\bapt(?:-get)?\s+(?:-\S+\s+)*install\b(?!.*--no-install-recommends)"),
        "apt install without --no-install-recommends",
    ),
    _Pattern(re.compile(r"\bapk\s+add\b(?!.*--no-cache)"), "apk add without --no-cache"),
    _Pattern(
        re.compile(r"\b(?:install|add)\b.*\b(?:openssh-server|sudo|telnet|vim|nano|netcat(?:-\w+)?)\b"),
        "installs a tool a runtime image does not need",
    ),
)
# CIS 4.7: a package index update in its own RUN is cached and goes stale.
_UPDATE = re.compile(r"\b(?:apt-get|apt|apk|yum|dnf|zypper)\s+(?:-\S+\s+)*(?:update|makecache|refresh)\b")
_INSTALL = re.compile(r"\b(?:install|add|upgrade)\b")
# CIS 4.11: switches that turn package or download verification off.
_UNVERIFIED: tuple[_Pattern, ...] = (
    _Pattern(
        re.compile(r"--allow-unauthenticated|--force-yes|AllowUnauthenticated"), "apt told to accept unsigned packages"
    ),
    _Pattern(re.compile(r"--nogpgcheck|gpgcheck=0"), "yum/dnf signature check off"),
    _Pattern(re.compile(r"--allow-untrusted"), "apk told to accept unsigned packages"),
    _Pattern(re.compile(r"--trusted-host"), "pip told to skip TLS verification for a host"),
    _Pattern(re.compile(r"strict-ssl\s*(?:=|\s)\s*false"), "npm TLS verification off"),
    _Pattern(
        re.compile(r"\b(?:curl|wget)\b[^|;&]*\s(?:-k|--insecure|--no-check-certificate)\b"),
        "download with TLS verification off",
    ),
    _Pattern(
        re.compile(r"\b(?:curl|wget)\b[^;&]*\|\s*(?:sudo\s+)?(?:ba|z)?sh\b"),
        "remote script piped into a shell unverified",
    ),
)


def _final(facts: BuildFacts) -> list[Instruction]:
    if facts.dockerfile is None:
        return []
    last = facts.dockerfile.stages - 1
    return [i for i in facts.dockerfile.instructions if i.stage == last]


def _runs(facts: BuildFacts) -> list[Instruction]:
    return [i for i in facts.dockerfile.instructions if i.cmd == "RUN"] if facts.dockerfile else []


def _at(i: Instruction) -> str:
    return f"Dockerfile:{i.line} {i.cmd} {i.value[:120]}"


def _is_root(user: str) -> bool:
    return user.split(":", 1)[0] in _ROOT


def user(facts: BuildFacts) -> Outcome:
    """CIS 4.1: a container user is created and used."""
    if facts.image is not None:
        shown = facts.image.user or "(unset: root)"
        return Outcome("fail" if _is_root(facts.image.user) else "pass", [f"image Config.User = {shown}"])
    if facts.dockerfile is not None:
        final = facts.dockerfile.final_user
        if final is None:
            return Outcome("fail", ["the final stage has no USER instruction"])
        return Outcome("fail" if _is_root(final) else "pass", [f"final stage USER {final}"])
    return Outcome("not_applicable", ["no Dockerfile or image given"])


def trusted_base(facts: BuildFacts) -> Outcome:
    """CIS 4.2: base images come from trusted registries (the configured list)."""
    if facts.dockerfile is None:
        return Outcome("manual", ["no Dockerfile: base images unknown"])
    if not facts.dockerfile.base_images:
        return Outcome("pass", ["FROM scratch only"])
    if not facts.trusted_registries:
        return Outcome(
            "manual",
            ["no trusted registries configured; review: " + ", ".join(b.ref for b in facts.dockerfile.base_images)],
        )
    bad = [b for b in facts.dockerfile.base_images if b.registry not in facts.trusted_registries]
    if bad:
        return Outcome("fail", [f"{b.ref} comes from {b.registry}, not a trusted registry" for b in bad])
    return Outcome("pass", [f"{b.ref} from {b.registry}" for b in facts.dockerfile.base_images])


def unnecessary_packages(facts: BuildFacts) -> Outcome:
    """CIS 4.3: no unnecessary packages."""
    if facts.dockerfile is None:
        return Outcome("manual", ["no Dockerfile: package installs unknown"])
    hits = [f"{_at(i)}: {p.why}" for i in _final(facts) if i.cmd == "RUN" for p in _UNNEEDED if p.regex.search(i.value)]
    return Outcome("fail", hits) if hits else Outcome("pass", ["no package install pulls in extras in the final stage"])


def scanned_and_patched(facts: BuildFacts) -> Outcome:
    """CIS 4.4: images are scanned and rebuilt with security patches."""
    if facts.vulnerabilities is None:
        return Outcome("manual", ["no vulnerability scan result given"])
    fixable = [v for v in facts.vulnerabilities if v.severity.upper() in _FIXABLE and v.fixed_version]
    if fixable:
        return Outcome(
            "fail", [f"{v.id} ({v.severity}) in {v.package} fixed in {v.fixed_version}" for v in fixable[:20]]
        )
    return Outcome("pass", [f"scanned: {len(facts.vulnerabilities)} vulnerabilities, none high/critical with a fix"])


def content_trust(facts: BuildFacts) -> Outcome:
    """CIS 4.5: content trust (signature verification) is enabled."""
    if facts.content_trust is None:
        return Outcome("manual", ["content trust setting not reported"])
    return Outcome("pass" if facts.content_trust else "fail", [f"content trust enabled = {facts.content_trust}"])


def healthcheck(facts: BuildFacts) -> Outcome:
    """CIS 4.6: a HEALTHCHECK is defined."""
    if facts.image is not None:
        test = facts.image.healthcheck
        ok = bool(test) and test != ["NONE"]
        return Outcome("pass" if ok else "fail", [f"image Healthcheck.Test = {test}"])
    if facts.dockerfile is not None:
        checks = [i for i in _final(facts) if i.cmd == "HEALTHCHECK"]
        if not checks:
            return Outcome("fail", ["no HEALTHCHECK in the final stage"])
        last = checks[-1]
        return Outcome("fail" if last.value.strip().upper() == "NONE" else "pass", [_at(last)])
    return Outcome("not_applicable", ["no Dockerfile or image given"])


def update_alone(facts: BuildFacts) -> Outcome:
    """CIS 4.7: update instructions are not used alone."""
    if facts.dockerfile is None:
        return Outcome("manual", ["no Dockerfile"])
    alone = [_at(i) for i in _runs(facts) if _UPDATE.search(i.value) and not _INSTALL.search(_UPDATE.sub("", i.value))]
    return (
        Outcome("fail", alone)
        if alone
        else Outcome("pass", ["every package index update shares its RUN with the install"])
    )


def setuid(facts: BuildFacts) -> Outcome:
    """CIS 4.8: setuid and setgid permissions are removed."""
    if facts.image is None or facts.image.setuid_files is None:
        return Outcome("manual", ["image filesystem not examined"])
    files = facts.image.setuid_files
    return (
        Outcome("fail", [f"setuid/setgid: {f}" for f in files[:50]])
        if files
        else Outcome("pass", ["no setuid or setgid file"])
    )


def copy_not_add(facts: BuildFacts) -> Outcome:
    """CIS 4.9: COPY is used instead of ADD."""
    if facts.dockerfile is None:
        return Outcome("not_applicable", ["no Dockerfile"])
    adds = [_at(i) for i in facts.dockerfile.instructions if i.cmd == "ADD"]
    return Outcome("fail", adds) if adds else Outcome("pass", ["no ADD instruction"])


def secrets_not_stored(facts: BuildFacts) -> Outcome:
    """CIS 4.10 / NIST 4.1.4: no secrets in Dockerfiles or image layers."""
    evidence: list[str] = []
    if facts.dockerfile is not None:
        for i in facts.dockerfile.instructions:
            if i.cmd in {"ENV", "ARG"} and "=" in i.value and _SECRET_NAME.search(i.value.split("=", 1)[0]):
                evidence.append(
                    f"Dockerfile:{i.line} {i.cmd} sets {i.value.split('=', 1)[0].split()[-1]} (value not shown)"
                )
    for s in facts.secrets or []:
        where = "in the final image" if s.in_final_image else "in a layer, deleted later"
        evidence.append(f"{s.rule_id} at {s.path} ({s.source}, {where})")
    if evidence:
        return Outcome("fail", evidence)
    if facts.secrets is None and facts.dockerfile is None:
        return Outcome("manual", ["no secret scan and no Dockerfile given"])
    scanned = "secret scan clean" if facts.secrets is not None else "image not scanned for secrets"
    return Outcome("pass" if facts.secrets is not None else "manual", [scanned, "no secret-like ENV/ARG"])


def verified_packages(facts: BuildFacts) -> Outcome:
    """CIS 4.11: only verified packages are installed."""
    if facts.dockerfile is None:
        return Outcome("manual", ["no Dockerfile"])
    hits = [f"{_at(i)}: {p.why}" for i in _runs(facts) for p in _UNVERIFIED if p.regex.search(i.value)]
    return Outcome("fail", hits) if hits else Outcome("pass", ["no verification bypass in RUN instructions"])


def signed_artifacts(facts: BuildFacts) -> Outcome:
    """CIS 4.12: signed artifacts are validated (a process, not checkable from the build)."""
    return Outcome("manual", ["verify signatures of downloaded artifacts in your build process"])


def vulnerabilities(facts: BuildFacts) -> Outcome:
    """NIST 800-190 4.1.1: image vulnerabilities."""
    return scanned_and_patched(facts)


def configuration_defects(facts: BuildFacts) -> Outcome:
    """NIST 800-190 4.1.2: configuration defects (root user, no healthcheck, ADD, lint errors)."""
    parts = [("CIS-4.1", user(facts)), ("CIS-4.6", healthcheck(facts)), ("CIS-4.9", copy_not_add(facts))]
    evidence = [f"{cid} {o.status}: {'; '.join(o.evidence[:2])}" for cid, o in parts]
    failed = any(o.status == "fail" for _, o in parts)
    if facts.lint is not None:
        errors = [f for f in facts.lint if f.severity.lower() == "error"]
        evidence.append(f"lint: {len(errors)} error(s) of {len(facts.lint)} finding(s)")
        failed = failed or bool(errors)
    if failed:
        return Outcome("fail", evidence)
    if all(o.status == "not_applicable" for _, o in parts) and facts.lint is None:
        return Outcome("not_applicable", ["no Dockerfile, image or lint result given"])
    return Outcome("pass", evidence)


def malware(facts: BuildFacts) -> Outcome:
    """NIST 800-190 4.1.3: embedded malware (needs a malware scanner; none ships here)."""
    if facts.malware_scanned is None:
        return Outcome("manual", ["no malware scan result given"])
    return Outcome("pass" if facts.malware_scanned else "fail", [f"malware scan clean = {facts.malware_scanned}"])


def untrusted_images(facts: BuildFacts) -> Outcome:
    """NIST 800-190 4.1.5: use of untrusted images (trusted registries and content trust)."""
    base, trust = trusted_base(facts), content_trust(facts)
    evidence = base.evidence + trust.evidence
    if "fail" in (base.status, trust.status):
        return Outcome("fail", evidence)
    if base.status == "pass":
        return Outcome("pass", evidence)
    return Outcome("manual", evidence)
