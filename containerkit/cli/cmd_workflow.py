"""The main commands: analyze, dockerfile, run, sessions, resume."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.markup import escape

from containerkit.cli import current_env, handle_errors
from containerkit.errors import DockerfileExists, InvalidOption
from containerkit.tools.fsio import check_folder_target, write_text

if TYPE_CHECKING:
    from containerkit.agents import Deps
    from containerkit.cli._render import ProgressRenderer
    from containerkit.state import Session

# The graph, agents and tools are imported inside each command: `containerkit --help` and
# `containerkit lint` should not pay for LangGraph's start-up.

__all__ = ["register"]

sessions_app = typer.Typer(help="List and inspect saved sessions.", no_args_is_help=True)


def _print_json(obj: Any) -> None:
    print(json.dumps(obj, indent=2, default=str), file=current_env().stdout)


@handle_errors
def analyze_cmd(
    path: Path = typer.Argument(..., help="Repository folder."),
    as_json: bool = typer.Option(False, "--json", help="Print the analysis as JSON."),
) -> None:
    """Detect the deployable modules of a repository and what each needs to run."""
    from rich.table import Table

    from containerkit.tools.analyze import analyze_repo

    result = analyze_repo(path)
    if as_json:
        _print_json(
            {
                "modules": [m.public_dict() for m in result.modules],
                "is_monorepo": result.is_monorepo,
                "build_order": result.build_order,
            }
        )
        return
    table = Table("path", "language", "version", "manager", "framework", "port", "start")
    for m in result.modules:
        table.add_row(
            m.path,
            m.language or "?",
            m.language_version or "-",
            m.package_manager or "-",
            m.framework or "-",
            str(m.port or "-"),
            m.start_command or "-",
        )
    current_env().out.print(table)


@handle_errors
def dockerfile_cmd(
    path: Path = typer.Argument(..., help="Repository folder."),
    write: bool = typer.Option(False, "--write", help="Write Dockerfile and .dockerignore into the module folder."),
    force: bool = typer.Option(False, "--force", help="Replace an existing Dockerfile."),
    module: str | None = typer.Option(None, "--module", help="Module path in a monorepo."),
    base_image: str | None = typer.Option(None, "--base-image", help="Use this base image."),
) -> None:
    """Generate a Dockerfile for the repository (printed, or written with --write)."""
    from containerkit.tools.analyze import analyze_repo
    from containerkit.tools.dockerfile import generate_dockerfile, load_catalog

    env = current_env()
    analysis = analyze_repo(path)
    mods = [m for m in analysis.deployable() if module is None or m.path == module.strip("/")]
    if not mods:
        raise InvalidOption(f"no module {module!r}", hint="Modules: " + ", ".join(m.path for m in analysis.modules))
    mod = mods[0]
    gen = generate_dockerfile(mod, load_catalog(env.settings.base_images, override=base_image), repo_root=analysis.root)
    for w in gen.warnings:
        env.err.print(f"[yellow]warning:[/] {w}")
    if not write:
        print(gen.content, end="", file=env.stdout)
        return
    target = Path(analysis.root) / mod.path / "Dockerfile"
    if target.exists() and not force:
        raise DockerfileExists(f"{target} exists and is kept")
    write_text(target, gen.content, root=analysis.root)  # atomic; never through a link out of the repo
    context = Path(analysis.root) / gen.context
    ignore = context / ".dockerignore"
    if not ignore.exists():
        write_text(ignore, gen.dockerignore, root=analysis.root)
    env.err.print(f"wrote {target}; build it with: docker build -f {target} {context}")


def _scan_line(session: Session) -> str:
    """One line of verdict: counts by severity, compliance scores, and what was not checked."""
    scan = session.scan
    assert scan is not None
    counts = ", ".join(f"{v} {k}" for k, v in scan.counts.items() if v) or "no findings"
    scores = ", ".join(f"{k.split()[0]} {v:.0%}" for k, v in scan.compliance.items() if v is not None)
    skipped = [k for k, ran in scan.checked.items() if not ran]
    parts = [counts, scores] + ([f"not checked: {', '.join(skipped)}"] if skipped else [])
    if scan.cached:
        parts.append("cached")
    if scan.report_path:
        parts.append(f"report {scan.report_path}")
    return " · ".join(p for p in parts if p)


def _finish(session: Session, as_json: bool) -> None:
    from rich.table import Table

    env = current_env()
    summary = session.summary()
    if as_json:
        _print_json(summary)
    else:
        table = Table(show_header=False, box=None)
        for key in ("session_id", "status", "image", "digest", "dockerfile", "manifests"):
            val = summary.get(key)
            table.add_row(key, "\n".join(val) if isinstance(val, list) else str(val or "-"))
        if session.verify is not None:
            v = session.verify
            took = "cached" if v.cached else f"{v.duration_s:.1f}s"
            table.add_row("verify", escape(f"{'passed' if v.passed else 'failed'}: {v.reason} ({took})"))
        if session.scan is not None:
            table.add_row("scan", escape(_scan_line(session)))
        if session.deployment is not None and (session.deployment.applied or session.deployment.removed):
            table.add_row("deployment", escape(_deploy_row(session)))
        if session.needs:
            table.add_row("needs", escape(", ".join(session.needs)))
        if session.awaiting:
            table.add_row(
                "waiting",
                escape(
                    f"approval of {session.awaiting.get('step')}: containerkit resume {session.session_id} "
                    "--approve (or --reject)"
                ),
            )
        env.out.print(table)
        for e in session.errors:
            env.err.print(f"[red]error[/] {escape(f'[{e.code}] ({e.stage}) {e.message}')}")
            env.err.print(f"[yellow]hint:[/] {escape(e.hint)}")
    if session.status != "succeeded":
        codes = {e.code for e in session.errors}
        if codes & {"CK101", "CK102", "CK103", "CK104", "CK105", "CK106"}:
            raise typer.Exit(2)
        raise typer.Exit(3 if session.status == "needs_config" else 4 if session.awaiting else 1)


@handle_errors
def run_cmd(
    path: Path = typer.Argument(..., help="Repository folder."),
    image: str | None = typer.Option(None, "--image", help="NAME[:TAG] for the image."),
    registry: str | None = typer.Option(None, "--registry", help="Push to this registry (HOST[:PORT])."),
    force: bool = typer.Option(False, "--force", help="Replace an existing Dockerfile with a generated one."),
    module: str | None = typer.Option(None, "--module", help="Module path in a monorepo."),
    base_image: str | None = typer.Option(None, "--base-image", help="Use this base image."),
    out: Path | None = typer.Option(None, "--out", help="Folder for the Kubernetes manifests (default: k8s/)."),
    namespace: str | None = typer.Option(None, "--namespace", help="Namespace for the manifests."),
    max_fix_attempts: int = typer.Option(
        2, "--max-fix-attempts", min=0, max=10, help="Dockerfile fixes after a failed build."
    ),
    no_cache: bool = typer.Option(False, "--no-cache", help="Build without the layer cache."),
    scan: bool = typer.Option(True, "--scan/--no-scan", help="Lint and scan the built image."),
    env_items: list[str] = typer.Option(
        [], "--env", "-e", help="KEY=VALUE for the app at verify (repeatable; never stored)."
    ),
    fail_on: str = typer.Option(
        "critical",
        "--fail-on",
        help="Stop before the push on findings at or above: critical|high|medium|low; none turns the gate off.",
    ),
    policy: list[Path] = typer.Option([], "--policy", help="Extra Rego policy file or folder (repeatable)."),
    allowed_registry: list[str] = typer.Option(
        [], "--allowed-registry", help="Registries base images may come from (repeatable)."
    ),
    verify: bool = typer.Option(
        True, "--verify/--no-verify", help="Start the image and check it answers before anything is pushed."
    ),
    verify_timeout: float = typer.Option(
        60.0, "--verify-timeout", min=1, max=3600, help="Seconds a server may take to answer."
    ),
    env_file: Path | None = typer.Option(None, "--env-file", help="A KEY=VALUE file for the app (not stored)."),
    approve: str | None = typer.Option(
        None, "--approve", help="Steps that wait for your approval: push, deploy (comma-separated)."
    ),
    yes: bool = typer.Option(False, "--yes", "-y", help="Approve every step --approve names."),
    deploy: bool = typer.Option(
        False, "--deploy", help="Apply the manifests to the cluster (KUBECONFIG) and wait until they run and answer."
    ),
    context: str | None = typer.Option(None, "--context", help="kubeconfig context for --deploy."),
    k8s_overlay: str | None = typer.Option(
        None, "--k8s-overlay", help="Kustomize overlay to apply: local (one node, host networking)."
    ),
    rollback: bool = typer.Option(
        True, "--rollback/--no-rollback", help="Roll a failed new version back to the previous revision."
    ),
    deploy_timeout: float = typer.Option(
        180.0, "--deploy-timeout", min=1, max=3600, help="Seconds a rollout may take."
    ),
    registry_user: str | None = typer.Option(
        None, "--registry-user", help="Registry user for --password-stdin (default: CONTAINERKIT_REGISTRY_USER)."
    ),
    password_stdin: bool = typer.Option(
        False, "--password-stdin", help="Read the registry password from stdin (never stored)."
    ),
    registry_ca: Path | None = typer.Option(
        None, "--registry-ca", help="CA certificate (PEM) of a TLS registry with a private CA."
    ),
    push_timeout: float | None = typer.Option(
        None, "--push-timeout", min=1, max=24 * 3600, help="Seconds one push attempt may take (default 900)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the result as one JSON object."),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Show the build log."),
) -> None:
    """Analyze, write a Dockerfile, build, verify, scan, push, write manifests (and deploy): one session."""
    from containerkit.cli._render import ProgressRenderer
    from containerkit.graph import run_session
    from containerkit.state import RunOptions

    env = current_env()
    app_env = _app_env(env_file, env_items)
    if image is not None:
        from containerkit.tools.images import parse_image_ref

        parse_image_ref(image)  # an empty or invalid --image is refused before a session starts
    options = RunOptions(
        image=image,
        registry=_registry(registry) if registry is not None else env.settings.registry,
        force=force,
        module=module,
        base_image=base_image,
        manifests_dir=str(check_folder_target(out).absolute()) if out else None,
        namespace=namespace,
        max_fix_attempts=max_fix_attempts,
        no_cache=no_cache,
        scan=scan,
        fail_on=_check_fail_on(fail_on),
        policies=[str(p.absolute()) for p in policy],
        allowed_registries=allowed_registry,
        verify=verify,
        verify_timeout=verify_timeout,
        env_names=sorted(app_env),
        approve=_check_approve(approve),
        deploy=deploy,
        kube_context=context,
        k8s_overlay=_check_overlay(k8s_overlay),
        rollback=rollback,
        deploy_timeout=deploy_timeout,
        registry_ca=str(_registry_ca(registry_ca)) if registry_ca else None,
        push_timeout=push_timeout,
    )
    auth = _stdin_auth(registry_user, options.registry) if password_stdin else None
    with ProgressRenderer(env.err, verbose=verbose) as render:
        session = run_session(
            path,
            options,
            settings=env.settings,
            deps=_deps(app_env, auth),
            on_event=render,
            approver=_approver(yes, render),
        )
    _finish(session, as_json)


def _registry(value: str) -> str:
    from containerkit.tools.images import parse_registry

    return parse_registry(value)


def _check_overlay(value: str | None) -> str | None:
    from containerkit.agents.deploy import OVERLAYS

    if value is not None and value not in OVERLAYS:
        raise InvalidOption(f"--k8s-overlay: no overlay {value!r}", hint="Overlays: " + ", ".join(OVERLAYS) + ".")
    return value


def _deploy_row(session: Session) -> str:
    d = session.deployment
    assert d is not None
    if d.removed:
        return d.message
    if not d.applied:
        return d.message
    parts = [
        f"{'ready' if d.ready else 'not ready'}: {d.namespace}/{d.name} revision {d.revision or '-'}",
        f"{d.time_to_ready_s:.1f}s to ready" if d.time_to_ready_s is not None else "",
        f"{d.url} answered {d.status_code}" if d.url and d.status_code else "",
        f"rolled back to revision {d.rolled_back_to}" if d.rolled_back_to else "",
    ]
    return " · ".join(p for p in parts if p)


def _app_env(env_file: Path | None, items: list[str]) -> dict[str, str]:
    from containerkit.tools.envfile import parse_env, read_env_file

    values = read_env_file(env_file) if env_file is not None else {}
    return {**values, **parse_env(items)}


def _check_approve(value: str | None) -> list[Any]:
    steps = [s.strip() for s in (value or "").split(",") if s.strip()]
    bad = [s for s in steps if s not in ("push", "deploy")]
    if bad:
        raise InvalidOption(
            f"--approve: unknown step {bad[0]!r}", hint="Steps that can wait for approval: push, deploy."
        )
    return list(dict.fromkeys(steps))


def _approver(yes: bool, render: ProgressRenderer) -> Any:
    """--yes approves; a terminal asks; otherwise the run pauses and `resume ID --approve` answers."""
    env = current_env()
    if yes:
        return lambda _q: {"approved": True, "note": "--yes"}
    if not (env.stdin_is_tty and env.stderr.isatty()):
        return None

    def ask(question: dict[str, Any]) -> object:
        render.pause()
        step, image = question.get("step"), question.get("image")
        where = f" to {question['registry']}" if step == "push" and question.get("registry") else ""
        try:
            return {"approved": typer.confirm(f"{step} {image}{where}?", default=False, err=True), "note": "terminal"}
        finally:
            render.resume()

    return ask


def _check_fail_on(value: str | None) -> str | None:
    if value is None or value == "none":
        return None
    from containerkit.tools.scan import check_fail_on

    return check_fail_on(value)


def _deps(app_env: dict[str, str] | None = None, auth: dict[str, str] | None = None) -> Deps:
    """The run's context: credentials from --password-stdin, else CONTAINERKIT_REGISTRY_USER/_PASSWORD
    (the infra agent falls back to Docker's config.json and its credential helpers)."""
    from containerkit.agents import Deps

    env = current_env()
    user, password = env.environ.get("CONTAINERKIT_REGISTRY_USER"), env.environ.get("CONTAINERKIT_REGISTRY_PASSWORD")
    if auth is None and user and password:
        auth = {"username": user, "password": password, "source": "CONTAINERKIT_REGISTRY_USER/_PASSWORD"}
    return Deps(settings=env.settings, registry_auth=auth, env=dict(app_env or {}), llm=env.settings.chat_model())


def _stdin_auth(user: str | None, registry: str | None) -> dict[str, str]:
    from containerkit.cli.cmd_registry import password_from_stdin

    creds = password_from_stdin(current_env(), user, registry or "")
    return {"username": creds.username, "password": creds.password.get_secret_value(), "source": creds.source}


def _registry_ca(path: Path) -> Path:
    from containerkit.cli.cmd_registry import registry_ca

    return registry_ca(path)


@handle_errors
def resume_cmd(
    session_id: str = typer.Argument(..., help="Session id (or a unique prefix)."),
    env_items: list[str] = typer.Option([], "--env", "-e", help="KEY=VALUE for the app (repeatable; never stored)."),
    env_file: Path | None = typer.Option(None, "--env-file", help="A KEY=VALUE file for the app (not stored)."),
    approve: bool | None = typer.Option(
        None, "--approve/--reject", help="Answer the step the session waits on (a push or a deploy)."
    ),
    note: str = typer.Option("", "--note", help="Why (recorded with the decision)."),
    yes: bool = typer.Option(False, "--yes", "-y", help="Approve every step the session waits on."),
    registry_user: str | None = typer.Option(
        None, "--registry-user", help="Registry user for --password-stdin (default: CONTAINERKIT_REGISTRY_USER)."
    ),
    password_stdin: bool = typer.Option(
        False, "--password-stdin", help="Read the registry password from stdin (never stored)."
    ),
    registry_ca: Path | None = typer.Option(
        None, "--registry-ca", help="CA certificate (PEM) of a TLS registry with a private CA."
    ),
    push_timeout: float | None = typer.Option(
        None, "--push-timeout", min=1, max=24 * 3600, help="Seconds one push attempt may take."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the result as one JSON object."),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Show the build log."),
) -> None:
    """Continue a session from its last checkpoint (finished stages are not redone); a failed one is retried."""
    from containerkit.cli._render import ProgressRenderer
    from containerkit.graph import resume_session

    env = current_env()
    app_env = _app_env(env_file, env_items)
    decision = None if approve is None else {"approved": approve, "note": note or "resume"}
    changed: dict[str, Any] = {"env_names": sorted(app_env)} if app_env else {}
    if registry_ca is not None:
        changed["registry_ca"] = str(_registry_ca(registry_ca))
    if push_timeout is not None:
        changed["push_timeout"] = push_timeout
    auth = _stdin_auth(registry_user, None) if password_stdin else None
    with ProgressRenderer(env.err, verbose=verbose) as render:
        session = resume_session(
            session_id,
            settings=env.settings,
            deps=_deps(app_env, auth),
            on_event=render,
            decision=decision,
            approver=_approver(yes, render),
            options=changed or None,
        )
    _finish(session, as_json)


@handle_errors
def deploy_cmd(
    session_id: str = typer.Argument(..., help="Session id (or a unique prefix) whose image to deploy."),
    context: str | None = typer.Option(None, "--context", help="kubeconfig context (default: the current one)."),
    namespace: str | None = typer.Option(None, "--namespace", help="Namespace (default: the context's)."),
    k8s_overlay: str | None = typer.Option(
        None, "--k8s-overlay", help="Kustomize overlay to apply: local (one node, host networking)."
    ),
    rollback: bool = typer.Option(
        True, "--rollback/--no-rollback", help="Roll a failed new version back to the previous revision."
    ),
    deploy_timeout: float = typer.Option(
        180.0, "--deploy-timeout", min=1, max=3600, help="Seconds a rollout may take."
    ),
    yes: bool = typer.Option(False, "--yes", "-y", help="Approve the deploy if the session asked for approval."),
    as_json: bool = typer.Option(False, "--json", help="Print the result as one JSON object."),
) -> None:
    """Apply a session's manifests to the cluster (KUBECONFIG), wait for the rollout, check it answers."""
    from containerkit.cli._render import ProgressRenderer
    from containerkit.graph import deploy_session

    env = current_env()
    options: dict[str, Any] = {"rollback": rollback, "deploy_timeout": deploy_timeout}
    if context is not None:
        options["kube_context"] = context
    if namespace is not None:
        options["namespace"] = namespace
    if k8s_overlay is not None:
        options["k8s_overlay"] = _check_overlay(k8s_overlay)
    with ProgressRenderer(env.err) as render:
        session = deploy_session(
            session_id,
            settings=env.settings,
            deps=_deps(),
            on_event=render,
            approver=_approver(yes, render),
            options=options,
        )
    _finish(session, as_json)


@handle_errors
def undeploy_cmd(
    session_id: str = typer.Argument(..., help="Session id (or a unique prefix) whose deployment to remove."),
    as_json: bool = typer.Option(False, "--json", help="Print the result as one JSON object."),
) -> None:
    """Delete what the session applied to the cluster: only objects containerkit still manages."""
    from containerkit.cli._render import ProgressRenderer
    from containerkit.graph import undeploy_session

    env = current_env()
    with ProgressRenderer(env.err) as render:
        session = undeploy_session(session_id, settings=env.settings, on_event=render)
    d = session.deployment
    if as_json:
        _print_json({"session_id": session.session_id, "deployment": d.model_dump(mode="json") if d else None})
    else:
        env.out.print(escape(d.message if d else "-"))
    if d is not None and not d.removed:
        raise typer.Exit(1)


@sessions_app.command("list")
@handle_errors
def sessions_list(as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Saved sessions, newest first."""
    from rich.table import Table

    from containerkit.graph import SessionStore

    env = current_env()
    if not env.settings.sessions_db.exists():
        infos = []
    else:
        with SessionStore(env.settings.sessions_db) as store:
            infos = store.list()
    if as_json:
        _print_json([i.__dict__ for i in infos])
        return
    table = Table("session", "status", "updated", "repo")
    for i in infos:
        table.add_row(i.session_id, i.status, i.updated, i.repo)
    env.out.print(table)
    for problem in [i.problem for i in infos if i.problem]:  # reported; never hides the others
        env.err.print(f"[yellow]warning:[/] {escape(problem)}; see `containerkit sessions doctor`")


@sessions_app.command("show")
@handle_errors
def sessions_show(
    session_id: str = typer.Argument(..., help="Session id (or a unique prefix)."),
    as_json: bool = typer.Option(False, "--json", help="Print the whole session state as JSON."),
) -> None:
    """One session: status, stages, recovery attempts, errors."""
    from rich.table import Table

    from containerkit.graph import SessionStore

    env = current_env()
    with SessionStore(env.settings.sessions_db) as store:
        session = store.load(store.resolve(session_id))
    if as_json:
        _print_json(session.model_dump(mode="json"))
        return
    summary = session.summary()
    env.out.print(f"[bold]{session.session_id}[/] {session.status}  {escape(session.repo_path)}")
    table = Table("stage", "ok", "duration", "note / error")
    for h in session.history:
        table.add_row(h.stage, "yes" if h.ok else "no", f"{h.duration_s:.1f}s", escape(h.error or h.note or ""))
    env.out.print(table)
    for a in session.recovery:
        outcome = f" -> {a.outcome}" if a.outcome else ""
        env.out.print(
            escape(f"recovery {a.number}: {a.action} after {a.code} ({a.cause}, by {a.by}): {a.detail}{outcome}")
        )
        for line in a.evidence[:3]:
            env.out.print(escape(f"    evidence: {line}"))
    if session.verify is not None:
        v = session.verify
        env.out.print(
            escape(f"verify: {'passed' if v.passed else 'failed'}: {v.reason} ({v.kind}, {v.duration_s:.1f}s)")
        )
        if not v.passed and v.log_tail:
            env.out.print(escape("  log tail:\n" + "\n".join("    " + ln for ln in v.log_tail.splitlines()[-12:])))
    if session.needs:
        env.out.print(escape(f"needs: {', '.join(session.needs)}"))
    for key in ("image", "digest", "dockerfile"):
        env.out.print(escape(f"{key}: {summary.get(key) or '-'}"))
    if session.deployment is not None and (session.deployment.applied or session.deployment.removed):
        env.out.print(escape(f"deployment: {_deploy_row(session)}"))
    for e in session.errors:
        env.out.print(f"[red]error[/] {escape(f'[{e.code}] ({e.stage}) {e.message}')}\n  hint: {escape(e.hint)}")


def register(app: typer.Typer) -> None:
    app.command("analyze")(analyze_cmd)
    app.command("dockerfile")(dockerfile_cmd)
    app.command("run")(run_cmd)
    app.command("resume")(resume_cmd)
    app.command("deploy")(deploy_cmd)
    app.command("undeploy")(undeploy_cmd)
    app.add_typer(sessions_app, name="sessions")
