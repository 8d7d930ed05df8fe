"""The floor: only the work security.md requires of a signed QR scan, done
as leanly as Python on aiohttp allows (see README.md). It answers how close
any service of the product's shape can come to the ceiling.

Per request, in order: the strict ``Authorization`` parse, the clock
window, HMAC-SM3 over the canonical string, the nonce and the partner's
rate limit in Redis (the service's batched script: one call per event-loop
turn), the JSON body, the token (Rust: decode, lifetime, SM2 with the
cached platform-key verifier), the status (a dict loaded at start), a usage
record queued for a writer thread, and a JSON answer with the record's
receipt. Every 0.5 s the writer thread hashes the queued records (keyed
hash of the target, Merkle leaves and root) and inserts them in one
transaction into a table with the service's schema and indexes (a store of
its own: the floor never touches the service's data).

Left out, because they are policy the floor does not model: grants and
licence-type limits, masking rules, full disclosure, summaries, metrics,
access logs, request ids, the ledger entry and signed tree head of each
usage batch.
"""

from __future__ import annotations

import hmac
import os
import sqlite3
import sys
import threading
import time
from pathlib import Path
from typing import Any

import orjson
import redis.asyncio as redis
from aiohttp import web

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _serve import parser as peer_parser
from _serve import serve

from pyservice.auth.scheme import AuthError, canonical_string, parse_authorization
from pyservice.crypto import PublicKey, Sm2Verifier, hmac_sm3, sm3
from pyservice.errors import MalformedInputError, SidianError
from pyservice.merkle import leaf_hash, root
from pyservice.partners.ratelimit import RateLimiter, ReplayedNonce
from pyservice.qr import verify_token
from pyservice.store import open_store

