"""Every fixture app under tests/fixtures/apps, carried through analysis -> generated Dockerfile ->
real build -> run -> HTTP probe where its dependencies can be fetched here (PyPI, npm); for the
others (Go proxy, Maven Central, NuGet, crates.io, RubyGems, Packagist, Hex and Docker Hub base
images are unreachable from this machine) the generated Dockerfile is checked statically and with
hadolint, and the test says why it does not build."""

from __future__ import annotations

import contextlib
import json
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from typing import Any

import pytest

from containerkit.errors import BuildFailed, ContainerKitError
from containerkit.tools.analyze import analyze_repo
from containerkit.tools.analyze.models import ModuleAnalysis
from containerkit.tools.dockerfile import BuildFailureInfo, fix_dockerfile, generate_dockerfile, load_catalog
from containerkit.tools.dockerfile.catalog import image_probe
from containerkit.tools.engine import BuildRequest, base_images_of, build_image, image_exists
from tests.conftest import free_port

pytestmark = pytest.mark.integration

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "apps"
BUILDABLE = {"python", "node", "static"}
UNREACHABLE = {
    "go": "the Go module proxy and the golang/distroless base images are not reachable here",
    "java": "Maven Central / the Gradle plugin portal and the eclipse-temurin images are not reachable here",
    "dotnet": "NuGet and the mcr.microsoft.com/dotnet images are not reachable here",
    "rust": "crates.io and the rust base image are not reachable here",
    "ruby": "RubyGems and the ruby base image are not reachable here",
    "php": "Packagist and the php/composer base images are not reachable here",
    "elixir": "Hex and the elixir base image are not reachable here",
    "deno": "the denoland/deno base image is not reachable here (and deno.land/jsr only through npm)",
}
_PROBE_DEADLINE_S = 90


def _expected(d: Path) -> dict[str, Any]:
    f = d / "expected.json"
    if not f.is_file():
        return {}
    data = json.loads(f.read_text("utf-8"))
    return data if isinstance(data, dict) else {}


def _expected_module(exp: dict[str, Any]) -> dict[str, Any]:
    mods = exp.get("modules")
    if isinstance(mods, list) and mods and isinstance(mods[0], dict):
        return mods[0]
    return exp


def _language(d: Path) -> str | None:
    exp = _expected_module(_expected(d))
    if isinstance(exp.get("language"), str):
        return str(exp["language"])
    try:
        return analyze_repo(d).primary().language
    except (ContainerKitError, IndexError):
        return None


def _probe_path(d: Path, module_path: str | None = None) -> str:
    exp = _expected(d)
    mods = [m for m in exp.get("modules") or [] if isinstance(m, dict) and m.get("path") == module_path]
    mod = mods[0] if mods else _expected_module(exp)
    path = mod.get("probe_path") or exp.get("probe_path") or "/"
    return str(path)


def _fixtures() -> list[tuple[str, str | None]]:
    if not FIXTURES.is_dir():
        return []
    return [(d.name, _language(d)) for d in sorted(FIXTURES.iterdir()) if d.is_dir()]


def _monorepo_modules(d: Path) -> list[str]:
    """Every deployable module of a monorepo fixture that can build here, from its expected.json."""
    exp = _expected(d)
    mods = exp.get("modules") if exp.get("is_monorepo") else None
    if not isinstance(mods, list):
        return []
    return [
        str(m["path"])
        for m in mods
        if isinstance(m, dict) and not m.get("is_library") and m.get("language") in BUILDABLE and m.get("path")
    ]


def _build_cases(all_: list[tuple[str, str | None]]) -> list[Any]:
    """One case per fixture (the module `run` picks), one per buildable deployable module of a monorepo."""
    cases: list[Any] = []
    for name, lang in all_:
        paths = _monorepo_modules(FIXTURES / name)
        if paths:
            cases += [pytest.param(name, p, id=f"{name}:{p}") for p in paths]
        elif lang in BUILDABLE:
            cases.append(pytest.param(name, None, id=name))
    return cases


