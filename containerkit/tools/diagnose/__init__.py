"""The failure taxonomy: evidence from a failed build, start, push or deploy -> a category and its lines.

Names are imported on first use: the session state needs the models, only a failure needs the rules.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from containerkit.tools.diagnose.classify import RULES, Rule, classify, config_from_code, runtime_package_for
    from containerkit.tools.diagnose.models import CATEGORIES, Category, Diagnosis, FailureEvidence, FailureStage

__all__ = [
    "CATEGORIES",
    "RULES",
    "Category",
    "Diagnosis",
    "FailureEvidence",
    "FailureStage",
    "Rule",
    "classify",
    "config_from_code",
    "runtime_package_for",
]

_MODELS = frozenset({"CATEGORIES", "Category", "Diagnosis", "FailureEvidence", "FailureStage"})


def __getattr__(name: str) -> Any:
    if name not in __all__:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    module = importlib.import_module(f"{__name__}.{'models' if name in _MODELS else 'classify'}")
    value = getattr(module, name)
    globals()[name] = value
    return value
