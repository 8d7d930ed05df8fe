"""Property-based API tests from the service's own ``/openapi.json``
(schemathesis): every documented operation, bounded examples, against the
real app (real SQLite store with seeded licences, real crypto). No input
may produce a 500; every answer must match its documented status, content
type and schema."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
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
from pyservice.settings import Settings
from tests.browser_testkit import ThreadedServer
from tests.verify_testkit import seeded_app

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


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ThreadedServer]:
    data = tmp_path_factory.mktemp("api-fuzz") / "data"
    app, _ = seeded_app(Settings(data_dir=data))
    with ThreadedServer(app) as srv:
        yield srv


@schema.parametrize()
@settings(
    max_examples=50,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
def test_api_conforms_and_never_fails(case: Case, server: ThreadedServer) -> None:
    case.call_and_validate(base_url=server.url(""), checks=CHECKS, timeout=10)
