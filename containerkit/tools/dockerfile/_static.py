"""Static sites and SPAs (vite, astro, plain HTML): built with node when there is a build step, served
by a non-root nginx that listens on $PORT and falls back to index.html for client-side routes."""

from __future__ import annotations

from containerkit.tools.analyze.models import ModuleAnalysis
from containerkit.tools.dockerfile._common import (
    APP_UID,
    Ctx,
    Rendered,
    exec_form,
    header,
    healthcheck_exec,
    install_packages,
    join,
)
from containerkit.tools.dockerfile._node import install_command, native_headers, node_manifests, workspace_build_stage

NGINX_UID = 101
"""The nginx user of the nginx-unprivileged images (its files are owned by it)."""

_SERVER_FRAMEWORKS = {"next", "nuxt", "remix", "nest", "express", "fastify", "koa"}
_STATIC_FRAMEWORKS = {"vite", "astro", "react-scripts", "angular", "gatsby"}

# The official nginx images run envsubst over /etc/nginx/templates/*.template at start, so the
# listening port follows $PORT; nginx's own $uri is not an environment variable and stays.
_NGINX_TEMPLATE = (
    "server {\\n"
    "    listen ${PORT};\\n"
    "    root /usr/share/nginx/html;\\n"
    "    location / { try_files $uri $uri/ /index.html; }\\n"
    "    location ~* \\\\.(?:js|css|png|jpg|svg|woff2?)$ { expires 7d; access_log off; }\\n"
    "}\\n"
)


def is_static_site(m: ModuleAnalysis) -> bool:
    """A node module that builds files and has no server of its own to start."""
    if m.language == "static":
        return True
    if m.language != "node" or not m.build_command:
        return False
    if m.static_dir and not m.start_command:
        return True  # the analysis says: serve these built files
    if (m.framework or "") in _SERVER_FRAMEWORKS:
        return False
    if m.framework == "astro":
        return "@astrojs/node" not in m.dependencies
    start = m.start_command or ""
    return (m.framework in _STATIC_FRAMEWORKS or "react-scripts" in m.dependencies) and (
        not start or "preview" in start or "serve" in start.split()[:2]
    )


def _out_dir(m: ModuleAnalysis) -> str:
    if m.static_dir:
        return m.static_dir.strip("/").removeprefix("./") or "."
    if "react-scripts" in m.dependencies:
        return "build"
    if m.framework == "gatsby":
        return "public"
    return "dist"


def _check_output(m: ModuleAnalysis) -> str:
    """After the build: fail on the build step, naming the folder, when it wrote somewhere else."""
    out = _out_dir(m)
    return (
        f" \\\n && {{ test -f {out}/index.html || {{ echo 'the build wrote no {out}/index.html; set the output"
        f" folder in the build config or in the Dockerfile' >&2; ls -la; exit 1; }}; }}"
    )


def _busybox_runtime(m: ModuleAnalysis, image: str, src: str, port: int) -> list[str]:
    """The stand-in when the nginx image is unavailable: busybox httpd, as a non-root uid, serving
    read-only files; unknown paths get index.html (as a 404) so client-side routes still load."""
    copy = f"COPY --from=build {src} /srv/" if src != "." else "COPY . /srv/"
    return [
        f"FROM {image}",
        *install_packages(image, m.system_packages),
        copy,
        "RUN printf 'E404:/srv/index.html\\n' > /etc/httpd.conf",
        f"ENV PORT={port}",
        f"USER {APP_UID}:{APP_UID}",
        f"EXPOSE {port}",
        healthcheck_exec(["sh", "-c", 'wget -q -O /dev/null "http://127.0.0.1:${PORT}/" || exit 1']),
        exec_form('httpd -f -p "$PORT" -h /srv -c /etc/httpd.conf'),
    ]


def render_static(m: ModuleAnalysis, ctx: Ctx) -> Rendered:
    node_version = m.language_version if m.language == "node" else None
    base = ctx.resolve("static", node_version)
    port = m.port if m.port and m.port >= 1024 else 8080
    builds = bool(m.build_command)
    lines = [header(m, f"static site{', built with node ' + (base.version or '') if builds else ''}")]
    ws = ctx.workspace
    if builds and ws is not None:
        lines += [*workspace_build_stage(m, ws, base.image, ctx, prune=False), ""]
    elif builds:
        lines += [
            f"FROM {base.image} AS build",
            "WORKDIR /app",
            *install_packages(base.image, ctx.extra_build_packages),
            *node_manifests(m.dependency_files or ["package.json"]),
            f"RUN {native_headers(ctx.extra_build_packages)}{install_command(m, production=False)}",
            "COPY . .",
            f"RUN {m.build_command}{_check_output(m)}",
            "",
        ]
    src = "."
    if builds:
        src = f"/app/{ws.member}/{_out_dir(m)}/" if ws is not None else f"/app/{_out_dir(m)}/"
    if "busybox" in base.runtime:
        lines += _busybox_runtime(m, base.runtime, src, port)
        reason = f"{base.runtime}: built files only, served by busybox httpd as a non-root user"
        return Rendered(join(lines), base.runtime, APP_UID, port, base_reason=reason)
    lines += [
        f"FROM {base.runtime}",
        "USER root",
        *install_packages(base.runtime, m.system_packages),
        "RUN mkdir -p /etc/nginx/templates \\\n"
        f" && printf '{_NGINX_TEMPLATE}' > /etc/nginx/templates/default.conf.template \\\n"
        " && rm -f /etc/nginx/conf.d/default.conf \\\n"
        f" && chown -R {NGINX_UID}:0 /etc/nginx/templates /etc/nginx/conf.d",
        f"ENV PORT={port}",
    ]
    if builds:
        lines.append(f"COPY --from=build --chown={NGINX_UID}:0 {src} /usr/share/nginx/html/")
    else:
        lines.append(f"COPY --chown={NGINX_UID}:0 . /usr/share/nginx/html/")
    lines += [
        f"USER {NGINX_UID}:{NGINX_UID}",
        f"EXPOSE {port}",
        healthcheck_exec(["sh", "-c", 'wget -q -O /dev/null "http://127.0.0.1:${PORT}/" || exit 1']),
    ]
    reason = f"{base.runtime}: built files only, served by a non-root nginx on alpine"
    return Rendered(join(lines), base.runtime, NGINX_UID, port, base_reason=reason)
