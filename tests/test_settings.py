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
    ],
)
def test_bad_values_name_the_problem(name: str, value: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Settings.from_env({name: value})


def test_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        Settings().port = 1  # type: ignore[misc]
