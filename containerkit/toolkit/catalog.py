"""containerkit's capabilities as one catalog of agent tools: the MCP server and LangChain serve this list.

Each tool is a :class:`ToolSpec`: a name, a description written for an LLM reader, a pydantic model of
its arguments (the input schema both faces publish) and a function ``(args, ctx) -> ToolOutput``
composing the plain tools and the graph. Every path argument goes through ``ctx.path`` (the allowed
roots); registry credentials and app environment values are ``SecretStr`` and reach only the engine
call or the run's ``Deps``: they are never in a result, a progress event or a checkpoint.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, NamedTuple

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from containerkit.errors import DockerfileExists, InvalidOption
from containerkit.settings import Settings
from containerkit.toolkit.roots import RootGuard
from containerkit.tools.manifests import ManifestRequest

if TYPE_CHECKING:
    from docker import DockerClient

    from containerkit.state import Session
    from containerkit.tools.credentials import RegistryCredentials

__all__ = [
    "TOOLS",
    "TOOLS_BY_NAME",
    "Engine",
    "ToolContext",
    "ToolOutput",
    "ToolSpec",
    "input_schema",
    "recent_sessions",
]

EventSink = Callable[[dict[str, Any]], None]


@dataclass
class Engine:
    """One Docker client for every call a face serves, connected on first use."""

    host: str | None = None
    client: DockerClient | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def get(self) -> DockerClient:
        with self._lock:
            if self.client is None:
                from containerkit.tools.engine import connect_docker

                self.client = connect_docker(self.host)
            return self.client


@dataclass
class ToolContext:
    """What a tool call needs besides its arguments: settings, the allowed roots, a progress sink.

    A face makes one and derives each call's with :meth:`for_call` (the roots of that client, its
    progress), so the engine connection is shared.
    """

    settings: Settings
    roots: RootGuard
    progress: EventSink = field(default=lambda _e: None)
    registry_auth: dict[str, str] | None = field(default=None, repr=False)
    """Credentials the face was started with (``CONTAINERKIT_REGISTRY_USER``/``_PASSWORD``); a call's own win."""
    engine: Engine | None = None

    def __post_init__(self) -> None:
        if self.engine is None:
            self.engine = Engine(self.settings.docker_host)

    def for_call(self, *, roots: RootGuard | None = None, progress: EventSink | None = None) -> ToolContext:
        return replace(
            self, roots=self.roots if roots is None else roots, progress=self.progress if progress is None else progress
        )

    def path(self, value: str, what: str = "path") -> Path:
        return self.roots.check(value, what)

    @property
    def docker(self) -> DockerClient:
        assert self.engine is not None
        return self.engine.get()


class ToolOutput(NamedTuple):
    data: dict[str, Any]
    """The structured result (JSON-safe)."""
    text: str
    """A short summary for the model to read first."""


class ToolSpec(NamedTuple):
    name: str
    description: str
    args: type[BaseModel]
    run: Callable[[Any, ToolContext], ToolOutput]
    long: bool = False
    """Sends progress (a build, a scan, a push, a whole run)."""
    read_only: bool = False
    destructive: bool = False


