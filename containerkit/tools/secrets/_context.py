"""The files a build sends to the engine (kept here for the secret scanner's imports)."""

from __future__ import annotations

from containerkit.tools.dockerignore import context_files, dockerignore_spec

__all__ = ["context_files", "dockerignore_spec"]
