"""The MCP server through real clients: the MCP Python SDK's client (stdio and streamable HTTP),
langchain-mcp-adapters, and the MCP Inspector CLI (npm). Tests that need no engine run in the edit
loop; the workflow test builds and pushes an image (integration, slow)."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from mcp import ClientSession, StdioServerParameters, types
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import McpError
from pydantic import AnyUrl

from tests.conftest import EXAMPLES, free_port

TOOL_NAMES = {
    "analyze_repo",
    "generate_dockerfile",
    "lint_dockerfile",
    "build_image",
    "scan_image",
    "tag_image",
    "push_image",
    "pull_image",
    "generate_manifests",
    "run_workflow",
    "list_sessions",
    "session_status",
    "resume_session",
}
APP = EXAMPLES / "python-http"


def _env(home: Path) -> dict[str, str]:
    return {**os.environ, "CONTAINERKIT_HOME": str(home), "CONTAINERKIT_PULL_POLICY": "never"}


def _stdio(home: Path, *roots: Path) -> StdioServerParameters:
    args = ["-m", "containerkit", "mcp"] + [a for r in roots for a in ("--root", str(r))]
    return StdioServerParameters(command=sys.executable, args=args, env=_env(home))


def _text(result: types.CallToolResult) -> str:
    return "\n".join(c.text for c in result.content if isinstance(c, types.TextContent))


@contextlib.contextmanager
def http_server(home: Path, *roots: Path, token: str | None = None) -> Iterator[str]:
    """`containerkit mcp --http` in a subprocess; yields its URL once it accepts connections."""
    port = free_port()
    cmd = [sys.executable, "-m", "containerkit", "mcp", "--http", "--port", str(port)]
    cmd += [a for r in roots for a in ("--root", str(r))] + (["--token", token] if token else [])
    proc = subprocess.Popen(cmd, env=_env(home), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 30
        while True:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
                break
            if proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"server did not start: {proc.communicate(timeout=5)}")
            time.sleep(0.1)
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


async def _check_errors_then_serves(s: ClientSession) -> None:
    """A path outside the roots, a missing argument and a wrong type: clean tool errors; then it still works."""
    outside = await s.call_tool("analyze_repo", {"path": "/etc"})
    assert outside.isError and "[CK120]" in _text(outside) and "hint:" in _text(outside)
    assert outside.structuredContent == {
        "error": {
            "code": "CK120",
            "error": "PathOutsideRoots",
            **{
                k: outside.structuredContent["error"][k]
                for k in ("message", "hint")  # type: ignore[index]
            },
        }
    }
    missing = await s.call_tool("analyze_repo", {})
    assert missing.isError and "path: Field required" in _text(missing)
    wrong = await s.call_tool("analyze_repo", {"path": 42})
    assert wrong.isError and "path: Input should be a valid string" in _text(wrong)
    unknown = await s.call_tool("no_such_tool", {})
    assert unknown.isError and "[CK106]" in _text(unknown)
    again = await s.call_tool("analyze_repo", {"path": str(APP)})
    assert not again.isError


def test_stdio_client_lists_tools_calls_analyze_and_gets_clean_errors(tmp_path: Path) -> None:
    async def main() -> None:
        async with stdio_client(_stdio(tmp_path, EXAMPLES)) as (r, w), ClientSession(r, w) as s:
            init = await s.initialize()
            assert init.serverInfo.name == "containerkit"
            tools = {t.name: t for t in (await s.list_tools()).tools}
            assert set(tools) == TOOL_NAMES
            assert tools["analyze_repo"].inputSchema["required"] == ["path"]
            assert tools["push_image"].inputSchema["properties"]["password"]["anyOf"][0]["writeOnly"] is True
            res = await s.call_tool("analyze_repo", {"path": str(APP)})
            assert not res.isError, _text(res)
            assert res.structuredContent is not None
            module = res.structuredContent["modules"][0]
            assert (module["language"], module["port"]) == ("python", 8080)
            assert "1 module(s)" in _text(res)
            await _check_errors_then_serves(s)
            templates = (await s.list_resource_templates()).resourceTemplates
            assert "containerkit://sessions/{session_id}/dockerfile" in {t.uriTemplate for t in templates}
            prompt = await s.get_prompt("containerize", {"path": str(APP)})
            assert "run_workflow" in prompt.messages[0].content.text  # type: ignore[union-attr]

    anyio.run(main)


def test_stdio_stdout_carries_only_protocol_messages(tmp_path: Path) -> None:
    """A client config of `containerkit mcp` parses every stdout line as JSON-RPC."""
    msgs = [
        {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "initialize",
            "params": {
                "protocolVersion": "2025-06-18",
                "capabilities": {},
                "clientInfo": {"name": "raw", "version": "0"},
            },
        },
        {"jsonrpc": "2.0", "method": "notifications/initialized"},
        {
            "jsonrpc": "2.0",
            "id": 2,
            "method": "tools/call",
            "params": {"name": "analyze_repo", "arguments": {"path": str(APP)}},
        },
        {
            "jsonrpc": "2.0",
            "id": 3,
            "method": "tools/call",
            "params": {"name": "lint_dockerfile", "arguments": {"path": "/etc/passwd"}},
        },
    ]
    proc = subprocess.Popen(
        [sys.executable, "-m", "containerkit", "mcp", "--root", str(EXAMPLES)],
        env=_env(tmp_path),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdin is not None and proc.stdout is not None
    lines = []
    for m in msgs:
        proc.stdin.write(json.dumps(m) + "\n")
        proc.stdin.flush()
        if "id" in m:
            lines.append(proc.stdout.readline())
    proc.stdin.close()
    rest = proc.stdout.read()
    proc.wait(timeout=20)
    lines += rest.splitlines()
    parsed = [json.loads(line) for line in lines if line.strip()]
    assert all(p["jsonrpc"] == "2.0" for p in parsed)
    by_id = {p.get("id"): p for p in parsed}
    assert by_id[2]["result"]["isError"] is False
    assert by_id[3]["result"]["isError"] is True


def test_client_roots_confine_paths_and_links_out_are_refused(tmp_path: Path) -> None:
    """Without --root the client's roots decide; a symlink inside a root pointing out of it is refused."""
    root = tmp_path / "work"
    shutil.copytree(APP, root / "app")
    (root / "escape").symlink_to("/etc")

    async def roots_cb(_ctx: Any) -> types.ListRootsResult:
        return types.ListRootsResult(roots=[types.Root(uri=root.as_uri(), name="work")])  # type: ignore[arg-type]

    async def main() -> None:
        async with stdio_client(_stdio(tmp_path)) as (r, w), ClientSession(r, w, list_roots_callback=roots_cb) as s:
            await s.initialize()
            ok = await s.call_tool("analyze_repo", {"path": str(root / "app")})
            assert not ok.isError, _text(ok)
            rel = await s.call_tool("analyze_repo", {"path": "app"})
            assert not rel.isError, _text(rel)
            for bad in (str(APP), str(root / "escape"), str(root / "app" / ".." / ".." / "..")):
                res = await s.call_tool("analyze_repo", {"path": bad})
                assert res.isError and "[CK120]" in _text(res), bad

    anyio.run(main)


