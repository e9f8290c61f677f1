"""The optional LLM: proposals, never decisions. Every answer is parsed and validated before use.

Works with any LangChain chat model (``BaseChatModel``): the model is asked for one JSON object,
which is parsed with pydantic; a proposal that does not parse, or that a check refuses, is dropped
with the reason, and the caller's deterministic path runs instead. Token use is read from the
answer's ``usage_metadata`` when the model reports it.
"""

from __future__ import annotations

import json
import re
from typing import Any, NamedTuple

from pydantic import BaseModel, Field, ValidationError

from containerkit.tools.analyze.models import ModuleAnalysis
from containerkit.tools.diagnose.models import Diagnosis
from containerkit.tools.tracing import traced

__all__ = [
    "DockerfileProposal",
    "LlmAnswer",
    "StepChoice",
    "choose_step",
    "propose_dockerfile_fix",
    "validate_dockerfile_proposal",
]

_MAX_DOCKERFILE = 64 * 1024


class DockerfileProposal(BaseModel):
    dockerfile: str = Field(min_length=1, max_length=_MAX_DOCKERFILE)
    reason: str = Field(default="", max_length=2000)


class StepChoice(BaseModel):
    step: str = Field(min_length=1, max_length=64)
    reason: str = Field(default="", max_length=2000)


class LlmAnswer(NamedTuple):
    """What a call gave: the parsed value (None when unusable), why not, and the tokens it cost."""

    value: BaseModel | None
    error: str | None
    usage: dict[str, int]


_FIX_SYSTEM = (
    "You fix Dockerfiles that failed to build or whose container failed to start. Answer with ONE JSON "
    'object and nothing else: {"dockerfile": "<the complete corrected Dockerfile>", "reason": "<one '
    'sentence>"}. Keep the final stage running as a non-root USER, keep multi-stage structure, never add '
    "secrets, never use --network or privileged options, change only what the failure calls for."
)
_STEP_SYSTEM = (
    "You route a containerization workflow after a failure. Choose exactly one of the allowed next steps. "
    'Answer with ONE JSON object and nothing else: {"step": "<one allowed step>", "reason": "<one sentence>"}.'
)


def _usage(message: Any) -> dict[str, int]:
    meta = getattr(message, "usage_metadata", None) or {}
    return {
        "calls": 1,
        "input_tokens": int(meta.get("input_tokens", 0) or 0),
        "output_tokens": int(meta.get("output_tokens", 0) or 0),
    }


def _json_object(text: str) -> Any:
    """The first JSON object in a model's answer (code fences and prose around it are tolerated)."""
    fenced = re.search(r"```(?:json)?\s*(\{.*?\})\s*```", text, re.S)
    candidate = fenced.group(1) if fenced else text[text.find("{") : text.rfind("}") + 1]
    return json.loads(candidate)


def _ask(llm: Any, system: str, human: str, model: type[BaseModel]) -> LlmAnswer:
    from langchain_core.messages import HumanMessage, SystemMessage

    try:
        msg = llm.invoke([SystemMessage(content=system), HumanMessage(content=human)])
    except Exception as exc:  # noqa: BLE001 - any model failure means: use the deterministic path
        return LlmAnswer(None, f"the model failed: {type(exc).__name__}: {str(exc)[:200]}", {"calls": 1})
    usage = _usage(msg)
    content = msg.content if isinstance(msg.content, str) else json.dumps(msg.content)
    try:
        return LlmAnswer(model.model_validate(_json_object(content)), None, usage)
    except (ValueError, ValidationError) as exc:
        return LlmAnswer(None, f"the answer is not the JSON asked for: {str(exc)[:200]}", usage)


def _final_user(dockerfile: str) -> str | None:
    user = None
    for line in dockerfile.splitlines():
        parts = line.strip().split()
        if parts and parts[0].upper() == "FROM":
            user = None
        elif len(parts) >= 2 and parts[0].upper() == "USER":
            user = parts[1]
    return user


def validate_dockerfile_proposal(proposal: str, current: str) -> str | None:
    """Why a proposed Dockerfile is refused (None: acceptable). Checks by our own linter, not by trust."""
    from containerkit.tools.lint import LintConfig, lint_dockerfile

    def lint_errors(text: str) -> list[Any]:
        report = lint_dockerfile(text.rstrip("\n") + "\n", LintConfig(use_hadolint=False))
        return [f for f in report.findings if f.severity.value == "error"]

    if proposal.strip() == current.strip():
        return "the proposal is the current Dockerfile"
    if not any(ln.strip().upper().startswith("FROM ") for ln in proposal.splitlines()):
        return "the proposal has no FROM"
    if re.search(r"--network|--privileged|--security=insecure", proposal):
        return "the proposal asks for network or privilege options"
    before, after = _final_user(current), _final_user(proposal)
    if before and before.split(":")[0] not in ("0", "root") and (after is None or after.split(":")[0] in ("0", "root")):
        return "the proposal runs the final stage as root"
    errors_new = lint_errors(proposal)
    if len(errors_new) > len(lint_errors(current)):
        return f"the proposal adds lint errors ({errors_new[0].rule}: {errors_new[0].message})"
    return None


@traced("llm_propose_dockerfile_fix")
def propose_dockerfile_fix(
    llm: Any, *, dockerfile: str, diagnosis: Diagnosis | None, log_tail: str, module: ModuleAnalysis
) -> LlmAnswer:
    """Ask the model for a fixed Dockerfile; the answer is validated (``value`` None when refused)."""
    category = diagnosis.category if diagnosis else "unknown"
    evidence = "\n".join(diagnosis.evidence) if diagnosis else ""
    human = (
        f"Module: {module.language} {module.language_version or ''} {module.framework or ''}, package manager "
        f"{module.package_manager or '-'}, start command {module.start_command or '-'}.\n"
        f"Failure category: {category}\nDecisive lines:\n{evidence}\n\nLog tail:\n{log_tail[-3000:]}\n\n"
        f"Current Dockerfile:\n{dockerfile}"
    )
    answer = _ask(llm, _FIX_SYSTEM, human, DockerfileProposal)
    if isinstance(answer.value, DockerfileProposal):
        why = validate_dockerfile_proposal(answer.value.dockerfile, dockerfile)
        if why is not None:
            return LlmAnswer(None, why, answer.usage)
    return answer


@traced("llm_choose_step")
def choose_step(llm: Any, *, allowed: list[str], situation: str) -> LlmAnswer:
    """Ask the model to pick one of ``allowed``; anything else is refused."""
    human = f"Allowed next steps: {', '.join(allowed)}\n\nSituation:\n{situation[-4000:]}"
    answer = _ask(llm, _STEP_SYSTEM, human, StepChoice)
    if isinstance(answer.value, StepChoice) and answer.value.step not in allowed:
        return LlmAnswer(None, f"{answer.value.step!r} is not an allowed step", answer.usage)
    return answer
