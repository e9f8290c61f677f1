"""The analyze agent: repository -> facts -> Dockerfile, and in recovery a fixed Dockerfile."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from containerkit.agents._common import module_dir, selected_module, session_dir
from containerkit.agents._deps import Deps
from containerkit.agents._stage import agent_node
from containerkit.agents.orch import dockerfile_sha
from containerkit.errors import OutputRefused, OutputUnwritable
from containerkit.state import DockerfileInfo, ErrorRecord, Session
from containerkit.tools.analyze import ModuleAnalysis, analyze_repo
from containerkit.tools.dockerfile import BuildFailureInfo, FixResult, fix_dockerfile, generate_dockerfile
from containerkit.tools.fsio import write_text
from containerkit.tools.progress import ProgressSink

__all__ = ["analyze"]


def final_stage_uid(dockerfile: str) -> int | None:
    """The numeric uid of the last USER instruction (None for a name, or no USER at all)."""
    uid = None
    for line in dockerfile.splitlines():
        parts = line.strip().split()
        if len(parts) >= 2 and parts[0].upper() == "FROM":
            uid = None
        elif len(parts) >= 2 and parts[0].upper() == "USER":
            user = parts[1].split(":", 1)[0]
            uid = int(user) if user.isdigit() else None
    return uid


def _write(path: Path, content: str) -> None:
    write_text(path, content)  # atomic; refuses a folder, a device or a link out of its folder


def _llm_fix(
    state: Session, deps: Deps, sink: ProgressSink, module: ModuleAnalysis
) -> tuple[FixResult | None, dict[str, int]]:
    """The optional model's proposal, validated; None (with the reason shown) sends the rules in."""
    from containerkit.tools.llm import DockerfileProposal, propose_dockerfile_fix

    assert state.dockerfile is not None
    attempt = state.recovery[-1]
    answer = propose_dockerfile_fix(
        deps.llm,
        dockerfile=state.dockerfile.content,
        diagnosis=attempt.diagnosis,
        log_tail=attempt.build_failure.log_tail if attempt.build_failure else attempt.detail,
        module=module,
    )
    if not isinstance(answer.value, DockerfileProposal):
        sink({"kind": "warning", "stage": "analyze", "message": f"LLM proposal not used: {answer.error}"})
        return None, answer.usage
    reason = f"LLM: {answer.value.reason or 'fixed Dockerfile'}"
    kind = attempt.cause or "unknown"
    return FixResult(
        content=answer.value.dockerfile.rstrip("\n") + "\n", changed=True, reason=reason, kind=kind
    ), answer.usage


def _fix(state: Session, deps: Deps, sink: ProgressSink) -> dict[str, Any]:
    """Recovery: change the Dockerfile to address the classified failure (never the same file).

    With a model configured, its validated proposal is tried first; the rules run when there is no
    model, it fails, or its answer is refused.
    """
    assert state.dockerfile is not None
    module = selected_module(state)
    attempt = state.recovery[-1]
    usage: dict[str, int] = {}
    by = "rules"
    proposal: FixResult | None = None
    if deps.llm is not None:
        proposal, usage = _llm_fix(state, deps, sink, module)
        seen = {a.dockerfile_sha for a in state.recovery if a.dockerfile_sha}
        if proposal is not None and dockerfile_sha(proposal.content) in seen:
            proposal = None
    if proposal is not None:
        by = "llm"
    result = proposal or fix_dockerfile(
        state.dockerfile.content,
        attempt.build_failure or BuildFailureInfo(message=attempt.detail),
        module,
        deps.catalog(state.options.base_image),
        probe=deps.image_probe(state.options.registry),
        context=module_dir(state, module),
        diagnosis=attempt.diagnosis,
    )
    sha = dockerfile_sha(result.content)
    seen = {a.dockerfile_sha for a in state.recovery if a.dockerfile_sha} | {dockerfile_sha(state.dockerfile.content)}
    if result.changed and sha in seen:  # never the same fix twice: an earlier revision came back
        result = result.model_copy(
            update={
                "changed": False,
                "reason": f"no new fix: the fix for {result.kind} gives an earlier revision again",
            }
        )
    llm_usage = {k: state.llm_usage.get(k, 0) + v for k, v in usage.items()}
    if not result.changed:
        done = attempt.model_copy(update={"detail": result.reason, "action": "no_fix", "outcome": "no fix"})
        sink({"kind": "warning", "stage": "analyze", "message": result.reason})
        return {
            "recovery": [*state.recovery[:-1], done],
            "status": "failed",
            "errors": [
                ErrorRecord(
                    stage="analyze",
                    code="CK901",
                    message=f"no automatic fix for the {attempt.failed_stage} failure ({attempt.cause}): {result.reason}"
                    + (f"; evidence: {' | '.join(attempt.evidence)[:400]}" if attempt.evidence else ""),
                    hint="Fix the cause named in the evidence (see `containerkit sessions show ID`) and run again.",
                    category=attempt.cause,
                    evidence=list(attempt.evidence),
                )
            ],
            "_note": result.reason,
            "llm_usage": llm_usage,
        }
    revision = state.dockerfile.revision + 1
    context = result.context if result.context is not None else state.dockerfile.context
    if state.dockerfile.origin == "user":
        # the user's Dockerfile is never overwritten: fixed revisions live in the session folder
        path = session_dir(state, deps) / f"Dockerfile.fix-{revision}"
    else:
        path = Path(state.dockerfile.path)
    _write(path, result.content)
    sink({"kind": "log", "stage": "analyze", "message": f"Dockerfile revision {revision}: {result.reason}"})
    done = attempt.model_copy(
        update={"detail": result.reason, "dockerfile_revision": revision, "dockerfile_sha": sha, "by": by}
    )
    return {
        "dockerfile": DockerfileInfo(
            content=result.content,
            path=str(path),
            origin="fixed" if state.dockerfile.origin == "user" else state.dockerfile.origin,
            revision=revision,
            base_image=state.dockerfile.base_image,
            dockerignore_path=state.dockerfile.dockerignore_path,
            reason=result.reason,
            user_uid=final_stage_uid(result.content),
            context=context,
        ),
        "recovery": [*state.recovery[:-1], done],
        "llm_usage": llm_usage,
        "_note": f"fix {attempt.number}: {result.reason}",
    }


