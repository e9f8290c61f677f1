"""Severity of an advisory: CVSS base score from the vector where given, else the database's word."""

from __future__ import annotations

from typing import Any, Literal

Severity = Literal["CRITICAL", "HIGH", "MEDIUM", "LOW", "UNKNOWN"]
SEVERITIES: tuple[Severity, ...] = ("CRITICAL", "HIGH", "MEDIUM", "LOW", "UNKNOWN")

_WORDS: dict[str, Severity] = {
    "CRITICAL": "CRITICAL",
    "HIGH": "HIGH",
    "IMPORTANT": "HIGH",
    "MODERATE": "MEDIUM",
    "MEDIUM": "MEDIUM",
    "LOW": "LOW",
    "NEGLIGIBLE": "LOW",
    "UNIMPORTANT": "LOW",
}


def level(score: float) -> Severity:
    if score >= 9.0:
        return "CRITICAL"
    if score >= 7.0:
        return "HIGH"
    if score >= 4.0:
        return "MEDIUM"
    if score > 0.0:
        return "LOW"
    return "UNKNOWN"


def cvss_score(kind: str, vector: str) -> float | None:
    """Base score of a CVSS v2/v3/v4 vector; None when the vector does not parse."""
    import cvss  # type: ignore[import-untyped]

    try:
        if kind == "CVSS_V3" or vector.startswith("CVSS:3"):
            return float(cvss.CVSS3(vector).scores()[0])
        if kind == "CVSS_V4" or vector.startswith("CVSS:4"):
            return float(cvss.CVSS4(vector).base_score)
        if kind == "CVSS_V2":
            return float(cvss.CVSS2(vector).scores()[0])
    except Exception:  # noqa: BLE001 - the cvss library raises its own error types and ValueError/KeyError
        return None
    return None


def severity_of(vectors: list[tuple[str, str]], *specific: dict[str, Any] | None) -> tuple[Severity, float | None, str]:
    """(severity, score, vector): the highest CVSS base score given, else a severity word."""
    best: tuple[float, str] | None = None
    for kind, vector in vectors:
        score = cvss_score(kind, vector)
        if score is not None and (best is None or score > best[0]):
            best = (score, vector)
    if best is not None:
        return level(best[0]), best[0], best[1]
    for spec in specific:
        word = str((spec or {}).get("severity") or "").upper()
        if word in _WORDS:
            return _WORDS[word], None, ""
    return "UNKNOWN", None, ""
