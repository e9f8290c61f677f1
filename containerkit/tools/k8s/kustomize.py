"""The manifests as a Kustomize tree: ``base/`` and ``overlays/<name>/``, rendered here the same way.

An overlay is a list of JSON 6902 operations per object (written into its ``kustomization.yaml`` as
inline ``patches``), so ``kubectl kustomize k8s/overlays/local`` and :func:`render` give the same
objects: what containerkit applies is what a user applying the folder gets.

The ``local`` overlay fits a single node without kube-proxy or CNI (the test cluster of
``scripts/test-infra.sh up --k8s``): host networking on a free host port, ``Recreate`` (a fixed host
port cannot be shared during a rolling update), an autoscaler held at one pod (one pod per node can
hold the port), and an image the node has or can pull from a
registry on 127.0.0.1 (``imagePullPolicy: Never`` otherwise). Host networking is not allowed by Pod
Security Standards, which is why it is an overlay and never the base.

Files are only ever written over files containkit wrote (they carry its marker); a folder holding
the user's own files is refused (:class:`UserFilesFound`), so the caller can write elsewhere.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, Field

from containerkit.errors import OutputRefused, OutputUnwritable
from containerkit.tools.fsio import write_text
from containerkit.tools.manifests import ManifestSet
from containerkit.tools.tracing import traced

__all__ = [
    "MARK",
    "KustomizeLayout",
    "Overlay",
    "OverlayPatch",
    "apply_ops",
    "layout_files",
    "local_overlay",
    "render",
    "user_owned",
    "write_layout",
]

MARK = "# app.kubernetes.io/managed-by: containerkit (written by containerkit; regenerated on each run)\n"
_LABEL = "app.kubernetes.io/managed-by: containerkit"
_LOCAL_REGISTRIES = ("127.0.0.1:", "localhost:", "127.0.0.1/", "localhost/")


class OverlayPatch(BaseModel):
    kind: str
    name: str
    ops: list[dict[str, Any]]
    """JSON 6902 operations (``add`` / ``replace`` / ``remove``)."""


class Overlay(BaseModel):
    name: str
    patches: list[OverlayPatch] = Field(default_factory=list)
    port: int | None = None
    """The port the overlay serves on (a host port for ``local``)."""


class KustomizeLayout(BaseModel):
    root: str
    base: list[str]
    """The base's object files (``deployment.yaml``, ``service.yaml``)."""
    overlays: dict[str, str] = Field(default_factory=dict)
    """Overlay name -> its folder."""
    files: list[str] = Field(default_factory=list)
    """Every file written."""


def _pointer(path: str) -> list[str]:
    if not path.startswith("/"):
        raise ValueError(f"JSON pointer must start with '/': {path!r}")
    return [p.replace("~1", "/").replace("~0", "~") for p in path.split("/")[1:]]


def apply_ops(doc: dict[str, Any], ops: list[dict[str, Any]]) -> dict[str, Any]:
    """``doc`` with the JSON 6902 ``add`` / ``replace`` / ``remove`` operations applied (a copy)."""
    out = copy.deepcopy(doc)
    for op in ops:
        parts = _pointer(str(op["path"]))
        parent: Any = out
        for key in parts[:-1]:
            parent = parent[int(key)] if isinstance(parent, list) else parent[key]
        last = parts[-1]
        kind = op["op"]
        if isinstance(parent, list):
            idx = len(parent) if last == "-" else int(last)
            if kind == "add":
                parent.insert(idx, copy.deepcopy(op["value"]))
            elif kind == "replace":
                parent[idx] = copy.deepcopy(op["value"])
            elif kind == "remove":
                del parent[idx]
            else:
                raise ValueError(f"unsupported op {kind!r}")
        elif kind in ("add", "replace"):
            if kind == "replace" and last not in parent:
                raise ValueError(f"replace of a missing member {op['path']!r}")
            parent[last] = copy.deepcopy(op["value"])
        elif kind == "remove":
            del parent[last]
        else:
            raise ValueError(f"unsupported op {kind!r}")
    return out


def render(manifests: ManifestSet, overlay: Overlay | None) -> ManifestSet:
    """The objects ``kubectl kustomize overlays/<name>`` gives for these base objects."""
    if overlay is None:
        return ManifestSet(documents=copy.deepcopy(manifests.documents))
    docs = []
    for doc in manifests.documents:
        name = str(doc["metadata"]["name"])
        ops = [op for p in overlay.patches if p.kind == doc["kind"] and p.name == name for op in p.ops]
        docs.append(apply_ops(doc, ops) if ops else copy.deepcopy(doc))
    return ManifestSet(documents=docs)


def pulls_from_local_registry(image: str) -> bool:
    return image.startswith(_LOCAL_REGISTRIES)


