"""Shared fixtures: settings with a temporary data dir, an app client, and
the shared test vectors (``../shared/vectors`` beside the repository)."""

from __future__ import annotations

from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from pytest_aiohttp import AiohttpClient

from pyservice.app import create_app
from pyservice.settings import Settings
from tests.redis_testkit import redis_server

__all__ = ["redis_server"]  # the real-Redis fixture, for every test module

REPO_ROOT = Path(__file__).resolve().parent.parent
Client = TestClient[web.Request, web.Application]


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data")


@pytest.fixture
def app(settings: Settings) -> web.Application:
    return create_app(settings)


@pytest.fixture
async def client(aiohttp_client: AiohttpClient, app: web.Application) -> Client:
    return await aiohttp_client(app)
