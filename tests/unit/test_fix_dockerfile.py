"""Fixing mode on log tails taken from real failing builds and container starts on this machine:
the returned Dockerfile changes and addresses the named cause; an unfixable cause returns
``changed=False`` (so the orchestrator stops instead of rebuilding the same file)."""

from __future__ import annotations

from pathlib import Path

import pytest

from containerkit.tools.analyze.models import ModuleAnalysis
from containerkit.tools.diagnose import FailureEvidence, classify
from containerkit.tools.dockerfile import (
    BuildFailureInfo,
    classify_failure,
    fix_dockerfile,
    generate_dockerfile,
    load_catalog,
)

# -- log tails recorded from real builds (python:3.11-slim / node:22-slim, legacy builder) -------

PG_FAILURE = BuildFailureInfo(
    step="RUN pip install --no-cache-dir -r requirements.txt",
    step_number=6,
    exit_code=1,
    message="build failed at step 6/6 (RUN pip install --no-cache-dir -r requirements.txt): The command '/bin/sh -c pip install --no-cache-dir -r requirements.txt' returned a non-zero code: 1",
    log_tail=(
        " ---> 929a3a3e7f85\n"
        "Step 5/6 : COPY requirements.txt ./\n"
        " ---> ff8b2f6828e0\n"
        "Step 6/6 : RUN pip install --no-cache-dir -r requirements.txt\n"
        " ---> Running in b38d5102ac35\n"
        "Collecting psycopg2==2.9.9\n"
        "  Downloading psycopg2-2.9.9.tar.gz (384 kB)\n"
        "     ━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━ 384.9/384.9 kB 262.2 MB/s eta 0:00:00\n"
        "  Preparing metadata (setup.py): started\n"
        "  Preparing metadata (setup.py): finished with status 'error'\n"
        "\x1b[91m  error: subprocess-exited-with-error\n"
        "  \u00d7 python setup.py egg_info did not run successfully.\n"
        "  │ exit code: 1\n"
        "  ╰─> [23 lines of output]\n"
        "      running egg_info\n"
        "      creating /tmp/pip-pip-egg-info-d_pcgib8/psycopg2.egg-info\n"
        "      writing /tmp/pip-pip-egg-info-d_pcgib8/psycopg2.egg-info/PKG-INFO\n"
        "      writing dependency_links to /tmp/pip-pip-egg-info-d_pcgib8/psycopg2.egg-info/dependency_links.txt\n"
        "      writing top-level names to /tmp/pip-pip-egg-info-d_pcgib8/psycopg2.egg-info/top_level.txt\n"
        "      writing manifest file '/tmp/pip-pip-egg-info-d_pcgib8/psycopg2.egg-info/SOURCES.txt'\n"
        "      Error: pg_config executable not found.\n"
        "      pg_config is required to build psycopg2 from source.  Please add the directory\n"
        "      containing pg_config to the $PATH or specify the full executable path with the\n"
        "      option:\n"
        "          python setup.py build_ext --pg-config /path/to/pg_config build ...\n"
        "      or with the pg_config option in 'setup.cfg'.\n"
        "      If you prefer to avoid building psycopg2 from source, please install the PyPI\n"
        "      'psycopg2-binary' package instead.\n"
        "      For further information please check the 'doc/src/install.rst' file (also at\n"
        "      <https://www.psycopg.org/docs/install.html>).\n"
        "      [end of output]\n"
        "  note: This error originates from a subprocess, and is likely not a problem with pip.\n"
        "error: metadata-generation-failed\n"
        "\u00d7 Encountered error while generating package metadata.\n"
        "╰─> See above for output.\n"
        "note: This is an issue with the package mentioned above, not pip.\n"
        "hint: See above for details.\n"
        "\x1b[0m\n"
        "Removing intermediate container b38d5102ac35\n"
        "The command '/bin/sh -c pip install --no-cache-dir -r requirements.txt' returned a non-zero code: 1\n"
    ),
)

