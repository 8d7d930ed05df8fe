"""The load-test environment: a seeded data directory, a partner, tokens,
and the servers (Redis, the service, the ceiling, the floor, the naive peer), all
started and stopped by PID. Shared by run.py, chaos.py and soak.py."""

from __future__ import annotations

import contextlib
import json
import os
import random
import secrets
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import orjson

from loadtests.harness import Server, free_port, wait_http
from pyservice.auth.scheme import authorization_header
from pyservice.crypto import sm3
from pyservice.ledger.keys import ledger_key
from pyservice.ledger.service import Ledger
from pyservice.qr import make_token
from pyservice.registry.keys import KeyRing, load_master_key
from pyservice.registry.service import Registry, today_in_china
from pyservice.store import open_store

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "loadtests" / "results" / "latest.json"
PEERS = ROOT / "benchmarks" / "peers"
BIN = Path(sys.executable).parent


class Partner:
    def __init__(self, partner_id: str, secret: str) -> None:
        self.id = partner_id
        self._secret = secret

    @property
    def secret(self) -> str:
        """For a peer that checks signatures itself (the floor)."""
        return self._secret

    def header(self, method: str, target: str, body: bytes) -> str:
        return authorization_header(
            self.id,
            self._secret,
            method=method,
            target=target,
            ts=int(time.time()),
            nonce=secrets.token_urlsafe(15),
            body=body,
        )


def line(method: str, target: str, body: bytes, partner: Partner | None) -> str:
    auth = partner.header(method, target, body) if partner is not None else ""
    return "\t".join((method, target, body.decode(), auth))


