"""Generated Dockerfiles, one representative module per ecosystem and package manager: the shape a
reviewer checks (deps before source, lockfile-exact, non-root, EXPOSE, HEALTHCHECK) and a clean
hadolint (no error-level finding)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from containerkit.errors import InvalidOption
from containerkit.tools.analyze.models import ModuleAnalysis
from containerkit.tools.dockerfile import generate_dockerfile, generate_dockerignore, load_catalog

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "apps"


def _m(**kw: object) -> ModuleAnalysis:
    kw.setdefault("path", ".")
    kw.setdefault("name", "demo-app")
    return ModuleAnalysis.model_validate(kw)


# (id, module, strings the Dockerfile must contain)
CASES: list[tuple[str, ModuleAnalysis, list[str]]] = [
    (
        "python-pip",
        _m(
            language="python",
            package_manager="pip",
            framework="flask",
            port=5000,
            dependency_files=["requirements.txt"],
            start_command="gunicorn app:app",
            entrypoint="app.py",
            system_packages=["libpq5"],
        ),
        ["COPY requirements.txt ./", "pip install --no-cache-dir -r requirements.txt", "libpq5"],
    ),
    (
        "python-poetry",
        _m(
            language="python",
            package_manager="poetry",
            framework="fastapi",
            port=8000,
            lockfile="poetry.lock",
            dependency_files=["pyproject.toml", "poetry.lock"],
            start_command="uvicorn main:app --host 0.0.0.0 --port ${PORT:-8000}",
        ),
        ["COPY pyproject.toml poetry.lock ./", "poetry install --no-root --only main", '"sh", "-c", "exec uvicorn'],
    ),
    (
        "python-uv",
        _m(
            language="python",
            package_manager="uv",
            language_version="3.11",
            lockfile="uv.lock",
            dependency_files=["pyproject.toml", "uv.lock"],
            start_command="python main.py",
        ),
        ["COPY pyproject.toml uv.lock ./", "uv sync --frozen"],
    ),
    (
        "python-pipenv",
        _m(
            language="python",
            package_manager="pipenv",
            lockfile="Pipfile.lock",
            dependency_files=["Pipfile", "Pipfile.lock"],
            framework="django",
            start_command="gunicorn mysite.wsgi",
        ),
        ["COPY Pipfile Pipfile.lock ./", "pipenv requirements"],
    ),
    (
        "python-pdm",
        _m(
            language="python",
            package_manager="pdm",
            lockfile="pdm.lock",
            dependency_files=["pyproject.toml", "pdm.lock"],
            framework="streamlit",
            port=8501,
            start_command="streamlit run app.py --server.port 8501",
        ),
        ["COPY pyproject.toml pdm.lock ./", "pdm export"],
    ),
    (
        "python-conda",
        _m(
            language="python",
            package_manager="conda",
            dependency_files=["environment.yml"],
            start_command="python app.py",
        ),
        ["micromamba install", "environment.yml"],
    ),
    (
        "python-pyproject-nolock",
        _m(
            language="python",
            package_manager="pip",
            dependency_files=["pyproject.toml"],
            start_command="python -m demo",
        ),
        ["COPY pyproject.toml ./", "tomllib"],
    ),
    (
        "node-npm",
        _m(
            language="node",
            package_manager="npm",
            framework="express",
            port=3000,
            lockfile="package-lock.json",
            dependency_files=["package.json", "package-lock.json"],
            start_command="node server.js",
        ),
        ["COPY package.json package-lock.json ./", "npm ci --omit=dev"],
    ),
    (
        "node-yarn-ts-build",
        _m(
            language="node",
            package_manager="yarn",
            framework="nest",
            lockfile="yarn.lock",
            dependency_files=["package.json", "yarn.lock"],
            build_command="yarn run build",
            start_command="node dist/main.js",
        ),
        ["AS build", "yarn install --frozen-lockfile", "yarn run build", "COPY --from=build /app ./"],
    ),
    (
        "node-pnpm-next",
        _m(
            language="node",
            package_manager="pnpm",
            framework="next",
            lockfile="pnpm-lock.yaml",
            dependency_files=["package.json", "pnpm-lock.yaml"],
            build_command="pnpm run build",
            start_command="pnpm start",
        ),
        ["pnpm install --frozen-lockfile", "pnpm prune --prod"],
    ),
    (
        "node-bun",
        _m(
            language="node",
            package_manager="bun",
            lockfile="bun.lockb",
            dependency_files=["package.json", "bun.lockb"],
            start_command="bun run index.ts",
        ),
        ["bun install --frozen-lockfile --production"],
    ),
    (
        "node-nuxt-remix-astro-server",
        _m(
            language="node",
            package_manager="npm",
            framework="remix",
            lockfile="package-lock.json",
            dependency_files=["package.json", "package-lock.json"],
            build_command="npm run build",
            start_command="npx remix-serve build/index.js",
        ),
        ["npm ci", "npm prune --omit=dev"],
    ),
    (
        "static-vite",
        _m(
            language="node",
            package_manager="npm",
            framework="vite",
            lockfile="package-lock.json",
            dependency_files=["package.json", "package-lock.json"],
            build_command="npm run build",
            start_command="vite preview",
        ),
        ["nginx-unprivileged", "COPY --from=build --chown=101:0 /app/dist/ /usr/share/nginx/html/", "try_files"],
    ),
    (
        "static-astro",
        _m(
            language="node",
            package_manager="npm",
            framework="astro",
            dependency_files=["package.json"],
            build_command="npm run build",
        ),
        ["nginx-unprivileged", "npm install"],
    ),
    ("static-html", _m(language="static"), ["nginx-unprivileged", "COPY --chown=101:0 . /usr/share/nginx/html/"]),
    (
        "go-gin",
        _m(
            language="go",
            package_manager="go",
            framework="gin",
            language_version="1.22",
            port=8080,
            dependency_files=["go.mod", "go.sum"],
            entrypoint="cmd/server/main.go",
        ),
        ["go mod download", "CGO_ENABLED=0", "./cmd/server", "distroless/static", "USER 65532:65532"],
    ),
    (
        "go-echo-cgo",
        _m(
            language="go",
            package_manager="go",
            framework="echo",
            dependency_files=["go.mod", "go.sum"],
            system_packages=["libsqlite3-0"],
        ),
        ["CGO_ENABLED=1", "FROM debian:bookworm-slim", "libsqlite3-0"],
    ),
    (
        "java-maven-spring",
        _m(
            language="java",
            package_manager="maven",
            framework="spring-boot",
            language_version="17",
            dependency_files=["pom.xml"],
        ),
        ["maven:3.9-eclipse-temurin-17", "dependency:go-offline", "eclipse-temurin:17-jre", "java", "-jar"],
    ),
    (
        "java-gradle-micronaut",
        _m(
            language="java",
            package_manager="gradle",
            framework="micronaut",
            dependency_files=["build.gradle", "settings.gradle"],
        ),
        ["gradle:8-jdk21", "COPY build.gradle settings.gradle ./", "shadowJar"],
    ),
    (
        "java-maven-quarkus",
        _m(language="java", package_manager="maven", framework="quarkus", dependency_files=["pom.xml"]),
        ["quarkus-app", "quarkus-run.jar", "QUARKUS_HTTP_PORT"],
    ),
    (
        "dotnet-aspnet",
        _m(
            language="dotnet",
            package_manager="dotnet",
            framework="aspnet-core",
            language_version="8.0",
            dependency_files=["Api.csproj", "packages.lock.json"],
            entrypoint="Api.csproj",
        ),
        ["mcr.microsoft.com/dotnet/sdk:8.0", "dotnet restore Api.csproj --locked-mode", "aspnet:8.0", '"Api.dll"'],
    ),
    (
        "rust-axum",
        _m(
            language="rust",
            package_manager="cargo",
            framework="axum",
            name="hello-axum",
            lockfile="Cargo.lock",
            dependency_files=["Cargo.toml", "Cargo.lock"],
        ),
        ["cargo build --release --locked", "hello_axum-*", "target/release/hello-axum"],
    ),
    (
        "rust-rocket",
        _m(language="rust", package_manager="cargo", framework="rocket", dependency_files=["Cargo.toml"]),
        ["ROCKET_ADDRESS=0.0.0.0"],
    ),
    (
        "ruby-rails",
        _m(
            language="ruby",
            package_manager="bundler",
            framework="rails",
            lockfile="Gemfile.lock",
            dependency_files=["Gemfile", "Gemfile.lock"],
            system_packages=["libpq5"],
        ),
        ["BUNDLE_DEPLOYMENT=1", "assets:precompile", "rails server -b 0.0.0.0"],
    ),
    (
        "ruby-sinatra",
        _m(
            language="ruby",
            package_manager="bundler",
            framework="sinatra",
            dependency_files=["Gemfile", "Gemfile.lock"],
            entrypoint="app.rb",
        ),
        ["bundle exec ruby app.rb"],
    ),
    (
        "php-laravel",
        _m(
            language="php",
            package_manager="composer",
            framework="laravel",
            lockfile="composer.lock",
            dependency_files=["composer.json", "composer.lock"],
        ),
        ["FROM composer:2 AS vendor", "composer install --no-dev", "php:8.3-apache", "/var/www/html/public"],
    ),
    (
        "php-symfony",
        _m(language="php", package_manager="composer", framework="symfony", dependency_files=["composer.json"]),
        ["APACHE_DOCUMENT_ROOT=/var/www/html/public"],
    ),
    (
        "elixir-phoenix",
        _m(
            language="elixir",
            package_manager="mix",
            framework="phoenix",
            name="hello_phx",
            dependency_files=["mix.exs", "mix.lock"],
        ),
        ["mix deps.get --only prod", "mix release", "/app/bin/hello_phx", "PHX_SERVER=true"],
    ),
    (
        "deno",
        _m(language="deno", lockfile="deno.lock", dependency_files=["deno.json", "deno.lock"], entrypoint="main.ts"),
        ["denoland/deno:", "deno install --frozen", "--allow-net"],
    ),
]


@pytest.fixture(scope="module")
def catalog():  # type: ignore[no-untyped-def]
    return load_catalog()


def hadolint_errors(content: str) -> list[dict[str, object]]:
    exe = shutil.which("hadolint") or str(Path(__import__("sys").executable).parent / "hadolint")
    proc = subprocess.run([exe, "--format", "json", "-"], input=content, capture_output=True, text=True, check=False)
    assert proc.stdout.strip().startswith("["), f"hadolint did not answer: {proc.stderr}"
    findings: list[dict[str, object]] = json.loads(proc.stdout)
    return [f for f in findings if f.get("level") == "error"]


def own_lint_errors(content: str) -> list[object]:
    """Errors from the project's own linter (containerkit.tools.lint), hadolint half off (checked above)."""
    from containerkit.tools.lint import LintConfig, Severity, lint_dockerfile

    report = lint_dockerfile(content, LintConfig(use_hadolint=False))
    return [f"{f.rule} line {f.line}: {f.message}" for f in report.at_or_above(Severity.ERROR)]


