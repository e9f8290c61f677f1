"""The credential rules, as data: modelled on gitleaks' well-known patterns.

Each rule has cheap lower-case keywords checked first (a plain substring search), so the regular
expression only runs on text that could hold a match: that is what makes whole image layers fast.
"""

from __future__ import annotations

import hashlib
import re
from typing import NamedTuple

__all__ = ["IMAGE_SKIPPED_TREES", "PLACEHOLDER_MARKERS", "RULES", "RULES_VERSION", "Rule"]


class Rule(NamedTuple):
    id: str
    description: str
    pattern: re.Pattern[str]
    keywords: tuple[str, ...]
    group: int = 0  # the regex group holding the secret itself
    min_entropy: float = 0.0  # Shannon bits per char the secret must reach
    placeholders_apply: bool = False  # drop values that look like "${VAR}", "changeme", ...
    shape: re.Pattern[str] | None = None  # the secret must match this too (cuts code false positives)
    # the whole match is a documentation example when this finds something in it (allowlist)
    allow: re.Pattern[str] | None = None


def _r(pattern: str, flags: int = 0) -> re.Pattern[str]:
    return re.compile(pattern, flags)


_SECRET_NAMES = ("password", "passwd", "secret", "api_key", "apikey", "api-key", "token", "private_key", "private-key")
# Real credentials mix letters and digits; identifiers and prose (``get_password``) do not.
_LETTERS_AND_DIGITS = _r(r"(?=.*\d)(?=.*[A-Za-z])")

# A URL whose host is reserved for documentation (RFC 2606/6761) or a stock example name, or whose
# user or password is a template or a word standing for one: what docs and sample configs show.
_DOC_URL = _r(
    r"(?i)@(?:[a-z0-9-]+\.)*(?:example|company|domain|yourdomain|mydomain|yourcompany|mycompany|acme)"
    r"\.(?:com|org|net|edu|io)(?![a-z0-9-])"
    r"|@(?:[a-z0-9-]+\.)+(?:example|test|invalid)(?![a-z0-9.-])"
    r"|@(?:host|hostname|server|yourhost|myhost)(?![a-z0-9.-])"
    r"|://[^:@/]*[$%{<\[]"
    r"|:(?:pass|password|passwd|pwd|pw|secret|token|apikey|api_key|mypassword|mysecretpassword|yourpassword|"
    r"pass123|password123|foo|bar|baz|test|xxx+|\*+)@"
    r"|:[$%{\[][^@]*@"
)

# Specific rules first: a later rule never reports a span an earlier one already reported.
RULES: tuple[Rule, ...] = (
    Rule(
        "private-key",
        "PEM private key",
        _r(
            r"-----BEGIN[ A-Z0-9_-]{0,100}PRIVATE KEY(?: BLOCK)?-----[\s\S]{32,}?-----END[ A-Z0-9_-]{0,100}PRIVATE KEY(?: BLOCK)?-----"
        ),
        ("-----begin",),
    ),
    Rule(
        "aws-access-key-id",
        "AWS access key id",
        _r(r"\b((?:A3T[A-Z0-9]|AKIA|ASIA|ABIA|ACCA)[A-Z2-7]{16})\b"),
        ("akia", "asia", "abia", "acca", "a3t"),
        group=1,
        min_entropy=3.0,
    ),
    Rule(
        "aws-secret-access-key",
        "AWS secret access key",
        _r(r"(?i)aws.{0,20}?(?:secret|private).{0,20}?[\"']?\s*[:=]\s*[\"']?([A-Za-z0-9/+]{40})(?![A-Za-z0-9/+=])"),
        ("aws",),
        group=1,
        min_entropy=3.5,
    ),
    Rule(
        "github-token",
        "GitHub token",
        _r(r"\b(?:gh[pousr]_[0-9A-Za-z]{36}|github_pat_[0-9A-Za-z_]{82})\b"),
        ("ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"),
    ),
    Rule(
        "gitlab-token",
        "GitLab token",
        _r(r"\bgl(?:pat|ptt|dt|rt)-[0-9A-Za-z_-]{20,}"),
        ("glpat-", "glptt-", "gldt-", "glrt-"),
    ),
    Rule("slack-token", "Slack token", _r(r"\bxox[baprs]-[0-9A-Za-z-]{10,}"), ("xox",)),
    Rule(
        "slack-webhook",
        "Slack incoming webhook",
        _r(r"https://hooks\.slack\.com/services/T[A-Z0-9]+/B[A-Z0-9]+/[A-Za-z0-9]{16,}"),
        ("hooks.slack.com",),
    ),
    Rule(
        "stripe-key",
        "Stripe API key",
        _r(r"\b(?:sk|rk)_(?:live|test)_[0-9A-Za-z]{24,}\b"),
        ("sk_live", "sk_test", "rk_live", "rk_test"),
    ),
    Rule("google-api-key", "Google API key", _r(r"\bAIza[0-9A-Za-z_-]{35}\b"), ("aiza",)),
    Rule("sendgrid-key", "SendGrid API key", _r(r"\bSG\.[0-9A-Za-z_-]{22}\.[0-9A-Za-z_-]{43}\b"), ("sg.",)),
    Rule("npm-token", "npm access token", _r(r"\bnpm_[0-9A-Za-z]{36}\b"), ("npm_",)),
    Rule(
        "npmrc-auth-token",
        "npm registry auth token (.npmrc)",
        _r(r"_authToken\s*=\s*([^\s\"']{16,})"),
        ("_authtoken",),
        group=1,
        placeholders_apply=True,
    ),
    Rule("pypi-token", "PyPI upload token", _r(r"\bpypi-AgEIcHlwaS5vcmc[0-9A-Za-z_-]{50,}"), ("pypi-ageichlwas5vcmc",)),
    Rule(
        "jwt",
        "JSON Web Token",
        _r(r"\beyJ[0-9A-Za-z_-]{10,}\.eyJ[0-9A-Za-z_-]{10,}\.[0-9A-Za-z_-]{10,}"),
        ("eyj",),
    ),
    Rule(
        "docker-config-auth",
        "Registry credentials (docker config.json auth)",
        _r(r"\"auth\"\s*:\s*\"([A-Za-z0-9+/]{12,}={0,2})\""),
        ('"auth"',),
        group=1,
    ),
    Rule(
        "basic-auth-url",
        "Password in a URL",
        _r(r"\b[A-Za-z][A-Za-z0-9+.-]{1,20}://[^\s:@/\"'<>]{1,64}:([^\s:@/\"'<>]{3,128})@[A-Za-z0-9.-]+"),
        ("://",),
        group=1,
        placeholders_apply=True,
        allow=_DOC_URL,
    ),
    Rule(
        "generic-secret-quoted",
        "Quoted high-entropy value assigned to a secret-like name",
        _r(
            r"(?i)(?:password|passwd|secret|api[_-]?key|access[_-]?token|auth[_-]?token|private[_-]?key)[\w-]{0,20}[\"']?"
            r"\s*(?::|=|:=|=>)\s*[\"']([^\s\"'$]{8,128})[\"']"
        ),
        _SECRET_NAMES,
        group=1,
        min_entropy=3.0,
        placeholders_apply=True,
        shape=_LETTERS_AND_DIGITS,
    ),
    Rule(
        "generic-secret-env",
        "Secret-like variable set in an env or properties file",
        _r(
            r"(?im)^[ \t]*(?:export[ \t]+)?[\w.-]{0,40}(?:password|passwd|secret|api[_-]?key|access[_-]?token|auth[_-]?token)"
            r"[\w.-]{0,20}[ \t]*=[ \t]*([^\s\"'$(){}\[\]]{8,128})[ \t]*$"
        ),
        _SECRET_NAMES,
        group=1,
        min_entropy=3.0,
        placeholders_apply=True,
        shape=_LETTERS_AND_DIGITS,
    ),
)

