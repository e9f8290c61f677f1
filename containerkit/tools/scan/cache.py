"""What a scan verdict depends on, as a cache key: a rerun on the same image under the same rules reuses it.

The inputs: the image id (its layers and config), the Dockerfile (lint, Dockerfile facts), the build
context's files (context secrets; ``.dockerignore`` honoured), the vulnerability database's version,
the external scanners and their databases, hadolint, the policies and their data, the trusted
registries, the gate (``fail_on``), which parts run, and containerkit's own rules (its code and data
files). Files count by size and modification time: any edit is a new key.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path
from typing import Any

from containerkit.tools.dockerignore import context_files
from containerkit.tools.results_cache import CacheKey, code_fingerprint, digest_of, file_fingerprint, files_fingerprint
from containerkit.tools.scan.options import ScanOptions

__all__ = ["display_ref", "scan_cache_key", "tools_fingerprint"]

_PARTS = ("lint", "sbom", "vulnerabilities", "secrets", "compliance", "policy")


def _binary(name: str) -> Path | None:
    """As the scanners find their binaries: PATH, then beside this Python."""
    found = shutil.which(name)
    if found:
        return Path(found)
    beside = Path(sys.executable).parent / name
    return beside if beside.is_file() else None


def _tree(root: Path) -> str:
    """Every file under ``root`` (a scanner's database folder), or ``absent``."""
    if not root.is_dir():
        return "absent"
    files = [(str(p.relative_to(root)), p) for p in root.rglob("*") if p.is_file()]
    return files_fingerprint(files)[:32]


def _external() -> str:
    trivy, grype = _binary("trivy"), _binary("grype")
    trivy_cache = Path(os.environ.get("TRIVY_CACHE_DIR") or Path.home() / ".cache" / "trivy")
    grype_cache = Path(os.environ.get("GRYPE_DB_CACHE_DIR") or Path.home() / ".cache" / "grype" / "db")
    parts = [
        f"trivy={trivy}:{file_fingerprint(trivy)}:{_tree(trivy_cache / 'db') if trivy else '-'}",
        f"grype={grype}:{file_fingerprint(grype)}:{_tree(grype_cache) if grype else '-'}",
    ]
    return digest_of(parts)[:32]


def tools_fingerprint() -> str:
    """The external scanners (and their databases) and hadolint: an install or a database update changes it."""
    hadolint = _binary("hadolint")
    return digest_of([_external(), f"{hadolint}:{file_fingerprint(hadolint)}"])[:32]


def _policies(paths: list[Path]) -> str:
    files: list[tuple[str, Path]] = []
    for p in paths:
        if p.is_dir():
            files += [(str(f), f) for f in p.rglob("*.rego")]
        else:
            files.append((str(p), p))
    return files_fingerprint(files)[:32]


def display_ref(image: str, inspect: dict[str, Any]) -> str:
    """The name policies judge: a tag when the user passed a bare image id."""
    tags = [str(t) for t in inspect.get("RepoTags") or []]
    image_id = str(inspect.get("Id") or "")
    is_id = image.startswith("sha256:") or (len(image) >= 12 and image_id.removeprefix("sha256:").startswith(image))
    return tags[0] if is_id and tags else image


def scan_cache_key(
    image_id: str, options: ScanOptions, *, fail_on: str | None, judged_ref: str | None = None, subject: str = ""
) -> CacheKey:
    """The key of the verdict ``scan_image(image_id, options)`` judged at ``fail_on``. Policies judge
    ``options.image_ref``; without it, pass ``judged_ref`` (:func:`display_ref` of the engine's inspect)."""
    inputs = {
        "image_id": image_id,
        "judged_ref": str(options.image_ref or judged_ref),
        "rules": code_fingerprint(),
        "fail_on": str(fail_on),
        "parts": ",".join(p for p in _PARTS if getattr(options, p)),
        "dockerfile": f"{options.dockerfile}:{file_fingerprint(options.dockerfile)}",
        "context": "-"
        if options.context is None or not options.secrets
        else f"{options.context}:{files_fingerprint(context_files(options.context))[:32]}",
        "vuln_db": f"{options.vuln_db}:{file_fingerprint(options.vuln_db)}" if options.vulnerabilities else "-",
        "external_scanners": _external() if options.vulnerabilities and options.external_scanners else "-",
        "hadolint": f"{_binary('hadolint')}:{file_fingerprint(_binary('hadolint'))}" if options.lint else "-",
        "policies": _policies(options.policies) if options.policy else "-",
        "policy_data": digest_of(options.policy_data)[:32],
        "trusted_registries": ",".join(sorted(options.trusted_registries)),
    }
    return CacheKey(kind="scan", subject=subject, inputs=inputs)
