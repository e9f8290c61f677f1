"""PHP modules: Composer, the PHP version constraint, Laravel or Symfony, the document root."""

from __future__ import annotations

from containerkit.tools.analyze._common import Found, ModuleDir, major_minor, port_command
from containerkit.tools.analyze.models import ModuleAnalysis

__all__ = ["detect_php"]

_FRAMEWORKS = (("laravel/framework", "laravel"), ("symfony/framework-bundle", "symfony"), ("slim/slim", "slim"))
_EXT_PACKAGES = {
    "ext-pgsql": ["libpq-dev"],
    "ext-pdo_pgsql": ["libpq-dev"],
    "ext-gd": ["libpng-dev", "libjpeg-dev"],
    "ext-zip": ["libzip-dev"],
    "ext-intl": ["libicu-dev"],
}


def detect_php(d: ModuleDir) -> Found | None:
    if not d.has("composer.json"):
        if d.has("index.php"):
            m = ModuleAnalysis(
                path=d.rel, name=d.name, language="php", start_command="php -S 0.0.0.0:${PORT:-8080} -t .",
                entrypoint="index.php",
            )  # fmt: skip
            d.say("index.php", "plain PHP")
            d.finish(m, sources=["index.php"], default_port=8080)
            return Found(m, rank=2)
        return None
    composer = d.json_object("composer.json")
    require = {str(k): str(v) for k, v in (composer.get("require") or {}).items()}
    version = d.version_file((".php-version",), r"(\d+\.\d+)")
    if not version and "php" in require:
        version = major_minor(require["php"])
        d.say("composer.json", f"require php {require['php']}")
    framework = next((fw for pkg, fw in _FRAMEWORKS if pkg in require), None)
    if framework:
        d.say("composer.json", f"requires {framework}")
    docroot = "public" if d.has("public/index.php") else ("." if d.has("index.php") else None)
    start = None
    if framework == "laravel" and d.has("artisan"):
        start = "php artisan serve --host=0.0.0.0 --port=${PORT:-8000}"
    elif docroot:
        start = f"php -S 0.0.0.0:${{PORT:-8000}} -t {docroot}"
    if web := d.procfile_web():
        start = port_command(web, 8000)
    lock = "composer.lock" if d.has("composer.lock") else None
    build_pkgs = sorted({p for ext in require if ext in _EXT_PACKAGES for p in _EXT_PACKAGES[ext]})
    m = ModuleAnalysis(
        path=d.rel,
        name=str(composer.get("name") or d.name),
        language="php",
        language_version=version,
        package_manager="composer",
        framework=framework,
        start_command=start,
        build_command=(
            "npm ci && npm run build"
            if framework == "laravel" and d.has("package-lock.json") and "build" in d.read("package.json")
            else None
        ),
        entrypoint="artisan"
        if start and "artisan" in start
        else (f"{docroot}/index.php" if docroot and docroot != "." else ("index.php" if docroot else None)),
        dependency_files=["composer.json"] + ([lock] if lock else []),
        lockfile=lock,
        build_packages=build_pkgs,
        dependencies=sorted(k for k in require if "/" in k),
        static_dir=None,
        is_library=start is None or composer.get("type") == "library",
    )
    sources = [f for f in ("public/index.php", "index.php") if d.has(f)]
    d.finish(m, sources=sources, default_port=None if m.is_library else 8000)
    return Found(m, ids={m.name}, refs=set(require), rank=6)
