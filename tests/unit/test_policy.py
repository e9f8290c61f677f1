"""Default Rego policy rules, each violated and satisfied; user policies; typed errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from containerkit.tools.compliance.facts import BuildFacts, VulnerabilityFact, dockerfile_facts, image_facts
from containerkit.tools.policy import (
    PolicyDataInvalid,
    PolicyEvaluationFailed,
    PolicyInput,
    PolicyNotFound,
    PolicySyntaxError,
    evaluate_policies,
)

GOOD_DOCKERFILE = 'FROM 127.0.0.1:5000/python:3.11-slim\nUSER 10001\nCMD ["python", "app.py"]\n'


def _ids(facts: BuildFacts, **kw: object) -> list[str]:
    return sorted(v.rule_id for v in evaluate_policies(facts, **kw).violations)  # type: ignore[arg-type]


def _inspect(user: str = "10001") -> dict[str, object]:
    return {"Id": "sha256:abc", "RepoTags": ["shop/api:1.2.0"], "Config": {"User": user, "Env": ["A=1"]}}


def test_good_build_passes_every_default_rule() -> None:
    facts = PolicyInput(
        dockerfile=dockerfile_facts(GOOD_DOCKERFILE),
        image=image_facts(_inspect()),
        vulnerabilities=[VulnerabilityFact(id="CVE-1", package="openssl", severity="CRITICAL")],
    )
    result = evaluate_policies(facts, data={"allowed_registries": ["127.0.0.1:5000"]})
    assert result.passed and result.violations == []
    assert result.policies[0].endswith("default.rego")


@pytest.mark.parametrize(
    ("dockerfile", "user"),
    [
        ("FROM python:3.11-slim\n", None),
        ("FROM python:3.11-slim\nUSER root\n", None),
        (GOOD_DOCKERFILE, ""),
        (GOOD_DOCKERFILE, "0:0"),
    ],
)
def test_root_user_is_denied(dockerfile: str, user: str | None) -> None:
    facts = BuildFacts(
        dockerfile=dockerfile_facts(dockerfile), image=image_facts(_inspect(user)) if user is not None else None
    )
    assert _ids(facts) == ["CKP001"]


def test_root_in_an_earlier_stage_only_is_allowed() -> None:
    text = "FROM python:3.11-slim AS b\nUSER root\nFROM python:3.11-slim\nUSER app\n"
    assert _ids(BuildFacts(dockerfile=dockerfile_facts(text))) == []


@pytest.mark.parametrize("base", ["python", "python:latest", "127.0.0.1:5000/python:latest"])
def test_latest_or_untagged_base_is_denied(base: str) -> None:
    assert _ids(BuildFacts(dockerfile=dockerfile_facts(f"FROM {base}\nUSER 1000\n"))) == ["CKP002"]


def test_digest_pinned_base_and_versioned_image_pass() -> None:
    digest = "sha256:" + "a" * 64
    facts = BuildFacts(dockerfile=dockerfile_facts(f"FROM python@{digest}\nUSER 1000\n"))
    assert _ids(facts) == []
    inspect = _inspect()
    inspect["RepoTags"] = ["shop/api:latest"]
    assert _ids(BuildFacts(image=image_facts(inspect))) == ["CKP002"]


def test_critical_vulnerability_with_fix_is_denied_without_fix_not() -> None:
    vulns = [
        VulnerabilityFact(
            id="CVE-2024-1", package="openssl", installed_version="3.0.1", severity="critical", fixed_version="3.0.2"
        ),
        VulnerabilityFact(id="CVE-2024-2", package="zlib", severity="CRITICAL"),
        VulnerabilityFact(id="CVE-2024-3", package="curl", severity="HIGH", fixed_version="8.0"),
    ]
    result = evaluate_policies(BuildFacts(image=image_facts(_inspect()), vulnerabilities=vulns))
    assert [(v.rule_id, v.message) for v in result.violations] == [
        ("CKP003", "critical CVE-2024-1 in openssl 3.0.1 is fixed in 3.0.2; upgrade it")
    ]


def test_registry_outside_allowed_list_is_denied_and_rule_is_off_without_data() -> None:
    facts = BuildFacts(dockerfile=dockerfile_facts("FROM python:3.11-slim\nUSER 1000\n"))
    assert _ids(facts) == []
    assert _ids(facts, data={"allowed_registries": ["127.0.0.1:5000"]}) == ["CKP004"]
    assert _ids(facts, data={"allowed_registries": ["docker.io"]}) == []


def test_user_policy_is_added_like_policy_option(tmp_path: Path) -> None:
    folder = tmp_path / "policies"
    folder.mkdir()
    (folder / "labels.rego").write_text(
        'package acme.labels\nimport rego.v1\n\ndeny contains {"id": "ACME1", "msg": "image needs an owner label"} if {\n'
        '\tnot input.image.labels.owner\n}\n\nwarn contains "prefer a HEALTHCHECK" if not input.image.healthcheck\n'
    )
    (folder / "labels_test.rego").write_text("package acme.labels_test\n this is not loaded")
    facts = BuildFacts(image=image_facts(_inspect()))
    result = evaluate_policies(facts, [folder])
    assert [(v.rule_id, v.policy_file) for v in result.violations] == [("ACME1", str(folder / "labels.rego"))]
    assert [(w.rule_id, w.message, w.level) for w in result.warnings] == [
        ("acme.labels.warn", "prefer a HEALTHCHECK", "warn")
    ]
    assert len(result.policies) == 2


def test_messages_with_quotes_survive(tmp_path: Path) -> None:
    policy = tmp_path / "q.rego"
    policy.write_text('package q\nimport rego.v1\ndeny contains sprintf("bad CMD %v", [input.image.cmd])\n')
    inspect = _inspect()
    inspect["Config"] = {"User": "1", "Cmd": ["python", "app.py"]}
    result = evaluate_policies(BuildFacts(image=image_facts(inspect)), [policy], include_default=False)
    assert [v.message for v in result.violations] == ["bad CMD ['python', 'app.py']"]


def test_broken_rego_is_a_typed_error_naming_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "broken.rego"
    bad.write_text("package broken\nimport rego.v1\n\ndeny contains msg if {\n  input.x ==\n")
    with pytest.raises(PolicySyntaxError) as exc:
        evaluate_policies(BuildFacts(), [bad])
    assert exc.value.code == "CK271"
    assert str(bad) in exc.value.message


def test_missing_policy_and_bad_data_and_bad_deny_are_typed(tmp_path: Path) -> None:
    with pytest.raises(PolicyNotFound):
        evaluate_policies(BuildFacts(), [tmp_path / "nope.rego"])
    with pytest.raises(PolicyDataInvalid):
        evaluate_policies(BuildFacts(), data=["x"])  # type: ignore[arg-type]
    odd = tmp_path / "odd.rego"
    odd.write_text("package odd\nimport rego.v1\ndeny contains 42 if true\n")
    with pytest.raises(PolicyEvaluationFailed):
        evaluate_policies(BuildFacts(), [odd])
