""".NET (ASP.NET Core): restore from the project files before the source (locked mode with a
packages.lock.json), publish in the SDK image, run on the ASP.NET runtime as a fixed uid."""

from __future__ import annotations

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
    split_words,
    user_lines,
)

_PROJECT_EXT = (".csproj", ".fsproj", ".vbproj")


def _project(m: ModuleAnalysis) -> str | None:
    for f in [m.entrypoint or "", *m.dependency_files]:
        if f.endswith(_PROJECT_EXT):
            return f
    return None


def _assembly(m: ModuleAnalysis, project: str | None) -> str:
    if m.start_command:
        for word in split_words(m.start_command):
            if word.endswith(".dll"):
                return word.rsplit("/", 1)[-1]
    if project:
        return project.rsplit("/", 1)[-1].rsplit(".", 1)[0] + ".dll"
    return f"{m.name}.dll"


def render_dotnet(m: ModuleAnalysis, ctx: Ctx) -> Rendered:
    version = m.language_version
    if version and "." not in version:
        version += ".0"
    base = ctx.resolve("dotnet", version)
    port = m.port or 8080
    project = _project(m)
    locked = "packages.lock.json" in m.dependency_files
    target = f" {project}" if project else ""
    lines = [
        header(m, f".NET {base.version}"),
        f"FROM {base.image} AS build",
        "WORKDIR /src",
        *install_packages(base.image, ctx.extra_build_packages),
        *copy_manifests(m.dependency_files or ([project] if project else [])),
        f"RUN dotnet restore{target}{' --locked-mode' if locked else ''}",
        "COPY . .",
        f"RUN dotnet publish{target} -c Release -o /out --no-restore /p:UseAppHost=false",
        "",
        f"FROM {base.runtime}",
        "WORKDIR /app",
        *install_packages(base.runtime, m.system_packages),
        *user_lines(base.runtime, home=False),
        "COPY --from=build /out ./",
        f"ENV PORT={port} ASPNETCORE_HTTP_PORTS={port} ASPNETCORE_URLS=http://+:{port} DOTNET_RUNNING_IN_CONTAINER=true",
        f"USER {APP_UID}:{APP_UID}",
        f"EXPOSE {port}",
        bash_tcp_check(port),
        exec_form(f"dotnet {_assembly(m, project)}"),
    ]
    return Rendered(join(lines), base.runtime, APP_UID, port)
