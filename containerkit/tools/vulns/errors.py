"""Errors of the vulnerability database and matching (codes CK248-CK259)."""

from __future__ import annotations

from typing import ClassVar

from containerkit.errors import ContainerKitError

__all__ = ["OsvRecordInvalid", "UnknownEcosystem", "VulnDbError", "VulnDbUpdateFailed"]


class OsvRecordInvalid(ContainerKitError):
    code: ClassVar[str] = "CK248"
    exit_code: ClassVar[int] = 2
    default_hint: ClassVar[str] = (
        "Fix or remove the named file: each must be an OSV JSON record (https://ossf.github.io/osv-schema/) "
        "with at least 'id' and 'modified'; nothing from this import was stored."
    )


class VulnDbError(ContainerKitError):
    code: ClassVar[str] = "CK249"
    default_hint: ClassVar[str] = (
        "The vulnerability database cannot be read; delete it and import the advisories again "
        "(`containerkit db import PATH`)."
    )


class VulnDbUpdateFailed(ContainerKitError):
    code: ClassVar[str] = "CK250"
    default_hint: ClassVar[str] = (
        "Without access to the OSV exports, download ECOSYSTEM/all.zip on a connected machine and run "
        "`containerkit db import all.zip` here."
    )


class UnknownEcosystem(ContainerKitError):
    code: ClassVar[str] = "CK251"
    exit_code: ClassVar[int] = 2
    default_hint: ClassVar[str] = (
        "Use an OSV ecosystem name such as PyPI, npm, Go, Maven, crates.io, RubyGems, Packagist, Debian or Alpine."
    )
