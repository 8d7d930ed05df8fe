"""Property-based API tests from the service's own ``/openapi.json``
(schemathesis): every documented operation, bounded examples, against the
real app (real SQLite store with seeded licences, real crypto). No input
may produce a 500; every answer must match its documented status, content
type and schema."""

from __future__ import annotations

import secrets
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import Case
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from pyservice.app import create_app
from pyservice.appkeys import OPENAPI_DOCUMENT
from pyservice.auth.scheme import authorization_header
from pyservice.settings import Settings
from tests.browser_testkit import ThreadedServer
from tests.partner_testkit import add_partner
from tests.verify_testkit import ALL_SCOPES, seeded_app

# Building an app has no side effects: the document is available at once.
schema = schemathesis.openapi.from_dict(
    create_app(Settings(data_dir=Path(tempfile.gettempdir()) / "unused"))[OPENAPI_DOCUMENT]
)
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


class SigningSession(requests.Session):
    """Signs every request as one partner (SIDIAN-HMAC-SM3 over the exact
    target and body sent), so protected operations are exercised beyond 401."""

    def __init__(self, partner: str, secret: str) -> None:
        super().__init__()
        self._partner = partner
        self._secret = secret

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        body = request.body or b""
        if not isinstance(body, (bytes, str)):
            raise TypeError("streamed bodies are not signed here")
        request.headers["Authorization"] = authorization_header(
            self._partner,
            self._secret,
            method=str(request.method),
            target=request.path_url,
            ts=int(time.time()),
            nonce=secrets.token_hex(12),
            body=body.encode() if isinstance(body, str) else body,
        )
        return super().send(request, **kwargs)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ThreadedServer]:
    data = tmp_path_factory.mktemp("api-fuzz") / "data"
    app, _ = seeded_app(Settings(data_dir=data))
    with ThreadedServer(app) as srv:
        yield srv


@pytest.fixture(scope="module")
def session(server: ThreadedServer) -> Iterator[SigningSession]:
    partner, secret = add_partner(server.app, scopes=ALL_SCOPES, rate_per_s=10_000.0)
    with SigningSession(partner, secret) as signing:
        yield signing


@schema.parametrize()
@settings(
    max_examples=50,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
def test_api_conforms_and_never_fails(
    case: Case[Any], server: ThreadedServer, session: SigningSession
) -> None:
    case.call_and_validate(base_url=server.url(""), session=session, checks=CHECKS, timeout=10)