ALL = _fixtures()
BUILD = _build_cases(ALL)
STATIC_ONLY = [name for name, lang in ALL if lang not in BUILDABLE]


def _hadolint_errors(content: str) -> list[dict[str, Any]]:
    exe = shutil.which("hadolint") or str(Path(sys.executable).parent / "hadolint")
    out = subprocess.run([exe, "--format", "json", "-"], input=content, capture_output=True, text=True, check=False)
    return [f for f in json.loads(out.stdout) if f.get("level") == "error"]


def _copy(name: str, tmp_path: Path) -> Path:
    dst = tmp_path / name
    shutil.copytree(
        FIXTURES / name,
        dst,
        ignore=shutil.ignore_patterns("node_modules", "Dockerfile", ".dockerignore", "expected.json"),
    )
    return dst


def _wait_for_http(url: str, container: Any) -> tuple[int, str]:
    deadline = time.monotonic() + _PROBE_DEADLINE_S
    last = "no answer"
    while time.monotonic() < deadline:
        container.reload()
        if container.status in ("exited", "dead"):
            logs = container.logs(tail=40).decode("utf-8", "replace")
            pytest.fail(f"container exited ({container.attrs['State'].get('ExitCode')}) before answering:\n{logs}")
        try:
            with urllib.request.urlopen(url, timeout=3) as resp:
                return int(resp.status), resp.read(2000).decode("utf-8", "replace")
        except urllib.error.HTTPError as exc:
            last = f"HTTP {exc.code}"
            if exc.code < 500:
                return exc.code, ""
        except OSError as exc:
            last = str(exc)
        time.sleep(1)
    logs = container.logs(tail=40).decode("utf-8", "replace")
    pytest.fail(f"{url} did not answer within {_PROBE_DEADLINE_S}s ({last}); container log:\n{logs}")


def _build_with_fixes(
    app: Path, context: Path, content: str, module: ModuleAnalysis, tag: str, docker_client: Any, registry: str
) -> list[str]:
    """Build (Dockerfile in the module's folder, ``context`` as the generator said); on failure let fix
    mode change the Dockerfile (as the agents do), at most twice."""
    fixes: list[str] = []
    mdir = app / module.path
    for _ in range(3):
        (mdir / "Dockerfile").write_text(content)
        try:
            build_image(
                BuildRequest(context=context, dockerfile=mdir / "Dockerfile", tags=[tag], pull_policy="never"),
                docker_client=docker_client,
            )
            return fixes
        except BuildFailed as exc:
            failure = BuildFailureInfo(
                step=str(exc.context.get("step") or "") or None,
                message=exc.message,
                log_tail=str(exc.context.get("log_tail", "")),
            )
            fix = fix_dockerfile(
                content, failure, module, load_catalog(), probe=image_probe(docker_client, registry), context=mdir
            )
            if not fix.changed or len(fixes) == 2:
                pytest.fail(f"build failed and fix mode has no answer ({fix.reason}):\n{failure.log_tail}")
            fixes.append(fix.reason)
            content = fix.content
            if fix.context is not None:
                context = app / fix.context
    return fixes


