"""A rerun with nothing changed: the earlier session's verified result stands, shown without redoing it.

An agent, a CI job or a user runs ``containerkit run`` again on a repository nobody touched. Plain
Docker answers that in a fraction of a second (every layer cached, every blob already in the
registry); a full session would load the graph, build, verify and scan again only to find the same
image. So a succeeded run leaves a :class:`RunRecord` under a key of everything its result depends on:

- the repository's files (every file and link by size, modification time and mode; ``.git`` aside),
  as the run left them (its own Dockerfile, ``.dockerignore`` and manifests included);
- the run's options and labels, the settings, the values of ``CONTAINERKIT_*``/``DOCKER_*`` variables and of
  ``--env`` (both only as an HMAC under a per-cache random key, never stored);
- containerkit's own code and rules, the vulnerability database, the external scanners, hadolint,
  the policy files, and a manifests folder outside the repository.

A rerun whose key finds a record is reused only after checking that the world still holds what the
record says: the engine's tag names the same image id, every base image is the same image, the
registry serves the same digest under the pushed name, the scan report and the manifests are still
there. Anything else, and any error while checking, is a miss: the full session runs. Runs that
deploy or wait for an approval are never reused (the cluster and the approver are not ours to
assume), and ``--no-cache`` reads no record.

This module imports neither LangGraph nor the agents: the check is what a rerun pays.
"""

from __future__ import annotations

import dataclasses
import os
import stat
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from containerkit.settings import Settings
from containerkit.state import RunOptions, RunRecord, Session, StageRecord, now
from containerkit.tools.results_cache import (
    CacheKey,
    ResultCache,
    code_fingerprint,
    digest_of,
    file_fingerprint,
    files_fingerprint,
    secret_digest,
)

if TYPE_CHECKING:
    from docker import DockerClient

__all__ = ["RunFingerprint", "find_unchanged", "fingerprint_run", "remember_run", "reusable", "tree_stats"]

_KIND = "run"
_ENV_PREFIXES = ("CONTAINERKIT_", "DOCKER_")


def tree_stats(root: Path) -> dict[str, str]:
    """Every file and link under ``root`` (relative path -> ``size:mtime_ns:mode``), ``.git`` aside.

    Stat only, as the scan cache keys files: an edit changes the size or the modification time."""
    out: dict[str, str] = {}

    def walk(folder: str, rel: str) -> None:
        try:
            entries = list(os.scandir(folder))
        except OSError:
            out[rel or "."] = "unreadable"
            return
        for entry in entries:
            name = f"{rel}/{entry.name}" if rel else entry.name
            try:
                st = entry.stat(follow_symlinks=False)
            except OSError:
                out[name] = "unreadable"
                continue
            if stat.S_ISDIR(st.st_mode):
                if name != ".git":
                    walk(entry.path, name)
            else:
                out[name] = f"{st.st_size}:{st.st_mtime_ns}:{st.st_mode:o}"

    walk(str(root), "")
    return out


@dataclasses.dataclass(frozen=True)
class RunFingerprint:
    """A run's key and the repository's files it was computed from (to see what the run itself wrote)."""

    key: CacheKey
    tree: dict[str, str]


def reusable(options: RunOptions) -> bool:
    """Runs whose result may be reused: not a deploy (the cluster may have moved), no approval to ask."""
    return not options.deploy and not options.approve


def _files(paths: list[str]) -> str:
    found: list[tuple[str, Path]] = []
    for p in map(Path, paths):
        found += [(str(f), f) for f in sorted(p.rglob("*"))] if p.is_dir() else [(str(p), p)]
    return files_fingerprint(found)[:32]


def _scanners(options: RunOptions) -> str:
    """The external scanners and hadolint, as the scan's own key sees them (only when the run scans)."""
    if not options.scan:
        return "-"
    from containerkit.tools.scan.cache import tools_fingerprint

    return tools_fingerprint()


