"""``make loadtest``: mass scan-to-verify against the real service, the
ceiling and the naive peer, in one bounded run on 127.0.0.1.

1. Start a private ``redis-server`` and seed a fresh data directory
   (``sidian init --demo`` + ``sidian import`` of generated licences), add
   a load-test partner (HMAC credentials) and pre-generate distinct QR
   tokens with the platform QR key.
2. Start ``sidian serve --workers N --redis-url …``, the ceiling
   (``benchmarks/peers/ceiling.py``), the floor
   (``benchmarks/peers/floor.py``: only the checks a signed scan requires,
   as lean as Python on aiohttp allows) and the naive peer
   (``benchmarks/peers/naive.py``) with the same worker count.
3. Run each scenario with ``wrk`` (same threads, connections, duration);
   signed requests are generated just before each run (fresh timestamps,
   single-use nonces) and replayed by ``loadtests/wrk/requests.lua``:

   - ``distinct``: distinct tokens, each scanned once (service, ceiling,
     floor, naive);
   - ``repeat``: a hot set of 1,000 tokens scanned again and again;
   - ``mix``: 90% QR, 5% signed licence documents, 4% status lookups, 1%
     status changes, while a probe revokes licences and measures how long
     until every worker answers REVOKED;
   - ``batch``: ``/v1/verify/batch`` with 100 QR items per request;
   - ``partner_auth`` (signed partner scans) vs ``scan_page`` (public
     ``GET /v/{token}`` pages);
   - ``distinct`` again at half its maximum rate for the p99-at-50%-load
     figure: each connection pauses a random time (exponential, mean
     connections / half rate) between requests, so arrivals are spread as
     independent scanners' are; and once more with the same fixed pause
     for every request (``lockstep``), which keeps the 64 connections in
     step: they arrive in bursts of 64 and the figure is the time to drain
     a burst.
4. Stop everything it started (by PID), print one table, write
   ``loadtests/results/latest.json``.
"""

from __future__ import annotations

import asyncio
import json
import os
import platform
import random
import threading
import time
from pathlib import Path
from typing import Any

import aiohttp
import click
import orjson

from loadtests.env import Env, Fixtures, Partner, environment, line, write_lines
from loadtests.harness import (
    LoadSettings,
    Sampler,
    Server,
    rate_series,
    requests_answered,
    rss_mb,
    run_wrk,
    slope_per_minute,
)
from pyservice.qr import make_token

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "loadtests" / "results" / "latest.json"


#: Scans per request of the batch scenario, and its distinct tokens.
BATCH_ITEMS = 100
BATCH_TOKENS = 400_000


def scenario_lines(kind: str, fx: Fixtures, partner: Partner | None, n: int) -> list[str]:
    if kind in {"distinct", "repeat"}:
        return [
            line("POST", "/v1/verify/qr", orjson.dumps({"token": t}), partner) for t in fx.tokens(n)
        ]
    if kind == "batch":
        # n requests of BATCH_ITEMS scans each, drawn in turn from a pool of
        # at most BATCH_TOKENS distinct tokens (signing more would take
        # longer than the run; the pool is far larger than the
        # verified-token cache, so a scan seen again is verified again).
        pool = fx.tokens(min(n * BATCH_ITEMS, BATCH_TOKENS))
        out = []
        for i in range(n):
            start = i * BATCH_ITEMS
            items = [
                {"kind": "qr", "token": pool[(start + k) % len(pool)]} for k in range(BATCH_ITEMS)
            ]
            out.append(line("POST", "/v1/verify/batch", orjson.dumps({"items": items}), partner))
        return out
    if kind == "scan_page":
        return [line("GET", f"/v/{t}", b"", None) for t in fx.tokens(n)]
    if kind == "mix":
        rng = random.Random(9)  # noqa: S311 - load mix, not secrets
        tokens = iter(fx.tokens(n))
        suspend = iter(fx.to_suspend)
        out = []
        for _ in range(n):
            roll = rng.random()
            if roll < 0.90:
                body = orjson.dumps({"token": next(tokens)})
                out.append(line("POST", "/v1/verify/qr", body, partner))
            elif roll < 0.95:
                out.append(line("POST", "/v1/verify/licence", rng.choice(fx.documents), partner))
            elif roll < 0.99:
                target = f"/v1/licences/{rng.choice(fx.scanned)}/status"
                out.append(line("GET", target, b"", partner))
            else:
                licence = next(suspend, None)
                if licence is None:
                    continue
                body = orjson.dumps({"status": "SUSPENDED", "reason": "load test"})
                out.append(line("POST", f"/v1/licences/{licence}/status", body, partner))
        return out
    raise ValueError(kind)


