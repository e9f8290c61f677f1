"""The main commands: analyze, dockerfile, run, sessions, resume."""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Iterator
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
    from containerkit.state import RunOptions, Session
    from containerkit.tools.image_size import ImageSize

# The graph, agents and tools are imported inside each command: `containerkit --help` and
# `containerkit lint` should not pay for LangGraph's start-up.

__all__ = ["register"]

sessions_app = typer.Typer(help="List and inspect saved sessions.", no_args_is_help=True)


def _print_json(obj: Any) -> None:
    print(json.dumps(obj, indent=2, default=str), file=current_env().stdout)


# deploy options run and deploy share (one definition: the two commands cannot drift apart)
_K8S_OVERLAY = typer.Option(
    None, "--k8s-overlay", help="Kustomize overlay to apply: local (one node, host networking)."
)
_ROLLBACK = typer.Option(
    True, "--rollback/--no-rollback", help="Roll a failed new version back to the previous revision."
)
_DEPLOY_TIMEOUT = typer.Option(180.0, "--deploy-timeout", min=1, max=3600, help="Seconds a rollout may take.")
_INGRESS_HOST = typer.Option(
    None, "--ingress-host", help="Also write an Ingress routing this host name to the Service."
)
_INGRESS_CLASS = typer.Option(None, "--ingress-class", help="The Ingress's class (ingressClassName).")
_HPA = typer.Option(None, "--hpa", help="Also write a HorizontalPodAutoscaler: MIN:MAX replicas (e.g. 2:5), on CPU.")
_HPA_CPU = typer.Option(80, "--hpa-cpu", help="The autoscaler's target CPU use, % of the request.")
_PDB = typer.Option(None, "--pdb", help="Also write a PodDisruptionBudget: pods that stay up in a drain (1, or 50%).")
# registry options run and resume share
_REGISTRY_USER = typer.Option(
    None, "--registry-user", help="Registry user for --password-stdin (default: CONTAINERKIT_REGISTRY_USER)."
)
_PASSWORD_STDIN = typer.Option(False, "--password-stdin", help="Read the registry password from stdin (never stored).")
_REGISTRY_CA = typer.Option(None, "--registry-ca", help="CA certificate (PEM) of a TLS registry with a private CA.")
_PUSH_TIMEOUT = typer.Option(
    None, "--push-timeout", min=1, max=24 * 3600, help="Seconds one push attempt may take (default 900)."
)
_NETWORK_POLICY = typer.Option(
    False, "--network-policy", help="Also write a NetworkPolicy admitting traffic to the app's port only."
)


@handle_errors
def analyze_cmd(
    path: Path = typer.Argument(..., help="Repository folder."),
    as_json: bool = typer.Option(False, "--json", help="Print the analysis as JSON."),
) -> None:
    """Detect the deployable modules of a repository and what each needs to run."""
    from containerkit.cli._analysis_out import print_analysis
    from containerkit.tools.analyze import analyze_repo

    print_analysis(analyze_repo(path), as_json, current_env().stdout)


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
    if gen.base_reason:
        env.err.print(f"base: {escape(gen.base_reason)}")
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


def _size_line(size: ImageSize) -> str:
    """The image's size, what the base holds of it, the biggest layer of its own, the naive ratio."""
    parts = [f"{size.size_bytes / 1e6:.1f} MB"]
    if size.base_size_bytes is not None:
        parts.append(f"base {size.base_image} {size.base_size_bytes / 1e6:.1f} MB")
    own = [layer for layer in size.layers if not layer.base]
    if own:
        top = max(own, key=lambda layer: layer.size_bytes)
        parts.append(f"largest step {top.size_bytes / 1e6:.1f} MB: {top.created_by[:60]}")
    if size.naive_size_bytes:
        parts.append(f"naive single-stage {size.naive_size_bytes / 1e6:.1f} MB ({size.ratio_to_naive:.2f}x)")
    return " · ".join(parts)


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
        if session.build is not None and session.build.size is not None:
            table.add_row("size", escape(_size_line(session.build.size)))
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
    compare_naive: bool = typer.Option(
        False, "--compare-naive", help="Also build a naive single-stage image of the app and report both sizes."
    ),
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
    k8s_overlay: str | None = _K8S_OVERLAY,
    rollback: bool = _ROLLBACK,
    deploy_timeout: float = _DEPLOY_TIMEOUT,
    ingress_host: str | None = _INGRESS_HOST,
    ingress_class: str | None = _INGRESS_CLASS,
    hpa: str | None = _HPA,
    hpa_cpu: int = _HPA_CPU,
    pdb: str | None = _PDB,
    network_policy: bool = _NETWORK_POLICY,
    registry_user: str | None = _REGISTRY_USER,
    password_stdin: bool = _PASSWORD_STDIN,
    registry_ca: Path | None = _REGISTRY_CA,
    push_timeout: float | None = _PUSH_TIMEOUT,
    label: list[str] = typer.Option(
        [], "--label", "-l", help="KEY=VALUE tag for the session (repeatable; `sessions list --label` finds it)."
    ),
    metrics_port: int | None = typer.Option(
        None, "--metrics-port", min=0, max=65535, help="Serve Prometheus metrics of this run on 127.0.0.1:PORT."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the result as one JSON object."),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Show the build log."),
) -> None:
    """Analyze, write a Dockerfile, build, verify, scan, push, write manifests (and deploy): one session."""
    from containerkit.state import RunOptions

    env = current_env()
    labels = parse_labels(label)
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
        compare_naive=compare_naive,
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
        **_extras(ingress_host, ingress_class, hpa, hpa_cpu, pdb, network_policy),
        registry_ca=str(_registry_ca(registry_ca)) if registry_ca else None,
        push_timeout=push_timeout,
    )
    auth = _stdin_auth(registry_user, options.registry) if password_stdin else None
    with _then_warm():
        if metrics_port is None and _reuse_unchanged(path, options, app_env, labels, auth, as_json):
            return
        from containerkit.graph.speculate import abandon_speculation, speculate

        with contextlib.suppress(OSError):  # the build the last run did starts while the graph loads
            speculate(path.expanduser(), options, env.settings)
        from containerkit.cli._render import ProgressRenderer
        from containerkit.graph import new_session_id, run_session

        sid = new_session_id()
        deps = _deps(app_env, auth)
        with contextlib.ExitStack() as stack:
            stack.callback(abandon_speculation)
            if metrics_port is not None:
                server = _serve_run_metrics(sid, deps, metrics_port)
                stack.callback(server.close)
                env.err.print(f"metrics: {server.url}")
            render = stack.enter_context(ProgressRenderer(env.err, verbose=verbose))
            session = run_session(
                path,
                options,
                settings=env.settings,
                deps=deps,
                on_event=render,
                approver=_approver(yes, render),
                session_id=sid,
                labels=labels,
            )
        _finish(session, as_json)


