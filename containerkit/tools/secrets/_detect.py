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


# Where a rule's match can lie relative to the words that announce it. A match starts on the line of
# one of its anchors (the rule's keywords, plus words its pattern accepts that no keyword names) and
# ends at most two non-blank lines further (``key\n  =\n  "value"``: ``\s*`` may cross lines); one more
# line is kept as a margin. A rule whose match may run further (a PEM block) is not bounded.
_EXTRA_LINES = 3
_UNBOUNDED = frozenset({"private-key"})
_EXTRA_ANCHORS = {"generic-secret-quoted": ("privatekey",)}


def _windows(text: str, low: str, rule: Rule) -> list[tuple[int, int]] | None:
    """Merged (start, end) spans of ``text`` around the rule's anchors; None: scan the whole text.

    Only ASCII text is bounded: there ``lower()`` keeps offsets and case-insensitive patterns cannot
    match a word spelled with other characters (a Unicode long s for an s), so the spans hold every match.
    """
    if rule.id in _UNBOUNDED or not text.isascii():
        return None
    spans: list[tuple[int, int]] = []
    for word in (*rule.keywords, *_EXTRA_ANCHORS.get(rule.id, ())):
        at = low.find(word)
        while at >= 0:
            spans.append((text.rfind("\n", 0, at) + 1, _lines_after(text, at)))
            at = low.find(word, at + 1)
    spans.sort()
    merged: list[tuple[int, int]] = []
    for start, end in spans:
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def _lines_after(text: str, at: int) -> int:
    """The end (past its newline) of the line holding ``at`` and the next non-blank lines (blank ones between)."""
    end = text.find("\n", at)
    seen = 0
    while end >= 0 and seen < _EXTRA_LINES:
        nxt = text.find("\n", end + 1)
        line = text[end + 1 : nxt if nxt >= 0 else len(text)]
        if line and not line.isspace():
            seen += 1
        end = nxt
    return len(text) if end < 0 else end + 1


def find_hits(text: str) -> list[Hit]:
    """Every rule's matches in ``text``, most specific rule first, each span reported once.

    A rule whose keywords occur runs only around them (:func:`_windows`): the same matches, without
    running every pattern over a whole large file that mentions a token once.
    """
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
        spans = _windows(text, low, rule) or [(0, len(text))]
        for m in (m for start, end in spans for m in rule.pattern.finditer(text, start, end)):
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
