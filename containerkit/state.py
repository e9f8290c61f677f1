"""The typed session state every agent reads and writes its own part of (JSON round-trip safe).

Lists that grow over a run (stage history, recorded errors, recovery attempts) carry reducers,
declared here once, so an agent returns only what it adds.
"""

from __future__ import annotations

import operator
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from containerkit.tools.analyze.models import RepoAnalysis
from containerkit.tools.diagnose.models import Diagnosis
from containerkit.tools.dockerfile.models import BuildFailureInfo
from containerkit.tools.image_size import ImageSize, LayerSize
from containerkit.tools.k8s.models import AppliedObject, HpaSpec, PodInfo
from containerkit.tools.retry import OperationAttempt
from containerkit.tools.verify import VerifyResult

__all__ = [
    "STATE_MODELS",
    "Approval",
    "Attempt",
    "BuildInfo",
    "DeploymentStatus",
    "DockerfileInfo",
    "ErrorRecord",
    "Failure",
    "ImageRefs",
    "ManifestInfo",
    "RunOptions",
    "ScanSummary",
    "Session",
    "StageRecord",
    "Status",
    "StepTiming",
    "merge_counts",
    "now",
]

Status = Literal["running", "succeeded", "failed", "needs_config", "stopped"]
"""``needs_config``: the app needs configuration no program can guess (names in ``Session.needs``);
``stopped``: a person declined a step the run asked approval for."""
APPROVABLE = ("push", "deploy")
Stage = Literal["orch", "analyze", "buildsec", "infra", "deploy"]


def now() -> datetime:
    return datetime.now(UTC)


def merge_counts(old: dict[str, int], new: dict[str, int]) -> dict[str, int]:
    """Reducer for attempt counters: an update sets the counters it names, keeps the others."""
    return {**old, **new}


def last_write(old: object, new: object) -> object:
    """Reducer for values that stages running side by side may both write in one step: the last wins.

    (A plain channel refuses two writes in one step; the losing failure is still in ``errors``.)
    """
    return new


def latest(old: datetime, new: datetime) -> datetime:
    return max(old, new)


class RunOptions(BaseModel):
    """What the user asked for; kept in the state so a resumed run does the same thing."""

    image: str | None = Field(default=None, description="NAME[:TAG] for the built image.")
    registry: str | None = None
    base_image: str | None = None
    force: bool = False
    write_dockerfile: bool = True
    manifests_dir: str | None = None
    namespace: str | None = None
    max_fix_attempts: int = Field(default=3, ge=0, le=10, description="Recovery attempts over the whole run.")
    no_cache: bool = Field(default=False, description="Build without the layer cache.")
    compare_naive: bool = Field(
        default=False,
        description="Also build a naive single-stage image of the app on the same base, for its size only.",
    )
    scan: bool = Field(default=True, description="Lint, SBOM, vulnerabilities, secrets, compliance, policy.")
    fail_on: str | None = Field(
        default="critical",
        description="Stop before the push on a finding at or above this severity; None turns the gate off.",
    )
    policies: list[str] = Field(default_factory=list, description="User Rego files or folders.")
    allowed_registries: list[str] = Field(default_factory=list)
    module: str | None = Field(default=None, description="Module path for monorepos; default: the primary one.")
    verify: bool = Field(default=True, description="Start the image and check it answers before anything is pushed.")
    verify_timeout: float = Field(default=60.0, gt=0, le=3600, description="Seconds a server may take to answer.")
    env_names: list[str] = Field(
        default_factory=list,
        description="Names of the environment the user passed (--env); the values are never stored.",
    )
    approve: list[Literal["push", "deploy"]] = Field(
        default_factory=list, description="Steps that wait for a person's approval (LangGraph interrupt)."
    )
    deploy: bool = Field(default=False, description="Apply the manifests to a cluster and wait until they run.")
    kube_context: str | None = Field(default=None, description="kubeconfig context (default: the current one).")
    k8s_overlay: str | None = Field(default=None, description="Kustomize overlay to apply (``local``); None: the base.")
    rollback: bool = Field(default=True, description="Roll a failed new version back to the previous revision.")
    deploy_timeout: float = Field(default=180.0, gt=0, le=3600, description="Seconds a rollout may take.")
    ingress_host: str | None = Field(default=None, description="Write an Ingress routing this host to the Service.")
    ingress_class: str | None = Field(default=None, description="The Ingress's ingressClassName.")
    hpa: HpaSpec | None = Field(default=None, description="Write a HorizontalPodAutoscaler (CPU) with these bounds.")
    pdb_min_available: str | None = Field(
        default=None, description="Write a PodDisruptionBudget keeping this many pods (``1``) or share (``50%``)."
    )
    network_policy: bool = Field(default=False, description="Write a NetworkPolicy admitting only the app's port.")
    registry_ca: str | None = Field(
        default=None, description="CA certificate (PEM file) the registry's TLS certificate is checked against."
    )
    push_timeout: float | None = Field(
        default=None, gt=0, le=24 * 3600, description="Seconds a push may take; None: the settings' (15 min)."
    )

    @model_validator(mode="after")
    def _registry_from_image(self) -> RunOptions:
        """``--image HOST/NAME:TAG`` without ``--registry`` pushes to HOST (never a silent local-only run)."""
        if self.image and not self.registry:
            from containerkit.errors import ContainerKitError
            from containerkit.tools.images import parse_image_ref

            try:
                ref = parse_image_ref(self.image)
            except (ValueError, ContainerKitError):
                return self  # the orchestrator reports the typed error when it validates the options
            if ref.registry:
                self.registry = ref.registry
        return self


