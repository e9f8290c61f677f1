"""Node (npm, yarn, pnpm, bun): lockfile-exact installs before the source, a build stage when the
package has a build script (TypeScript, Next, Nest...), production dependencies only at run time."""

from __future__ import annotations

import json
import posixpath
import re
from pathlib import Path

from containerkit.tools.analyze.models import ModuleAnalysis
from containerkit.tools.dockerfile._common import (
    APP_UID,
    APT_CLEAN,
    Ctx,
    Rendered,
    exec_form,
    header,
    healthcheck_exec,
    install_packages,
    is_alpine,
    join,
    user_lines,
)
from containerkit.tools.dockerfile._workspace import NodeWorkspace


def _is_berry(m: ModuleAnalysis) -> bool:
    v = m.package_manager_version or ""
    return m.package_manager == "yarn" and (".yarnrc.yml" in m.dependency_files or (v[:1].isdigit() and v != "1"))


def _major(m: ModuleAnalysis, default: str) -> str:
    v = m.package_manager_version
    return v if v and v[:1].isdigit() else default


def _yarn_release(m: ModuleAnalysis) -> str | None:
    """The yarn release committed with the project (`yarnPath`): any yarn runs it."""
    return next((f for f in m.dependency_files if f.startswith(".yarn/releases/")), None)


def pm_setup(m: ModuleAnalysis) -> str:
    """Installs the package manager at the version the lockfile asks for (``npm install -g``, not
    corepack: corepack downloads from the package manager's own site, often unreachable)."""
    pm = m.package_manager or "npm"
    if pm == "pnpm":
        return f"npm install -g pnpm@{_major(m, '9')} && "
    if pm == "bun":
        return f"npm install -g bun@{_major(m, '1')} && "
    if pm == "yarn" and _is_berry(m) and _yarn_release(m) is None:
        # yarn 2+ is published as @yarnpkg/cli-dist; --force replaces the image's yarn 1
        return f"npm install -g --force @yarnpkg/cli-dist@{_major(m, '4')} && "
    return ""


def install_command(m: ModuleAnalysis, *, production: bool) -> str:
    """The lockfile-exact install for the module's package manager (a plain install without a lock)."""
    pm = m.package_manager or "npm"
    locked = m.lockfile is not None
    keep_dev = m.dev_dependencies_at_runtime  # NODE_ENV=production would leave them out
    production = production and not keep_dev
    setup = pm_setup(m)
    if pm == "yarn":
        if _is_berry(m):
            # node_modules (not Plug'n'Play): the start command runs plain node
            flags = " --immutable" if locked else ""
            return f"{setup}YARN_NODE_LINKER=node-modules yarn install{flags}"
        flags = (" --frozen-lockfile" if locked else "") + (" --production" if production else "")
        flags += " --production=false" if keep_dev else ""
        return f"yarn install{flags} && yarn cache clean"
    if pm == "pnpm":
        flags = (" --frozen-lockfile" if locked else "") + (" --prod" if production else "")
        flags += " --production=false" if keep_dev else ""
        return f"{setup}pnpm install{flags}"
    if pm == "bun":
        flags = (" --frozen-lockfile" if locked else "") + (" --production" if production else "")
        return f"{setup}bun install{flags}"
    omit = " --omit=dev" if production else (" --include=dev" if keep_dev else "")
    if locked:
        return f"npm ci{omit} && npm cache clean --force"
    return f"npm install --no-audit --no-fund{omit} && npm cache clean --force"


def node_manifests(files: list[str]) -> list[str]:
    """COPY of the manifests, each at its own path (`.yarn/releases/yarn-3.6.1.cjs` stays there)."""
    by_dir: dict[str, list[str]] = {}
    for f in files:
        by_dir.setdefault(posixpath.dirname(f), []).append(f)
    return [f"COPY {' '.join(group)} ./{d + '/' if d else ''}" for d, group in sorted(by_dir.items())]