VER_FAILURE = BuildFailureInfo(
    step="RUN pip install --no-cache-dir .",
    step_number=6,
    exit_code=1,
    message="build failed at step 6/6 (RUN pip install --no-cache-dir .): The command '/bin/sh -c pip install --no-cache-dir .' returned a non-zero code: 1",
    log_tail=(
        "Step 1/6 : FROM python:3.11-slim\n"
        " ---> d970bd10ed0d\n"
        "Step 2/6 : WORKDIR /app\n"
        " ---> Using cache\n"
        " ---> c72b02124265\n"
        "Step 3/6 : RUN python -m venv /opt/venv\n"
        " ---> Running in 170108bad86b\n"
        "Removing intermediate container 170108bad86b\n"
        " ---> 93bc5c8ea5e5\n"
        "Step 4/6 : ENV PATH=/opt/venv/bin:$PATH\n"
        " ---> Running in 1068218e02c3\n"
        "Removing intermediate container 1068218e02c3\n"
        " ---> cdb6a6d9bc05\n"
        "Step 5/6 : COPY . .\n"
        " ---> 3cb366fc0b49\n"
        "Step 6/6 : RUN pip install --no-cache-dir .\n"
        " ---> Running in 29e2f325e3d2\n"
        "Processing /app\n"
        "  Installing build dependencies: started\n"
        "  Installing build dependencies: finished with status 'done'\n"
        "  Getting requirements to build wheel: started\n"
        "  Getting requirements to build wheel: finished with status 'done'\n"
        "  Preparing metadata (pyproject.toml): started\n"
        "  Preparing metadata (pyproject.toml): finished with status 'done'\n"
        "\x1b[91mERROR: Package 'needs312' requires a different Python: 3.11.2 not in '>=3.12'\n"
        "\x1b[0m\n"
        "Removing intermediate container 29e2f325e3d2\n"
        "The command '/bin/sh -c pip install --no-cache-dir .' returned a non-zero code: 1\n"
    ),
)

NPMCI_FAILURE = BuildFailureInfo(
    step="RUN npm ci --omit=dev",
    step_number=4,
    exit_code=1,
    message="build failed at step 4/4 (RUN npm ci --omit=dev): The command '/bin/sh -c npm ci --omit=dev' returned a non-zero code: 1",
    log_tail=(
        "Step 1/4 : FROM node:22-slim\n"
        " ---> f5ecea74f09d\n"
        "Step 2/4 : WORKDIR /app\n"
        " ---> Using cache\n"
        " ---> 212ab3fd3cf0\n"
        "Step 3/4 : COPY package.json package-lock.json ./\n"
        " ---> 458ae9e88780\n"
        "Step 4/4 : RUN npm ci --omit=dev\n"
        " ---> Running in 9cd25c0f466c\n"
        "\x1b[91mnpm error code EUSAGE\n"
        "npm error\n"
        "npm error `npm ci` can only install packages when your package.json and package-lock.json or npm-shrinkwrap.json are in sync. Please update your lock file with `npm install` before continuing.\n"
        "npm error\n"
        "npm error Missing: ms@2.1.3 from lock file\n"
        "npm error\n"
        "npm error Clean install a project\n"
        "npm error\n"
        "npm error Usage:\n"
        "npm error npm ci\n"
        "npm error\n"
        "npm error Options:\n"
        "npm error [--install-strategy <hoisted|nested|shallow|linked>] [--legacy-bundling]\n"
        "npm error [--global-style] [--omit <dev|optional|peer> [--omit <dev|optional|peer> ...]]\n"
        "npm error [--include <prod|dev|optional|peer> [--include <prod|dev|optional|peer> ...]]\n"
        "npm error [--strict-peer-deps] [--foreground-scripts] [--ignore-scripts] [--no-audit]\n"
        "npm error [--no-bin-links] [--no-fund] [--dry-run]\n"
        "npm error [-w|--workspace <workspace-name> [-w|--workspace <workspace-name> ...]]\n"
        "npm error [-ws|--workspaces] [--include-workspace-root] [--install-links]\n"
        "npm error\n"
        "npm error aliases: clean-install, ic, install-clean, isntall-clean\n"
        "npm error\n"
        'npm error Run "npm help ci" for more info\n'
        "npm error A complete log of this run can be found in: /root/.npm/_logs/2026-11-21T12_12_21_149Z-debug-0.log\n"
        "\x1b[0m\n"
        "Removing intermediate container 9cd25c0f466c\n"
        "The command '/bin/sh -c npm ci --omit=dev' returned a non-zero code: 1\n"
    ),
)