def test_no_roots_at_all_refuses_paths_with_a_hint(tmp_path: Path) -> None:
    async def main() -> None:
        async with stdio_client(_stdio(tmp_path)) as (r, w), ClientSession(r, w) as s:
            await s.initialize()
            res = await s.call_tool("analyze_repo", {"path": str(APP)})
            assert res.isError and "--root" in _text(res)

    anyio.run(main)


def test_http_client_twenty_concurrent_calls_all_succeed(tmp_path: Path) -> None:
    results: list[types.CallToolResult] = []

    async def one(s: ClientSession) -> None:
        results.append(await s.call_tool("analyze_repo", {"path": str(APP)}))

    async def main(url: str) -> None:
        async with streamable_http_client(url) as (r, w, _), ClientSession(r, w) as s:
            await s.initialize()
            assert {t.name for t in (await s.list_tools()).tools} == TOOL_NAMES
            async with anyio.create_task_group() as tg:
                for _ in range(20):
                    tg.start_soon(one, s)
            await _check_errors_then_serves(s)

    with http_server(tmp_path, EXAMPLES) as url:
        anyio.run(main, url)
    assert len(results) == 20
    assert all(not r.isError and r.structuredContent["modules"][0]["language"] == "python" for r in results)  # type: ignore[index]


def test_http_run_workflow_streams_progress_and_reports_a_failed_session_with_its_hint(tmp_path: Path) -> None:
    """No engine needed: a folder without an app fails in analysis; the stages arrive as progress."""
    empty = tmp_path / "work" / "empty"
    empty.mkdir(parents=True)
    (empty / "README.md").write_text("nothing to run here\n")
    progress: list[str] = []

    async def on_progress(_p: float, _t: float | None, message: str | None) -> None:
        progress.append(message or "")

    async def main(url: str) -> tuple[types.CallToolResult, types.CallToolResult]:
        async with streamable_http_client(url) as (r, w, _), ClientSession(r, w) as s:
            await s.initialize()
            run = await s.call_tool("run_workflow", {"path": str(empty)}, progress_callback=on_progress)
            return run, await s.call_tool("list_sessions", {})

    with http_server(tmp_path / "home", tmp_path / "work") as url:
        run, listed = anyio.run(main, url)
    assert not run.isError  # the run ran; its session failed
    result = run.structuredContent
    assert result is not None and result["status"] == "failed"
    assert result["errors"][0]["code"] == "CK103" and result["errors"][0]["hint"]
    assert "error [CK103]" in _text(run) and "hint:" in _text(run)
    assert any("analyze" in m for m in progress), progress
    assert listed.structuredContent["sessions"][0]["session_id"] == result["session_id"]  # type: ignore[index]


