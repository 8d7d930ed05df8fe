"""Prometheus metrics of the HTTP layer.

Each application owns its registry (no global state), so several apps in
one process (tests) do not collide. Labels are bounded: the route name or
template, never the raw path; a fixed set of methods.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from bisect import bisect_left
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, Final

from aiohttp import web
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.exposition import choose_encoder
from prometheus_client.gc_collector import GCCollector
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.platform_collector import PlatformCollector
from prometheus_client.process_collector import ProcessCollector

__all__ = ["FLUSH_INTERVAL_S", "HttpMetrics", "MetricBuffer", "flush_periodically"]

#: How often a worker writes its buffered request metrics to prometheus'
#: values (and so how stale another worker's counts can be in a scrape).
FLUSH_INTERVAL_S: Final = 0.25


class MetricBuffer:
    """Metric updates of the request path as plain additions, written to
    prometheus-client's values by :meth:`flush` (every
    :data:`FLUSH_INTERVAL_S` and before each scrape this process renders).
    Under several workers each prometheus ``inc`` is a locked write to a
    shared file (~1 µs, ~2 µs a histogram observation); a request made
    about ten of them, ~25 µs of its ~290. Event-loop thread only.

    Histograms are bucketed here exactly as ``Histogram.observe`` does
    (``value <= bound``, first bound wins) and written to the child's
    ``_sum`` and ``_buckets``: prometheus-client has no public bulk
    observation; a test holds this to ``observe`` on the installed version."""

    __slots__ = ("_counts", "_histograms")

    def __init__(self) -> None:
        self._counts: dict[Any, float] = {}
        self._histograms: dict[Any, tuple[list[float], list[int]]] = {}

    def inc(self, child: Any, amount: float = 1.0) -> None:
        """``child.inc(amount)`` at the next flush (a Counter's child)."""
        counts = self._counts
        counts[child] = counts.get(child, 0.0) + amount

    def observe(self, child: Any, value: float) -> None:
        """``child.observe(value)`` at the next flush (a Histogram or its child)."""
        entry = self._histograms.get(child)
        if entry is None:
            entry = self._histograms[child] = ([0.0], [0] * len(child._upper_bounds))
        entry[0][0] += value
        entry[1][bisect_left(child._upper_bounds, value)] += 1

    def flush(self) -> None:
        counts, self._counts = self._counts, {}
        for child, amount in counts.items():
            child.inc(amount)
        histograms, self._histograms = self._histograms, {}
        for child, (total, buckets) in histograms.items():
            child._sum.inc(total[0])
            for bucket, n in zip(child._buckets, buckets, strict=True):
                if n:
                    bucket.inc(n)


async def flush_periodically(app: web.Application, buffer: MetricBuffer) -> AsyncIterator[None]:
    """A ``cleanup_ctx`` body: flush ``buffer`` every :data:`FLUSH_INTERVAL_S`
    while the app runs, and once more at the end."""

    async def run() -> None:
        while True:
            await asyncio.sleep(FLUSH_INTERVAL_S)
            buffer.flush()

    task = asyncio.create_task(run(), name="metrics-flush")
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        buffer.flush()


# Verification answers in milliseconds; the buckets resolve that range.
_LATENCY_BUCKETS = (
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class HttpMetrics:
    registry: CollectorRegistry
    #: ``sidian_requests_total{endpoint,code}`` (issue 6 names; endpoint is
    #: the route name, which already implies the method; code the HTTP
    #: status). One counter and one histogram per request: under several
    #: workers each update is a write to a shared file.
    endpoint_requests: Counter
    endpoint_duration: Histogram
    #: ``sidian_verifications_total{kind,result}``: kind qr, licence,
    #: signature (each batch item counts); result the verdict or ``error``.
    verifications: Counter
    #: Time of each SM2 verification actually computed on the hot path.
    sm2_verify: Histogram
    ledger_tree_size: Gauge
    ledger_sth_age: Gauge

    @classmethod
    def create(cls) -> HttpMetrics:
        registry = CollectorRegistry(auto_describe=True)
        ProcessCollector(registry=registry)
        PlatformCollector(registry=registry)
        GCCollector(registry=registry)
        return cls(
            registry=registry,
            endpoint_requests=Counter(
                "sidian_requests",
                "Requests by endpoint (route name) and HTTP status code.",
                ["endpoint", "code"],
                registry=registry,
            ),
            endpoint_duration=Histogram(
                "sidian_request_duration_seconds",
                "Request handling time by endpoint.",
                ["endpoint"],
                buckets=_LATENCY_BUCKETS,
                registry=registry,
            ),
            verifications=Counter(
                "sidian_verifications",
                "Verifications by kind and result.",
                ["kind", "result"],
                registry=registry,
            ),
            sm2_verify=Histogram(
                "sidian_sm2_verify_seconds",
                "SM2 signature verifications computed on the QR hot path.",
                buckets=(0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01),
                registry=registry,
            ),
            ledger_tree_size=Gauge(
                "sidian_ledger_tree_size",
                "Size of the latest signed tree head.",
                registry=registry,
                multiprocess_mode="max",
            ),
            ledger_sth_age=Gauge(
                "sidian_ledger_sth_age_seconds",
                "Age of the latest signed tree head when last scraped.",
                registry=registry,
                multiprocess_mode="min",
            ),
        )

    #: Where the request path's updates wait for the next flush.
    buffer: MetricBuffer = field(default_factory=MetricBuffer)
    #: Labelled children by label values (``labels()`` costs a lock and a
    #: dict lookup per call; routes, status codes and verdicts are few).
    _children: dict[tuple[str, Any], Any] = field(default_factory=dict)

    def observe(self, route: str, status: int, seconds: float) -> None:
        children = self._children.get((route, status))
        if children is None:
            children = (
                self.endpoint_requests.labels(route, str(status)),
                self.endpoint_duration.labels(route),
            )
            self._children[(route, status)] = children
        counter, histogram = children
        buffer = self.buffer
        buffer.inc(counter)
        buffer.observe(histogram, seconds)

    def count_verification(self, kind: str, result: str) -> None:
        children = self._children
        child = children.get((kind, result))
        if child is None:
            child = children[(kind, result)] = self.verifications.labels(kind, result)
        self.buffer.inc(child)

    def observe_sm2(self, seconds: float) -> None:
        self.buffer.observe(self.sm2_verify, seconds)

    def render(self, accept: str) -> tuple[bytes, str]:
        """The exposition for an ``Accept`` header: body and content type.
        Under several workers (``PROMETHEUS_MULTIPROC_DIR`` set, see
        :mod:`pyservice.workers`) it aggregates every worker's metrics."""
        self.buffer.flush()
        encoder, content_type = choose_encoder(accept)
        registry = self.registry
        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            registry = CollectorRegistry()
            MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return encoder(registry), content_type
