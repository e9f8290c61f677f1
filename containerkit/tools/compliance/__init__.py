"""Compliance (issue 4, item 6): CIS Docker Benchmark v1.6 section 4 and NIST SP 800-190 4.1.

Public API::

    evaluate_compliance(ComplianceInput) -> ComplianceReport
    dockerfile_facts(text), image_facts(inspect), inspect_image_facts(docker_client, ref)

Each control is pass / fail / not_applicable / manual with evidence; the score per framework is
passed / (passed + failed). PCI-DSS, SOC 2 and HIPAA appear only as mappings onto those controls.
``ComplianceInput`` is the same model Rego policies receive (docs/policy-input.md).
"""

from __future__ import annotations

from containerkit.tools.compliance.controls import CIS, CONTROLS, MAPPINGS, NIST
from containerkit.tools.compliance.evaluate import evaluate_compliance
from containerkit.tools.compliance.facts import (
    BuildFacts,
    DockerfileFacts,
    ImageFacts,
    LintFact,
    SecretFact,
    VulnerabilityFact,
    dockerfile_facts,
    image_facts,
)
from containerkit.tools.compliance.image import inspect_image_facts, setuid_files, setuid_files_in
from containerkit.tools.compliance.models import ComplianceReport, ControlResult, FrameworkScore, MappedRequirement

ComplianceInput = BuildFacts

__all__ = [
    "CIS",
    "CONTROLS",
    "MAPPINGS",
    "NIST",
    "BuildFacts",
    "ComplianceInput",
    "ComplianceReport",
    "ControlResult",
    "DockerfileFacts",
    "FrameworkScore",
    "ImageFacts",
    "LintFact",
    "MappedRequirement",
    "SecretFact",
    "VulnerabilityFact",
    "dockerfile_facts",
    "evaluate_compliance",
    "image_facts",
    "inspect_image_facts",
    "setuid_files",
    "setuid_files_in",
]
