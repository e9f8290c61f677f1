"""Node workspace members built from the workspace root, the build context the generator reports,
Nuxt's self-contained output, Poetry without a lockfile, and the static-site runtime fallback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from containerkit.tools.analyze import analyze_repo
from containerkit.tools.analyze.models import ModuleAnalysis
from containerkit.tools.dockerfile import (
    BuildFailureInfo,
    build_context,
    fix_dockerfile,
    generate_dockerfile,
    load_catalog,
)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "apps"


def _module(repo: Path, path: str) -> ModuleAnalysis:
    return next(m for m in analyze_repo(repo).modules if m.path == path)


def _before(text: str, first: str, then: str) -> bool:
    return text.index(first) < text.index(then)


def test_npm_workspace_member_builds_from_the_root_with_the_lockfile_and_every_member_manifest() -> None:
    repo = FIXTURES / "mono-npm-workspaces"
    gen = generate_dockerfile(_module(repo, "apps/api"), load_catalog(), repo_root=repo)
    text = gen.content
    assert gen.context == "."
    assert "COPY package.json package-lock.json ./" in text
    for member in ("apps/api", "apps/web", "packages/shared"):
        assert f"COPY {member}/package.json {member}/" in text
        assert _before(text, f"COPY {member}/package.json", "COPY . .")
    assert "npm ci --omit=dev --workspace apps/api" in text
    final = text.split("\nFROM ")[-1]
    # the sibling the app requires is in the image, and the app starts in its own folder
    assert "COPY --from=build /app/node_modules ./node_modules" in final
    assert "COPY --from=build /app/packages/shared ./packages/shared" in final
    assert "COPY --from=build /app/apps/web" not in final
    assert _before(final, "WORKDIR /app/apps/api", 'CMD ["node", "server.js"]')
    assert gen.warnings == []


def test_pnpm_workspace_member_installs_only_itself_and_its_workspace_dependencies() -> None:
    repo = FIXTURES / "mono-pnpm-turbo"
    gen = generate_dockerfile(_module(repo, "apps/server"), load_catalog(), repo_root=repo)
    assert gen.context == "."
    assert "COPY package.json pnpm-lock.yaml pnpm-workspace.yaml ./" in gen.content
    assert "pnpm install --frozen-lockfile --prod --filter @t/server..." in gen.content
    final = gen.content.split("\nFROM ")[-1]
    assert "./packages/ui" in final and "./packages/config" in final


def test_workspace_dependency_with_a_build_script_is_built_before_the_member(tmp_path: Path) -> None:
    (tmp_path / "package.json").write_text(
        json.dumps({"name": "root", "private": True, "workspaces": ["apps/*", "libs/*"]})
    )
    (tmp_path / "package-lock.json").write_text("{}")
    (tmp_path / "apps" / "api").mkdir(parents=True)
    (tmp_path / "libs" / "core").mkdir(parents=True)
    (tmp_path / "apps" / "api" / "package.json").write_text(
        json.dumps(
            {
                "name": "api",
                "scripts": {"build": "tsc", "start": "node dist/main.js"},
                "dependencies": {"core": "*"},
                "devDependencies": {"typescript": "5.6.3"},
            }
        )
    )
    (tmp_path / "libs" / "core" / "package.json").write_text(
        json.dumps({"name": "core", "main": "dist/index.js", "scripts": {"build": "tsc"}})
    )
    m = ModuleAnalysis(
        path="apps/api",
        name="api",
        language="node",
        package_manager="npm",
        build_command="npm run build",
        start_command="node dist/main.js",
        workspace_root=".",
        depends_on=["libs/core"],
    )
    text = generate_dockerfile(m, load_catalog(), repo_root=tmp_path).content
    assert "npm ci --workspace libs/core --workspace apps/api --include-workspace-root" in text
    assert _before(text, "WORKDIR /app/libs/core\nRUN npm run build", "WORKDIR /app/apps/api\nRUN npm run build")
    assert "npm ci --omit=dev --workspace apps/api" in text  # the build's dev tools do not reach the image
    assert "COPY --from=build /app/libs/core ./libs/core" in text


def test_without_the_repository_the_workspace_layout_is_inferred_and_said() -> None:
    m = ModuleAnalysis(
        path="services/web",
        name="@x/web",
        language="node",
        package_manager="pnpm",
        workspace_root=".",
        depends_on=["packages/lib"],
        start_command="node index.js",
    )
    gen = generate_dockerfile(m, load_catalog())
    assert gen.context == "." == build_context(m)
    assert "COPY package.json pnpm-lock.yaml pnpm-workspace.yaml ./" in gen.content
    assert "COPY packages/lib/package.json packages/lib/" in gen.content
    assert gen.warnings and "services/web is built from the workspace root" in gen.warnings[0]


@pytest.mark.parametrize(
    ("module", "context"),
    [
        (ModuleAnalysis(path=".", name="a", language="python", dependency_files=["requirements.txt"]), "."),
        (ModuleAnalysis(path="services/api", name="a", language="go"), "services/api"),
        (  # a member with its own lockfile and no sibling dependency stays self-contained
            ModuleAnalysis(
                path="apps/solo",
                name="solo",
                language="node",
                workspace_root=".",
                lockfile="package-lock.json",
                dependency_files=["package.json", "package-lock.json"],
            ),
            "apps/solo",
        ),
    ],
)
def test_modules_outside_a_workspace_build_from_their_own_folder(module: ModuleAnalysis, context: str) -> None:
    assert generate_dockerfile(module, load_catalog()).context == context == build_context(module)


def test_workspace_dockerignore_keeps_secrets_out_of_every_member_and_rebuilt_output_of_the_module() -> None:
    repo = FIXTURES / "mono-npm-workspaces"
    ignore = generate_dockerfile(_module(repo, "apps/web"), load_catalog(), repo_root=repo).dockerignore.splitlines()
    assert {"**/.env", "**/.npmrc", "**/node_modules", "!**/.env.example", "apps/web/dist"} <= set(ignore)
    assert "dist" not in ignore  # a sibling's committed dist is not dropped


def test_static_workspace_member_serves_its_own_build_output() -> None:
    repo = FIXTURES / "mono-npm-workspaces"
    text = generate_dockerfile(_module(repo, "apps/web"), load_catalog(), repo_root=repo).content
    assert "npm ci --workspace apps/web --include-workspace-root" in text
    assert "/app/apps/web/dist/" in text.split("\nFROM ")[-1]


def test_fix_that_regenerates_a_workspace_members_dockerfile_reports_the_context_it_needs() -> None:
    repo = FIXTURES / "mono-npm-workspaces"
    m = _module(repo, "apps/api")
    users = "FROM node:22-slim\nWORKDIR /app\nCOPY . .\nRUN npm install\nCMD node server.js\n"
    res = fix_dockerfile(
        users, BuildFailureInfo(message="something odd", log_tail="weird"), m, load_catalog(), context=repo / "apps/api"
    )
    assert res.changed and res.context == "."
    assert "COPY packages/shared/package.json packages/shared/" in res.content  # the repository was read


def test_nuxt_runtime_gets_only_the_self_contained_output() -> None:
    m = _module(FIXTURES / "node-nuxt", ".")
    final = generate_dockerfile(m, load_catalog()).content.split("\nFROM ")[-1]
    assert "COPY --from=build /app/.output ./.output" in final
    assert "node_modules" not in final and "COPY --from=build /app ./" not in final
    assert "HOST=0.0.0.0" in final and final.rstrip().endswith('CMD ["node", ".output/server/index.mjs"]')


def test_poetry_without_a_lockfile_installs_the_declared_constraints_without_poetry_lock() -> None:
    m = _module(FIXTURES / "py-poetry", ".")
    text = generate_dockerfile(m, load_catalog()).content
    assert "poetry lock" not in text and "poetry install" not in text
    assert "poetry-core" in text and "to_pep_508()" in text
    assert _before(text, "pip install --no-cache-dir -r /tmp/requirements.txt", "COPY . .")
    locked = m.model_copy(update={"dependency_files": ["pyproject.toml", "poetry.lock"], "lockfile": "poetry.lock"})
    assert "COPY pyproject.toml poetry.lock ./" in generate_dockerfile(locked, load_catalog()).content


def _probe(*present: str):  # type: ignore[no-untyped-def]
    return lambda ref: ref in present


def test_static_site_falls_back_to_busybox_httpd_as_non_root_only_when_nginx_is_missing() -> None:
    m = ModuleAnalysis(path=".", name="site", language="static")
    cat = load_catalog()
    nginx = cat.entries["static"].runtime_ref("22")
    res = cat.resolve("static", None, _probe("node:22-slim", "busybox:1.35"))
    assert res.runtime == "busybox:1.35" and res.warning and nginx in res.warning
    gen = generate_dockerfile(m, cat, probe=_probe("node:22-slim", "busybox:1.35"))
    assert gen.base_image == "busybox:1.35" and gen.user_uid == 10001
    assert "USER 10001:10001" in gen.content and "httpd -f -p" in gen.content and "COPY . /srv/" in gen.content
    assert gen.warnings == [res.warning]
    kept = generate_dockerfile(m, cat, probe=_probe("node:22-slim", "busybox:1.35", nginx))
    assert kept.base_image == nginx and kept.warnings == [] and "httpd" not in kept.content