# -- recorded from real container starts -----------------------------------------------------------

NODE_NO_DIST = BuildFailureInfo(
    message="container exited with code 1 before answering",
    log_tail=(
        "node:internal/modules/cjs/loader:1433\n  throw err;\n  ^\n\n"
        "Error: Cannot find module '/app/dist/main.js'\n"
        "    at Function._resolveFilename (node:internal/modules/cjs/loader:1430:15)\n"
        "  code: 'MODULE_NOT_FOUND',\n  requireStack: []\n}\n\nNode.js v22.23.3\n"
    ),
)
PY_NO_MODULE = BuildFailureInfo(
    message="container exited with code 1 before answering",
    log_tail=(
        '  File "<frozen importlib._bootstrap>", line 1142, in _find_and_load_unlocked\n'
        "ModuleNotFoundError: No module named 'app'\n"
    ),
)
NO_GUNICORN = BuildFailureInfo(
    message=(
        "failed to create shim task: OCI runtime create failed: runc create failed: unable to start container "
        'process: exec: "gunicorn": executable file not found in $PATH: unknown'
    ),
)
NO_SUCH_DIST = BuildFailureInfo(
    step="RUN pip install --no-cache-dir -r requirements.txt",
    exit_code=1,
    message="build failed at step 9/16",
    log_tail=(
        "ERROR: Could not find a version that satisfies the requirement containerkit-no-such-package-xyz==9.9.9"
        " (from versions: none)\n"
        "ERROR: No matching distribution found for containerkit-no-such-package-xyz==9.9.9\n"
    ),
)


@pytest.fixture(scope="module")
def catalog():  # type: ignore[no-untyped-def]
    return load_catalog()


def _py(**kw: object) -> ModuleAnalysis:
    base: dict[str, object] = {
        "path": ".",
        "name": "demo",
        "language": "python",
        "package_manager": "pip",
        "dependency_files": ["requirements.txt"],
        "start_command": "python app.py",
        "entrypoint": "app.py",
    }
    return ModuleAnalysis.model_validate({**base, **kw})


def _node(**kw: object) -> ModuleAnalysis:
    base: dict[str, object] = {
        "path": ".",
        "name": "demo",
        "language": "node",
        "package_manager": "npm",
        "lockfile": "package-lock.json",
        "dependency_files": ["package.json", "package-lock.json"],
        "start_command": "node dist/main.js",
    }
    return ModuleAnalysis.model_validate({**base, **kw})


def test_missing_pg_config_installs_libpq_dev_in_the_failing_stage_and_libpq_at_run_time(catalog) -> None:  # type: ignore[no-untyped-def]
    m = _py(dependencies=["psycopg2"])
    before = generate_dockerfile(m, catalog).content
    cls = classify_failure(PG_FAILURE)
    assert cls.category == "native_build" and "libpq-dev" in cls.packages
    res = fix_dockerfile(before, PG_FAILURE, m, catalog)
    assert res.changed and res.kind == "native_build"
    build, runtime = res.content.split("\n\nFROM ")
    assert "apt-get install -y --no-install-recommends gcc libpq-dev" in build
    assert "libpq5" in runtime and "libpq-dev" not in runtime  # compilers stay in the build stage
    # the same failure again: nothing new to install -> no change, no endless loop
    again = fix_dockerfile(res.content, PG_FAILURE, m, catalog)
    assert not again.changed


