"""The containerkit_ collectors, read back through the exposition format."""

from __future__ import annotations

from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from containerkit.tools.compliance import CIS, NIST, ComplianceInput, dockerfile_facts, evaluate_compliance
from containerkit.tools.metrics import BuildSecMetrics, render


def _samples(m: BuildSecMetrics) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    out = {}
    for fam in text_string_to_metric_families(render(m).decode()):
        for s in fam.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def test_collectors_record_results_with_the_containerkit_prefix() -> None:
    m = BuildSecMetrics()
    m.record_scan("secrets", 1.7)
    m.record_scan("secrets", 0.2)
    m.record_build(42.0)
    m.record_vulnerabilities("shop/api:1.0", ["critical", "HIGH", "HIGH", "weird"])
    m.record_lint({"error": 1, "warning": 3})
    m.record_secrets(["layer", "layer", "context"])
    report = evaluate_compliance(ComplianceInput(dockerfile=dockerfile_facts("FROM debian:bookworm-slim\nADD a /a\n")))
    m.record_compliance({s.framework: s.score for s in report.scores})

    s = _samples(m)
    assert s[("containerkit_scan_duration_seconds_count", (("scanner", "secrets"),))] == 2
    assert s[("containerkit_scan_duration_seconds_sum", (("scanner", "secrets"),))] == 1.9
    assert s[("containerkit_build_duration_seconds_bucket", (("le", "60.0"),))] == 1
    assert s[("containerkit_vulnerabilities", (("image", "shop/api:1.0"), ("severity", "HIGH")))] == 2
    assert s[("containerkit_vulnerabilities", (("image", "shop/api:1.0"), ("severity", "LOW")))] == 0
    assert s[("containerkit_vulnerabilities", (("image", "shop/api:1.0"), ("severity", "UNKNOWN")))] == 1
    assert s[("containerkit_lint_findings", (("severity", "warning"),))] == 3
    assert s[("containerkit_secrets_found", (("source", "layer"),))] == 2
    cis = next(x.score for x in report.scores if x.framework == CIS)
    assert s[("containerkit_compliance_score", (("framework", CIS),))] == cis
    assert ("containerkit_compliance_score", (("framework", NIST),)) in s
    assert all(name.startswith("containerkit_") for name, _ in s)


def test_registry_is_dedicated_not_global() -> None:
    a, b = BuildSecMetrics(), BuildSecMetrics()
    a.record_build(1.0)
    assert b"containerkit_build_duration_seconds_count 1.0" in render(a)
    assert b"containerkit_build_duration_seconds_count 0.0" in render(b)
    assert b"containerkit_" not in __import__("prometheus_client").generate_latest(REGISTRY)
