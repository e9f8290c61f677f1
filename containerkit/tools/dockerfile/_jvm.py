"""Java (maven, gradle; spring-boot, quarkus, micronaut): dependencies resolved from the build file
before the source, the application jar built in a JDK stage and run on a JRE as a fixed uid."""

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

_JAVA_OPTS = "-XX:MaxRAMPercentage=75 -XX:+ExitOnOutOfMemoryError"
_PICK_JAR = (
    "find {dir} -maxdepth 1 -name '*.jar' ! -name '*-plain.jar' ! -name '*-sources.jar' ! -name '*-javadoc.jar'"
    " ! -name 'original-*' -exec cp {{}} /out/app.jar \\;"
)


def _maven(m: ModuleAnalysis, quarkus: bool) -> list[str]:
    files = [f for f in m.dependency_files if f != "pom.xml"]
    return [
        "COPY pom.xml ./",
        *copy_manifests([f for f in files if not f.startswith(("mvnw", ".mvn"))]),
        "RUN mvn -B -q dependency:go-offline",
        "COPY . .",
        "RUN mvn -B -q package -DskipTests \\\n && mkdir -p /out \\\n && "
        + ("cp -r target/quarkus-app /out/app" if quarkus else _PICK_JAR.format(dir="target")),
    ]


def _gradle(m: ModuleAnalysis, framework: str | None, quarkus: bool) -> list[str]:
    manifests = [f for f in m.dependency_files if not f.startswith(("gradlew", "gradle/wrapper"))]
    manifests = manifests or ["build.gradle"]
    task = "bootJar" if framework == "spring-boot" else ("quarkusBuild" if quarkus else "build -x test")
    if framework == "micronaut":
        task = "shadowJar"
    return [
        *copy_manifests(manifests),
        "RUN gradle --no-daemon -q dependencies > /dev/null",
        "COPY . .",
        f"RUN gradle --no-daemon -q {task} \\\n && mkdir -p /out \\\n && "
        + ("cp -r build/quarkus-app /out/app" if quarkus else _PICK_JAR.format(dir="build/libs")),
    ]


def render_java(m: ModuleAnalysis, ctx: Ctx) -> Rendered:
    pm = m.package_manager or ("gradle" if any("gradle" in f for f in m.dependency_files) else "maven")
    tool = "gradle" if pm == "gradle" else "maven"
    base = ctx.resolve("java", m.language_version, tool=tool)
    quarkus = m.framework == "quarkus"
    port = m.port or 8080
    lines = [
        header(m, f"java {base.version}, {tool}{', ' + m.framework if m.framework else ''}"),
        f"FROM {base.image} AS build",
        "WORKDIR /src",
        *install_packages(base.image, ctx.extra_build_packages),
        *(_gradle(m, m.framework, quarkus) if tool == "gradle" else _maven(m, quarkus)),
        "",
        f"FROM {base.runtime}",
        "WORKDIR /app",
        *install_packages(base.runtime, m.system_packages),
        *user_lines(base.runtime, home=False),
    ]
    if quarkus:
        lines.append("COPY --from=build /out/app/ ./")
        jar = "/app/quarkus-run.jar"
    else:
        lines.append("COPY --from=build /out/app.jar ./app.jar")
        jar = "/app/app.jar"
    env = f'ENV PORT={port} SERVER_PORT={port} JAVA_TOOL_OPTIONS="{_JAVA_OPTS}"'
    if quarkus:
        env += f" QUARKUS_HTTP_PORT={port}"
    if m.framework == "micronaut":
        env += f" MICRONAUT_SERVER_PORT={port}"
    start = m.start_command if m.start_command and "java" in m.start_command.split()[:1] else f"java -jar {jar}"
    lines += [env, f"USER {APP_UID}:{APP_UID}", f"EXPOSE {port}", bash_tcp_check(port), exec_form(start)]
    return Rendered(join(lines), base.runtime, APP_UID, port)