class DockerfileInfo(BaseModel):
    content: str
    path: str
    origin: Literal["generated", "user", "fixed"]
    revision: int = 1
    base_image: str | None = None
    base_reason: str | None = Field(default=None, description="Why the final stage runs on base_image (generated).")
    dockerignore_path: str | None = None
    reason: str | None = Field(default=None, description="Why this revision exists (for fixes).")
    user_uid: int | None = Field(default=None, description="Numeric uid the image runs as, when known.")
    context: str | None = Field(
        default=None,
        description="Build context relative to the repo root (a workspace member builds from the root); "
        "None: the module's folder.",
    )
    context_files: list[str] = Field(
        default=[],
        description="Files containerkit wrote into the build context for this Dockerfile (a lockfile "
        "translated to hash-checked pip requirements), relative to the repo root.",
    )


class StepTiming(BaseModel):
    """One build step as BuildKit reported it."""

    name: str
    cached: bool = False
    duration_s: float | None = None


class BuildInfo(BaseModel):
    image_id: str
    tags: list[str]
    size_bytes: int
    duration_s: float
    cached_steps: int = 0
    steps: int = 0
    log_tail: str = ""
    dockerfile_revision: int = 1
    builder: str = "legacy"
    step_timings: list[StepTiming] = Field(default_factory=list)
    """Per-step durations and cache hits (BuildKit builds)."""
    size: ImageSize | None = None
    """The image's size report: each layer with the step that made it, the base's share, the naive size."""


class ScanSummary(BaseModel):
    """The BuildSec verdict for the session: counts per part, what was checked, the gate's outcome.

    The full report (every finding, SARIF-ready) is saved beside the session as ``report_path``.
    """

    model_config = ConfigDict(extra="ignore")

    image_id: str | None = None
    """The image this verdict is about (a rebuilt image needs a new scan)."""
    passed: bool = True
    fail_on: str | None = None
    counts: dict[str, int] = Field(default_factory=dict)
    lint_errors: int = 0
    lint_warnings: int = 0
    vulnerabilities: dict[str, int] = Field(default_factory=dict)
    secrets: int = 0
    compliance: dict[str, float | None] = Field(default_factory=dict)
    compliance_score: float | None = None
    policy_violations: int = 0
    checked: dict[str, bool] = Field(default_factory=dict)
    findings: list[dict[str, object]] = Field(default_factory=list)
    remediation: list[dict[str, object]] = Field(default_factory=list)
    """The scan's remediation plan, its actions most severe first (the whole plan is in the report)."""
    notes: list[str] = Field(default_factory=list)
    duration_s: float = 0.0
    report_path: str | None = None
    cached: bool = False
    """True: the verdict of an identical earlier scan (same image, database, rules, options), reused."""
    cache_key: str | None = None
    """The digest of the inputs this verdict was computed from."""


