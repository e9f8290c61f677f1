"""The failure taxonomy: evidence from a failed build, start, push or deploy -> a category and its lines."""

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
