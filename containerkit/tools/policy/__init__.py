"""Policy as code (issue 4, item 7): Rego evaluated in-process with regopy.

Public API::

    evaluate_policies(facts, policy_paths=(), data=None) -> PolicyResult

``facts`` is a :class:`PolicyInput` (the same model compliance uses, documented in
docs/policy-input.md). The shipped ``default.rego`` (package ``containerkit.default``) denies:
CKP001 root user, CKP002 latest/untagged image, CKP003 critical vulnerability with a fix,
CKP004 base image outside ``data.allowed_registries``. Users add ``.rego`` files or folders
(``--policy``); every package's ``deny``/``warn`` set is collected.
"""

from __future__ import annotations

from containerkit.tools.compliance.facts import BuildFacts as PolicyInput
from containerkit.tools.policy.errors import (
    PolicyDataInvalid,
    PolicyEvaluationFailed,
    PolicyNotFound,
    PolicySyntaxError,
)
from containerkit.tools.policy.evaluate import DEFAULT_POLICY, evaluate_policies, policy_files
from containerkit.tools.policy.models import PolicyResult, PolicyViolation

__all__ = [
    "DEFAULT_POLICY",
    "PolicyDataInvalid",
    "PolicyEvaluationFailed",
    "PolicyInput",
    "PolicyNotFound",
    "PolicyResult",
    "PolicySyntaxError",
    "PolicyViolation",
    "evaluate_policies",
    "policy_files",
]