@pytest.mark.slow
@pytest.mark.parametrize(("name", "module_path"), BUILD)
def test_fixture_builds_runs_and_answers_http(  # type: ignore[no-untyped-def]
    name: str, module_path: str | None, tmp_path: Path, docker_client, registry, containers
) -> None:
    app = _copy(name, tmp_path)
    analysis = analyze_repo(app)
    if module_path is not None:  # a monorepo's module, built from the context the generator chose
        module = next((m for m in analysis.modules if m.path == module_path), None)
        assert module is not None, f"{module_path} not found by the analysis of {name}"
    else:
        # the module `run` picks, unless its language cannot build here and another deployable one can
        buildable = [m for m in analysis.deployable() if m.language in BUILDABLE]
        module = analysis.primary() if analysis.primary().language in BUILDABLE or not buildable else buildable[0]
    gen = generate_dockerfile(module, load_catalog(), probe=image_probe(docker_client, registry), repo_root=app)
    assert _hadolint_errors(gen.content) == [], gen.content
    missing = [img for img in base_images_of(gen.content) if not image_exists(docker_client, img)]
    if missing:
        pytest.skip(f"base image {missing[0]} is not available on this machine and cannot be pulled here")
    context = app / gen.context
    (context / ".dockerignore").write_text(gen.dockerignore)
    tag = f"ck-fixture-{name}:{uuid.uuid4().hex[:8]}"
    try:
        fixes = _build_with_fixes(app, context, gen.content, module, tag, docker_client, registry)
        if fixes:
            print(f"{name}: built after fix mode: {'; '.join(fixes)}")
        port = free_port()
        cname = f"ck-fixture-{name}-{uuid.uuid4().hex[:6]}"
        containers.append(cname)
        container = docker_client.containers.run(
            tag, detach=True, name=cname, network_mode="host", environment={"PORT": str(port)}
        )
        assert container.attrs["Config"]["User"] == f"{gen.user_uid}:{gen.user_uid}"
        status, _ = _wait_for_http(f"http://127.0.0.1:{port}{_probe_path(FIXTURES / name, module_path)}", container)
        assert status == 200
    finally:
        for cname in list(containers):
            with contextlib.suppress(Exception):  # already gone
                docker_client.containers.get(cname).remove(force=True)
        if image_exists(docker_client, tag):
            docker_client.images.remove(tag, force=True)


@pytest.mark.parametrize("name", STATIC_ONLY)
def test_fixture_that_cannot_build_here_gets_a_clean_dockerfile(name: str) -> None:
    try:
        module = analyze_repo(FIXTURES / name).primary()
    except ContainerKitError as exc:
        pytest.skip(f"analysis does not cover this fixture yet: {exc}")
    if module.language not in UNREACHABLE:
        pytest.skip(f"language {module.language!r} of {name} has no generator")
    gen = generate_dockerfile(module, load_catalog())
    text = gen.content
    assert _hadolint_errors(text) == [], text
    final = text.split("\nFROM ")[-1]
    assert "USER " in final and "USER root" not in final.splitlines()[-8:]
    assert "EXPOSE " in final
    if "AS build" in text:
        assert "COPY --from=build" in final
    print(f"{name}: not built: {UNREACHABLE[module.language]}")


def test_catalog_falls_back_to_the_closest_python_on_this_engine_with_a_warning(docker_client, registry) -> None:  # type: ignore[no-untyped-def]
    engine = image_probe(docker_client, registry)

    def probe(ref: str) -> bool:
        # the engine is shared: another job may have built a newer python (3.13 would then be the closest)
        return not ref.startswith("python:3.13") and engine(ref)

    assert probe("python:3.11-slim")
    if probe("python:3.12-slim"):
        pytest.skip("python:3.12-slim exists here: nothing to fall back from")
    res = load_catalog().resolve("python", "3.12", probe)
    # equally close, the newer one wins (test-infra also builds python:3.13-slim from Debian trixie)
    v = "3.13" if probe("python:3.13-slim") else "3.11"
    assert (res.image, res.runtime, res.version) == (f"python:{v}-slim", f"python:{v}-slim", v)
    assert res.warning and "python:3.12-slim" in res.warning and "closest" in res.warning
    m = ModuleAnalysis(
        path=".", name="x", language="python", language_version="3.12", dependency_files=["requirements.txt"]
    )
    gen = generate_dockerfile(m, load_catalog(), probe=probe)
    assert gen.warnings == [res.warning]
    assert f"FROM python:{v}-slim AS build" in gen.content and "3.12" not in gen.content.split("\n", 1)[1]


