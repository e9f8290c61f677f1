"""Property-based fuzzing of every parser that reads a user's files: any input parses or is a typed error.

A typed error is a ``ContainerKitError`` (code, message, hint: what the CLI shows); anything else
would reach the user as a traceback. Inputs mix random text and bytes with fragments of each format
(JSON trees with the keys manifests use, TOML and requirement lines, Dockerfile instructions), so the
parsers get past their first syntax check. ``CK_FUZZ_EXAMPLES`` sets the examples per parser
(default 150 for the edit loop; the measured run used 10,000: see benchmarks/faults.py).
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from containerkit.errors import ContainerKitError

EXAMPLES = int(os.environ.get("CK_FUZZ_EXAMPLES", "150"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
    derandomize=os.environ.get("CK_FUZZ_RANDOM") != "1",
)

KEYS = [
    "name",
    "version",
    "dependencies",
    "devDependencies",
    "peerDependencies",
    "optionalDependencies",
    "scripts",
    "start",
    "build",
    "main",
    "module",
    "bin",
    "engines",
    "node",
    "npm",
    "type",
    "workspaces",
    "packages",
    "lockfileVersion",
    "resolved",
    "integrity",
    "packageManager",
    "private",
    "exports",
    "python",
    "requires-python",
    "project",
    "tool",
    "poetry",
    "package",
    "source",
    "requires",
    "build-system",
    "optional-dependencies",
    "default",
    "develop",
    "_meta",
    "hash",
    "sha256",
    "markers",
    "extras",
    "files",
    "wheels",
    "sdist",
    "url",
    "path",
    "editable",
    "git",
    "id",
    "affected",
    "ranges",
    "events",
    "introduced",
    "fixed",
    "ecosystem",
    "severity",
    "database_specific",
    "aliases",
    "modified",
    "vulns",
    "require",
    "require-dev",
    "autoload",
    "imports",
    "tasks",
    "compilerOptions",
    "projects",
    "architect",
    "sdk",
    "rollForward",
    "",
    "__proto__",
    "0",
]
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False),
    st.text(max_size=40),
    st.sampled_from(
        [
            "^1.2.3",
            ">=3.11",
            "~=2.0",
            "*",
            "latest",
            "workspace:*",
            "file:../x",
            "git+https://h/r.git",
            "18.x",
            "3.12",
            "node index.js",
            "python -m app",
            "../../etc/passwd",
            "npm:@scope/x@1",
        ]
    ),
)
JSON_TREES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=5), st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=8), inner, max_size=6)
    ),
    max_leaves=30,
)
LINES = [
    "[project]",
    "[tool.poetry]",
    "[tool.poetry.dependencies]",
    "[[package]]",
    "[build-system]",
    "[tool.uv]",
    "[packages]",
    "[dev-packages]",
    "[requires]",
    "[metadata]",
    "[options]",
    "[workspace]",
    "[dependencies]",
    "[[tool.uv.index]]",
    'name = "app"',
    'version = "1.0"',
    'requires-python = ">=3.11"',
    'python_version = "3.12"',
    'dependencies = ["flask>=2", "gunicorn"]',
    'python = "^3.11"',
    'flask = "*"',
    'source = { registry = "x" }',
    'scripts = { app = "app:main" }',
    'lock-version = "1.0"',
    'wheels = [{ url = "u", hash = "sha256:00" }]',
    "flask==3.0.0",
    "gunicorn>=21 ; python_version >= '3.8'",
    "-r other.txt",
    "-e .",
    "--index-url http://x",
    "git+https://github.com/a/b.git#egg=b",
    "numpy[extra]==1.*",
    "uvicorn[standard]",
    "./local/pkg",
    "-c c.txt",
    "module example.com/app",
    "go 1.22",
    "toolchain go1.22.1",
    "require (",
    ")",
    "replace a => ../a",
    "<project>",
    "<artifactId>app</artifactId>",
    "<packaging>jar</packaging>",
    "</project>",
    "plugins { id 'java' }",
    "gem 'rails'",
    "source 'https://rubygems.org'",
    "ruby '3.3.0'",
    "GEM",
    "  specs:",
    "PLATFORMS",
    "defmodule App.MixProject do",
    "lockfileVersion: '9.0'",
    "importers:",
    "  .:",
    "packages:",
    "'@a/b@1.0.0':",
    '"lodash@^4.17.21":',
    '  version "4.17.21"',
    "__metadata:",
    "nodeLinker: pnp",
    "dependencies:",
    "  - python=3.11",
    "  - pip:",
    "[toolchain]",
    'channel = "1.77"',
    "[package]",
    'edition = "2021"',
    "[[bin]]",
    "[dependencies.x]",
    "=",
    "[",
    "]]",
    '"',
    "'''",
    "\\",
    "\x00",
    "\ufeff",
    "\u2028",
    "${HOME}",
    "$(id)",
    "a" * 300,
]
TEXTS = st.one_of(
    st.text(max_size=400),
    st.lists(st.sampled_from(LINES) | st.text(max_size=30), max_size=25).map("\n".join),
    JSON_TREES.map(lambda v: json.dumps(v)),
    st.lists(st.sampled_from(LINES), max_size=10).flatmap(
        lambda ls: st.text(max_size=20).map(lambda t: "\n".join(ls) + t)
    ),
)
CONTENTS = st.one_of(TEXTS.map(lambda t: t.encode("utf-8", "surrogatepass")), st.binary(max_size=300))

# a module each ecosystem recognises, so the fuzzed file is read past detection
SKELETONS: dict[str, dict[str, str]] = {
    "node": {
        "package.json": '{"name": "a", "version": "1.0.0", "scripts": {"start": "node index.js"}}',
        "index.js": "require('http').createServer().listen(process.env.PORT)\n",
    },
    "python": {"requirements.txt": "flask\n", "app.py": "from flask import Flask\napp = Flask(__name__)\n"},
    "go": {"go.mod": "module example.com/a\n\ngo 1.22\n", "main.go": "package main\nfunc main() {}\n"},
    "rust": {"Cargo.toml": '[package]\nname = "a"\nversion = "0.1.0"\n', "src/main.rs": "fn main() {}\n"},
    "java": {"pom.xml": "<project><artifactId>a</artifactId></project>\n"},
    "ruby": {"Gemfile": "source 'https://rubygems.org'\ngem 'sinatra'\n", "app.rb": "require 'sinatra'\n"},
    "php": {"composer.json": '{"require": {"php": ">=8.1"}}', "index.php": "<?php echo 1;\n"},
    "elixir": {"mix.exs": "defmodule A.MixProject do\nend\n"},
    "deno": {"deno.json": '{"tasks": {"start": "deno run main.ts"}}', "main.ts": "Deno.serve(() => new Response())\n"},
    "dotnet": {"app.csproj": '<Project Sdk="Microsoft.NET.Sdk.Web"></Project>\n', "Program.cs": "\n"},
}
FILES: dict[str, list[str]] = {
    "node": [
        "package.json",
        "package-lock.json",
        "npm-shrinkwrap.json",
        "yarn.lock",
        "pnpm-lock.yaml",
        "bun.lock",
        "pnpm-workspace.yaml",
        ".yarnrc.yml",
        "tsconfig.json",
        "angular.json",
        "project.json",
        ".nvmrc",
        ".node-version",
        ".env",
    ],
    "python": [
        "requirements.txt",
        "pyproject.toml",
        "poetry.lock",
        "uv.lock",
        "Pipfile",
        "Pipfile.lock",
        "pdm.lock",
        "setup.cfg",
        "setup.py",
        "runtime.txt",
        ".python-version",
        "environment.yml",
        "pylock.toml",
        "requirements-prod.txt",
        "Procfile",
        ".env",
    ],
    "go": ["go.mod", "go.sum", "go.work"],
    "rust": ["Cargo.toml", "Cargo.lock", "rust-toolchain.toml", "rust-toolchain"],
    "java": [
        "pom.xml",
        "build.gradle",
        "build.gradle.kts",
        "settings.gradle",
        "settings.gradle.kts",
        "gradle.properties",
    ],
    "ruby": ["Gemfile", "Gemfile.lock", ".ruby-version", "config.ru"],
    "php": ["composer.json", "composer.lock"],
    "elixir": ["mix.exs", "mix.lock"],
    "deno": ["deno.json", "deno.jsonc", "deno.lock", "package.json"],
    "dotnet": ["app.csproj", "global.json", "packages.lock.json"],
}
TARGETS = [(eco, name) for eco, names in FILES.items() for name in names]


def _typed(call: Callable[[], Any]) -> None:
    """The call returns, or raises a ContainerKitError; nothing else may escape."""
    try:
        call()
    except ContainerKitError as exc:
        assert exc.code.startswith("CK") and exc.message and exc.hint


@FUZZ
@given(target=st.sampled_from(TARGETS), content=CONTENTS)
def test_repository_manifests_and_lockfiles_parse_or_are_typed_errors(target: tuple[str, str], content: bytes) -> None:
    from containerkit.tools.analyze import analyze_repo
    from containerkit.tools.dockerfile import generate_dockerfile, load_catalog

    eco, name = target
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for rel, text in SKELETONS[eco].items():
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            (root / rel).write_text(text)
        (root / name).write_bytes(content)

        def analyze_and_generate() -> None:
            analysis = analyze_repo(root)
            for module in analysis.deployable():
                _typed(lambda m=module: generate_dockerfile(m, load_catalog({}), repo_root=analysis.root))

        _typed(analyze_and_generate)


DOCKERFILE_LINES = [
    "FROM python:3.12-slim",
    "FROM node:20 AS build",
    "FROM --platform=$BUILDPLATFORM golang:1.22 AS b",
    "FROM scratch",
    "FROM ${BASE}",
    "ARG BASE=debian",
    "RUN apt-get update && apt-get install -y curl",
    "RUN <<EOF",
    "EOF",
    "COPY --from=build /app /app",
    "COPY . .",
    "ADD https://x/y.tar.gz /opt/",
    "USER 10001",
    "USER root",
    'CMD ["python", "app.py"]',
    "CMD python app.py",
    'ENTRYPOINT ["/bin/sh", "-c"]',
    "EXPOSE 8080/tcp",
    "EXPOSE",
    "ENV A=1 B=2",
    "ENV A 1",
    "WORKDIR /app",
    "HEALTHCHECK CMD curl -f http://localhost/",
    "HEALTHCHECK NONE",
    "ONBUILD RUN x",
    'SHELL ["/bin/bash", "-c"]',
    "LABEL a=b",
    "# escape=`",
    "# syntax=docker/dockerfile:1",
    "# hadolint ignore=DL3008",
    "RUN --mount=type=cache,target=/root/.cache pip install x",
    "STOPSIGNAL SIGTERM",
    "VOLUME /data",
    "\\",
    "  \\",
    "`",
    "[",
    '["unterminated',
    "FROM",
    "RUN",
    "COPY",
    "ENV",
    "ARG",
    "\t",
    "\x00",
]
DOCKERFILES = st.one_of(
    st.text(max_size=500),
    st.lists(st.sampled_from(DOCKERFILE_LINES) | st.text(max_size=40), max_size=30).map("\n".join),
)


@FUZZ
@given(text=DOCKERFILES)
@example(text="FROM debian:12 AS " + "a" * 300)  # one line longer than a file name: text, not a path
@example(text="FROM debian:12\x00")
def test_dockerfile_parsers_and_the_linter_parse_or_are_typed_errors(text: str) -> None:
    from containerkit.tools.compliance._dockerfile import read_instructions
    from containerkit.tools.engine import base_images_of
    from containerkit.tools.lint import lint_dockerfile
    from containerkit.tools.lint.parser import parse_dockerfile

    _typed(lambda: parse_dockerfile(text))
    _typed(lambda: read_instructions(text))
    _typed(lambda: base_images_of(text))
    _typed(lambda: lint_dockerfile(text))


@FUZZ
@given(content=CONTENTS)
def test_env_files_parse_or_are_typed_errors(content: bytes) -> None:
    from containerkit.tools.envfile import read_env_file

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / ".env"
        path.write_bytes(content)
        _typed(lambda: read_env_file(path))


@FUZZ
@given(content=CONTENTS)
def test_config_toml_parses_or_is_a_typed_error(content: bytes) -> None:
    from containerkit.settings import Settings

    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "config.toml").write_bytes(content)
        _typed(lambda: Settings.load({"CONTAINERKIT_HOME": tmp}))


@FUZZ
@given(content=CONTENTS)
def test_dockerignore_files_parse_or_are_typed_errors(content: bytes) -> None:
    from containerkit.tools.secrets._context import context_files

    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / ".dockerignore").write_bytes(content)
        (Path(tmp) / "app.py").write_text("print(1)\n")
        _typed(lambda: list(context_files(Path(tmp))))


OSV = st.fixed_dictionaries(
    {"id": st.text(max_size=20)},
    optional={
        "affected": st.lists(
            st.fixed_dictionaries(
                {},
                optional={
                    "package": st.fixed_dictionaries(
                        {},
                        optional={
                            "name": SCALARS,
                            "ecosystem": st.sampled_from(["PyPI", "npm", "Go", "Debian:12", "x"]) | SCALARS,
                        },
                    ),
                    "ranges": st.lists(
                        st.fixed_dictionaries(
                            {},
                            optional={
                                "type": st.sampled_from(["ECOSYSTEM", "SEMVER", "GIT"]) | SCALARS,
                                "events": st.lists(
                                    st.dictionaries(
                                        st.sampled_from(["introduced", "fixed", "last_affected", "limit"]),
                                        SCALARS,
                                        max_size=2,
                                    ),
                                    max_size=4,
                                ),
                            },
                        ),
                        max_size=3,
                    ),
                    "versions": st.lists(SCALARS, max_size=4),
                    "database_specific": JSON_TREES,
                },
            ),
            max_size=3,
        ),
        "severity": st.lists(st.dictionaries(st.sampled_from(["type", "score"]), SCALARS), max_size=2),
        "aliases": st.lists(SCALARS, max_size=3) | SCALARS,
        "modified": SCALARS,
        "summary": SCALARS,
        "database_specific": JSON_TREES,
    },
)


@FUZZ
@given(doc=st.one_of(OSV.map(json.dumps), JSON_TREES.map(json.dumps), st.text(max_size=200)))
def test_osv_records_parse_or_are_typed_errors(doc: str) -> None:
    from containerkit.tools.vulns.osv import parse_osv

    _typed(lambda: parse_osv(doc.encode("utf-8", "surrogatepass"), source="fuzz.json"))


REF_PARTS = [
    "localhost:5000/",
    "127.0.0.1:5000/",
    "[::1]:5000/",
    "ghcr.io/",
    "a/",
    "b",
    "-",
    ".",
    "_",
    "__",
    ":",
    ":tag",
    ":1.0",
    "@sha256:" + "a" * 64,
    "@sha256:x",
    "/",
    "//",
    "UPPER",
    "é",
    " ",
    "\n",
    "9" * 130,
]


@FUZZ
@given(ref=st.one_of(st.text(max_size=80), st.lists(st.sampled_from(REF_PARTS), max_size=8).map("".join)))
def test_image_references_parse_or_are_typed_errors(ref: str) -> None:
    from containerkit.tools.images import parse_image_ref, parse_registry

    _typed(lambda: parse_image_ref(ref))
    _typed(lambda: parse_registry(ref))
