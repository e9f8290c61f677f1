"""Manifests with the wrong types in every known key (``project = "x"``, ``dependencies = 5``): the analysis
skips them with a note and carries on; it never crashes, and a Dockerfile is still generated or refused typed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from containerkit.errors import ContainerKitError
from containerkit.tools.analyze import analyze_repo
from containerkit.tools.dockerfile import generate_dockerfile, load_catalog
from containerkit.tools.manifest_shapes import SHAPES, conform

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**6), max_value=10**6),
    st.text(max_size=12),
    st.sampled_from(["x\nRUN echo INJECTED", "^3.11", ">=18", "node server.js", "1.0"]),
)
values = st.recursive(
    scalars, lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=6), c, max_size=3), max_leaves=8
)


@st.composite
def from_shape(draw: st.DrawFn, shape: Any) -> Any:
    """A value that mostly follows ``shape`` and sometimes has any other type."""
    if draw(st.integers(0, 3)) == 0:
        return draw(values)
    if isinstance(shape, dict):
        keys = draw(st.lists(st.sampled_from(sorted(shape)), unique=True, max_size=len(shape)))
        return {k: draw(from_shape(shape[k])) for k in keys}
    if isinstance(shape, tuple) and shape[0] == "map":
        n = draw(st.integers(0, 2))
        return {f"k{i}": draw(from_shape(shape[1])) for i in range(n)}
    if isinstance(shape, tuple) and shape[0] == "list":
        return [draw(from_shape(shape[1])) for _ in range(draw(st.integers(0, 2)))]
    if isinstance(shape, tuple):
        return draw(from_shape(draw(st.sampled_from(shape[1:]))))
    return {str: "1.0", dict: {}, list: [], int: 1, bool: True}.get(shape, "v")


def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, str):
        return json.dumps(v)
    if isinstance(v, list):
        return "[" + ", ".join(_toml_value(x) for x in v if x is not None) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{json.dumps(k)} = {_toml_value(x)}" for k, x in v.items() if x is not None) + "}"
    return '""'


def _write(folder: Path, name: str, data: Any) -> None:
    if name.endswith(".toml") or name == "Pipfile":
        doc = data if isinstance(data, dict) else {"x": data}
        text = "".join(f"{json.dumps(k)} = {_toml_value(v)}\n" for k, v in doc.items() if v is not None)
    else:
        text = json.dumps(data)
    (folder / name).write_text(text, encoding="utf-8")


MANIFESTS = sorted(SHAPES)


@settings(
    max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
@given(data=st.data(), names=st.lists(st.sampled_from(MANIFESTS), min_size=1, max_size=3, unique=True))
def test_wrongly_typed_manifests_never_crash_the_analysis(
    tmp_path_factory: pytest.TempPathFactory, data: st.DataObject, names: list[str]
) -> None:
    repo = tmp_path_factory.mktemp("repo")
    for name in names:
        if name == "deno.jsonc" and "deno.json" in names:
            continue
        _write(repo, name, data.draw(from_shape(SHAPES[name]), label=name))
    (repo / "app.py").write_text("print(1)\n")
    try:
        analysis = analyze_repo(repo)
    except ContainerKitError:
        return
    for m in analysis.deployable():
        try:
            gen = generate_dockerfile(m, load_catalog(), repo_root=analysis.root)
        except ContainerKitError:
            continue
        assert "INJECTED\n" not in gen.content.replace("# ", "")


def test_conform_drops_wrong_types_and_says_so() -> None:
    notes: list[tuple[str, str]] = []
    out = conform(
        "pyproject.toml",
        {"project": {"name": "a", "dependencies": 5, "scripts": {"a": "m:f", "b": 3}}, "tool": "x"},
        lambda f, n: notes.append((f, n)),
    )
    assert out == {"project": {"name": "a", "scripts": {"a": "m:f"}}}
    assert {n for _, n in notes} == {
        "ignored project.dependencies: it is a number, not the expected type",
        "ignored project.scripts.b: it is a number, not the expected type",
        "ignored tool: it is a string, not the expected type",
    }
    assert conform("pyproject.toml", {"project": "x"}) == {}
    assert conform("unknown.json", [1, 2]) == [1, 2]