def test_a_client_sees_only_the_sessions_of_repositories_inside_its_roots(tmp_path: Path) -> None:
    """One store, two clients with different roots: the other client neither lists nor reads the session."""
    mine = tmp_path / "work" / "mine"
    mine.mkdir(parents=True)
    (mine / "README.md").write_text("nothing to run here\n")
    (tmp_path / "other").mkdir()

    async def run_in(url: str) -> str:
        async with streamable_http_client(url) as (r, w, _), ClientSession(r, w) as s:
            await s.initialize()
            run = await s.call_tool("run_workflow", {"path": str(mine)})
            assert run.structuredContent is not None
            return str(run.structuredContent["session_id"])

    async def look(url: str, sid: str) -> tuple[Any, types.CallToolResult, set[str], str]:
        async with streamable_http_client(url) as (r, w, _), ClientSession(r, w) as s:
            await s.initialize()
            listed = (await s.call_tool("list_sessions", {})).structuredContent
            status = await s.call_tool("session_status", {"session_id": sid})
            uris = {str(res.uri) for res in (await s.list_resources()).resources}
            try:
                await s.read_resource(AnyUrl(f"containerkit://sessions/{sid}"))
                read = "read"
            except McpError as exc:
                read = exc.error.message
            return listed, status, uris, read

    home = tmp_path / "home"
    with http_server(home, tmp_path / "work") as url:
        sid = anyio.run(run_in, url)
        listed, status, uris, read = anyio.run(look, url, sid)
    assert [r["session_id"] for r in listed["sessions"]] == [sid] and not status.isError
    assert f"containerkit://sessions/{sid}" in uris and read == "read"
    with http_server(home, tmp_path / "other") as url:
        listed, status, uris, read = anyio.run(look, url, sid)
    assert listed["sessions"] == [] and str(mine) not in json.dumps(listed)
    assert status.isError and "[CK120]" in _text(status)
    assert not any(sid in u for u in uris) and "CK120" in read


