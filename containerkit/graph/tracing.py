"""Exporting the spans of a run through the standard ``OTEL_*`` environment.

Every stage is a span ``containerkit.<stage>`` and every tool call a child span
``containerkit.tool.<name>``, under one ``containerkit.run`` span per run or resume. Nothing is
exported unless the environment asks for it:

- ``OTEL_TRACES_EXPORTER=otlp`` (or any ``OTEL_EXPORTER_OTLP_ENDPOINT`` /
  ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``): OTLP over HTTP/protobuf, with the exporter extra
  installed (``pip install containerkit[otlp]``); endpoint, headers, timeout and compression come
  from the exporter's own ``OTEL_EXPORTER_OTLP_*`` variables. ``OTEL_EXPORTER_OTLP_PROTOCOL=grpc``
  uses the gRPC exporter when that one is installed.
- ``OTEL_TRACES_EXPORTER=console``: spans as JSON on stderr. ``none``, or ``OTEL_SDK_DISABLED=true``:
  nothing.

``OTEL_SERVICE_NAME`` (default ``containerkit``) and ``OTEL_RESOURCE_ATTRIBUTES`` name the
resource. An application that already installed its own tracer provider keeps it: spans go there.
The SDK is imported only when an exporter is configured.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Callable, Iterator, Mapping
from typing import Any

__all__ = ["configure_tracing", "flush", "run_span"]

_STATE: dict[str, Any] = {}
DEFAULT_EXPORT_TIMEOUT_S = 3.0
"""The exporter's time limit when ``OTEL_EXPORTER_OTLP_(TRACES_)TIMEOUT`` does not set one."""


def _wants_export(env: Mapping[str, str]) -> str | None:
    if env.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return None
    exporter = env.get("OTEL_TRACES_EXPORTER", "").strip().lower()
    if exporter:
        first = exporter.split(",")[0].strip()
        return None if first == "none" else first
    if env.get("OTEL_EXPORTER_OTLP_ENDPOINT") or env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"):
        return "otlp"
    return None


def _exporter(kind: str, env: Mapping[str, str], warn: Callable[[str], None]) -> Any | None:
    if kind == "console":
        from opentelemetry.sdk.trace.export import ConsoleSpanExporter

        return ConsoleSpanExporter()
    if kind != "otlp":
        warn(f"OTEL_TRACES_EXPORTER={kind}: containerkit knows otlp, console and none; no spans are exported")
        return None
    protocol = (env.get("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL") or env.get("OTEL_EXPORTER_OTLP_PROTOCOL") or "").lower()
    try:
        if protocol == "grpc":
            from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import (  # type: ignore[import-not-found,unused-ignore]
                OTLPSpanExporter,
            )
        else:
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import (  # type: ignore[import-not-found,unused-ignore]
                OTLPSpanExporter,
            )
    except ImportError:
        extra = "opentelemetry-exporter-otlp-proto-grpc" if protocol == "grpc" else "containerkit[otlp]"
        warn(f"OTLP export is configured but its exporter is not installed: pip install {extra}")
        return None
    # a collector that is down costs a CLI run seconds, not the exporter's default 10 s of retries, and one
    # line on stderr ("Failed to export spans batch"), not one per retry
    logging.getLogger("opentelemetry.exporter.otlp").setLevel(logging.ERROR)
    if env.get("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT") or env.get("OTEL_EXPORTER_OTLP_TIMEOUT"):
        return OTLPSpanExporter()
    return OTLPSpanExporter(timeout=DEFAULT_EXPORT_TIMEOUT_S)


def configure_tracing(
    environ: Mapping[str, str] | None = None, *, warn: Callable[[str], None] = lambda _m: None
) -> bool:
    """Install a tracer provider exporting as ``OTEL_*`` says (once per process); True when spans are exported."""
    if "provider" in _STATE:
        return _STATE["provider"] is not None
    env = os.environ if environ is None else environ
    kind = _wants_export(env)
    _STATE["provider"] = None
    if kind is None:
        return False
    from opentelemetry import trace

    current = trace.get_tracer_provider()
    if type(current).__name__ not in ("ProxyTracerProvider", "NoOpTracerProvider"):
        return False  # the embedding application's provider receives our spans as configured there
    exporter = _exporter(kind, env, warn)
    if exporter is None:
        return False
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    attrs = {} if env.get("OTEL_SERVICE_NAME") else {"service.name": "containerkit"}
    provider = TracerProvider(resource=Resource.create(attrs))
    provider.add_span_processor(BatchSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    _STATE["provider"] = provider
    return True


def flush(timeout_s: float = 5.0) -> None:
    """Send the spans still queued (a CLI process exits right after its run)."""
    provider = _STATE.get("provider")
    if provider is not None:
        provider.force_flush(int(timeout_s * 1000))


@contextlib.contextmanager
def run_span(name: str, session_id: str, **attrs: str) -> Iterator[Any]:
    """The parent span of one run (or resume) of a session (yielded); queued spans are flushed when it ends."""
    from opentelemetry import trace

    tracer = trace.get_tracer("containerkit")
    try:
        with tracer.start_as_current_span(
            f"containerkit.{name}", attributes={"containerkit.session_id": session_id, **attrs}
        ) as span:
            yield span
    finally:
        flush()
