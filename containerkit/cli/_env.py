"""The CLI's injectable environment (after httpie's): streams, settings, terminal facts.

Commands never touch ``sys.stdout`` or ``os.environ`` directly, so tests run them with their own.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import IO, TYPE_CHECKING

from containerkit.settings import Settings

if TYPE_CHECKING:  # rich loads when something is printed
    from rich.console import Console

__all__ = ["Environment"]


@dataclass
class Environment:
    stdin: IO[str] = field(default_factory=lambda: sys.stdin)
    stdout: IO[str] = field(default_factory=lambda: sys.stdout)
    stderr: IO[str] = field(default_factory=lambda: sys.stderr)
    environ: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))
    debug: bool = False
    managed: bool = False
    """Made by the CLI itself (not injected by a caller): replaced afresh on every invocation."""
    _settings: Settings | None = None

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            self._settings = Settings.load(self.environ)
        return self._settings

    @property
    def stdin_is_tty(self) -> bool:
        """Questions are asked only when a person can answer them."""
        try:
            return self.stdin.isatty()
        except (AttributeError, ValueError):
            return False

    @property
    def out(self) -> Console:
        """Machine output (tables, JSON) goes here."""
        from rich.console import Console

        return Console(file=self.stdout, soft_wrap=True, highlight=False)

    @property
    def err(self) -> Console:
        """Progress, warnings and errors go here, so ``--json`` stdout stays parseable."""
        from rich.console import Console

        return Console(file=self.stderr, highlight=False)
