"""Single-file apps with no manifest: a lone ``main.go`` gets its module created in the image.

The Go renderer's shape is kept (static binary, distroless runtime); only the module download
becomes ``go mod init`` + ``go mod tidy`` after the source is copied.
"""

from __future__ import annotations

import re

from containerkit.tools.analyze.models import ModuleAnalysis
from containerkit.tools.dockerfile._common import Ctx, Rendered
from containerkit.tools.dockerfile._go import render_go

__all__ = ["needs_go_module", "render_go_without_module"]


def needs_go_module(m: ModuleAnalysis) -> bool:
    return m.language == "go" and "go.mod" not in m.dependency_files and m.workspace_root is None


def render_go_without_module(m: ModuleAnalysis, ctx: Ctx) -> Rendered:
    out = render_go(m.model_copy(update={"dependency_files": ["go.mod"]}), ctx)
    name = re.sub(r"[^a-z0-9._-]+", "-", m.name.lower()).strip("-.") or "app"
    content = out.content.replace(
        "COPY go.mod ./\nRUN go mod download && go mod verify\nCOPY . .\n",
        f"COPY . .\nRUN go mod init {name} && go mod tidy\n",
    )
    return Rendered(content, out.base_image, out.uid, out.port)