class _Args(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _Credentials(_Args):
    username: str | None = Field(default=None, description="Registry user name, when the registry needs a login.")
    password: SecretStr | None = Field(
        default=None, description="Registry password or token; used for this call only, never stored or echoed."
    )

    def auth(self, ctx: ToolContext) -> dict[str, str] | None:
        """The call's credentials, else those the face was started with."""
        if self.username and self.password is not None:
            return {"username": self.username, "password": self.password.get_secret_value(), "source": "the call"}
        return ctx.registry_auth

    def credentials(self, ctx: ToolContext, registry: str | None) -> RegistryCredentials | None:
        """The call's or the face's credentials, else Docker's config.json and credential helpers for ``registry``."""
        from containerkit.tools.credentials import resolve_credentials
        from containerkit.tools.transfer import credentials_of

        host = registry or "docker.io"
        return resolve_credentials(host, explicit=credentials_of(self.auth(ctx), host))


# -- analyze and Dockerfile ----------------------------------------------------------------------


class AnalyzeArgs(_Args):
    path: str = Field(
        description="Folder of the repository (absolute, or relative to the first allowed root), e.g. /src/shop."
    )


def _analyze(a: AnalyzeArgs, ctx: ToolContext) -> ToolOutput:
    from containerkit.tools.analyze import analyze_repo

    result = analyze_repo(ctx.path(a.path))
    mods = [
        f"{m.path or '.'}: {m.language or '?'} {m.language_version or ''}".rstrip()
        + (f", {m.framework}" if m.framework else "")
        + (f", port {m.port}" if m.port else "")
        + (", library" if m.is_library else "")
        for m in result.modules
    ]
    data = {
        "root": result.root,
        "modules": [m.public_dict() for m in result.modules],
        "is_monorepo": result.is_monorepo,
        "build_order": result.build_order,
        "files_scanned": result.files_scanned,
    }
    return ToolOutput(data, f"{len(mods)} module(s) in {result.root}: " + "; ".join(mods))


class DockerfileArgs(_Args):
    path: str = Field(description="Folder of the repository.")
    module: str | None = Field(
        default=None, description="Module path in a monorepo (see analyze_repo); default: the main one."
    )
    base_image: str | None = Field(default=None, description="Force this base image instead of the catalog's.")
    write: bool = Field(default=False, description="Write Dockerfile and .dockerignore into the module folder.")
    force: bool = Field(default=False, description="With write: replace an existing Dockerfile.")


def _dockerfile(a: DockerfileArgs, ctx: ToolContext) -> ToolOutput:
    from containerkit.tools.analyze import analyze_repo
    from containerkit.tools.dockerfile import generate_dockerfile, load_catalog
    from containerkit.tools.fsio import write_text

    analysis = analyze_repo(ctx.path(a.path))
    mods = [m for m in analysis.deployable() if a.module is None or m.path == a.module.strip("/")]
    if not mods:
        raise InvalidOption(f"no module {a.module!r}", hint="Modules: " + ", ".join(m.path for m in analysis.modules))
    mod = mods[0] if a.module is not None else analysis.primary()
    gen = generate_dockerfile(
        mod, load_catalog(ctx.settings.base_images, override=a.base_image), repo_root=analysis.root
    )
    written: list[str] = []
    if a.write:
        target = Path(analysis.root) / mod.path / "Dockerfile"
        if target.exists() and not a.force:
            raise DockerfileExists(f"{target} exists and is kept", hint="Pass force=true to replace it.")
        write_text(target, gen.content, root=analysis.root)
        written.append(str(target))
        ignore = Path(analysis.root) / gen.context / ".dockerignore"
        if not ignore.exists():
            write_text(ignore, gen.dockerignore, root=analysis.root)
            written.append(str(ignore))
    data = {
        "module": mod.path,
        "dockerfile": gen.content,
        "dockerignore": gen.dockerignore,
        "base_image": gen.base_image,
        "context": gen.context,
        "port": gen.port,
        "warnings": gen.warnings,
        "written": written,
    }
    where = f"; wrote {', '.join(written)}" if written else "; not written (pass write=true)"
    return ToolOutput(data, f"Dockerfile for {mod.path or '.'} on {gen.base_image}{where}:\n\n{gen.content}")


class LintArgs(_Args):
    path: str | None = Field(default=None, description="A Dockerfile, or a folder holding one.")
    content: str | None = Field(default=None, description="Dockerfile text to lint instead of a file.")
    ignore: list[str] = Field(default_factory=list, description="Rule ids to skip, e.g. DL3008.")


def _lint(a: LintArgs, ctx: ToolContext) -> ToolOutput:
    from containerkit.tools.lint import LintConfig, lint_dockerfile

    if (a.path is None) == (a.content is None):
        raise InvalidOption("give exactly one of path or content", hint="path: a Dockerfile; content: its text.")
    source: str | Path = ctx.path(a.path, "Dockerfile") if a.path is not None else (a.content or "") + "\n"
    report = lint_dockerfile(source, LintConfig(ignored=frozenset(a.ignore)))
    counts = report.counts()
    data = {
        "path": report.path,
        "counts": counts,
        "findings": [f.model_dump(mode="json") for f in report.findings],
        "notes": report.notes,
    }
    text = ", ".join(f"{v} {k}" for k, v in counts.items() if v) or "no findings"
    top = "; ".join(f"{f.rule} line {f.line}: {f.message}" for f in report.findings[:5])
    return ToolOutput(data, f"lint: {text}" + (f". {top}" if top else ""))


# -- engine and registry -------------------------------------------------------------------------


class BuildArgs(_Args):
    context: str = Field(description="Build context folder (usually the module folder).")
    dockerfile: str | None = Field(default=None, description="Dockerfile path; default: Dockerfile in the context.")
    tags: list[str] = Field(min_length=1, description="Image references to tag the result with, e.g. shop/api:1.0.")
    build_args: dict[str, str] = Field(default_factory=dict, description="Docker build arguments.")
    no_cache: bool = Field(default=False, description="Build without the layer cache.")


def _build(a: BuildArgs, ctx: ToolContext) -> ToolOutput:
    from containerkit.tools.engine import BuildRequest, build_image
    from containerkit.tools.images import parse_image_ref

    context = ctx.path(a.context, "context")
    dockerfile = ctx.path(a.dockerfile, "dockerfile") if a.dockerfile else context / "Dockerfile"
    tags = [str(parse_image_ref(t)) for t in a.tags]
    result = build_image(
        BuildRequest(
            context=context,
            dockerfile=dockerfile,
            tags=tags,
            build_args=a.build_args,
            nocache=a.no_cache,
            pull_policy=ctx.settings.pull_policy,
        ),
        docker_client=ctx.docker,
        on_progress=lambda ev: ctx.progress(dict(ev)),
    )
    data = result.model_dump(mode="json")
    mb = result.size_bytes / 1e6
    return ToolOutput(
        data,
        f"built {tags[0]} ({result.image_id[:19]}): {result.steps} steps, {result.cached_steps} cached, "
        f"{mb:.1f} MB in {result.duration_s:.1f}s",
    )


class ScanArgs(_Args):
    image: str = Field(description="A local image (name:tag or id); never pulled.")
    dockerfile: str | None = Field(default=None, description="Its Dockerfile: linted and judged (base images, USER).")
    context: str | None = Field(default=None, description="Its build context: scanned for secrets too.")
    fail_on: Literal["critical", "high", "medium", "low", "info", "none"] = Field(
        default="high", description="passed is false when a finding is at or above this level."
    )


def _scan(a: ScanArgs, ctx: ToolContext) -> ToolOutput:
    from containerkit.tools.scan import ScanOptions, scan_image

    db = ctx.settings.vuln_db
    options = ScanOptions(
        dockerfile=ctx.path(a.dockerfile, "dockerfile") if a.dockerfile else None,
        context=ctx.path(a.context, "context") if a.context else None,
        vuln_db=db if db.exists() else None,
        cache_dir=ctx.settings.cache_dir,
    )
    report = scan_image(a.image, options, docker_client=ctx.docker, on_progress=lambda ev: ctx.progress(dict(ev)))
    passed = not report.failed(a.fail_on)
    data = {"image": a.image, "passed": passed, **report.summary(a.fail_on)}
    counts = ", ".join(f"{v} {k}" for k, v in report.counts().items() if v) or "no findings"
    return ToolOutput(data, f"scan of {a.image}: {'passed' if passed else 'FAILED'} at {a.fail_on} ({counts})")


class TagArgs(_Args):
    image: str = Field(description="A local image (name:tag or id).")
    ref: str = Field(description="The new reference, e.g. 127.0.0.1:5000/shop/api:1.0.")


def _tag(a: TagArgs, ctx: ToolContext) -> ToolOutput:
    from containerkit.tools.engine import tag_image
    from containerkit.tools.images import parse_image_ref

    ref = str(parse_image_ref(a.ref))
    tag_image(ctx.docker, a.image, ref, timeout_s=ctx.settings.timeouts.tag)
    return ToolOutput({"image": a.image, "ref": ref}, f"tagged {a.image} as {ref}")


class PushArgs(_Credentials):
    image: str = Field(description="A local image (name:tag or id).")
    ref: str = Field(description="Where to push: REGISTRY/NAME:TAG, e.g. 127.0.0.1:5000/shop/api:1.0.")


def _push(a: PushArgs, ctx: ToolContext) -> ToolOutput:
    from containerkit.tools.engine import push_image
    from containerkit.tools.images import parse_image_ref

    ref = parse_image_ref(a.ref)
    result = push_image(
        ctx.docker,
        a.image,
        ref,
        credentials=a.credentials(ctx, ref.registry),
        timeout_s=ctx.settings.timeouts.push,
        retry=ctx.settings.retry,
        on_progress=lambda ev: ctx.progress(dict(ev)),
    )
    verified = " (the registry serves this digest)" if result.verified else ""
    return ToolOutput(result.model_dump(mode="json"), f"pushed {result.ref}@{result.digest}{verified}")


class PullArgs(_Credentials):
    ref: str = Field(description="REGISTRY/NAME:TAG or NAME@sha256:... to pull.")


def _pull(a: PullArgs, ctx: ToolContext) -> ToolOutput:
    from containerkit.tools.engine import pull_image
    from containerkit.tools.images import parse_image_ref

    ref = parse_image_ref(a.ref)
    result = pull_image(
        ctx.docker,
        ref,
        credentials=a.credentials(ctx, ref.registry),
        timeout_s=ctx.settings.timeouts.pull,
        retry=ctx.settings.retry,
        on_progress=lambda ev: ctx.progress(dict(ev)),
    )
    data = {"ref": str(ref), "image_id": result.image_id, "attempts": len(result.attempts)}
    return ToolOutput(data, f"pulled {ref} as {result.image_id[:19]}")


class ManifestArgs(ManifestRequest):
    model_config = ConfigDict(extra="forbid")
    out_dir: str | None = Field(
        default=None, description="Write the YAML files into this folder; default: only return them."
    )


def _manifests(a: ManifestArgs, ctx: ToolContext) -> ToolOutput:
    from containerkit.tools.manifests import generate_manifests, write_manifests

    manifests = generate_manifests(ManifestRequest.model_validate(a.model_dump(exclude={"out_dir"})))
    written = [str(p) for p in write_manifests(manifests, ctx.path(a.out_dir, "out_dir"))] if a.out_dir else []
    kinds = ", ".join(str(d.get("kind")) for d in manifests.documents)
    where = f"; wrote {', '.join(written)}" if written else ""
    return ToolOutput({"documents": manifests.documents, "written": written}, f"{kinds} for {a.image}{where}")


# -- the workflow and its sessions ---------------------------------------------------------------


class _RunEnv(_Credentials):
    env: dict[str, SecretStr] = Field(
        default_factory=dict,
        description="Environment for the app when it is started to verify it (KEY: value); values are never stored.",
    )


class WorkflowArgs(_RunEnv):
    path: str = Field(description="Folder of the repository to containerize.")
    image: str | None = Field(default=None, description="NAME[:TAG] for the image; default: from the project name.")
    registry: str | None = Field(default=None, description="Push to this registry (HOST[:PORT]); none: no push.")
    approve: list[Literal["push", "deploy"]] = Field(
        default_factory=list,
        description="Steps that wait for a person: the run returns status awaiting_approval; answer with resume_session.",
    )
    module: str | None = Field(default=None, description="Module path in a monorepo.")
    base_image: str | None = Field(default=None, description="Force this base image.")
    force: bool = Field(default=False, description="Replace an existing Dockerfile with a generated one.")
    out_dir: str | None = Field(
        default=None, description="Folder for the Kubernetes manifests (default: k8s/ in the repo)."
    )
    namespace: str | None = Field(default=None, description="Namespace for the manifests.")
    verify: bool = Field(default=True, description="Start the image and check it answers before anything is pushed.")
    verify_timeout: float = Field(default=60.0, gt=0, le=3600, description="Seconds a server may take to answer.")
    scan: bool = Field(default=True, description="Lint and scan the built image.")
    fail_on: Literal["critical", "high", "medium", "low", "none"] = Field(
        default="critical", description="Stop before the push on scan findings at or above this level."
    )
    max_fix_attempts: int = Field(default=3, ge=0, le=10, description="Recovery attempts over the whole run.")
    no_cache: bool = Field(default=False, description="Build without the layer cache.")


def _deps(ctx: ToolContext, a: _RunEnv) -> Any:
    from containerkit.agents import Deps

    return Deps(
        settings=ctx.settings,
        docker_client=ctx.engine.client if ctx.engine else None,
        registry_auth=a.auth(ctx),
        env={k: v.get_secret_value() for k, v in a.env.items()},
        llm=ctx.settings.chat_model(),
    )


def _session_text(session: Session) -> str:
    s = session.summary()
    parts = [f"session {session.session_id}: {s['status']}"]
    if s.get("image"):
        parts.append(f"image {s['image']}" + (f"@{s['digest']}" if s.get("digest") else ""))
    if session.verify is not None:
        parts.append(f"verify {'passed' if session.verify.passed else 'failed'}: {session.verify.reason}")
    if session.recovery:
        parts.append(f"{len(session.recovery)} recovery attempt(s)")
    if session.awaiting:
        q = session.awaiting
        parts.append(
            f"waiting for approval of {q.get('step')} of {q.get('image')}"
            + (f" to {q['registry']}" if q.get("registry") else "")
            + f": call resume_session with session_id={session.session_id} and approved=true or false"
        )
    if session.needs:
        parts.append(f"needs configuration: {', '.join(session.needs)} (pass env to resume_session)")
    parts += [f"error [{e.code}] {e.message} (hint: {e.hint})" for e in session.errors[-2:]]
    return "; ".join(parts)


def _workflow(a: WorkflowArgs, ctx: ToolContext) -> ToolOutput:
    from containerkit.graph import run_session
    from containerkit.state import RunOptions
    from containerkit.tools.images import parse_registry

    repo = ctx.path(a.path)
    options = RunOptions(
        image=a.image,
        registry=parse_registry(a.registry) if a.registry else ctx.settings.registry,
        base_image=a.base_image,
        force=a.force,
        module=a.module,
        manifests_dir=str(ctx.path(a.out_dir, "out_dir")) if a.out_dir else None,
        namespace=a.namespace,
        verify=a.verify,
        verify_timeout=a.verify_timeout,
        scan=a.scan,
        fail_on=None if a.fail_on == "none" else a.fail_on,
        max_fix_attempts=a.max_fix_attempts,
        no_cache=a.no_cache,
        env_names=sorted(a.env),
        approve=list(dict.fromkeys(a.approve)),
    )
    session = run_session(repo, options, settings=ctx.settings, deps=_deps(ctx, a), on_event=ctx.progress)
    return ToolOutput(session.summary(), _session_text(session))


class ResumeArgs(_RunEnv):
    session_id: str = Field(description="Session id (or a unique prefix), from run_workflow or list_sessions.")
    approved: bool | None = Field(
        default=None, description="The answer to the step the session waits on: true approves, false declines."
    )
    note: str = Field(default="", description="Why (recorded with the decision).")


def _resume(a: ResumeArgs, ctx: ToolContext) -> ToolOutput:
    from containerkit.graph import SessionStore, resume_session

    with SessionStore(ctx.settings.sessions_db) as store:
        sid = store.resolve(a.session_id)
        ctx.path(store.load(sid).repo_path, "the session's repository")
    decision = None if a.approved is None else {"approved": a.approved, "note": a.note or "mcp client"}
    session = resume_session(
        sid,
        settings=ctx.settings,
        deps=_deps(ctx, a),
        on_event=ctx.progress,
        decision=decision,
        options={"env_names": sorted(a.env)} if a.env else None,
    )
    return ToolOutput(session.summary(), _session_text(session))


class ListArgs(_Args):
    limit: int = Field(default=20, ge=1, le=500, description="At most this many, newest first.")


_SCAN_FACTOR = 10
"""With roots, at most this many times ``limit`` sessions are read to find the ones inside them."""


def recent_sessions(settings: Settings, limit: int, roots: RootGuard | None = None) -> list[dict[str, str]]:
    """The newest ``limit`` sessions: id, status, repo, updated, problem.

    With ``roots``, only sessions whose repository lies inside them: a client sees its own work, not
    the paths of every repository this machine containerized.
    """
    from containerkit.errors import SessionStoreUnusable
    from containerkit.graph import SessionStore

    if not settings.sessions_db.exists():
        return []
    rows: list[dict[str, str]] = []
    with SessionStore(settings.sessions_db) as store:
        ids = store.ids()
        for sid in ids[: limit if roots is None else limit * _SCAN_FACTOR]:
            if len(rows) >= limit:
                break
            try:
                s = store.load(sid)
            except SessionStoreUnusable as exc:
                if roots is None:
                    rows.append(
                        {"session_id": sid, "status": "unreadable", "repo": "", "updated": "", "problem": exc.message}
                    )
                continue
            if roots is not None and not roots.contains(s.repo_path):
                continue
            updated = s.updated.isoformat(timespec="seconds")
            rows.append({"session_id": sid, "status": s.status, "repo": s.repo_path, "updated": updated, "problem": ""})
    return rows


def _list(a: ListArgs, ctx: ToolContext) -> ToolOutput:
    rows = recent_sessions(ctx.settings, a.limit, ctx.roots)
    if not rows:
        return ToolOutput({"sessions": []}, "no sessions yet for a repository inside the allowed roots")
    return ToolOutput({"sessions": rows}, "; ".join(f"{r['session_id']} {r['status']} {r['repo']}" for r in rows))


class StatusArgs(_Args):
    session_id: str = Field(description="Session id (or a unique prefix).")


def _status(a: StatusArgs, ctx: ToolContext) -> ToolOutput:
    from containerkit.graph import SessionStore, build_graph
    from containerkit.graph.runner import pending_question

    with SessionStore(ctx.settings.sessions_db) as store:
        sid = store.resolve(a.session_id)
        session = store.load(sid)
        ctx.path(session.repo_path, "the session's repository")  # another client's session is not shown
        if session.status == "running":
            question = pending_question(build_graph(checkpointer=store.saver), sid)
            if question is not None:
                session = session.model_copy(update={"awaiting": question})
    return ToolOutput(session.summary(), _session_text(session))


TOOLS: tuple[ToolSpec, ...] = (
    ToolSpec(
        "analyze_repo",
        "Read a repository and report each deployable module: language and version, package manager, framework, "
        "port, start command, and the evidence for each. Fast, changes nothing. Start here.",
        AnalyzeArgs,
        _analyze,
        read_only=True,
    ),
    ToolSpec(
        "generate_dockerfile",
        "Write a production Dockerfile (multi-stage, non-root, pinned base image) and .dockerignore for a module "
        "from its analysis. Returns the text; write=true saves them into the module folder (never over an "
        "existing Dockerfile unless force=true).",
        DockerfileArgs,
        _dockerfile,
    ),
    ToolSpec(
        "lint_dockerfile",
        "Lint a Dockerfile (a path, or its text as content) with 69 rules (hadolint ids where they match). "
        "Returns findings with rule, severity, line, message and a hint.",
        LintArgs,
        _lint,
        read_only=True,
    ),
    ToolSpec(
        "build_image",
        "Build an image on the Docker engine from a context folder and Dockerfile, tagged with tags. Sends "
        "progress per build step. Returns the image id, size, steps and cache hits; a failure carries the "
        "failing step and the log tail.",
        BuildArgs,
        _build,
        long=True,
    ),
    ToolSpec(
        "scan_image",
        "Scan a local image: Dockerfile lint, SBOM, known vulnerabilities, secrets in layers, CIS/NIST "
        "compliance and policy, as one verdict (counts per severity, passed at fail_on).",
        ScanArgs,
        _scan,
        long=True,
        read_only=True,
    ),
    ToolSpec(
        "tag_image",
        "Give a local image another reference (name:tag), e.g. before pushing it.",
        TagArgs,
        _tag,
    ),
    ToolSpec(
        "push_image",
        "Push a local image to a registry as ref (REGISTRY/NAME:TAG) and return the digest the registry serves. "
        "Pass username and password only when the registry needs a login; they are never stored.",
        PushArgs,
        _push,
        long=True,
    ),
    ToolSpec(
        "pull_image",
        "Pull an image from a registry onto the engine; returns its local id.",
        PullArgs,
        _pull,
        long=True,
    ),
    ToolSpec(
        "generate_manifests",
        "Kubernetes Deployment and Service for an image: probes on the port, requests and limits, non-root "
        "security context. Returns the documents; out_dir writes them as YAML.",
        ManifestArgs,
        _manifests,
    ),
    ToolSpec(
        "run_workflow",
        "The whole journey as one session: analyze, Dockerfile, build, verify (start the container and check "
        "it answers), scan, push, manifests, with automatic recovery from failures. Returns the session result: "
        "status succeeded|failed|needs_config|awaiting_approval|stopped, image and digest, verify, recovery "
        "attempts with evidence, errors with hints. With approve=['push'] it stops before the push and waits: "
        "ask the user, then call resume_session with approved=true or false.",
        WorkflowArgs,
        _workflow,
        long=True,
    ),
    ToolSpec(
        "list_sessions",
        "Saved sessions (runs), newest first: id, status, repository.",
        ListArgs,
        _list,
        read_only=True,
    ),
    ToolSpec(
        "session_status",
        "One session's result: status, what it waits for, image, digest, verify, scan, recovery, errors.",
        StatusArgs,
        _status,
        read_only=True,
    ),
    ToolSpec(
        "resume_session",
        "Continue a session: answer the approval it waits on (approved=true/false, with a note), or retry a "
        "failed or needs_config one (pass the missing env). Finished stages are not redone.",
        ResumeArgs,
        _resume,
        long=True,
    ),
)
TOOLS_BY_NAME = {t.name: t for t in TOOLS}
_LAST = ("username", "password", "env")


def input_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The model's JSON schema with the tool's own arguments first and the shared ones (credentials, env) last."""
    schema = model.model_json_schema()
    props: dict[str, Any] = schema.get("properties", {})
    schema["properties"] = {k: props[k] for k in sorted(props, key=lambda k: k in _LAST)}
    return schema
