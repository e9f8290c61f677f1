"""The deploy agent: Kubernetes manifests for the pushed image, and with ``--deploy`` a verified rollout.

It writes the manifests as a Kustomize tree (``k8s/base`` + ``k8s/overlays/local``) next to the
module, or into the session folder when that folder holds the user's own files. With
``options.deploy`` it applies the base (or the overlay ``--k8s-overlay`` names) to the cluster
``KUBECONFIG`` / ``--context`` points at, waits for the rollout, checks the app answers, and rolls a
failed new version back; the outcome is ``Session.deployment``. A failure is classified by the
orchestrator from its evidence (pod statuses, events, the container's log).
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel

from containerkit.agents._common import deployed_image, module_dir, selected_module, session_dir
from containerkit.agents._deps import Deps
from containerkit.agents._stage import agent_node
from containerkit.errors import ContainerKitError, InvalidOption, OutputRefused, RolloutFailed
from containerkit.state import DeploymentStatus, ManifestInfo, Session
from containerkit.tools.analyze.naming import image_name
from containerkit.tools.diagnose.config import required_env_names
from containerkit.tools.k8s.cluster import validate_on_cluster
from containerkit.tools.k8s.kustomize import Overlay, local_overlay, render, write_layout
from containerkit.tools.k8s.models import OVERLAYS, AppliedObject, ExtraObjects, KubeTarget, PodInfo
from containerkit.tools.manifests import ManifestRequest, ManifestSet, generate_manifests
from containerkit.tools.progress import ProgressSink
from containerkit.tools.results_cache import CacheKey, ResultCache, code_fingerprint, content_digests, digest_of
from containerkit.tools.verify import free_port

__all__ = ["OVERLAYS", "deploy"]
_MARK = "app.kubernetes.io/managed-by: containerkit"
_PORT_PATH = "/spec/template/spec/containers/0/ports/0/containerPort"


def _user_owned(out: Path) -> bool:
    """A manifest folder holding YAML that containerkit did not write is the user's."""
    with contextlib.suppress(OSError):
        for p in [*out.glob("*.yaml"), *out.glob("*.yml")]:
            if p.is_file() and _MARK not in p.read_text(encoding="utf-8", errors="replace"):
                return True
    return False


def _container_port(state: Session, analyzed: int | None) -> int:
    """The port the app was seen answering on when it ignores $PORT; else the analyzed one."""
    v = state.verify
    if v is not None and v.answered and v.honours_port_env is False and v.port:
        return v.port
    return analyzed or 8080


def _local_port(out: Path, state: Session, base_port: int) -> int:
    """The host port of the local overlay: the one it had (stable across redeploys), else a free one.

    An app that ignores $PORT keeps its own port (the overlay cannot move it).
    """
    v = state.verify
    if v is not None and v.honours_port_env is False:
        return base_port
    with contextlib.suppress(OSError, yaml.YAMLError, KeyError, TypeError, ValueError, StopIteration):
        k = yaml.safe_load((out / "overlays" / "local" / "kustomization.yaml").read_text(encoding="utf-8"))
        for patch in k.get("patches") or []:
            for op in yaml.safe_load(patch["patch"]) or []:
                if op.get("path") == _PORT_PATH:
                    return int(op["value"])
    return free_port()


def _probe_path(state: Session, health: str | None) -> str | None:
    """The health path for the probes, unless a rollout showed the path's probe failing (then TCP)."""
    if any(a.cause == "probe_failing" and a.agent == "deploy" for a in state.recovery):
        return None
    return health


# folders that hold no code in any image: an emptyDir there keeps the root filesystem read-only
_SCRATCH = ("/tmp/", "/var/", "/run/", "/home/", "/root/")


def _writable(state: Session) -> tuple[list[str], bool]:
    """(emptyDir folders, read-only root) after the rollouts that crashed writing to the read-only root.

    A folder under a scratch root gets an emptyDir; a write anywhere else (next to the code) makes the
    root filesystem writable: Pod Security ``restricted`` does not require it read-only.
    """
    paths, read_only = ["/tmp"], True
    for a in state.recovery:
        if a.cause != "read_only_filesystem" or a.agent != "deploy" or a.diagnosis is None:
            continue
        target = (a.diagnosis.subject or "").rstrip("/")
        folder = str(Path(target).parent) if target else ""
        if any((folder + "/").startswith(root) for root in _SCRATCH) and folder.count("/") >= 2:
            paths.append(folder)
        else:
            read_only = False
    return list(dict.fromkeys(paths)), read_only


