"""Prometheus metrics from the session store, served on 127.0.0.1.

:class:`SessionCollector` turns sessions into metric families at each scrape, so what is served is
always what the store holds (a running session's checkpoints included):

- ``containerkit_store_readable``: 1, or 0 when the store could not be read at this scrape;
- ``containerkit_runs{status}``: sessions by status;
- ``containerkit_stage_duration_seconds{stage}``: a histogram of every stage run;
- ``containerkit_recovery_attempts_total{category,action}`` and ``containerkit_errors_total{code}``;
- per image, from the latest session that scanned it: ``containerkit_scan_vulnerabilities{image,severity}``,
  ``containerkit_scan_compliance_score{image,framework}``, ``containerkit_risk_score{image}``,
  ``containerkit_scan_passed{image}``;
- ``containerkit_build_cache_hit_ratio{image}`` (cached steps / steps of its latest build) and the
  ratio over every build, ``containerkit_build_cache_hit_ratio_all``.

``run --metrics-port N`` serves the run's own session (and the live scan and build collectors);
``containerkit metrics serve --port N`` serves the whole store.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from containerkit.errors import ContainerKitError, InvalidOption
from containerkit.state import Session
from containerkit.tools.metrics import DURATION_BUCKETS, SEVERITIES, risk_score

__all__ = ["MetricsServer", "SessionCollector", "serve_metrics", "store_sessions"]


def store_sessions(db: Path, session_id: str | None = None) -> Callable[[], list[Session]]:
    """Reads the store at each call (its own connection: a scrape never blocks the run)."""

    def read() -> list[Session]:
        from containerkit.graph.sessions import SessionStore

        if not db.exists():
            return []
        with SessionStore(db) as store:
            if session_id is not None:
                return [store.load(session_id)] if session_id in store.ids() else []
            return list(store.sessions())

    return read


class SessionCollector:
    """A prometheus_client collector over whatever ``source`` returns at scrape time."""

    def __init__(self, source: Callable[[], Iterable[Session]]) -> None:
        self.source = source

    def describe(self) -> list[Any]:
        return []  # names are known only at scrape time; registering never reads the store

    def collect(self) -> Iterator[Any]:
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily

        readable = GaugeMetricFamily(
            "containerkit_store_readable",
            "1 when the session store could be read at this scrape (else 0: locked, full...).",
        )
        try:
            sessions = list(self.source())
        except ContainerKitError:  # a store being created, or locked past the busy timeout: say so, never a 500
            readable.add_metric([], 0.0)
            yield readable
            return
        readable.add_metric([], 1.0)
        yield readable
        runs = GaugeMetricFamily("containerkit_runs", "Sessions in the store, by status.", labels=["status"])
        for status, n in sorted(Counter(str(s.summary()["status"]) for s in sessions).items()):
            runs.add_metric([status], n)
        yield runs

        durations: dict[str, list[float]] = {}
        errors: Counter[str] = Counter()
        recovery: Counter[tuple[str, str]] = Counter()
        for s in sessions:
            for h in s.history:
                durations.setdefault(h.stage, []).append(h.duration_s)
            errors.update(e.code for e in s.errors)
            recovery.update((a.cause or "unknown", a.action) for a in s.recovery)
        hist = HistogramMetricFamily(
            "containerkit_stage_duration_seconds", "Duration of each stage run.", labels=["stage"]
        )
        for stage, values in sorted(durations.items()):
            buckets = [(str(b), float(sum(1 for v in values if v <= b))) for b in DURATION_BUCKETS]
            buckets.append(("+Inf", float(len(values))))
            hist.add_metric([stage], buckets, sum_value=float(sum(values)))
        yield hist
        rec = CounterMetricFamily(
            "containerkit_recovery_attempts",
            "Recovery attempts, by failure category and action.",
            labels=["category", "action"],
        )
        for (category, action), n in sorted(recovery.items()):
            rec.add_metric([category, action], n)
        yield rec
        err = CounterMetricFamily("containerkit_errors", "Errors recorded in sessions, by code.", labels=["code"])
        for code, n in sorted(errors.items()):
            err.add_metric([code], n)
        yield err
        yield from _latest_per_image(sessions)


def _image(s: Session) -> str:
    return s.images.pushed or s.images.local or (s.build.tags[0] if s.build and s.build.tags else "") or s.repo_path


def _latest_per_image(sessions: list[Session]) -> Iterator[Any]:
    from prometheus_client.core import GaugeMetricFamily

    vulns = GaugeMetricFamily(
        "containerkit_scan_vulnerabilities",
        "Vulnerabilities by severity in the latest scan of each image.",
        labels=["image", "severity"],
    )
    compliance = GaugeMetricFamily(
        "containerkit_scan_compliance_score",
        "Passed / applicable controls (0-1) per framework in the latest scan of each image.",
        labels=["image", "framework"],
    )
    risk = GaugeMetricFamily(
        "containerkit_risk_score", "0-100 from weighted findings of the latest scan of each image.", labels=["image"]
    )
    passed = GaugeMetricFamily(
        "containerkit_scan_passed", "1 when the latest scan of the image passed its gate.", labels=["image"]
    )
    cache = GaugeMetricFamily(
        "containerkit_build_cache_hit_ratio",
        "Cached steps / steps in the latest build of each image.",
        labels=["image"],
    )
    seen_scan: set[str] = set()
    seen_build: set[str] = set()
    cached_all = steps_all = 0
    for s in sorted(sessions, key=lambda x: x.updated, reverse=True):
        image = _image(s)
        if s.build is not None and s.build.steps:
            cached_all += s.build.cached_steps
            steps_all += s.build.steps
            if image not in seen_build:
                seen_build.add(image)
                cache.add_metric([image], s.build.cached_steps / s.build.steps)
        scan = s.scan
        if scan is None or image in seen_scan or not scan.checked:
            continue
        seen_scan.add(image)
        counts = {k.upper(): v for k, v in scan.vulnerabilities.items()}
        for severity in SEVERITIES:
            vulns.add_metric([image, severity], counts.get(severity, 0))
        for framework, score in sorted(scan.compliance.items()):
            if score is not None:
                compliance.add_metric([image, framework], score)
        risk.add_metric([image], risk_score(counts, secrets=scan.secrets, policy_violations=scan.policy_violations))
        passed.add_metric([image], 1.0 if scan.passed else 0.0)
    yield from (vulns, compliance, risk, passed, cache)
    overall = GaugeMetricFamily(
        "containerkit_build_cache_hit_ratio_all", "Cached steps / steps over every build in the store."
    )
    overall.add_metric([], cached_all / steps_all if steps_all else 0.0)
    yield overall


@dataclass
class MetricsServer:
    """A running ``/metrics`` endpoint; ``close()`` stops it."""

    host: str
    port: int
    _server: Any
    _thread: threading.Thread

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/metrics"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


def serve_metrics(collectors: Iterable[Any], *, port: int, host: str = "127.0.0.1") -> MetricsServer:
    """Serve the collectors' text exposition format on ``host:port`` (a thread; port 0 picks a free one)."""
    from prometheus_client import CollectorRegistry, start_http_server

    registry = CollectorRegistry(auto_describe=False)
    for c in collectors:
        registry.register(c)
    try:
        server, thread = start_http_server(port, addr=host, registry=registry)
    except OSError as exc:
        raise InvalidOption(
            f"cannot serve metrics on {host}:{port}: {exc.strerror or exc}",
            hint="Choose another --metrics-port (or --port); 0 picks a free one.",
        ) from None
    return MetricsServer(host=host, port=int(server.server_address[1]), _server=server, _thread=thread)
