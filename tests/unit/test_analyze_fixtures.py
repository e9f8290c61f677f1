"""Every fixture app under tests/fixtures/apps is analysed as its golden expected.json says.

Adding a folder with an expected.json adds a test. The golden names only the fields that matter
(language, version, package manager, framework, port, commands, library flag, build order).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from containerkit.tools.analyze import analyze_repo

APPS = Path(__file__).resolve().parent.parent / "fixtures" / "apps"
FIXTURES = sorted(p.name for p in APPS.iterdir() if (p / "expected.json").is_file())


def test_corpus_covers_every_ecosystem_and_package_manager() -> None:
    seen_lang: set[str] = set()
    seen_pm: set[str] = set()
    seen_fw: set[str] = set()
    for name in FIXTURES:
        for m in json.loads((APPS / name / "expected.json").read_text())["modules"]:
            seen_lang.add(m["language"])
            seen_pm.add(m["package_manager"])
            seen_fw.add(m["framework"])
    assert len(FIXTURES) >= 40
    langs = {"python", "node", "go", "java", "dotnet", "rust", "ruby", "php", "elixir", "deno", "static"}
    assert langs <= seen_lang
    pms = {"pip", "poetry", "pipenv", "uv", "pdm", "conda", "npm", "yarn", "pnpm", "bun", "go", "maven", "gradle"}
    pms |= {"dotnet", "cargo", "bundler", "composer", "mix"}
    assert pms <= seen_pm
    frameworks = {"django", "flask", "fastapi", "streamlit", "express", "nest", "next", "nuxt", "remix", "vite"}
    frameworks |= {"astro", "gin", "echo", "fiber", "spring-boot", "quarkus", "micronaut", "aspnet-core", "actix"}
    frameworks |= {"axum", "rocket", "rails", "sinatra", "laravel", "symfony", "phoenix"}
    assert frameworks <= seen_fw


@pytest.mark.parametrize("name", FIXTURES)
def test_fixture_matches_golden(name: str) -> None:
    golden = json.loads((APPS / name / "expected.json").read_text())
    result = analyze_repo(APPS / name)
    got = {m.path: m.public_dict() for m in result.modules}
    assert sorted(got) == sorted(m["path"] for m in golden["modules"])
    assert result.is_monorepo == golden["is_monorepo"]
    for want in golden["modules"]:
        have = got[want["path"]]
        diff = {k: (have[k], v) for k, v in want.items() if have[k] != v}
        assert not diff, f"{name}:{want['path']} (got, expected): {diff}"
        assert have["evidence"], "every conclusion names the file that said it"
        assert 0.0 < have["confidence"] <= 1.0


@pytest.mark.parametrize("name", FIXTURES)
def test_deployable_python_and_node_fixtures_read_port_from_the_environment(name: str) -> None:
    """The other half builds and runs these: they must honour $PORT so the platform can move them."""
    golden = json.loads((APPS / name / "expected.json").read_text())
    for m in golden["modules"]:
        if m["is_library"] or m["language"] not in {"python", "node"} or m["static_dir"]:
            continue
        cmd = m["start_command"] or ""
        sources = " ".join(
            p.read_text(errors="replace")
            for p in (APPS / name / m["path"]).rglob("*")
            if p.suffix in {".py", ".js", ".ts"}
        )
        reads_port = m["framework"] in {"next", "nuxt", "remix"}  # their servers read PORT themselves
        assert reads_port or "PORT" in cmd or "gunicorn" in cmd or "PORT" in sources, (name, m["path"])