# Values that name a secret rather than hold one (templating, examples, masks).
PLACEHOLDER_MARKERS: tuple[str, ...] = (
    "${",
    "$(",
    "{{",
    "<",
    "%(",
    "example",
    "password",
    "changeme",
    "change_me",
    "placeholder",
    "redacted",
    "dummy",
    "your_",
    "your-",
    "xxxx",
    "****",
    "os.environ",
    "getenv",
    "process.env",
)

# Image folders no user secret lives in: distribution documentation, manual pages, translations.
# Their examples (``https://user:pass@...`` in pip's docs) would make every image critical.
IMAGE_SKIPPED_TREES: tuple[str, ...] = (
    "usr/share/doc/",
    "usr/share/man/",
    "usr/share/info/",
    "usr/share/locale/",
    "usr/share/i18n/",
    "usr/share/zoneinfo/",
    "usr/share/common-licenses/",
    "usr/share/lintian/",
    "usr/local/share/doc/",
    "usr/local/share/man/",
)

# Documentation shipped inside third-party dependency trees (npm's own README has token examples).
# Code there is still read: a key hard-coded in a vendored module is a real leak.
DEPENDENCY_TREES: tuple[str, ...] = ("/node_modules/", "/site-packages/", "/dist-packages/", "/vendor/", "/gems/")
DOC_SUFFIXES: tuple[str, ...] = (".md", ".markdown", ".rst", ".txt", ".html", ".htm", ".adoc")
DOC_NAMES: tuple[str, ...] = ("readme", "changelog", "changes", "history", "license", "licence", "notice", "authors")


def is_dependency_doc(path: str) -> bool:
    """A documentation file inside a dependency tree (not the user's: its examples are not secrets)."""
    p = "/" + path.lstrip("/")
    if not any(t in p for t in DEPENDENCY_TREES):
        return False
    name = p.rsplit("/", 1)[-1].lower()
    return name.endswith(DOC_SUFFIXES) or name.split(".", 1)[0] in DOC_NAMES


# Bump when the detection changes in a way the digest below cannot see (code in _detect.py).
_DETECT_FORMAT = 2


def _digest() -> str:
    h = hashlib.sha256(str(_DETECT_FORMAT).encode())
    for r in RULES:
        h.update(
            repr(
                (
                    r.id,
                    r.pattern.pattern,
                    r.keywords,
                    r.group,
                    r.min_entropy,
                    r.placeholders_apply,
                    r.shape.pattern if r.shape else None,
                    r.allow.pattern if r.allow else None,
                )
            ).encode()
        )
    h.update(repr((PLACEHOLDER_MARKERS, IMAGE_SKIPPED_TREES, DEPENDENCY_TREES, DOC_SUFFIXES, DOC_NAMES)).encode())
    return h.hexdigest()[:16]


RULES_VERSION = _digest()
"""Changes with any rule, marker or skipped tree: cached per-layer results made under other rules are ignored."""