def prune_command(m: ModuleAnalysis) -> str:
    """After a build, drop the dev dependencies the build needed so the runtime gets production ones."""
    pm = m.package_manager or "npm"
    if m.dev_dependencies_at_runtime:
        return "true"  # the start command runs a dev tool: nothing is pruned
    if pm == "yarn" and not _is_berry(m):
        return "yarn install --production --frozen-lockfile --ignore-scripts --prefer-offline && yarn cache clean"
    if pm == "pnpm":
        return "pnpm prune --prod"
    if pm == "bun":
        return "rm -rf node_modules && bun install --production --ignore-scripts"
    if pm == "yarn":
        return "true"  # yarn berry: workspaces focus needs a plugin; keep what the build installed
    return "npm prune --omit=dev && npm cache clean --force"


def next_build_leftovers(m: ModuleAnalysis) -> str:
    """A Next.js app served by ``next start`` or its own server keeps ``.next`` and ``node_modules``;
    the build's cache and the SWC compiler (a 100+ MB native binary per libc) serve only builds:
    Next's own standalone output leaves both out. Empty for other apps."""
    if m.framework != "next" or m.dev_dependencies_at_runtime:
        return ""
    return " \\\n && rm -rf .next/cache node_modules/@next/swc-* node_modules/.pnpm/@next+swc-*"


def native_headers(build_packages: list[str]) -> str:
    """With compilers in the stage: node-gyp builds against the image's own Node headers (the
    official images ship them in /usr/local/include/node) instead of downloading them from
    nodejs.org, which a build often cannot reach."""
    if not {"g++", "make"} & set(build_packages):
        return ""
    return "if [ -f /usr/local/include/node/node.h ]; then export npm_config_nodedir=/usr/local; fi \\\n && "


def _q(arg: str) -> str:
    """Quote a shell word only when it needs it (scoped names and paths do not)."""
    return arg if all(c.isalnum() or c in "@/._-+=:" for c in arg) else json.dumps(arg)


def workspace_install(m: ModuleAnalysis, ws: NodeWorkspace, *, production: bool) -> str:
    """Install from the workspace root, only what the member (and the packages it builds) needs."""
    pm = m.package_manager or "npm"
    locked = ws.lockfile is not None
    if pm == "pnpm":
        flags = (" --frozen-lockfile" if locked else "") + (" --prod" if production else "")
        select = f" --filter {_q(ws.package_name + '...')}" + ("" if production else " --filter .")
        return f"{pm_setup(m)}pnpm install{flags}{select}"
    if pm == "yarn" or pm == "bun":
        # yarn 1 and bun install the whole workspace (yarn 1 has no focus); the prune trims it
        return install_command(m.model_copy(update={"lockfile": ws.lockfile}), production=production)
    members = [ws.member] if production else [*ws.build_members, ws.member]
    select = "".join(f" --workspace {_q(d)}" for d in members) + ("" if production else " --include-workspace-root")
    omit = " --omit=dev" if production else ""
    if locked:
        return f"npm ci{omit}{select} && npm cache clean --force"
    return f"npm install --no-audit --no-fund{omit}{select} && npm cache clean --force"


def workspace_prune(m: ModuleAnalysis, ws: NodeWorkspace) -> str:
    """After the build, production dependencies of the member only (the build's dev tools go)."""
    pm = m.package_manager or "npm"
    if pm == "pnpm":
        # CI=true: pnpm may recreate node_modules when switching to --prod, and asks first on a TTY
        return "CI=true " + workspace_install(m, ws, production=True).removeprefix(pm_setup(m))
    if pm == "npm":
        return workspace_install(m, ws, production=True)
    return prune_command(m.model_copy(update={"lockfile": ws.lockfile}))


