"""Shared fixtures: settings with a temporary data dir, an app client, and
the shared test vectors (``../shared/vectors`` beside the repository).

The whole run's logs are scanned (security.md: logs never contain secrets,
private keys, full ID numbers or tokens): every logger runs at DEBUG into a
:class:`~tests.logscan_testkit.LogLeakCollector`, and the session fails,
naming the tests, if any record gave one away."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from pytest_aiohttp import AiohttpClient

from pyservice.accesslog import RedactedAccessLogger
from pyservice.app import create_app
from pyservice.settings import Settings
from tests.logscan_testkit import LogLeakCollector
from tests.redis_testkit import redis_server

__all__ = ["redis_server"]  # the real-Redis fixture, for every test module

REPO_ROOT = Path(__file__).resolve().parent.parent
Client = TestClient[web.Request, web.Application]


class RedactedLogClient(TestClient[Any, Any]):
    """Test servers log access like ``sidian serve`` does (route names, never
    paths): scan URLs carry QR tokens, and the log scan below must see only
    what the service itself would log."""

    async def start_server(self) -> None:
        await self._server.start_server(loop=self._loop, access_log_class=RedactedAccessLogger)


@pytest.fixture
def aiohttp_client_cls() -> type[TestClient[Any, Any]]:
    return RedactedLogClient


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data")


@pytest.fixture
def app(settings: Settings) -> web.Application:
    return create_app(settings)


@pytest.fixture
async def client(aiohttp_client: AiohttpClient, app: web.Application) -> Client:
    return await aiohttp_client(app)


_LEAKS = LogLeakCollector()


def pytest_configure(config: pytest.Config) -> None:
    root = logging.getLogger()
    root.addHandler(_LEAKS)
    root.setLevel(logging.DEBUG)


def pytest_runtest_logstart(nodeid: str, location: tuple[str, int | None, str]) -> None:
    _LEAKS.where = nodeid


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    logging.getLogger().removeHandler(_LEAKS)
    if _LEAKS.found:
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.write_sep("=", "secrets reached the logs", red=True)
            for line in sorted(set(_LEAKS.found)):
                reporter.write_line(line, red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
