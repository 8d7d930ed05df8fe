"""Service settings: a frozen dataclass read from ``SIDIAN_*`` variables."""

from __future__ import annotations

import dataclasses
import logging
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

__all__ = ["ENV_PREFIX", "Settings"]

ENV_PREFIX = "SIDIAN_"

_T = TypeVar("_T")


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything the service reads from its environment.

    ``from_env`` maps each field to ``SIDIAN_<FIELD>`` (upper case); the
    command line overrides with :func:`dataclasses.replace`.
    """

    host: str = "127.0.0.1"
    port: int = 8080
    data_dir: Path = Path("data")
    log_level: str = "INFO"
    #: Largest request body accepted; larger bodies get 413 ``too_large``.
    max_body_bytes: int = 1 << 20
    #: Ledger group commit: a queued entry waits at most this many seconds
    #: for others before its batch commits …
    ledger_batch_interval: float = 0.01
    #: … or until this many entries wait.
    ledger_batch_size: int = 5000
    #: Usage (audit) records are written every this many seconds (or per
    #: 1000): what a ``kill -9`` can lose at most (:mod:`pyservice.usage`).
    usage_flush_interval: float = 0.5
    #: Redis for the shared status cache and invalidations; ``None`` (unset
    #: or empty): in-process cache only, the embedded default. Not in the
    #: repr: the URL may carry a password.
    redis_url: str | None = dataclasses.field(default=None, repr=False)
    #: Worker processes sharing the port (SO_REUSEPORT).
    workers: int = 1
    #: Longest an in-process status entry is used without hearing from Redis.
    status_max_staleness: float = 5.0
    #: How often each process polls the store for status changes made
    #: elsewhere (the CLI, an instance without Redis).
    status_poll_interval: float = 0.5
    #: Name the answering worker (``X-Sidian-Worker: <pid>``) on every
    #: response: for load tests that must see every worker, off by default.
    expose_worker: bool = False
    #: Holidays and make-up working days for the 5-working-day review target
    #: of access applications (JSON, see :mod:`pyservice.partners.calendar`);
    #: ``None``: weekends only.
    work_calendar: Path | None = None
    #: Directory of CA certificates (PEM or DER, ``*.pem``/``*.crt``/
    #: ``*.cer``/``*.der``) that signer certificates of
    #: ``/v1/verify/signature`` must chain to; ``None``: no anchors, so a
    #: certificate's chain is never established (``UNDETERMINED``).
    trust_anchors: Path | None = None
    #: Serve the demo holder page ``/holder/{id}`` (a QR for any licence,
    #: with no credential): for ``make run`` only, never in production.
    demo_pages: bool = False

    def __post_init__(self) -> None:
        if not 0 <= self.port <= 65535:
            raise ValueError(f"port must be in 0..65535, got {self.port}")
        if self.max_body_bytes <= 0:
            raise ValueError(f"max_body_bytes must be positive, got {self.max_body_bytes}")
        if not 0 < self.ledger_batch_interval <= 3600:
            raise ValueError(
                f"ledger_batch_interval must be in (0, 3600] s, got {self.ledger_batch_interval}"
            )
        if not 0 < self.usage_flush_interval <= 3600:
            raise ValueError(
                f"usage_flush_interval must be in (0, 3600] s, got {self.usage_flush_interval}"
            )
        if self.ledger_batch_size <= 0:
            raise ValueError(f"ledger_batch_size must be positive, got {self.ledger_batch_size}")
        if not 1 <= self.workers <= 64:
            raise ValueError(f"workers must be in 1..64, got {self.workers}")
        if not 0 <= self.status_max_staleness <= 3600:
            raise ValueError(
                f"status_max_staleness must be in [0, 3600] s, got {self.status_max_staleness}"
            )
        if not 0.05 <= self.status_poll_interval <= 60:
            raise ValueError(
                f"status_poll_interval must be in [0.05, 60] s, got {self.status_poll_interval}"
            )
        if self.redis_url is not None and not self.redis_url.startswith(
            ("redis://", "rediss://", "unix://")
        ):
            raise ValueError("redis_url must be a redis://, rediss:// or unix:// URL")
        if not isinstance(logging.getLevelName(self.log_level.upper()), int):
            raise ValueError(f"unknown log level {self.log_level!r}")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Settings from ``SIDIAN_*`` variables (``os.environ`` by default);
        unset variables keep their defaults. Bad values raise ``ValueError``
        naming the variable."""
        env = os.environ if environ is None else environ
        parsers: dict[str, Callable[[str], object]] = {
            "host": str,
            "port": int,
            "data_dir": Path,
            "log_level": str,
            "max_body_bytes": int,
            "ledger_batch_interval": float,
            "ledger_batch_size": int,
            "usage_flush_interval": float,
            "redis_url": lambda raw: raw or None,
            "workers": int,
            "status_max_staleness": float,
            "status_poll_interval": float,
            "expose_worker": _flag,
            "work_calendar": lambda raw: Path(raw) if raw else None,
            "trust_anchors": lambda raw: Path(raw) if raw else None,
            "demo_pages": _flag,
        }
        values: dict[str, object] = {}
        for field in dataclasses.fields(cls):
            name = ENV_PREFIX + field.name.upper()
            raw = env.get(name)
            if raw is None:
                continue
            values[field.name] = _parse(name, raw, parsers[field.name])
        try:
            return cls(**values)  # type: ignore[arg-type]
        except ValueError as exc:
            raise ValueError(f"invalid {ENV_PREFIX}* setting: {exc}") from exc


def _flag(raw: str) -> bool:
    value = raw.lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off", ""}:
        return False
    raise ValueError("expected 1/0, true/false, yes/no or on/off")


def _parse(name: str, raw: str, parser: Callable[[str], _T]) -> _T:
    try:
        return parser(raw.strip())
    except ValueError as exc:
        raise ValueError(f"{name}: cannot parse {raw!r}: {exc}") from exc
