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


def test_analyze_is_served_without_typer_and_prints_what_the_typer_command_prints(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """`analyze PATH [--json]` skips typer; its output is the typer command's, byte for byte."""
    from tests.conftest import EXAMPLES

    app_dir = str(EXAMPLES / "python-http")
    for extra in (["--json"], []):
        code = (
            "import sys\n"
            "from containerkit.cli import main\n"
            f"main(['analyze', {app_dir!r}, *{extra!r}])\n"
            "print('typer loaded' if 'typer' in sys.modules else 'no typer', file=sys.stderr)\n"
        )
        fast = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
        assert fast.stderr.strip().splitlines()[-1] == "no typer"
        slow_code = f"from containerkit.cli._app import run\nrun(['analyze', {app_dir!r}, *{extra!r}])\n"
        slow = subprocess.run([sys.executable, "-c", slow_code], capture_output=True, text=True, check=False)
        assert fast.stdout == slow.stdout and fast.stdout.strip()


def test_analyze_errors_and_other_options_still_go_through_the_typer_app(tmp_path) -> None:  # type: ignore[no-untyped-def]
    missing = str(tmp_path / "nowhere")
    res = subprocess.run([sys.executable, "-m", "containerkit", "analyze", missing], capture_output=True, text=True)
    assert res.returncode == 2 and "CK1" in res.stderr and "hint" in res.stderr.lower()  # typed error, with a hint
    helped = subprocess.run([sys.executable, "-m", "containerkit", "analyze", "--help"], capture_output=True, text=True)
    assert helped.returncode == 0 and "--json" in helped.stdout


def test_lint_is_served_without_typer_or_rich_and_prints_what_the_typer_command_prints(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """`lint PATH [--format F] [--fail-on L] [--no-hadolint]` skips typer; same bytes, same exit code."""
    df = tmp_path / "Dockerfile"
    # a finding of each kind, and a message that quotes hostile text from the file (a control character)
    df.write_text('FROM python:3.11\nRUN apt-get install curl\nENV NAME="a\x1bb"\nCMD python app.py\n')
    cases = [
        [],
        ["--format", "json"],
        ["-f", "sarif"],
        ["--fail-on", "warning"],
        ["--fail-on", "none"],
        [str(tmp_path)],
    ]
    for extra in cases:
        args = ["lint", *([] if extra[:1] == [str(tmp_path)] else [str(df)]), *extra, "--no-hadolint"]
        code = (
            "import sys\n"
            "from containerkit.cli import main\n"
            "try:\n"
            f"    main({args!r})\n"
            "finally:\n"
            "    print('loaded:', sorted(m for m in ('typer', 'rich') if m in sys.modules), file=sys.stderr)\n"
        )
        fast = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
        assert fast.stderr.strip().splitlines()[-1] == "loaded: []", (extra, fast.stderr)
        slow_code = f"from containerkit.cli._app import run\nrun({args!r})\n"
        slow = subprocess.run([sys.executable, "-c", slow_code], capture_output=True, text=True)
        assert (fast.returncode, fast.stdout) == (slow.returncode, slow.stdout), extra
        assert fast.stderr.strip().splitlines()[:-1] == slow.stderr.strip().splitlines(), extra
        assert "\x1b" not in fast.stdout  # one printable line per field in the table


def test_lint_forms_the_fast_path_does_not_serve_go_to_the_typer_command(tmp_path) -> None:  # type: ignore[no-untyped-def]
    missing = str(tmp_path / "Dockerfile")
    res = subprocess.run([sys.executable, "-m", "containerkit", "lint", missing], capture_output=True, text=True)
    assert res.returncode == 2 and "[CK101]" in res.stderr and "hint" in res.stderr  # typed error, with a hint
    bad = subprocess.run(
        [sys.executable, "-m", "containerkit", "lint", missing, "--format", "xml"], capture_output=True, text=True
    )
    assert bad.returncode == 2 and "xml" in bad.stderr
