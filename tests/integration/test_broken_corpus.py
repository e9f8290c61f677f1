"""`containerkit run` on every app of the broken corpus: the failure is classified as its expect.toml
says, the fix is applied without an LLM when it is recoverable, and the run ends as expected (the image
answers, stays up or exits 0; or the run stops as needs_config / failed with the variables named)."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.broken_corpus import broken_apps, load_expect
from tests.integration._cli import ck, last_json

pytestmark = [
    pytest.mark.integration,
    pytest.mark.slow,
]

APPS = broken_apps()
STATUS = {"answers": "succeeded", "running": "succeeded", "exits0": "succeeded"}


def _categories(out: dict[str, Any]) -> list[str]:
    """The category of every recovery attempt and every recorded error, in order."""
    found = [a.get("category") or a.get("cause") for a in out.get("recovery", [])]
    found += [e.get("category") for e in out.get("errors", [])]
    return [c for c in found if c]


def _strings(value: Any) -> list[str]:
    """Every string in the JSON result (log tails, evidence lines, messages), unescaped."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        value = list(value.values())
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


@pytest.mark.parametrize("app", APPS, ids=[a.name for a in APPS])
def test_broken_app_is_classified_fixed_or_stopped_as_expected(app: Path, registry: str, tmp_path: Path) -> None:
    exp = load_expect(app)
    copy = tmp_path / app.name
    shutil.copytree(app, copy, ignore=shutil.ignore_patterns("expect.toml"))

    res = ck("run", str(copy), "--registry", registry, "--json", home=tmp_path / "home", timeout=900)
    out = last_json(res.stdout)

    assert out["status"] == STATUS.get(exp.outcome, exp.outcome), res.stderr[-3000:]
    verify = out.get("verify") or {}  # the verify result: answered / status code / exit code / log tail
    if exp.outcome == "answers":
        assert verify["answered"] and verify["status_code"] < 500
    elif exp.outcome == "exits0":
        assert verify["exit_code"] == 0
    elif exp.outcome == "running":
        assert verify["exit_code"] is None
    if exp.outcome == "needs_config":
        assert set(exp.needs) <= set(out["needs"])
    if exp.category == "port_mismatch":  # it answers, on the port it chose: manifests must use that one
        assert verify["honours_port_env"] is False and verify["port"] == exp.port
    elif exp.category == "runtime_selected":  # the required version was picked before building: nothing failed
        assert out["recovery"] == [] and out["errors"] == []
    elif exp.category not in ("job", "worker"):  # a job or a worker is a kind of module, not a failure
        # classified as expected, or (better) the generated Dockerfile avoided the failure at first try
        first_try = out["status"] == "succeeded" and not out["recovery"]
        assert first_try or exp.category in _categories(out), _categories(out)
    # the decisive log lines reach the user: in the recorded evidence, errors or verify's log tail
    if out["recovery"] or out["status"] != "succeeded":
        assert any(line in text for text in _strings(out) for line in exp.evidence), exp.evidence
    attempts = out.get("recovery", [])
    assert len(attempts) <= 3
    if not exp.recoverable:
        assert not any(a.get("dockerfile_revision") for a in attempts)  # the user's: no fix tried
