"""Find rule matches in one text, redact them and fingerprint them; the secret never leaves here."""

from __future__ import annotations

import hashlib
import math
from collections import Counter
from typing import NamedTuple

from containerkit.tools.secrets._rules import PLACEHOLDER_MARKERS, RULES, Rule

__all__ = ["BINARY_SNIFF_BYTES", "Hit", "entropy", "find_hits", "fingerprint", "is_binary", "redact", "redact_secrets"]

BINARY_SNIFF_BYTES = 8192


class Hit(NamedTuple):
    """A match already reduced to safe facts: no field holds the secret."""

    rule: Rule
    line: int
    redacted: str
    fingerprint: str
    length: int


def entropy(value: str) -> float:
    """Shannon entropy in bits per character."""
    if not value:
        return 0.0
    n = len(value)
    return -sum(c / n * math.log2(c / n) for c in Counter(value).values())


def redact(secret: str) -> str:
    """At most the first 4 characters (fewer for short values) and the length."""
    keep = min(4, len(secret) // 4)
    return f"{secret[:keep]}***({len(secret)} chars)"


def fingerprint(secret: str) -> str:
    """sha256 of the match: lets findings be de-duplicated across layers without storing it."""
    return "sha256:" + hashlib.sha256(secret.encode("utf-8", errors="surrogatepass")).hexdigest()


def is_binary(head: bytes) -> bool:
    return b"\x00" in head[:BINARY_SNIFF_BYTES]


def _is_placeholder(value: str) -> bool:
    low = value.lower()
    if any(marker in low for marker in PLACEHOLDER_MARKERS):
        return True
    return len(set(low)) <= 2


def find_hits(text: str) -> list[Hit]:
    """Every rule's matches in ``text``, most specific rule first, each span reported once."""
    return [hit for hit, _span in _matches(text)]


def redact_secrets(text: str) -> tuple[str, int]:
    """``text`` with every credential a rule finds replaced by its redacted form; and how many."""
    spans = sorted((span, hit.redacted) for hit, span in _matches(text))
    out, pos = [], 0
    for (start, end), shown in spans:
        out.append(text[pos:start])
        out.append(f"<redacted {shown}>")
        pos = end
    out.append(text[pos:])
    return "".join(out), len(spans)


def _matches(text: str) -> list[tuple[Hit, tuple[int, int]]]:
    low = text.lower()
    taken: list[tuple[int, int]] = []
    hits: list[tuple[Hit, tuple[int, int]]] = []
    for rule in RULES:
        if not any(k in low for k in rule.keywords):
            continue
        for m in rule.pattern.finditer(text):
            secret = m.group(rule.group)
            start, end = m.span(rule.group)
            if rule.min_entropy and entropy(secret) < rule.min_entropy:
                continue
            if rule.shape is not None and not rule.shape.match(secret):
                continue
            if rule.placeholders_apply and _is_placeholder(secret):
                continue
            if rule.id == "aws-access-key-id" and secret.endswith("EXAMPLE"):
                continue
            if rule.allow is not None and rule.allow.search(m.group(0)):
                continue
            if any(s < end and start < e for s, e in taken):
                continue
            taken.append((start, end))
            line = text.count("\n", 0, start) + 1
            hits.append((Hit(rule, line, redact(secret), fingerprint(secret), len(secret)), (start, end)))
    return hits
