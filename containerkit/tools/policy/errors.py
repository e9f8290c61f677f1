"""Errors of the Rego policy evaluation (codes CK270-CK274)."""

from __future__ import annotations

from containerkit.errors import ContainerKitError

__all__ = ["PolicyDataInvalid", "PolicyEvaluationFailed", "PolicyNotFound", "PolicySyntaxError"]


class PolicyNotFound(ContainerKitError):
    code = "CK270"
    exit_code = 2
    default_hint = "Pass an existing .rego file (or a folder of them) with --policy."


class PolicySyntaxError(ContainerKitError):
    code = "CK271"
    exit_code = 2
    default_hint = "Fix the Rego syntax at the given file and line; `opa check FILE` gives the same error."


class PolicyEvaluationFailed(ContainerKitError):
    code = "CK272"
    exit_code = 2
    default_hint = "A deny rule must produce a string or an object with 'msg' (and optionally 'id')."


class PolicyDataInvalid(ContainerKitError):
    code = "CK273"
    exit_code = 2
    default_hint = 'Policy data must be a JSON object, e.g. {"allowed_registries": ["127.0.0.1:5000"]}.'
