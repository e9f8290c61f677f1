"""Scan one local image with every BuildSec scanner and gather one report.

User input (Dockerfile, context, vulnerability database, policies) is checked before the engine is
asked for anything, so a typo costs no image export. The image is never pulled. It is exported
once (``image_fs.open_image``) and that one copy is read by the SBOM, the setuid check and the secret
scanner; with ``ScanOptions.cache_dir`` their per-layer results are cached by diff id, so layers a
previous scan already read (the base image of a rebuilt app) are not read again.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from docker import DockerClient

from containerkit.errors import DockerUnavailable, NotADirectory, PathNotFound
from containerkit.tools.compliance import (
    BuildFacts,
    DockerfileFacts,
    LintFact,
    SecretFact,
    VulnerabilityFact,
    dockerfile_facts,
    evaluate_compliance,
    image_facts,
)
from containerkit.tools.compliance.image import setuid_files_in
from containerkit.tools.image_fs import ImageFS, ImageNotFound, open_image
from containerkit.tools.image_size import image_size
from containerkit.tools.lint import LintConfig, LintReport, lint_dockerfile, read_dockerfile
from containerkit.tools.lint.hadolint import find_hadolint
from containerkit.tools.policy import evaluate_policies
from containerkit.tools.progress import ProgressSink, null_sink
from containerkit.tools.sbom import Sbom, sbom_from_fs
from containerkit.tools.scan.cache import display_ref
from containerkit.tools.scan.errors import VulnDbUnreadable
from containerkit.tools.scan.models import ScanOptions, ScanReport
from containerkit.tools.scan.remediation import remediate
from containerkit.tools.secrets import SecretScanReport, scan_context_secrets, scan_image_secrets
from containerkit.tools.tracing import traced
from containerkit.tools.vulns import VulnDB, VulnDbError, VulnReport, match, merge_external, run_external_scanners

if TYPE_CHECKING:
    from containerkit.tools.metrics import BuildSecMetrics

__all__ = ["scan_image"]


@traced("scan_image")
def scan_image(
    image: str,
    options: ScanOptions,
    *,
    docker_client: DockerClient,
    on_progress: ProgressSink = null_sink,
    metrics: BuildSecMetrics | None = None,
) -> ScanReport:
    """Lint, SBOM, vulnerabilities, secrets, compliance and policy of a local image, in one report.

    Raises ImageNotFound (CK240) for an image the engine does not have, and the parts' own typed
    errors for bad input; a part that cannot run for want of data (no DB) is skipped with a note.
    """
    started = time.perf_counter()
    notes: list[str] = []
    durations: dict[str, float] = {}

    def say(message: str) -> None:
        on_progress({"kind": "log", "stage": "scan", "message": message})

    @contextlib.contextmanager
    def timed(part: str) -> Iterator[None]:
        t0 = time.perf_counter()
        yield
        durations[part] = round(time.perf_counter() - t0, 3)

    # -- user input first: cheap, and a mistake should not cost an image export ---------------
    df_facts: DockerfileFacts | None = None
    if options.dockerfile is not None:
        df_facts = dockerfile_facts(read_dockerfile(options.dockerfile))
    if options.context is not None and options.secrets:
        _check_context(options.context)
    db = _open_db(options.vuln_db, notes) if options.vulnerabilities else None
    policy_data = _policy_data(options)
    if options.policy:
        evaluate_policies(BuildFacts(), options.policies, policy_data)  # syntax and data errors now
    inspect = _inspect(docker_client, image)

    lint: LintReport | None = None
    if options.lint and options.dockerfile is not None:
        with timed("lint"):
            lint = _lint(options, notes)
        say(f"lint: {len(lint.findings)} findings")
    elif options.lint:
        notes.append("lint not run: no Dockerfile given (--dockerfile)")

    sbom: Sbom | None = None
    setuid: list[str] | None = None
    secrets: SecretScanReport | None = None
    vulns: VulnReport | None = None
    reads_image = options.sbom or options.vulnerabilities or options.compliance or options.secrets
    with contextlib.ExitStack() as stack:
        fs: ImageFS | None = None
        if reads_image:
            with timed("export"):
                fs = stack.enter_context(open_image(docker_client, image))
        if fs is not None and (options.sbom or options.vulnerabilities or options.compliance):
            with timed("sbom"):
                sbom = sbom_from_fs(fs, image_ref=image, cache_dir=options.cache_dir)
                setuid = setuid_files_in(fs)
            notes += [f"sbom: {w}" for w in sbom.warnings]
            say(f"sbom: {len(sbom.components)} components")

        if fs is not None and options.secrets:
            with timed("secrets"):
                secrets = scan_image_secrets(docker_client, image, fs=fs, cache_dir=options.cache_dir)
                if options.context is not None:
                    secrets = _merge_secrets(secrets, scan_context_secrets(options.context))
            say(f"secrets: {len(secrets.findings)}")

    if options.vulnerabilities and sbom is not None:
        with timed("vulnerabilities"):
            vulns = _vulnerabilities(image, sbom, db, options.external_scanners, notes)
        if vulns is not None:
            say(f"vulnerabilities: {len(vulns.findings)}")

    facts = BuildFacts(
        dockerfile=df_facts,
        image=image_facts(inspect, ref=options.image_ref or display_ref(image, inspect), setuid_files=setuid),
        vulnerabilities=_vuln_facts(vulns),
        secrets=None
        if secrets is None
        else [
            SecretFact(rule_id=s.rule_id, path=s.path, source=s.source, in_final_image=s.in_final_image)
            for s in secrets.findings
        ],
        lint=None
        if lint is None
        else [LintFact(rule=f.rule, severity=f.severity.value, line=f.line, message=f.message) for f in lint.findings],
        trusted_registries=list(options.trusted_registries),
    )
    compliance = None
    if options.compliance:
        with timed("compliance"):
            compliance = evaluate_compliance(facts)
    policy = None
    if options.policy:
        with timed("policy"):
            policy = evaluate_policies(facts, options.policies, policy_data)
        say(f"policy: {len(policy.violations)} violations")

    try:
        size = image_size(docker_client, image)
    except Exception as exc:  # noqa: BLE001 - the layer analysis is extra information, never a failed scan
        size = None
        notes.append(f"layer sizes: not read ({exc})")
    report = ScanReport(
        size_bytes=size.size_bytes if size is not None else None,
        layers=size.layers if size is not None else [],
        image=image,
        image_id=str(inspect.get("Id") or ""),
        duration_s=round(time.perf_counter() - started, 3),
        lint=lint,
        sbom=sbom if options.sbom else None,
        vulnerabilities=vulns,
        secrets=secrets,
        compliance=compliance,
        policy=policy,
        notes=notes,
        durations=durations,
        dockerfile=str(options.dockerfile) if options.dockerfile is not None else None,
    )
    report.remediation = remediate(
        report,
        dockerfile=options.dockerfile,
        context=options.context,
        docker_client=docker_client,
        db=db,
        cache_dir=options.cache_dir,
    )
    if metrics is not None:
        _record(metrics, report)
    return report


def _check_context(path: Path) -> None:
    if not path.exists():
        raise PathNotFound(f"build context {path} does not exist", path=str(path))
    if not path.is_dir():
        raise NotADirectory(f"build context {path} is not a folder", path=str(path))


def _open_db(path: Path | None, notes: list[str]) -> VulnDB | None:
    """The database to match against, None (with a note) when there is none; corrupt is an error."""
    if path is None:
        notes.append("vulnerabilities not checked by containerkit: no database given")
        return None
    if not path.exists() or (path.is_file() and path.stat().st_size == 0):
        notes.append(
            f"vulnerabilities not checked by containerkit: no database at {path} "
            "(import advisories with `containerkit db import PATH`)"
        )
        return None
    if not path.is_file():
        raise VulnDbUnreadable(f"vulnerability database {path} is not a file", path=str(path))
    db = VulnDB(path)
    try:
        info = db.info()
    except VulnDbError as exc:
        raise VulnDbUnreadable(f"cannot read vulnerability database {path}: {exc.message}", path=str(path)) from None
    if info.advisories == 0:
        notes.append(f"vulnerabilities not checked by containerkit: the database {path} holds no advisories")
        return None
    return db


def _policy_data(options: ScanOptions) -> dict[str, Any]:
    data = dict(options.policy_data)
    if options.trusted_registries and "allowed_registries" not in data:
        data["allowed_registries"] = list(options.trusted_registries)
    return data


def _inspect(docker_client: DockerClient, image: str) -> dict[str, Any]:
    """The engine's view of a local image; never a pull."""
    import docker.errors

    try:
        data: dict[str, Any] = docker_client.api.inspect_image(image)
    except docker.errors.ImageNotFound:
        raise ImageNotFound(f"image {image!r} is not in the local engine (scan never pulls)", image=image) from None
    except docker.errors.APIError as exc:
        if getattr(exc, "status_code", None) in (400, 404):
            raise ImageNotFound(
                f"image {image!r} is not in the local engine ({exc.explanation})", image=image
            ) from None
        raise DockerUnavailable(f"the engine failed to inspect {image!r}: {exc}") from None
    except (docker.errors.DockerException, OSError) as exc:
        raise DockerUnavailable(f"no Docker engine answers: {exc}") from None
    return data


