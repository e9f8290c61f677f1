"""PHP (laravel, symfony, plain): composer installs from composer.lock in a composer stage, Apache
with mod_php serves the document root on $PORT as a fixed non-root uid."""

from __future__ import annotations

from containerkit.tools.analyze.models import ModuleAnalysis
from containerkit.tools.dockerfile._common import (
    APP_UID,
    Ctx,
    Rendered,
    copy_manifests,
    header,
    healthcheck_exec,
    install_packages,
    join,
    user_lines,
)


def render_php(m: ModuleAnalysis, ctx: Ctx) -> Rendered:
    base = ctx.resolve("php", m.language_version)
    composer = ctx.resolve("php", m.language_version, tool="composer").image
    port = m.port if m.port and m.port >= 1024 else 8080
    docroot = "/var/www/html/public" if m.framework in ("laravel", "symfony") else "/var/www/html"
    uses_composer = (m.package_manager or "composer") == "composer" and bool(m.dependency_files)
    lines = [header(m, f"php {base.version}{', ' + m.framework if m.framework else ''}")]
    if uses_composer:
        lines += [
            f"FROM {composer} AS vendor",
            "WORKDIR /app",
            *copy_manifests(m.dependency_files),
            "RUN composer install --no-dev --no-scripts --no-autoloader --prefer-dist --no-interaction"
            " --ignore-platform-reqs",
            "COPY . .",
            "RUN composer dump-autoload --optimize --classmap-authoritative --no-dev",
            "",
        ]
    lines += [
        f"FROM {base.runtime}",
        *install_packages(base.runtime, m.system_packages),
        *user_lines(base.runtime, home=False),
        f"ENV PORT={port} APACHE_DOCUMENT_ROOT={docroot}",
        # Apache reads ${PORT} and ${APACHE_DOCUMENT_ROOT} from the environment at start; as a
        # non-root user it needs its run/lock/log dirs writable and cannot bind ports below 1024.
        "RUN sed -ri -e 's!/var/www/html!${APACHE_DOCUMENT_ROOT}!g' /etc/apache2/sites-available/*.conf \\\n"
        " && sed -ri -e 's!Listen 80$!Listen ${PORT}!' /etc/apache2/ports.conf \\\n"
        " && sed -ri -e 's!<VirtualHost \\*:80>!<VirtualHost *:${PORT}>!' /etc/apache2/sites-available/000-default.conf \\\n"
        " && a2enmod rewrite \\\n"
        f" && chown -R {APP_UID}:{APP_UID} /var/run/apache2 /var/lock/apache2 /var/log/apache2",
        "WORKDIR /var/www/html",
    ]
    if uses_composer:
        lines.append(f"COPY --from=vendor --chown={APP_UID}:{APP_UID} /app ./")
    else:
        lines.append(f"COPY --chown={APP_UID}:{APP_UID} . ./")
    lines += [
        f"USER {APP_UID}:{APP_UID}",
        f"EXPOSE {port}",
        healthcheck_exec(["php", "-r", f"exit(@fsockopen('127.0.0.1', (int) (getenv('PORT') ?: {port})) ? 0 : 1);"]),
    ]
    return Rendered(join(lines), base.runtime, APP_UID, port)