async def revocation_probe(
    base: str, fx: Fixtures, partner: Partner, stop_at: float, workers: int
) -> list[float]:
    """Revoke one licence at a time; after the status call returns, scan its
    token on fresh connections until every worker (``X-Sidian-Worker``, or
    20 consecutive answers when the header is absent) answers REVOKED."""
    delays: list[float] = []
    async with aiohttp.ClientSession() as session:
        for licence in fx.to_revoke:
            if time.monotonic() > stop_at:
                break
            token = make_token(fx.qr_key, licence, now=int(time.time()), lifetime=600)
            target = f"/v1/licences/{licence}/status"
            body = orjson.dumps({"status": "REVOKED", "reason": "load-test probe"})
            headers = {
                "Authorization": partner.header("POST", target, body),
                "Content-Type": "application/json",
            }
            async with session.post(base + target, data=body, headers=headers) as r:
                if r.status != 200:
                    continue
            t0 = time.monotonic()
            seen: set[str] = set()
            streak = 0
            while time.monotonic() - t0 < 5:
                scan = orjson.dumps({"token": token})
                h = {
                    "Authorization": partner.header("POST", "/v1/verify/qr", scan),
                    "Content-Type": "application/json",
                    "Connection": "close",
                }
                async with session.post(base + "/v1/verify/qr", data=scan, headers=h) as r:
                    answer = await r.json()
                    worker = r.headers.get("X-Sidian-Worker")
                if answer.get("status") == "REVOKED":
                    streak += 1
                    if worker:
                        seen.add(worker)
                    if (worker and len(seen) >= workers) or (not worker and streak >= 20):
                        delays.append((time.monotonic() - t0) * 1000)
                        break
                else:
                    streak = 0
                    seen.clear()
            await asyncio.sleep(0.5)
    return delays


def _row(summary: dict[str, Any]) -> dict[str, Any]:
    return {
        "rps": round(summary["rps"], 1),
        "p50_ms": summary["p50_us"] / 1000,
        "p90_ms": summary["p90_us"] / 1000,
        "p99_ms": summary["p99_us"] / 1000,
        "cpu_ms_per_request": round(summary["cpu_ms_per_request"], 4),
        "worker_rss_mb": round(summary["worker_rss_mb"], 1),
        "errors": summary["errors"],
        "wrapped": summary["wrapped"],
    }


