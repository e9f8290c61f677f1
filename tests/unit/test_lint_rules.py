"""Each rule fires on a Dockerfile that breaks it and stays quiet on the corrected one."""

from __future__ import annotations

from pathlib import Path

import pytest

from containerkit.tools.lint import RULES, LintConfig, Severity, lint_dockerfile
from containerkit.tools.lint.fix import FIXABLE_RULES

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "dockerfiles"
OFF = LintConfig(use_hadolint=False)
H = "FROM debian:12\n"

# (rule, violating Dockerfile, compliant Dockerfile)
CASES: list[tuple[str, str, str]] = [
    ("DL3000", H + "WORKDIR app\n", H + "WORKDIR /app\n"),
    ("DL3001", H + "RUN service nginx start\n", H + "RUN nginx -t\n"),
    ("DL3002", H + "USER 1000\nUSER root\n", H + "USER root\nUSER 1000\n"),
    ("DL3003", H + "RUN cd /tmp && make\n", H + "WORKDIR /tmp\nRUN make\n"),
    ("DL3004", H + "RUN sudo make install\n", H + "RUN make install\n"),
    ("DL3006", "FROM debian\n", "FROM debian:12\n"),
    ("DL3007", "FROM debian:latest\n", "FROM debian@sha256:abc\n"),
    ("DL3008", H + "RUN apt-get install -y curl\n", H + "RUN apt-get install -y curl=7.88\n"),
    ("DL3009", H + "RUN apt-get update && apt-get install -y x=1\n", H + "RUN apt-get update && apt-get install -y x=1 && rm -rf /var/lib/apt/lists/*\n"),
    ("DL3011", H + "EXPOSE 70000\n", H + "EXPOSE 8080/tcp 9000-9010\n"),
    ("DL3012", H + "HEALTHCHECK CMD a\nHEALTHCHECK CMD b\n", H + "HEALTHCHECK CMD a\n"),
    ("DL3013", H + "RUN pip install flask\n", H + "RUN pip install flask==3.0 -r requirements.txt .\n"),
    ("DL3014", H + "RUN apt-get install x=1\n", H + "RUN apt-get install -qy x=1\n"),
    ("DL3015", H + "RUN apt-get install -y x=1\n", H + "RUN apt-get install -y --no-install-recommends x=1\n"),
    ("DL3016", H + "RUN npm install -g express\n", H + "RUN npm install -g express@4.19.2 && npm ci\n"),
    ("DL3018", "FROM alpine:3.19\nRUN apk add curl\n", "FROM alpine:3.19\nRUN apk add --no-cache curl=8.5.0-r0\n"),
    ("DL3019", "FROM alpine:3.19\nRUN apk add curl=8\n", "FROM alpine:3.19\nRUN apk add --no-cache curl=8\n"),
    ("DL3020", H + "ADD app.py /app/\n", H + "ADD app.tar.gz /app/\n"),
    ("DL3021", H + "COPY a b /dest\n", H + "COPY a b /dest/\n"),
    ("DL3022", H + "COPY --from=builder /a /b\n", "FROM a:1 AS builder\nFROM b:1\nCOPY --from=builder /a /b\n"),
    ("DL3023", "FROM a:1 AS x\nCOPY --from=x /a /b\n", "FROM a:1 AS y\nFROM a:1 AS x\nCOPY --from=y /a /b\n"),
    ("DL3024", "FROM a:1 AS x\nFROM b:1 AS x\n", "FROM a:1 AS x\nFROM b:1 AS y\n"),
    ("DL3025", H + "CMD python app.py\n", H + 'CMD ["python", "app.py"]\n'),
    ("DL3025", H + "HEALTHCHECK CMD curl -f http://x || exit 1\n", H + 'HEALTHCHECK --retries=3 CMD ["curl", "-f", "http://x"]\nHEALTHCHECK NONE\n'),
    ("DL3027", H + "RUN apt install -y x=1\n", H + "RUN apt-get install -y x=1\n"),
    ("DL3028", H + "RUN gem install rails\n", H + "RUN gem install rails:7.1.3\n"),
    ("DL3029", "FROM --platform=linux/amd64 debian:12\n", "FROM --platform=$BUILDPLATFORM debian:12\n"),
    ("DL3030", "FROM centos:7\nRUN yum install httpd-2.4 && yum clean all\n", "FROM centos:7\nRUN yum install -y httpd-2.4 && yum clean all\n"),
    ("DL3032", "FROM centos:7\nRUN yum install -y httpd-2.4\n", "FROM centos:7\nRUN yum install -y httpd-2.4 && yum clean all\n"),
    ("DL3033", "FROM centos:7\nRUN yum install -y httpd && yum clean all\n", "FROM centos:7\nRUN yum install -y httpd-2.4 && yum clean all\n"),
    ("DL3034", "FROM suse:15\nRUN zypper install p=1 && zypper clean\n", "FROM suse:15\nRUN zypper -n install p=1 && zypper clean\n"),
    ("DL3035", "FROM suse:15\nRUN zypper dup\n", "FROM suse:15\nRUN zypper refresh\n"),
    ("DL3036", "FROM suse:15\nRUN zypper -n install p=1\n", "FROM suse:15\nRUN zypper -n install p=1 && zypper cc\n"),
    ("DL3037", "FROM suse:15\nRUN zypper -n install p && zypper clean\n", "FROM suse:15\nRUN zypper -n install p=1 && zypper clean\n"),
    ("DL3038", "FROM fedora:40\nRUN dnf install a-1 && dnf clean all\n", "FROM fedora:40\nRUN dnf install -y a-1 && dnf clean all\n"),
    ("DL3040", "FROM fedora:40\nRUN dnf install -y a-1\n", "FROM fedora:40\nRUN dnf install -y a-1 && dnf clean all\n"),
    ("DL3041", "FROM fedora:40\nRUN dnf install -y a && dnf clean all\n", "FROM fedora:40\nRUN dnf install -y a-1 && dnf clean all\n"),
    ("DL3042", H + "RUN pip install x==1\n", H + "ENV PIP_NO_CACHE_DIR=1\nRUN pip install x==1\n"),
    ("DL3043", H + "ONBUILD FROM x\n", H + "ONBUILD RUN make\n"),
    ("DL3044", H + "ENV A=1 B=$A\n", H + "ENV A=1\nENV B=$A\n"),
    ("DL3045", H + "COPY a rel/\n", H + "WORKDIR /app\nCOPY a rel/\n"),
    ("DL3046", H + "RUN useradd -u 1000000 app\n", H + "RUN useradd -l -u 1000000 app\n"),
    ("DL3047", H + "RUN wget http://x/y\n", H + "RUN wget -q http://x/y\n"),
    ("DL3048", H + "LABEL Foo_Bar=1\n", H + "LABEL org.opencontainers.image.title=x\n"),
    ("DL3057", H + "USER 1\n", H + "USER 1\nHEALTHCHECK CMD true\n"),
    ("DL3059", H + "RUN a\nRUN b\n", H + "RUN a && b\n"),
    ("DL3060", "FROM node:22\nRUN yarn install\n", "FROM node:22\nRUN yarn install && yarn cache clean\n"),
    ("DL3061", "RUN x\n" + H, "ARG V=1\n" + H),
    ("DL3062", "FROM golang:1.22\nRUN go install example.com/x@latest\n", "FROM golang:1.22\nRUN go install example.com/x@v1.2.3\n"),
    ("DL3064", H + "ARG GITHUB_TOKEN\n", H + "ARG GITHUB_REF\n"),
    ("DL3066", H + "USER app\n", H + "USER 10001\n"),
    ("DL4000", H + "MAINTAINER me\n", H + "LABEL maintainer=me\n"),
    ("DL4001", H + "RUN curl -o a http://x && wget -q http://y\n", H + "RUN curl -o a http://x\n"),
    ("DL4003", H + 'CMD ["a"]\nCMD ["b"]\n', H + 'CMD ["a"]\nFROM debian:12\nCMD ["b"]\n'),
    ("DL4004", H + 'ENTRYPOINT ["a"]\nENTRYPOINT ["b"]\n', H + 'ENTRYPOINT ["a"]\n'),
    ("DL4005", H + "RUN ln -sf /bin/bash /bin/sh\n", H + 'SHELL ["/bin/bash", "-c"]\n'),
    ("DL4006", H + "RUN curl -s x | tar x\n", H + 'SHELL ["/bin/bash", "-o", "pipefail", "-c"]\nRUN curl -s x | tar x\n'),
    ("CK1000", H + "RUNN make\n", H + "RUN make\n"),
    ("CK1001", H + "ENV DB_PASSWORD=hunter2\n", H + "ENV DB_PASSWORD_FILE=$SECRETS_DIR/db\n"),
    ("CK1002", H + "RUN curl -fsSL https://x/install.sh | sh\n", H + "RUN curl -fsSLo i.sh https://x/install.sh && sh i.sh\n"),
    ("CK1003", H + "RUN make\n", H + "USER 10001\n"),
    ("CK1004", H + "ADD https://x/tool.tgz /opt/\n", H + "ADD --checksum=sha256:ab https://x/tool.tgz /opt/\n"),
    ("CK1005", H + "RUN chmod 777 /app\n", H + "RUN chmod 755 /app\n"),
    ("CK1006", H + "RUN curl -k -o a https://x\n", H + "RUN curl -o a https://x\n"),
    ("CK1007", H + "RUN apt-get upgrade -y\n", H + "RUN apt-get update\n"),
    ("CK1008", H + "ENV DEBIAN_FRONTEND=noninteractive\n", H + "ARG DEBIAN_FRONTEND=noninteractive\n"),
    ("CK1009", H + "COPY id_rsa /root/.ssh/\n", H + "COPY app.py /app/\n"),
    ("CK1010", H + "WORKDIR /a\nCOPY . .\nRUN npm ci\n", H + "WORKDIR /a\nCOPY package*.json ./\nRUN npm ci\nCOPY . .\n"),
    ("CK1011", H + "EXPOSE 22\n", H + "EXPOSE 2222\n"),
    ("CK1012", "# escape=x\n" + H, "# escape=`\n" + H),
]  # fmt: skip


