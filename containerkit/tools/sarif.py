"""A small SARIF 2.1.0 writer shared by every containerkit scanner (lint, secrets, vulnerabilities).

Callers describe their rules and results with the plain models here; ``to_sarif`` builds the log
that code-scanning services read. Nothing here knows about Dockerfiles.
"""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import BaseModel

__all__ = [
    "SARIF_SCHEMA_URI",
    "SARIF_VERSION",
    "SarifLevel",
    "SarifLocation",
    "SarifResult",
    "SarifRule",
    "SarifRun",
    "level_for",
    "to_sarif",
    "to_sarif_json",
]

SARIF_VERSION = "2.1.0"
SARIF_SCHEMA_URI = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"

SarifLevel = Literal["error", "warning", "note", "none"]

_LEVELS: dict[str, SarifLevel] = {
    "critical": "error",
    "high": "error",
    "error": "error",
    "medium": "warning",
    "warning": "warning",
    "moderate": "warning",
    "low": "note",
    "info": "note",
    "style": "note",
    "note": "note",
    "negligible": "note",
    "unknown": "none",
    "none": "none",
}


def level_for(severity: str) -> SarifLevel:
    """Map a scanner's severity word (lint or CVE scale) to a SARIF level."""
    return _LEVELS.get(severity.lower(), "warning")


class SarifRule(BaseModel):
    id: str
    short_description: str
    help_text: str = ""
    help_uri: str | None = None
    level: SarifLevel = "warning"
    name: str | None = None
    properties: dict[str, Any] = {}


class SarifLocation(BaseModel):
    uri: str
    start_line: int | None = None
    start_column: int | None = None
    end_line: int | None = None


class SarifResult(BaseModel):
    rule_id: str
    message: str
    level: SarifLevel | None = None
    """None means the rule's default level applies."""
    locations: list[SarifLocation] = []
    properties: dict[str, Any] = {}
    fixes: list[dict[str, Any]] = []
    """SARIF ``fix`` objects (description, artifactChanges) proposing the change that resolves it."""


class SarifRun(BaseModel):
    tool_name: str
    tool_version: str | None = None
    information_uri: str | None = None
    rules: list[SarifRule]
    results: list[SarifResult]


def _rule(rule: SarifRule) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": rule.id,
        "shortDescription": {"text": rule.short_description},
        "fullDescription": {"text": rule.short_description},
        "defaultConfiguration": {"level": rule.level},
        "help": {"text": rule.help_text or rule.short_description},
    }
    if rule.name:
        out["name"] = rule.name
    if rule.help_uri:
        out["helpUri"] = rule.help_uri
    if rule.properties:
        out["properties"] = rule.properties
    return out


def _location(loc: SarifLocation) -> dict[str, Any]:
    physical: dict[str, Any] = {"artifactLocation": {"uri": loc.uri}}
    if loc.start_line is not None:
        region: dict[str, Any] = {"startLine": max(1, loc.start_line)}
        if loc.start_column is not None:
            region["startColumn"] = max(1, loc.start_column)
        if loc.end_line is not None:
            region["endLine"] = max(region["startLine"], loc.end_line)
        physical["region"] = region
    return {"physicalLocation": physical}


def _run(run: SarifRun) -> dict[str, Any]:
    rules = list({r.id: r for r in run.rules}.values())
    index = {r.id: k for k, r in enumerate(rules)}
    driver: dict[str, Any] = {"name": run.tool_name, "rules": [_rule(r) for r in rules]}
    if run.tool_version:
        driver["version"] = run.tool_version
    if run.information_uri:
        driver["informationUri"] = run.information_uri
    results = []
    for res in run.results:
        item: dict[str, Any] = {"ruleId": res.rule_id, "message": {"text": res.message}}
        if res.rule_id in index:
            item["ruleIndex"] = index[res.rule_id]
        if res.level is not None:
            item["level"] = res.level
        if res.locations:
            item["locations"] = [_location(loc) for loc in res.locations]
        if res.properties:
            item["properties"] = res.properties
        if res.fixes:
            item["fixes"] = res.fixes
        results.append(item)
    return {"tool": {"driver": driver}, "results": results}


def to_sarif(runs: list[SarifRun]) -> dict[str, Any]:
    """The SARIF log as a JSON-ready dict: one run per tool."""
    return {"$schema": SARIF_SCHEMA_URI, "version": SARIF_VERSION, "runs": [_run(r) for r in runs]}


def to_sarif_json(runs: list[SarifRun], *, indent: int | None = 2) -> str:
    return json.dumps(to_sarif(runs), indent=indent)