def workspace_build_stage(
    m: ModuleAnalysis, ws: NodeWorkspace, image: str, ctx: Ctx, *, prune: bool, runtime: str = ""
) -> list[str]:
    """The build stage from the workspace root: manifests, a filtered install, sources, builds; with
    ``prune``, production dependencies only, for ``runtime``'s libc."""
    pm = m.package_manager or "npm"
    builds = bool(m.build_command)
    lines = [
        f"FROM {image} AS build",
        "WORKDIR /app",
        *install_packages(image, ctx.extra_build_packages),
        *node_manifests(ws.root_files),
        *(f"COPY {d} {d}/" for d in ws.root_dirs),
        *(f"COPY {f} {posixpath.dirname(f)}/" for f in ws.manifests if posixpath.dirname(f)),
        f"RUN {native_headers(ctx.extra_build_packages)}{workspace_install(m, ws, production=not builds)}",
        "COPY . .",
    ]
    if builds:
        for dep in ws.build_members:  # workspace packages the member imports from their build output
            lines += [f"WORKDIR /app/{dep}", f"RUN {pm} run build"]
        lines += [f"WORKDIR /app/{ws.member}", f"RUN {m.build_command}"]
        if prune:
            roots = ["node_modules", *(f"{d}/node_modules" for d in ws.runtime_members)]
            lines += ["WORKDIR /app", f"RUN {workspace_prune(m, ws)} \\\n && {libc_filter(runtime, *roots)}"]
    return lines


def _workspace_runtime_copy(m: ModuleAnalysis, ws: NodeWorkspace) -> list[str]:
    """The root's node_modules and the members the app runs with; everything for yarn berry and bun."""
    pm = m.package_manager or "npm"
    if pm == "bun" or (pm == "yarn" and _is_berry(m)):
        return ["COPY --from=build /app ./"]
    return [
        "COPY --from=build /app/package.json ./",
        "COPY --from=build /app/node_modules ./node_modules",
        *(f"COPY --from=build /app/{d} ./{d}" for d in ws.runtime_members),
    ]


def _needs_global(m: ModuleAnalysis, start: str) -> list[str]:
    """A start command run by pnpm or bun needs that tool in the runtime image too."""
    tool = start.split()[0] if start.split() else ""
    if tool in ("pnpm", "bun") or (tool == "yarn" and _is_berry(m) and _yarn_release(m) is None):
        return [f"RUN {pm_setup(m)}npm cache clean --force"]
    return []


def _once_per_stage(lines: list[str]) -> list[str]:
    """Drop a second ``COPY . .`` in a stage (the source already came before the install)."""
    out: list[str] = []
    copied = False
    for line in lines:
        if line.startswith("FROM "):
            copied = False
        elif line == "COPY . .":
            if copied:
                continue
            copied = True
        out.append(line)
    return out


def _manifest_copy(m: ModuleAnalysis, manifests: list[str]) -> list[str]:
    """The manifests before the install; the whole source when the package's own install scripts
    (prepare, postinstall) build or read it."""
    return ["COPY . ."] if m.source_before_install else node_manifests(manifests)


def _health(port: int) -> str:
    code = (
        f"require('net').connect(Number(process.env.PORT || {port}), '127.0.0.1')"
        ".on('connect', () => process.exit(0)).on('error', () => process.exit(1))"
    )
    return healthcheck_exec(["node", "-e", code])


# Every shared library node and the native addons load (ldd: NEEDED, resolved, and the loader itself;
# ldd's per-file header lines are not libraries; those an addon bundles under /app come with
# node_modules), gathered in the stage that has them, for a final stage without a libc. The node
# binary itself comes stripped from the ``node`` stage (strip_node_stage), so it is copied once.
_GATHER = "/runtime"
_GATHER_LIBS = (
    f"RUN mkdir -p {_GATHER} \\\n"
    " && { ldd /usr/local/bin/node; find /app -name '*.node' -type f -exec ldd {} +; } 2>/dev/null \\\n"
    "    | awk '$2 == \"=>\" && $3 ~ /^\\// && $3 !~ /^\\/app\\// {print $3} $1 ~ /^\\// && $2 ~ /^\\(0x/ {print $1}' \\\n"
    "    | sort -u \\\n"
    f"    | xargs -r -I{{}} cp --parents -L {{}} {_GATHER}/"
)