def test_missing_package_fix_keeps_a_users_dockerfile_and_its_other_lines(catalog) -> None:  # type: ignore[no-untyped-def]
    mine = (
        "FROM python:3.11-slim\nWORKDIR /app\nRUN python -m venv /opt/venv\nENV PATH=/opt/venv/bin:$PATH\n"
        "COPY requirements.txt ./\nRUN pip install --no-cache-dir -r requirements.txt\nCOPY . .\n"
        'CMD ["python", "app.py"]\n'
    )
    res = fix_dockerfile(mine, PG_FAILURE, _py(), catalog)
    assert res.changed
    assert res.content.splitlines()[1].startswith("RUN apt-get update")
    assert all(line in res.content for line in mine.splitlines())


def test_alpine_base_gets_apk_names(catalog) -> None:  # type: ignore[no-untyped-def]
    mine = "FROM python:3.11-alpine\nCOPY requirements.txt .\nRUN pip install --no-cache-dir -r requirements.txt\n"
    res = fix_dockerfile(mine, PG_FAILURE, _py(), catalog)
    assert "RUN apk add --no-cache gcc postgresql-dev" in res.content


def test_requires_a_different_python_moves_to_the_version_the_error_names(catalog) -> None:  # type: ignore[no-untyped-def]
    m = _py()
    before = generate_dockerfile(m, catalog).content
    cls = classify_failure(VER_FAILURE)
    assert cls.category == "runtime_version" and cls.subject == ">=3.12"
    res = fix_dockerfile(before, VER_FAILURE, m, catalog)
    assert res.changed
    assert "FROM python:3.12-slim AS build" in res.content and "\nFROM python:3.12-slim\n" in res.content
    assert "3.11" not in res.content.split("\n", 1)[1]


def test_wanted_python_that_is_not_available_is_not_a_fix(catalog) -> None:  # type: ignore[no-untyped-def]
    before = generate_dockerfile(_py(), catalog).content
    only_311 = lambda ref: "3.11" in ref  # noqa: E731 - a probe: only 3.11 images exist
    res = fix_dockerfile(before, VER_FAILURE, _py(), catalog, probe=only_311)
    assert not res.changed and "3.12" in res.reason


def test_node_engine_mismatch_moves_node_major(catalog) -> None:  # type: ignore[no-untyped-def]
    m = _node(start_command="node server.js")
    before = generate_dockerfile(m, catalog).content
    fail = BuildFailureInfo(
        step="RUN npm ci --omit=dev && npm cache clean --force",
        log_tail='error some-lib@3.0.0: The engine "node" is incompatible with this module. Expected version ">=24". Got "22.23.3"\n',
    )
    res = fix_dockerfile(before, fail, m, catalog)
    assert res.changed and "FROM node:24-slim" in res.content and "node:22" not in res.content


def test_npm_ci_out_of_sync_installs_without_the_lockfile_check(catalog) -> None:  # type: ignore[no-untyped-def]
    m = _node(start_command="node server.js")
    before = generate_dockerfile(m, catalog).content
    assert classify_failure(NPMCI_FAILURE).category == "lockfile_out_of_sync"
    res = fix_dockerfile(before, NPMCI_FAILURE, m, catalog)
    assert res.changed and "npm ci" not in res.content and "npm install --no-audit --no-fund --omit=dev" in res.content
    assert not fix_dockerfile(res.content, NPMCI_FAILURE, m, catalog).changed


def test_poetry_lock_out_of_date_relocks_before_install(catalog) -> None:  # type: ignore[no-untyped-def]
    m = _py(package_manager="poetry", lockfile="poetry.lock", dependency_files=["pyproject.toml", "poetry.lock"])
    before = generate_dockerfile(m, catalog).content
    fail = BuildFailureInfo(
        log_tail="pyproject.toml changed significantly since poetry.lock was last generated. Run `poetry lock` to fix the lock file.\n"
    )
    res = fix_dockerfile(before, fail, m, catalog)
    assert res.changed and "/opt/tools/bin/poetry lock && /opt/tools/bin/poetry install" in res.content


