"""The registry HTTP client and the retry policy against a real HTTP server on 127.0.0.1 that answers
what registries answer: 401 with Basic or Bearer challenges, 403, 404, 429 with Retry-After, 503."""

from __future__ import annotations

import base64
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from containerkit.errors import (
    ContainerKitError,
    ImageNotInRegistry,
    PushFailed,
    RegistryAuthFailed,
    RegistryBusy,
    RegistryForbidden,
    RegistryTLSFailed,
    RegistryUnreachable,
)
from containerkit.tools.credentials import RegistryCredentials
from containerkit.tools.images import parse_image_ref
from containerkit.tools.registry import RegistryAccess, engine_error, manifest_digest, ping_registry
from containerkit.tools.retry import RetryPolicy, backoff_delay, with_retries

PASSWORD = "s3cret-unit-7782"
Answer = tuple[int, dict[str, str]]


class _Server:
    """Answers each request with the next scripted answer for its path (the last one repeats)."""

    def __init__(self) -> None:
        self.script: dict[str, list[Callable[[BaseHTTPRequestHandler], Answer]]] = {}
        self.seen: list[tuple[str, str, str | None]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                path = self.path.split("?", 1)[0]
                outer.seen.append((self.command, self.path, self.headers.get("Authorization")))
                answers = outer.script.get(path) or [lambda _h: (404, {})]
                answer = answers.pop(0) if len(answers) > 1 else answers[0]
                status, headers = answer(self)
                body = headers.pop("_body", "{}").encode()
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

            do_GET = do_HEAD = _answer

            def log_message(self, *_args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.address = f"127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def on(self, path: str, *answers: Answer | Callable[[BaseHTTPRequestHandler], Answer]) -> None:
        self.script[path] = [a if callable(a) else (lambda _h, a=a: (a[0], dict(a[1]))) for a in answers]


@pytest.fixture
def server() -> Iterator[_Server]:
    s = _Server()
    yield s
    s.httpd.shutdown()


def _creds(registry: str, password: str = PASSWORD) -> RegistryCredentials:
    from pydantic import SecretStr

    return RegistryCredentials(registry=registry, username="alice", password=SecretStr(password), source="test")


def _basic(h: BaseHTTPRequestHandler) -> Answer:
    want = "Basic " + base64.b64encode(f"alice:{PASSWORD}".encode()).decode()
    if h.headers.get("Authorization") == want:
        return 200, {}
    return 401, {"WWW-Authenticate": 'Basic realm="test"'}


def test_basic_auth_is_sent_only_when_asked_and_wrong_credentials_are_a_401(server: _Server) -> None:
    server.on("/v2/", _basic)
    assert ping_registry(server.address) == 401  # no credentials: the caller decides
    assert (
        ping_registry(
            server.address, access=RegistryAccess(registry=server.address, credentials=_creds(server.address))
        )
        == 200
    )
    assert server.seen[1][2] is None  # the first request carried no credentials
    with pytest.raises(RegistryAuthFailed) as err:
        ping_registry(
            server.address,
            access=RegistryAccess(registry=server.address, credentials=_creds(server.address, "wrong-pw-1")),
        )
    assert err.value.code == "CK304" and "refused the credentials of alice" in err.value.message
    assert "wrong-pw-1" not in str(err.value) + err.value.hint


def test_bearer_challenge_fetches_a_token_with_the_credentials(server: _Server) -> None:
    realm = f"http://{server.address}/token"

    def v2(h: BaseHTTPRequestHandler) -> Answer:
        if h.headers.get("Authorization") == "Bearer tok-123":
            return 200, {"Docker-Content-Digest": "sha256:" + "a" * 64}
        return 401, {"WWW-Authenticate": f'Bearer realm="{realm}",service="reg"'}

    server.on("/token", lambda h: (200, {"_body": '{"token": "tok-123"}'}) if _basic(h)[0] == 200 else (401, {}))
    server.on("/v2/", v2)
    server.on("/v2/shop/api/manifests/1", v2)
    access = RegistryAccess(registry=server.address, credentials=_creds(server.address))
    assert ping_registry(server.address, access=access) == 200
    digest = manifest_digest(parse_image_ref(f"{server.address}/shop/api:1"), access=access)
    assert digest == "sha256:" + "a" * 64
    token_calls = [p for m, p, _ in server.seen if p.startswith("/token")]
    assert token_calls and "scope=repository%3Ashop%2Fapi%3Apull" in token_calls[-1]


def test_403_and_a_server_that_is_not_a_registry_are_typed_and_never_retried(server: _Server) -> None:
    server.on("/v2/", (403, {}))
    calls: list[int] = []

    def ping(n: int) -> int:
        calls.append(n)
        return ping_registry(server.address)

    with pytest.raises(RegistryForbidden) as err:
        with_retries("push", "x", ping, sleep=lambda _s: None)
    assert err.value.code == "CK305" and calls == [1]
    attempts = err.value.context["attempts"]
    assert isinstance(attempts, list) and len(attempts) == 1 and not attempts[0].transient

    server.on("/v2/", (404, {}))
    with pytest.raises(RegistryUnreachable) as not_registry:
        with_retries("push", "x", lambda _n: ping_registry(server.address), sleep=lambda _s: None)
    assert "serve the /v2/ API" in not_registry.value.hint
    assert len(not_registry.value.context["attempts"]) == 1  # type: ignore[arg-type]


def test_429_waits_what_retry_after_asks_then_succeeds(server: _Server) -> None:
    server.on("/v2/", (429, {"Retry-After": "1"}), (200, {}))
    t0 = time.monotonic()
    status, attempts = with_retries("pull", "x", lambda _n: ping_registry(server.address))
    assert status == 200 and time.monotonic() - t0 >= 1.0
    assert [a.ok for a in attempts] == [False, True]
    assert attempts[0].code == "CK308" and attempts[0].retry_after_s == 1.0 and attempts[0].delay_s == 1.0


def test_a_retry_after_longer_than_the_bound_fails_at_once(server: _Server) -> None:
    server.on("/v2/", (429, {"Retry-After": "3600"}))
    with pytest.raises(RegistryBusy) as err:
        with_retries("pull", "x", lambda _n: ping_registry(server.address), policy=RetryPolicy(max_retry_after_s=60))
    assert "retry after 3600s" in err.value.message and len(err.value.context["attempts"]) == 1  # type: ignore[arg-type]


def test_5xx_is_retried_with_growing_jittered_delays_and_every_attempt_is_recorded(server: _Server) -> None:
    server.on("/v2/", (503, {}), (502, {}), (200, {}))
    slept: list[float] = []
    status, attempts = with_retries(
        "push", "reg/x:1", lambda _n: ping_registry(server.address), sleep=slept.append, rng=lambda: 1.0
    )
    assert status == 200 and slept == [1.0, 2.0]  # full jitter at its upper bound: 1, 2, 4...
    assert [(a.number, a.ok, a.code, a.delay_s) for a in attempts] == [
        (1, False, "CK308", 1.0),
        (2, False, "CK308", 2.0),
        (3, True, None, None),
    ]
    assert all(0 <= backoff_delay(n, 1.0) <= min(30.0, 2**n) for n in range(8))


def test_nothing_listening_is_transient_and_gives_up_after_the_attempts() -> None:
    from tests.conftest import free_port

    address = f"127.0.0.1:{free_port()}"
    slept: list[float] = []
    with pytest.raises(RegistryUnreachable) as err:
        with_retries(
            "push", address, lambda _n: ping_registry(address), policy=RetryPolicy(attempts=3), sleep=slept.append
        )
    assert len(slept) == 2 and len(err.value.context["attempts"]) == 3  # type: ignore[arg-type]


def test_https_against_a_plain_http_registry_is_a_tls_error(server: _Server) -> None:
    server.on("/v2/", (200, {}))
    with pytest.raises(RegistryTLSFailed) as err:
        ping_registry(server.address, access=RegistryAccess(registry=server.address, insecure=False))
    assert err.value.code == "CK307" and "plain HTTP" in err.value.message


# what dockerd 20.10 says during pushes and pulls (copied from real runs) -> the typed error
@pytest.mark.parametrize(
    ("message", "error", "transient"),
    [
        ("no basic auth credentials", RegistryAuthFailed, False),
        ("unauthorized: authentication required", RegistryAuthFailed, False),
        ("denied: requested access to the resource is denied", RegistryForbidden, False),
        (
            "manifest for 127.0.0.1:5101/t/bb:nope not found: manifest unknown: manifest unknown",
            ImageNotInRegistry,
            False,
        ),
        ("dial tcp 127.0.0.1:5101: connect: connection refused", RegistryUnreachable, True),
        ("Put http://127.0.0.1:5101/v2/t/blobs/uploads/x: EOF", RegistryUnreachable, True),
        ("received unexpected HTTP status: 503 Service Unavailable", RegistryBusy, True),
        ("toomanyrequests: You have reached your pull rate limit", RegistryBusy, True),
        ("x509: certificate signed by unknown authority", RegistryTLSFailed, False),
        ("Get https://127.0.0.1:5101/v2/: http: server gave HTTP response to HTTPS client", RegistryTLSFailed, False),
        ("dial tcp: lookup reg.invalid: no such host", RegistryUnreachable, False),
        ("An image does not exist locally with the tag: 127.0.0.1:5999/t/bb", PushFailed, False),
    ],
)
def test_engine_messages_become_typed_errors(message: str, error: type[ContainerKitError], transient: bool) -> None:
    from containerkit.tools.retry import is_transient

    exc = engine_error(message, registry="127.0.0.1:5101", operation="push", ref="127.0.0.1:5101/t/bb:1")
    assert type(exc) is error and is_transient(exc) is transient
