"""`succeeded` means the container starts and answers: the CLI end to end on apps that do not, at first."""

from __future__ import annotations

import shutil
import urllib.request
import uuid
from pathlib import Path

import pytest

from tests.conftest import EXAMPLES
from tests.integration._cli import ck, last_json

pytestmark = [pytest.mark.integration, pytest.mark.slow]
FAULTS = Path(__file__).resolve().parents[1] / "fixtures" / "faults"


def _copy(src: Path, tmp_path: Path) -> Path:
    dst = tmp_path / src.name
    shutil.copytree(src, dst)
    return dst


def _tags(registry: str, name: str) -> list[str]:
    try:
        with urllib.request.urlopen(f"http://{registry}/v2/{name}/tags/list", timeout=5) as r:
            import json

            return list(json.load(r).get("tags") or [])
    except OSError:
        return []


def test_an_image_that_crashes_at_start_is_fixed_before_it_is_pushed(tmp_path: Path, registry: str) -> None:  # type: ignore[no-untyped-def]
    app = _copy(FAULTS / "crash-at-start", tmp_path)
    res = ck("run", str(app), "--registry", registry, "--no-scan", "--json", home=tmp_path / "home")
    assert res.returncode == 0, res.stderr[-3000:]
    out = last_json(res.stdout)
    assert out["status"] == "succeeded"
    assert out["verify"]["passed"] and out["verify"]["status_code"] == 200
    (attempt,) = out["recovery"]
    assert attempt["failed_stage"] == "buildsec" and attempt["code"] == "CK206"
    assert attempt["cause"] == "wrong_start_command" and attempt["outcome"] == "succeeded"
    assert any("Cannot find module '/app/server.js'" in line for line in attempt["evidence"])
    assert "src/server.js" in attempt["detail"]
    # the user's Dockerfile is theirs: the fixed revision lives in the session folder
    assert out["dockerfile_origin"] == "fixed" and not out["dockerfile"].startswith(str(app))
    assert (app / "Dockerfile").read_text() == (FAULTS / "crash-at-start" / "Dockerfile").read_text()
    # the first image never reached the registry; the fixed one did, and it is the one verified
    stages = [(s["stage"], s["ok"]) for s in out["stages"]]
    assert stages.index(("buildsec", False)) < stages.index(("infra", True))
    assert out["image"].startswith(registry)


def test_an_app_that_needs_a_database_url_ends_needs_config_and_resumes_with_env(tmp_path: Path, registry: str) -> None:  # type: ignore[no-untyped-def]
    app = _copy(FAULTS / "needs-database-url", tmp_path)
    home = tmp_path / "home"
    res = ck("run", str(app), "--registry", registry, "--no-scan", "--json", home=home)
    assert res.returncode == 3, res.stderr[-3000:]
    out = last_json(res.stdout)
    assert out["status"] == "needs_config" and out["needs"] == ["DATABASE_URL"]
    assert out["image"] and not out["image"].startswith(registry)  # nothing pushed
    err = out["errors"][-1]
    assert err["code"] == "CK903" and "--env DATABASE_URL=" in err["hint"]
    assert out["recovery"] == []  # no Dockerfile change can supply a database URL

    secret = "postgres://app:pw-9f3c1e77@127.0.0.1:5432/db"
    res = ck("resume", out["session_id"], "--env", f"DATABASE_URL={secret}", "--json", home=home)
    assert res.returncode == 0, res.stderr[-3000:]
    done = last_json(res.stdout)
    assert done["status"] == "succeeded" and done["verify"]["passed"]
    assert done["verify"]["env_names"] == ["DATABASE_URL"]
    assert done["image"].startswith(registry)
    for f in home.rglob("*"):
        if f.is_file():
            assert b"pw-9f3c1e77" not in f.read_bytes(), f
    assert "pw-9f3c1e77" not in res.stdout + res.stderr


