"""CIS 4.8 needs the image filesystem: a real base image carries setuid binaries (fail); an image
that strips them passes. User and HEALTHCHECK come from the real image config."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from containerkit.tools.compliance import ComplianceInput, dockerfile_facts, evaluate_compliance, inspect_image_facts
from containerkit.tools.engine import BuildRequest, build_image
from containerkit.tools.policy import evaluate_policies

pytestmark = pytest.mark.integration

HARDENED = """\
FROM debian:bookworm-slim
RUN find / -xdev -perm /6000 -type f -exec chmod a-s {} + && useradd --uid 10001 app
USER 10001
HEALTHCHECK --interval=30s CMD test -d /
CMD ["sleep", "1"]
"""


@pytest.fixture(scope="module")
def hardened(docker_client, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:  # type: ignore[no-untyped-def]
    ctx: Path = tmp_path_factory.mktemp("hardened")
    (ctx / "Dockerfile").write_text(HARDENED)
    tag = f"ck-test-compliance:{uuid.uuid4().hex[:10]}"
    build_image(
        BuildRequest(context=ctx, dockerfile=ctx / "Dockerfile", tags=[tag], pull_policy="never"),
        docker_client=docker_client,
    )
    yield tag
    docker_client.images.remove(tag, force=True)


def test_base_image_with_setuid_binaries_fails_cis_4_8(docker_client) -> None:  # type: ignore[no-untyped-def]
    facts = ComplianceInput(image=inspect_image_facts(docker_client, "debian:bookworm-slim"))
    result = evaluate_compliance(facts).control("CIS-4.8")
    assert result.status == "fail"
    assert "setuid/setgid: /usr/bin/su" in result.evidence
    assert evaluate_compliance(facts).control("CIS-4.1").status == "fail"  # debian runs as root


@pytest.mark.slow
def test_hardened_image_passes_setuid_user_and_healthcheck(docker_client, hardened: str) -> None:  # type: ignore[no-untyped-def]
    image = inspect_image_facts(docker_client, hardened)
    assert image.setuid_files == []
    assert image.user == "10001"
    report = evaluate_compliance(ComplianceInput(dockerfile=dockerfile_facts(HARDENED), image=image))
    assert {cid: report.control(cid).status for cid in ("CIS-4.1", "CIS-4.6", "CIS-4.8", "CIS-4.9")} == dict.fromkeys(
        ("CIS-4.1", "CIS-4.6", "CIS-4.8", "CIS-4.9"), "pass"
    )
    # the same facts feed the default Rego policy: non-root, versioned tags
    assert evaluate_policies(ComplianceInput(dockerfile=dockerfile_facts(HARDENED), image=image)).violations == []
