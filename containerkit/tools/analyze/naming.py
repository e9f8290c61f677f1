"""The image name of a module: the project's own name, never a base image's or a generic folder's.

``python`` (a folder named after its language), ``node``, ``web``, ``app``, ``src``, ``server``,
``backend``, ``frontend``: an image called that collides with the base images and with every
other project's ``web``. Such a name is qualified by the repository folder (``shop-web``), or
replaced by it for the root module.
"""

from __future__ import annotations

import re
from pathlib import PurePosixPath

from containerkit.tools.images import sanitize_repo_name

__all__ = ["BASE_IMAGE_NAMES", "GENERIC_NAMES", "image_name"]

BASE_IMAGE_NAMES = frozenset(
    {
        "python", "node", "nodejs", "golang", "go", "ruby", "php", "java", "openjdk", "eclipse-temurin", "rust",
        "deno", "bun", "dotnet", "elixir", "erlang", "nginx", "httpd", "debian", "ubuntu", "alpine", "busybox",
        "scratch", "postgres", "redis", "mysql", "mongo", "registry", "docker",
    }
)  # fmt: skip
GENERIC_NAMES = frozenset(
    {
        "app", "apps", "web", "www", "src", "source", "server", "client", "backend", "frontend", "front", "back",
        "api", "service", "services", "site", "website", "main", "project", "code", "repo", "workspace", "root",
        "demo", "example", "test", "tmp", "my-app", "myapp", "application", "package", "packages", "monorepo",
    }
)  # fmt: skip


def _clean(name: str) -> str:
    base = name.strip().rsplit("/", 1)[-1] if name.strip().startswith("@") else name.strip()
    return sanitize_repo_name(base.replace("/", "-")) if base else ""


def _weak(name: str) -> bool:
    return not name or name in BASE_IMAGE_NAMES or name in GENERIC_NAMES or bool(re.fullmatch(r"[\d.-]+", name))


def image_name(module_name: str, module_path: str, repo_root: str) -> str:
    """A registry repository name for the module: its project name when that says something, else
    qualified by (or replaced with) the repository folder's name."""
    own = _clean(module_name)
    if not _weak(own):
        return own
    repo = _clean(PurePosixPath(repo_root.replace("\\", "/")).name)
    folder = _clean(PurePosixPath(module_path).name) if module_path not in ("", ".") else ""
    if not _weak(repo):
        part = own or folder
        return f"{repo}-{part}" if module_path not in ("", ".") and part else repo
    return f"{own or folder or repo or 'app'}-app" if (own or folder or repo) != "app" else "app-image"