def _config_names(state: Session, folder: Path) -> list[str]:
    names = [n for n in [*required_env_names(folder), *state.options.env_names] if n != "PORT"]
    return list(dict.fromkeys(names))


def _write(
    state: Session, deps: Deps, sink: ProgressSink, manifests: ManifestSet, out: Path, port_of: Any
) -> tuple[ManifestInfo, dict[str, Overlay], str | None]:
    note = None
    if _user_owned(out) and not state.options.force:
        note = f"{out} holds your own manifests: wrote containerkit's to the session folder instead"
        out = session_dir(state, deps) / "k8s"
    overlays = {"local": local_overlay(manifests, port=port_of(out))}
    try:
        layout = write_layout(manifests, out, list(overlays.values()))
    except OutputRefused as exc:
        note = f"{exc.message}: wrote containerkit's manifests to the session folder instead"
        out = session_dir(state, deps) / "k8s"
        overlays = {"local": local_overlay(manifests, port=port_of(out))}
        layout = write_layout(manifests, out, list(overlays.values()))
    if note:
        sink({"kind": "warning", "stage": "deploy", "message": note})
    info = ManifestInfo(
        paths=layout.base,
        kinds=[str(d["kind"]) for d in manifests.documents],
        root=layout.root,
        overlays=layout.overlays,
    )
    return info, overlays, note


@agent_node("deploy")
def deploy(state: Session, deps: Deps, sink: ProgressSink) -> dict[str, Any]:
    module = selected_module(state)
    image = deployed_image(state)
    assert image is not None
    opts = state.options
    if opts.k8s_overlay and opts.k8s_overlay not in OVERLAYS:
        raise InvalidOption(f"--k8s-overlay: no overlay {opts.k8s_overlay!r}", hint="Overlays: " + ", ".join(OVERLAYS))
    folder = module_dir(state, module)
    base_port = _container_port(state, module.port)
    health = _probe_path(state, module.health_path)
    writable, read_only = _writable(state)
    request = ManifestRequest(
        name=image_name(module.name, module.path, state.repo_path),  # never a bare "web" or "python"
        image=image,
        port=base_port,
        health_path=health,
        namespace=opts.namespace,
        run_as_user=state.dockerfile.user_uid if state.dockerfile else None,
        config_names=_config_names(state, folder),
        writable_paths=writable,
        read_only_root=read_only,
        extras=ExtraObjects(
            ingress_host=opts.ingress_host,
            ingress_class=opts.ingress_class,
            hpa=opts.hpa,
            pdb_min_available=opts.pdb_min_available,
            network_policy=opts.network_policy,
        ),
    )
    out = Path(opts.manifests_dir) if opts.manifests_dir else folder / "k8s"
    cache = deps.results(enabled=not opts.no_cache)
    key = CacheKey(
        kind="manifests",
        subject=str(out),
        inputs={
            "request": digest_of(request.model_dump(mode="json")),
            "out": str(out),
            "force": str(opts.force),
            "code": code_fingerprint(),
        },
    )
    if not opts.deploy:  # a deploy applies the documents: they are built either way
        reused = _reuse(cache, key)
        if reused is not None:
            sink(
                {
                    "kind": "log",
                    "stage": "deploy",
                    "message": f"manifests: {out} is as an identical run left it (cached)",
                }
            )
            return {"manifests": reused, "deployment": DeploymentStatus(image=image), "_note": None}
    manifests = generate_manifests(request)
    # the API server validates before anything is written (the apply path dry-runs what it applies itself)
    target = KubeTarget(kubeconfig=deps.kubeconfig, context=opts.kube_context, namespace=opts.namespace)
    checked = validate_on_cluster(target, manifests.documents).model_dump() if not opts.deploy else {}
    info, overlays, note = _write(state, deps, sink, manifests, out, lambda o: _local_port(o, state, base_port))
    if not opts.deploy:
        info = info.model_copy(update=checked)
    if note is None and info.root is not None:
        cache.put(key, _Written(info=info, files=content_digests(Path(info.root))))
    if not opts.deploy:
        return {"manifests": info, "deployment": DeploymentStatus(image=image), "_note": note}
    applied = _apply(state, deps, sink, manifests, overlays, image, health)
    dep = applied["deployment"]
    if dep.applied:  # past the API server's dry run
        info = info.model_copy(update={"validated_by": "api-server"})
    else:
        info = info.model_copy(update={"validation_note": dep.message})
    return {"manifests": info, **applied}


