"""Real apps, first try: layouts met in public repositories that the tidy corpus did not show.

Every folder under tests/fixtures/realapps is analysed as its expected.json says (fields named
there only); the tests below check what the generated Dockerfile does with each case.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from containerkit.errors import ContainerKitError, NoDeployableModule
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


@pytest.mark.parametrize(
    ("name", "command"),
    [("node-nest-cli-start", "node dist/main.js"), ("node-nx-serve", "node dist/gateway/main.js")],
)
def test_framework_cli_start_runs_the_built_server(name: str, command: str) -> None:
    m = _module(name)
    assert (m.start_command, m.build_command, m.dev_dependencies_at_runtime) == (command, "npm run build", False)


def test_ts_node_start_with_a_compiling_build_runs_the_compiled_file() -> None:
    m = _module("node-ts-node-with-build")
    assert (m.start_command, m.dev_dependencies_at_runtime) == ("node dist/index.js", False)
    assert "--omit=dev" in _dockerfile("node-ts-node-with-build") or "npm prune" in _dockerfile(
        "node-ts-node-with-build"
    )


def test_start_through_a_dev_dependency_keeps_dev_dependencies() -> None:
    m = _module("node-ts-node-devdep")
    assert m.dev_dependencies_at_runtime
    text = _dockerfile("node-ts-node-devdep")
    assert "--omit=dev" not in text and "--include=dev" in text  # NODE_ENV=production would drop them


def test_start_script_naming_a_missing_file_runs_the_entry_that_exists() -> None:
    m = _module("node-start-file-renamed")
    assert m.start_command == "node app.js"
    assert any("server.js, which does not exist" in e.says for e in m.evidence)


def test_process_manager_start_runs_the_script_its_process_file_names() -> None:
    assert _module("node-pm2-process-file").start_command == "node lib/main.js"


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


# -- 2. apps without a manifest ------------------------------------------------------------------


def test_lone_python_script_with_a_version_file_runs_and_installs_nothing() -> None:
    m = _module("py-lone-main")
    assert (m.language, m.start_command, m.dependency_files) == ("python", "python main.py", [])
    text = _dockerfile("py-lone-main")
    assert "requirements" not in text and "pip install" not in text
    assert 'CMD ["python", "main.py"]' in text


def test_lone_flask_app_installs_what_it_imports() -> None:
    m = _module("py-lone-flask")
    assert m.dependencies == ["flask"] and m.framework == "flask"
    assert "RUN pip install --no-cache-dir flask" in _dockerfile("py-lone-flask")


def test_lone_main_go_gets_its_module_created_in_the_image() -> None:
    m = _module("go-lone-main")
    assert (m.language, m.dependency_files) == ("go", [])
    text = _dockerfile("go-lone-main")
    assert "COPY go.mod" not in text
    assert "COPY . .\nRUN go mod init go-lone-main && go mod tidy\n" in text


def test_deno_app_whose_only_file_is_src_index_ts() -> None:
    m = _module("deno-lone-index")
    assert m.language == "deno" and m.entrypoint == "src/index.ts"
    text = _dockerfile("deno-lone-index")
    assert text.splitlines()[1].startswith("FROM denoland/deno:")
    assert "RUN deno cache src/index.ts" in text and "deno install" not in text


def test_lone_script_beside_a_real_module_is_not_the_app() -> None:
    analysis = analyze_repo(REAL / "lone-script-beside-module")
    assert [m.path for m in analysis.modules] == ["api"]


# -- 6. native packages ---------------------------------------------------------------------------


def test_python_native_packages_build_only_what_has_no_wheel() -> None:
    m = _module("py-native-pins")
    # psycopg[c] and mysqlclient always build; lxml 4.9.1 has no wheel for 3.12; pyodbc 5.2.0 has one
    assert {"libpq-dev", "default-libmysqlclient-dev", "libxml2-dev", "gcc"} <= set(m.build_packages)
    assert "unixodbc-dev" not in m.build_packages and "unixodbc" in m.system_packages
    assert {"libpq5", "libmariadb3", "libxslt1.1"} <= set(m.system_packages)
    text = _dockerfile("py-native-pins")
    build, final = text.split("\n\nFROM ")
    assert "libpq-dev" in build and "libpq-dev" not in final
    assert "libpq5" in final and "libmariadb3" in final


def test_wheel_rule_follows_the_target_python() -> None:
    from containerkit.tools.analyze.native import native_needs

    on_311 = native_needs("python", ["lxml", "pillow"], {"lxml": "4.9.2", "pillow": "10.0.0"}, target="3.11")
    assert on_311.build == []  # both have cp311 wheels
    on_313 = native_needs("python", ["lxml", "pillow"], {"lxml": "4.9.2", "pillow": "10.0.0"}, target="3.13")
    assert {"libxml2-dev", "libjpeg62-turbo-dev"} <= set(on_313.build)
    assert native_needs("python", ["lxml"], {}, target="3.13").build == []  # unpinned: a wheel
    assert native_needs("python", ["psycopg2-binary"], {}).build == []
    old_binary = native_needs("python", ["psycopg2-binary"], {"psycopg2-binary": "2.9.3"}, target="3.11")
    assert old_binary.build == ["gcc", "libpq-dev"] and old_binary.runtime == ["libpq5"]  # no cp311 wheel


def test_generator_adds_the_packages_the_chosen_python_needs() -> None:
    m = ModuleAnalysis(
        path=".",
        name="x",
        language="python",
        package_manager="pip",
        dependency_files=["requirements.txt"],
        dependencies=["lxml"],
        pins={"lxml": "5.2.2"},
        version_constraints=["requires-python: >=3.13,<3.14"],
        start_command="python app.py",
    )
    text = generate_dockerfile(m, load_catalog()).content
    assert "FROM python:3.13-slim AS build" in text
    assert "libxml2-dev" in text.split("\n\nFROM ")[0]  # lxml 5.2 has no cp313 wheel


def test_node_native_addons_by_version() -> None:
    old, new = _module("node-native-old"), _module("node-native-new")
    assert {"python3", "make", "g++", "libvips-dev", "libcairo2-dev"} <= set(old.build_packages)
    assert new.build_packages == [] and new.system_packages == []
    text = _dockerfile("node-native-old")
    assert "FROM node:22-slim AS deps" in text and "libcairo2-dev" in text.split("\n\nFROM ")[0]


# -- 7. runtime versions ----------------------------------------------------------------------------


def _probe(*available: str):  # type: ignore[no-untyped-def]
    return lambda ref: ref in available


def test_newest_available_python_inside_requires_python_is_used() -> None:
    m = _module("py-requires-312")
    probe = _probe("python:3.11-slim", "python:3.13-slim")
    gen = generate_dockerfile(m, load_catalog(), probe=probe)
    assert "FROM python:3.13-slim AS build" in gen.content and gen.warnings == []


def test_required_python_that_no_image_has_is_a_typed_error_before_building() -> None:
    from containerkit.tools.dockerfile._versions import RuntimeVersionUnavailable

    m = _module("py-requires-312")
    with pytest.raises(RuntimeVersionUnavailable) as err:
        generate_dockerfile(m, load_catalog(), probe=_probe("python:3.11-slim"))
    e = err.value
    assert e.code == "CK203"
    assert ">=3.12 (requires-python)" in e.message and "python:3.12-slim" in e.message
    assert "available: python 3.11" in e.message
    assert "--base-image" in e.hint and "[base_images.python]" in e.hint


def test_node_engines_pick_the_matching_major() -> None:
    m = _module("node-engines-18")
    gen = generate_dockerfile(m, load_catalog(), probe=_probe("node:18-slim", "node:22-slim"))
    assert "FROM node:18-slim" in gen.content
    with pytest.raises(ContainerKitError, match=r"18\.x \(engines\.node\)"):
        generate_dockerfile(m, load_catalog(), probe=_probe("node:22-slim"))


def test_runtime_the_catalog_does_not_know_names_what_it_has() -> None:
    with pytest.raises(ContainerKitError) as err:
        generate_dockerfile(_module("node-engines-16"), load_catalog())
    assert "^16.14 (engines.node)" in err.value.message and "24, 22, 20, 18" in err.value.message


def test_developer_pin_is_a_preference_closest_available_with_a_warning() -> None:
    m = ModuleAnalysis(
        path=".",
        name="x",
        language="python",
        dependency_files=["requirements.txt"],
        version_constraints=[".python-version: 3.12", "requires-python: >=3.10"],
        start_command="python app.py",
    )
    gen = generate_dockerfile(m, load_catalog(), probe=_probe("python:3.11-slim", "python:3.13-slim"))
    # equally close: the older one, for which the dependencies pinned with 3.12 have wheels
    assert "FROM python:3.11-slim AS build" in gen.content
    assert gen.warnings and "3.12 (.python-version)" in gen.warnings[0] and "closest" in gen.warnings[0]
    only_newer = generate_dockerfile(m, load_catalog(), probe=_probe("python:3.13-slim"))
    assert "FROM python:3.13-slim AS build" in only_newer.content


def test_base_image_option_skips_the_version_check() -> None:
    m = _module("py-requires-312")
    gen = generate_dockerfile(m, load_catalog(override="corp/python:custom"), probe=_probe("corp/python:custom"))
    assert "FROM corp/python:custom" in gen.content


# -- 5. start commands checked against the code, ports from the code ------------------------------


@pytest.mark.parametrize(
    ("name", "command", "port"),
    [
        ("py-gunicorn-app-elsewhere", "gunicorn web.server:application", 5000),
        ("py-gunicorn-no-app-object", "python main.py", 8000),
        ("py-fastapi-app-elsewhere", "uvicorn api.routes:api --host 0.0.0.0 --port ${PORT:-8001}", 8001),
        ("py-flask-run-localhost", "flask --app app:app run --host 0.0.0.0 --port ${PORT:-5005}", 5005),
        ("node-hardcoded-port", "node src/app.js", 5005),
        ("py-factory-module", "gunicorn wsgi_entry:server", 5000),  # server = create_app(...)
    ],
)
def test_start_command_names_an_object_the_code_defines(name: str, command: str, port: int) -> None:
    m = _module(name)
    assert (m.start_command, m.port) == (command, port)
    assert f"EXPOSE {port}" in _dockerfile(name)


def test_database_port_in_a_config_file_is_not_the_port_served() -> None:
    m = _module("node-hardcoded-port")
    assert m.port == 5005 and not any("5432" in e.says for e in m.evidence)


def test_the_evidence_says_where_the_app_object_was_found() -> None:
    m = _module("py-gunicorn-app-elsewhere")
    assert any(e.file == "web/server.py" and "web.server:application" in e.says for e in m.evidence)


# -- 8. image names -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("module_name", "path", "repo", "image"),
    [
        ("python", ".", "/src/invoice-tool", "invoice-tool"),  # a folder named after the language
        ("python", "python", "/src/awesome", "awesome-python"),
        ("web", "web", "/src/shop", "shop-web"),
        ("@acme/orders-api", "services/orders", "/src/acme", "orders-api"),
        ("@t/server", "apps/server", "/src/mono", "mono-server"),
        ("node", ".", "/src/node", "node-app"),  # never a base image's own name
        ("ticket-desk", ".", "/src/checkout", "ticket-desk"),
    ],
)
def test_image_name_is_the_projects_never_a_base_image_or_generic_folder(
    module_name: str, path: str, repo: str, image: str
) -> None:
    from containerkit.tools.analyze.naming import image_name

    assert image_name(module_name, path, repo) == image


def test_run_tags_the_image_with_the_qualified_name(tmp_path: Path) -> None:
    from containerkit.agents._common import local_image_ref
    from containerkit.state import RunOptions, Session
    from containerkit.tools.analyze.models import RepoAnalysis

    repo = tmp_path / "billing-portal"
    (repo / "web").mkdir(parents=True)
    (repo / "web" / "app.py").write_text("import os\nif __name__ == '__main__':\n    print(os.environ)\n")
    (repo / "web" / "requirements.txt").write_text("flask\n")
    analysis = analyze_repo(repo)
    module = analysis.primary()
    assert module.name == "web"
    state = Session(session_id="s1", repo_path=str(repo), options=RunOptions(), analysis=analysis)
    assert isinstance(analysis, RepoAnalysis)
    assert local_image_ref(state, module).split(":")[0] == "billing-portal-web"


def test_start_chaining_commands_is_read_to_its_last_command() -> None:
    m = _module("node-start-chain-serve")  # node banner.js; serve -s site-out
    assert (m.static_dir, m.start_command) == ("site-out", None)


def test_sveltekit_with_the_node_adapter_runs_its_build() -> None:
    m = _module("node-sveltekit-adapter-node")
    assert (m.start_command, m.build_command, m.static_dir) == ("node build", "npm run build", None)


def test_manifest_with_a_byte_order_mark_is_read() -> None:
    assert _module("node-bom-manifest").name == "windows-made"


def test_static_site_version_is_checked_on_the_build_image_only() -> None:
    m = _module("node-vite-outdir").model_copy(update={"version_constraints": [".nvmrc: 20"]})
    gen = generate_dockerfile(m, load_catalog(), probe=_probe("node:20-slim", "busybox:1.35"))
    assert "FROM node:20-slim AS build" in gen.content and "FROM busybox:1.35" in gen.content


def test_build_output_the_start_command_runs_is_checked_after_the_build() -> None:
    text = _dockerfile("node-ts-no-start")
    assert "RUN npm run build \\\n && { test -f dist/index.js || { echo 'the build wrote no dist/index.js" in text


def test_a_manifest_wins_over_a_lone_source_file_in_the_same_folder(tmp_path: Path) -> None:
    (tmp_path / "package.json").write_text('{"name": "web-ui", "scripts": {"start": "node server.js"}}')
    (tmp_path / "server.js").write_text("require('http').createServer().listen(process.env.PORT)\n")
    (tmp_path / "main.go").write_text("package main\n\nfunc main() {}\n")
    assert [(m.language, m.start_command) for m in analyze_repo(tmp_path).modules] == [("node", "node server.js")]


def test_native_node_build_uses_the_images_node_headers() -> None:
    text = _dockerfile("node-bcrypt-native")
    deps = text.split("\n\nFROM ")[0]
    assert "apt-get install -y --no-install-recommends g++ make python3" in deps
    assert "export npm_config_nodedir=/usr/local; fi \\\n && npm install" in deps  # no nodejs.org download


def test_prisma_client_is_generated_in_the_build_stage() -> None:
    m = _module("node-prisma-client")
    assert m.build_command == "npx prisma generate" and m.start_command == "node index.js"
    assert "RUN npx prisma generate" in _dockerfile("node-prisma-client")


def test_servers_in_templates_or_tests_do_not_make_a_cli_package_an_app(tmp_path: Path) -> None:
    (tmp_path / "package.json").write_text('{"name": "scaffold-cli", "main": "./index.js", "bin": "./index.js"}')
    (tmp_path / "index.js").write_text("#!/usr/bin/env node\nconsole.log(process.argv)\n")
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "server.js").write_text("require('http').createServer().listen(3000)\n")
    assert analyze_repo(tmp_path).modules[0].is_library


def test_django_static_root_is_collected_in_the_image() -> None:
    m = _module("py-django-collectstatic")
    assert m.build_command == "python manage.py collectstatic --noinput"
    final = _dockerfile("py-django-collectstatic").split("\n\nFROM ")[1]
    assert final.index("COPY . .") < final.index("RUN python manage.py collectstatic --noinput") < final.index("USER ")


def test_install_lifecycle_that_builds_gets_the_source_before_the_install() -> None:
    m = _module("node-prepare-builds")
    assert m.source_before_install
    build = _dockerfile("node-prepare-builds").split("\n\nFROM ")[0]
    assert build.index("COPY . .") < build.index("RUN npm install") and build.count("COPY . .") == 1
    assert not _module("node-main-no-start").source_before_install


def test_poetry_lock_becomes_hash_checked_pip_requirements_without_dev_group() -> None:
    m = _module("py-poetry-lock")
    gen = generate_dockerfile(m, load_catalog(), repo_root=REAL / "py-poetry-lock", lock_requirements=True)
    (name, text), *_ = gen.files.items()
    assert text.startswith("# generated by containerkit from poetry.lock") and "--require-hashes" in text
    assert "bottle==0.13.2" in text and "pytest" not in text  # the dev group stays out
    assert f"pip install --no-cache-dir --no-deps -r {name}" in gen.content
    assert "poetry" not in gen.content.split("\n", 1)[1].lower()  # no packaging tool in the image


def test_a_users_file_named_like_the_translated_lock_is_never_overwritten(tmp_path: Path) -> None:
    from containerkit.agents.analyze import _write_context_files

    files = {".ck-requirements.lock.txt": "# generated by containerkit from poetry.lock\nbottle==0.13.2\n"}
    assert _write_context_files(tmp_path, ".", files) == [".ck-requirements.lock.txt"]
    (tmp_path / ".ck-requirements.lock.txt").write_text("bottle\n")  # now the user's own
    assert _write_context_files(tmp_path, ".", files) is None
    assert (tmp_path / ".ck-requirements.lock.txt").read_text() == "bottle\n"
