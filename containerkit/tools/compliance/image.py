"""Facts about a built image that need the engine: its configuration and its setuid/setgid files."""

from __future__ import annotations

import docker.errors
from docker import DockerClient

from containerkit.tools.compliance.facts import ImageFacts, image_facts
from containerkit.tools.secrets._layers import open_image_archive
from containerkit.tools.secrets.errors import ImageNotAvailableForScan

__all__ = ["inspect_image_facts", "setuid_files"]

_SETID = 0o6000


def setuid_files(docker_client: DockerClient, ref: str) -> list[str]:
    """Files of the final filesystem with setuid or setgid set (later layers and whiteouts applied)."""
    seen: dict[str, tuple[int, int]] = {}  # path -> (layer index, mode)
    with open_image_archive(docker_client, ref) as archive:
        for e in archive.entries():
            if e.kind == "file":
                seen[e.path] = (e.layer.index, e.mode)
                continue
            prefix = e.path.rstrip("/") + "/"
            for p in [p for p in seen if p.startswith(prefix) or (e.kind == "whiteout" and p == e.path)]:
                if seen[p][0] < e.layer.index:  # an opaque marker never hides its own layer's files
                    del seen[p]
    return sorted("/" + p for p, (_, mode) in seen.items() if mode & _SETID)


def inspect_image_facts(docker_client: DockerClient, ref: str, *, with_setuid: bool = True) -> ImageFacts:
    """``inspect_image`` plus (optionally) the setuid scan, which reads every layer once."""
    try:
        inspect = docker_client.api.inspect_image(ref)
    except docker.errors.ImageNotFound:
        raise ImageNotAvailableForScan(f"image {ref} is not in the local engine", image=ref) from None
    files = setuid_files(docker_client, ref) if with_setuid else None
    return image_facts(inspect, ref=ref, setuid_files=files)