def write_lines(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n")
    return path


def seed(data_dir: Path, licences: int, work: Path) -> None:
    sidian = str(BIN / "sidian")
    env = {**os.environ, "SIDIAN_DATA_DIR": str(data_dir)}
    subprocess.run([sidian, "init", "--demo"], check=True, env=env, capture_output=True)  # noqa: S603
    from pyservice.registry.demo import bulk_rows  # noqa: PLC0415 - only the harness needs it

    rows = work / "licences.jsonl"
    with rows.open("wb") as out:
        for row in bulk_rows(licences, prefix="L"):
            out.write(orjson.dumps(row) + b"\n")
    subprocess.run([sidian, "import", str(rows)], check=True, env=env, capture_output=True)  # noqa: S603


def add_partner(data_dir: Path) -> Partner:
    out = subprocess.run(  # noqa: S603 - our own CLI
        [
            str(BIN / "sidian"),
            "partner",
            "add",
            "load-test",
            "--scopes",
            "verify:qr,verify:licence,status:read,status:write",
            "--rate",
            "100000",
            "--data-dir",
            str(data_dir),
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    data = json.loads(out)
    return Partner(data["id"], data["secret"])


class Fixtures:
    """Licence ids, tokens and documents made in-process from the store."""

    def __init__(self, data_dir: Path) -> None:
        store = open_store(data_dir)
        try:
            keyring = KeyRing(store, load_master_key(data_dir))
            self.kid, self.qr_key = keyring.qr_signing_key()
            self.qr_public_hex = self.qr_key.public_key().to_bytes().hex()
            db = sqlite3.connect(data_dir / "sidian.db")
            # In force today: stored VALID and not past valid_until (EXPIRED
            # is derived from the date, never stored).
            today = today_in_china().isoformat()
            self.valid = [
                row[0]
                for row in db.execute(
                    "SELECT id FROM registry_licences WHERE status = 'VALID' "
                    "AND (valid_until IS NULL OR valid_until >= ?) ORDER BY id",
                    (today,),
                )
            ]
            db.close()
            registry = Registry(store, keyring, Ledger(store, ledger_key(store, data_dir)))
            self.documents = [orjson.dumps(registry.export(i)) for i in self.valid[:50]]
        finally:
            store.close()
        rng = random.Random(5)  # noqa: S311 - load mix, not secrets
        rng.shuffle(self.valid)
        # Licences the status-changing requests and the revocation probe use,
        # kept apart from the ones scanned.
        self.to_suspend = self.valid[:1500]
        self.to_revoke = self.valid[1500:1600]
        self.scanned = self.valid[1600:]

    def tokens(self, n: int, *, lifetime: int = 3600) -> list[str]:
        now = int(time.time())
        ids = self.scanned
        return [
            make_token(self.qr_key, ids[i % len(ids)], now=now, lifetime=lifetime) for i in range(n)
        ]


def seed_naive(redis_url: str, fx: Fixtures) -> None:
    import redis  # noqa: PLC0415 - sync client for seeding only

    client = redis.Redis.from_url(redis_url)
    pipe = client.pipeline()
    for licence in fx.valid:
        record = {"status": "VALID", "licence": {"id": licence}}
        pipe.set(b"naive:status:" + sm3(licence.encode())[:16].hex().encode(), orjson.dumps(record))
    pipe.execute()
    client.close()


@dataclass
class Env:
    work: Path
    data_dir: Path
    fx: Fixtures
    partner: Partner
    redis: Server
    service: Server
    ceiling: Server | None
    floor: Server | None
    naive: Server | None
    base: str
    ceiling_url: str
    floor_url: str
    naive_url: str
    workers: int


def _redis_server(port: int, log: Path) -> Server:
    argv = ["redis-server", "--port", str(port), "--bind", "127.0.0.1"]
    return Server("redis", [*argv, "--save", "", "--appendonly", "no"], log)


@contextlib.contextmanager
def environment(*, workers: int, licences: int, peers: bool = True) -> Iterator[Env]:
    """Seed, start everything, yield; stop everything (by PID) on the way out."""
    with tempfile.TemporaryDirectory(prefix="sidian-load-") as tmp:
        work = Path(tmp)
        data_dir = work / "data"
        print(f"seeding {licences:,} licences into {data_dir} …", flush=True)
        seed(data_dir, licences, work)
        partner = add_partner(data_dir)
        fx = Fixtures(data_dir)
        redis_port, svc_port, ceil_port, floor_port, naive_port = (free_port() for _ in range(5))
        redis_url = f"redis://127.0.0.1:{redis_port}/0"
        redis = _redis_server(redis_port, work / "redis.log")
        serve = [str(BIN / "sidian"), "serve", "--host", "127.0.0.1", "--port", str(svc_port)]
        service = Server(
            "service",
            [*serve, "--workers", str(workers), "--redis-url", redis_url, "--data-dir",
             str(data_dir)],
            work / "service.log",
            env={"SIDIAN_EXPOSE_WORKER": "1", "SIDIAN_LOG_LEVEL": "warning"},
        )  # fmt: skip
        ceiling = floor = naive = None
        if peers:
            ceiling = Server(
                "ceiling",
                [sys.executable, str(PEERS / "ceiling.py"), "--port", str(ceil_port),
                 "--workers", str(workers)],
                work / "ceiling.log",
            )  # fmt: skip
            floor = Server(
                "floor",
                [sys.executable, str(PEERS / "floor.py"), "--port", str(floor_port),
                 "--workers", str(workers), "--redis-url", redis_url,
                 "--qr-public-key", fx.qr_public_hex, "--partner", partner.id,
                 "--data-dir", str(data_dir), "--work-dir", str(work)],
                work / "floor.log",
                env={"FLOOR_PARTNER_SECRET": partner.secret},
            )  # fmt: skip
            naive = Server(
                "naive",
                [sys.executable, str(PEERS / "naive.py"), "--port", str(naive_port),
                 "--workers", str(workers), "--redis-url", redis_url,
                 "--qr-public-key", fx.qr_public_hex],
                work / "naive.log",
            )  # fmt: skip
        servers = [s for s in (redis, service, ceiling, floor, naive) if s is not None]
        try:
            redis.start()
            time.sleep(0.3)
            if peers:
                seed_naive(redis_url, fx)
            for server in servers[1:]:
                server.start()
            env = Env(
                work=work,
                data_dir=data_dir,
                fx=fx,
                partner=partner,
                redis=redis,
                service=service,
                ceiling=ceiling,
                floor=floor,
                naive=naive,
                base=f"http://127.0.0.1:{svc_port}",
                ceiling_url=f"http://127.0.0.1:{ceil_port}",
                floor_url=f"http://127.0.0.1:{floor_port}",
                naive_url=f"http://127.0.0.1:{naive_port}",
                workers=workers,
            )
            wait_http(env.base + "/healthz")
            if peers:
                wait_http(env.ceiling_url + "/v1/verify/qr")
                wait_http(env.floor_url + "/v1/verify/qr")
                wait_http(env.naive_url + "/v1/verify/qr")
            yield env
        finally:
            for server in reversed(servers):
                server.stop()
