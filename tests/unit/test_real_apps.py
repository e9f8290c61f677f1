"""Real apps, first try: layouts met in public repositories that the tidy corpus did not show.

Every folder under tests/fixtures/realapps is analysed as its expected.json says (fields named
there only); the tests below check what the generated Dockerfile does with each case.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from containerkit.errors import NoDeployableModule
from containerkit.tools.analyze import analyze_repo
from containerkit.tools.analyze.models import ModuleAnalysis
from containerkit.tools.dockerfile import generate_dockerfile, load_catalog

REAL = Path(__file__).resolve().parent.parent / "fixtures" / "realapps"
CASES = sorted(p.name for p in REAL.iterdir() if (p / "expected.json").is_file())


def _module(name: str) -> ModuleAnalysis:
    return analyze_repo(REAL / name).primary()


def _dockerfile(name: str) -> str:
    return generate_dockerfile(_module(name), load_catalog()).content


@pytest.mark.parametrize("name", CASES)
def test_real_app_fixture_matches_golden(name: str) -> None:
    golden = json.loads((REAL / name / "expected.json").read_text())
    result = analyze_repo(REAL / name)
    got = {m.path: m.public_dict() for m in result.modules}
    assert sorted(got) == sorted(m["path"] for m in golden["modules"])
    for want in golden["modules"]:
        have = got[want["path"]]
        diff = {k: (have[k], v) for k, v in want.items() if have[k] != v}
        assert not diff, f"{name}:{want['path']} (got, expected): {diff}"


# -- 1. package.json without a start script ------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "command"),
    [
        ("node-main-no-start", "node src/server.js"),
        ("node-index-loads-server", "node index.js"),
        ("node-bin-entry", "node cli/start.js"),
        ("node-ts-no-start", "node dist/index.js"),
    ],
)
def test_package_without_start_script_runs_its_entry_file(name: str, command: str) -> None:
    m = _module(name)
    assert m.start_command == command and not m.is_library
    assert f"CMD {json.dumps(command.split())}" in _dockerfile(name)


def test_typescript_entry_is_run_from_the_build_output() -> None:
    text = _dockerfile("node-ts-no-start")
    assert "RUN npm run build" in text and 'CMD ["node", "dist/index.js"]' in text


def test_repo_with_only_a_library_is_a_typed_error_not_an_index_error() -> None:
    analysis = analyze_repo(REAL / "node-library-only")
    assert [m.is_library for m in analysis.modules] == [True]
    with pytest.raises(NoDeployableModule) as err:
        analysis.primary()
    assert err.value.code == "CK103" and "library" in err.value.message and "start" in err.value.hint


# -- 3. dev tools in start scripts, build steps, static output folders -------------------------


@pytest.mark.parametrize(
    ("name", "out"),
    [
        ("node-angular-ng-serve", "dist/shop/browser"),
        ("node-cra-start", "build"),
        ("node-vite-outdir", "web-dist"),
        ("node-next-export", "out"),
    ],
)
def test_dev_server_start_serves_the_build_output_read_from_the_config(name: str, out: str) -> None:
    m = _module(name)
    assert m.static_dir == out and m.start_command is None and m.build_command
    text = _dockerfile(name)
    assert f"COPY --from=build --chown=101:0 /app/{out}/ /usr/share/nginx/html/" in text
    assert f"test -f {out}/index.html" in text  # a build writing elsewhere fails on its own step


def test_next_dev_becomes_a_production_build_and_next_start() -> None:
    m = _module("node-next-dev-only")
    assert (m.build_command, m.start_command) == ("npx next build", "npx next start")
    text = _dockerfile("node-next-dev-only")
    assert "RUN npx next build" in text and 'CMD ["npx", "next", "start"]' in text


def test_next_start_without_next_build_gets_the_build_step() -> None:
    m = _module("node-next-start-no-build")
    assert m.build_command == "npm run build && npx next build"


def test_start_through_a_dev_dependency_keeps_dev_dependencies() -> None:
    m = _module("node-ts-node-devdep")
    assert m.dev_dependencies_at_runtime
    text = _dockerfile("node-ts-node-devdep")
    assert "--omit=dev" not in text and "--include=dev" in text  # NODE_ENV=production would drop them


def test_file_watcher_start_runs_the_file_with_node() -> None:
    m = _module("node-nodemon-start")
    assert m.start_command == "node server.js" and not m.dev_dependencies_at_runtime


def test_static_file_server_start_serves_the_committed_folder() -> None:
    m = _module("node-serve-folder")
    assert m.static_dir == "site" and m.start_command is None


# -- 4. package-manager versions ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "install"),
    [
        ("node-pnpm6-lock", "npm install -g pnpm@6 && pnpm install --frozen-lockfile"),
        ("node-pnpm8-lock", "npm install -g pnpm@8 && pnpm install --frozen-lockfile"),
        (
            "node-yarn-berry",
            "npm install -g --force @yarnpkg/cli-dist@3.6.4 && YARN_NODE_LINKER=node-modules yarn install",
        ),
        ("node-yarn4-lock", "npm install -g --force @yarnpkg/cli-dist@4 && YARN_NODE_LINKER=node-modules yarn install"),
    ],
)
def test_package_manager_version_from_the_lockfile_is_installed_with_npm(name: str, install: str) -> None:
    text = _dockerfile(name)
    assert install in text and "corepack" not in text


def test_yarn_berry_config_is_copied_before_the_install() -> None:
    text = _dockerfile("node-yarn-berry")
    assert "COPY package.json yarn.lock .yarnrc.yml ./" in text


def test_committed_yarn_release_is_used_as_it_is(tmp_path: Path) -> None:
    (tmp_path / ".yarn" / "releases").mkdir(parents=True)
    (tmp_path / ".yarn" / "releases" / "yarn-3.8.1.cjs").write_text("// yarn\n")
    (tmp_path / ".yarnrc.yml").write_text("yarnPath: .yarn/releases/yarn-3.8.1.cjs\n")
    (tmp_path / "yarn.lock").write_text("__metadata:\n  version: 6\n")
    (tmp_path / "package.json").write_text('{"name": "x", "scripts": {"start": "node s.js"}}')
    (tmp_path / "s.js").write_text("require('http').createServer().listen(process.env.PORT)\n")
    m = analyze_repo(tmp_path).primary()
    assert m.package_manager_version == "3.8.1"
    text = generate_dockerfile(m, load_catalog()).content
    assert "COPY .yarn/releases/yarn-3.8.1.cjs ./.yarn/releases/" in text
    assert "@yarnpkg/cli-dist" not in text  # any yarn runs the committed release
