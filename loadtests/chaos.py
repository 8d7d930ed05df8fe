"""``make chaos``: scans under load while a worker is killed and Redis is
stopped at random moments; no answer may carry a wrong verdict.

Expected verdicts are known in advance: tokens of licences that stay VALID
may come back VALID or UNDETERMINED (a dependency was down), never INVALID;
tokens of licences revoked before the run may come back INVALID or
UNDETERMINED, never VALID. Connection errors and 5xx answers are counted
as unavailability (the service is allowed to be briefly unreachable while
a worker is replaced; it is never allowed to lie). Exit status 1 on any
wrong verdict.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import time
from collections import Counter
from pathlib import Path
from typing import Any

import aiohttp
import click
import orjson

from loadtests.env import Env, environment
from pyservice.qr import make_token

RESULTS = Path(__file__).resolve().parent / "results" / "chaos.json"
ALLOWED = {"valid": {"VALID", "UNDETERMINED"}, "revoked": {"INVALID", "UNDETERMINED"}}


async def _revoke(session: aiohttp.ClientSession, env: Env, licence: str) -> None:
    target = f"/v1/licences/{licence}/status"
    body = orjson.dumps({"status": "REVOKED", "reason": "chaos run"})
    headers = {
        "Authorization": env.partner.header("POST", target, body),
        "Content-Type": "application/json",
    }
    async with session.post(env.base + target, data=body, headers=headers) as response:
        if response.status != 200:
            raise RuntimeError(f"revoking {licence}: HTTP {response.status}")


async def _scanner(
    session: aiohttp.ClientSession,
    env: Env,
    tokens: list[tuple[str, str]],
    *,
    deadline: float,
    outcomes: Counter[str],
    wrong: list[dict[str, Any]],
) -> None:
    rng = random.Random()  # noqa: S311 - which token to scan next
    while time.monotonic() < deadline:
        kind, token = rng.choice(tokens)
        body = orjson.dumps({"token": token})
        headers = {
            "Authorization": env.partner.header("POST", "/v1/verify/qr", body),
            "Content-Type": "application/json",
        }
        try:
            async with session.post(
                env.base + "/v1/verify/qr", data=body, headers=headers
            ) as response:
                if response.status >= 500:
                    outcomes["http_5xx"] += 1
                    continue
                answer = await response.json()
        except (TimeoutError, aiohttp.ClientError, OSError):
            outcomes["unreachable"] += 1
            await asyncio.sleep(0.05)
            continue
        verdict = answer.get("result") if isinstance(answer, dict) else None
        outcomes[f"{kind}:{verdict}"] += 1
        if verdict not in ALLOWED[kind]:
            wrong.append({"kind": kind, "status": response.status, "answer": answer})


def worker_pids(env: Env) -> list[int]:
    """The service's worker processes (spawned interpreters), not its
    supervisor or multiprocessing's resource tracker."""
    found = []
    for pid in env.service.tree()[1:]:
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            continue
        if b"spawn_main" in cmdline:
            found.append(pid)
    return found


async def _chaos(env: Env, deadline: float, events: list[dict[str, Any]]) -> None:
    rng = random.Random(11)  # noqa: S311 - when to break things
    while time.monotonic() < deadline - 5:
        await asyncio.sleep(rng.uniform(3, 8))
        if rng.random() < 0.5:
            candidates = worker_pids(env)
            if candidates:
                victim = rng.choice(candidates)
                os.kill(victim, signal.SIGKILL)
                events.append({"at": round(time.monotonic(), 2), "event": f"killed {victim}"})
        else:
            env.redis.stop()
            events.append({"at": round(time.monotonic(), 2), "event": "redis stopped"})
            await asyncio.sleep(rng.uniform(1, 4))
            env.redis.start()
            events.append({"at": round(time.monotonic(), 2), "event": "redis started"})


async def _run(env: Env, seconds: int, concurrency: int, revoked: int) -> dict[str, Any]:
    fx = env.fx
    now = int(time.time())
    valid = [("valid", make_token(fx.qr_key, lic, now=now, lifetime=3600)) for lic in fx.scanned]
    timeout = aiohttp.ClientTimeout(total=5)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        gone = fx.to_revoke[:revoked]
        for licence in gone:
            await _revoke(session, env, licence)
        revoked_tokens = [
            ("revoked", make_token(fx.qr_key, lic, now=now, lifetime=3600)) for lic in gone
        ]
        await asyncio.sleep(1.0)  # past the status cache's staleness bound
        tokens = valid[:2000] + revoked_tokens * max(1, 2000 // max(1, len(revoked_tokens)))
        outcomes: Counter[str] = Counter()
        wrong: list[dict[str, Any]] = []
        events: list[dict[str, Any]] = []
        deadline = time.monotonic() + seconds
        await asyncio.gather(
            _chaos(env, deadline, events),
            *(
                _scanner(session, env, tokens, deadline=deadline, outcomes=outcomes, wrong=wrong)
                for _ in range(concurrency)
            ),
        )
    return {
        "seconds": seconds,
        "requests": sum(outcomes.values()),
        "outcomes": dict(outcomes),
        "wrong_verdicts": len(wrong),
        "wrong_samples": wrong[:10],
        "events": events,
    }


@click.command()
@click.option("--workers", default=2, show_default=True)
@click.option("--seconds", default=60, show_default=True)
@click.option("--concurrency", default=32, show_default=True)
@click.option("--licences", default=2000, show_default=True)
@click.option("--revoked", default=50, show_default=True)
def main(*, workers: int, seconds: int, concurrency: int, licences: int, revoked: int) -> None:
    """Scan under chaos; fail on any wrong verdict."""
    with environment(workers=workers, licences=licences, peers=False) as env:
        result = asyncio.run(_run(env, seconds, concurrency, revoked))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    click.echo(json.dumps({k: v for k, v in result.items() if k != "wrong_samples"}, indent=2))
    if result["wrong_verdicts"]:
        raise SystemExit(f"{result['wrong_verdicts']} wrong verdicts (see {RESULTS})")


if __name__ == "__main__":
    main()