NODE_STAGE = "node"
"""The stage holding the stripped node binary the lean final stages copy."""


def strip_node_stage(image: str) -> list[str]:
    """A stage of its own (BuildKit runs it alongside the install and build; cached after the first
    build) that strips node's symbol table and debug sections: 125 MB -> 107 MB; the dynamic symbols
    native addons link against stay. ``strip`` needs binutils, which the slim node images lack; when apt cannot install
    it (no network), the unstripped node is kept: the lean step never fails a build."""
    return [
        f"FROM {image} AS {NODE_STAGE}",
        "# node without its symbol table and debug information; binutils stays in this stage, and without",
        "# apt (no network) the unstripped binary is kept rather than failing the build",
        "RUN { apt-get update \\\n"
        "   && apt-get install -y --no-install-recommends binutils \\\n"
        "   && strip --strip-unneeded -o /tmp/node /usr/local/bin/node \\\n"
        "   && /tmp/node -e 'require(\"crypto\")' \\\n"
        "   && mv /tmp/node /usr/local/bin/node; } \\\n"
        " || echo 'strip unavailable: node keeps its debug information' >&2; \\\n"
        f" {APT_CLEAN}",
    ]


# Removes the installed packages whose package.json ``libc`` excludes the runtime's C library (npm
# and yarn install sharp's musl and glibc builds side by side: 32 MB, half of it dead weight). Only
# a non-empty list of plain names counts (``!musl`` negations are left alone); scoped folders, nested
# node_modules and pnpm's .pnpm store are walked, symbolic links are not followed.
_LIBC_FILTER_JS = " \\\n    ".join(
    (
        'const fs=require("fs"),path=require("path"),[libc,...roots]=process.argv.slice(1);',
        "const walk=(dir)=>{let es=[];try{es=fs.readdirSync(dir,{withFileTypes:true})}catch{}",
        "for(const e of es){if(!e.isDirectory())continue;const p=path.join(dir,e.name);",
        'if(e.name[0]==="@"||e.name===".pnpm"){walk(p);continue}',
        'let l;try{l=JSON.parse(fs.readFileSync(path.join(p,"package.json"),"utf8")).libc}catch{}',
        'if(Array.isArray(l)&&l.length&&l.every(x=>typeof x==="string"&&x[0]!=="!")&&!l.includes(libc))',
        '{fs.rmSync(p,{recursive:true,force:true});console.log("removed",p,"(libc "+l.join()+")")}',
        'else walk(path.join(p,"node_modules"))}};',
        "roots.forEach(walk)",
    )
)


def libc_filter(runtime: str, *roots: str) -> str:
    """The command that drops from ``roots`` (node_modules folders) the packages built for the other
    C library than the runtime image's: musl on Alpine, glibc elsewhere (busybox gets the build
    image's glibc)."""
    libc = "musl" if is_alpine(runtime) else "glibc"
    return f"node -e '{_LIBC_FILTER_JS}' {libc} {' '.join(roots)}"


def _runtime_head(
    m: ModuleAnalysis, image: str, start: str, port: int, libs_from: str | None = None, shell_only: bool = False
) -> list[str]:
    """The final stage's first lines; with ``libs_from`` (the stage that installed the app) the
    stripped node binary of the ``node`` stage goes onto a plain Debian image, or with ``shell_only``
    onto busybox with the libraries it loads, gathered in ``libs_from``."""
    node = f"COPY --from={NODE_STAGE} /usr/local/bin/node /usr/local/bin/node"
    if libs_from and shell_only:
        return [
            f"FROM {image}",
            "WORKDIR /app",
            f"COPY --from={libs_from} {_GATHER}/ /",
            node,
            f"RUN echo 'app:x:{APP_UID}:{APP_UID}::/home/app:/bin/false' >> /etc/passwd \\\n"
            f" && echo 'app:x:{APP_UID}:' >> /etc/group \\\n"
            f" && mkdir -p /home/app && chown {APP_UID}:{APP_UID} /home/app",
            "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            f"ENV NODE_ENV=production PORT={port}",
        ]
    return [
        f"FROM {image}",
        "WORKDIR /app",
        *install_packages(image, m.system_packages),
        *user_lines(image),
        *([node] if libs_from else []),
        *_needs_global(m, start),
        f"ENV NODE_ENV=production PORT={port}",
    ]


