"""Elixir (phoenix): deps fetched from mix.lock before the source, a ``mix release`` built in the
Elixir image and run on Debian slim (same Debian release, so OpenSSL matches) as a fixed uid."""

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
    user_lines,
)


def render_elixir(m: ModuleAnalysis, ctx: Ctx) -> Rendered:
    base = ctx.resolve("elixir", m.language_version)
    port = m.port or 4000
    release = m.name.replace("-", "_")
    phoenix = m.framework == "phoenix"
    lines = [
        header(m, f"elixir {base.version}{', ' + m.framework if m.framework else ''}"),
        f"FROM {base.image} AS build",
        "WORKDIR /app",
        *install_packages(base.image, ["build-essential", "git", *ctx.extra_build_packages]),
        "ENV MIX_ENV=prod",
        "RUN mix local.hex --force && mix local.rebar --force",
        *copy_manifests(m.dependency_files or ["mix.exs", "mix.lock"]),
        "RUN mix deps.get --only prod && mix deps.compile",
        "COPY . .",
    ]
    if m.build_command:
        lines.append(f"RUN {m.build_command}")
    elif phoenix:
        lines.append("RUN if [ -d assets ]; then mix assets.deploy; fi")
    lines += [
        "RUN mix compile && mix release",
        "",
        f"FROM {base.runtime}",
        "WORKDIR /app",
        *install_packages(
            base.runtime, ["ca-certificates", "libncurses6", "libstdc++6", "openssl", *m.system_packages]
        ),
        *user_lines(base.runtime, home=False),
        f"ENV LANG=C.UTF-8 MIX_ENV=prod PORT={port}" + (" PHX_SERVER=true" if phoenix else ""),
        f"COPY --from=build --chown={APP_UID}:{APP_UID} /app/_build/prod/rel/{release} ./",
        f"USER {APP_UID}:{APP_UID}",
        f"EXPOSE {port}",
        bash_tcp_check(port),
        exec_form(f"/app/bin/{release} start"),
    ]
    return Rendered(join(lines), base.runtime, APP_UID, port)
