"""The failure taxonomy: evidence from a failed build, start, push or deploy -> a category and its lines.

Names are imported on first use: the session state needs the models, only a failure needs the rules.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from containerkit._lazy import lazy_attributes

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


__getattr__ = lazy_attributes(__name__, {n: "models" if n in _MODELS else "classify" for n in __all__})
