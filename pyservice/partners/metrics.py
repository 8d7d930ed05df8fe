"""Per-partner request metrics with bounded labels.

``sidian_partner_requests_total{partner, status}`` counts the requests of
authenticated partners (including those then refused with 403 or 429). Only
the ``top_n`` busiest partners get a label of their own; every other
partner is counted under ``partner="other"``, so the number of series stays
at most ``(top_n + 1) * statuses`` however many partners there are.

Which partners are "top" is decided from recent traffic: a space-saving
sketch (at most ``8 * top_n`` partners tracked, approximate counts) is read
every ``refresh_seconds``, then halved so older traffic fades. A partner
that drops out of the top loses its series (Prometheus sees it end) and is
counted under ``other`` from then on; one that enters starts a new series at
zero. Every exported series therefore only ever increases while it exists,
which is what rate() needs; ``other`` never loses counts.

Under several workers each process keeps its own top list.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any, Final

from prometheus_client import CollectorRegistry, Counter

from pyservice.metrics import MetricBuffer

__all__ = ["OTHER", "PartnerMetrics", "SpaceSaving"]

OTHER: Final = "other"


class SpaceSaving:
    """Approximate heavy hitters in bounded memory (Metwally et al.'s
    space-saving): at most ``capacity`` keys; a new key replaces the
    smallest count and inherits it, so counts are over-estimates by at most
    that minimum and every key with a true count above ``total / capacity``
    is kept."""

    def __init__(self, capacity: int) -> None:
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        self.capacity = capacity
        self.counts: dict[str, float] = {}

    def add(self, key: str, weight: float = 1.0) -> None:
        counts = self.counts
        if key in counts:
            counts[key] += weight
        elif len(counts) < self.capacity:
            counts[key] = weight
        else:
            smallest = min(counts, key=counts.__getitem__)
            floor = counts.pop(smallest)
            counts[key] = floor + weight

    def top(self, n: int) -> list[str]:
        ranked = sorted(self.counts.items(), key=lambda kv: (-kv[1], kv[0]))
        return [key for key, count in ranked[:n] if count > 0]

    def decay(self, factor: float = 0.5) -> None:
        self.counts = {k: v * factor for k, v in self.counts.items() if v * factor >= 0.5}


class PartnerMetrics:
    def __init__(
        self,
        registry: CollectorRegistry,
        *,
        top_n: int = 20,
        refresh_seconds: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
        buffer: MetricBuffer | None = None,
    ) -> None:
        if top_n < 1:
            raise ValueError("top_n must be at least 1")
        self.requests = Counter(
            "sidian_partner_requests",
            "Requests of authenticated partners by status; the busiest partners "
            "by id, the rest as 'other'.",
            ["partner", "status"],
            registry=registry,
        )
        self.top_n = top_n
        self._refresh = refresh_seconds
        self._clock = clock
        self._sketch = SpaceSaving(8 * top_n)
        self._labelled: set[str] = set()
        self._statuses: dict[str, set[str]] = {}
        self._next_refresh = clock() + refresh_seconds
        self._buffer = buffer
        #: (label, status) -> labelled child, while the series exists.
        self._children: dict[tuple[str, str], Any] = {}
        self._lock = threading.Lock()
        # Until the first refresh the first partners seen are labelled, so a
        # small deployment sees its partners at once.
        self._warming = True

    @property
    def labelled(self) -> frozenset[str]:
        with self._lock:
            return frozenset(self._labelled)

    def observe(self, partner_id: str, status: int) -> None:
        status_label = str(status)
        with self._lock:
            self._sketch.add(partner_id)
            now = self._clock()
            if now >= self._next_refresh:
                self._refresh_top()
                self._next_refresh = now + self._refresh
            elif (
                self._warming
                and partner_id not in self._labelled
                and len(self._labelled) < self.top_n
            ):
                self._labelled.add(partner_id)
            label = partner_id if partner_id in self._labelled else OTHER
            child = self._children.get((label, status_label))
            if child is None:
                self._statuses.setdefault(label, set()).add(status_label)
                child = self._children[(label, status_label)] = self.requests.labels(
                    label, status_label
                )
        if self._buffer is None:
            child.inc()
        else:
            self._buffer.inc(child)

    def _refresh_top(self) -> None:
        self._warming = False
        top = set(self._sketch.top(self.top_n))
        gone_labels = self._labelled - top
        if gone_labels and self._buffer is not None:
            self._buffer.flush()  # counts already made land before their series end
        for gone in gone_labels:
            for status in self._statuses.pop(gone, set()):
                self.requests.remove(gone, status)
                self._children.pop((gone, status), None)
        self._labelled = top
        self._sketch.decay()