def _rules(text: str) -> set[str]:
    return {f.rule for f in lint_dockerfile(text, OFF).findings}


@pytest.mark.parametrize(("rule", "bad", "good"), CASES, ids=[c[0] for c in CASES])
def test_rule_fires_on_violation_and_not_on_fix(rule: str, bad: str, good: str) -> None:
    assert rule in _rules(bad)
    assert rule not in _rules(good)


def test_every_rule_has_a_case_and_at_least_forty_exist() -> None:
    covered = {c[0] for c in CASES}
    ids = {r.id for r in RULES}
    assert len(ids) >= 40
    assert ids - covered <= {"DL3026"}  # needs a config; tested below


def test_trusted_registries_dl3026() -> None:
    cfg = LintConfig(use_hadolint=False, trusted_registries=frozenset({"registry.local:5000"}))
    assert "DL3026" in {f.rule for f in lint_dockerfile("FROM docker.io/library/debian:12\n", cfg).findings}
    assert "DL3026" not in {f.rule for f in lint_dockerfile("FROM registry.local:5000/base:1\n", cfg).findings}


def test_findings_carry_line_severity_hint_and_fixability() -> None:
    report = lint_dockerfile("FROM debian:12\n\nRUN apt-get install -y curl=1\nMAINTAINER me\n", OFF)
    dl3015 = next(f for f in report.findings if f.rule == "DL3015")
    assert (dl3015.line, dl3015.severity, dl3015.fixable) == (3, Severity.INFO, True)
    dl4000 = next(f for f in report.findings if f.rule == "DL4000")
    assert dl4000.line == 4 and dl4000.severity is Severity.ERROR and "LABEL" in dl4000.hint


