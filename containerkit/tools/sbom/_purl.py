"""Package URLs for each component type (packageurl-python does the encoding)."""

from __future__ import annotations

from packageurl import PackageURL

from containerkit.tools.sbom.models import OsInfo


def pypi_normalize(name: str) -> str:
    """PEP 503 name normalisation: what PyPI, OSV and purls compare on."""
    import re

    return re.sub(r"[-_.]+", "-", name).lower()


def purl_for(
    ptype: str,
    name: str,
    version: str,
    *,
    namespace: str = "",
    os: OsInfo | None = None,
    arch: str = "",
) -> str:
    qualifiers: dict[str, str] = {}
    if ptype in ("deb", "apk"):
        namespace = (os.id if os else "") or ("alpine" if ptype == "apk" else "debian")
        if arch:
            qualifiers["arch"] = arch
        if os and (os.version or os.version_id):
            qualifiers["distro"] = f"{os.id}-{os.version or os.version_id}"
    if ptype == "pypi":
        name = pypi_normalize(name)
    if ptype == "golang" and "/" in name and not namespace:
        namespace, _, name = name.rpartition("/")
    return PackageURL(
        type=ptype, namespace=namespace or None, name=name, version=version or None, qualifiers=qualifiers or None
    ).to_string()
