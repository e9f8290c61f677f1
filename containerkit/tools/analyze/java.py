"""JVM modules: Maven or Gradle, Java version, Spring Boot / Quarkus / Micronaut, the jar to run."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import xml.etree.ElementTree as ET

from containerkit.errors import ManifestParseError
from containerkit.tools.analyze._common import Found, ModuleDir
from containerkit.tools.analyze.models import ModuleAnalysis

__all__ = ["MARKERS", "detect_java"]

MARKERS = ("pom.xml", "build.gradle", "build.gradle.kts", "settings.gradle", "settings.gradle.kts")
_FRAMEWORKS = (
    ("org.springframework.boot", "spring-boot"),
    ("io.quarkus", "quarkus"),
    ("io.micronaut", "micronaut"),
)
# System property each framework reads its port from, so the start command honours $PORT.
_PORT_PROPS = {"spring-boot": "server.port", "quarkus": "quarkus.http.port", "micronaut": "micronaut.server.port"}
_HEALTH = {
    "spring-boot-starter-actuator": "/actuator/health",
    "quarkus-smallrye-health": "/q/health",
    "micronaut-management": "/health",
}
_CONFIG_FILES = (
    "src/main/resources/application.properties",
    "src/main/resources/application.yml",
    "src/main/resources/application.yaml",
)
_PORT_KEYS = re.compile(
    r"(?:server\.port|quarkus\.http\.port|micronaut\.server\.port|^\s*port)\s*[=:]\s*\$?\{?[\w.:]*?(\d{2,5})\}?", re.M
)


def _strip_ns(root: ET.Element) -> None:
    for el in root.iter():
        if isinstance(el.tag, str) and "}" in el.tag:
            el.tag = el.tag.split("}", 1)[1]


def _pom(d: ModuleDir) -> ET.Element:
    import xml.etree.ElementTree as ET  # only Maven projects pay for it

    try:
        root = ET.fromstring(d.read("pom.xml", 4 * 1024 * 1024))
    except ET.ParseError as exc:
        rel = d.repo_path("pom.xml")
        line, col = exc.position[0], exc.position[1] + 1  # expat counts columns from 0
        raise ManifestParseError(
            f"{rel} is not valid XML: {str(exc).split(':', 1)[0]} at line {line}, column {col}",
            hint=f"Fix the XML in {rel} (line {line}, column {col}).",
            file=rel,
            line=line,
            column=col,
        ) from None
    _strip_ns(root)
    return root


def _text(el: ET.Element | None, path: str) -> str | None:
    found = el.find(path) if el is not None else None
    return found.text.strip() if found is not None and found.text else None


def _maven(d: ModuleDir) -> Found:
    pom = _pom(d)
    artifact = _text(pom, "artifactId") or d.name
    version = _text(pom, "version") or _text(pom, "parent/version") or "0.0.1"
    packaging = _text(pom, "packaging") or "jar"
    props = {el.tag: (el.text or "").strip() for el in (pom.find("properties") or [])}
    java = None
    for key in ("java.version", "maven.compiler.release", "maven.compiler.source", "maven.compiler.target"):
        if props.get(key):
            java = props[key].removeprefix("1.") if props[key].startswith("1.") else props[key]
            d.say("pom.xml", f"{key} {props[key]}")
            break
    groups = [_text(pom, "parent/groupId") or ""]
    deps: list[str] = []
    for dep in pom.iterfind(".//dependencies/dependency"):
        groups.append(_text(dep, "groupId") or "")
        deps.append(_text(dep, "artifactId") or "")
    plugins = [(_text(p, "groupId") or "", _text(p, "artifactId") or "") for p in pom.iterfind(".//plugins/plugin")]
    groups += [g for g, _ in plugins]
    modules = [m.text.strip() for m in pom.iterfind("modules/module") if m.text]
    if modules:
        d.say("pom.xml", f"modules {', '.join(modules)}")
    framework = next((fw for g, fw in _FRAMEWORKS if any(x.startswith(g) for x in groups)), None)
    wrapper = d.has("mvnw")
    d.say("pom.xml", f"maven artifact {artifact}" + (f", {framework}" if framework else ""))
    has_main = _has_main(d) or any(
        a in {"maven-shade-plugin", "maven-assembly-plugin", "exec-maven-plugin"} for _, a in plugins
    )
    runnable = packaging != "pom" and (framework is not None or has_main)
    jar = "target/quarkus-app/quarkus-run.jar" if framework == "quarkus" else f"target/{artifact}-{version}.jar"
    m = ModuleAnalysis(
        path=d.rel,
        name=artifact,
        language="java",
        language_version=java,
        package_manager="maven",
        framework=framework,
        build_command=("./mvnw" if wrapper else "mvn") + " -B -DskipTests package" if runnable else None,
        start_command=_java_start(framework, jar) if runnable else None,
        dependency_files=["pom.xml"] + ([".mvn/wrapper/maven-wrapper.properties", "mvnw"] if wrapper else []),
        dependencies=[x for x in deps if x],
        is_library=not runnable,
    )
    return _finish(d, m, deps, ids={artifact}, refs=set(deps), members=modules or None, aggregator=packaging == "pom")


def _gradle(d: ModuleDir) -> Found:
    build_file = d.first("build.gradle.kts", "build.gradle")
    settings_file = d.first("settings.gradle.kts", "settings.gradle")
    text = d.read(build_file) if build_file else ""
    settings = d.read(settings_file) if settings_file else ""
    includes = re.findall(r"""include\s*\(?\s*((?:["'][:\w./-]+["']\s*,?\s*)+)""", settings)
    members = [x.lstrip(":").replace(":", "/") for grp in includes for x in re.findall(r"""["']([:\w./-]+)["']""", grp)]
    if members:
        d.say(settings_file or "settings.gradle", f"include {', '.join(members)}")
    name_m = re.search(r"""rootProject\.name\s*=\s*["']([\w.-]+)["']""", settings)
    name = name_m.group(1) if name_m else d.name
    version_m = re.search(r"""^version\s*=?\s*["']([\w.-]+)["']""", text, re.M)
    java = None
    for pat in (
        r"JavaLanguageVersion\.of\((\d+)\)",
        r"JavaVersion\.VERSION_(?:1_)?(\d+)",
        r"sourceCompatibility\s*=\s*['\"]?(?:1\.)?(\d+)",
    ):
        if jm := re.search(pat, text):
            java = jm.group(1)
            d.say(build_file or "build.gradle", f"java {java}")
            break
    framework = None
    for marker, fw in (
        ("org.springframework.boot", "spring-boot"),
        ("io.quarkus", "quarkus"),
        ("io.micronaut", "micronaut"),
    ):
        if marker in text:
            framework = fw
            d.say(build_file or "build.gradle", f"plugin {marker}")
            break
    refs = {r.rsplit(":", 1)[-1] for r in re.findall(r"""project\(\s*["']([:\w./-]+)["']\s*\)""", text)}
    deps = re.findall(r"""(?:implementation|api|runtimeOnly)\s*\(?\s*["']([\w.-]+:[\w.-]+)""", text)
    is_app = framework is not None or re.search(r"\bapplication\b", text) is not None or _has_main(d)
    is_app = is_app and "java-library" not in text and build_file is not None
    wrapper = d.has("gradlew")
    task = "bootJar" if framework == "spring-boot" else "build -x test"
    if framework == "quarkus":
        task, jar = "build -x test", "build/quarkus-app/quarkus-run.jar"
    else:
        jar = f"build/libs/{name}-{version_m.group(1)}.jar" if version_m else f"build/libs/{name}.jar"
    m = ModuleAnalysis(
        path=d.rel,
        name=name,
        language="java",
        language_version=java,
        package_manager="gradle",
        framework=framework,
        build_command=("./gradlew" if wrapper else "gradle") + f" --no-daemon {task}" if is_app else None,
        start_command=_java_start(framework, jar) if is_app else None,
        dependency_files=[f for f in (build_file, settings_file, "gradle.properties", "gradlew") if f and d.has(f)],
        dependencies=[x.split(":")[1] for x in deps],
        is_library=not is_app,
    )
    dep_ids = [x.split(":")[1] for x in deps]
    return _finish(
        d, m, dep_ids, ids={d.name, name}, refs=set(dep_ids) | refs, members=members or None,
        aggregator=bool(members) and build_file is None,
    )  # fmt: skip


def _java_start(framework: str | None, jar: str) -> str:
    prop = _PORT_PROPS.get(framework or "")
    default = 8080
    return f"java -D{prop}=${{PORT:-{default}}} -jar {jar}" if prop else f"java -jar {jar}"


def _has_main(d: ModuleDir) -> bool:
    return any("static void main(" in d.read(f, 64 * 1024) for f in d.sources("src/main", (".java", ".kt"), 30))


def _finish(
    d: ModuleDir,
    m: ModuleAnalysis,
    deps: list[str],
    *,
    ids: set[str],
    refs: set[str],
    members: list[str] | None,
    aggregator: bool,
    ref_paths: set[str] | None = None,
) -> Found:
    for art, path in _HEALTH.items():
        if any(x.startswith(art) for x in deps):
            m.health_path = path
            d.say("dependencies", f"{art} serves {path}")
    config = [c for c in _CONFIG_FILES if d.has(c)]
    if not m.is_library:
        for c in config:
            if pm := _PORT_KEYS.search(d.read(c, 64 * 1024)):
                m.port = int(pm.group(1))
                d.say(c, f"port {m.port}")
                if m.start_command and "${PORT:-8080}" in m.start_command:
                    m.start_command = m.start_command.replace("${PORT:-8080}", f"${{PORT:-{m.port}}}")
                break
    v = d.version_file((".java-version",), r"(\d+)")
    m.language_version = m.language_version or v
    d.finish(m, sources=[], default_port=None if m.is_library else 8080)
    return Found(m, ids=ids, refs=refs, ref_paths=ref_paths or set(), members=members, aggregator=aggregator, rank=5)


def detect_java(d: ModuleDir) -> Found | None:
    if d.has("pom.xml"):
        return _maven(d)
    if any(d.has(m) for m in MARKERS):
        return _gradle(d)
    return None
