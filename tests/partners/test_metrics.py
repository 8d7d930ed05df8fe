"""Per-partner metrics: bounded labels (top partners, the rest 'other'),
series that only increase while they exist, and the HTTP wiring."""

from __future__ import annotations

import random

from hypothesis import given
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry

from pyservice.appkeys import PARTNER_METRICS
from pyservice.partners.metrics import OTHER, PartnerMetrics, SpaceSaving
from tests.conftest import Client
from tests.partner_testkit import SignedClient, add_partner


class FakeClock:
    """A settable monotonic clock (time is an input, not a mocked dependency)."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _series(registry: CollectorRegistry) -> dict[tuple[str, str], float]:
    out: dict[tuple[str, str], float] = {}
    for family in registry.collect():
        for sample in family.samples:
            if sample.name == "sidian_partner_requests_total":
                out[(sample.labels["partner"], sample.labels["status"])] = sample.value
    return out


def test_labels_stay_bounded_and_follow_the_busiest_partners() -> None:
    registry = CollectorRegistry()
    clock = FakeClock()
    metrics = PartnerMetrics(registry, top_n=3, refresh_seconds=10, clock=clock)
    rng = random.Random(7)  # noqa: S311 - a reproducible workload, not a secret
    # 200 partners; p0..p2 are busy, the rest send a trickle.
    for _ in range(5000):
        busy = rng.random() < 0.7
        metrics.observe(f"p{rng.randrange(3)}" if busy else f"p{rng.randrange(3, 200)}", 200)
        clock.now += 0.01
    assert metrics.labelled == {"p0", "p1", "p2"}
    partners = {p for p, _ in _series(registry)}
    assert partners <= {"p0", "p1", "p2", OTHER}
    assert len(partners) <= 3 + 1
    # Every request is counted exactly once (in a labelled series or other).
    before = sum(_series(registry).values())
    for i in range(100):
        metrics.observe(f"p{i}", 200)
    assert sum(_series(registry).values()) == before + 100


def test_a_partner_leaving_the_top_loses_its_series_and_other_never_decreases() -> None:
    registry = CollectorRegistry()
    clock = FakeClock()
    metrics = PartnerMetrics(registry, top_n=1, refresh_seconds=10, clock=clock)
    for _ in range(50):
        metrics.observe("early", 200)
    assert _series(registry) == {("early", "200"): 50}  # labelled while warming up
    clock.now = 11
    metrics.observe("late", 429)  # refresh: "early" is still the top
    assert metrics.labelled == {"early"}
    other_before = 0.0
    for round_ in range(6):
        for _ in range(100):
            metrics.observe("late", 429)
        clock.now += 11
        other = _series(registry).get((OTHER, "429"), 0.0)
        assert other >= other_before, round_
        other_before = other
    assert metrics.labelled == {"late"}
    assert ("early", "200") not in _series(registry)  # its series ended


def test_first_partners_are_labelled_at_once_in_a_small_deployment() -> None:
    registry = CollectorRegistry()
    metrics = PartnerMetrics(registry, top_n=2, clock=FakeClock())
    for partner in ("a", "b", "c"):
        metrics.observe(partner, 200)
    assert _series(registry) == {("a", "200"): 1, ("b", "200"): 1, (OTHER, "200"): 1}


@given(st.lists(st.integers(0, 30), min_size=1, max_size=400), st.integers(1, 8))
def test_space_saving_keeps_every_heavy_hitter(keys: list[int], capacity: int) -> None:
    sketch = SpaceSaving(capacity)
    for k in keys:
        sketch.add(str(k))
    assert len(sketch.counts) <= capacity
    true = {str(k): keys.count(k) for k in set(keys)}
    for name, count in true.items():
        if count > len(keys) / capacity:
            assert name in sketch.counts
            assert sketch.counts[name] >= count  # an over-estimate, never under


async def test_http_requests_are_counted_per_partner_including_refusals(client: Client) -> None:
    pid, secret = add_partner(client.app, scopes=("status:read",), rate_per_s=1)
    signed = SignedClient(client, pid, secret)
    first = await signed.get("/v1/partner/applications")  # authenticated route
    assert first.status == 200
    limited = await signed.get("/v1/partner/applications")
    assert limited.status == 429
    denied_partner, denied_secret = add_partner(client.app, scopes=("status:read",))
    denied = await SignedClient(client, denied_partner, denied_secret).get("/v1/admin/partners")
    assert denied.status == 403
    unsigned = await client.get("/v1/admin/partners")
    assert unsigned.status == 401
    text = await (await client.get("/metrics")).text()
    assert f'sidian_partner_requests_total{{partner="{pid}",status="200"}} 1.0' in text
    assert f'sidian_partner_requests_total{{partner="{pid}",status="429"}} 1.0' in text
    assert f'partner="{denied_partner}",status="403"' in text
    assert 'status="401"' not in text.split("sidian_partner_requests_total", 1)[1]
    assert client.app[PARTNER_METRICS].labelled == {pid, denied_partner}