def fingerprint_run(
    repo: Path,
    options: RunOptions,
    settings: Settings,
    *,
    env: Mapping[str, str],
    labels: Mapping[str, str] | None = None,
    environ: Mapping[str, str] | None = None,
    cache: ResultCache | None = None,
) -> RunFingerprint:
    """The key of a run of ``repo`` with ``options`` as things stand now (see the module docstring)."""
    cache = cache or ResultCache(settings.cache_dir / "results")
    secret = cache.secret_key()
    environ = os.environ if environ is None else environ
    tree = tree_stats(repo)
    out = options.manifests_dir
    outside = out is not None and not Path(out).resolve().is_relative_to(repo)
    inputs = {
        "repo": str(repo),
        "tree": digest_of(tree)[:32],
        "options": digest_of(options.model_dump(mode="json"))[:32],
        "labels": digest_of(dict(labels or {}))[:32],
        "app_env": secret_digest(secret, env),
        "environ": secret_digest(secret, {k: v for k, v in environ.items() if k.startswith(_ENV_PREFIXES)}),
        "settings": digest_of(dataclasses.asdict(settings))[:32],
        "code": code_fingerprint(),
        "vuln_db": f"{settings.vuln_db}:{file_fingerprint(settings.vuln_db)}" if options.scan else "-",
        "scanners": _scanners(options),
        "policies": _files(options.policies) if options.scan and options.policies else "-",
        "manifests_out": _files([out]) if out is not None and outside else "-",
    }
    return RunFingerprint(CacheKey(kind=_KIND, subject=str(repo), inputs=inputs), tree)


def _written_by(session: Session, repo: Path) -> tuple[set[str], tuple[str, ...]]:
    """The repository files the run itself wrote (relative paths: its Dockerfile, ignore file and
    generated context files) and the folders it owns (the manifests' Kustomize tree)."""
    paths: list[str] = []
    folders: list[str] = []
    if session.dockerfile is not None:
        d = session.dockerfile
        paths += [d.path, *([d.dockerignore_path] if d.dockerignore_path else [])]
        context = Path(d.context) if d.context else Path(d.path).parent
        paths += [str(context / f) for f in d.context_files]
    if session.manifests is not None:
        paths += session.manifests.paths
        folders += [session.manifests.root] if session.manifests.root else []

    def rel(p: str) -> str | None:
        path = Path(p) if Path(p).is_absolute() else repo / p
        try:
            return str(path.resolve().relative_to(repo))
        except (OSError, ValueError):
            return None

    files = {r for r in map(rel, paths) if r is not None}
    owned = tuple(f"{r}/" for r in map(rel, folders) if r is not None and r != ".")
    return files, owned


def _image_id(client: DockerClient, ref: str) -> str | None:
    try:
        return str(client.api.inspect_image(ref).get("Id") or "") or None
    except Exception:  # noqa: BLE001 - gone, renamed, an engine that went away: not the same image
        return None


def remember_run(
    session: Session,
    before: RunFingerprint,
    settings: Settings,
    client: DockerClient,
    *,
    env: Mapping[str, str],
    environ: Mapping[str, str] | None = None,
) -> bool:
    """Keep a succeeded session's result for reruns. Not kept when the repository changed during the
    run beyond what the run wrote (the image may hold the older files), or when an image is unnamed."""
    opts = session.options
    if session.status != "succeeded" or not reusable(opts) or session.build is None or not session.images.local:
        return False
    repo = Path(session.repo_path)
    cache = ResultCache(settings.cache_dir / "results")
    after = fingerprint_run(repo, opts, settings, env=env, labels=session.labels, environ=environ, cache=cache)
    moved = {p for p in before.tree.keys() | after.tree.keys() if before.tree.get(p) != after.tree.get(p)}
    files, folders = _written_by(session, repo)
    if any(p not in files and not p.startswith(folders) for p in moved):
        return False
    bases: dict[str, str] = {}
    from containerkit.tools.engine import base_images_of

    for ref in base_images_of(session.dockerfile.content if session.dockerfile else ""):
        image_id = _image_id(client, ref)
        if image_id is None:
            return False
        bases[ref] = image_id
    record = RunRecord(session=session.model_dump(mode="json"), base_images=bases, at=now())
    cache.put(after.key, record)
    return True


