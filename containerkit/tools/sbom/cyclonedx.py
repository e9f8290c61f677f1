"""CycloneDX JSON for an SBOM (cyclonedx-python-lib), with layer provenance as properties."""

from __future__ import annotations

from cyclonedx.model import Property
from cyclonedx.model.bom import Bom
from cyclonedx.model.component import Component as CdxComponent
from cyclonedx.model.component import ComponentType as CdxType
from cyclonedx.output.json import JsonV1Dot5
from packageurl import PackageURL

from containerkit.tools.sbom.models import Sbom

__all__ = ["sbom_to_cyclonedx"]


def sbom_to_cyclonedx(sbom: Sbom) -> str:
    """CycloneDX 1.5 JSON: the image as metadata component, each package with purl and its layer."""
    bom = Bom()
    root = CdxComponent(
        name=sbom.image_ref or sbom.image_id,
        type=CdxType.CONTAINER,
        version=sbom.image_id or None,
        bom_ref=sbom.image_id or sbom.image_ref or "image",
    )
    bom.metadata.component = root
    if sbom.os is not None:
        bom.components.add(
            CdxComponent(
                name=sbom.os.id,
                version=sbom.os.version or sbom.os.version_id or None,
                type=CdxType.OPERATING_SYSTEM,
                bom_ref=f"os:{sbom.os.id}",
            )
        )
    for i, c in enumerate(sbom.components):
        props = [
            Property(name="containerkit:package:type", value=c.type),
            Property(name="containerkit:layer:diff_id", value=c.layer_diff_id),
            Property(name="containerkit:layer:index", value=str(c.layer_index)),
            Property(name="containerkit:file", value=c.source_file),
        ]
        if c.source_name and c.source_name != c.name:
            props.append(Property(name="containerkit:package:source_name", value=c.source_name))
        if c.source_version and c.source_version != c.version:
            props.append(Property(name="containerkit:package:source_version", value=c.source_version))
        bom.components.add(
            CdxComponent(
                name=c.name,
                version=c.version,
                group=c.namespace or None,
                type=CdxType.LIBRARY,
                purl=PackageURL.from_string(c.purl),
                bom_ref=f"{c.purl}#{i}",
                properties=props,
            )
        )
    bom.register_dependency(root, list(bom.components))  # the image contains every component
    return JsonV1Dot5(bom).output_as_string(indent=2)
