"""Package attributes imported on first use (PEP 562), so a face loads only what a command needs.

A package lists where each public name lives and sets ``__getattr__ = lazy_attributes(__name__, WHERE)``;
``from package import name`` and ``package.name`` then import that one submodule, once (the value
is kept in the package's namespace afterwards). Type checkers still see the names through the
package's ``if TYPE_CHECKING:`` imports.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["lazy_attributes"]


def lazy_attributes(package: str, where: Mapping[str, str]) -> Callable[[str], Any]:
    """The ``__getattr__`` of ``package``: ``where`` maps a public name to its submodule's short name."""

    def __getattr__(name: str) -> Any:
        module = where.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(f"{package}.{module}"), name)
        setattr(sys.modules[package], name, value)
        return value

    return __getattr__
