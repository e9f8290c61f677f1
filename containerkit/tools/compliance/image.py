"""Facts about a built image that need the engine: its configuration and its setuid/setgid files."""

from __future__ import annotations

import docker.errors
from docker import DockerClient

from containerkit.tools.compliance.facts import ImageFacts, image_facts
from containerkit.tools.image_fs import ImageFS, ImageNotFound, open_image
from containerkit.tools.secrets.errors import ImageNotAvailableForScan

__all__ = ["inspect_image_facts", "setuid_files", "setuid_files_in"]

_SETID = 0o6000


def setuid_files_in(fs: ImageFS) -> list[str]:
    """Files of the final filesystem with setuid or setgid set (later layers and whiteouts applied)."""
    return sorted(
        "/" + p.lstrip("/") for p, e in fs.merged().items() if e.kind in ("file", "hardlink") and e.mode & _SETID
    )


def setuid_files(docker_client: DockerClient, ref: str) -> list[str]:
    """``setuid_files_in`` for an image of the engine (exported once, read in place)."""
    try:
        with open_image(docker_client, ref) as fs:
            return setuid_files_in(fs)
    except ImageNotFound:
        raise ImageNotAvailableForScan(f"image {ref} is not in the local engine", image=ref) from None


def inspect_image_facts(docker_client: DockerClient, ref: str, *, with_setuid: bool = True) -> ImageFacts:
    """``inspect_image`` plus (optionally) the setuid scan, which reads every layer once."""
    try:
        inspect = docker_client.api.inspect_image(ref)
    except docker.errors.ImageNotFound:
        raise ImageNotAvailableForScan(f"image {ref} is not in the local engine", image=ref) from None
    files = setuid_files(docker_client, ref) if with_setuid else None
    return image_facts(inspect, ref=ref, setuid_files=files)