def test_missing_dist_at_start_adds_a_build_stage(catalog, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    m = _node()
    before = generate_dockerfile(m, catalog).content
    assert "AS build" not in before
    cls = classify_failure(NODE_NO_DIST)
    assert cls.category == "missing_build_step" and cls.subject == "/app/dist/main.js"
    (tmp_path / "package.json").write_text('{"scripts": {"build": "tsc", "start": "node dist/main.js"}}')
    res = fix_dockerfile(before, NODE_NO_DIST, m, catalog, context=tmp_path)
    assert res.changed and "AS build" in res.content and "RUN npm run build" in res.content
    assert "COPY --from=build /app ./" in res.content


def test_module_not_found_at_start_switches_to_an_entry_point_that_exists(catalog, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "main.py").write_text("print('hi')\n")
    m = _py(start_command="python app.py", entrypoint=None)
    before = generate_dockerfile(m, catalog).content.replace('CMD ["python", "app.py"]', 'CMD ["python", "-m", "app"]')
    res = fix_dockerfile(
        before,
        PY_NO_MODULE,
        m,
        catalog,
        context=tmp_path,
        diagnosis=classify(
            FailureEvidence(stage="verify", log_tail=PY_NO_MODULE.log_tail, start_command="python -m app")
        ),
    )
    assert res.changed and res.kind == "wrong_start_command"
    assert res.content.rstrip().splitlines()[-1] == 'CMD ["python", "main.py"]'


def test_server_binary_missing_at_start_is_installed(catalog) -> None:  # type: ignore[no-untyped-def]
    m = _py(framework="flask", start_command="gunicorn app:app")
    before = generate_dockerfile(m, catalog).content
    res = fix_dockerfile(before, NO_GUNICORN, m, catalog, diagnosis=classify_failure(NO_GUNICORN, "verify"))
    build = res.content.split("\n\nFROM ")[0]
    assert res.changed and "RUN pip install --no-cache-dir gunicorn" in build
    # pip still exists there: the step that takes it out of the runtime venv comes after
    assert build.index("RUN pip install --no-cache-dir gunicorn") < build.index("pip uninstall")


def test_base_image_missing_falls_back_to_the_closest_available(catalog) -> None:  # type: ignore[no-untyped-def]
    m = _py(language_version="3.12")
    before = generate_dockerfile(m, catalog).content
    fail = BuildFailureInfo(message="base image python:3.12-slim is not available locally and pulling is disabled")
    probe = lambda ref: ref == "python:3.11-slim"  # noqa: E731
    res = fix_dockerfile(before, fail, m, catalog, probe=probe)
    assert res.changed and "python:3.12" not in res.content and res.content.count("FROM python:3.11-slim") == 2
    nothing = fix_dockerfile(before, fail, m, catalog, probe=lambda ref: False)
    assert not nothing.changed


def test_dependency_that_does_not_exist_is_not_fixable(catalog) -> None:  # type: ignore[no-untyped-def]
    m = _py()
    before = generate_dockerfile(m, catalog).content
    cls = classify_failure(NO_SUCH_DIST)
    assert cls.category == "package_not_found" and cls.subject == "containerkit-no-such-package-xyz==9.9.9"
    res = fix_dockerfile(before, NO_SUCH_DIST, m, catalog)
    assert not res.changed and res.content == before and "package_not_found" in res.reason


def test_unknown_failure_of_a_users_dockerfile_offers_the_generated_one_but_never_the_same_file(catalog) -> None:  # type: ignore[no-untyped-def]
    mine = 'FROM python:3.11-slim\nCOPY . /app\nRUN exit 3\nCMD ["python", "/app/app.py"]\n'
    fail = BuildFailureInfo(
        step="RUN exit 3", exit_code=3, message="The command '/bin/sh -c exit 3' returned a non-zero code: 3"
    )
    res = fix_dockerfile(mine, fail, _py(), catalog)
    assert res.changed and "Generated by containerkit" in res.content
    again = fix_dockerfile(res.content, fail, _py(), catalog)
    assert not again.changed
