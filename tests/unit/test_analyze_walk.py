"""Analysis of awkward trees: bad input gets a typed error, ignored and vendored folders stay out,
symlinks never lead out of the repo, and monorepo modules come with a build order."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from containerkit.errors import ManifestParseError, NoDeployableModule, NotADirectory, PathNotFound
from containerkit.tools.analyze import analyze_repo
from containerkit.tools.analyze._walk import build_index

APPS = Path(__file__).resolve().parent.parent / "fixtures" / "apps"
SERVER = "require('node:http').createServer((q, s) => s.end('ok')).listen(process.env.PORT || 3000);\n"


def _node_app(folder: Path, name: str = "app") -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "package.json").write_text(json.dumps({"name": name, "scripts": {"start": "node index.js"}}))
    (folder / "index.js").write_text(SERVER)


def test_missing_path_is_path_not_found(tmp_path: Path) -> None:
    with pytest.raises(PathNotFound):
        analyze_repo(tmp_path / "nope")


def test_a_file_is_not_a_directory(tmp_path: Path) -> None:
    (tmp_path / "f.txt").write_text("x")
    with pytest.raises(NotADirectory):
        analyze_repo(tmp_path / "f.txt")


def test_empty_folder_has_no_deployable_module(tmp_path: Path) -> None:
    with pytest.raises(NoDeployableModule) as exc:
        analyze_repo(tmp_path)
    assert exc.value.code == "CK103"


@pytest.mark.parametrize(
    ("name", "content", "line", "column"),
    [
        ("package.json", '{\n  "name": "x",\n  "scripts": {,}\n}\n', 3, 15),
        ("composer.json", '{\n  "require": [\n}\n', 3, 1),
        ("pyproject.toml", '[project]\nname = "x"\nversion = \n', 3, 11),
        ("Cargo.toml", '[package]\nname = "x\n', 2, 10),
        ("pom.xml", "<project>\n  <artifactId>x</artifact>\n</project>\n", 2, 18),
    ],
)
def test_malformed_manifest_names_file_line_and_column(
    tmp_path: Path, name: str, content: str, line: int, column: int
) -> None:
    (tmp_path / name).write_text(content)
    with pytest.raises(ManifestParseError) as exc:
        analyze_repo(tmp_path)
    assert name in exc.value.message
    assert f"line {line}, column {column}" in exc.value.message
    assert exc.value.hint and name in exc.value.hint


def test_gitignored_and_vendored_folders_are_not_modules(tmp_path: Path) -> None:
    (tmp_path / ".gitignore").write_text("generated/\n")
    _node_app(tmp_path / "services" / "api", "api")
    _node_app(tmp_path / "services" / "api" / "node_modules" / "dep", "dep")
    _node_app(tmp_path / "generated" / "stub", "stub")
    _node_app(tmp_path / "vendor" / "thing", "thing")
    _node_app(tmp_path / ".git" / "x", "x")
    result = analyze_repo(tmp_path)
    assert [m.path for m in result.modules] == ["services/api"]


def test_dockerignored_folder_is_not_a_module_but_the_dockerfile_stays_visible(tmp_path: Path) -> None:
    (tmp_path / ".dockerignore").write_text("Dockerfile\nscratch\n")
    _node_app(tmp_path / "web", "web")
    (tmp_path / "web" / "Dockerfile").write_text("FROM node:20\nEXPOSE 4444\n")
    _node_app(tmp_path / "scratch", "scratch")
    result = analyze_repo(tmp_path)
    assert [m.path for m in result.modules] == ["web"]
    assert result.modules[0].existing_dockerfile == "web/Dockerfile"


@pytest.mark.skipif(not hasattr(os, "symlink"), reason="needs symlinks")
def test_symlinks_out_of_the_repo_are_never_followed(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    _node_app(outside / "app", "secret-app")
    (outside / "requirements.txt").write_text("flask==3.0.3\n")
    repo = tmp_path / "repo"
    _node_app(repo / "api", "api")
    (repo / "linked-dir").symlink_to(outside / "app", target_is_directory=True)
    (repo / "api" / "requirements.txt").symlink_to(outside / "requirements.txt")
    result = analyze_repo(repo)
    assert [m.path for m in result.modules] == ["api"]
    assert result.modules[0].language == "node"  # the linked requirements.txt was not read


def test_reads_are_bounded(tmp_path: Path) -> None:
    big = tmp_path / "big.js"
    big.write_bytes(b"x" * (3 * 1024 * 1024))
    index = build_index(tmp_path)
    assert len(index.read("big.js", 1024)) == 1024
    assert index.files_scanned == 1


def test_monorepo_build_order_puts_shared_libraries_first() -> None:
    result = analyze_repo(APPS / "mono-npm-workspaces")
    order = result.build_order
    assert order.index("packages/shared") < order.index("apps/api")
    assert order.index("packages/shared") < order.index("apps/web")
    shared = next(m for m in result.modules if m.path == "packages/shared")
    assert shared.is_library and shared not in result.deployable()
    assert all(m.workspace_root == "." for m in result.modules)


def test_primary_is_the_first_deployable_module_of_a_workspace() -> None:
    result = analyze_repo(APPS / "mono-cargo-workspace")
    assert result.primary().path == "crates/api"


def test_two_candidate_entry_points_lower_confidence_and_say_why() -> None:
    one = analyze_repo(APPS / "py-flask-pip").primary()
    two = analyze_repo(APPS / "py-two-entrypoints").primary()
    assert two.confidence < one.confidence
    assert any("chosen over" in e.says for e in two.evidence)


def test_procfile_and_system_packages_are_evidence() -> None:
    proc = analyze_repo(APPS / "py-procfile").primary()
    assert any(e.file == "Procfile" for e in proc.evidence)
    native = analyze_repo(APPS / "py-psycopg2-native").primary()
    assert "libpq5" in native.system_packages and "libpq-dev" in native.build_packages


def test_gitignore_negation_keeps_a_re_included_manifest(tmp_path: Path) -> None:
    (tmp_path / ".gitignore").write_text("*.json\n!package.json\n")
    _node_app(tmp_path, "kept")
    assert analyze_repo(tmp_path).primary().name == "kept"
