"""The ceiling: parse the same JSON body, return a constant result (see README.md)."""

from __future__ import annotations

import sys
from pathlib import Path

import orjson
from aiohttp import web

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _serve import parser as peer_parser
from _serve import serve

_ANSWER = orjson.dumps(
    {
        "result": "VALID",
        "status": "VALID",
        "status_as_of": "2026-11-27T10:00:00.000Z",
        "checks": [{"name": "token_signature", "ok": True}, {"name": "status", "ok": True}],
        "warnings": [],
        "licence": {"id": "x", "type_name": "营业执照", "holder": {"name": "张*", "id": "x"}},
        "receipt": None,
    }
)


async def verify_qr(request: web.Request) -> web.Response:
    body = orjson.loads(await request.read())
    if not isinstance(body, dict) or not isinstance(body.get("token"), str):
        return web.Response(status=400)
    return web.Response(body=_ANSWER, content_type="application/json")


def create_app() -> web.Application:
    app = web.Application()
    app.router.add_post("/v1/verify/qr", verify_qr)
    return app


def main() -> None:
    parser = peer_parser(__doc__)
    args = parser.parse_args()
    serve(create_app, host=args.host, port=args.port, workers=args.workers)


if __name__ == "__main__":
    main()