def test_a_push_waits_for_approval_and_a_decline_stops_the_run(tmp_path: Path, registry: str) -> None:  # type: ignore[no-untyped-def]
    home = tmp_path / "home"
    app = tmp_path / "app"
    shutil.copytree(EXAMPLES / "python-http", app)
    name = f"ck-approval-test-{uuid.uuid4().hex[:8]}"  # the registry outlives test runs
    image = f"{name}:1"
    res = ck(
        "run",
        str(app),
        "--registry",
        registry,
        "--image",
        image,
        "--approve",
        "push",
        "--no-scan",
        "--json",
        home=home,
        stdin=subprocess_devnull(),
    )
    assert res.returncode == 4, res.stderr[-3000:]
    out = last_json(res.stdout)
    assert out["status"] == "awaiting_approval" and out["awaiting"]["step"] == "push"
    assert out["verify"]["passed"]  # verified before anyone is asked
    assert "1" not in _tags(registry, name)

    res = ck("resume", out["session_id"], "--reject", "--note", "not today", "--json", home=home)
    assert res.returncode == 1
    stopped = last_json(res.stdout)
    assert stopped["status"] == "stopped"
    assert stopped["approvals"][0]["approved"] is False and stopped["approvals"][0]["note"] == "not today"
    assert "1" not in _tags(registry, name)

    # --yes approves at once; the decision is recorded
    res = ck(
        "run",
        str(app),
        "--registry",
        registry,
        "--image",
        image,
        "--approve",
        "push",
        "--yes",
        "--no-scan",
        "--json",
        home=home,
    )
    assert res.returncode == 0, res.stderr[-3000:]
    ok = last_json(res.stdout)
    assert ok["status"] == "succeeded" and ok["approvals"][0]["approved"] is True
    assert "1" in _tags(registry, name)


def subprocess_devnull() -> int:
    import subprocess

    return subprocess.DEVNULL


def _fake_llm(*answers: str):  # type: ignore[no-untyped-def]
    """A scripted chat model (no real model is reachable here): answers in order."""
    from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
    from langchain_core.messages import AIMessage

    return GenericFakeChatModel(
        messages=iter(
            AIMessage(content=a, usage_metadata={"input_tokens": 50, "output_tokens": 20, "total_tokens": 70})
            for a in answers
        )
    )


def _run_with_llm(app: Path, home: Path, llm):  # type: ignore[no-untyped-def]
    from containerkit.agents import Deps
    from containerkit.graph import run_session
    from containerkit.settings import Settings
    from containerkit.state import RunOptions

    settings = Settings.load({"CONTAINERKIT_HOME": str(home), "CONTAINERKIT_PULL_POLICY": "never"})
    return run_session(app, RunOptions(scan=False), settings=settings, deps=Deps(settings=settings, llm=llm))


def test_an_llm_proposal_fixes_the_start_when_valid_and_the_rules_do_when_not(tmp_path: Path, docker_client) -> None:  # type: ignore[no-untyped-def]
    import json

    app = _copy(FAULTS / "crash-at-start", tmp_path)
    theirs = (app / "Dockerfile").read_text()
    assert 'CMD ["node", "server.js"]' in theirs
    fixed = theirs.replace('CMD ["node", "server.js"]', 'CMD ["node", "src/server.js"]')

    # a valid proposal: used, recorded as the model's, tokens counted
    session = _run_with_llm(app, tmp_path / "h1", _fake_llm(json.dumps({"dockerfile": fixed, "reason": "src/"})))
    assert session.status == "succeeded" and session.verify is not None and session.verify.passed
    assert [a.by for a in session.recovery] == ["llm"]
    assert session.llm_usage == {"calls": 1, "input_tokens": 50, "output_tokens": 20}

    # an invalid one (the final stage as root): refused, the rules fix it instead
    root = fixed.replace("USER 1000:1000", "USER root")
    app2 = _copy(FAULTS / "crash-at-start", tmp_path / "second")
    session = _run_with_llm(app2, tmp_path / "h2", _fake_llm(json.dumps({"dockerfile": root})))
    assert session.status == "succeeded"
    assert [a.by for a in session.recovery] == ["rules"]
    assert "src/server.js" in session.recovery[0].detail
    assert session.llm_usage["calls"] == 1


def test_a_poetry_locked_app_installs_with_pip_from_a_simple_index_and_answers(tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Poetry needs PyPI's JSON API, which this machine (like many mirrors) lacks: the lock is installed
    by plain pip from its hash-checked translation, written beside the Dockerfile."""
    app = _copy(Path(__file__).resolve().parents[1] / "fixtures" / "realapps" / "py-poetry-lock", tmp_path)
    (app / "expected.json").unlink()
    res = ck("run", str(app), "--no-scan", "--json", home=tmp_path / "home")
    assert res.returncode == 0, res.stderr[-3000:]
    out = last_json(res.stdout)
    assert out["status"] == "succeeded" and out["verify"]["passed"] and out["verify"]["status_code"] == 200
    lock = (app / ".ck-requirements.lock.txt").read_text()
    assert "--require-hashes" in lock and "bottle==0.13.2" in lock
    assert ".ck-requirements.lock.txt" in (app / "Dockerfile").read_text()
