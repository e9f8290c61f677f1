"""`containerkit sbom IMAGE`: the packages in a local image, read from its layers (CycloneDX or JSON)."""

from __future__ import annotations

from pathlib import Path

import typer

from containerkit.cli import current_env, handle_errors
from containerkit.errors import InvalidOption
from containerkit.tools.fsio import check_writable_target, write_text

__all__ = ["register"]


@handle_errors
def sbom_cmd(
    image: str = typer.Argument(..., help="A local image (name:tag or id)."),
    fmt: str = typer.Option("cyclonedx", "--format", "-f", help="cyclonedx (CycloneDX 1.5 JSON) or json."),
    output: Path | None = typer.Option(None, "--output", "-o", help="Write to this file instead of stdout."),
) -> None:
    """Software bill of materials of an image, without running it."""
    from containerkit.tools.engine import connect_docker
    from containerkit.tools.sbom import build_sbom, sbom_to_cyclonedx

    if fmt not in ("cyclonedx", "json"):
        raise InvalidOption(f"--format must be cyclonedx or json, not {fmt!r}", hint="Use --format cyclonedx|json.")
    env = current_env()
    if output is not None:  # refused before the image is read, and again (atomically) when written
        check_writable_target(output)
    sbom = build_sbom(connect_docker(env.settings.docker_host), image)
    text = sbom_to_cyclonedx(sbom) if fmt == "cyclonedx" else sbom.model_dump_json(indent=2)
    if output is None:
        print(text, file=env.stdout)
    else:
        write_text(output, text + "\n")
    summary = ", ".join(f"{n} {t}" for t, n in sbom.counts().items()) or "no packages"
    env.err.print(f"{len(sbom.components)} components ({summary}) in {sbom.duration_s:.2f}s")
    for warning in sbom.warnings:
        env.err.print(f"[yellow]warning:[/] {warning}")


def register(app: typer.Typer) -> None:
    app.command("sbom")(sbom_cmd)
