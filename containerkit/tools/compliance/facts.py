"""The facts compliance controls and Rego policies are evaluated over (one model, documented in
docs/policy-input.md): Dockerfile instructions, the image configuration, and scan results.

``None`` for a scan means "not performed", which makes the dependent control *not applicable* or
*manual* rather than passed: a missing scan must never look like a clean one.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, Field

from containerkit.errors import InvalidImageReference
from containerkit.tools.compliance._dockerfile import read_instructions
from containerkit.tools.images import parse_image_ref

__all__ = [
    "BuildFacts",
    "DockerfileFacts",
    "ImageFacts",
    "ImageName",
    "Instruction",
    "LintFact",
    "SecretFact",
    "VulnerabilityFact",
    "dockerfile_facts",
    "image_facts",
    "image_name",
]

DEFAULT_REGISTRY = "docker.io"
_VAR = re.compile(r"\$\{?(\w+)\}?")


class ImageName(BaseModel):
    """An image reference split up; ``tag`` is None when none was written (Docker then uses latest)."""

    ref: str
    registry: str
    repository: str
    tag: str | None = None
    digest: str | None = None


class Instruction(BaseModel):
    cmd: str = Field(description="upper-case keyword: FROM, RUN, USER, ...")
    value: str = Field(description="the arguments after the keyword and its --flags, continuations joined")
    line: int
    stage: int = Field(description="index of the build stage (FROM) the instruction belongs to")
    flags: dict[str, str] = {}


class DockerfileFacts(BaseModel):
    instructions: list[Instruction]
    stages: int
    base_images: list[ImageName] = Field(description="external FROM images, stage aliases and scratch excluded")
    final_user: str | None = Field(description="the last USER of the final stage; None when it sets none")


class ImageFacts(BaseModel):
    ref: str | None = None
    name: ImageName | None = None
    id: str | None = None
    user: str = Field("", description="Config.User; empty means root")
    healthcheck: list[str] | None = None
    env_names: list[str] = Field([], description="names only: values may hold secrets")
    exposed_ports: list[str] = []
    labels: dict[str, str] = {}
    entrypoint: list[str] = []
    cmd: list[str] = []
    repo_digests: list[str] = []
    setuid_files: list[str] | None = Field(
        None, description="setuid/setgid files found; None = filesystem not examined"
    )


class VulnerabilityFact(BaseModel):
    id: str
    package: str
    installed_version: str = ""
    severity: str = Field(description="CRITICAL, HIGH, MEDIUM, LOW or UNKNOWN")
    fixed_version: str | None = None


class SecretFact(BaseModel):
    rule_id: str
    path: str
    source: str
    in_final_image: bool = True


class LintFact(BaseModel):
    rule: str
    severity: str
    line: int = 0
    message: str = ""


class BuildFacts(BaseModel):
    """Everything known about one build. Lists that are None were not collected."""

    dockerfile: DockerfileFacts | None = None
    image: ImageFacts | None = None
    vulnerabilities: list[VulnerabilityFact] | None = None
    secrets: list[SecretFact] | None = None
    lint: list[LintFact] | None = None
    malware_scanned: bool | None = Field(None, description="True when a malware scan ran and found nothing")
    content_trust: bool | None = Field(None, description="DOCKER_CONTENT_TRUST / signature verification on")
    trusted_registries: list[str] = Field([], description="registries base images may come from")
    manifests: list[dict[str, Any]] = Field([], description="Kubernetes objects, once deploy fills them in")


def image_name(ref: str) -> ImageName:
    """Split a reference; an unparsable one keeps its text as repository so facts never raise."""
    try:
        parsed = parse_image_ref(ref, default_tag=None)
    except InvalidImageReference:
        return ImageName(ref=ref, registry=DEFAULT_REGISTRY, repository=ref)
    return ImageName(
        ref=ref,
        registry=parsed.registry or DEFAULT_REGISTRY,
        repository=parsed.repository,
        tag=parsed.tag,
        digest=parsed.digest,
    )


def dockerfile_facts(text: str) -> DockerfileFacts:
    """Instructions with stage numbers, external base images (ARG defaults expanded), final USER."""
    raws = read_instructions(text)
    args: dict[str, str] = {}
    aliases: set[str] = set()
    stage = -1
    instructions: list[Instruction] = []
    bases: list[ImageName] = []
    users: dict[int, str] = {}
    for raw in raws:
        if raw.cmd == "FROM":
            stage += 1
            words = raw.value.split()
            image = _VAR.sub(lambda m: args.get(m.group(1), ""), words[0]) if words else ""
            if image and image.lower() != "scratch" and image not in aliases:
                bases.append(image_name(image))
            if len(words) >= 3 and words[1].lower() == "as":
                aliases.add(words[2])
        elif raw.cmd == "ARG" and stage < 0 and "=" in raw.value:
            k, v = raw.value.split("=", 1)
            args[k.strip()] = v.strip().strip("\"'")
        elif raw.cmd == "USER":
            users[stage] = raw.value.strip()
        instructions.append(
            Instruction(cmd=raw.cmd, value=raw.value, line=raw.line, stage=max(stage, 0), flags=raw.flags)
        )
    return DockerfileFacts(instructions=instructions, stages=stage + 1, base_images=bases, final_user=users.get(stage))


def image_facts(
    inspect: dict[str, Any], *, ref: str | None = None, setuid_files: list[str] | None = None
) -> ImageFacts:
    """From ``docker_client.api.inspect_image(ref)``; environment values are dropped, names kept."""
    cfg = inspect.get("Config") or {}
    health = cfg.get("Healthcheck") or None
    tags = inspect.get("RepoTags") or []
    shown = ref or (tags[0] if tags else None)
    return ImageFacts(
        ref=shown,
        name=image_name(shown) if shown else None,
        id=inspect.get("Id"),
        user=cfg.get("User") or "",
        healthcheck=list(health.get("Test") or []) if health else None,
        env_names=[str(e).split("=", 1)[0] for e in cfg.get("Env") or []],
        exposed_ports=sorted(cfg.get("ExposedPorts") or {}),
        labels=dict(cfg.get("Labels") or {}),
        entrypoint=list(cfg.get("Entrypoint") or []),
        cmd=list(cfg.get("Cmd") or []),
        repo_digests=list(inspect.get("RepoDigests") or []),
        setuid_files=setuid_files,
    )