def _lint(options: ScanOptions, notes: list[str]) -> LintReport:
    assert options.dockerfile is not None
    config = LintConfig(trusted_registries=frozenset(options.trusted_registries))
    report = lint_dockerfile(Path(options.dockerfile), config)
    if find_hadolint(config.hadolint_path) is None:
        notes.append("lint: hadolint not installed; containerkit's own rules only")
    notes += [f"lint: {n}" for n in report.notes]
    return report


def _vulnerabilities(image: str, sbom: Sbom, db: VulnDB | None, external: bool, notes: list[str]) -> VulnReport | None:
    """containerkit's match plus trivy/grype when they can run; None when nothing could check."""
    report = match(sbom, db) if db is not None else None
    if external:
        scans = run_external_scanners(image)
        notes += [f"{s.scanner} not run: {s.status.reason}" for s in scans if not s.status.ran]
        if report is not None or any(s.status.ran for s in scans):
            report = merge_external(report or VulnReport(image_ref=image, image_id=sbom.image_id), scans)
    if report is None:
        notes.append("vulnerabilities not checked: no database and no external scanner available")
    else:
        notes += [f"vulnerabilities: {w}" for w in report.warnings[:20]]
    return report


def _vuln_facts(vulns: VulnReport | None) -> list[VulnerabilityFact] | None:
    if vulns is None:
        return None
    return [
        VulnerabilityFact(
            id=v.id,
            package=v.package,
            installed_version=v.version,
            severity=v.severity,
            fixed_version=v.fixed_version or None,
        )
        for v in vulns.findings
    ]


def _merge_secrets(image: SecretScanReport, context: SecretScanReport) -> SecretScanReport:
    """One secrets report: image findings, then the context's (``source="context"``)."""
    return image.model_copy(
        update={
            "findings": [*image.findings, *context.findings],
            "files_scanned": image.files_scanned + context.files_scanned,
            "bytes_scanned": image.bytes_scanned + context.bytes_scanned,
            "skipped_binary": image.skipped_binary + context.skipped_binary,
            "skipped": [*image.skipped, *context.skipped],
            "skipped_total": image.skipped_total + context.skipped_total,
            "duration_s": round(image.duration_s + context.duration_s, 3),
        }
    )


def _record(metrics: BuildSecMetrics, report: ScanReport) -> None:
    for part, seconds in report.durations.items():
        metrics.record_scan(part, seconds)
    if report.lint is not None:
        metrics.record_lint(report.lint.counts())
    if report.vulnerabilities is not None:
        metrics.record_vulnerabilities(report.image, [f.severity for f in report.vulnerabilities.findings])
    if report.compliance is not None:
        metrics.record_compliance({s.framework: s.score for s in report.compliance.scores})
    if report.secrets is not None:
        metrics.record_secrets([f.source for f in report.secrets.findings])
