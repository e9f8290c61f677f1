"""The failure taxonomy: a category only from evidence, with the lines that decided it."""

from __future__ import annotations

import pytest

from containerkit.tools.diagnose import CATEGORIES, FailureEvidence, classify, runtime_package_for

# (stage, log excerpt as real tools print it, category, subject or None)
CASES = [
    (
        "build",
        "  Error: pg_config executable not found.\n  ERROR: Failed building wheel for psycopg2",
        "native_build",
        None,
    ),
    ("build", "gyp ERR! find Python \ngyp ERR! configure error", "native_build", None),
    ("build", "      error: command 'gcc' failed: No such file or directory", "native_build", None),
    ("build", "  ERROR: Failed building wheel for numpy\nerror: subprocess-exited-with-error", "native_build", "numpy"),
    (
        "build",
        "ERROR: No matching distribution found for flask-nonexistent==9.9",
        "package_not_found",
        "flask-nonexistent==9.9",
    ),
    (
        "build",
        "npm ERR! 404 Not Found - GET https://registry.npmjs.org/nope-pkg - Not found\nnpm ERR! 404  'nope-pkg@^1.0.0' is not in this registry.",
        "package_not_found",
        None,
    ),
    (
        "build",
        "ERROR: Cannot install a==1 and b==2 because these package versions have conflicting dependencies.\nERROR: ResolutionImpossible",
        "dependency_resolution",
        None,
    ),
    (
        "build",
        "npm ERR! code ERESOLVE\nnpm ERR! ERESOLVE unable to resolve dependency tree",
        "dependency_resolution",
        None,
    ),
    (
        "build",
        "npm error `npm ci` can only install packages when your package.json and package-lock.json are in sync",
        "lockfile_out_of_sync",
        None,
    ),
    ("build", "ERROR: Package 'x' requires a different Python: 3.11.2 not in '>=3.12'", "runtime_version", ">=3.12"),
    (
        "build",
        "WARNING: Retrying (Retry(total=4)) after connection broken by 'NewConnectionError(': Failed to establish a new connection: [Errno 111] Connection refused')'\nERROR: No matching distribution found for flask",
        "network_blocked",
        None,
    ),
    (
        "build",
        "npm ERR! request to https://registry.npmjs.org/express failed, reason: getaddrinfo ENOTFOUND registry.npmjs.org",
        "network_blocked",
        None,
    ),
    (
        "build",
        "ERROR: failed to solve: python:3.13-slim: base image python:3.13-slim is not available",
        "base_image_missing",
        "python:3.13-slim",
    ),
    ("build", "write /app/node_modules/x: no space left on device", "disk_full", None),
    (
        "build",
        "<--- JS stacktrace --->\nFATAL ERROR: Reached heap limit Allocation failed - JavaScript heap out of memory",
        "out_of_memory",
        None,
    ),
    (
        "verify",
        "ImportError: libpq.so.5: cannot open shared object file: No such file or directory",
        "missing_runtime_library",
        "libpq.so.5",
    ),
    (
        "verify",
        "node: error while loading shared libraries: libvips.so.42: cannot open shared object file",
        "missing_runtime_library",
        "libvips.so.42",
    ),
    (
        "verify",
        "OSError: cannot load library 'libcairo.so.2': libcairo.so.2: cannot open shared object file",
        "missing_runtime_library",
        "libcairo.so.2",
    ),
    ("verify", "> app@1.0.0 start\n> nodemon index.js\n\nsh: 1: nodemon: not found", "dev_tool_at_runtime", "nodemon"),
    ("verify", "Error: Cannot find module '/app/dist/main.js'", "missing_build_step", "/app/dist/main.js"),
    (
        "verify",
        "Error: Could not find a production build in the '.next' directory. Try building your app with 'next build'",
        "missing_build_step",
        None,
    ),
    ("verify", "Error: Cannot find module '/app/server.js'", "wrong_start_command", "/app/server.js"),
    (
        "verify",
        "python: can't open file '/app/main.py': [Errno 2] No such file or directory",
        "wrong_start_command",
        "/app/main.py",
    ),
    ("verify", "Failed to find attribute 'app' in 'main'.", "wrong_start_command", None),
    (
        "verify",
        "Traceback (most recent call last):\n  File \"/app/app.py\", line 4\nKeyError: 'DATABASE_URL'",
        "missing_config",
        "DATABASE_URL",
    ),
    ("verify", "Error: SECRET_KEY is required", "missing_config", "SECRET_KEY"),
    ("verify", "Exception: DATABASE_URL environment variable not defined", "missing_config", "DATABASE_URL"),
    ("verify", "RuntimeError: REDIS_URL has not been configured", "missing_config", "REDIS_URL"),
    ("verify", "ValueError: STRIPE_KEY env var missing", "missing_config", "STRIPE_KEY"),
    (
        "verify",
        "django.core.exceptions.ImproperlyConfigured: The SECRET_KEY setting must not be empty.",
        "missing_config",
        None,
    ),
    ("verify", "Error: connect ECONNREFUSED 127.0.0.1:5432", "service_unavailable", "5432"),
    ("verify", "Error: listen EADDRINUSE: address already in use :::5000", "port_in_use", None),
    ("verify", "PermissionError: [Errno 13] Permission denied: 'data/cache.db'", "permission_denied", "data/cache.db"),
    ("verify", "Error: EACCES: permission denied, mkdir '/app/uploads'", "permission_denied", "/app/uploads"),
    ("verify", "ModuleNotFoundError: No module named 'yaml'", "missing_dependency", "yaml"),
    (
        "verify",
        'Traceback (most recent call last):\n  File "/app/main.py", line 9, in <module>\n    main()\nZeroDivisionError: division by zero',
        "app_error",
        None,
    ),
    (
        "verify",
        "  File \"/app/main.py\", line 3\n    def broken(\n              ^\nSyntaxError: '(' was never closed",
        "app_error",
        None,
    ),
    (
        "push",
        'Get "http://127.0.0.1:9/v2/": dial tcp 127.0.0.1:9: connect: connection refused',
        "registry_unreachable",
        None,
    ),
    ("push", "unauthorized: authentication required", "registry_auth", None),
]