def test_http_beyond_loopback_needs_a_token_and_a_token_is_enforced(tmp_path: Path) -> None:
    refused = subprocess.run(
        [sys.executable, "-m", "containerkit", "mcp", "--http", "--host", "0.0.0.0", "--port", str(free_port())],
        env={k: v for k, v in _env(tmp_path).items() if k != "CONTAINERKIT_MCP_TOKEN"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert refused.returncode == 2 and "--token" in refused.stderr

    async def main(url: str) -> None:
        headers = {"Authorization": "Bearer s3cret-token"}
        async with (
            httpx.AsyncClient(headers=headers, timeout=30) as http,
            streamable_http_client(url, http_client=http) as (r, w, _),
            ClientSession(r, w) as s,
        ):
            await s.initialize()
            assert not (await s.call_tool("analyze_repo", {"path": str(APP)})).isError

    with http_server(tmp_path, EXAMPLES, token="s3cret-token") as url:
        hello = {"jsonrpc": "2.0", "id": 1, "method": "ping"}
        accept = {"Accept": "application/json, text/event-stream"}
        assert httpx.post(url, json=hello, headers=accept).status_code == 401
        wrong = httpx.post(url, json=hello, headers={**accept, "Authorization": "Bearer nope"})
        assert wrong.status_code == 401
        auth = {"Authorization": "Bearer s3cret-token"}
        rebound = httpx.post(url, json=hello, headers={**accept, **auth, "Host": "evil.example:80"})
        assert rebound.status_code == 421  # a web page reaching 127.0.0.1 through DNS rebinding is refused
        anyio.run(main, url)


def test_langchain_mcp_adapters_load_the_tools_and_call_one(tmp_path: Path) -> None:
    from langchain_mcp_adapters.client import MultiServerMCPClient

    params = _stdio(tmp_path, EXAMPLES)

    async def main() -> None:
        client = MultiServerMCPClient(
            {"containerkit": {"transport": "stdio", "command": params.command, "args": params.args, "env": params.env}}
        )
        tools = {t.name: t for t in await client.get_tools()}
        assert set(tools) == TOOL_NAMES
        out = await tools["analyze_repo"].ainvoke({"path": str(APP)})
        assert "1 module(s)" in str(out)
        bad = await tools["analyze_repo"].ainvoke({"path": "/etc"})
        assert "CK120" in str(bad)

    anyio.run(main)


_NPM_OFFLINE = ("ENOTFOUND", "EAI_AGAIN", "ECONNREFUSED", "ETIMEDOUT", "ECONNRESET", "E404", "network request")


def _inspector(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    npx = shutil.which("npx")
    if npx is None:
        pytest.skip("npx is not installed (Node 20 with npm is needed for the MCP Inspector)")
    cache = Path(os.environ.get("CK_NPM_CACHE", Path.home() / ".cache" / "containerkit" / "npm"))
    env = {**_env(home), "npm_config_cache": str(cache), "npm_config_update_notifier": "false"}
    cmd = [npx, "-y", "@modelcontextprotocol/inspector@0.15.0", "--cli", *args]
    res = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600, check=False)
    if res.returncode != 0 and any(code in res.stderr for code in _NPM_OFFLINE):
        pytest.skip(f"npm cannot fetch @modelcontextprotocol/inspector@0.15.0: {res.stderr[-300:]}")
    return res


@pytest.mark.slow
def test_mcp_inspector_cli_lists_tools_and_calls_analyze_over_stdio(tmp_path: Path) -> None:
    server = [sys.executable, "-m", "containerkit", "mcp", "--root", str(EXAMPLES)]
    listed = _inspector(*server, "--method", "tools/list", home=tmp_path)
    assert listed.returncode == 0, listed.stderr[-2000:]
    assert {t["name"] for t in json.loads(listed.stdout)["tools"]} == TOOL_NAMES
    called = _inspector(
        *server, "--method", "tools/call", "--tool-name", "analyze_repo", "--tool-arg", f"path={APP}", home=tmp_path
    )
    assert called.returncode == 0, called.stderr[-2000:]
    result = json.loads(called.stdout)
    assert result["isError"] is False
    assert result["structuredContent"]["modules"][0]["language"] == "python"


@pytest.mark.slow
def test_mcp_inspector_cli_lists_tools_and_calls_analyze_over_http(tmp_path: Path) -> None:
    with http_server(tmp_path, EXAMPLES) as url:
        listed = _inspector(url, "--transport", "http", "--method", "tools/list", home=tmp_path)
        assert listed.returncode == 0, listed.stderr[-2000:]
        assert {t["name"] for t in json.loads(listed.stdout)["tools"]} == TOOL_NAMES
        called = _inspector(
            url,
            "--transport",
            "http",
            "--method",
            "tools/call",
            "--tool-name",
            "analyze_repo",
            "--tool-arg",
            "path=/etc",
            home=tmp_path,
        )
        assert called.returncode == 0, called.stderr[-2000:]  # a tool error is a result, not a failure
        result = json.loads(called.stdout)
        assert result["isError"] is True and result["structuredContent"]["error"]["code"] == "CK120"


@pytest.mark.integration
@pytest.mark.slow
def test_mcp_inspector_cli_runs_the_workflow_over_http(tmp_path: Path, registry: str, example_copy: Any) -> None:
    app = example_copy("python-http")
    with http_server(tmp_path / "home", tmp_path) as url:
        called = _inspector(
            url,
            "--transport",
            "http",
            "--method",
            "tools/call",
            "--tool-name",
            "run_workflow",
            "--tool-arg",
            f"path={app}",
            "--tool-arg",
            f"registry={registry}",
            "--tool-arg",
            "image=mcp-inspector:1",
            home=tmp_path,
        )
    assert called.returncode == 0, called.stderr[-2000:]
    result = json.loads(called.stdout)["structuredContent"]
    assert result["status"] == "succeeded", result["errors"]
    assert result["verify"]["passed"] is True and str(result["digest"]).startswith("sha256:")


@pytest.mark.integration
@pytest.mark.slow
def test_run_workflow_pauses_for_push_approval_and_resume_finishes_it(
    tmp_path: Path, registry: str, example_copy: Any
) -> None:
    """An MCP client runs the whole journey, sees the approval interrupt, approves, gets the digest.

    Registry credentials and app environment values pass through and are never echoed or checkpointed.
    """
    app = example_copy("python-http")
    home = tmp_path / "home"
    password, env_value = "pw-never-stored-7731", "env-never-stored-4419"
    progress: list[str] = []

    async def on_progress(_p: float, _t: float | None, message: str | None) -> None:
        progress.append(message or "")

    async def main() -> tuple[dict[str, Any], dict[str, Any], str, str]:
        async with stdio_client(_stdio(home, tmp_path)) as (r, w), ClientSession(r, w) as s:
            await s.initialize()
            run = await s.call_tool(
                "run_workflow",
                {
                    "path": str(app),
                    "registry": registry,
                    "image": "mcp-approve:1",
                    "approve": ["push"],
                    "username": "someone",
                    "password": password,
                    "env": {"GREETING": env_value},
                },
                progress_callback=on_progress,
            )
            assert not run.isError, _text(run)
            paused = run.structuredContent
            assert paused is not None and paused["status"] == "awaiting_approval", _text(run)
            assert paused["awaiting"]["step"] == "push" and paused["verify"]["passed"] is True
            sid = paused["session_id"]
            assert f"session_id={sid}" in _text(run)
            status = await s.call_tool("session_status", {"session_id": sid})
            assert status.structuredContent["status"] == "awaiting_approval"  # type: ignore[index]
            dockerfile = await s.read_resource(f"containerkit://sessions/{sid}/dockerfile")  # type: ignore[arg-type]
            assert "FROM " in dockerfile.contents[0].text  # type: ignore[union-attr]
            done = await s.call_tool(
                "resume_session",
                {
                    "session_id": sid,
                    "approved": True,
                    "note": "looks good",
                    "username": "someone",
                    "password": password,
                },
            )
            assert not done.isError, _text(done)
            manifests = await s.read_resource(f"containerkit://sessions/{sid}/manifests")  # type: ignore[arg-type]
            scan = await s.read_resource(f"containerkit://sessions/{sid}/scan")  # type: ignore[arg-type]
            assert json.loads(scan.contents[0].text)["image_id"].startswith("sha256:")  # type: ignore[union-attr]
            state = await s.read_resource(f"containerkit://sessions/{sid}")  # type: ignore[arg-type]
            assert json.loads(state.contents[0].text)["status"] == "succeeded"  # type: ignore[union-attr]
            listed = {str(res.uri) for res in (await s.list_resources()).resources}
            assert f"containerkit://sessions/{sid}" in listed
            return done.structuredContent, paused, manifests.contents[0].text, _text(run) + _text(done)  # type: ignore[return-value,union-attr]

    done, _paused, manifests, texts = anyio.run(main)
    assert done["status"] == "succeeded", done["errors"]
    assert str(done["digest"]).startswith("sha256:")
    assert done["approvals"][0]["approved"] is True and done["approvals"][0]["note"] == "looks good"
    assert "kind: Deployment" in manifests
    assert any("build" in m for m in progress), progress[:20]
    dumped = json.dumps(done) + texts
    assert password not in dumped and env_value not in dumped
    stored = b"".join(p.read_bytes() for p in home.rglob("*") if p.is_file())  # sessions.sqlite, its WAL, reports
    assert password.encode() not in stored and env_value.encode() not in stored


@pytest.mark.integration
@pytest.mark.slow
def test_engine_tools_build_scan_tag_push_pull_and_manifests_through_the_client(
    tmp_path: Path, registry: str, example_copy: Any
) -> None:
    """Each engine tool called on its own, as an agent composing the steps would; the password stays unseen."""
    app = example_copy("python-http")
    password = "pw-tools-never-echoed-5521"
    progress: list[str] = []
    errlog = (tmp_path / "server.err").open("w")

    async def on_progress(_p: float, _t: float | None, message: str | None) -> None:
        progress.append(message or "")

    async def main() -> list[types.CallToolResult]:
        results = []
        params = _stdio(tmp_path / "home", tmp_path)
        async with stdio_client(params, errlog=errlog) as (r, w), ClientSession(r, w) as s:
            await s.initialize()

            async def call(name: str, args: dict[str, Any]) -> dict[str, Any]:
                res = await s.call_tool(name, args, progress_callback=on_progress)
                results.append(res)
                assert not res.isError, f"{name}: {_text(res)}"
                assert res.structuredContent is not None
                return res.structuredContent

            assert (await call("generate_dockerfile", {"path": str(app), "write": True}))["written"]
            await call("lint_dockerfile", {"path": str(app / "Dockerfile")})
            built = await call("build_image", {"context": str(app), "tags": ["mcp-tools:1"]})
            assert built["image_id"].startswith("sha256:")
            scanned = await call("scan_image", {"image": "mcp-tools:1", "dockerfile": str(app / "Dockerfile")})
            assert "counts" in scanned and "passed" in scanned
            await call("tag_image", {"image": "mcp-tools:1", "ref": "mcp-tools:extra"})
            ref = f"{registry}/mcp-tools:1"
            pushed = await call(
                "push_image", {"image": "mcp-tools:1", "ref": ref, "username": "u", "password": password}
            )
            assert pushed["digest"].startswith("sha256:")
            pulled = await call("pull_image", {"ref": ref, "username": "u", "password": password})
            assert pulled["image_id"] == built["image_id"]
            written = await call(
                "generate_manifests", {"name": "mcp-tools", "image": ref, "port": 8080, "out_dir": str(app / "k8s")}
            )
            assert len(written["written"]) == 2
            outside = await s.call_tool(
                "generate_manifests", {"name": "x", "image": ref, "port": 8080, "out_dir": "/tmp/elsewhere"}
            )
            assert outside.isError and "[CK120]" in _text(outside)
        return results

    results = anyio.run(main)
    errlog.close()
    assert any(m.startswith("build") for m in progress) and any(m.startswith("scan") for m in progress), progress
    seen = json.dumps([r.model_dump(mode="json") for r in results]) + (tmp_path / "server.err").read_text()
    assert password not in seen
