"""The control catalogue and the mapping tables, as data.

CIS Docker Benchmark v1.6.0 section 4 (container images and build file) and NIST SP 800-190
section 4.1 (image countermeasures) are checked. PCI-DSS v4.0, SOC 2 (2017 TSC) and the HIPAA
Security Rule are only *mapped* onto those controls: no check of their own is invented.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

from containerkit.tools.compliance import _checks as c
from containerkit.tools.compliance.facts import BuildFacts

__all__ = ["CIS", "CONTROLS", "MAPPINGS", "NIST", "Control", "Mapping"]

CIS = "CIS Docker Benchmark v1.6.0"
NIST = "NIST SP 800-190"


class Control(NamedTuple):
    id: str
    framework: str
    title: str
    check: Callable[[BuildFacts], c.Outcome]


CONTROLS: tuple[Control, ...] = (
    Control("CIS-4.1", CIS, "Ensure that a user for the container has been created", c.user),
    Control("CIS-4.2", CIS, "Ensure that containers use only trusted base images", c.trusted_base),
    Control(
        "CIS-4.3", CIS, "Ensure that unnecessary packages are not installed in the container", c.unnecessary_packages
    ),
    Control("CIS-4.4", CIS, "Ensure images are scanned and rebuilt to include security patches", c.scanned_and_patched),
    Control("CIS-4.5", CIS, "Ensure Content trust for Docker is Enabled", c.content_trust),
    Control("CIS-4.6", CIS, "Ensure that HEALTHCHECK instructions have been added to container images", c.healthcheck),
    Control("CIS-4.7", CIS, "Ensure update instructions are not used alone in the Dockerfile", c.update_alone),
    Control("CIS-4.8", CIS, "Ensure setuid and setgid permissions are removed", c.setuid),
    Control("CIS-4.9", CIS, "Ensure that COPY is used instead of ADD in Dockerfiles", c.copy_not_add),
    Control("CIS-4.10", CIS, "Ensure secrets are not stored in Dockerfiles", c.secrets_not_stored),
    Control("CIS-4.11", CIS, "Ensure only verified packages are installed", c.verified_packages),
    Control("CIS-4.12", CIS, "Ensure all signed artifacts are validated", c.signed_artifacts),
    Control("NIST-4.1.1", NIST, "Image vulnerabilities", c.vulnerabilities),
    Control("NIST-4.1.2", NIST, "Image configuration defects", c.configuration_defects),
    Control("NIST-4.1.3", NIST, "Embedded malware", c.malware),
    Control("NIST-4.1.4", NIST, "Embedded clear text secrets", c.secrets_not_stored),
    Control("NIST-4.1.5", NIST, "Use of untrusted images", c.untrusted_images),
)


class Mapping(NamedTuple):
    framework: str
    requirement: str
    title: str
    controls: tuple[str, ...]


MAPPINGS: tuple[Mapping, ...] = (
    Mapping(
        "PCI-DSS v4.0",
        "2.2",
        "System components are configured and managed securely",
        ("CIS-4.1", "CIS-4.3", "CIS-4.6", "CIS-4.7", "CIS-4.9", "NIST-4.1.2"),
    ),
    Mapping("PCI-DSS v4.0", "5.2", "Malicious software is prevented, or detected and addressed", ("NIST-4.1.3",)),
    Mapping(
        "PCI-DSS v4.0",
        "6.3.3",
        "Known vulnerabilities are addressed by installing security patches",
        ("CIS-4.4", "NIST-4.1.1"),
    ),
    Mapping(
        "PCI-DSS v4.0",
        "8.6.2",
        "Passwords for accounts are not hard coded in scripts or files",
        ("CIS-4.10", "NIST-4.1.4"),
    ),
    Mapping("SOC 2", "CC6.1", "Logical access security over protected information assets", ("CIS-4.1", "CIS-4.10")),
    Mapping(
        "SOC 2",
        "CC6.8",
        "Controls prevent or detect unauthorized or malicious software",
        ("CIS-4.11", "NIST-4.1.3", "NIST-4.1.5"),
    ),
    Mapping(
        "SOC 2",
        "CC7.1",
        "Detection of configuration changes and new vulnerabilities",
        ("CIS-4.4", "NIST-4.1.1", "NIST-4.1.2"),
    ),
    Mapping("SOC 2", "CC8.1", "Changes are authorized, tested and approved", ("CIS-4.2", "CIS-4.5", "CIS-4.12")),
    Mapping(
        "HIPAA", "164.308(a)(1)(ii)(B)", "Risk management: reduce risks and vulnerabilities", ("CIS-4.4", "NIST-4.1.1")
    ),
    Mapping("HIPAA", "164.308(a)(5)(ii)(B)", "Protection from malicious software", ("NIST-4.1.3", "CIS-4.11")),
    Mapping("HIPAA", "164.312(a)(1)", "Access control", ("CIS-4.1", "CIS-4.10", "NIST-4.1.4")),
    Mapping(
        "HIPAA",
        "164.312(c)(1)",
        "Integrity: protect ePHI from improper alteration",
        ("CIS-4.2", "CIS-4.5", "NIST-4.1.5"),
    ),
)