def node_only_base(m: ModuleAnalysis, ctx: Ctx, start: str, node_image: str) -> tuple[str, bool] | None:
    """The image a node app runs on with only the node binary, when nothing else from the node image
    is needed: the start command runs plain ``node`` (no npm, yarn, pnpm or npx at run time), no
    workspace, no forced base, a glibc node image. Busybox (with the libraries node and the native
    addons load) when the app needs no system package; else the Debian image, where apt works.
    The second value says whether it is the busybox one."""
    words = start.split()
    if not words or words[0] != "node" or ctx.workspace is not None or ctx.catalog.override:
        return None
    if is_alpine(node_image) or m.dev_dependencies_at_runtime:
        return None
    for key, shell_only in (("busybox", True), ("debian", False)):
        if key not in ctx.catalog.entries or (shell_only and m.system_packages):
            continue
        image = ctx.catalog.resolve(key, None).image
        if ctx.probe is None or ctx.probe(image):
            return image, shell_only
    return None


def _check_built(start: str) -> str:
    """After the build: the file the start command runs must exist, else the build step fails naming it."""
    argv = start.split()
    if len(argv) != 2 or argv[0] != "node":
        return ""
    target = argv[1].removeprefix("./")
    if not target.startswith(("dist/", "build/", "out/", "lib/", ".output/")):
        return ""
    alts = [target] if target.endswith((".js", ".mjs", ".cjs")) else [target, f"{target}.js", f"{target}/index.js"]
    test = " || ".join(f"test -f {a}" for a in alts)
    return f" \\\n && {{ {test} || {{ echo 'the build wrote no {target}: check the build output folder' >&2; exit 1; }}; }}"


def _bundled_output(m: ModuleAnalysis, start: str) -> bool:
    """The build leaves a self-contained server in .output (Nitro): the runtime needs nothing else."""
    argv = start.split()
    return len(argv) == 2 and argv[0] == "node" and argv[1].removeprefix("./").startswith(".output/server/")


_DEV_SERVER = re.compile(
    r"(?:^|&&\s*|;\s*)(?:npx\s+|yarn\s+|pnpm\s+(?:exec\s+)?|bunx\s+)?"
    r"(react-scripts start|vite(?:\s+(?:dev|serve))?(?=\s|$)|ng serve|next dev|vue-cli-service serve"
    r"|nuxi? dev|astro dev|gatsby develop|svelte-kit dev)"
)


def without_dev_server(m: ModuleAnalysis) -> tuple[ModuleAnalysis, str | None]:
    """A dev server is never the production command when there is a production build: ``next dev``
    becomes ``next start``; a static front end's dev server gives way to its built files, served."""
    start = m.start_command or ""
    found = _DEV_SERVER.search(start) if m.language == "node" and m.build_command else None
    if found is None:
        return m, None
    tool = found.group(1)
    new = start.replace("next dev", "next start") if tool == "next dev" else None
    note = f"the start command runs a dev server ({tool}); the production build " + (
        f"runs with {new!r}" if new else "is served as static files"
    )
    return m.model_copy(update={"start_command": new, "dev_dependencies_at_runtime": False}), note


_NEXT_CONFIGS = ("next.config.js", "next.config.mjs", "next.config.cjs", "next.config.ts", "next.config.mts")
_PM_START = {"npm start", "npm run start", "yarn start", "yarn run start", "pnpm start", "pnpm run start"}


