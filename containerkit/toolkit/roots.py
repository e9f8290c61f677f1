"""The folders an agent client may touch: every path argument must resolve (links followed) inside one."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from containerkit.errors import PathOutsideRoots

__all__ = ["RootGuard"]


class RootGuard:
    """Allowed roots, resolved once; ``check`` resolves a path argument and refuses one outside them.

    A relative path is taken relative to the first root (an LLM often writes ``examples/app``).
    """

    def __init__(self, roots: Iterable[Path | str]) -> None:
        self.roots: tuple[Path, ...] = tuple(dict.fromkeys(Path(r).expanduser().resolve() for r in roots))

    def __repr__(self) -> str:
        return f"RootGuard({[str(r) for r in self.roots]})"

    def contains(self, value: str | Path) -> bool:
        """True when ``value`` resolves inside a root (a session's repository shown only to its client)."""
        try:
            self.check(value)
        except PathOutsideRoots:
            return False
        return True

    def check(self, value: str | Path, what: str = "path") -> Path:
        if not self.roots:
            raise PathOutsideRoots(
                f"{what} {str(value)!r} refused: no allowed roots",
                hint="Start the server with `containerkit mcp --root DIR`, or use an MCP client that declares roots.",
            )
        raw = Path(value).expanduser()
        if not raw.is_absolute():
            raw = self.roots[0] / raw
        try:
            real = raw.resolve()  # follows every link that exists, so a link out of a root is caught
        except (OSError, RuntimeError) as exc:  # a link loop
            raise PathOutsideRoots(f"{what} {str(value)!r} cannot be resolved: {exc}") from None
        if not any(real == root or root in real.parents for root in self.roots):
            raise PathOutsideRoots(
                f"{what} {str(value)!r} is outside the allowed roots",
                hint="Allowed roots: " + ", ".join(str(r) for r in self.roots) + ".",
                path=str(value),
            )
        return real
