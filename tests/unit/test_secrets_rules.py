"""Rules, redaction and context scanning without an engine. Fake credentials are assembled at run
time so no scanner flags this file, and every report is checked not to contain them."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from containerkit.errors import NotADirectory, PathNotFound
from containerkit.tools.secrets import scan_context_secrets, scan_text_secrets
from containerkit.tools.secrets._detect import entropy, fingerprint, redact

FIXTURE = Path(__file__).parent.parent / "fixtures" / "secrets" / "context"

AWS_ID = "AKIA" + "Q3EGUV6XMZ7YK2PL"
AWS_SECRET = "wJalrXUtnF" + "EMI/K7MDENG/bPxRfiCY" + "9q2T8hLzKe"
_GH = "ghp_" + "aB3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1xY3z5A"
_PEM = "-----BEGIN RSA PRIVATE KEY-----\n" + "MIIEowIBAAKCAQEA7bq2" * 4 + "\n-----END RSA PRIVATE KEY-----"
_JWT = "eyJhbGciOiJIUzI1NiJ9" + ".eyJzdWIiOiIxMjM0NTY3ODkwIn0" + ".dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U"
_PYPI = "pypi-AgEIcHlwaS5vcmc" + "CJDk2YjM0ZmE4LTc1NDQtNDFkNy05ZGU0LWQ3ZTM0ZTFkNGE5ZQ"
# rule id -> (a line as it would appear in a file, the credential inside it)
FAKES: dict[str, tuple[str, str]] = {
    "aws-access-key-id": (f"aws_access_key_id = {AWS_ID}", AWS_ID),
    "aws-secret-access-key": (f"aws_secret_access_key = {AWS_SECRET}", AWS_SECRET),
    "github-token": (f"token: {_GH}", _GH),
    "gitlab-token": ("GITLAB=" + "glpat-" + "x9Yz8Wv7Ut6Sr5Qp4On3", "glpat-" + "x9Yz8Wv7Ut6Sr5Qp4On3"),
    "slack-token": (
        "slack " + "xoxb-" + "1234567890-0987654321-AbCdEfGhIjKlMnOp",
        "xoxb-" + "1234567890-0987654321-AbCdEfGhIjKlMnOp",
    ),
    "stripe-key": (
        "stripe.api_key = '" + "sk_live_" + "4eC39HqLyjWDarjtT1zdp7dc'",
        "sk_live_" + "4eC39HqLyjWDarjtT1zdp7dc",
    ),
    "google-api-key": (
        "key=" + "AIza" + "SyD3f9Kq2Lm8Np4Rs7Tu1Vw5Xy0Za6Bc3De",
        "AIza" + "SyD3f9Kq2Lm8Np4Rs7Tu1Vw5Xy0Za6Bc3De",
    ),
    "npm-token": (
        "//registry.npmjs.org/:_authToken=" + "npm_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8",
        "npm_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8",
    ),
    "npmrc-auth-token": ("//npm.internal/:_authToken=" + "Zm9vYmFyLWJhei0xMjM0NTY3OA", "Zm9vYmFyLWJhei0xMjM0NTY3OA"),
    "pypi-token": (f"password = {_PYPI}", _PYPI),
    "jwt": (f"Authorization: Bearer {_JWT}", _JWT),
    "basic-auth-url": ("DATABASE_URL=postgres://app:" + "Zq8xW2vK9p" + "@db.internal:5432/shop", "Zq8xW2vK9p"),
    "docker-config-auth": (
        '{"auths": {"r.example.com": {"auth": "' + "YWRtaW46czNjcjN0UGFzcw==" + '"}}}',
        "YWRtaW46czNjcjN0UGFzcw==",
    ),
    "private-key": (_PEM, _PEM),
    "generic-secret-quoted": ('client_secret = "' + "s3cR3tV4lu3Xq9" + '"', "s3cR3tV4lu3Xq9"),
    "generic-secret-env": ("export SERVICE_API_KEY=" + "Hd82kLq0Zx7Pw3", "Hd82kLq0Zx7Pw3"),
}


@pytest.mark.parametrize("rule_id", sorted(FAKES))
def test_each_rule_finds_its_credential_and_never_reports_it(rule_id: str) -> None:
    line, secret = FAKES[rule_id]
    findings = scan_text_secrets("x = 1\n" + line + "\n")
    assert rule_id in {f.rule_id for f in findings}, [f.rule_id for f in findings]
    hit = next(f for f in findings if f.rule_id == rule_id)
    assert hit.line == 2
    dumped = "".join(f.model_dump_json() for f in findings)
    assert secret not in dumped
    assert secret[4:] not in dumped
    assert hit.length == len(secret)


@pytest.mark.parametrize(
    "text",
    [
        'password = os.environ["DB_PASSWORD"]',
        'api_key = "${API_KEY}"',
        'password = "changeme"',
        "aws_access_key_id = AKIAIOSFODNN7EXAMPLE",
        "url_password = split_auth_from_netloc(netloc)",
        "https://user:<password>@example.com",
        "elevated-privileges-passwd: 4755 root/shadow",
        "PASSWORD_FILE=/run/secrets/db_password",
    ],
)
def test_placeholders_and_code_are_not_reported(text: str) -> None:
    assert scan_text_secrets(text) == []


def test_redaction_keeps_at_most_four_chars_and_the_length() -> None:
    assert redact(AWS_ID) == "AKIA***(20 chars)"
    assert redact("abcdefgh") == "ab***(8 chars)"
    assert redact("abc") == "***(3 chars)"


def test_fingerprint_is_stable_and_does_not_contain_the_value() -> None:
    assert fingerprint(AWS_ID) == fingerprint(AWS_ID)
    assert fingerprint(AWS_ID) != fingerprint(AWS_ID[:-1] + "Q")
    assert AWS_ID not in fingerprint(AWS_ID)


def test_entropy_separates_random_from_repetitive() -> None:
    assert entropy("aaaaaaaa") == 0.0
    assert entropy(AWS_SECRET) > 4.0


def test_overlapping_rules_report_a_span_once() -> None:
    findings = scan_text_secrets(f'aws_secret_access_key = "{AWS_SECRET}"')
    assert [f.rule_id for f in findings] == ["aws-secret-access-key"]


def test_context_scan_honours_dockerignore_and_skips_binaries(tmp_path: Path) -> None:
    ctx = tmp_path / "ctx"
    shutil.copytree(FIXTURE, ctx)
    (ctx / "secrets.env").write_text(f"AWS_ACCESS_KEY_ID={AWS_ID}\n")
    (ctx / "config.ini").write_text(f"[aws]\naws_secret_access_key = {AWS_SECRET}\n")
    (ctx / "build" / "leak.txt").write_text(FAKES["github-token"][0])
    (ctx / "logo.png").write_bytes(b"\x89PNG\x00\x00" + AWS_ID.encode())
    (ctx / "big.log").write_text("x" * 2048 + AWS_ID)

    report = scan_context_secrets(ctx, max_file_bytes=1024)

    assert [(f.path, f.rule_id, f.line) for f in report.findings] == [("config.ini", "aws-secret-access-key", 2)]
    assert report.skipped_binary == 1
    assert [(s.path, s.reason) for s in report.skipped] == [("big.log", "too_large")]
    assert report.files_scanned == 5  # .dockerignore, Dockerfile, README.md, app.py, config.ini
    dumped = report.model_dump_json()
    assert AWS_SECRET not in dumped and AWS_ID not in dumped


def test_dockerignore_exception_reincludes_a_file(tmp_path: Path) -> None:
    (tmp_path / ".dockerignore").write_text("conf\n!conf/keep.env\n")
    (tmp_path / "conf").mkdir()
    (tmp_path / "conf" / "keep.env").write_text(FAKES["generic-secret-env"][0])
    (tmp_path / "conf" / "drop.env").write_text(FAKES["generic-secret-env"][0])
    report = scan_context_secrets(tmp_path)
    assert [f.path for f in report.findings] == ["conf/keep.env"]


def test_missing_or_file_context_is_a_typed_error(tmp_path: Path) -> None:
    with pytest.raises(PathNotFound):
        scan_context_secrets(tmp_path / "nope")
    (tmp_path / "f").write_text("x")
    with pytest.raises(NotADirectory):
        scan_context_secrets(tmp_path / "f")


@pytest.mark.parametrize(
    "text",
    [
        "https://username:password@pypi.company.com/simple",  # pip's authentication.md
        "https://user:he%2F%2Fo@pypi.company.com/simple",
        "postgres://app:" + "Zq8xW2vK9p" + "@db.example.com/shop",
        "amqp://guest:" + "Zq8xW2vK9p" + "@rabbit.example:5672/",
        "postgres://${DB_USER}:" + "Zq8xW2vK9p" + "@db:5432/shop",
        "redis://app:$REDIS_PASSWORD@cache:6379/0",
        "mysql://root:pass@host:3306/db",
    ],
)
def test_documentation_urls_are_not_reported(text: str) -> None:
    assert [f.rule_id for f in scan_text_secrets(text)] == []


@pytest.mark.parametrize(
    "text",
    [
        "DATABASE_URL=postgres://app:" + "Zq8xW2vK9p" + "@db.internal:5432/shop",
        "https://deploy:" + "x7Kq2mW9zP4v" + "@git.corp.net/org/repo.git",
        "amqp://svc:" + "S3cr3tPa55w0rd" + "@10.0.0.12:5672/",
    ],
)
def test_real_urls_with_passwords_are_still_reported(text: str) -> None:
    assert [f.rule_id for f in scan_text_secrets(text)] == ["basic-auth-url"]


def test_documentation_inside_dependency_trees_is_not_read_but_their_code_is() -> None:
    from containerkit.tools.secrets._rules import is_dependency_doc

    assert is_dependency_doc("usr/local/lib/node_modules/npm/node_modules/@npmcli/arborist/README.md")
    assert is_dependency_doc("/opt/venv/lib/python3.11/site-packages/requests-2.31.0.dist-info/LICENSE")
    assert not is_dependency_doc("usr/local/lib/node_modules/leftpad/index.js")  # code is still scanned
    assert not is_dependency_doc("app/README.md")  # the user's own docs are scanned
    assert not is_dependency_doc("app/config/settings.py")