class ImageRefs(BaseModel):
    local: str | None = None
    pushed: str | None = None
    digest: str | None = None
    verified: bool = False


class ManifestInfo(BaseModel):
    paths: list[str]
    """The base's object files."""
    kinds: list[str]
    root: str | None = None
    """The Kustomize tree (``base/``, ``overlays/<name>/``)."""
    overlays: dict[str, str] = Field(default_factory=dict)
    validated_by: Literal["api-server", "models"] = "models"
    """Who validated the objects: the cluster's API server (a dry run) when one was reachable, else the
    Kubernetes client's models."""
    validation_note: str | None = None
    """Why the API server did not validate them, when it did not."""
    cached: bool = False
    """True: the files an identical earlier run wrote were still there, unchanged: nothing was rewritten."""


class DeploymentStatus(BaseModel):
    """What the deploy stage did on the cluster (``run --json`` under ``deployment``)."""

    applied: bool = False
    ready: bool = False
    message: str = "manifests written; not applied"
    image: str | None = None
    """The image this deployment runs (a new image needs a new deploy)."""
    context: str | None = None
    namespace: str | None = None
    name: str | None = None
    overlay: str | None = None
    revision: int | None = None
    previous_revision: int | None = None
    rolled_back_to: int | None = None
    """Set when a failed new version was rolled back to this revision."""
    objects: list[AppliedObject] = Field(default_factory=list)
    """What containerkit applied (what ``undeploy`` removes, if still containerkit's)."""
    pods: list[PodInfo] = Field(default_factory=list)
    time_to_ready_s: float | None = None
    url: str | None = None
    status_code: int | None = None
    answered: bool | None = None
    removed: bool = False
    """``undeploy`` removed the objects."""
    missing_config: dict[str, list[str]] = Field(default_factory=dict)
    """ConfigMap / Secret the Deployment reads (by name) -> the variables the app needs that it lacks
    (names only: a Secret's values are never read into the session)."""


class StageRecord(BaseModel):
    stage: str
    start: datetime
    end: datetime
    duration_s: float
    ok: bool
    error: str | None = None
    note: str | None = None


class ErrorRecord(BaseModel):
    stage: str
    code: str
    message: str
    hint: str
    category: str | None = None
    """The failure's category, when the orchestrator stopped on a classified failure."""
    evidence: list[str] = Field(default_factory=list)
    at: datetime = Field(default_factory=now)


class Failure(BaseModel):
    """The last failure an agent reported; the orchestrator decides what happens next."""

    stage: str
    code: str
    message: str
    kind: str | None = None
    """The failure's category (``diagnosis.category``), or None when it was not classified."""
    build: BuildFailureInfo | None = None
    diagnosis: Diagnosis | None = None
    """The category and the log lines that decided it."""


class Approval(BaseModel):
    """A person's answer to a step that waited for approval."""

    step: str
    approved: bool
    by: str = "user"
    note: str = ""
    at: datetime = Field(default_factory=now)


class Attempt(BaseModel):
    """One recovery attempt: what failed, what was changed, with which result."""

    number: int
    failed_stage: str
    code: str
    cause: str | None = None
    action: str
    detail: str = ""
    dockerfile_revision: int | None = None
    build_failure: BuildFailureInfo | None = None
    """What the failed build left (step, exit code, log tail): the fixer's input."""
    evidence: list[str] = Field(default_factory=list)
    """The log lines that decided the category."""
    diagnosis: Diagnosis | None = None
    agent: str | None = None
    """Who acted: ``analyze`` (a Dockerfile fix), the failed stage itself (a retry), None (gave up)."""
    by: Literal["rules", "llm"] = "rules"
    dockerfile_sha: str | None = None
    """Digest of the Dockerfile this fix produced: a fix never produces an earlier file again."""
    outcome: str | None = None
    """What happened next: ``succeeded``, or the failure that followed."""


