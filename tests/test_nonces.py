"""Single-use nonces (pyservice/nonces.py) on a real redis-server."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from pyservice import qr
from pyservice.crypto import PrivateKey, Sm2Verifier
from pyservice.errors import NonceCheckUnavailableError
from pyservice.nonces import consume_nonce, consume_qr_nonce, nonce_key
from tests.redis_testkit import RedisServer

KEY = PrivateKey.generate()
NOW = 1_764_300_000


@pytest.fixture
async def redis(redis_server: RedisServer) -> AsyncIterator[Redis]:
    client = Redis.from_url(redis_server.url, socket_timeout=1, socket_connect_timeout=1)
    yield client
    await client.aclose()


async def test_first_use_wins_then_replay(redis: Redis) -> None:
    assert await consume_nonce(redis, "partner", b"n-123456789", ttl=600)
    assert not await consume_nonce(redis, "partner", b"n-123456789", ttl=600)
    assert await consume_nonce(redis, "other", b"n-123456789", ttl=600)
    ttl = await redis.ttl(nonce_key("partner", b"n-123456789"))
    assert 590 < ttl <= 600


async def test_concurrent_uses_exactly_one_wins(redis_server: RedisServer) -> None:
    clients = [Redis.from_url(redis_server.url) for _ in range(8)]
    try:
        results = await asyncio.gather(
            *(consume_nonce(clients[i % 8], "qr", b"same", ttl=60) for i in range(64))
        )
    finally:
        for client in clients:
            await client.aclose()
    assert results.count(True) == 1


async def test_qr_nonce_lives_until_the_token_ends(redis: Redis) -> None:
    text = qr.make_token(KEY, "L-single", now=NOW, lifetime=180)
    token = qr.verify_token(Sm2Verifier(KEY.public_key()), text, now=NOW + 30)
    assert await consume_qr_nonce(redis, token, now=NOW + 30)
    assert not await consume_qr_nonce(redis, token, now=NOW + 31)
    key = nonce_key("qr", token.licence_ref + token.nonce)
    assert 140 <= await redis.ttl(key) <= 150
    # Another token of the same licence has its own nonce.
    fresh = qr.decode_token(qr.make_token(KEY, "L-single", now=NOW))
    assert await consume_qr_nonce(redis, fresh, now=NOW)


async def test_redis_down_fails_closed(redis: Redis, redis_server: RedisServer) -> None:
    redis_server.kill()
    with pytest.raises(NonceCheckUnavailableError) as info:
        await consume_nonce(redis, "qr", b"x", ttl=10)
    assert info.value.http_status == 503


def test_bad_arguments() -> None:
    for namespace in ("", "Upper", "a:b", "x" * 40):
        with pytest.raises(ValueError, match="namespace"):
            nonce_key(namespace, b"v")
    for value in (b"", bytes(65)):
        with pytest.raises(ValueError, match=r"1\.\.64"):
            nonce_key("qr", value)


async def test_ttl_must_be_positive(redis: Redis) -> None:
    with pytest.raises(ValueError, match="ttl"):
        await consume_nonce(redis, "qr", b"v", ttl=0)
