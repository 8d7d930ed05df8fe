"""The naive peer: gmssl (pure-Python) SM2 verify and one Redis GET per
request, no caches (see README.md). Token layout: formats.md §QR token."""

from __future__ import annotations

import base64
import struct
import sys
import time
from pathlib import Path

import orjson
import redis.asyncio as redis
from aiohttp import web
from gmssl import sm2  # type: ignore[import-untyped]

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _serve import parser as peer_parser
from _serve import serve

REDIS = web.AppKey("redis", redis.Redis)
SETTINGS: dict[str, str] = {}


def _verifier(public_key_hex: str) -> sm2.CryptSM2:
    crypt = sm2.CryptSM2(private_key="00", public_key="")
    crypt.public_key = public_key_hex[2:]  # x || y hex, without the 04 prefix
    return crypt


async def verify_qr(request: web.Request) -> web.Response:
    body = orjson.loads(await request.read())
    token = body["token"]
    raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    if len(raw) != 104 or raw[0] != 1:
        return web.json_response({"error": "malformed_token"}, status=400)
    ref = raw[10:26]
    issued_at, lifetime = struct.unpack(">IH", raw[26:32])
    now = time.time()
    checks = []
    # A new verifier object per request, as a typical handler would write it.
    ok_sig = _verifier(SETTINGS["qr_public_key"]).verify_with_sm3(raw[40:].hex(), raw[:40])
    checks.append({"name": "token_signature", "ok": bool(ok_sig)})
    checks.append({"name": "token_lifetime", "ok": issued_at - 30 <= now < issued_at + lifetime})
    record = await request.app[REDIS].get(b"naive:status:" + ref.hex().encode())
    if record is None:
        checks.append({"name": "licence_ref", "ok": False})
        status = "UNDETERMINED"
        licence = None
    else:
        data = orjson.loads(record)
        status = data["status"]
        licence = data["licence"]
        checks.append({"name": "status", "ok": status == "VALID"})
    valid = all(c["ok"] for c in checks) and status == "VALID"
    return web.json_response(
        {
            "result": "VALID" if valid else "INVALID",
            "status": status,
            "checks": checks,
            "licence": licence,
        }
    )


def create_app() -> web.Application:
    async def redis_ctx(app: web.Application):  # type: ignore[no-untyped-def]
        app[REDIS] = redis.Redis.from_url(SETTINGS["redis_url"])
        yield
        await app[REDIS].aclose()

    app = web.Application()
    app.cleanup_ctx.append(redis_ctx)
    app.router.add_post("/v1/verify/qr", verify_qr)
    return app


def main() -> None:
    parser = peer_parser(__doc__)
    parser.add_argument("--redis-url", required=True)
    parser.add_argument("--qr-public-key", required=True, help="65-byte SEC1 key, hex")
    args = parser.parse_args()
    SETTINGS["redis_url"] = args.redis_url
    SETTINGS["qr_public_key"] = args.qr_public_key
    serve(create_app, host=args.host, port=args.port, workers=args.workers)


if __name__ == "__main__":
    main()