_JS_COMMENTS = re.compile(r"/\*.*?\*/|(?<![:'\"`])//[^\n]*", re.S)


def next_standalone(m: ModuleAnalysis, folder: Path | None) -> bool:
    """Next.js writes a standalone server (the traced ``node_modules`` only) when its config leaves
    ``output`` unset (its default reads ``NEXT_PRIVATE_STANDALONE``; relied on from Next 13) and the app
    starts with ``next start``, not a custom server. ``folder`` is the module's folder, when readable."""
    if m.framework != "next" or not m.build_command or m.dev_dependencies_at_runtime:
        return False
    major = (m.pins.get("next") or "").lstrip("^~=v ").split(".")[0]
    if major.isdigit() and int(major) < 13:
        return False
    start = " ".join((m.start_command or "").split())
    if folder is None:
        return start.startswith("next start")
    if start in _PM_START:
        try:
            scripts = json.loads((folder / "package.json").read_text("utf-8-sig")).get("scripts") or {}
        except (OSError, ValueError, AttributeError):
            return False
        start = " ".join(str(scripts.get("start", "")).split()) if isinstance(scripts, dict) else ""
    if not start.startswith("next start"):
        return False
    for name in _NEXT_CONFIGS:
        try:
            text = (folder / name).read_text("utf-8", "replace")
        except OSError:
            continue
        text = _JS_COMMENTS.sub("", text)  # `// output: "export"` in a comment (a template's hint) is not set
        if re.search(r"\boutput\s*:", text) and not re.search(r"\boutput\s*:\s*['\"`]standalone", text):
            return False  # 'export' (a static site) or a value computed in the config: left as it is
    return True


def _next_standalone_stages(
    m: ModuleAnalysis, base_image: str, head: list[str], ctx: Ctx, manifests: list[str], runtime: str
) -> list[str]:
    """Next's standalone server: ``server.js`` with the traced dependencies (less those built for
    the other libc), plus the static assets and ``public`` it serves; no ``node_modules`` install in
    the final stage."""
    missing = "echo 'next build wrote no .next/standalone/server.js (is output set in next.config?)' >&2; exit 1"
    return [
        f"FROM {base_image} AS build",
        "WORKDIR /app",
        *install_packages(base_image, ctx.extra_build_packages),
        *_manifest_copy(m, manifests),
        f"RUN {native_headers(ctx.extra_build_packages)}{install_command(m, production=False)}",
        "COPY . .",
        "ENV NEXT_TELEMETRY_DISABLED=1",
        f"RUN NEXT_PRIVATE_STANDALONE=true {m.build_command} \\\n"
        f" && {{ test -f .next/standalone/server.js || {{ {missing}; }}; }} \\\n"
        " && cp -r .next/static .next/standalone/.next/static \\\n"
        " && if [ -d public ]; then cp -r public .next/standalone/public; fi \\\n"
        f" && {libc_filter(runtime, '.next/standalone/node_modules')}",
        "",
        *head,
        "ENV HOSTNAME=0.0.0.0 NEXT_TELEMETRY_DISABLED=1",
        "COPY --from=build /app/.next/standalone ./",
    ]