@click.command()
@click.option("--workers", default=2, show_default=True)
@click.option("--duration", default=10, show_default=True, help="Seconds per wrk run.")
@click.option("--connections", default=64, show_default=True)
@click.option("--threads", default=2, show_default=True)
@click.option("--licences", default=5000, show_default=True)
@click.option("--pool", default=400_000, show_default=True, help="Distinct requests per run.")
def main(
    *, workers: int, duration: int, connections: int, threads: int, licences: int, pool: int
) -> None:
    """Run every scenario once and print the table."""
    settings = LoadSettings(threads=threads, connections=connections, duration_s=duration)
    with environment(workers=workers, licences=licences) as env:
        workers_of = env.service.tree()[1:]
        with Sampler(lambda: max((rss_mb(p) for p in workers_of), default=0.0), 1.0) as rss:
            results = _run_all(env, settings, pool)
        samples = [(t, float(v)) for t, v in rss.samples]
        results["memory"] = {
            "worker_rss_mb_max": round(max((v for _, v in samples), default=0.0), 1),
            "worker_rss_mb_slope_per_min": round(slope_per_minute(samples), 2),
            "minutes_under_load": round((samples[-1][0] - samples[0][0]) / 60, 1) if samples else 0,
        }
    results["machine"] = {
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "workers": workers,
        "wrk": f"-t{threads} -c{connections} -d{duration}s",
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    _print_table(results)


def _run_all(env: Env, settings: LoadSettings, pool: int) -> dict[str, Any]:
    work, fx, partner = env.work, env.fx, env.partner
    service, ceiling, floor, naive = env.service, env.ceiling, env.floor, env.naive
    base, workers = env.base, env.workers
    if ceiling is None or floor is None or naive is None:
        raise RuntimeError("the load run needs the ceiling, the floor and the naive peer")

    def run(name: str, url: str, lines: list[str], watch: Server, **kw: Any) -> dict[str, Any]:
        path = write_lines(work / f"{name}.tsv", lines)
        click.echo(f"  {name}: {len(lines):,} requests prepared; running {settings.duration_s} s")
        return run_wrk(url, path, work / f"{name}.json", settings, watch=watch, **kw)

    ceil_url, naive_url = env.ceiling_url, env.naive_url
    scenarios: dict[str, Any] = {}

    ceiling_run = run("ceiling", ceil_url, scenario_lines("distinct", fx, partner, pool), ceiling)
    floor_run = run("floor", env.floor_url, scenario_lines("distinct", fx, partner, pool), floor)
    naive_run = run("naive", naive_url, scenario_lines("distinct", fx, partner, 20_000), naive)
    distinct = run("distinct", base, scenario_lines("distinct", fx, partner, pool), service)
    ceiling_rps, floor_rps, naive_rps = ceiling_run["rps"], floor_run["rps"], naive_run["rps"]

    def with_ratios(summary: dict[str, Any]) -> dict[str, Any]:
        row = _row(summary)
        row["ceiling_rps"] = round(ceiling_rps, 1)
        row["floor_rps"] = round(floor_rps, 1)
        row["naive_rps"] = round(naive_rps, 1)
        row["ratio_to_ceiling"] = round(summary["rps"] / ceiling_rps, 3)
        row["ratio_to_floor"] = round(summary["rps"] / floor_rps, 3)
        row["ratio_to_naive"] = round(summary["rps"] / naive_rps, 1)
        return row

    # The floor's own figures: how far the product's shape allows at all.
    scenarios["floor"] = with_ratios(floor_run)
    scenarios["distinct"] = with_ratios(distinct)
    hot = scenario_lines("repeat", fx, None, 1000)
    repeat_lines = [
        line("POST", "/v1/verify/qr", hot_line.split("\t")[2].encode(), partner)
        for hot_line in hot * (pool // 1000)
    ]
    scenarios["repeat"] = with_ratios(run("repeat", base, repeat_lines, service))

    stop_at = time.monotonic() + settings.duration_s
    probe = _start_probe(base, fx, partner, stop_at, workers)
    mix = with_ratios(run("mix", base, scenario_lines("mix", fx, partner, pool), service))
    delays = probe.result(timeout=60)
    delays.sort()
    mix["revocation_visibility_p99_ms"] = (
        round(delays[max(0, int(len(delays) * 0.99) - 1)], 1) if delays else None
    )
    mix["revocations_probed"] = len(delays)
    scenarios["mix"] = mix

    batch = with_ratios(
        run(
            "batch",
            base,
            # more requests than a run can send (wrk would start over: replays)
            scenario_lines("batch", fx, partner, max(pool // 100, settings.duration_s * 1_500)),
            service,
        )
    )
    # A batch request carries BATCH_ITEMS scans: its request rate compares
    # with nothing, its scan rate with the ceiling's (one scan per request).
    batch["items_per_s"] = round(batch["rps"] * BATCH_ITEMS, 1)
    batch["items_ratio_to_ceiling"] = round(batch["rps"] * BATCH_ITEMS / ceiling_rps, 3)
    scenarios["batch"] = batch
    scenarios["partner_auth"] = with_ratios(
        run("partner_auth", base, scenario_lines("distinct", fx, partner, pool), service)
    )
    scenarios["scan_page"] = with_ratios(
        run("scan_page", base, scenario_lines("scan_page", fx, None, pool), service)
    )
    scenarios["redis_outage"] = _outage(env, settings, pool, run)

    scenarios["distinct"].update(_half_load(distinct["rps"], settings, env, run))
    return {"scenarios": scenarios}


def _half_load(full_rps: float, settings: LoadSettings, env: Env, run: Any) -> dict[str, Any]:
    """p99 at half the distinct rate: random pauses (the figure), then the
    same fixed pause for every connection (lockstep bursts, for contrast)."""
    half = full_rps / 2
    delay_ms = max(1, int(settings.connections * 1000 / half)) if half else 1
    out: dict[str, Any] = {}
    for suffix, dist in (("", "exponential"), ("_lockstep", "fixed")):
        summary = run(
            f"distinct_half{suffix}",
            env.base,
            scenario_lines("distinct", env.fx, env.partner, 200_000),
            env.service,
            delay_ms=delay_ms,
            delay_dist=dist,
        )
        out[f"p99_ms_at_half_load{suffix}"] = summary["p99_us"] / 1000
        out[f"half_load{suffix}_rps"] = round(summary["rps"], 1)
    return out


def _outage(env: Env, settings: LoadSettings, pool: int, run: Any) -> dict[str, Any]:
    """Distinct scans while Redis is stopped for the middle third of the
    run: 5xx answers (must be none) and how long throughput takes to come
    back to 90% of its pre-outage rate once Redis is back."""
    redis = env.redis
    duration = settings.duration_s
    lines = scenario_lines("distinct", env.fx, env.partner, pool)
    metrics_url = env.base + "/metrics"
    events: dict[str, float] = {}

    def chaos() -> None:
        time.sleep(duration / 3)
        events["stopped"] = time.monotonic()
        redis.stop()
        time.sleep(duration / 3)
        redis.start()
        events["restarted"] = time.monotonic()

    start_errors = requests_answered(metrics_url)[1]
    with Sampler(lambda: requests_answered(metrics_url), 0.25) as sampler:
        thread = threading.Thread(target=chaos)
        thread.start()
        summary = run("redis_outage", env.base, lines, env.service)
        thread.join()
    rates = rate_series(sampler.samples)
    before = [r for t, r in rates if t < events["stopped"] and t > rates[0][0] + 1] if rates else []
    baseline = sum(before) / len(before) if before else 0.0
    recovered_after = None
    for t, r in rates:
        if t > events["restarted"] and r >= 0.9 * baseline:
            recovered_after = round(t - events["restarted"], 2)
            break
    during = [r for t, r in rates if events["stopped"] < t < events["restarted"]]
    errors_5xx = requests_answered(metrics_url)[1] - start_errors
    row = _row(summary)
    row.update(
        {
            "http_5xx": errors_5xx,
            "rps_before": round(baseline, 1),
            "rps_during_outage": round(sum(during) / len(during), 1) if during else None,
            "recovered_within_s": recovered_after,
        }
    )
    return row


def _start_probe(base: str, fx: Fixtures, partner: Partner, stop_at: float, workers: int) -> Any:
    import concurrent.futures  # noqa: PLC0415

    pool = concurrent.futures.ThreadPoolExecutor(1)
    return pool.submit(lambda: asyncio.run(revocation_probe(base, fx, partner, stop_at, workers)))


def _print_table(results: dict[str, Any]) -> None:
    cols = (
        "rps",
        "p50_ms",
        "p99_ms",
        "ratio_to_ceiling",
        "ratio_to_floor",
        "ratio_to_naive",
        "cpu_ms_per_request",
        "worker_rss_mb",
    )
    click.echo("\nscenario       " + "".join(f"{c:>20}" for c in cols))
    for name, row in results["scenarios"].items():
        click.echo(f"{name:<15}" + "".join(f"{row.get(c)!s:>20}" for c in cols))
    mix = results["scenarios"].get("mix", {})
    click.echo(
        f"\nrevocation visible on every worker, p99: {mix.get('revocation_visibility_p99_ms')} ms"
    )
    distinct = results["scenarios"].get("distinct", {})
    click.echo(
        f"distinct at half load ({distinct.get('half_load_rps')} req/s): "
        f"p99 {distinct.get('p99_ms_at_half_load')} ms (random pauses); "
        f"{distinct.get('p99_ms_at_half_load_lockstep')} ms in lockstep"
    )
    click.echo(f"written: {RESULTS}")


if __name__ == "__main__":
    main()
