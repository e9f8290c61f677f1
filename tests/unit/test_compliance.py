"""Every automated CIS section 4 control against a passing and a failing fixture; NIST controls,
scores and mappings over the same input model."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from containerkit.errors import InvalidDockerfile
from containerkit.tools.compliance import (
    CIS,
    CONTROLS,
    MAPPINGS,
    NIST,
    ComplianceInput,
    SecretFact,
    VulnerabilityFact,
    dockerfile_facts,
    evaluate_compliance,
    image_facts,
)

FIXTURES = Path(__file__).parent.parent / "fixtures" / "compliance"
CIS_AUTOMATED = [f"CIS-4.{n}" for n in range(1, 12)]


def _load(control: str, outcome: str) -> ComplianceInput:
    folder = FIXTURES / control.lower()
    extra = folder / f"{outcome}.facts.json"
    fields = json.loads(extra.read_text()) if extra.exists() else {}
    return ComplianceInput(dockerfile=dockerfile_facts((folder / f"{outcome}.Dockerfile").read_text()), **fields)


@pytest.mark.parametrize("control", CIS_AUTOMATED)
def test_cis_control_passes_on_its_passing_fixture(control: str) -> None:
    result = evaluate_compliance(_load(control, "pass")).control(control)
    assert result.status == "pass", result.evidence
    assert result.evidence


@pytest.mark.parametrize("control", CIS_AUTOMATED)
def test_cis_control_fails_on_its_failing_fixture(control: str) -> None:
    result = evaluate_compliance(_load(control, "fail")).control(control)
    assert result.status == "fail", result.evidence
    assert result.evidence


def test_every_cis_section_4_control_is_catalogued_once() -> None:
    ids = [c.id for c in CONTROLS if c.framework == CIS]
    assert ids == [*CIS_AUTOMATED, "CIS-4.12"]
    assert [c.id for c in CONTROLS if c.framework == NIST] == [f"NIST-4.1.{n}" for n in range(1, 6)]


def test_failure_evidence_points_at_the_dockerfile_line() -> None:
    report = evaluate_compliance(_load("CIS-4.7", "fail"))
    assert report.control("CIS-4.7").evidence == ["Dockerfile:2 RUN apt-get update"]
    assert report.control("CIS-4.9").status == "pass"
    add = evaluate_compliance(_load("CIS-4.9", "fail")).control("CIS-4.9")
    assert add.evidence == ["Dockerfile:2 ADD app.tar.gz /app/"]


def test_secret_values_never_appear_in_evidence() -> None:
    report = evaluate_compliance(_load("CIS-4.10", "fail"))
    dumped = report.model_dump_json()
    assert "notreal-but-stored" not in dumped
    assert "DB_PASSWORD" in dumped
    assert report.control("NIST-4.1.4").status == "fail"


def test_missing_scans_are_manual_not_passed() -> None:
    report = evaluate_compliance(ComplianceInput(dockerfile=dockerfile_facts("FROM debian:bookworm-slim\nUSER 1000\n")))
    for cid in ("CIS-4.4", "CIS-4.5", "CIS-4.8", "CIS-4.12", "NIST-4.1.1", "NIST-4.1.3"):
        assert report.control(cid).status == "manual", cid
    assert report.control("CIS-4.2").status == "manual"  # no trusted registries configured


def test_nothing_given_is_not_applicable_or_manual_and_scores_none() -> None:
    report = evaluate_compliance(ComplianceInput())
    assert {c.status for c in report.controls} <= {"manual", "not_applicable"}
    assert report.score(CIS) is None and report.score(NIST) is None


def test_score_is_passed_over_applicable() -> None:
    facts = ComplianceInput(
        dockerfile=dockerfile_facts((FIXTURES / "cis-4.6" / "pass.Dockerfile").read_text()),
        image=image_facts(
            {"Config": {"User": "10001", "Healthcheck": {"Test": ["CMD", "true"]}}}, setuid_files=["/usr/bin/su"]
        ),
        vulnerabilities=[],
        secrets=[],
        content_trust=False,
        trusted_registries=["docker.io"],
    )
    report = evaluate_compliance(facts)
    cis = next(s for s in report.scores if s.framework == CIS)
    # fails: 4.5 content trust, 4.8 setuid; manual: 4.12; the other nine pass
    assert (cis.passed, cis.failed, cis.manual, cis.not_applicable) == (9, 2, 1, 0)
    assert cis.score == round(9 / 11, 4)
    nist = next(s for s in report.scores if s.framework == NIST)
    assert (nist.passed, nist.failed, nist.manual) == (3, 1, 1)  # 4.1.5 fails on content trust, 4.1.3 manual


def test_image_config_overrides_the_dockerfile_for_user_and_healthcheck() -> None:
    facts = ComplianceInput(
        dockerfile=dockerfile_facts((FIXTURES / "cis-4.1" / "pass.Dockerfile").read_text()),
        image=image_facts({"Config": {"User": "", "Healthcheck": {"Test": ["NONE"]}}}),
    )
    report = evaluate_compliance(facts)
    assert report.control("CIS-4.1").status == "fail"
    assert report.control("CIS-4.1").evidence == ["image Config.User = (unset: root)"]
    assert report.control("CIS-4.6").status == "fail"
    assert report.control("NIST-4.1.2").status == "fail"


def test_mappings_only_name_existing_controls_and_follow_them() -> None:
    known = {c.id for c in CONTROLS}
    for m in MAPPINGS:
        assert set(m.controls) <= known, m
    assert {m.framework for m in MAPPINGS} == {"PCI-DSS v4.0", "SOC 2", "HIPAA"}
    facts = _load("CIS-4.10", "fail")
    facts.vulnerabilities = [VulnerabilityFact(id="CVE-1", package="x", severity="LOW")]
    report = evaluate_compliance(facts)
    by_req = {(m.framework, m.requirement): m.status for m in report.mappings}
    assert by_req[("PCI-DSS v4.0", "8.6.2")] == "fail"
    assert by_req[("PCI-DSS v4.0", "6.3.3")] == "pass"
    assert by_req[("PCI-DSS v4.0", "5.2")] == "manual"


def test_secret_findings_from_a_deleted_layer_still_fail() -> None:
    facts = ComplianceInput(
        secrets=[SecretFact(rule_id="private-key", path="root/id_rsa", source="layer", in_final_image=False)]
    )
    result = evaluate_compliance(facts).control("CIS-4.10")
    assert result.status == "fail"
    assert result.evidence == ["private-key at root/id_rsa (layer, in a layer, deleted later)"]


def test_dockerfile_facts_stages_bases_and_final_user() -> None:
    text = "ARG PY=3.11\nFROM python:${PY}-slim AS build\nUSER root\nFROM build AS test\nFROM scratch\nCOPY --from=build /a /a\n"
    facts = dockerfile_facts(text)
    assert facts.stages == 3
    assert [b.ref for b in facts.base_images] == ["python:3.11-slim"]
    assert facts.final_user is None
    assert facts.instructions[-1].flags == {"from": "build"}
    assert facts.instructions[-1].stage == 2


def test_dockerfile_without_from_is_a_typed_error() -> None:
    with pytest.raises(InvalidDockerfile):
        dockerfile_facts("RUN echo hi\n")
