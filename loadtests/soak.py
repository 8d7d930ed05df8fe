"""``make soak``: steady scan load for a bounded time (default 30 minutes)
while worker memory and open file descriptors are sampled; both must stay
flat. The first ``--warmup`` minutes (caches filling) are excluded from the
trend. Exit status 1 when a limit is broken:

- worker RSS above 200 MB at any sample (performance.md);
- RSS growing faster than ``--max-rss-slope`` MB per minute after warm-up;
- open file descriptors of any worker growing (more than 1 per 10 minutes).
  The load generator's own connections to the service are not counted:
  how wrk's connections split between the workers changes with every
  chunk, which swung the count by ±10 and made its slope depend on where
  the samples fell.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import click
import orjson

from loadtests.chaos import worker_pids
from loadtests.env import Env, environment, line, write_lines
from loadtests.harness import LoadSettings, Sampler, rss_mb, run_wrk, slope_per_minute

RESULTS = Path(__file__).resolve().parent / "results" / "soak.json"
RSS_LIMIT_MB = 200.0


def _client_sockets(port: int) -> set[str]:
    """Inodes of the accepted TCP connections on ``port`` (the load
    generator's; not the listening socket)."""
    inodes: set[str] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            rows = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            fields = row.split()
            local_port = int(fields[1].rsplit(":", 1)[1], 16)
            if local_port == port and fields[3] != "0A":  # 0A: LISTEN
                inodes.add(fields[9])
    return inodes


def _open_fds(pid: int, clients: set[str]) -> int:
    """Open descriptors of ``pid``, the load generator's connections left out."""
    count = 0
    try:
        entries = list(Path(f"/proc/{pid}/fd").iterdir())
    except OSError:
        return 0
    for entry in entries:
        try:
            target = str(entry.readlink())
        except OSError:
            continue  # closed meanwhile
        if target.startswith("socket:[") and target[8:-1] in clients:
            continue
        count += 1
    return count


def _sample(env: Env) -> tuple[float, int]:
    pids = worker_pids(env)
    clients = _client_sockets(int(env.base.rsplit(":", 1)[1]))
    return (
        max((rss_mb(p) for p in pids), default=0.0),
        max((_open_fds(p, clients) for p in pids), default=0),
    )


def _chunk_lines(env: Env, tokens: list[str], n: int) -> list[str]:
    """``n`` signed scans cycling over ``tokens`` (fresh nonce and time each)."""
    return [
        line("POST", "/v1/verify/qr", orjson.dumps({"token": tokens[i % len(tokens)]}), env.partner)
        for i in range(n)
    ]


@click.command()
@click.option("--workers", default=2, show_default=True)
@click.option("--minutes", default=30.0, show_default=True)
@click.option("--warmup", default=2.0, show_default=True, help="Minutes left out of the trend.")
@click.option("--chunk", default=60, show_default=True, help="Seconds per wrk run.")
@click.option(
    "--rate-lines", default=600_000, show_default=True, help="Signed lines per chunk (at least)."
)
@click.option("--max-rss-slope", default=1.0, show_default=True, help="MB per minute.")
def main(
    *,
    workers: int,
    minutes: float,
    warmup: float,
    chunk: int,
    rate_lines: int,
    max_rss_slope: float,
) -> None:
    """Soak the service; fail if memory or descriptors grow."""
    settings = LoadSettings(threads=2, connections=32, duration_s=chunk)
    with environment(workers=workers, licences=3000, peers=False) as env:
        tokens = env.fx.tokens(20_000, lifetime=int(minutes * 60) + 600)
        deadline = time.monotonic() + minutes * 60
        runs: list[dict[str, Any]] = []
        with Sampler(lambda: _sample(env), 5.0) as sampler:
            index = 0
            lines_needed = rate_lines
            while time.monotonic() + chunk <= deadline:
                path = write_lines(env.work / "soak.tsv", _chunk_lines(env, tokens, lines_needed))
                summary = run_wrk(env.base, path, env.work / f"soak-{index}.json", settings)
                runs.append({k: summary[k] for k in ("rps", "p99_us", "requests", "errors")})
                index += 1
                # wrk starts over when the lines run out, and a line sent
                # twice is a replay (401): the next chunk gets enough.
                lines_needed = max(lines_needed, int(summary["rps"] * chunk * 1.5))
        samples = sampler.samples
    start = samples[0][0] if samples else 0.0
    steady = [(t, v) for t, v in samples if t - start >= warmup * 60]
    rss = [(t, float(v[0])) for t, v in steady]
    fds = [(t, float(v[1])) for t, v in steady]
    result: dict[str, Any] = {
        "minutes": minutes,
        "runs": runs,
        "rss_mb_max": max((v[0] for _, v in samples), default=0.0),
        "rss_mb_slope_per_min": round(slope_per_minute(rss), 3),
        "fds_max": max((v[1] for _, v in samples), default=0),
        "fds_slope_per_min": round(slope_per_minute(fds), 3),
        "samples": [(round(t - start, 1), v[0], v[1]) for t, v in samples],
    }
    problems = []
    if result["rss_mb_max"] > RSS_LIMIT_MB:
        problems.append(f"worker RSS reached {result['rss_mb_max']:.0f} MB (> {RSS_LIMIT_MB:.0f})")
    if result["rss_mb_slope_per_min"] > max_rss_slope:
        problems.append(f"RSS grows {result['rss_mb_slope_per_min']} MB/min")
    if result["fds_slope_per_min"] > 0.1:
        problems.append(f"open descriptors grow {result['fds_slope_per_min']}/min")
    result["problems"] = problems
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    click.echo(json.dumps({k: v for k, v in result.items() if k != "samples"}, indent=2))
    if problems:
        raise SystemExit("; ".join(problems))


if __name__ == "__main__":
    main()
