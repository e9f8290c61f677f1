"""Rules run only around their keywords, and find exactly what they find over the whole text.

The reference below is the whole-text algorithm (every pattern over all of a file whose text holds one
of the rule's keywords); the bounded one must return the same hits on every text: the repository's
own files and fixtures (the corpus), and texts built to break it (a value two lines below its key with
blank lines between, keys repeated, Unicode, a PEM block, a secret on the last line without newline).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from containerkit.tools.secrets._detect import Hit, _is_placeholder, entropy, find_hits, fingerprint, redact
from containerkit.tools.secrets._rules import RULES
from tests.unit.test_secrets_rules import FAKES

ROOT = Path(__file__).resolve().parents[2]


def _reference(text: str) -> list[Hit]:
    low = text.lower()
    taken: list[tuple[int, int]] = []
    hits: list[Hit] = []
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
            hits.append(Hit(rule, text.count("\n", 0, start) + 1, redact(secret), fingerprint(secret), len(secret)))
    return hits


def _same(text: str) -> None:
    assert [(h.rule.id, h.line, h.fingerprint) for h in find_hits(text)] == [
        (h.rule.id, h.line, h.fingerprint) for h in _reference(text)
    ]


def _corpus() -> list[Path]:
    roots = [ROOT / "tests" / "fixtures", ROOT / "examples", ROOT / "containerkit", ROOT / "docs"]
    files = [p for r in roots if r.is_dir() for p in r.rglob("*") if p.is_file() and p.stat().st_size < 2_000_000]
    return sorted(files)


def _seeded(text: str, n: int) -> str:
    """The text with every fake credential line put between its lines, spread over the file."""
    lines = text.splitlines(keepends=True) or [""]
    fakes = [line for line, _ in FAKES.values()]
    for i, fake in enumerate(fakes):
        at = (n * 7 + i * 13) % (len(lines) + 1)
        lines.insert(at, fake + ("\n\n" if i % 2 else "\n"))
    return "".join(lines)


def test_the_bounded_scan_finds_what_the_whole_text_scan_finds_on_the_corpus() -> None:
    checked = hits = 0
    for n, path in enumerate(_corpus()):
        data = path.read_bytes()
        if b"\x00" in data[:8192]:
            continue
        text = data.decode("utf-8", errors="replace")
        _same(text)
        if n % 4 == 0:  # the repository holds no literal credential: put some in its files
            seeded = _seeded(text, n)
            _same(seeded)
            hits += len(_reference(seeded))
        checked += 1
    assert checked > 500
    assert hits > 1000


LINES = [line for line, _ in FAKES.values()]


@pytest.mark.parametrize(
    "text",
    [
        "\n".join(LINES),
        "\n\n".join(LINES) + "\n",
        "x = 1\n" * 50 + "\n".join(LINES) + "\n" + "y = 2\n" * 50,
        # key, blank lines, operator, blank lines, value: the furthest a pattern reaches
        'client_secret\n\n\n   =\n\n\n  "s3cR3tV4lu3Xq9"\n',
        'aws_secret_key\n\t\n:\n\n"' + "wJalrXUtnFEMI/K7MDENG/bPxRfiCY9q2T8hLzKe" + '"\n',
        '{"auth"\n\n:\n\n"YWRtaW46czNjcjN0UGFzcw=="}',
        "_authToken\n=\n" + "Zm9vYmFyLWJhei0xMjM0NTY3OA",
        # the token keyword far from a password-named key the pattern also accepts
        "token: nothing here\n" + "x\n" * 30 + 'privatekey = "' + "Q9w8E7r6T5y4U3i2" + '"\n',
        # Unicode: the whole text is scanned as before
        "\u017fecret = '" + "s3cR3tV4lu3Xq9" + "'\npassword\n",
        "İstanbul token = '" + "s3cR3tV4lu3Xq9" + "'\n",
        # a PEM block spanning lines, and keys repeated many times
        "-----BEGIN RSA PRIVATE KEY-----\n" + "MIIEowIBAAKCAQEA7bq2\n" * 40 + "-----END RSA PRIVATE KEY-----\n",
        "password\n" * 200 + 'password = "' + "Zk3mQ9pL2xW7" + '"',
        "export API_TOKEN=" + "Hd82kLq0Zx7Pw3",
    ],
)
def test_texts_built_to_break_the_bounds_give_the_same_hits(text: str) -> None:
    _same(text)


def test_a_value_below_its_key_is_still_found() -> None:
    assert [h.rule.id for h in find_hits('client_secret\n\n\n   =\n\n\n  "s3cR3tV4lu3Xq9"\n')] == [
        "generic-secret-quoted"
    ]
