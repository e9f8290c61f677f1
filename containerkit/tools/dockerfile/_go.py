"""Go: modules downloaded before the source, a static binary, a distroless non-root runtime.

With cgo (system packages named) the binary is linked dynamically and runs on Debian slim instead.
"""

from __future__ import annotations

import shlex

from containerkit.tools.analyze.models import ModuleAnalysis
from containerkit.tools.dockerfile._common import (
    APP_UID,
    Ctx,
    Rendered,
    bash_tcp_check,
    copy_manifests,
    exec_form,
    header,
    install_packages,
    join,
    user_lines,
)

DISTROLESS_UID = 65532
"""The nonroot user of the distroless images."""


def _package(m: ModuleAnalysis) -> str:
    """The main package to build: the folder of the entry point (``cmd/api/main.go`` -> ``./cmd/api``)."""
    entry = m.entrypoint or ""
    if entry.endswith(".go") and "/" in entry:
        return "./" + entry.rsplit("/", 1)[0]
    if entry and not entry.endswith(".go") and entry not in (".", "./"):
        return entry if entry.startswith("./") else "./" + entry
    return "."


def _args(m: ModuleAnalysis) -> list[str]:
    """Arguments of the start command after the binary (``./server -addr :8080`` -> ``-addr :8080``)."""
    if not m.start_command:
        return []
    try:
        argv = shlex.split(m.start_command)
    except ValueError:
        return []
    if argv[:2] == ["go", "run"]:
        return argv[3:]
    return argv[1:]


def render_go(m: ModuleAnalysis, ctx: Ctx) -> Rendered:
    cgo = bool(m.system_packages)
    base = ctx.resolve("go", m.language_version)
    port = m.port or 8080
    args = _args(m)
    runtime = base.runtime
    if "distroless" in runtime and (cgo or any("$" in a for a in args)):
        # a dynamically linked binary, or a start command that needs a shell: Debian slim instead
        runtime = ctx.resolve("debian", None).image
    distroless = "distroless" in runtime
    files = m.dependency_files or ["go.mod", "go.sum"]
    lines = [
        header(m, f"go {base.version}"),
        f"FROM {base.image} AS build",
        "WORKDIR /src",
        *install_packages(base.image, ctx.extra_build_packages),
        *copy_manifests(files),
        "RUN go mod download && go mod verify",
        "COPY . .",
        f"RUN CGO_ENABLED={1 if cgo else 0} GOOS=linux go build -trimpath -ldflags='-s -w' -o /out/app {_package(m)}",
        "",
        f"FROM {runtime}",
    ]
    if distroless:
        uid = DISTROLESS_UID
        lines += ["COPY --from=build /out/app /app", f"ENV PORT={port}", f"USER {uid}:{uid}", f"EXPOSE {port}"]
        # distroless has no shell or client to run a HEALTHCHECK with: Kubernetes probes check it
        lines += [exec_form(" ".join(shlex.quote(a) for a in ["/app", *args]), "ENTRYPOINT")]
    else:
        uid = APP_UID
        lines += [
            *install_packages(runtime, ["ca-certificates", *m.system_packages]),
            *user_lines(runtime, home=False),
            "COPY --from=build /out/app /usr/local/bin/app",
            f"ENV PORT={port}",
            f"USER {uid}:{uid}",
            f"EXPOSE {port}",
            bash_tcp_check(port),
            exec_form(" ".join(["app", *args])),
        ]
    return Rendered(join(lines), runtime, uid, port)
