"""Lint on hostile Dockerfile text: findings or a typed error, never an internal one."""

from __future__ import annotations

import contextlib

from hypothesis import given, settings
from hypothesis import strategies as st

from containerkit.errors import ContainerKitError
from containerkit.tools.lint import LintConfig, lint_dockerfile
from containerkit.tools.lint.fix import fix_dockerfile_text

OFF = LintConfig(use_hadolint=False)
PIECES = [
    "FROM ", "RUN ", "COPY ", "ADD ", "EXPOSE ", "USER ", "ENV ", "ARG ", "CMD ", "HEALTHCHECK ", "ONBUILD ",
    "WORKDIR ", "LABEL ", "SHELL ", "--from=", "--chown=", "--platform=", "--mount=type=secret,id=",
    "# escape=", "# syntax=", "# hadolint ignore=", "\\", "`", "\n", "\r\n", "\t", " ", "<<EOF", "EOF", "<<-X",
    "[", "]", '"', "'", "{", "}", ",", ":", "=", "$", "${A:-b}", "&&", "|", ";", "apt-get install ", "-y ",
    "alpine:3.19", "debian", "AS build", "build", "0", "65536", "9" * 5000, "²", "٣", "/", "..", "\x00", "\u2028",
]  # fmt: skip
texts = st.lists(st.sampled_from(PIECES), max_size=60).map("".join)


@settings(max_examples=300, deadline=None)
@given(text=texts)
def test_lint_gives_findings_or_a_typed_error(text: str) -> None:
    with contextlib.suppress(ContainerKitError):
        lint_dockerfile("FROM a:1\n" + text, OFF)


@settings(max_examples=150, deadline=None)
@given(text=texts)
def test_fix_gives_text_or_a_typed_error(text: str) -> None:
    with contextlib.suppress(ContainerKitError):
        fix_dockerfile_text("FROM a:1\n" + text, config=OFF)
