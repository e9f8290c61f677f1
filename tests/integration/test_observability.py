"""Metrics scraped over HTTP from `containerkit metrics serve`, spans received as OTLP from a real run.

Both use real processes and real clients: prometheus_client's text parser reads the scrape, and a
test HTTP server on 127.0.0.1 receives OTLP/HTTP and decodes it with the OTLP protobuf schema.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from containerkit.settings import Settings
from containerkit.state import Attempt, BuildInfo, ErrorRecord, ScanSummary, StageRecord
from containerkit.tools.metrics import risk_score
from tests.unit.test_sessions_admin import _fill, _session

pytestmark = [pytest.mark.integration]  # real processes and HTTP, no engine needed

NOW = datetime.now(UTC)


def _stage(stage: str, seconds: float) -> StageRecord:
    return StageRecord(stage=stage, start=NOW, end=NOW, duration_s=seconds, ok=True)


def _scan(image: str, **vulns: int) -> ScanSummary:
    return ScanSummary(
        image_id=image,
        passed=not vulns.get("CRITICAL"),
        vulnerabilities={"CRITICAL": 0, "HIGH": 0, "MEDIUM": 0, "LOW": 0, **vulns},
        compliance={"CIS Docker Benchmark": 0.8, "NIST SP 800-190": 0.5},
        secrets=0,
        checked={"vulnerabilities": True, "lint": True},
    )


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    out = {}
    for fam in text_string_to_metric_families(text):
        for s in fam.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def _store_with_history(settings: Settings) -> None:
    shop = _session(
        "run001",
        history=[_stage("analyze", 0.7), _stage("buildsec", 42.0), _stage("infra", 3.0)],
        build=BuildInfo(image_id="sha256:1", tags=["shop:1"], size_bytes=1, duration_s=40, cached_steps=6, steps=8),
        scan=_scan("sha256:1", HIGH=2, MEDIUM=1),
    )
    shop.images.pushed = "127.0.0.1:5000/shop:1"
    old = _session(
        "run000",
        age_days=3,
        history=[_stage("analyze", 1.3), _stage("buildsec", 80.0)],
        build=BuildInfo(image_id="sha256:0", tags=["shop:0"], size_bytes=1, duration_s=80, cached_steps=0, steps=8),
        scan=_scan("sha256:0", CRITICAL=1),
    )
    old.images.pushed = "127.0.0.1:5000/shop:1"  # the same image, scanned before: the latest verdict wins
    failed = _session(
        "run002",
        status="failed",
        history=[_stage("analyze", 2.0), _stage("buildsec", 9.0)],
        errors=[ErrorRecord(stage="buildsec", code="CK202", message="build failed", hint="h")],
        recovery=[
            Attempt(number=1, failed_stage="buildsec", code="CK202", cause="native_build", action="fix"),
            Attempt(number=2, failed_stage="infra", code="CK301", cause="registry_unreachable", action="retry"),
        ],
    )
    _fill(settings, old, shop, failed)


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[tuple[Settings, Any]]:
    """Start `containerkit metrics serve --port 0` on a store; yields a function that scrapes it."""
    settings = Settings(home=tmp_path / "home")
    _store_with_history(settings)
    env = {**os.environ, "CONTAINERKIT_HOME": str(settings.home)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "containerkit", "metrics", "serve", "--port", "0"],
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert proc.stderr is not None
    line = proc.stderr.readline()
    match = re.search(r"http://127\.0\.0\.1:(\d+)/metrics", line)
    assert match, line

    def scrape() -> str:
        with urllib.request.urlopen(match.group(0), timeout=10) as r:
            return str(r.read().decode())

    try:
        yield settings, scrape
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_metrics_serve_exposes_the_store_history_over_http(serve: tuple[Settings, Any]) -> None:
    settings, scrape = serve
    s = _samples(scrape())
    assert s[("containerkit_store_readable", ())] == 1
    assert s[("containerkit_runs", (("status", "succeeded"),))] == 2
    assert s[("containerkit_runs", (("status", "failed"),))] == 1
    # stage durations: one histogram series per stage, every run counted
    assert s[("containerkit_stage_duration_seconds_count", (("stage", "buildsec"),))] == 3
    assert s[("containerkit_stage_duration_seconds_sum", (("stage", "buildsec"),))] == 131.0
    assert s[("containerkit_stage_duration_seconds_bucket", (("le", "60.0"), ("stage", "buildsec")))] == 2
    assert s[("containerkit_recovery_attempts_total", (("action", "fix"), ("category", "native_build")))] == 1
    assert s[("containerkit_recovery_attempts_total", (("action", "retry"), ("category", "registry_unreachable")))] == 1
    assert s[("containerkit_errors_total", (("code", "CK202"),))] == 1
    # the latest scan of the image, not the older one
    image = "127.0.0.1:5000/shop:1"
    assert s[("containerkit_scan_vulnerabilities", (("image", image), ("severity", "HIGH")))] == 2
    assert s[("containerkit_scan_vulnerabilities", (("image", image), ("severity", "CRITICAL")))] == 0
    assert s[("containerkit_scan_passed", (("image", image),))] == 1
    assert s[("containerkit_scan_compliance_score", (("framework", "CIS Docker Benchmark"), ("image", image)))] == 0.8
    assert s[("containerkit_risk_score", (("image", image),))] == risk_score({"HIGH": 2, "MEDIUM": 1})
    assert s[("containerkit_build_cache_hit_ratio", (("image", image),))] == 0.75
    assert s[("containerkit_build_cache_hit_ratio_all", ())] == 6 / 16

    # what is served is what the store holds now: a new session shows at the next scrape
    _fill(settings, _session("run003", status="needs_config"))
    assert _samples(scrape())[("containerkit_runs", (("status", "needs_config"),))] == 1


def test_a_store_that_cannot_be_read_is_a_zero_gauge_not_a_failed_scrape(tmp_path: Path) -> None:
    from prometheus_client import CollectorRegistry, generate_latest

    from containerkit.graph.metrics_server import SessionCollector, store_sessions

    (tmp_path / "sessions.sqlite").write_bytes(b"this is not a database, it was overwritten")
    registry = CollectorRegistry(auto_describe=False)
    registry.register(SessionCollector(store_sessions(tmp_path / "sessions.sqlite")))
    s = _samples(generate_latest(registry).decode())
    assert s == {("containerkit_store_readable", ()): 0.0}


def test_risk_score_is_bounded_and_grows_with_every_finding() -> None:
    assert risk_score({}) == 0
    one = risk_score({"CRITICAL": 1})
    assert 0 < risk_score({"LOW": 1}) < risk_score({"MEDIUM": 1}) < risk_score({"HIGH": 1}) < one
    assert one < risk_score({"CRITICAL": 1}, secrets=1) < risk_score({"CRITICAL": 5}, secrets=1)
    assert risk_score({"CRITICAL": 10_000}, secrets=100, policy_violations=100) == 100


def test_a_busy_metrics_port_is_a_typed_error(tmp_path: Path) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        res = subprocess.run(
            [sys.executable, "-m", "containerkit", "metrics", "serve", "--port", str(port)],
            capture_output=True,
            text=True,
            env={**os.environ, "CONTAINERKIT_HOME": str(tmp_path)},
            timeout=60,
            check=False,
        )
    assert res.returncode == 2
    assert "CK106" in res.stderr and "Traceback" not in res.stderr


# -- traces -------------------------------------------------------------------------------------


class OtlpReceiver:
    """An OTLP/HTTP endpoint on 127.0.0.1 that keeps every decoded ExportTraceServiceRequest."""

    def __init__(self) -> None:
        from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

        received: list[Any] = []
        paths: list[str] = []
        self.requests, self.paths = received, paths

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                if self.headers.get("Content-Encoding") == "gzip":
                    import gzip

                    body = gzip.decompress(body)
                req = ExportTraceServiceRequest()
                req.ParseFromString(body)
                received.append(req)
                paths.append(self.path)
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.end_headers()

            def log_message(self, *_a: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.endpoint = f"http://127.0.0.1:{self.server.server_address[1]}"

    def spans(self) -> list[tuple[Any, dict[str, Any], dict[str, Any]]]:
        """(span, its attributes, its resource's attributes) for every span received."""
        out = []
        for req in self.requests:
            for rs in req.resource_spans:
                resource = {a.key: _value(a.value) for a in rs.resource.attributes}
                for ss in rs.scope_spans:
                    for span in ss.spans:
                        out.append((span, {a.key: _value(a.value) for a in span.attributes}, resource))
        return out

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _value(v: Any) -> Any:
    return getattr(v, v.WhichOneof("value")) if v.WhichOneof("value") else None


@pytest.fixture
def otlp() -> Iterator[OtlpReceiver]:
    pytest.importorskip("opentelemetry.exporter.otlp.proto.http")
    r = OtlpReceiver()
    yield r
    r.close()


def otel_env(receiver: OtlpReceiver, home: Path) -> dict[str, str]:
    return {
        **os.environ,
        "CONTAINERKIT_HOME": str(home),
        "CONTAINERKIT_PULL_POLICY": "never",
        "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint,
        "OTEL_BSP_SCHEDULE_DELAY": "200",
    }


def test_a_run_exports_its_spans_as_otlp(otlp: OtlpReceiver, tmp_path: Path) -> None:
    repo = tmp_path / "nothing-to-deploy"
    repo.mkdir()
    (repo / "README.md").write_text("no application here\n")
    res = subprocess.run(
        [sys.executable, "-m", "containerkit", "run", str(repo), "--label", "team=obs"],
        capture_output=True,
        text=True,
        env=otel_env(otlp, tmp_path / "home"),
        timeout=120,
        check=False,
    )
    assert res.returncode == 2, res.stderr  # no deployable module: bad input, recorded in the session
    assert "Traceback" not in res.stderr
    deadline = time.monotonic() + 10
    while not otlp.requests and time.monotonic() < deadline:
        time.sleep(0.1)
    assert set(otlp.paths) == {"/v1/traces"}
    spans = otlp.spans()
    by_name = {span.name: (span, attrs, resource) for span, attrs, resource in spans}
    run, run_attrs, resource = by_name["containerkit.run"]
    analyze, analyze_attrs, _ = by_name["containerkit.analyze"]
    tool, tool_attrs, _ = by_name["containerkit.tool.analyze_repo"]
    assert resource["service.name"] == "containerkit"
    assert run_attrs["containerkit.status"] == "failed"
    session_id = run_attrs["containerkit.session_id"]
    assert analyze_attrs["containerkit.session_id"] == session_id
    assert analyze_attrs["containerkit.error"] == "CK103"
    # one trace: the stage under the run, the tool call under the stage
    assert analyze.trace_id == run.trace_id == tool.trace_id
    assert analyze.parent_span_id == run.span_id
    assert tool.parent_span_id == analyze.span_id
    assert tool_attrs["containerkit.error"] == "CK103"
    assert tool.status.code == 2  # STATUS_CODE_ERROR
    assert (
        run.start_time_unix_nano <= analyze.start_time_unix_nano <= analyze.end_time_unix_nano <= run.end_time_unix_nano
    )


def test_without_otel_settings_nothing_is_exported_and_the_cli_loads_no_telemetry(tmp_path: Path) -> None:
    code = (
        "import sys\n"
        "import containerkit.cli\n"
        "assert not [m for m in sys.modules if m.startswith(('opentelemetry', 'prometheus_client'))]\n"
        "from opentelemetry import trace\n"
        "from containerkit.graph.tracing import configure_tracing\n"
        "assert configure_tracing({}) is False\n"
        "assert type(trace.get_tracer_provider()).__name__ == 'ProxyTracerProvider'\n"
        "print('ok')\n"
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False)
    assert res.stdout.strip() == "ok", res.stderr


def test_a_missing_exporter_or_unknown_kind_warns_and_the_run_goes_on() -> None:
    from containerkit.graph import tracing

    warnings: list[str] = []
    saved = dict(tracing._STATE)
    try:
        tracing._STATE.clear()
        assert tracing.configure_tracing({"OTEL_TRACES_EXPORTER": "zipkin"}, warn=warnings.append) is False
        tracing._STATE.clear()
        assert tracing.configure_tracing({"OTEL_SDK_DISABLED": "true", "OTEL_TRACES_EXPORTER": "otlp"}) is False
        tracing._STATE.clear()
        assert tracing.configure_tracing({"OTEL_TRACES_EXPORTER": "none"}) is False
    finally:
        tracing._STATE.clear()
        tracing._STATE.update(saved)
    assert warnings and "zipkin" in warnings[0]
