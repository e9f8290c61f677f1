"""The naive single-stage Dockerfile of an app: the baseline image sizes are compared against.

It is what a developer writes first for the app on the same base image: the build packages, the
whole source, one install (and the build step) in one stage, the start command, running as root.
"""

from __future__ import annotations

import re

from containerkit.tools.analyze.models import ModuleAnalysis
from containerkit.tools.dockerfile._common import exec_form, install_packages
from containerkit.tools.dockerfile._node import install_command

__all__ = ["build_stage_packages", "naive_dockerfile"]

_INSTALL = re.compile(r"(?:apt-get install -y --no-install-recommends|apk add --no-cache) ([^\\\n&;|]+)")


def build_stage_packages(dockerfile: str) -> list[str]:
    """The system packages the first stage of a multi-stage Dockerfile installs (its build toolchain):
    the naive image needs them too, in its only stage."""
    stages = re.split(r"^FROM ", dockerfile, flags=re.M)[1:]
    if len(stages) < 2:
        return []
    return sorted({p for m in _INSTALL.finditer(stages[0]) for p in m.group(1).split() if not p.startswith("-")})


def naive_dockerfile(module: ModuleAnalysis, base_image: str, build_packages: list[str] | None = None) -> str:
    """The single-stage Dockerfile a developer writes first for ``module`` on ``base_image``: its
    build packages, the whole source, the install and the build step in one stage, the start command.

    Node and Python apps only (the languages the size benchmark compares); a static site runs its
    package's start script, the way a first Dockerfile often does."""
    lines = [f"FROM {base_image}", *install_packages(base_image, build_packages or []), "WORKDIR /app", "COPY . ."]
    if module.language == "python":
        if module.requirements_file or "requirements.txt" in module.dependency_files:
            lines.append(f"RUN pip install --no-cache-dir -r {module.requirements_file or 'requirements.txt'}")
        elif "pyproject.toml" in module.dependency_files:
            lines.append("RUN pip install --no-cache-dir .")
        elif module.dependencies:
            lines.append(f"RUN pip install --no-cache-dir {' '.join(sorted(module.dependencies))}")
        start = module.start_command or f"python {module.entrypoint or 'app.py'}"
    else:
        lines.append(f"RUN {install_command(module, production=False)}")
        if module.build_command:
            lines.append(f"RUN {module.build_command}")
        pm = module.package_manager or "npm"
        start = module.start_command or (
            f"{pm} start" if module.build_command else f"node {module.entrypoint or 'index.js'}"
        )
    port = module.port or (8000 if module.language == "python" else 3000)
    lines += [f"ENV PORT={port}", f"EXPOSE {port}", exec_form(start)]
    return "\n".join(lines) + "\n"
