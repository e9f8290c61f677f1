"""Deno: dependencies cached from deno.json / deno.lock (frozen) before the source, run as the
image's deno user with explicit permissions."""

from __future__ import annotations

from containerkit.tools.analyze.models import ModuleAnalysis
from containerkit.tools.dockerfile._common import (
    Ctx,
    Rendered,
    copy_manifests,
    exec_form,
    header,
    healthcheck_exec,
    install_packages,
    join,
)

DENO_UID = 1993
"""The deno user of the denoland/deno images (owner of DENO_DIR)."""


def render_deno(m: ModuleAnalysis, ctx: Ctx) -> Rendered:
    base = ctx.resolve("deno", m.language_version)
    port = m.port or 8000
    entry = m.entrypoint or "main.ts"
    start = m.start_command or f"deno run --allow-net --allow-env --allow-read {entry}"
    frozen = " --frozen" if m.lockfile or "deno.lock" in m.dependency_files else ""
    manifests = [
        f for f in m.dependency_files if f.startswith(("deno.json", "deno.lock", "package.json", "import_map"))
    ]
    lines = [
        header(m, f"deno {base.version}"),
        f"FROM {base.image}",
        *install_packages(base.image, m.system_packages),
        "WORKDIR /app",
        f"RUN chown {DENO_UID}:{DENO_UID} /app",
        f"USER {DENO_UID}:{DENO_UID}",
    ]
    if manifests:
        lines += [*copy_manifests(manifests), f"RUN deno install{frozen}"]
    lines += [
        f"COPY --chown={DENO_UID}:{DENO_UID} . .",
        f"RUN deno cache{frozen} {entry}",
        f"ENV PORT={port}",
        f"EXPOSE {port}",
        healthcheck_exec(
            [
                "deno",
                "eval",
                f"const c = await Deno.connect({{hostname: '127.0.0.1', port: Number(Deno.env.get('PORT') ?? {port})}});"
                " c.close();",
            ]
        ),
        exec_form(start),
    ]
    return Rendered(join(lines), base.image, DENO_UID, port)
