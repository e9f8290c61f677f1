"""What changes when containerkit changes: its code and data files by size and modification time.

Stdlib only: the results cache keys results by it, and a ``containerkit run`` compares it with a
warm server's before handing the run over (that check must not load pydantic).
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

__all__ = ["code_stamp"]

_SUFFIXES = (".py", ".rego", ".toml", ".json", ".yaml")


def code_stamp() -> str:
    """A digest of every code and data file of the package (rules, policies, catalogs): an upgrade or an
    edit changes it."""
    root = Path(__file__).resolve().parent
    h = hashlib.sha256()
    for folder, dirs, files in sorted(os.walk(root)):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        for name in sorted(files):
            if name.endswith(_SUFFIXES):
                st = os.stat(os.path.join(folder, name))
                h.update(f"{os.path.relpath(folder, root)}/{name}:{st.st_size}:{st.st_mtime_ns}\n".encode())
    return h.hexdigest()[:32]