def _registry_serves(session: Session, auth: Mapping[str, str] | None) -> bool:
    """The registry still serves the digest the session pushed under its name."""
    from containerkit.tools.credentials import resolve_credentials
    from containerkit.tools.images import parse_image_ref
    from containerkit.tools.registry import RegistryAccess, manifest_digest
    from containerkit.tools.transfer import credentials_of

    ref = parse_image_ref(str(session.images.pushed))
    if ref.registry is None:
        return False
    ca = session.options.registry_ca
    access = RegistryAccess(
        registry=ref.registry,
        ca_file=Path(ca) if ca else None,
        credentials=resolve_credentials(
            ref.registry, explicit=credentials_of(dict(auth) if auth else None, ref.registry)
        ),
    )
    return manifest_digest(ref, access=access) == session.images.digest


def _holds(record: RunRecord, session: Session, client: DockerClient, auth: Mapping[str, str] | None) -> bool:
    assert session.build is not None
    if _image_id(client, str(session.images.local)) != session.build.image_id:
        return False
    if any(_image_id(client, ref) != image_id for ref, image_id in record.base_images.items()):
        return False
    if session.scan is not None and session.scan.report_path and not Path(session.scan.report_path).is_file():
        return False
    if session.manifests is not None and not all(Path(p).exists() for p in _absolute(session)):
        return False
    if session.options.registry:
        return bool(session.images.pushed and session.images.digest) and _registry_serves(session, auth)
    return True


def _absolute(session: Session) -> Iterator[Path]:
    assert session.manifests is not None
    for p in session.manifests.paths:
        yield Path(p) if Path(p).is_absolute() else Path(session.repo_path) / p


def find_unchanged(
    repo: Path,
    options: RunOptions,
    settings: Settings,
    *,
    env: Mapping[str, str],
    labels: Mapping[str, str] | None = None,
    auth: Mapping[str, str] | None = None,
    environ: Mapping[str, str] | None = None,
    connect: Any = None,
) -> Session | None:
    """The earlier session this run would repeat, marked as reused, or None (run it).

    ``connect`` builds the engine client (default: ``connect_docker(settings.docker_host)``)."""
    if options.no_cache or not reusable(options):
        return None
    cache = ResultCache(settings.cache_dir / "results")
    key = fingerprint_run(repo, options, settings, env=env, labels=labels, environ=environ, cache=cache).key
    hit = cache.get(key, RunRecord)
    if hit is None:
        return None
    record = hit[0]
    try:
        session = Session.model_validate(record.session)
    except ValueError:
        return None
    if session.status != "succeeded" or session.build is None or not session.images.local:
        return None
    try:
        if connect is None:
            from containerkit.tools.engine import connect_docker

            client = connect_docker(settings.docker_host, timeout=30)
        else:
            client = connect()
        if not _holds(record, session, client, auth):
            return None
    except Exception:  # noqa: BLE001 - no engine, no registry, anything unexpected: run it in full
        return None
    return _mark_reused(session)


def _mark_reused(session: Session) -> Session:
    """The session as this rerun reports it: every result reused, the stages it skipped said so."""
    at = now()
    note = f"reused: nothing changed since session {session.session_id} ({session.updated:%Y-%m-%d %H:%M:%S} UTC)"
    stages = list(dict.fromkeys(h.stage for h in session.history))
    update: dict[str, Any] = {
        "reused_from": session.session_id,
        "history": [StageRecord(stage=s, start=at, end=at, duration_s=0.0, ok=True, note=note) for s in stages],
    }
    for name in ("scan", "verify", "manifests"):
        part = getattr(session, name)
        if part is not None:
            update[name] = part.model_copy(update={"cached": True})
    return session.model_copy(update=update)
