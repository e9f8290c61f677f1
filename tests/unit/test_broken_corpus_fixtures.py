"""The broken corpus is well-formed: every app's expect.toml is complete and consistent, the table in
its README lists every app, and no fixture carries a Dockerfile of its own (containerkit writes one)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.broken_corpus import BROKEN, CATEGORIES, broken_apps, load_expect

APPS = broken_apps()


def test_the_corpus_covers_enough_apps_and_categories() -> None:
    assert len(APPS) >= 18
    assert len({load_expect(a).category for a in APPS}) >= 15
    assert {"py", "node"} == {a.name.split("-", 1)[0] for a in APPS}


@pytest.mark.parametrize("app", APPS, ids=[a.name for a in APPS])
def test_expect_toml_is_complete_and_consistent(app: Path) -> None:
    exp = load_expect(app)
    assert exp.category in CATEGORIES
    assert exp.evidence and all(line.strip() for line in exp.evidence)
    assert exp.fix.strip()
    assert (exp.outcome == "needs_config") == bool(exp.needs)
    if exp.outcome == "answers":
        assert exp.port is not None
    if exp.outcome in ("needs_config", "failed"):
        assert not exp.recoverable  # the user's to fix: the run ends with a precise hint
    assert not (app / "Dockerfile").exists() and not (app / ".dockerignore").exists()


def test_readme_table_lists_every_app() -> None:
    readme = (BROKEN / "README.md").read_text()
    for app in APPS:
        exp = load_expect(app)
        row = next((line for line in readme.splitlines() if line.startswith(f"| `{app.name}`")), None)
        assert row is not None, app.name
        assert f"`{exp.category}`" in row and exp.stage in row and exp.outcome in row
