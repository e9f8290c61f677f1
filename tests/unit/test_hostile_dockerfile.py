"""Repository metadata never writes a Dockerfile instruction: generate from hostile metadata, parse it back.

For every fixture application, hostile values (newlines, carriage returns, Unicode line separators,
trailing backslashes, heredoc openers, quotes, directives) are put into the names, versions,
commands, paths, ports and packages the analysis found. The generated Dockerfile, parsed with
containerkit's own parser, must hold exactly the instructions (same count, same keywords) the
generator writes for the same module with benign metadata.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from containerkit.errors import InvalidImageReference, InvalidOption
from containerkit.tools.analyze import analyze_repo
from containerkit.tools.analyze.models import ModuleAnalysis
from containerkit.tools.dockerfile import generate_dockerfile, load_catalog
from containerkit.tools.escape import comment_text, exec_json, has_line_break, label_value, safe_module, single_line
from containerkit.tools.lint.parser import parse_dockerfile

APPS = Path(__file__).resolve().parents[1] / "fixtures" / "apps"
MARK = "INJECTED"
FRAGMENTS = [
    "\n",
    "\r\n",
    "\r",
    "\\",
    "\\\n",
    "\u2028",
    "\u2029",
    "\x85",
    "\x0b",
    "\x0c",
    "\t",
    '"',
    "'",
    "`",
    "$",
    "$(id)",
    "#",
    "# escape=`",
    "<<EOF",
    "<<-'X'",
    "EOF",
    " ",
    "&&",
    ";",
    "RUN ",
    "FROM scratch",
    f"RUN echo {MARK}",
    "USER root",
    "[",
    "]",
    "{",
    "x",
    "1.2",
]
payloads = st.lists(st.sampled_from(FRAGMENTS), min_size=1, max_size=8).map("".join)


@cache
def _modules() -> list[tuple[ModuleAnalysis, str]]:
    out: list[tuple[ModuleAnalysis, str]] = []
    seen: set[tuple[str | None, str | None, str | None]] = set()
    for app in sorted(p for p in APPS.iterdir() if p.is_dir()):
        try:
            analysis = analyze_repo(app)
        except Exception:  # noqa: BLE001 - a fixture the analysis refuses is not this test's subject
            continue
        for m in analysis.deployable():
            key = (m.language, m.package_manager, m.framework)
            if m.language is None or key in seen:
                continue
            try:
                generate_dockerfile(m, load_catalog(), repo_root=analysis.root)
            except Exception:  # noqa: BLE001
                continue
            seen.add(key)
            out.append((m, analysis.root))
    return out


_SPECIAL = re.compile(r"[\x00-\x1f\x7f\x85\u2028\u2029\\\"'`$<>|;&#{}\[\]()*]")


def _neutral(value: str) -> str:
    return _SPECIAL.sub("x", value)


def _keywords(text: str) -> list[str]:
    return [i.keyword for i in parse_dockerfile(text).instructions]


_SCALARS = ("name", "language_version", "start_command", "build_command", "entrypoint", "health_path")


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    pick=st.integers(min_value=0, max_value=10_000),
    fields=st.lists(st.sampled_from(_SCALARS), min_size=1, max_size=4, unique=True),
    payload=payloads,
    extra_package=st.none() | payloads,
    port=st.none() | st.integers(min_value=-5, max_value=10**6),
)
def test_hostile_metadata_writes_exactly_the_benign_instructions(
    pick: int, fields: list[str], payload: str, extra_package: str | None, port: int | None
) -> None:
    modules = _modules()
    benign, root = modules[pick % len(modules)]
    update: dict[str, object] = {}
    for f in fields:  # a value the benign module has, made hostile (a None stays None: no new steps)
        value = getattr(benign, f)
        if value is not None:
            update[f] = value + payload if f != "name" else payload + value + payload
    if extra_package is not None:
        update["system_packages"] = [*benign.system_packages, extra_package]
    if port is not None:
        update["port"] = port
    hostile = benign.model_copy(update=update)

    kept, warnings = safe_module(hostile)
    # what the generator meant: the values the sanitizer kept, with every character that has a meaning
    # in a Dockerfile or a shell neutralised; any other instruction can only come from those characters
    meant = kept.model_copy(
        update={f: _neutral(getattr(kept, f)) for f in _SCALARS if getattr(kept, f) is not None}
        | {"system_packages": [_neutral(p) for p in kept.system_packages]}
    )
    generated = generate_dockerfile(hostile, load_catalog(), repo_root=root)
    expected = generate_dockerfile(meant, load_catalog(), repo_root=root)

    got = _keywords(generated.content)
    assert got == _keywords(expected.content)
    parsed = parse_dockerfile(generated.content)
    assert parsed.directives == {}
    assert not any(i.value.startswith(f"echo {MARK}") for i in parsed.instructions)
    assert generated.content.count("\n# Generated") == 0 and generated.content.startswith("# Generated")
    assert all(w in generated.warnings for w in warnings)


@pytest.mark.parametrize("name", ["repo\nRUN echo x", "repo\rRUN x", "re\u2028po", "repo\\", "# escape=`", "a=b"])
def test_the_repository_folder_name_stays_inside_the_header_comment(tmp_path: Path, name: str) -> None:
    repo = tmp_path / name
    repo.mkdir()
    (repo / "app.py").write_text("print('hi')\n")
    (repo / "requirements.txt").write_text("flask==3.0.0\n")
    analysis = analyze_repo(repo)
    gen = generate_dockerfile(analysis.primary(), load_catalog(), repo_root=analysis.root)
    first = gen.content.splitlines()[0]
    assert first.startswith("# Generated by containerkit for ")
    assert parse_dockerfile(gen.content).directives == {}
    benign = tmp_path / "repo"
    benign.mkdir()
    (benign / "app.py").write_text("print('hi')\n")
    (benign / "requirements.txt").write_text("flask==3.0.0\n")
    b = analyze_repo(benign)
    assert _keywords(gen.content) == _keywords(generate_dockerfile(b.primary(), load_catalog()).content)


def test_a_package_json_name_with_a_newline_is_no_instruction(tmp_path: Path) -> None:
    (tmp_path / "package.json").write_text('{"name": "shop\\nRUN echo INJECTED", "scripts": {"start": "node s.js"}}')
    (tmp_path / "s.js").write_text("require('http').createServer().listen(3000)\n")
    m = analyze_repo(tmp_path).primary()
    gen = generate_dockerfile(m, load_catalog())
    assert not any(i.value.startswith("echo INJECTED") for i in parse_dockerfile(gen.content).instructions)
    assert any("name" in w for w in gen.warnings)


@pytest.mark.parametrize(
    "image", ["Not A/Valid::Image", "python:3.12\nRUN echo x", "", " python:3", "127.0.0.1:99999/py:3", "PY:3"]
)
def test_an_invalid_base_image_is_refused_before_it_reaches_from(image: str) -> None:
    m = ModuleAnalysis(path=".", name="app", language="python", dependency_files=["requirements.txt"])
    with pytest.raises((InvalidImageReference, InvalidOption)):
        generate_dockerfile(m, load_catalog(override=image or None) if image else load_catalog(override="\n"))


def test_a_module_folder_with_a_newline_is_refused() -> None:
    m = ModuleAnalysis(path="svc\nRUN x", name="svc", language="python")
    with pytest.raises(InvalidOption, match="line break"):
        generate_dockerfile(m, load_catalog())


@given(value=st.text(max_size=300))
def test_escapers_always_give_one_safe_line(value: str) -> None:
    for out in (single_line(value), comment_text(value), label_value(value)):
        assert not has_line_break(out)
        assert "\n" not in out
    assert not comment_text(value).endswith("\\")
    assert not parse_dockerfile("# " + comment_text(value) + "\nFROM a:1\n").directives
    assert len(parse_dockerfile(f"FROM a:1\nLABEL x={label_value(value)}\nUSER 1\n").instructions) == 3
    assert "\n" not in exec_json([value])


@pytest.mark.parametrize("language", ["rust", "dotnet", "go", "python", "node"])
def test_an_unmatched_quote_in_a_start_command_is_not_a_crash(language: str) -> None:
    m = ModuleAnalysis(path=".", name="x", language=language, start_command='./x "unterminated', port=8080)
    text = generate_dockerfile(m, load_catalog()).content
    assert parse_dockerfile(text).instructions


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("system_packages", ["curl\n"]),
        ("build_packages", ["gcc\n"]),
        ("language_version", "3.11\n"),
        ("health_path", "/healthz\n"),
        ("framework", "flask\n"),
        ("package_manager", "pip\n"),
    ],
)
def test_a_value_ending_in_a_line_break_is_dropped_not_written(field: str, value: object) -> None:
    """`$` in a Python pattern also matches before a final newline: each check anchors at the very end."""
    benign, root = next((m, r) for m, r in _modules() if m.language == "python")
    kept, warnings = safe_module(benign.model_copy(update={field: value}))
    assert getattr(kept, field) in (None, []), getattr(kept, field)
    assert any(field in w for w in warnings)
    text = generate_dockerfile(benign.model_copy(update={field: value}), load_catalog(), repo_root=root).content
    assert not any(
        line.lstrip().startswith(("&&", "\\")) and line.strip() in ("\\", "&&") for line in text.splitlines()
    )
    assert "\n \\\n" not in text  # no continuation left alone on a line of its own