def render_node(m: ModuleAnalysis, ctx: Ctx) -> Rendered:
    base = ctx.resolve("node", m.language_version)
    port = m.port or 3000
    start = "node server.js" if ctx.next_standalone else m.start_command or f"node {m.entrypoint or 'index.js'}"
    manifests = m.dependency_files or ["package.json"]
    ws = ctx.workspace
    what = f"node {base.version}, {m.package_manager or 'npm'}"
    lines = [header(m, what + (f" workspace {ws.member}, built from the workspace root" if ws else ""))]
    picked = node_only_base(m, ctx, start, base.runtime)
    lean, shell_only = picked if picked else (None, False)
    runtime = lean or base.runtime
    if lean:
        reason = (
            f"{lean} with the node binary of {base.image} (stripped of its symbols and debug information)"
            + (" and the shared libraries it and the native addons load (ldd)" if shell_only else "")
            + ": the app starts with plain node, so npm, yarn, corepack and the C headers stay out"
            " (no alpine or distroless node image in the catalog)"
        )
    else:
        reason = f"{base.runtime}: the catalog's slim node image" + (
            f" (the start command runs {start.split()[0]})" if start.split() and start.split()[0] != "node" else ""
        )

    def head(stage: str) -> list[str]:
        # the gathering step ends the stage before (the blank line ahead of it is dropped below); the
        # stage stripping node comes between it and the final stage
        gather = [_GATHER_LIBS, ""] if shell_only else []
        strip = [*strip_node_stage(base.image), ""] if lean else []
        return [*gather, *strip, *_runtime_head(m, runtime, start, port, stage if lean else None, shell_only)]

    libc = libc_filter(runtime, "node_modules")

    if ws is not None:
        lines += [
            *workspace_build_stage(m, ws, base.image, ctx, prune=True, runtime=runtime),
            "",
            *head("build"),
            *_workspace_runtime_copy(m, ws),
            f"WORKDIR /app/{ws.member}",
        ]
    elif ctx.next_standalone:
        lines += _next_standalone_stages(m, base.image, head("build"), ctx, manifests, runtime)
    elif m.build_command and _bundled_output(m, start):
        # Nuxt/Nitro (and SvelteKit/Solid on Nitro) bundle the server with its dependencies into .output
        lines += [
            f"FROM {base.image} AS build",
            "WORKDIR /app",
            *install_packages(base.image, ctx.extra_build_packages),
            *_manifest_copy(m, manifests),
            f"RUN {native_headers(ctx.extra_build_packages)}{install_command(m, production=False)}",
            "COPY . .",
            f"RUN {m.build_command} \\\n && {libc_filter(runtime, '.output/server/node_modules')}",
            "",
            *head("build"),
            "ENV HOST=0.0.0.0",
            "COPY --from=build /app/.output ./.output",
        ]
    elif m.build_command:
        lines += [
            f"FROM {base.image} AS build",
            "WORKDIR /app",
            *install_packages(base.image, ctx.extra_build_packages),
            *_manifest_copy(m, manifests),
            f"RUN {native_headers(ctx.extra_build_packages)}{install_command(m, production=False)}",
            "COPY . .",
            f"RUN {m.build_command}{_check_built(start)} \\\n && {prune_command(m)}{next_build_leftovers(m)}"
            f" \\\n && {libc}",
            "",
            *head("build"),
            "COPY --from=build /app ./",
        ]
    elif ctx.extra_build_packages or lean:
        # native addons: compilers stay in the build stage, only node_modules moves on (and node itself,
        # onto a plain Debian image)
        lines += [
            f"FROM {base.image} AS deps",
            "WORKDIR /app",
            *install_packages(base.image, ctx.extra_build_packages),
            *_manifest_copy(m, manifests),
            # a package without dependencies gets no node_modules: the COPY below needs the folder
            f"RUN {native_headers(ctx.extra_build_packages)}{install_command(m, production=True)}"
            f" \\\n && mkdir -p node_modules \\\n && {libc}",
            "",
            *head("deps"),
            "COPY --from=deps /app/node_modules ./node_modules",
            "COPY . .",
        ]
    else:
        lines += [
            *_runtime_head(m, base.image, start, port),
            *_manifest_copy(m, manifests),
            f"RUN {install_command(m, production=True)}",
            "COPY . .",
        ]
    lines += [
        f"USER {APP_UID}:{APP_UID}",
        f"EXPOSE {port}",
        _health(port),
        exec_form(start),
    ]
    content = join(_once_per_stage(lines)).replace(f"\n\n{_GATHER_LIBS}", f"\n{_GATHER_LIBS}")
    return Rendered(content, runtime, APP_UID, port, base_reason=reason)
