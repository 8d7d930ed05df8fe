"""``SidianClient``: an aiohttp client that signs requests with
``SIDIAN-HMAC-SM3`` (see :mod:`pyservice.auth.scheme`).

    async with SidianClient("http://127.0.0.1:8080", partner, secret) as client:
        result = await client.post_json("/v1/verify/qr", {"token": token})

Public endpoints need no credentials: create the client with
``partner=None`` and it sends none.
"""

from __future__ import annotations

import secrets
import time
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import orjson
from yarl import URL

from pyservice.auth.scheme import authorization_header

__all__ = ["SidianClient", "SidianResponse"]


class SidianResponse:
    """Status, headers and the decoded JSON body (or raw bytes) of an answer."""

    __slots__ = ("body", "headers", "status")

    def __init__(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.status = status
        self.headers = headers
        self.body = body

    def json(self) -> Any:
        return orjson.loads(self.body)


class SidianClient:
    def __init__(
        self,
        base_url: str,
        partner: str | None = None,
        secret: str | None = None,
        *,
        session: aiohttp.ClientSession | None = None,
        timeout: float = 10.0,
    ) -> None:
        if (partner is None) != (secret is None):
            raise ValueError("give both partner and secret, or neither")
        self.base_url = base_url.rstrip("/")
        self.partner = partner
        self._secret = secret
        self._own_session = session is None
        self._session = session
        self._timeout = aiohttp.ClientTimeout(total=timeout)

    def __repr__(self) -> str:  # never show the secret
        return f"SidianClient({self.base_url!r}, partner={self.partner!r})"

    async def __aenter__(self) -> SidianClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def close(self) -> None:
        if self._own_session and self._session is not None:
            await self._session.close()
            self._session = None

    def sign_headers(self, method: str, target: str, body: bytes) -> dict[str, str]:
        """The ``Authorization`` header for a request (empty without credentials)."""
        if self.partner is None or self._secret is None:
            return {}
        nonce = secrets.token_urlsafe(18)
        header = authorization_header(
            self.partner,
            self._secret,
            method=method,
            target=target,
            ts=int(time.time()),
            nonce=nonce,
            body=body,
        )
        return {"Authorization": header}

    async def request(
        self,
        method: str,
        target: str,
        *,
        body: bytes = b"",
        content_type: str | None = None,
    ) -> SidianResponse:
        """Send ``method target`` (``target`` = path and query, sent exactly as given)."""
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=self._timeout)
        prefix = urlsplit(self.base_url).path
        headers = self.sign_headers(method.upper(), prefix + target, body)
        if content_type is not None:
            headers["Content-Type"] = content_type
        url = URL(self.base_url + target, encoded=True)
        async with self._session.request(
            method.upper(), url, data=body or None, headers=headers
        ) as response:
            data = await response.read()
            return SidianResponse(response.status, dict(response.headers), data)

    async def get(self, target: str) -> SidianResponse:
        return await self.request("GET", target)

    async def post_json(self, target: str, payload: Any) -> SidianResponse:
        return await self.request(
            "POST", target, body=orjson.dumps(payload), content_type="application/json"
        )
