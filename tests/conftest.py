"""Shared fixtures: settings with a temporary data dir, an app client, and
the shared test vectors (``../shared/vectors`` beside the repository)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from pytest_aiohttp import AiohttpClient

from pyservice.app import create_app
from pyservice.settings import Settings

REPO_ROOT = Path(__file__).resolve().parent.parent
#: Shared vectors (read-only, produced outside the project); override with
#: SIDIAN_VECTORS_DIR when the checkout is not beside ``shared/``.
VECTORS_DIR = Path(os.environ.get("SIDIAN_VECTORS_DIR", REPO_ROOT.parent / "shared" / "vectors"))

Client = TestClient[web.Request, web.Application]


def load_vectors(relative: str) -> Any:
    path = VECTORS_DIR / relative
    if not path.is_file():
        raise FileNotFoundError(
            f"test vectors not found at {path}: clone the repository beside shared/ "
            "or set SIDIAN_VECTORS_DIR"
        )
    return json.loads(path.read_text(encoding="utf-8"))


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data")


@pytest.fixture
def app(settings: Settings) -> web.Application:
    return create_app(settings)


@pytest.fixture
async def client(aiohttp_client: AiohttpClient, app: web.Application) -> Client:
    return await aiohttp_client(app)