try:
    import containerkit.tools.lint  # noqa: F401

    HAVE_LINT = True
except ImportError:  # the linter (issue 4) is not in this checkout
    HAVE_LINT = False


def _stages(content: str) -> list[list[str]]:
    stages: list[list[str]] = []
    for line in content.splitlines():
        if line.startswith("FROM "):
            stages.append([])
        if stages:
            stages[-1].append(line)
    return stages


@pytest.mark.parametrize(("module", "needles"), [(m, n) for _, m, n in CASES], ids=[i for i, _, _ in CASES])
def test_generated_dockerfile_has_the_reviewed_shape_and_passes_hadolint(catalog, module, needles) -> None:  # type: ignore[no-untyped-def]
    out = generate_dockerfile(module, catalog)
    text = out.content
    for needle in needles:
        assert needle in text, f"{needle!r} missing from:\n{text}"
    final = _stages(text)[-1]
    users = [ln for ln in final if ln.startswith("USER ")]
    assert users, text
    uid = users[-1].split()[1].split(":")[0]
    assert uid.isdigit() and int(uid) > 0 and int(uid) == out.user_uid
    assert any(ln.startswith("EXPOSE ") for ln in final)
    assert "# syntax" not in text and "host-ca" not in text and "proxy" not in text.lower()
    cmds = [ln for ln in final if ln.startswith(("CMD ", "ENTRYPOINT "))]
    if cmds:
        assert cmds[-1].split(" ", 1)[1].startswith("["), "CMD must use the exec form"
    if "distroless" not in out.base_image:
        assert any(ln.startswith("HEALTHCHECK ") for ln in final), text
    assert hadolint_errors(text) == []