@contextlib.contextmanager
def _then_warm() -> Iterator[None]:
    """After a run in its own process that ended (succeeded, failed or paused; not Ctrl-C), a warm
    server for the next run of this home (see cli._warm)."""
    try:
        yield
    except typer.Exit:
        _auto_warm()
        raise
    _auto_warm()


def _auto_warm() -> None:
    from containerkit.cli._warm import AUTO_IDLE, auto_start

    env = current_env()
    with contextlib.suppress(OSError):
        pid = auto_start(env.settings.home, env.environ)
        if pid is not None:
            env.err.print(
                f"started warm server {pid}: the next runs of this home skip the start-up "
                f"(it stops after {AUTO_IDLE} without one; CONTAINERKIT_AUTO_WARM=0 turns this off)"
            )


def _reuse_unchanged(
    path: Path,
    options: RunOptions,
    app_env: dict[str, str],
    labels: dict[str, str],
    auth: dict[str, str] | None,
    as_json: bool,
) -> bool:
    """A rerun with nothing changed prints the earlier session's verified result (checked against the
    engine and the registry) without loading the graph; False: run the session."""
    from containerkit.graph.rerun import find_unchanged

    env = current_env()
    repo = path.expanduser()
    if not repo.is_dir():
        return False  # the session reports the bad path
    reused = find_unchanged(
        repo.resolve(), options, env.settings, env=app_env, labels=labels, auth=auth, environ=env.environ
    )
    if reused is None:
        return False
    env.err.print(
        escape(
            f"nothing changed since session {reused.reused_from}: the image it built, verified, scanned"
            + (" and pushed" if reused.images.pushed else "")
            + " is what the engine"
            + (" and the registry" if reused.images.pushed else "")
            + " still hold; reused (--no-cache runs every stage again)"
        )
    )
    _finish(reused, as_json)
    return True


def _extras(
    ingress_host: str | None,
    ingress_class: str | None,
    hpa: str | None,
    hpa_cpu: int,
    pdb: str | None,
    network_policy: bool,
) -> dict[str, Any]:
    """The on-request objects' options, checked at the edge (bad input is exit 2 before a session starts)."""
    from containerkit.tools.manifests import parse_hpa, parse_ingress_host, parse_min_available

    if ingress_class is not None and not ingress_host:
        raise InvalidOption("--ingress-class without --ingress-host", hint="Pass --ingress-host HOST with it.")
    return {
        "ingress_host": parse_ingress_host(ingress_host) if ingress_host else None,
        "ingress_class": ingress_class,
        "hpa": parse_hpa(hpa, hpa_cpu) if hpa else None,
        "pdb_min_available": parse_min_available(pdb) if pdb else None,
        "network_policy": network_policy,
    }


def _serve_run_metrics(session_id: str, deps: Deps, port: int) -> Any:
    """This run's session (read from the store at each scrape) and the live build and scan collectors."""
    from containerkit.graph.metrics_server import SessionCollector, serve_metrics, store_sessions
    from containerkit.tools.metrics import BuildSecMetrics

    deps.metrics = deps.metrics or BuildSecMetrics()
    collector = SessionCollector(store_sessions(deps.settings.sessions_db, session_id))
    return serve_metrics([collector, deps.metrics.registry], port=port)


