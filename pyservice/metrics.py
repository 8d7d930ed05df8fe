"""Prometheus metrics of the HTTP layer.

Each application owns its registry (no global state), so several apps in
one process (tests) do not collide. Labels are bounded: the route name or
template, never the raw path; a fixed set of methods.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.exposition import choose_encoder
from prometheus_client.gc_collector import GCCollector
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.platform_collector import PlatformCollector
from prometheus_client.process_collector import ProcessCollector

__all__ = ["HttpMetrics"]

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
        counter.inc()
        histogram.observe(seconds)

    def count_verification(self, kind: str, result: str) -> None:
        children = self._children
        child = children.get((kind, result))
        if child is None:
            child = children[(kind, result)] = self.verifications.labels(kind, result)
        child.inc()

    def render(self, accept: str) -> tuple[bytes, str]:
        """The exposition for an ``Accept`` header: body and content type.
        Under several workers (``PROMETHEUS_MULTIPROC_DIR`` set, see
        :mod:`pyservice.workers`) it aggregates every worker's metrics."""
        encoder, content_type = choose_encoder(accept)
        registry = self.registry
        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            registry = CollectorRegistry()
            MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return encoder(registry), content_type
