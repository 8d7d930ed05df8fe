"""Partners for tests (not a test module itself).

    client = await aiohttp_client(create_app(settings))
    partner, secret = add_partner(client.app, scopes=("verify:qr",))
    signed = SignedClient(client, partner, secret)
    response = await signed.post_json("/v1/verify/qr", {"token": token})

``add_partner`` writes a real partner (wrapped secret) into the started
app's store, ``add_holder`` a holder credential bound to the holder of one
stored licence; ``SignedClient`` signs each request with
:func:`pyservice.auth.scheme.authorization_header` over the exact request
target it sends (no re-encoding), a fresh nonce and the current time unless
``ts``/``nonce`` are given. ``headers`` alone builds the header, e.g. to
replay a captured request.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterable, Mapping
from typing import Any

import orjson
from aiohttp import ClientResponse, web
from aiohttp.test_utils import TestClient
from yarl import URL

from pyservice.appkeys import PARTNERS, STORE
from pyservice.auth.scheme import authorization_header

__all__ = ["BUSINESS_LICENCE", "DRIVING_LICENCE", "SignedClient", "add_holder", "add_partner"]

#: Demo licence type codes (pyservice.registry.demo): 营业执照 and 驾驶证.
BUSINESS_LICENCE = "11100000000013338W032"
DRIVING_LICENCE = "11100000000013661B006"

Client = TestClient[web.Request, web.Application]


def add_partner(
    app: web.Application,
    *,
    scopes: Iterable[str] = ("verify:qr",),
    licence_types: Iterable[str] = (),
    issuers: Iterable[str] = (),
    rate_per_s: float = 1000.0,
    single_use_tokens: bool = False,
    name: str = "测试合作方",
) -> tuple[str, str]:
    """A new active partner in the (started) app's store: ``(id, secret)``."""
    new = app[PARTNERS].add(
        name,
        scopes=list(scopes),
        licence_types=licence_types,
        issuers=issuers,
        rate_per_s=rate_per_s,
        single_use_tokens=single_use_tokens,
    )
    return new.id, new.secret


def add_holder(
    app: web.Application, licence_id: str, *, rate_per_s: float = 1000.0
) -> tuple[str, str]:
    """A new holder credential for the holder of the stored licence
    ``licence_id`` (bound by the licence's keyed holder hash): ``(id, secret)``."""
    row = app[STORE].licence_get(licence_id)
    assert row is not None, f"no licence {licence_id}"
    new = app[PARTNERS].add_holder(row.holder_key, rate_per_s=rate_per_s)
    return new.id, new.secret


class SignedClient:
    """Signed requests through an aiohttp test client."""

    def __init__(self, client: Client, partner: str, secret: str) -> None:
        self.client = client
        self.partner = partner
        self.secret = secret

    def headers(
        self,
        method: str,
        target: str,
        body: bytes = b"",
        *,
        ts: int | None = None,
        nonce: str | None = None,
    ) -> dict[str, str]:
        return {
            "Authorization": authorization_header(
                self.partner,
                self.secret,
                method=method.upper(),
                target=target,
                ts=int(time.time()) if ts is None else ts,
                nonce=secrets.token_hex(12) if nonce is None else nonce,
                body=body,
            )
        }

    async def send(
        self,
        method: str,
        target: str,
        *,
        body: bytes = b"",
        headers: Mapping[str, str],
    ) -> ClientResponse:
        """Send exactly ``target`` (path and query, already encoded) with
        ``headers``; the body is read before returning."""
        base = str(self.client.make_url("/")).rstrip("/")
        url = URL(base + target, encoded=True)
        response = await self.client.session.request(
            method.upper(), url, data=body or None, headers=dict(headers)
        )
        await response.read()
        response.release()
        return response

    async def request(
        self,
        method: str,
        target: str,
        *,
        body: bytes = b"",
        ts: int | None = None,
        nonce: str | None = None,
        extra_headers: Mapping[str, str] | None = None,
    ) -> ClientResponse:
        headers = self.headers(method, target, body, ts=ts, nonce=nonce)
        headers.update(extra_headers or {})
        return await self.send(method, target, body=body, headers=headers)

    async def get(self, target: str, **kwargs: Any) -> ClientResponse:
        return await self.request("GET", target, **kwargs)

    async def post_json(
        self,
        target: str,
        payload: Any,
        *,
        extra_headers: Mapping[str, str] | None = None,
        **kwargs: Any,
    ) -> ClientResponse:
        return await self.request(
            "POST",
            target,
            body=orjson.dumps(payload),
            extra_headers={"Content-Type": "application/json", **(extra_headers or {})},
            **kwargs,
        )