@pytest.mark.parametrize(("stage", "log", "category", "subject"), CASES)
def test_each_category_is_named_from_its_evidence(stage: str, log: str, category: str, subject: str | None) -> None:
    diag = classify(FailureEvidence(stage=stage, log_tail=log))  # type: ignore[arg-type]
    assert diag.category == category, diag
    assert diag.evidence and all(line in log for line in diag.evidence)
    if subject is not None:
        assert diag.subject == subject


def test_every_category_in_the_cases_is_in_the_taxonomy() -> None:
    assert {c for _, _, c, _ in CASES} <= set(CATEGORIES)


def test_unknown_stays_unknown() -> None:
    diag = classify(FailureEvidence(stage="verify", log_tail="something odd happened\nexit status 1"))
    assert diag.category == "unknown" and diag.evidence == []


def test_the_same_words_mean_different_things_at_build_and_at_start() -> None:
    log = "ModuleNotFoundError: No module named 'distutils'"
    assert classify(FailureEvidence(stage="verify", log_tail=log)).category == "missing_dependency"
    built = classify(FailureEvidence(stage="build", log_tail=log + "\nerror: subprocess-exited-with-error"))
    assert built.category == "native_build"  # an old pin's source build, not a start command


def test_a_missing_module_the_start_command_names_is_a_wrong_start_command() -> None:
    log = "ModuleNotFoundError: No module named 'shop'"
    diag = classify(FailureEvidence(stage="verify", log_tail=log, start_command="gunicorn shop.wsgi:application"))
    assert diag.category == "wrong_start_command"


def test_every_missing_variable_is_named_at_once() -> None:
    log = "KeyError: 'DATABASE_URL'\nalso: environment variable REDIS_URL is not set\nERROR is not set"
    assert classify(FailureEvidence(stage="verify", log_tail=log)).names == ["DATABASE_URL", "REDIS_URL"]


def test_sonames_map_to_debian_packages() -> None:
    assert runtime_package_for("libpq.so.5") == "libpq5"
    assert runtime_package_for("libGL.so.1") == "libgl1"
    assert runtime_package_for("libnothing.so.9") is None


def test_a_crash_asking_for_a_value_the_code_reads_without_default_is_missing_config() -> None:
    from containerkit.tools.diagnose import config_from_code

    log = (
        'Error: Parameter "key" is required\n'
        "    at new w (/app/node_modules/mailgun.js/mailgun.node.js:2:32683)\n"
        "    at Object.<anonymous> (/app/src/index.js:22:24)\n"
    )
    diag = classify(FailureEvidence(stage="verify", log_tail=log))
    assert diag.category == "app_error"
    found = config_from_code(diag, log, ["API_KEY", "DOMAIN"])
    assert found.category == "missing_config" and found.names == ["API_KEY", "DOMAIN"]
    assert 'Error: Parameter "key" is required' in found.evidence
    # a bug of the app's own stays the app's, whatever variables the code reads
    bug = "Traceback (most recent call last):\n  File \"/app/main.py\", line 9\nValueError: invalid literal for int() with base 10: 'three'"
    d = classify(FailureEvidence(stage="verify", log_tail=bug))
    assert config_from_code(d, bug, ["API_KEY"]).category == "app_error"


@pytest.mark.parametrize(
    "line",
    [
        'exec: "gunicorn": executable file not found in $PATH: unknown',
        "Error: Cannot find module 'express': module not found",
        "warning: config file is missing, using defaults",
    ],
)
def test_lowercase_words_before_not_found_are_not_configuration(line: str) -> None:
    """Only an upper-case variable name makes 'X not set / not defined / missing' a config failure."""
    assert classify(FailureEvidence(stage="verify", log_tail=line)).category != "missing_config"


def test_env_example_names_read_without_default_make_a_silent_crash_missing_config(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from containerkit.tools.diagnose import Diagnosis, config_from_code
    from containerkit.tools.diagnose.config import documented_env_names

    (tmp_path / ".env.example").write_text('# fill in\nexport API_KEY="<key>"\nDOMAIN=\nPORT=3000\n')
    documented = documented_env_names(tmp_path)
    assert documented == (".env.example", ["API_KEY", "DOMAIN"])  # PORT is ours to set
    crash = Diagnosis(category="unknown", detail="exited with code 1")
    log = "/app/node_modules/lib/bundle.min.js:1\n" + "!function(e){" + "x" * 2000 + "}\n\nError: E_OPTS"
    found = config_from_code(crash, log, ["API_KEY", "DOMAIN", "OTHER"], documented)
    assert found.category == "missing_config" and found.names == ["API_KEY", "DOMAIN"]
    assert found.evidence[0].startswith(".env.example lists API_KEY, DOMAIN")
    assert all(len(line) < 1000 for line in found.evidence)  # the minified line is not evidence
    # without the example file, the same log says nothing about configuration
    assert config_from_code(crash, log, ["API_KEY", "DOMAIN"]).category == "unknown"
