"""The Dockerfile parser: line numbers, continuations, escape directive, heredocs, JSON form, stages."""

from __future__ import annotations

from pathlib import Path

import pytest

from containerkit.errors import InvalidDockerfile
from containerkit.tools.lint import parse_dockerfile
from containerkit.tools.lint._shell import split_commands
from containerkit.tools.lint.parser import expand_vars

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "dockerfiles"


def test_continuation_spans_lines_and_drops_inner_comments() -> None:
    parsed = parse_dockerfile("FROM debian:12\nRUN apt-get update \\\n  # why\n  && apt-get install -y curl\nUSER 1\n")
    run = parsed.instructions[1]
    assert (run.keyword, run.line, run.end_line) == ("RUN", 2, 4)
    assert "# why" not in run.value and "apt-get install -y curl" in run.value
    assert parsed.instructions[2].line == 5


def test_backtick_escape_directive_joins_lines() -> None:
    parsed = parse_dockerfile((FIXTURES / "windows_escape.Dockerfile").read_text())
    assert parsed.escape == "`"
    run = parsed.instructions[1]
    assert (run.line, run.end_line) == (3, 4)
    assert "Write-Host hi" in run.value


def test_heredoc_body_is_attached_and_skipped() -> None:
    parsed = parse_dockerfile(
        "FROM alpine:3.19\nRUN <<-EOF sh\n\tapk add curl\nEOF\nCOPY <<'CFG' /etc/x\nk=v\nCFG\nUSER 1\n"
    )
    run, copy, user = parsed.instructions[1:]
    assert run.heredocs[0].body == "apk add curl" and run.heredocs[0].strip_tabs
    assert (run.line, run.end_line) == (2, 4)
    assert copy.heredocs[0].body == "k=v" and not copy.heredocs[0].expand
    assert user.line == 8


def test_json_and_shell_forms() -> None:
    parsed = parse_dockerfile('FROM a:1\nCMD ["python", "app.py"]\nENTRYPOINT run.sh --x\n')
    assert parsed.instructions[1].json_args == ["python", "app.py"]
    assert parsed.instructions[2].json_args is None


def test_stages_names_parents_and_expanded_args() -> None:
    text = "ARG V=3.12\nFROM python:${V}-slim AS Build\nFROM build AS test\nFROM --platform=$BUILDPLATFORM debian:12\n"
    parsed = parse_dockerfile(text)
    assert [s.image for s in parsed.stages] == ["python:3.12-slim", "build", "debian:12"]
    assert parsed.stages[0].name == "build"
    assert parsed.stages[1].parent == 0
    assert parsed.stages[2].platform == "$BUILDPLATFORM"
    assert parsed.global_args == {"V": "3.12"}


def test_flags_are_split_from_arguments() -> None:
    parsed = parse_dockerfile("FROM a:1 AS b\nFROM a:1\nCOPY --from=b --chown=1:1 /x /y\n")
    copy = parsed.instructions[2]
    assert copy.flags == {"from": "b", "chown": "1:1"} and copy.value == "/x /y"


def test_pragmas_attach_to_next_instruction_and_global() -> None:
    text = "# hadolint global ignore=DL3006\nFROM a\n# hadolint ignore=DL3008, DL3015\nRUN x\n# containerkit ignore=CK1002\nRUN y\n"
    parsed = parse_dockerfile(text)
    assert parsed.global_ignores == {"DL3006"}
    assert parsed.instructions[1].ignores == {"DL3008", "DL3015"}
    assert parsed.instructions[2].ignores == {"CK1002"}


def test_binary_and_fromless_input_are_typed_errors() -> None:
    with pytest.raises(InvalidDockerfile):
        parse_dockerfile("FROM a\x00b")
    with pytest.raises(InvalidDockerfile):
        parse_dockerfile("RUN echo hi\n")


def test_expand_vars_defaults_and_unknowns() -> None:
    assert expand_vars("${A:-x}/${B}/$C", {"B": "b", "C": None}) == "x/b/$C"


def test_shell_lexer_splits_commands_and_pipes() -> None:
    script = split_commands('FOO=1 apt-get install -y "a b" > /dev/null 2>&1 && if [ -f x ]; then cd /; fi | tee log')
    assert [c.name for c in script.commands] == ["apt-get", "[", "cd", "tee"]
    assert script.commands[0].args == ("install", "-y", "a b")
    assert script.has_pipe