_LABEL_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-/]{0,62}\Z")


def parse_labels(items: list[str]) -> dict[str, str]:
    """``["team=shop", "env=dev"]`` -> a dict; keys as Kubernetes label keys, values one printable line."""
    out: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not _LABEL_KEY.match(key):
            raise InvalidOption(
                f"--label {item[:60]!r} is not KEY=VALUE",
                hint="Write --label team=shop: a key of letters, digits, '_', '-', '.', '/' (63 at most).",
            )
        if len(value) > 256 or not value.isprintable():
            raise InvalidOption(
                f"--label {key}: the value must be one printable line of at most 256 characters",
                hint="Write --label team=shop.",
            )
        out[key] = value
    return out


def _registry(value: str) -> str:
    from containerkit.tools.images import parse_registry

    return parse_registry(value)


def _check_overlay(value: str | None) -> str | None:
    from containerkit.tools.k8s.models import OVERLAYS

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
    registry_user: str | None = _REGISTRY_USER,
    password_stdin: bool = _PASSWORD_STDIN,
    registry_ca: Path | None = _REGISTRY_CA,
    push_timeout: float | None = _PUSH_TIMEOUT,
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
    k8s_overlay: str | None = _K8S_OVERLAY,
    rollback: bool = _ROLLBACK,
    deploy_timeout: float = _DEPLOY_TIMEOUT,
    ingress_host: str | None = _INGRESS_HOST,
    ingress_class: str | None = _INGRESS_CLASS,
    hpa: str | None = _HPA,
    hpa_cpu: int = _HPA_CPU,
    pdb: str | None = _PDB,
    network_policy: bool = _NETWORK_POLICY,
    yes: bool = typer.Option(False, "--yes", "-y", help="Approve the deploy if the session asked for approval."),
    as_json: bool = typer.Option(False, "--json", help="Print the result as one JSON object."),
) -> None:
    """Apply a session's manifests to the cluster (KUBECONFIG), wait for the rollout, check it answers."""
    from containerkit.cli._render import ProgressRenderer
    from containerkit.graph import deploy_session

    env = current_env()
    options: dict[str, Any] = {
        "rollback": rollback,
        "deploy_timeout": deploy_timeout,
        **{
            k: v
            for k, v in _extras(ingress_host, ingress_class, hpa, hpa_cpu, pdb, network_policy).items()
            if v not in (None, False)  # the session's own choices stay unless overridden
        },
    }
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


STATUSES = ("running", "succeeded", "failed", "needs_config", "stopped", "unreadable")


def session_filter(status: list[str], label: list[str], older_than: str | None, newer_than: str | None) -> Any:
    """The --status / --label / --older-than / --newer-than options as a SessionFilter."""
    from containerkit.graph.sessions import SessionFilter
    from containerkit.settings import parse_duration

    statuses = {s.strip() for item in status for s in item.split(",") if s.strip()}
    bad = sorted(statuses - set(STATUSES))
    if bad:
        raise InvalidOption(f"--status: no status {bad[0]!r}", hint="Statuses: " + ", ".join(STATUSES) + ".")
    return SessionFilter(
        statuses=frozenset(statuses),
        labels=parse_labels(label),
        older_than_s=parse_duration(older_than, what="--older-than") if older_than else None,
        newer_than_s=parse_duration(newer_than, what="--newer-than") if newer_than else None,
    )


@sessions_app.command("list")
@handle_errors
def sessions_list(
    status: list[str] = typer.Option([], "--status", help="Only these statuses (repeatable or comma-separated)."),
    label: list[str] = typer.Option([], "--label", "-l", help="Only sessions with this KEY=VALUE label (repeatable)."),
    older_than: str | None = typer.Option(None, "--older-than", help="Only sessions last updated before: 30d, 12h..."),
    newer_than: str | None = typer.Option(None, "--newer-than", help="Only sessions updated within: 1h, 7d..."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Saved sessions, newest first (filtered by status, label and age)."""
    from rich.table import Table

    from containerkit.graph import SessionStore
    from containerkit.graph.locks import running_sessions

    env = current_env()
    where = session_filter(status, label, older_than, newer_than)
    if not env.settings.sessions_db.exists():
        infos = []
    else:
        with SessionStore(env.settings.sessions_db) as store:
            infos = store.list(where)
    live = running_sessions(env.settings.home)
    if as_json:
        _print_json([{**i.__dict__, "live": i.session_id in live} for i in infos])
        return
    table = Table("session", "status", "updated", "labels", "repo")
    for i in infos:
        shown = f"{i.status} (live)" if i.session_id in live else i.status
        table.add_row(
            i.session_id, shown, i.updated, escape(",".join(f"{k}={v}" for k, v in i.labels.items())), escape(i.repo)
        )
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
    if session.labels:
        env.out.print(escape("labels: " + ", ".join(f"{k}={v}" for k, v in session.labels.items())))
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
