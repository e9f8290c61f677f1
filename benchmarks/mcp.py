"""analyze_repo in-process against the same call over MCP streamable HTTP, in one run.

Also times the same server object over the SDK's in-memory transport (the protocol without HTTP).
Starts ``containerkit mcp --http`` on a free loopback port, calls analyze_repo on an example with the
MCP Python SDK's client (one session, sequential calls), and prints p50/p95 latency of both, the
overhead (target: under 20 ms at p95), and the server's resident memory after warm-up and after all
calls (target: flat). Not a pass/fail test.

    python benchmarks/mcp.py [--calls 200] [--warmup 20] [--example python-http]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

# this file is named mcp.py: its folder (first on sys.path for a script) must not shadow the mcp package
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import anyio  # noqa: E402
from mcp import ClientSession  # noqa: E402
from mcp.client.streamable_http import streamable_http_client  # noqa: E402
from mcp.shared.memory import create_connected_server_and_client_session  # noqa: E402

from containerkit.mcp import ContainerKitMCP  # noqa: E402
from containerkit.settings import Settings  # noqa: E402
from containerkit.tools.analyze import analyze_repo  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def server(root: Path, home: Path) -> Iterator[tuple[str, int]]:
    port = free_port()
    env = {**os.environ, "CONTAINERKIT_HOME": str(home)}
    cmd = [sys.executable, "-m", "containerkit", "mcp", "--http", "--port", str(port), "--root", str(root)]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while True:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
                break
            if proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("the MCP server did not start")
            time.sleep(0.1)
        yield f"http://127.0.0.1:{port}/mcp", proc.pid
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def in_process(app: Path, calls: int, warmup: int) -> list[float]:
    for _ in range(warmup):
        analyze_repo(app)
    out = []
    for _ in range(calls):
        t0 = time.perf_counter()
        analyze_repo(app)
        out.append((time.perf_counter() - t0) * 1000)
    return out


async def in_memory(app: Path, calls: int, warmup: int, home: Path) -> list[float]:
    """The same server object over the SDK's in-memory transport: the protocol's cost without HTTP."""
    face = ContainerKitMCP(Settings.load({"CONTAINERKIT_HOME": str(home)}), roots=[app.parent])
    out = []
    async with create_connected_server_and_client_session(face.server) as s:
        for _ in range(warmup):
            await s.call_tool("analyze_repo", {"path": str(app)})
        for _ in range(calls):
            t0 = time.perf_counter()
            await s.call_tool("analyze_repo", {"path": str(app)})
            out.append((time.perf_counter() - t0) * 1000)
    return out


async def over_mcp(url: str, pid: int, app: Path, calls: int, warmup: int) -> tuple[list[float], float, float]:
    out = []
    async with streamable_http_client(url) as (r, w, _), ClientSession(r, w) as s:
        await s.initialize()
        for _ in range(warmup):
            await s.call_tool("analyze_repo", {"path": str(app)})
        after_warmup = rss_mb(pid)
        for _ in range(calls):
            t0 = time.perf_counter()
            res = await s.call_tool("analyze_repo", {"path": str(app)})
            out.append((time.perf_counter() - t0) * 1000)
            if res.isError:
                raise SystemExit(f"analyze_repo failed over MCP: {res.content}")
    return out, after_warmup, rss_mb(pid)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--calls", type=int, default=200)
    ap.add_argument("--warmup", type=int, default=20)
    ap.add_argument("--example", default="python-http")
    args = ap.parse_args()
    app = ROOT / "examples" / args.example
    local = in_process(app, args.calls, args.warmup)
    with tempfile.TemporaryDirectory() as home:
        memory = anyio.run(in_memory, app, args.calls, args.warmup, Path(home))
        with server(ROOT / "examples", Path(home)) as (url, pid):
            remote, rss_warm, rss_end = anyio.run(over_mcp, url, pid, app, args.calls, args.warmup)
    print(f"analyze_repo on examples/{args.example}, {args.calls} calls each after {args.warmup} warm-up calls")
    print(f"{'':22}{'p50 ms':>10}{'p95 ms':>10}{'mean ms':>10}")
    for name, xs in (("in-process", local), ("MCP in-memory", memory), ("MCP over HTTP", remote)):
        print(f"{name:22}{pct(xs, 50):10.2f}{pct(xs, 95):10.2f}{statistics.fmean(xs):10.2f}")
    over50, over95 = pct(remote, 50) - pct(local, 50), pct(remote, 95) - pct(local, 95)
    ratio = pct(remote, 50) / pct(local, 50) if pct(local, 50) else float("nan")
    verdict = "within" if over95 < 20 else "ABOVE"
    print(f"MCP overhead: p50 +{over50:.2f} ms, p95 +{over95:.2f} ms ({verdict} the 20 ms target); {ratio:.1f}x at p50")
    print(
        f"server RSS: {rss_warm:.1f} MB after warm-up, {rss_end:.1f} MB after {args.calls} more calls "
        f"({rss_end - rss_warm:+.1f} MB)"
    )


if __name__ == "__main__":
    main()
