"""`containerkit --help` is answered without typer, and lists exactly the commands typer registers."""

from __future__ import annotations

import io
import subprocess
import sys

import typer.main

from containerkit.cli import app
from containerkit.cli._fast import COMMANDS, print_help


def test_the_fast_help_lists_every_registered_command_with_its_first_line() -> None:
    group = typer.main.get_command(app)
    registered = {name: cmd.get_short_help_str(limit=300) for name, cmd in group.commands.items()}
    assert dict(COMMANDS) == registered


def test_help_loads_neither_typer_nor_rich_nor_pydantic() -> None:
    code = (
        "import sys\n"
        "from containerkit.cli import main\n"
        "main(['--help'])\n"
        "print(sorted(m for m in ('typer', 'rich', 'pydantic', 'docker', 'langgraph') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip().splitlines()[-1] == "[]"
    assert "Usage: containerkit [OPTIONS] COMMAND [ARGS]..." in out


def test_the_help_names_each_command() -> None:
    buf = io.StringIO()
    print_help(buf)
    for name, _ in COMMANDS:
        assert f"  {name} " in buf.getvalue()
