"""Node (npm, yarn, pnpm, bun): lockfile-exact installs before the source, a build stage when the
package has a build script (TypeScript, Next, Nest...), production dependencies only at run time."""

from __future__ import annotations

from containerkit.tools.analyze.models import ModuleAnalysis
from containerkit.tools.dockerfile._common import (
    APP_UID,
    Ctx,
    Rendered,
    copy_manifests,
    exec_form,
    header,
    healthcheck_exec,
    install_packages,
    join,
    user_lines,
)


def _is_berry(m: ModuleAnalysis) -> bool:
    return ".yarnrc.yml" in m.dependency_files


def install_command(m: ModuleAnalysis, *, production: bool) -> str:
    """The lockfile-exact install for the module's package manager (a plain install without a lock)."""
    pm = m.package_manager or "npm"
    locked = m.lockfile is not None
    if pm == "yarn":
        if _is_berry(m):
            return "corepack enable && yarn install --immutable" if locked else "corepack enable && yarn install"
        flags = (" --frozen-lockfile" if locked else "") + (" --production" if production else "")
        return f"yarn install{flags} && yarn cache clean"
    if pm == "pnpm":
        flags = (" --frozen-lockfile" if locked else "") + (" --prod" if production else "")
        return f"npm install -g pnpm@9 && pnpm install{flags}"
    if pm == "bun":
        flags = (" --frozen-lockfile" if locked else "") + (" --production" if production else "")
        return f"npm install -g bun@1 && bun install{flags}"
    omit = " --omit=dev" if production else ""
    if locked:
        return f"npm ci{omit} && npm cache clean --force"
    return f"npm install --no-audit --no-fund{omit} && npm cache clean --force"


def prune_command(m: ModuleAnalysis) -> str:
    """After a build, drop the dev dependencies the build needed so the runtime gets production ones."""
    pm = m.package_manager or "npm"
    if pm == "yarn" and not _is_berry(m):
        return "yarn install --production --frozen-lockfile --ignore-scripts --prefer-offline && yarn cache clean"
    if pm == "pnpm":
        return "pnpm prune --prod"
    if pm == "bun":
        return "rm -rf node_modules && bun install --production --ignore-scripts"
    if pm == "yarn":
        return "true"  # yarn berry: workspaces focus needs a plugin; keep what the build installed
    return "npm prune --omit=dev && npm cache clean --force"


def _needs_global(m: ModuleAnalysis, start: str) -> list[str]:
    """A start command run by pnpm or bun needs that tool in the runtime image too."""
    tool = start.split()[0] if start.split() else ""
    if tool == "pnpm":
        return ["RUN npm install -g pnpm@9 && npm cache clean --force"]
    if tool == "bun":
        return ["RUN npm install -g bun@1 && npm cache clean --force"]
    return []


def _health(port: int) -> str:
    code = (
        f"require('net').connect(Number(process.env.PORT || {port}), '127.0.0.1')"
        ".on('connect', () => process.exit(0)).on('error', () => process.exit(1))"
    )
    return healthcheck_exec(["node", "-e", code])


def _runtime_head(m: ModuleAnalysis, image: str, start: str, port: int) -> list[str]:
    return [
        f"FROM {image}",
        "WORKDIR /app",
        *install_packages(image, m.system_packages),
        *user_lines(image),
        *_needs_global(m, start),
        f"ENV NODE_ENV=production PORT={port}",
    ]


def render_node(m: ModuleAnalysis, ctx: Ctx) -> Rendered:
    base = ctx.resolve("node", m.language_version)
    port = m.port or 3000
    start = m.start_command or f"node {m.entrypoint or 'index.js'}"
    manifests = m.dependency_files or ["package.json"]
    lines = [header(m, f"node {base.version}, {m.package_manager or 'npm'}")]
    if m.build_command:
        lines += [
            f"FROM {base.image} AS build",
            "WORKDIR /app",
            *install_packages(base.image, ctx.extra_build_packages),
            *copy_manifests(manifests),
            f"RUN {install_command(m, production=False)}",
            "COPY . .",
            f"RUN {m.build_command} \\\n && {prune_command(m)}",
            "",
            *_runtime_head(m, base.runtime, start, port),
            "COPY --from=build /app ./",
        ]
    elif ctx.extra_build_packages:
        # native addons: compilers stay in the build stage, only node_modules moves on
        lines += [
            f"FROM {base.image} AS deps",
            "WORKDIR /app",
            *install_packages(base.image, ctx.extra_build_packages),
            *copy_manifests(manifests),
            f"RUN {install_command(m, production=True)}",
            "",
            *_runtime_head(m, base.runtime, start, port),
            "COPY --from=deps /app/node_modules ./node_modules",
            "COPY . .",
        ]
    else:
        lines += [
            *_runtime_head(m, base.image, start, port),
            *copy_manifests(manifests),
            f"RUN {install_command(m, production=True)}",
            "COPY . .",
        ]
    lines += [
        f"USER {APP_UID}:{APP_UID}",
        f"EXPOSE {port}",
        _health(port),
        exec_form(start),
    ]
    return Rendered(join(lines), base.runtime, APP_UID, port)