@pytest.mark.skipif(not HAVE_LINT, reason="containerkit.tools.lint (issue 4) is not in this checkout")
@pytest.mark.parametrize("module", [m for _, m, _ in CASES], ids=[i for i, _, _ in CASES])
def test_generated_dockerfile_has_no_error_from_the_projects_own_lint(catalog, module) -> None:  # type: ignore[no-untyped-def]
    text = generate_dockerfile(module, catalog).content
    assert own_lint_errors(text) == [], text


def _fixture_modules() -> list[tuple[str, ModuleAnalysis]]:
    from containerkit.tools.analyze import analyze_repo

    out: list[tuple[str, ModuleAnalysis]] = []
    for d in sorted(FIXTURES.iterdir()) if FIXTURES.is_dir() else []:
        try:
            analysis = analyze_repo(d)
        except Exception:  # noqa: BLE001 - a fixture the analysis rejects is the analysis tests' business
            continue
        for mod in analysis.deployable():
            if mod.language is not None:
                out.append((f"{d.name}:{mod.path}", mod))
    return out


FIXTURE_MODULES = _fixture_modules()


@pytest.mark.parametrize("module", [m for _, m in FIXTURE_MODULES], ids=[i for i, _ in FIXTURE_MODULES])
def test_every_fixture_module_gets_a_dockerfile_without_lint_errors(catalog, module) -> None:  # type: ignore[no-untyped-def]
    out = generate_dockerfile(module, catalog)
    assert hadolint_errors(out.content) == [], out.content
    if HAVE_LINT:
        assert own_lint_errors(out.content) == [], out.content
    final = _stages(out.content)[-1]
    assert any(ln.startswith(f"USER {out.user_uid}:") for ln in final)