def local_overlay(manifests: ManifestSet, *, port: int) -> Overlay:
    """Host networking on ``port`` (PORT env, container port, Service port), Recreate, a local image."""
    dep = manifests.by_kind("Deployment")
    name = str(dep["metadata"]["name"])
    pod = dep["spec"]["template"]["spec"]
    c = pod["containers"][0]
    ops: list[dict[str, Any]] = [
        {"op": "add", "path": "/spec/strategy", "value": {"type": "Recreate"}},
        {"op": "add", "path": "/spec/template/spec/hostNetwork", "value": True},
        {"op": "add", "path": "/spec/template/spec/dnsPolicy", "value": "ClusterFirstWithHostNet"},
        {"op": "add", "path": "/spec/template/spec/terminationGracePeriodSeconds", "value": 5},
        {"op": "replace", "path": "/spec/template/spec/containers/0/ports/0/containerPort", "value": port},
    ]
    env = c.get("env") or []
    if env and env[0].get("name") == "PORT":
        ops.append({"op": "replace", "path": "/spec/template/spec/containers/0/env/0/value", "value": str(port)})
    if not pulls_from_local_registry(str(c["image"])):  # an image only the local engine has: never pull it
        ops.append({"op": "replace", "path": "/spec/template/spec/containers/0/imagePullPolicy", "value": "Never"})
    patches = [OverlayPatch(kind="Deployment", name=name, ops=ops)]
    for doc in manifests.documents:
        if doc["kind"] == "Service":
            patches.append(
                OverlayPatch(
                    kind="Service",
                    name=str(doc["metadata"]["name"]),
                    ops=[{"op": "replace", "path": "/spec/ports/0/port", "value": port}],
                )
            )
        elif doc["kind"] == "HorizontalPodAutoscaler":  # one pod per node holds a fixed host port
            one = [{"op": "replace", "path": f"/spec/{k}", "value": 1} for k in ("minReplicas", "maxReplicas")]
            patches.append(OverlayPatch(kind=doc["kind"], name=str(doc["metadata"]["name"]), ops=one))
    return Overlay(name="local", patches=patches, port=port)


def _dump(doc: dict[str, Any]) -> str:
    return MARK + yaml.safe_dump(doc, sort_keys=False)


def layout_files(manifests: ManifestSet, overlays: list[Overlay]) -> dict[str, str]:
    """Relative path -> content of every file of the tree."""
    files: dict[str, str] = {}
    resources = []
    for doc in manifests.documents:
        fname = f"{str(doc['kind']).lower()}.yaml"
        files[f"base/{fname}"] = _dump(doc)
        resources.append(fname)
    files["base/kustomization.yaml"] = _dump(
        {"apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization", "resources": resources}
    )
    for ov in overlays:
        patches = [
            {"target": {"kind": p.kind, "name": p.name}, "patch": yaml.safe_dump(p.ops, sort_keys=False)}
            for p in ov.patches
        ]
        files[f"overlays/{ov.name}/kustomization.yaml"] = _dump(
            {
                "apiVersion": "kustomize.config.k8s.io/v1beta1",
                "kind": "Kustomization",
                "resources": ["../../base"],
                "patches": patches,
            }
        )
    return files


def user_owned(out_dir: Path, rel_paths: list[str]) -> list[Path]:
    """Files among ``rel_paths`` that exist in ``out_dir`` and were not written by containerkit."""
    mine: list[Path] = []
    for rel in rel_paths:
        p = out_dir / rel
        if p.is_symlink() or (p.exists() and not p.is_file()):
            mine.append(p)
            continue
        if p.is_file():
            head = p.read_text(encoding="utf-8", errors="replace")[:4096]
            if _LABEL not in head:
                mine.append(p)
    return mine


def _drop_stale(out_dir: Path, files: dict[str, str]) -> None:
    """Remove base object files containerkit wrote earlier that this layout no longer has (an Ingress no
    longer asked for); files without its marker are the user's and stay."""
    base = out_dir / "base"
    if not base.is_dir():
        return
    for p in base.glob("*.yaml"):
        if f"base/{p.name}" not in files and not user_owned(out_dir, [f"base/{p.name}"]):
            p.unlink(missing_ok=True)


@traced("write_layout")
def write_layout(manifests: ManifestSet, out_dir: Path, overlays: list[Overlay]) -> KustomizeLayout:
    """Write ``base/`` and ``overlays/<name>/`` under ``out_dir``; refuses to replace a user's file."""
    files = layout_files(manifests, overlays)
    theirs = user_owned(out_dir, list(files))
    if theirs:
        raise OutputRefused(
            f"{theirs[0]} is not containerkit's: it is kept",
            hint="Your own manifests are never overwritten; pass --out DIR to write containerkit's elsewhere.",
            paths=[str(p) for p in theirs],
        )
    _drop_stale(out_dir, files)
    written = []
    for rel, text in files.items():
        try:
            (out_dir / rel).parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise OutputUnwritable(
                f"cannot create the manifests folder {(out_dir / rel).parent}: {exc.strerror}",
                hint="Give --out a folder you can write to.",
            ) from None
        written.append(str(write_text(out_dir / rel, text, root=out_dir)))
    return KustomizeLayout(
        root=str(out_dir),
        base=[str(out_dir / "base" / f"{str(d['kind']).lower()}.yaml") for d in manifests.documents],
        overlays={ov.name: str(out_dir / "overlays" / ov.name) for ov in overlays},
        files=written,
    )
