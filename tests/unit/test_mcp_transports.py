"""The transports' guards: stdout keeps protocol messages only; HTTP beyond loopback needs a token."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from containerkit.errors import InvalidOption
from containerkit.mcp.transports import check_bind, is_loopback_host


def test_stray_writes_to_stdout_land_on_stderr_once_the_protocol_owns_stdout() -> None:
    code = textwrap.dedent(
        """
        import os, subprocess, anyio
        from containerkit.mcp.transports import _protocol_stdout
        proto = _protocol_stdout()
        print("a library's print")
        subprocess.run(["echo", "a child process"], check=True)
        os.write(1, b"a raw write\\n")
        async def main():
            await proto.write('{"jsonrpc": "2.0", "method": "ping"}\\n')
            await proto.flush()
        anyio.run(main)
        """
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False)
    assert res.returncode == 0, res.stderr
    assert res.stdout == '{"jsonrpc": "2.0", "method": "ping"}\n'
    assert "a library's print" in res.stderr and "a child process" in res.stderr and "a raw write" in res.stderr


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "::1", "[::1]", "127.0.0.2"])
def test_loopback_addresses_need_no_token(host: str) -> None:
    assert is_loopback_host(host)
    check_bind(host, None)


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.10", "example.com"])
def test_any_other_address_needs_a_token(host: str) -> None:
    assert not is_loopback_host(host)
    with pytest.raises(InvalidOption) as info:
        check_bind(host, None)
    assert "--token" in info.value.hint
    check_bind(host, "a-token")
