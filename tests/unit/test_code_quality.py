"""The package stays typed and linted: `mypy --strict` and ruff, as the house style asks."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _tool(name: str) -> list[str]:
    exe = Path(sys.executable).with_name(name)
    if exe.exists():
        return [str(exe)]
    found = shutil.which(name)
    if found is None:
        pytest.skip(f"{name} is not installed (pip install -e '.[dev]')")
    return [found]


def _run(cmd: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600, check=False)


def test_mypy_strict_is_clean_on_the_package() -> None:
    res = _run([*_tool("mypy"), "containerkit"])
    assert res.returncode == 0, res.stdout[-4000:]


def test_ruff_lint_and_format_are_clean() -> None:
    lint = _run([*_tool("ruff"), "check", "containerkit", "tests", "benchmarks"])
    assert lint.returncode == 0, lint.stdout[-4000:]
    fmt = _run([*_tool("ruff"), "format", "--check", "containerkit", "tests", "benchmarks"])
    assert fmt.returncode == 0, fmt.stdout[-4000:]


def test_tools_never_import_agents_or_graph() -> None:
    """Tools are usable without the graph: the layering the architecture promises."""
    offenders = [
        str(p.relative_to(ROOT))
        for p in (ROOT / "containerkit" / "tools").rglob("*.py")
        if any(
            line.lstrip().startswith(
                (
                    "from containerkit.agents",
                    "from containerkit.graph",
                    "import containerkit.agents",
                    "import containerkit.graph",
                )
            )
            for line in p.read_text().splitlines()
        )
    ]
    assert offenders == []
