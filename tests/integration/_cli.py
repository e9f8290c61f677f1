"""Run the real CLI in a subprocess, as a user would, and read its JSON result."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any


def ck(
    *args: str, home: Path, timeout: float = 600, env_extra: dict[str, str] | None = None, **popen: Any
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CONTAINERKIT_HOME": str(home), "CONTAINERKIT_PULL_POLICY": "never", **(env_extra or {})}
    return subprocess.run(
        [sys.executable, "-m", "containerkit", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        check=False,
        **popen,
    )


def last_json(stdout: str) -> dict[str, Any]:
    """The last thing printed is one JSON object."""
    start = stdout.rfind("\n{")
    text = stdout[start + 1 :] if start >= 0 else stdout
    data = json.loads(text)
    assert isinstance(data, dict)
    return data


def tree_digest(path: Path) -> dict[str, bytes]:
    return {str(p.relative_to(path)): p.read_bytes() for p in sorted(path.rglob("*")) if p.is_file()}
