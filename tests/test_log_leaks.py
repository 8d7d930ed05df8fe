"""No secret, token, full ID number or private key reaches the logs.

A workload runs with every logger at DEBUG — partners added and rotated
(API and CLI), signed requests that pass and fail (bad signature, replay,
stale, rate-limited, scope denied, Redis down), QR tokens and ID numbers in
request paths, queries and bodies, licences issued for a person — once in
process (log records captured) and once through ``sidian serve`` in a
subprocess (its whole stderr/stdout). The output is then scanned for every
secret the workload used and for anything shaped like one.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import cast

import pytest
from click.testing import CliRunner
from pytest_aiohttp import AiohttpClient, AiohttpServer

from pyservice.accesslog import RedactedAccessLogger
from pyservice.app import create_app
from pyservice.appkeys import KEYRING, PARTNERS
from pyservice.cli import main
from pyservice.client import SidianClient
from pyservice.qr import make_token
from pyservice.registry.keys import load_master_key
from pyservice.settings import Settings
from tests.conftest import Client
from tests.logscan_testkit import LogLeakCollector, leaks
from tests.partner_testkit import SignedClient, add_partner
from tests.redis_testkit import RedisServer, free_port
from tests.registry_testkit import (
    HOLDER_PERSON,
    data_dir,
    driving_body,
    open_registry,
    resident_id,
)

OTHER_ID = resident_id("43010219800101001")


def test_the_scan_can_fail() -> None:
    token = "A" * 139
    assert leaks(f"GET /v/{token}", set()) == ["qr token"]
    assert leaks(f"holder {HOLDER_PERSON}", set()) == ["id number"]
    assert leaks("holder 110105194912310021", set()) == []  # wrong check character
    assert leaks("sk_" + "a" * 43, set()) == ["partner secret"]
    assert leaks("-----BEGIN PRIVATE KEY-----", set()) == ["private key"]
    assert leaks("abc secret123 def", {"secret123"}) == ["value secret…"]
    assert leaks("GET ledger_sth 200 412 0.000731 5c0f -", set()) == []


def test_the_session_collector_flags_a_record() -> None:
    collector = LogLeakCollector()
    logger = logging.getLogger("tests.leak-probe")
    logger.addHandler(collector)
    logger.propagate = False  # not into the session's own collector
    try:
        collector.where = "probe"
        logger.warning("nothing to see")
        assert collector.found == []
        try:
            raise ValueError("sk_" + "b" * 43)
        except ValueError:
            logger.exception("failed")  # the secret is only in the traceback
    finally:
        logger.removeHandler(collector)
        logger.propagate = True
    assert collector.found == ["probe: tests.leak-probe logged a partner secret"]


def _log_text(records: list[logging.LogRecord]) -> str:
    lines = []
    for record in records:
        lines.append(record.getMessage())
        if record.exc_info:
            lines.append(logging.Formatter().formatException(record.exc_info))
    return "\n".join(lines)


async def test_in_process_workload_leaks_nothing(
    aiohttp_server: AiohttpServer,
    aiohttp_client: AiohttpClient,
    settings: Settings,
    redis_server: RedisServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    tmp_path = settings.data_dir.parent
    caplog.set_level(logging.DEBUG)
    settings = dataclasses.replace(settings, redis_url=redis_server.url)
    # The service's access logger, as `sidian serve` uses it.
    server = await aiohttp_server(create_app(settings), access_log_class=RedactedAccessLogger)
    # (a client of a started server: typed as one of an app)
    client = cast(Client, await aiohttp_client(server))
    app = client.app
    secrets: set[str] = {HOLDER_PERSON, OTHER_ID}

    # Partners: added, rotated.
    pid, secret = add_partner(app, scopes=("status:read",), rate_per_s=3)
    admin_id, admin_secret = add_partner(app, scopes=("admin",))
    rotated = app[PARTNERS].rotate_secret(admin_id).secret
    secrets |= {secret, admin_secret, rotated}
    partner = SignedClient(client, pid, secret)
    admin = SignedClient(client, admin_id, rotated)

    # QR tokens and keys.
    _kid, qr_key = app[KEYRING].qr_signing_key()
    token = make_token(qr_key, "1.2.156.3005.2.X", now=int(time.time()), consent=True)
    secrets |= {token, qr_key.to_bytes().hex(), qr_key.to_pem()}
    master = load_master_key(settings.data_dir)
    secrets.add(master.hex())

    # Signed requests that pass and fail, with secrets in paths and bodies.
    body = {"purpose": f"核验 {OTHER_ID} {token}", "scopes": ["verify:qr"]}
    assert (await partner.post_json("/v1/partner/applications", body)).status == 201
    captured = partner.headers("GET", "/v1/partner/applications")
    assert (await partner.send("GET", "/v1/partner/applications", headers=captured)).status
    assert (await partner.send("GET", "/v1/partner/applications", headers=captured)).status == 401
    stale = await partner.get("/v1/partner/applications", ts=int(time.time()) - 1000)
    assert stale.status == 401
    wrong = SignedClient(client, pid, rotated)
    assert (await wrong.get("/v1/partner/applications")).status == 401
    assert (await partner.get("/v1/admin/partners")).status in {403, 429}
    for _ in range(4):
        await partner.get("/v1/partner/applications")  # into the rate limit
    # the scan page verifies the token (an unknown licence): a page, no leak
    assert (await client.get(f"/v/{token}?id={HOLDER_PERSON}")).status == 200
    assert (await admin.get(f"/v1/admin/applications/{HOLDER_PERSON}")).status == 404
    assert (await admin.get(f"/v1/admin/applications?partner={token}")).status == 200
    redis_server.stop()
    assert (await admin.get("/v1/admin/partners")).status == 503
    redis_server.start()
    await asyncio.sleep(0)

    # The CLI: the secret goes to stdout once, never to a log.
    data = tmp_path / "cli-data"
    runner = CliRunner()
    assert runner.invoke(main, ["init", "--data-dir", str(data)]).exit_code == 0
    out = runner.invoke(
        main, ["partner", "add", "CLI", "--scopes", "verify:qr", "--data-dir", str(data)]
    ).output
    secrets.add(json.loads(out)["secret"])

    # A licence issued for a person (ID number in the body).
    (tmp_path / "reg").mkdir()
    registry = open_registry(data_dir(tmp_path / "reg"))
    registry.issue(driving_body())
    registry.store.close()

    text = _log_text(caplog.records)
    assert "partner_applications" in text  # the access log was captured
    assert leaks(text, secrets) == []


def test_served_process_logs_leak_nothing(tmp_path: Path, redis_server: RedisServer) -> None:
    data = tmp_path / "data"
    env = {
        **os.environ,
        "SIDIAN_LOG_LEVEL": "DEBUG",
        "SIDIAN_REDIS_URL": redis_server.url,
        "SIDIAN_DATA_DIR": str(data),
    }
    env.pop("SIDIAN_MASTER_KEY", None)
    sidian = [sys.executable, "-m", "pyservice"]

    def cli(*args: str) -> str:
        done = subprocess.run(  # noqa: S603 - this project's own CLI
            [*sidian, *args], env=env, capture_output=True, text=True, timeout=60, check=True
        )
        return done.stdout + done.stderr

    cli("init")
    added = cli("partner", "add", "served", "--scopes", "status:read")
    new = json.loads(added[added.index("{") : added.rindex("}") + 1])
    secrets = {new["secret"], HOLDER_PERSON, load_master_key(data).hex()}
    port = free_port()
    log_path = tmp_path / "serve.log"
    with log_path.open("wb") as log_file:
        server = subprocess.Popen(  # noqa: S603 - this project's own CLI
            [*sidian, "serve", "--port", str(port)],
            env=env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
        try:
            asyncio.run(_served_workload(port, new["id"], new["secret"], secrets))
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=30)
    text = log_path.read_text(encoding="utf-8", errors="replace")
    assert "partner_applications" in text  # the access log was written
    assert leaks(text, secrets) == []


async def _served_workload(port: int, partner: str, secret: str, secrets: set[str]) -> None:
    base = f"http://127.0.0.1:{port}"
    async with SidianClient(base) as anonymous:
        for _ in range(200):
            try:
                if (await anonymous.get("/healthz")).status == 200:
                    break
            except OSError:
                pass
            await asyncio.sleep(0.05)
        token = "Q" * 139
        secrets.add(token)
        # not a token: the scan page's bad-code answer, and no leak
        assert (await anonymous.get(f"/v/{token}?id={HOLDER_PERSON}")).status == 400
    async with SidianClient(base, partner, secret) as signed:
        body = {"purpose": f"用途 {HOLDER_PERSON}", "scopes": ["verify:qr"]}
        assert (await signed.post_json("/v1/partner/applications", body)).status == 201
        assert (await signed.get("/v1/partner/applications")).status == 200
        assert (await signed.get(f"/v1/admin/applications/{HOLDER_PERSON}")).status == 403
    async with SidianClient(base, partner, secret + "x") as wrong:
        assert (await wrong.get("/v1/partner/applications")).status == 401
