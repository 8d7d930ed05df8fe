"""The request path's metric buffer writes exactly what direct updates
would: counters by amount, histograms into the same buckets and sum."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry, Counter, Histogram

from pyservice.metrics import MetricBuffer

_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


def _metrics() -> tuple[CollectorRegistry, Counter, Histogram]:
    registry = CollectorRegistry()
    counter = Counter("t_requests", "t", ["route"], registry=registry)
    histogram = Histogram("t_seconds", "t", ["route"], buckets=_BUCKETS, registry=registry)
    return registry, counter, histogram


def _samples(registry: CollectorRegistry) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in registry.collect()
        for s in family.samples
        if not s.name.endswith("_created")
    }


_VALUES = st.one_of(
    st.sampled_from([0.0, *_BUCKETS, 5.000001, 1e9]),  # on the bounds, and past the last
    st.floats(min_value=0, max_value=100, allow_nan=False),
)


@given(st.lists(st.tuples(st.sampled_from(["a", "b", "c"]), _VALUES), max_size=60))
def test_buffered_updates_equal_direct_ones(events: list[tuple[str, float]]) -> None:
    direct, d_counter, d_histogram = _metrics()
    buffered, b_counter, b_histogram = _metrics()
    buffer = MetricBuffer()
    for route, value in events:
        d_counter.labels(route).inc()
        d_histogram.labels(route).observe(value)
        buffer.inc(b_counter.labels(route))
        buffer.observe(b_histogram.labels(route), value)
    assert all(v == 0 for v in _samples(buffered).values())  # nothing written before the flush
    buffer.flush()
    want, got = _samples(direct), _samples(buffered)
    assert want.keys() == got.keys()
    for key, value in want.items():
        if key[0] == "t_seconds_sum":  # added in another order: equal up to rounding
            assert abs(got[key] - value) <= 1e-9 * max(1.0, abs(value))
        else:
            assert got[key] == value, key
    buffer.flush()  # a second flush adds nothing
    assert _samples(buffered) == got