class _Written(BaseModel):
    """Manifests as written: where, and each file's content digest (to see they are still as written)."""

    info: ManifestInfo
    files: dict[str, str]


def _reuse(cache: ResultCache, key: CacheKey) -> ManifestInfo | None:
    """The manifests an identical run wrote, if every file is still there as written (and no other)."""
    hit = cache.get(key, _Written)
    if hit is None or hit[0].info.root is None:
        return None
    written = hit[0]
    if content_digests(Path(str(written.info.root))) != written.files:
        return None
    return written.info.model_copy(update={"cached": True})


def _apply(
    state: Session,
    deps: Deps,
    sink: ProgressSink,
    manifests: ManifestSet,
    overlays: dict[str, Overlay],
    image: str,
    health: str | None,
) -> dict[str, Any]:
    from containerkit.tools.k8s.cluster import connect
    from containerkit.tools.k8s.rollout import DeployRequest, deploy_manifests

    opts = state.options
    overlay = overlays.get(opts.k8s_overlay) if opts.k8s_overlay else None
    docs = render(manifests, overlay).documents
    cluster = connect(KubeTarget(kubeconfig=deps.kubeconfig, context=opts.kube_context, namespace=opts.namespace))
    where = dict(context=cluster.context, namespace=cluster.namespace, overlay=opts.k8s_overlay, image=image)
    name = str(manifests.by_kind("Deployment")["metadata"]["name"])
    sink(
        {"kind": "deploy", "stage": "deploy", "message": f"applying to {cluster.server} namespace {cluster.namespace}"}
    )
    try:
        res = deploy_manifests(
            cluster,
            DeployRequest(
                documents=docs,
                rollback=opts.rollback,
                health_path=health,
                timeout_s=opts.deploy_timeout,
            ),
            on_progress=sink,
        )
    except RolloutFailed as exc:
        ctx = exc.context
        status = DeploymentStatus(
            applied=True,
            ready=False,
            message=exc.message,
            name=name,
            previous_revision=_int(ctx.get("previous_revision")),
            revision=_int(ctx.get("revision_now")) or _int(ctx.get("revision")),
            rolled_back_to=_int(ctx.get("rolled_back_to")),
            objects=[AppliedObject.model_validate(o) for o in _list(ctx.get("applied"))],
            pods=[PodInfo.model_validate(p) for p in _list(ctx.get("pods"))],
            url=str(ctx["rollback_url"]) if ctx.get("rollback_url") else None,
            missing_config=dict(ctx.get("missing_config") or {}),  # type: ignore[call-overload]
            **where,
        )
        return {"deployment": status, "_error": exc}
    except ContainerKitError as exc:
        return {"deployment": DeploymentStatus(message=exc.message, name=name, **where), "_error": exc}
    status = DeploymentStatus(
        applied=True,
        ready=True,
        message=f"revision {res.revision} ready in {res.time_to_ready_s:.1f}s"
        + (f"; {res.url} answered {res.status_code}" if res.url else ""),
        name=res.name,
        revision=res.revision,
        previous_revision=res.previous_revision,
        objects=res.applied,
        pods=res.pods,
        time_to_ready_s=res.time_to_ready_s,
        url=res.url,
        status_code=res.status_code,
        answered=res.answered,
        missing_config=res.missing_config,
        **where,
    )
    if res.answered is False:
        err = RolloutFailed(
            f"the pods of {res.namespace}/{res.name} are Ready but {res.url} does not answer (status {res.status_code})",
            hint="Check the port and the health path the probes use; the app may answer on another port.",
        )
        return {"deployment": status.model_copy(update={"ready": False}), "_error": err}
    return {"deployment": status, "_note": status.message}


def _int(v: object) -> int | None:
    return v if isinstance(v, int) else None


def _list(v: object) -> list[Any]:
    return list(v) if isinstance(v, list) else []
