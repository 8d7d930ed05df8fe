"""The application factory, middlewares and operations endpoints."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.typedefs import Handler
from pytest_aiohttp import AiohttpClient

from pyservice.app import create_app
from pyservice.appkeys import KEYRING, LEDGER, METRICS, REGISTRY, REQUEST_ID, SETTINGS, VERIFIER
from pyservice.auth.routes import public
from pyservice.crypto import PanicException
from pyservice.errors import InvalidSignatureError, MalformedInputError, SidianError
from pyservice.settings import Settings
from tests.conftest import Client
from tests.x509_testkit import make_ca, pem


async def test_healthz(client: Client) -> None:
    response = await client.get("/healthz")
    assert response.status == 200
    assert response.content_type == "application/json"
    assert await response.json() == {"status": "ok"}
    assert len(response.headers["X-Request-Id"]) == 32


async def test_request_ids_differ(client: Client) -> None:
    first = await client.get("/healthz")
    second = await client.get("/healthz")
    assert first.headers["X-Request-Id"] != second.headers["X-Request-Id"]


async def test_metrics_count_requests_by_route_not_path(client: Client) -> None:
    assert (await client.get("/healthz")).status == 200
    assert (await client.get("/no/such/path/12345")).status == 404
    response = await client.get("/metrics")
    assert response.status == 200
    assert response.content_type == "text/plain"
    text = await response.text()
    assert 'sidian_requests_total{code="200",endpoint="healthz"} 1.0' in text
    assert 'sidian_requests_total{code="404",endpoint="unmatched"} 1.0' in text
    assert "sidian_request_duration_seconds_bucket" in text
    assert "12345" not in text  # raw paths never become labels


async def test_metrics_labels_stay_bounded_for_unknown_methods(client: Client) -> None:
    await client.request("PROPFIND", "/healthz")
    text = await (await client.get("/metrics")).text()
    assert 'sidian_requests_total{code="405",endpoint="unmatched"} 1.0' in text
    assert "PROPFIND" not in text


async def test_metrics_openmetrics_on_request(client: Client) -> None:
    response = await client.get(
        "/metrics", headers={"Accept": "application/openmetrics-text; version=1.0.0"}
    )
    assert response.content_type == "application/openmetrics-text"
    assert (await response.text()).rstrip().endswith("# EOF")


async def test_not_found_has_the_error_shape(client: Client) -> None:
    response = await client.get("/v1/nothing-here")
    assert response.status == 404
    assert response.content_type == "application/json"
    body = await response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "request_id"}
    assert body["error"]["code"] == "not_found"
    assert body["error"]["request_id"] == response.headers["X-Request-Id"]


async def test_method_not_allowed(client: Client) -> None:
    response = await client.post("/healthz", data=b"{}")
    assert response.status == 405
    body = await response.json()
    assert body["error"]["code"] == "method_not_allowed"
    assert "GET" in response.headers["Allow"]


def _app_with(settings: Settings, handler: Handler) -> web.Application:
    # Public, so these error-mapping tests need no credentials (the auth
    # paths have their own tests in tests/auth/test_authenticate.py).
    app = create_app(settings)
    app.router.add_route("*", "/boom", public(handler), name="boom")
    return app


async def test_malformed_input_is_400_with_its_code(
    aiohttp_client: AiohttpClient, settings: Settings
) -> None:
    async def handler(request: web.Request) -> web.Response:
        raise MalformedInputError("QR token is 97 bytes, expected 104")

    client = await aiohttp_client(_app_with(settings, handler))
    response = await client.get("/boom")
    assert response.status == 400
    error = (await response.json())["error"]
    assert error["code"] == "malformed_input"
    assert error["message"] == "QR token is 97 bytes, expected 104"
    assert error["request_id"] == response.headers["X-Request-Id"]


async def test_invalid_signature_escaping_a_handler_is_422(
    aiohttp_client: AiohttpClient, settings: Settings
) -> None:
    async def handler(request: web.Request) -> web.Response:
        raise InvalidSignatureError("signature does not verify")

    client = await aiohttp_client(_app_with(settings, handler))
    response = await client.get("/boom")
    assert response.status == 422
    assert (await response.json())["error"]["code"] == "invalid_signature"


@pytest.mark.parametrize(
    "exc",
    [
        RuntimeError("secret detail /etc/passwd"),
        SidianError("secret detail /etc/passwd"),
        PanicException("secret detail /etc/passwd"),
    ],
    ids=["runtime-error", "sidian-error", "rust-panic"],
)
async def test_unknown_errors_are_500_internal_without_details(
    aiohttp_client: AiohttpClient,
    settings: Settings,
    exc: BaseException,
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def handler(request: web.Request) -> web.Response:
        raise exc

    client = await aiohttp_client(_app_with(settings, handler))
    response = await client.get("/boom")
    assert response.status == 500
    text = await response.text()
    assert "secret detail" not in text
    error = (await response.json())["error"]
    assert error == {
        "code": "internal",
        "message": "internal error",
        "request_id": response.headers["X-Request-Id"],
    }
    # The details go to the log, tagged with the request id.
    assert error["request_id"] in caplog.text
    assert "secret detail" in caplog.text


async def test_http_errors_raised_by_handlers_keep_their_text(
    aiohttp_client: AiohttpClient, settings: Settings
) -> None:
    async def handler(request: web.Request) -> web.Response:
        raise web.HTTPTooManyRequests(text="slow down", headers={"Retry-After": "3"})

    client = await aiohttp_client(_app_with(settings, handler))
    response = await client.get("/boom")
    assert response.status == 429
    assert response.headers["Retry-After"] == "3"
    assert (await response.json())["error"] == {
        "code": "rate_limited",
        "message": "slow down",
        "request_id": response.headers["X-Request-Id"],
    }


async def test_redirects_pass_through(aiohttp_client: AiohttpClient, settings: Settings) -> None:
    async def handler(request: web.Request) -> web.Response:
        raise web.HTTPFound("/healthz")

    client = await aiohttp_client(_app_with(settings, handler))
    response = await client.get("/boom", allow_redirects=False)
    assert response.status == 302
    assert response.headers["Location"] == "/healthz"


async def test_body_over_the_limit_is_413(aiohttp_client: AiohttpClient, tmp_path: Path) -> None:
    async def handler(request: web.Request) -> web.Response:
        await request.read()
        return web.Response()

    settings = Settings(data_dir=tmp_path / "data", max_body_bytes=1024)
    client = await aiohttp_client(_app_with(settings, handler))
    response = await client.post("/boom", data=b"x" * 2048)
    assert response.status == 413
    assert (await response.json())["error"]["code"] == "too_large"


async def test_request_id_is_available_to_handlers(
    aiohttp_client: AiohttpClient, settings: Settings
) -> None:
    async def handler(request: web.Request) -> web.Response:
        return web.Response(text=request[REQUEST_ID])

    client = await aiohttp_client(_app_with(settings, handler))
    response = await client.get("/boom")
    assert await response.text() == response.headers["X-Request-Id"]


async def test_cleanup_ctx_creates_the_data_dir(
    aiohttp_client: AiohttpClient, settings: Settings
) -> None:
    app = create_app(settings)
    assert not settings.data_dir.exists()  # building an app has no side effects
    await aiohttp_client(app)
    assert settings.data_dir.is_dir()
    assert app[SETTINGS] is settings


def test_each_app_has_its_own_metrics(settings: Settings) -> None:
    assert create_app(settings)[METRICS] is not create_app(settings)[METRICS]


async def test_registry_and_keys_are_wired(
    aiohttp_client: AiohttpClient, app: web.Application
) -> None:
    await aiohttp_client(app)  # runs the cleanup contexts
    registry = app[REGISTRY]
    kid, key = app[KEYRING].qr_signing_key()
    assert key.public_key().kid() == kid
    assert app[KEYRING].qr_signing_key()[0] == kid  # created once, then reused
    verifier = app[KEYRING].verifier(kid)
    assert verifier is not None
    verifier.verify(b"token", key.sign(b"token"))
    assert registry.registry.ledger is app[LEDGER]


async def test_worker_header_only_when_asked(
    aiohttp_client: AiohttpClient, settings: Settings
) -> None:
    plain = await aiohttp_client(create_app(settings))
    assert "X-Sidian-Worker" not in (await plain.get("/healthz")).headers
    exposed = await aiohttp_client(create_app(dataclasses.replace(settings, expose_worker=True)))
    response = await exposed.get("/healthz")
    assert response.headers["X-Sidian-Worker"] == str(os.getpid())


async def test_trust_anchors_are_loaded_once_at_startup(
    aiohttp_client: AiohttpClient, settings: Settings, tmp_path: Path
) -> None:
    ca = make_ca()
    anchors = tmp_path / "anchors"
    anchors.mkdir()
    (anchors / "ca.pem").write_text(pem(ca.der))
    client = await aiohttp_client(create_app(dataclasses.replace(settings, trust_anchors=anchors)))
    assert client.app[VERIFIER].trust_anchors == (ca.der,)


async def test_a_bad_trust_anchor_stops_startup(settings: Settings, tmp_path: Path) -> None:
    anchors = tmp_path / "anchors"
    anchors.mkdir()
    (anchors / "bad.pem").write_text(pem(b"\x30\x03\x02\x01\x01"))
    runner = web.AppRunner(create_app(dataclasses.replace(settings, trust_anchors=anchors)))
    try:
        with pytest.raises(MalformedInputError, match=r"bad\.pem"):  # refused at startup
            await runner.setup()
    finally:
        await runner.cleanup()


async def test_no_trust_anchors_by_default(
    aiohttp_client: AiohttpClient, settings: Settings
) -> None:
    client = await aiohttp_client(create_app(settings))
    assert client.app[VERIFIER].trust_anchors == ()
