"""Settings from SIDIAN_* variables."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from pyservice.settings import Settings


def test_defaults_without_environment() -> None:
    assert Settings.from_env({}) == Settings()
    assert Settings() == Settings(
        host="127.0.0.1", port=8080, data_dir=Path("data"), log_level="INFO"
    )


def test_reads_sidian_variables() -> None:
    settings = Settings.from_env(
        {
            "SIDIAN_HOST": "0.0.0.0",  # noqa: S104 - a value under test, not a bind
            "SIDIAN_PORT": " 9000 ",
            "SIDIAN_DATA_DIR": "/srv/sidian",
            "SIDIAN_LOG_LEVEL": "debug",
            "SIDIAN_MAX_BODY_BYTES": "4096",
            "SIDIAN_LEDGER_BATCH_INTERVAL": "0.25",
            "SIDIAN_LEDGER_BATCH_SIZE": "100",
            "OTHER_PORT": "1",
        }
    )
    assert settings == Settings(
        host="0.0.0.0",  # noqa: S104
        port=9000,
        data_dir=Path("/srv/sidian"),
        log_level="debug",
        max_body_bytes=4096,
        ledger_batch_interval=0.25,
        ledger_batch_size=100,
    )


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("SIDIAN_PORT", "http", "SIDIAN_PORT: cannot parse 'http'"),
        ("SIDIAN_PORT", "70000", "port must be in 0..65535"),
        ("SIDIAN_MAX_BODY_BYTES", "0", "max_body_bytes must be positive"),
        ("SIDIAN_LOG_LEVEL", "LOUD", "unknown log level 'LOUD'"),
        ("SIDIAN_LEDGER_BATCH_INTERVAL", "0", "ledger_batch_interval must be in"),
        ("SIDIAN_LEDGER_BATCH_INTERVAL", "nan", "ledger_batch_interval must be in"),
        ("SIDIAN_LEDGER_BATCH_INTERVAL", "soon", "cannot parse 'soon'"),
        ("SIDIAN_LEDGER_BATCH_SIZE", "0", "ledger_batch_size must be positive"),
        ("SIDIAN_USAGE_FLUSH_INTERVAL", "0", "usage_flush_interval must be in"),
        ("SIDIAN_USAGE_FLUSH_INTERVAL", "nan", "usage_flush_interval must be in"),
        ("SIDIAN_USAGE_FLUSH_INTERVAL", "3601", "usage_flush_interval must be in"),
        ("SIDIAN_WORKERS", "0", "workers must be in 1..64"),
        ("SIDIAN_WORKERS", "65", "workers must be in 1..64"),
        ("SIDIAN_STATUS_MAX_STALENESS", "nan", "status_max_staleness must be in"),
        ("SIDIAN_STATUS_MAX_STALENESS", "-1", "status_max_staleness must be in"),
        ("SIDIAN_REDIS_URL", "http://x", "redis_url must be"),
    ],
)
def test_bad_values_name_the_problem(name: str, value: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Settings.from_env({name: value})


def test_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        Settings().port = 1  # type: ignore[misc]


def test_service_variables() -> None:
    settings = Settings.from_env(
        {
            "SIDIAN_REDIS_URL": "redis://:secret@127.0.0.1:6390/0",
            "SIDIAN_WORKERS": "4",
            "SIDIAN_STATUS_MAX_STALENESS": "2.5",
        }
    )
    assert settings.redis_url == "redis://:secret@127.0.0.1:6390/0"
    assert settings.workers == 4
    assert settings.status_max_staleness == 2.5
    assert "secret" not in repr(settings)
    assert Settings.from_env({"SIDIAN_REDIS_URL": ""}).redis_url is None
    assert Settings().redis_url is None
    assert Settings().workers == 1


def test_trust_anchors_directory() -> None:
    assert Settings().trust_anchors is None
    assert Settings.from_env({"SIDIAN_TRUST_ANCHORS": ""}).trust_anchors is None
    settings = Settings.from_env({"SIDIAN_TRUST_ANCHORS": "/etc/sidian/anchors"})
    assert settings.trust_anchors == Path("/etc/sidian/anchors")


@pytest.mark.parametrize(("raw", "value"), [("1", True), ("on", True), ("no", False), ("", False)])
def test_expose_worker_flag(raw: str, value: bool) -> None:
    assert Settings.from_env({"SIDIAN_EXPOSE_WORKER": raw}).expose_worker is value


def test_expose_worker_rejects_other_words() -> None:
    with pytest.raises(ValueError, match="SIDIAN_EXPOSE_WORKER"):
        Settings.from_env({"SIDIAN_EXPOSE_WORKER": "maybe"})


def test_demo_pages_are_off_unless_asked_for() -> None:
    assert Settings().demo_pages is False
    assert Settings.from_env({}).demo_pages is False
    assert Settings.from_env({"SIDIAN_DEMO_PAGES": "1"}).demo_pages is True
    with pytest.raises(ValueError, match="SIDIAN_DEMO_PAGES"):
        Settings.from_env({"SIDIAN_DEMO_PAGES": "maybe"})
