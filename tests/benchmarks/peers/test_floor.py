"""The floor peer is a baseline only if it really does the checks it claims:
a signed, fresh, unreplayed request with a good token is VALID and leaves
a usage record; everything else is refused or not VALID."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from loadtests.env import PEERS, Fixtures, Partner, add_partner, seed
from pyservice.auth.scheme import authorization_header
from pyservice.qr import make_token
from tests.redis_testkit import RedisServer, free_port
from tests.serve_testkit import get, post


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Partner, Fixtures]:
    work = tmp_path_factory.mktemp("floor")
    data_dir = work / "data"
    seed(data_dir, 20, work)
    return data_dir, add_partner(data_dir), Fixtures(data_dir)


@pytest.fixture
def floor(
    seeded: tuple[Path, Partner, Fixtures], redis_server: RedisServer, tmp_path: Path
) -> Iterator[str]:
    data_dir, partner, fx = seeded
    port = free_port()
    log = (tmp_path / "floor.log").open("wb")
    process = subprocess.Popen(  # noqa: S603 - our own interpreter and script
        [sys.executable, str(PEERS / "floor.py"), "--port", str(port), "--workers", "1",
         "--redis-url", redis_server.url, "--qr-public-key", fx.qr_public_hex,
         "--partner", partner.id, "--data-dir", str(data_dir), "--work-dir", str(tmp_path)],
        env={**os.environ, "FLOOR_PARTNER_SECRET": partner.secret},
        stdout=log, stderr=log,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while not _listening(base):
            assert process.poll() is None, (tmp_path / "floor.log").read_text()
            assert time.monotonic() < deadline
            time.sleep(0.1)
        yield base
    finally:
        process.terminate()
        process.wait(20)
        log.close()


def _listening(base: str) -> bool:
    try:
        return get(base + "/v1/verify/qr")[0] == 405
    except OSError:
        return False


def _usage_rows(tmp_path: Path) -> list[tuple[str, str]]:
    db = sqlite3.connect(tmp_path / "floor-store" / "sidian.db")
    try:
        return list(db.execute("SELECT result, endpoint FROM usage_records"))
    finally:
        db.close()


def _send(base: str, body: bytes, auth: str) -> int:
    import urllib.error  # noqa: PLC0415
    import urllib.request  # noqa: PLC0415

    request = urllib.request.Request(  # noqa: S310 - loopback
        base + "/v1/verify/qr",
        data=body,
        headers={"Content-Type": "application/json", "Authorization": auth},
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


def test_a_signed_scan_is_checked_answered_and_recorded(
    floor: str, seeded: tuple[Path, Partner, Fixtures], tmp_path: Path
) -> None:
    _, partner, fx = seeded
    creds = (partner.id, partner.secret)
    now = int(time.time())
    good = make_token(fx.qr_key, fx.valid[0], now=now, lifetime=600)
    status, _, body = post(floor, "/v1/verify/qr", {"token": good}, partner=creds)
    assert status == 200
    assert json.loads(body)["result"] == "VALID"

    expired = make_token(fx.qr_key, fx.valid[0], now=now - 7200, lifetime=600)
    status, _, body = post(floor, "/v1/verify/qr", {"token": expired}, partner=creds)
    assert (status, json.loads(body)["result"]) == (200, "INVALID")

    tampered = good[:-2] + ("AA" if good[-2:] != "AA" else "BB")
    status, _, body = post(floor, "/v1/verify/qr", {"token": tampered}, partner=creds)
    assert status == 400 or json.loads(body)["result"] != "VALID"
    answered = 3 if status == 200 else 2

    assert post(floor, "/v1/verify/qr", {"token": "x"}, partner=creds)[0] == 400
    wrong_secret = (partner.id, partner.secret + "x")
    assert post(floor, "/v1/verify/qr", {"token": good}, partner=wrong_secret)[0] == 401

    data = json.dumps({"token": good}).encode()
    stale = authorization_header(
        partner.id, partner.secret, method="POST", target="/v1/verify/qr",
        ts=now - 400, nonce="n" * 20, body=data,
    )  # fmt: skip
    assert _send(floor, data, stale) == 401
    fresh = authorization_header(
        partner.id, partner.secret, method="POST", target="/v1/verify/qr",
        ts=now, nonce="r" * 20, body=data,
    )  # fmt: skip
    assert _send(floor, data, fresh) == 200
    answered += 1
    assert _send(floor, data, fresh) == 401  # the same nonce again: a replay

    # One usage record per answered scan (refusals are not the floor's to record).
    deadline = time.monotonic() + 10
    while len(_usage_rows(tmp_path)) < answered and time.monotonic() < deadline:
        time.sleep(0.2)
    results = [result for result, _ in _usage_rows(tmp_path)]
    assert len(results) == answered
    assert results.count("VALID") == 2
