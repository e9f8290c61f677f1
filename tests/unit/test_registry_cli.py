"""Bad input to `containerkit pull|tag|push` is refused at the edge (exit 2, a hint), before any engine or
registry is contacted; a password piped in never comes back out."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

import containerkit.cli as cli
from containerkit.cli import Environment, app

runner = CliRunner()
PASSWORD = "pw-cli-unit-3381"


def _run(args: list[str], home: Path, stdin: str = "", **environ: str) -> tuple[int, str]:
    env = Environment(
        stdin=io.StringIO(stdin),
        stdout=io.StringIO(),
        stderr=io.StringIO(),
        environ={"CONTAINERKIT_HOME": str(home), "DOCKER_HOST": "unix:///nonexistent/docker.sock", **environ},
    )
    cli._ENV[:] = [env]
    try:
        result = runner.invoke(app, args)
    finally:
        cli._ENV.clear()
    err = " ".join(env.stderr.getvalue().split())  # type: ignore[attr-defined]
    assert "CK999" not in err and PASSWORD not in err + env.stdout.getvalue()  # type: ignore[attr-defined]
    return result.exit_code, err


@pytest.mark.parametrize(
    ("args", "stdin", "code", "says"),
    [
        (["push", "busybox:1.35"], "", "CK106", "names no registry"),
        (["push", "busybox:1.35", "127.0.0.1:5000/Bad:x"], "", "CK105", "upper-case"),
        (["push", "busybox:1.35", "127.0.0.1:5000/a:1", "-u", "alice"], "", "CK106", "--password-stdin"),
        (["push", "busybox:1.35", "127.0.0.1:5000/a:1", "--password-stdin"], PASSWORD, "CK106", "user name"),
        (["push", "busybox:1.35", "127.0.0.1:5000/a:1", "-u", "a", "--password-stdin"], "", "CK106", "no password"),
        (["pull", "127.0.0.1:5000/a:1", "--registry-ca", "/nonexistent/ca.pem"], "", "CK106", "no such file"),
        (["tag", "busybox:1.35", "bad ref"], "", "CK105", "white space"),
    ],
)
def test_bad_input_is_refused_before_any_engine_call(
    tmp_path: Path, args: list[str], stdin: str, code: str, says: str
) -> None:
    exit_code, err = _run(args, tmp_path, stdin=stdin)
    assert exit_code == 2 and f"[{code}]" in err and says in err, err


def test_a_broken_docker_config_is_bad_input_that_names_the_file_not_its_content(tmp_path: Path) -> None:
    cfg = tmp_path / "dockercfg"
    cfg.mkdir()
    (cfg / "config.json").write_text(json.dumps({"auths": {"127.0.0.1:5000": {"auth": PASSWORD}}})[:-2])
    exit_code, err = _run(["push", "busybox:1.35", "127.0.0.1:5000/a:1"], tmp_path, DOCKER_CONFIG=str(cfg))
    assert exit_code == 2 and "[CK310]" in err and "is not valid JSON" in err


def test_no_engine_is_a_typed_error_with_a_hint(tmp_path: Path) -> None:
    exit_code, err = _run(["tag", "busybox:1.35", "x/y:1"], tmp_path)
    assert exit_code == 1 and "[CK201]" in err and "hint:" in err
