"""Ruby (rails, sinatra): gems installed from Gemfile.lock in deployment mode before the source,
assets precompiled in the build stage, compilers left behind in it."""

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

_BUNDLE_ENV = 'ENV BUNDLE_DEPLOYMENT=1 BUNDLE_WITHOUT="development:test" BUNDLE_PATH=/usr/local/bundle'


def _start(m: ModuleAnalysis) -> str:
    if m.start_command:
        return m.start_command
    if m.framework == "rails":
        return "bundle exec rails server -b 0.0.0.0 -p ${PORT:-3000}"
    if m.framework == "sinatra":
        return f"bundle exec ruby {m.entrypoint or 'app.rb'} -o 0.0.0.0 -p ${{PORT:-4567}}"
    return "bundle exec rackup --host 0.0.0.0 --port ${PORT:-9292}"


def render_ruby(m: ModuleAnalysis, ctx: Ctx) -> Rendered:
    base = ctx.resolve("ruby", m.language_version)
    rails = m.framework == "rails"
    port = m.port or (3000 if rails else 4567 if m.framework == "sinatra" else 9292)
    build = m.build_command or ("SECRET_KEY_BASE_DUMMY=1 bundle exec rails assets:precompile" if rails else None)
    lines = [
        header(m, f"ruby {base.version}, bundler{', ' + m.framework if m.framework else ''}"),
        f"FROM {base.image} AS build",
        "WORKDIR /app",
        *install_packages(base.image, ["build-essential", "git", "pkg-config", *ctx.extra_build_packages]),
        _BUNDLE_ENV,
        *copy_manifests(m.dependency_files or ["Gemfile", "Gemfile.lock"]),
        'RUN bundle install --jobs 4 \\\n && rm -rf ~/.bundle "${BUNDLE_PATH}"/ruby/*/cache',
        "COPY . .",
    ]
    if build:
        lines.append(f"RUN {build}")
    lines += [
        "",
        f"FROM {base.runtime}",
        "WORKDIR /app",
        *install_packages(base.runtime, m.system_packages),
        *user_lines(base.runtime),
        _BUNDLE_ENV,
        f"ENV PORT={port}"
        + (" RAILS_ENV=production RAILS_LOG_TO_STDOUT=1 RAILS_SERVE_STATIC_FILES=1" if rails else ""),
        "COPY --from=build /usr/local/bundle /usr/local/bundle",
        f"COPY --from=build --chown={APP_UID}:{APP_UID} /app /app" if rails else "COPY --from=build /app /app",
        f"USER {APP_UID}:{APP_UID}",
        f"EXPOSE {port}",
        healthcheck_exec(
            ["ruby", "-rsocket", "-e", f"TCPSocket.new('127.0.0.1', Integer(ENV.fetch('PORT', '{port}'))).close"]
        ),
        exec_form(_start(m)),
    ]
    return Rendered(join(lines), base.runtime, APP_UID, port)