@agent_node("analyze")
def analyze(state: Session, deps: Deps, sink: ProgressSink) -> dict[str, Any]:
    """Analyze once; write (or adopt) the Dockerfile; in recovery, produce a fixed revision."""
    if (
        state.recovery
        and state.recovery[-1].dockerfile_revision is None
        and state.recovery[-1].action == "fix_dockerfile"
    ):
        return _fix(state, deps, sink)
    update: dict[str, Any] = {}
    if state.analysis is None:
        analysis = analyze_repo(state.repo_path)
        update["analysis"] = analysis
        state = state.model_copy(update={"analysis": analysis})
        sink(
            {
                "kind": "log",
                "stage": "analyze",
                "message": ", ".join(f"{m.path}: {m.language} {m.framework or ''}".strip() for m in analysis.modules),
            }
        )
    module = selected_module(state)
    mdir = module_dir(state, module)
    existing = mdir / "Dockerfile"
    if existing.is_file() and not state.options.force:
        content = existing.read_text(encoding="utf-8", errors="replace")
        update["dockerfile"] = DockerfileInfo(
            content=content, path=str(existing), origin="user", user_uid=final_stage_uid(content)
        )
        update["_note"] = "using the repository's Dockerfile as it is"
        return update
    gen = generate_dockerfile(
        module,
        deps.catalog(state.options.base_image),
        probe=deps.image_probe(state.options.registry),
        repo_root=state.repo_path,
    )
    for w in gen.warnings:
        sink({"kind": "warning", "stage": "analyze", "message": w})
    if state.options.write_dockerfile:
        if existing.is_file():  # --force: keep the user's file in the session folder, nothing is lost
            shutil.copy2(existing, session_dir(state, deps) / "Dockerfile.orig")
        path = existing
    else:
        path = session_dir(state, deps) / "Dockerfile"
    # the .dockerignore belongs at the build context's root (the workspace root for a member)
    ignore = Path(state.repo_path) / gen.context / ".dockerignore"
    try:
        _write(path, gen.content)
        if state.options.write_dockerfile and not ignore.exists():  # a user's .dockerignore is kept as it is
            _write(ignore, gen.dockerignore)
    except (OSError, OutputUnwritable, OutputRefused) as exc:  # a read-only checkout: build from the session folder
        path = session_dir(state, deps) / "Dockerfile"
        _write(path, gen.content)
        sink(
            {
                "kind": "warning",
                "stage": "analyze",
                "message": f"cannot write into the repository ({getattr(exc, 'message', None) or exc}); the Dockerfile is {path}",
            }
        )
    update["dockerfile"] = DockerfileInfo(
        content=gen.content,
        path=str(path),
        origin="generated",
        base_image=gen.base_image,
        dockerignore_path=str(ignore) if ignore.exists() else None,
        user_uid=gen.user_uid,
        context=gen.context,
    )
    update["_note"] = "; ".join(gen.warnings) or None
    return update
