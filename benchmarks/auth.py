"""Partner authentication overhead on the request path.

Run with ``.venv/bin/python benchmarks/auth.py [--requests N] [--redis-url URL]``.

One service (``create_app``, in process, aiohttp test server on 127.0.0.1)
with two no-op routes: a public one and one requiring ``verify:qr``. The
same client sends ``--requests`` sequential requests to each, in
alternating rounds so both see the same machine state; signed requests are
signed before the timed region (a partner's own work). Prints the median
per-request time of each and the ratio signed / public: what parsing,
the partner lookup (cached), the timestamp, HMAC-SM3 over the canonical
string, the nonce (in memory, or ``SET NX EX`` in Redis with
``--redis-url``) and the rate-limit bucket add to a request.
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import statistics
import tempfile
import time
from pathlib import Path

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from pyservice.app import create_app
from pyservice.appkeys import PARTNERS
from pyservice.auth.routes import public, requires
from pyservice.auth.scheme import authorization_header
from pyservice.settings import Settings


@public
async def open_route(request: web.Request) -> web.Response:
    return web.Response(text="ok")


@requires("verify:qr")
async def signed_route(request: web.Request) -> web.Response:
    return web.Response(text="ok")


async def _round(
    client: TestClient[web.Request, web.Application],
    path: str,
    headers: list[dict[str, str]],
) -> float:
    start = time.perf_counter()
    for h in headers:
        async with client.get(path, headers=h) as response:
            await response.read()
            if response.status != 200:
                raise SystemExit(f"{path}: HTTP {response.status}")
    return (time.perf_counter() - start) / len(headers)


async def main(requests: int, rounds: int, redis_url: str | None) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(data_dir=Path(tmp) / "data", redis_url=redis_url)
        app = create_app(settings)
        app.router.add_get("/bench/public", open_route)
        app.router.add_get("/bench/signed", signed_route)
        async with TestClient(TestServer(app)) as client:
            new = app[PARTNERS].add("bench", scopes=["verify:qr"], rate_per_s=1e5)
            public_times: list[float] = []
            signed_times: list[float] = []
            for _ in range(rounds):
                now = int(time.time())
                signed_headers = [
                    {
                        "Authorization": authorization_header(
                            new.id,
                            new.secret,
                            method="GET",
                            target="/bench/signed",
                            ts=now,
                            nonce=secrets.token_hex(12),
                            body=b"",
                        )
                    }
                    for _ in range(requests)
                ]
                public_times.append(await _round(client, "/bench/public", [{}] * requests))
                signed_times.append(await _round(client, "/bench/signed", signed_headers))
    pub, sig = statistics.median(public_times), statistics.median(signed_times)
    nonce_store = "Redis" if redis_url else "in-process"
    print(f"public route : {pub * 1e6:8.1f} µs/request (median of {rounds} rounds)")
    print(f"signed route : {sig * 1e6:8.1f} µs/request (nonces {nonce_store})")
    print(f"ratio signed/public: {sig / pub:.2f} (authentication adds {(sig - pub) * 1e6:.1f} µs)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--redis-url", default=None)
    args = parser.parse_args()
    asyncio.run(main(args.requests, args.rounds, args.redis_url))
