"""The optional LLM's proposals are validated before use (a scripted fake chat model stands in for a
real one: no model can be reached from this machine)."""

from __future__ import annotations

import json

from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage

from containerkit.tools.analyze.models import ModuleAnalysis
from containerkit.tools.diagnose import Diagnosis
from containerkit.tools.llm import DockerfileProposal, StepChoice, choose_step, propose_dockerfile_fix

CURRENT = 'FROM node:22-slim\nWORKDIR /app\nCOPY . .\nUSER 10001:10001\nEXPOSE 3000\nCMD ["node", "server.js"]\n'
MODULE = ModuleAnalysis(path=".", name="x", language="node", start_command="node server.js")
DIAG = Diagnosis(category="wrong_start_command", evidence=["Error: Cannot find module '/app/server.js'"])


def _model(*answers: str) -> GenericFakeChatModel:
    return GenericFakeChatModel(
        messages=iter(
            AIMessage(content=a, usage_metadata={"input_tokens": 120, "output_tokens": 30, "total_tokens": 150})
            for a in answers
        )
    )


def test_a_valid_proposal_is_used_and_its_tokens_counted() -> None:
    fixed = CURRENT.replace('"server.js"', '"src/server.js"')
    answer = propose_dockerfile_fix(
        _model(
            "Here you go:\n```json\n" + json.dumps({"dockerfile": fixed, "reason": "start src/server.js"}) + "\n```"
        ),
        dockerfile=CURRENT,
        diagnosis=DIAG,
        log_tail="",
        module=MODULE,
    )
    assert isinstance(answer.value, DockerfileProposal) and answer.error is None
    assert answer.value.dockerfile == fixed
    assert answer.usage == {"calls": 1, "input_tokens": 120, "output_tokens": 30}


def test_proposals_that_fail_a_check_are_refused_with_the_reason() -> None:
    cases = {
        "not json at all": "not the JSON asked for",
        json.dumps({"dockerfile": CURRENT}): "the current Dockerfile",
        json.dumps({"dockerfile": CURRENT.replace("USER 10001:10001\n", "USER root\n")}): "as root",
        json.dumps({"dockerfile": "RUN echo hi\n"}): "no FROM",
        json.dumps({"dockerfile": CURRENT.replace("COPY . .", "RUN --network=host curl x")}): "network",
    }
    for text, why in cases.items():
        answer = propose_dockerfile_fix(_model(text), dockerfile=CURRENT, diagnosis=DIAG, log_tail="", module=MODULE)
        assert answer.value is None and answer.error is not None and why in answer.error, (text, answer.error)
        assert answer.usage["calls"] == 1


def test_a_model_that_errs_leaves_the_rules_to_act() -> None:
    answer = propose_dockerfile_fix(_model(), dockerfile=CURRENT, diagnosis=DIAG, log_tail="", module=MODULE)
    assert answer.value is None and answer.error and "the model failed" in answer.error


def test_the_model_may_only_choose_an_allowed_step() -> None:
    ok = choose_step(
        _model('{"step": "stop", "reason": "the app is broken"}'), allowed=["fix_dockerfile", "stop"], situation="x"
    )
    assert isinstance(ok.value, StepChoice) and ok.value.step == "stop"
    bad = choose_step(_model('{"step": "deploy_anyway"}'), allowed=["fix_dockerfile", "stop"], situation="x")
    assert bad.value is None and bad.error and "not an allowed step" in bad.error


def test_a_configured_model_without_langchain_is_a_clear_error(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import pytest

    from containerkit.errors import InvalidOption
    from containerkit.settings import Settings

    assert Settings.load({"CONTAINERKIT_HOME": str(tmp_path)}).chat_model() is None  # no model: none used
    (tmp_path / "config.toml").write_text('[llm]\nmodel = "openai:gpt-4o-mini"\n')
    settings = Settings.load({"CONTAINERKIT_HOME": str(tmp_path)})
    assert settings.llm_model == "openai:gpt-4o-mini"
    try:
        import langchain  # noqa: F401
    except ImportError:
        with pytest.raises(InvalidOption, match="langchain"):
            settings.chat_model()