#: The partner secret comes from the environment, not the command line
#: (which any local user can read in the process list).
SECRET_ENV = "FLOOR_PARTNER_SECRET"  # noqa: S105 - a variable name
MAX_SKEW_S = 300
NONCE_TTL_S = 600
FLUSH_INTERVAL_S = 0.5
SETTINGS: dict[str, Any] = {}
LIMITER = web.AppKey("limiter", RateLimiter)
_USAGE_INSERT = (
    "INSERT INTO usage_records (record_id, at, partner_id, endpoint, target, result, "
    "latency_us, request_id, client, full_disclosure, batch_root, batch_pos, purpose) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


def _statuses(data_dir: Path) -> dict[bytes, str]:
    db = sqlite3.connect(data_dir / "sidian.db")
    try:
        return {bytes(ref): status for ref, status in db.execute(
            "SELECT ref, status FROM registry_licences")}  # fmt: skip
    finally:
        db.close()


class _UsageWriter:
    """Queue on the loop, hash and insert on a thread every 0.5 s."""

    def __init__(self, db_path: Path, target_key: bytes) -> None:
        self.queue: list[tuple[Any, ...]] = []
        self._db_path = db_path
        self._key = target_key
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="floor-usage", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(10)

    def _run(self) -> None:
        conn = sqlite3.connect(self._db_path, isolation_level=None, timeout=30)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        while not self._stop.wait(FLUSH_INTERVAL_S):
            batch, self.queue = self.queue, []  # one reference swap: safe under the GIL
            if batch:
                self._write(conn, batch)
        conn.close()

    def _write(self, conn: sqlite3.Connection, batch: list[tuple[Any, ...]]) -> None:
        rows = [(*r[:4], hmac_sm3(self._key, r[4])[:16], *r[5:]) for r in batch]
        batch_root = root([leaf_hash(orjson.dumps(r[:4] + r[5:])) for r in rows])
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany(
            _USAGE_INSERT,
            [(*r[:10], batch_root, pos, None) for pos, r in enumerate(rows)],
        )
        conn.execute("COMMIT")


async def verify_qr(request: web.Request) -> web.Response:
    started = time.perf_counter()
    try:
        cred = parse_authorization(request.headers.get("Authorization"))
    except AuthError:
        return web.Response(status=401)
    now = time.time()
    body = await request.read()
    message = canonical_string(request.method, request.path_qs, cred.ts_text, cred.nonce, body)
    if (
        cred.partner != SETTINGS["partner"]
        or abs(now - cred.ts) > MAX_SKEW_S
        or not hmac.compare_digest(hmac_sm3(SETTINGS["secret"], message), cred.signature)
    ):
        return web.Response(status=401)
    decision = await request.app[LIMITER].take_with_nonce(
        cred.partner, 1e9, f"floor:nonce:{cred.partner}:{cred.nonce}", NONCE_TTL_S
    )
    if isinstance(decision, ReplayedNonce):
        return web.Response(status=401)
    obj = orjson.loads(body)
    text = obj.get("token") if isinstance(obj, dict) else None
    if not isinstance(text, str):
        return web.Response(status=400)
    try:
        token = verify_token(SETTINGS["verifier"], text, now=int(now))
        status = SETTINGS["statuses"].get(token.licence_ref, "UNKNOWN")
        ref = token.licence_ref
    except MalformedInputError:
        return web.Response(status=400)
    except SidianError as exc:  # expired, not yet valid, bad signature
        status, ref = exc.code, b""
    result = "VALID" if status == "VALID" else "INVALID"
    writer: _UsageWriter = SETTINGS["writer"]
    record_id = os.urandom(12).hex()
    at = int(now * 1000)
    latency_us = int((time.perf_counter() - started) * 1e6)
    writer.queue.append(
        (record_id, at, cred.partner, "verify_qr", ref, result, latency_us, record_id,
         request.remote, 0)
    )  # fmt: skip
    answer = {
        "result": result,
        "status": status,
        "status_as_of": at,
        "checks": [{"name": "token_signature", "ok": bool(ref)}, {"name": "status", "ok": True}],
        "receipt": {"id": record_id, "at": at},
    }
    return web.Response(body=orjson.dumps(answer), content_type="application/json")


def create_app() -> web.Application:
    async def resources(app: web.Application):  # type: ignore[no-untyped-def]
        client = redis.Redis.from_url(SETTINGS["redis_url"])
        app[LIMITER] = RateLimiter(client, workers=SETTINGS["workers"])
        writer = _UsageWriter(SETTINGS["usage_db"], SETTINGS["target_key"])
        SETTINGS["writer"] = writer
        writer.start()
        yield
        writer.stop()
        await app[LIMITER].aclose()
        await client.aclose()

    app = web.Application()
    app.cleanup_ctx.append(resources)
    app.router.add_post("/v1/verify/qr", verify_qr)
    return app


def main() -> None:
    parser = peer_parser(__doc__)
    parser.add_argument("--redis-url", required=True)
    parser.add_argument("--qr-public-key", required=True, help="65-byte SEC1 key, hex")
    parser.add_argument("--partner", required=True, help=f"partner id (secret in ${SECRET_ENV})")
    parser.add_argument("--data-dir", required=True, type=Path, help="the service's, read once")
    parser.add_argument("--work-dir", required=True, type=Path, help="for the floor's own store")
    args = parser.parse_args()
    secret = os.environ.get(SECRET_ENV)
    if not secret:
        parser.error(f"${SECRET_ENV} is not set")
    usage_dir = args.work_dir / "floor-store"
    open_store(usage_dir).close()  # the service's schema, migrations included
    SETTINGS.update(
        redis_url=args.redis_url,
        workers=args.workers,
        partner=args.partner,
        secret=secret.encode(),
        verifier=Sm2Verifier(PublicKey.from_bytes(bytes.fromhex(args.qr_public_key))),
        statuses=_statuses(args.data_dir),
        usage_db=usage_dir / "sidian.db",
        target_key=sm3(b"floor usage target key"),
    )
    serve(create_app, host=args.host, port=args.port, workers=args.workers)


if __name__ == "__main__":
    main()