class Session(BaseModel):
    session_id: str
    repo_path: str
    options: RunOptions = Field(default_factory=RunOptions)
    status: Status = "running"
    labels: dict[str, str] = Field(default_factory=dict)
    """The user's ``--label KEY=VALUE`` tags, to find sessions again (``sessions list --label``)."""
    analysis: RepoAnalysis | None = None
    dockerfile: DockerfileInfo | None = None
    build: BuildInfo | None = None
    scan: ScanSummary | None = None
    images: ImageRefs = Field(default_factory=ImageRefs)
    manifests: ManifestInfo | None = None
    deployment: DeploymentStatus | None = None
    verify: VerifyResult | None = None
    approvals: list[Approval] = Field(default_factory=list)
    needs: list[str] = Field(default_factory=list)
    """Configuration the app needs before it can start (environment variable names)."""
    awaiting: dict[str, Any] | None = None
    """The question a paused run waits on (an approval); set by the runner, never by a node."""
    llm_usage: Annotated[dict[str, int], merge_counts] = Field(default_factory=dict)
    """Tokens an optional LLM used in this session (input, output, calls)."""
    failure: Annotated[Failure | None, last_write] = None
    recovery: list[Attempt] = Field(default_factory=list)
    history: Annotated[list[StageRecord], operator.add] = Field(default_factory=list)
    errors: Annotated[list[ErrorRecord], operator.add] = Field(default_factory=list)
    attempts: Annotated[dict[str, int], merge_counts] = Field(default_factory=dict)
    operations: Annotated[list[OperationAttempt], operator.add] = Field(default_factory=list)
    """Every try of a registry operation (push): when, how long, how it ended, the backoff before the next."""
    created: datetime = Field(default_factory=now)
    updated: Annotated[datetime, latest] = Field(default_factory=now)
    reused_from: str | None = None
    """Set on the result of a rerun with nothing changed: the session whose verified result it is."""

    def summary(self) -> dict[str, object]:
        """The result object faces print (``run --json``): stable keys, later issues only add."""
        return {
            "session_id": self.session_id,
            "status": "awaiting_approval" if self.awaiting and self.status == "running" else self.status,
            "awaiting": self.awaiting,
            "repo": self.repo_path,
            "labels": dict(self.labels),
            "image": self.images.pushed or self.images.local,
            "digest": self.images.digest,
            "image_id": self.build.image_id if self.build else None,
            "image_size": self.build.size.summary() if self.build and self.build.size else None,
            "scan": self.scan.model_dump(mode="json", exclude={"findings"}) if self.scan else None,
            "verify": self.verify.model_dump(mode="json") if self.verify else None,
            "needs": list(self.needs),
            "approvals": [a.model_dump(mode="json") for a in self.approvals],
            "llm_usage": dict(self.llm_usage),
            "dockerfile": self.dockerfile.path if self.dockerfile else None,
            "dockerfile_origin": self.dockerfile.origin if self.dockerfile else None,
            "base_image": self.dockerfile.base_image if self.dockerfile else None,
            "base_reason": self.dockerfile.base_reason if self.dockerfile else None,
            "manifests": self.manifests.paths if self.manifests else [],
            "manifests_validated_by": self.manifests.validated_by if self.manifests else None,
            "deployment": self.deployment.model_dump(mode="json") if self.deployment else None,
            "attempts": dict(self.attempts),
            "recovery": [a.model_dump(mode="json") for a in self.recovery],
            "operations": [o.model_dump(mode="json") for o in self.operations],
            "stages": [h.model_dump(mode="json") for h in self.history],
            "errors": [e.model_dump(mode="json") for e in self.errors],
            "reused_from": self.reused_from,
        }


class RunRecord(BaseModel):
    """A succeeded session kept for reruns (``containerkit.graph.rerun``): its state as it ended and the
    base images it was built on (reference -> image id), to check they are still the same images."""

    session: dict[str, Any]
    base_images: dict[str, str] = Field(default_factory=dict)
    at: datetime = Field(default_factory=now)


STATE_MODELS: tuple[type[BaseModel], ...] = (
    Session,
    RunOptions,
    DockerfileInfo,
    BuildInfo,
    StepTiming,
    ImageSize,
    LayerSize,
    ScanSummary,
    ImageRefs,
    ManifestInfo,
    DeploymentStatus,
    AppliedObject,
    PodInfo,
    HpaSpec,
    StageRecord,
    ErrorRecord,
    Failure,
    Attempt,
    Approval,
    BuildFailureInfo,
    RepoAnalysis,
    Diagnosis,
    VerifyResult,
    OperationAttempt,
)
