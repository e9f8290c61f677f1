"""Rust (actix, axum, rocket): dependencies compiled against a stub main before the source (so a
source change only recompiles the crate), ``--locked`` to the Cargo.lock, a slim Debian runtime."""

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


def _binary(m: ModuleAnalysis) -> str:
    if m.start_command:
        words = split_words(m.start_command)
        first = words[0] if words else ""
        if first and first not in ("cargo",):
            return first.rsplit("/", 1)[-1]
    return m.name


def render_rust(m: ModuleAnalysis, ctx: Ctx) -> Rendered:
    base = ctx.resolve("rust", m.language_version)
    port = m.port or 8080
    binary = _binary(m)
    locked = " --locked" if m.lockfile or "Cargo.lock" in m.dependency_files else ""
    crate = m.name.replace("-", "_")
    env = f"ENV PORT={port}"
    if m.framework == "rocket":
        env += f" ROCKET_ADDRESS=0.0.0.0 ROCKET_PORT={port}"
    lines = [
        header(m, f"rust {base.version}{', ' + m.framework if m.framework else ''}"),
        f"FROM {base.image} AS build",
        "WORKDIR /src",
        *install_packages(base.image, ["pkg-config", *ctx.extra_build_packages]),
        *copy_manifests(m.dependency_files or ["Cargo.toml", "Cargo.lock"]),
        "RUN mkdir src \\\n"
        " && echo 'fn main() {}' > src/main.rs \\\n"
        f" && cargo build --release{locked} \\\n"
        f" && rm -rf src target/release/deps/{crate}-* target/release/{binary}",
        "COPY . .",
        f"RUN cargo build --release{locked} \\\n && cp target/release/{binary} /usr/local/bin/app",
        "",
        f"FROM {base.runtime}",
        "WORKDIR /app",
        *install_packages(base.runtime, ["ca-certificates", *m.system_packages]),
        *user_lines(base.runtime, home=False),
        "COPY --from=build /usr/local/bin/app /usr/local/bin/app",
        env,
        f"USER {APP_UID}:{APP_UID}",
        f"EXPOSE {port}",
        bash_tcp_check(port),
        exec_form("app"),
    ]
    return Rendered(join(lines), base.runtime, APP_UID, port)
