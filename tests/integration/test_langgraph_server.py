"""`langgraph dev` serves the workflow (langgraph.json); the langgraph-sdk client runs it, streams its
progress, and answers an approval interrupt."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest

from tests.conftest import ROOT, free_port


@contextlib.contextmanager
def langgraph_dev(tmp_path: Path) -> Iterator[str]:
    cli = Path(sys.executable).with_name("langgraph")
    if not cli.exists():
        pytest.skip("langgraph-cli is not installed (pip install -e '.[dev]')")
    port = free_port()
    env = {
        **os.environ,
        "LANGGRAPH_CLI_NO_ANALYTICS": "1",
        "LANGSMITH_TRACING": "false",
        "CONTAINERKIT_HOME": str(tmp_path / "home"),
        "CONTAINERKIT_PULL_POLICY": "never",
    }
    cmd = [str(cli), "dev", "--config", str(ROOT / "langgraph.json"), "--host", "127.0.0.1", "--port", str(port)]
    cmd += ["--no-browser", "--no-reload", "--allow-blocking"]
    log = (tmp_path / "langgraph-dev.log").open("w")
    proc = subprocess.Popen(cmd, cwd=tmp_path, env=env, stdout=log, stderr=subprocess.STDOUT)  # state in tmp_path
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            with contextlib.suppress(OSError), urllib.request.urlopen(f"{url}/ok", timeout=2) as r:
                if r.status == 200:
                    break
            if proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError((tmp_path / "langgraph-dev.log").read_text()[-3000:])
            time.sleep(0.5)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


async def _stream(client: Any, thread_id: str, **kwargs: Any) -> list[tuple[str, Any]]:
    return [
        (part.event, part.data)
        async for part in client.runs.stream(thread_id, "containerkit", stream_mode=["custom", "updates"], **kwargs)
    ]


def test_langgraph_dev_serves_the_workflow_and_streams_its_progress(tmp_path: Path) -> None:
    from langgraph_sdk import get_client

    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "README.md").write_text("no app here\n")

    async def main(url: str) -> tuple[list[tuple[str, Any]], dict[str, Any]]:
        client = get_client(url=url)
        thread = await client.threads.create()
        parts = await _stream(client, thread["thread_id"], input={"session_id": "lg-1", "repo_path": str(empty)})
        return parts, (await client.threads.get_state(thread["thread_id"]))["values"]

    with langgraph_dev(tmp_path) as url:
        parts, values = anyio.run(main, url)
    stages = [(d["stage"], d["status"]) for e, d in parts if e == "custom" and d.get("kind") == "stage"]
    assert ("analyze", "started") in stages and ("analyze", "failed") in stages
    assert values["status"] == "failed" and [e["code"] for e in values["errors"]] == ["CK103"]


@pytest.mark.integration
@pytest.mark.slow
def test_langgraph_sdk_runs_a_workflow_through_an_approval_interrupt(
    tmp_path: Path, registry: str, example_copy: Any
) -> None:
    from langgraph_sdk import get_client

    app = example_copy("python-http")

    async def main(url: str) -> tuple[dict[str, Any], dict[str, Any]]:
        client = get_client(url=url)
        thread = await client.threads.create()
        tid = thread["thread_id"]
        session = {"session_id": "lg-2", "repo_path": str(app), "options": {"registry": registry, "approve": ["push"]}}
        await _stream(client, tid, input=session)
        paused = await client.threads.get_state(tid)
        await _stream(client, tid, command={"resume": {"approved": True, "note": "via langgraph-sdk"}})
        return paused, (await client.threads.get_state(tid))["values"]

    with langgraph_dev(tmp_path) as url:
        paused, values = anyio.run(main, url)
    questions = [i["value"] for task in paused["tasks"] for i in task.get("interrupts", [])]
    assert questions and questions[0]["step"] == "push", paused
    assert values["status"] == "succeeded", values["errors"]
    assert str(values["images"]["digest"]).startswith("sha256:")
    assert values["approvals"][0]["approved"] is True and values["approvals"][0]["note"] == "via langgraph-sdk"
