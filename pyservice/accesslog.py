"""The access log: one line per request that never contains the request
path or query, since those may carry a QR token (``/v/{token}``), a licence
or ID number, or other values that must not reach logs (security.md
§Sensitive data). A line is: client address, method, route name (the same
bounded label the metrics use), status, response bytes, seconds, request
id and the authenticated partner (``-`` if none)::

    127.0.0.1 GET ledger_sth 200 412 0.000731 5c0f…e2 -
"""

from __future__ import annotations

import logging

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger
from aiohttp.web_request import BaseRequest
from aiohttp.web_response import StreamResponse

from pyservice.appkeys import PARTNER_ID, REQUEST_ID
from pyservice.middlewares import route_label

__all__ = ["RedactedAccessLogger"]


class RedactedAccessLogger(AbstractAccessLogger):
    @property
    def enabled(self) -> bool:
        """aiohttp skips :meth:`log` (and its arguments) when this is false."""
        return self.logger.isEnabledFor(logging.INFO)

    def log(self, request: BaseRequest, response: StreamResponse, time: float) -> None:
        label = route_label(request) if isinstance(request, web.Request) else "unrouted"
        self.logger.info(
            "%s %s %s %d %d %.6f %s %s",
            request.remote or "-",
            request.method,
            label,
            response.status,
            response.body_length,
            time,
            request.get(REQUEST_ID, "-"),
            request.get(PARTNER_ID, "-"),
        )
