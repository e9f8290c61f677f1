"""Time limits and retries for registry operations: exponential backoff with full jitter, transient faults only.

Transient: the registry or the engine cannot be reached now (connection refused or reset, a
time-out), the registry answers 5xx, or 429 (its ``Retry-After`` is waited, up to a bound). Never
retried: 4xx answers (401, 403, 404), TLS failures, bad input. Every attempt is recorded
(:class:`OperationAttempt`) and handed back with the result, or in the error's ``attempts`` context.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Literal, TypeVar

from pydantic import BaseModel, Field

from containerkit.errors import ContainerKitError
from containerkit.tools.progress import ProgressSink, null_sink

__all__ = [
    "TRANSIENT_CODES",
    "Operation",
    "OperationAttempt",
    "RetryPolicy",
    "Timeouts",
    "backoff_delay",
    "is_transient",
    "with_retries",
]

T = TypeVar("T")
Operation = Literal["pull", "push", "tag"]
TRANSIENT_CODES = frozenset({"CK201", "CK301", "CK308", "CK309"})
"""Engine unavailable, registry unreachable, registry busy (5xx/429), operation timed out."""


class Timeouts(BaseModel):
    """Seconds each operation may take (each attempt of it)."""

    pull: float = Field(default=600.0, gt=0, le=24 * 3600)
    push: float = Field(default=900.0, gt=0, le=24 * 3600)
    tag: float = Field(default=120.0, gt=0, le=24 * 3600)


class RetryPolicy(BaseModel):
    attempts: int = Field(default=4, ge=1, le=20, description="Tries in all (1: no retry).")
    backoff_s: float = Field(default=1.0, ge=0, le=600, description="Upper bound of the first delay; doubles.")
    max_delay_s: float = Field(default=30.0, ge=0, le=3600, description="No backoff delay is longer.")
    max_retry_after_s: float = Field(
        default=300.0, ge=0, le=3600, description="A Retry-After longer than this is not waited for: the call fails."
    )


class OperationAttempt(BaseModel):
    """One try of a pull, push or tag: when, how long, and how it ended (never a credential)."""

    operation: Operation
    target: str
    number: int
    started: datetime
    duration_s: float
    ok: bool
    code: str | None = None
    message: str | None = None
    transient: bool = False
    delay_s: float | None = None
    """How long the next attempt waited (None: there was none)."""
    retry_after_s: float | None = None
    """What the registry asked for with Retry-After (a 429 or 503)."""


def backoff_delay(attempt: int, base: float, *, cap: float = 30.0, rng: Callable[[], float] = random.random) -> float:
    """Exponential backoff with full jitter: a random delay in [0, min(cap, base * 2**attempt)]."""
    return float(min(cap, base * (2**attempt)) * rng())


def is_transient(exc: ContainerKitError) -> bool:
    """Worth another try: the error says so (``transient`` in its context), else its code does."""
    flag = exc.context.get("transient")
    if isinstance(flag, bool):
        return flag
    return exc.code in TRANSIENT_CODES


def _retry_after(exc: ContainerKitError) -> float | None:
    value = exc.context.get("retry_after_s")
    return float(value) if isinstance(value, int | float) and value >= 0 else None


def with_retries(
    operation: Operation,
    target: str,
    fn: Callable[[int], T],
    *,
    policy: RetryPolicy | None = None,
    sleep: Callable[[float], None] = time.sleep,
    rng: Callable[[], float] = random.random,
    on_progress: ProgressSink = null_sink,
) -> tuple[T, list[OperationAttempt]]:
    """Call ``fn(attempt_number)`` until it succeeds, fails for good, or the attempts run out.

    Returns the value and the attempts; a final error carries them as ``exc.context["attempts"]``.
    """
    policy = policy or RetryPolicy()
    attempts: list[OperationAttempt] = []
    for number in range(1, policy.attempts + 1):
        started = datetime.now(UTC)
        t0 = time.monotonic()
        try:
            value = fn(number)
        except ContainerKitError as exc:
            transient = is_transient(exc)
            record = OperationAttempt(
                operation=operation,
                target=target,
                number=number,
                started=started,
                duration_s=round(time.monotonic() - t0, 3),
                ok=False,
                code=exc.code,
                message=exc.message[:500],
                transient=transient,
                retry_after_s=_retry_after(exc),
            )
            wait = _retry_after(exc)
            if wait is not None and wait > policy.max_retry_after_s:
                transient = False  # the registry asks for longer than we wait: say so now
            if not transient or number == policy.attempts:
                attempts.append(record)
                exc.context["attempts"] = attempts
                raise
            delay = (
                wait
                if wait is not None
                else backoff_delay(number - 1, policy.backoff_s, cap=policy.max_delay_s, rng=rng)
            )
            attempts.append(record.model_copy(update={"delay_s": round(delay, 3)}))
            on_progress(
                {
                    "kind": "retry",
                    "stage": operation,
                    "status": "retrying",
                    "message": f"{operation} {target}: attempt {number}/{policy.attempts} failed "
                    f"([{exc.code}] {exc.message[:200]}); next in {delay:.1f}s",
                    "data": {"attempt": number, "attempts": policy.attempts, "delay_s": round(delay, 3)},
                }
            )
            sleep(delay)
            continue
        attempts.append(
            OperationAttempt(
                operation=operation,
                target=target,
                number=number,
                started=started,
                duration_s=round(time.monotonic() - t0, 3),
                ok=True,
            )
        )
        return value, attempts
    raise AssertionError("unreachable: the last attempt returns or raises")  # pragma: no cover