@pytest.mark.parametrize(("module", "needles"), [(m, n) for _, m, n in CASES], ids=[i for i, _, _ in CASES])
def test_dependency_manifests_are_copied_before_the_source(catalog, module, needles) -> None:  # type: ignore[no-untyped-def]
    text = generate_dockerfile(module, catalog).content
    for stage in _stages(text):
        copies = [i for i, ln in enumerate(stage) if ln.startswith("COPY ") and "--from" not in ln]
        source = [i for i in copies if re.search(r"COPY (--chown=\S+ )?\. ", stage[i])]
        manifests = [i for i in copies if i not in source]
        if source and manifests:
            assert max(manifests) < min(source), "\n".join(stage)


def test_start_command_with_port_goes_through_a_shell(catalog) -> None:  # type: ignore[no-untyped-def]
    m = _m(language="node", dependency_files=["package.json"], start_command="next start -p $PORT")
    assert 'CMD ["sh", "-c", "exec next start -p $PORT"]' in generate_dockerfile(m, catalog).content
    plain = _m(language="node", dependency_files=["package.json"], start_command="node server.js")
    assert 'CMD ["node", "server.js"]' in generate_dockerfile(plain, catalog).content


def test_system_packages_use_apk_on_alpine_bases() -> None:
    cat = load_catalog({"node": {"image": "node:{version}-alpine"}})
    m = _m(language="node", dependency_files=["package.json"], system_packages=["vips"])
    text = generate_dockerfile(m, cat).content
    assert "apk add --no-cache vips" in text and "apt-get" not in text
    assert "adduser -S" in text
    assert hadolint_errors(text) == []


def test_base_image_option_forces_the_final_stage_image() -> None:
    cat = load_catalog(override="registry.corp.example/base/python:3.11-hardened")
    out = generate_dockerfile(_m(language="python", dependency_files=["requirements.txt"]), cat)
    assert out.base_image == "registry.corp.example/base/python:3.11-hardened"
    assert _stages(out.content)[-1][0] == "FROM registry.corp.example/base/python:3.11-hardened"
    go = generate_dockerfile(_m(language="go", dependency_files=["go.mod"]), cat)
    assert "FROM golang:1.23-bookworm AS build" in go.content  # the build stage keeps the toolchain


def test_mirror_prefixes_every_catalog_image() -> None:
    cat = load_catalog({"mirror": "127.0.0.1:5000/hub"})
    out = generate_dockerfile(_m(language="dotnet", dependency_files=["Api.csproj"]), cat)
    assert "FROM 127.0.0.1:5000/hub/mcr.microsoft.com/dotnet/sdk:8.0 AS build" in out.content
    assert out.base_image == "127.0.0.1:5000/hub/mcr.microsoft.com/dotnet/aspnet:8.0"


def test_unknown_language_is_a_typed_error(catalog) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InvalidOption) as exc:
        generate_dockerfile(_m(language="cobol"), catalog)
    assert exc.value.code == "CK106" and "Write a Dockerfile" in exc.value.hint
    with pytest.raises(InvalidOption):
        generate_dockerfile(_m(), catalog)


def test_dockerignore_keeps_secrets_vcs_and_build_output_out() -> None:
    ignore = generate_dockerignore(_m(language="rust", dependency_files=["Cargo.toml"])).splitlines()
    for entry in (".env", "*.pem", "*.key", ".git", "target", "id_rsa*"):
        assert entry in ignore
    node_built = generate_dockerignore(_m(language="node", build_command="npm run build")).splitlines()
    assert "dist" in node_built and "**/node_modules" in node_built
    node_plain = generate_dockerignore(_m(language="node", start_command="node dist/server.js")).splitlines()
    assert "dist" not in node_plain  # committed output the image runs from stays in the context