@pytest.mark.slow
def test_probe_finds_an_image_only_the_configured_registry_has(docker_client, registry, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """A tiny image pushed to the registry under a mirror prefix (and not kept locally) counts as available."""
    (tmp_path / "marker").write_text("x")
    (tmp_path / "Dockerfile").write_text("FROM scratch\nCOPY marker /marker\n")
    repo = f"{registry}/ck-mirror-{uuid.uuid4().hex[:6]}/python"
    ref = f"{repo}:3.13-slim"
    build_image(
        BuildRequest(context=tmp_path, dockerfile=tmp_path / "Dockerfile", tags=[ref], pull_policy="never"),
        docker_client=docker_client,
    )
    try:
        for ev in docker_client.api.push(repo, tag="3.13-slim", stream=True, decode=True):
            assert "error" not in ev, ev
    finally:
        docker_client.images.remove(ref, force=True)
    assert not image_exists(docker_client, ref)
    probe = image_probe(docker_client, registry)
    assert probe(ref)
    assert not probe(f"{repo}:3.12-slim")
    cat = load_catalog({"mirror": repo.rsplit("/", 1)[0]})
    res = cat.resolve("python", "3.12", probe)
    assert res.image == ref and res.warning is not None  # the registry's 3.13 beats a missing 3.12


@pytest.mark.slow
def test_poetry_constraints_without_a_lockfile_become_the_pep_440_requirements_pip_installs(
    docker_client, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    """Caret, tilde, wildcard, exact, alternatives, extras and python markers, converted in the build
    stage the generator writes for a Poetry project without poetry.lock, then installed by pip."""
    (tmp_path / "pyproject.toml").write_text(
        "[tool.poetry]\nname = 'c'\nversion = '0.1.0'\ndescription = ''\nauthors = []\npackage-mode = false\n\n"
        "[tool.poetry.dependencies]\npython = '^3.11'\nsix = '^1.16'\nidna = '~3.7'\npackaging = '*'\n"
        "certifi = '2024.8.30'\nurllib3 = '^1.26 || ^2.0'\nrequests = { version = '^2.32', extras = ['socks'] }\n"
        "tomli = { version = '^2.0', python = '<3.11' }\n\n[tool.poetry.group.dev.dependencies]\npytest = '^8'\n"
    )
    (tmp_path / "app.py").write_text("print('ok')\n")
    m = analyze_repo(tmp_path).primary()
    assert m.package_manager == "poetry" and m.lockfile is None
    content = generate_dockerfile(m, load_catalog()).content
    # pip has left the venv by the end of the build stage (lean images): list what is installed without it
    freeze = (
        'python -c "import importlib.metadata as m; '
        "print(chr(10).join(d.metadata['Name'] + '==' + d.version for d in m.distributions()))\""
    )
    build_stage = content.split("\n\nFROM ")[0] + f"\nRUN cat /tmp/requirements.txt && {freeze} > /tmp/freeze.txt\n"
    (tmp_path / "Dockerfile").write_text(build_stage)
    tag = f"ck-poetry-constraints:{uuid.uuid4().hex[:8]}"
    build_image(
        BuildRequest(context=tmp_path, dockerfile=tmp_path / "Dockerfile", tags=[tag], pull_policy="never"),
        docker_client=docker_client,
    )
    try:
        out = docker_client.containers.run(tag, ["cat", "/tmp/requirements.txt", "/tmp/freeze.txt"], remove=True)
    finally:
        docker_client.images.remove(tag, force=True)
    text = out.decode()
    reqs = {line.split(" ", 1)[0].split("[")[0]: line for line in text.splitlines() if " " in line or "(" in line}
    assert ">=1.16,<2.0" in reqs["six"]
    assert ">=3.7,<3.8" in reqs["idna"]
    assert reqs["certifi"].replace(" ", "") in ("certifi(==2024.8.30)", "certifi==2024.8.30")
    assert "socks" in reqs["requests"] and ">=2.32,<3.0" in reqs["requests"]
    assert 'python_version < "3.11"' in reqs["tomli"]
    assert "pytest" not in text  # the dev group stays out of the image
    frozen = {line.split("==")[0].lower() for line in text.splitlines() if "==" in line and " " not in line}
    assert {"six", "idna", "packaging", "certifi", "urllib3", "requests", "pysocks"} <= frozen
    assert "tomli" not in frozen
