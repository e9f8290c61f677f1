"""Ruby modules: Bundler, Ruby version, Rails or Sinatra (Rack), the server command."""

from __future__ import annotations

import re

from containerkit.tools.analyze._common import Found, ModuleDir, port_command
from containerkit.tools.analyze.models import ModuleAnalysis

__all__ = ["detect_ruby"]

_GEM = re.compile(r"""^\s*gem\s+["']([\w.-]+)["']""", re.M)
# gem -> (runtime Debian packages, build-only Debian packages)
_SYSTEM = {
    "pg": (["libpq5"], ["build-essential", "libpq-dev"]),
    "mysql2": (["libmariadb3"], ["build-essential", "default-libmysqlclient-dev"]),
    "sqlite3": (["libsqlite3-0"], []),
    "mini_magick": (["imagemagick"], []),
    "ruby-vips": (["libvips42"], []),
    "image_processing": (["libvips42"], []),
}


def detect_ruby(d: ModuleDir) -> Found | None:
    gemspecs = [n for n in d.names() if n.endswith(".gemspec")]
    if not d.has("Gemfile") and not gemspecs:
        return None
    gemfile = d.read("Gemfile", 256 * 1024)
    gems = sorted(set(_GEM.findall(gemfile)))
    version = d.version_file((".ruby-version",), r"(\d+\.\d+(?:\.\d+)?)")
    if not version and (vm := re.search(r"""^\s*ruby\s+["'](\d+\.\d+(?:\.\d+)?)""", gemfile, re.M)):
        version = vm.group(1)
        d.say("Gemfile", f"ruby {version}")
    rails = "rails" in gems or d.has("config/application.rb")
    framework = "rails" if rails else ("sinatra" if "sinatra" in gems else None)
    if framework:
        d.say("Gemfile", f"uses {framework}")
    lock = "Gemfile.lock" if d.has("Gemfile.lock") else None
    start = build = entry = None
    port = None
    if framework == "rails":
        port = 3000
        start = "bundle exec rails server -b 0.0.0.0 -p ${PORT:-3000}"
        if d.is_dir("app/assets") or d.is_dir("app/javascript"):
            build = "SECRET_KEY_BASE_DUMMY=1 bundle exec rails assets:precompile"
        entry = "config.ru" if d.has("config.ru") else None
    elif d.has("config.ru"):
        port = 9292
        start = "bundle exec rackup -o 0.0.0.0 -p ${PORT:-9292}"
        entry = "config.ru"
    elif framework == "sinatra":
        entry = d.first("app.rb", "server.rb", "main.rb")
        port = 4567
        start = f"bundle exec ruby {entry} -o 0.0.0.0 -p ${{PORT:-4567}}" if entry else None
    if "puma" in gems and d.has("config/puma.rb") and framework != "rails":
        start = "bundle exec puma -C config/puma.rb"
    if web := d.procfile_web():
        start = port_command(web, port or 3000)
    runtime: set[str] = set()
    build_pkgs: set[str] = set()
    for gem in gems:
        if gem in _SYSTEM:
            runtime.update(_SYSTEM[gem][0])
            build_pkgs.update(_SYSTEM[gem][1])
            d.say("Gemfile", f"{gem} needs system packages")
    health = "/up" if framework == "rails" and 'get "up"' in d.read("config/routes.rb") else None
    m = ModuleAnalysis(
        path=d.rel,
        name=gemspecs[0][:-8] if gemspecs and not framework else d.name,
        language="ruby",
        language_version=version,
        package_manager="bundler",
        framework=framework,
        port=port,
        start_command=start,
        build_command=build,
        health_path=health,
        entrypoint=entry,
        dependency_files=[f for f in ("Gemfile", "Gemfile.lock", *gemspecs) if d.has(f)],
        lockfile=lock,
        system_packages=sorted(runtime),
        build_packages=sorted(build_pkgs),
        dependencies=gems,
        is_library=start is None,
    )
    sources = [f for f in (entry, "config.ru", "app.rb", "config/puma.rb") if f and d.has(f)]
    d.finish(m, sources=sources, default_port=None)
    return Found(m, ids={m.name}, refs=set(gems), rank=6)