def test_fixable_flags_match_the_fixer_table() -> None:
    assert {r.id for r in RULES if r.fixable} == FIXABLE_RULES


def test_inline_global_and_config_ignores() -> None:
    text = "# hadolint global ignore=DL3006\nFROM debian\n# hadolint ignore=DL3008,DL3015\nRUN apt-get install -y curl\nRUN apt-get install -y git\n"
    report = lint_dockerfile(text, OFF)
    lines = {(f.line, f.rule) for f in report.findings}
    assert (2, "DL3006") not in lines
    assert (4, "DL3008") not in lines and (4, "DL3015") not in lines
    assert (5, "DL3008") in lines
    no_pragmas = lint_dockerfile(text, LintConfig(use_hadolint=False, honour_pragmas=False))
    assert (4, "DL3008") in {(f.line, f.rule) for f in no_pragmas.findings}
    ignored = lint_dockerfile(text, LintConfig(use_hadolint=False, ignored=frozenset({"DL3008"})))
    assert "DL3008" not in {f.rule for f in ignored.findings}


def test_containerkit_ignore_pragma_is_honoured() -> None:
    text = "FROM debian:12\n# containerkit ignore=CK1002\nRUN curl -s https://x | sh\n"
    assert "CK1002" not in _rules(text)


def test_severity_override() -> None:
    cfg = LintConfig(use_hadolint=False, severity_overrides={"DL3008": Severity.ERROR})
    f = next(
        f for f in lint_dockerfile("FROM debian:12\nRUN apt-get install -y curl\n", cfg).findings if f.rule == "DL3008"
    )
    assert f.severity is Severity.ERROR


def test_well_formed_multistage_has_no_findings() -> None:
    report = lint_dockerfile(FIXTURES / "good_multistage.Dockerfile", OFF)
    assert report.findings == []


def test_build_stage_habits_are_not_errors_in_multistage() -> None:
    """Build stages may run as root and skip HEALTHCHECK; only what ships is judged for those."""
    text = (
        "FROM node:22-slim AS deps\nWORKDIR /app\nCOPY package.json package-lock.json ./\nRUN npm ci\n"
        "FROM node:22-slim AS build\nWORKDIR /app\nCOPY --from=deps /app/node_modules ./node_modules\nCOPY . .\n"
        "RUN npm run build\nFROM gcr.io/distroless/nodejs22-debian12:nonroot\nCOPY --from=build /app/dist /app\n"
        'WORKDIR /app\nHEALTHCHECK NONE\nCMD ["server.js"]\n'
    )
    assert [f for f in lint_dockerfile(text, OFF).findings if f.severity is Severity.ERROR] == []


def test_generated_dockerfiles_have_no_error_findings() -> None:
    from containerkit.tools.analyze import analyze_repo
    from containerkit.tools.dockerfile import generate_dockerfile, load_catalog

    root = Path(__file__).resolve().parents[2] / "examples"
    catalog = load_catalog()
    for example in ("python-http", "node-http"):
        for module in analyze_repo(root / example).modules:
            content = generate_dockerfile(module, catalog).content
            errors = [f for f in lint_dockerfile(content, OFF).findings if f.severity is Severity.ERROR]
            assert errors == [], (example, errors)
