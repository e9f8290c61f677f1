"""OpenTelemetry spans for tool calls, at no import cost.

``@traced("build_image")`` wraps a tool function in a span ``containerkit.tool.build_image``; a
typed error sets ``containerkit.error`` (its code) and the span's status. OpenTelemetry is imported
on the first call, not when a tool module is imported, so commands that never call a traced tool
(``containerkit --help``, ``lint``) do not pay for it. Without a configured tracer provider the
spans are no-ops (see :mod:`containerkit.graph.tracing` for the ``OTEL_*`` set-up).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import ParamSpec, TypeVar

__all__ = ["traced"]

P = ParamSpec("P")
R = TypeVar("R")


def traced(name: str) -> Callable[[Callable[P, R]], Callable[P, R]]:
    def decorate(func: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(func)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            from opentelemetry import trace

            from containerkit.errors import ContainerKitError

            tracer = trace.get_tracer("containerkit")
            with tracer.start_as_current_span(
                f"containerkit.tool.{name}", attributes={"containerkit.tool": name}
            ) as span:
                try:
                    return func(*args, **kwargs)
                except ContainerKitError as exc:
                    span.set_attribute("containerkit.error", exc.code)
                    span.set_status(trace.Status(trace.StatusCode.ERROR, exc.message[:200]))
                    raise

        return wrapper

    return decorate
