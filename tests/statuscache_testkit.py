"""Helpers for the status cache tests (not a test module itself).

- :class:`SqliteStatusSource`: a real SQLite table as the source of truth
  (a new connection per read, opened read-write only if the file exists, so
  moving the file away makes the store really fail);
- run as ``python -m tests.statuscache_testkit DB REDIS_URL MAX_STALENESS``:
  a separate process holding its own :class:`StatusCache`, answering
  ``get <ref hex>`` lines on stdin with one JSON line
  ``{"status": ..., "layer": ..., "pid": ...}`` (or ``{"error": code}``),
  first printing ``ready`` once subscribed.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sqlite3
import sys
import time
from datetime import date
from pathlib import Path

import orjson
from prometheus_client import CollectorRegistry

from pyservice.errors import SidianError
from pyservice.qr import licence_ref
from pyservice.statuscache import StatusCache, StatusCacheMetrics, StatusRecord

__all__ = ["SqliteStatusSource"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS licence_status (
    ref BLOB PRIMARY KEY,
    licence_id TEXT NOT NULL,
    status TEXT NOT NULL,
    reason TEXT,
    since REAL NOT NULL,
    valid_until TEXT
)
"""


class SqliteStatusSource:
    """The ``StatusSource`` of the tests: one SQLite table."""

    def __init__(self, path: Path) -> None:
        self.path = path
        with contextlib.closing(sqlite3.connect(path)) as db, db:
            db.execute(_SCHEMA)
        self.reads = 0

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(f"file:{self.path}?mode=rw", uri=True, timeout=2)

    def put(
        self,
        licence_id: str,
        status: str,
        *,
        reason: str | None = None,
        valid_until: date | None = None,
    ) -> bytes:
        """Writes a licence's status (the registry's job); returns its ref."""
        ref = licence_ref(licence_id)
        with contextlib.closing(self._connect()) as db, db:
            db.execute(
                "INSERT OR REPLACE INTO licence_status VALUES (?, ?, ?, ?, ?, ?)",
                (
                    ref,
                    licence_id,
                    status,
                    reason,
                    time.time(),
                    None if valid_until is None else valid_until.isoformat(),
                ),
            )
        return ref

    def load_status(self, ref: bytes) -> StatusRecord | None:
        self.reads += 1
        with contextlib.closing(self._connect()) as db:
            row = db.execute(
                "SELECT licence_id, status, reason, since, valid_until "
                "FROM licence_status WHERE ref = ?",
                (ref,),
            ).fetchone()
        if row is None:
            return None
        licence_id, status, reason, since, valid_until = row
        return StatusRecord(
            licence_id=licence_id,
            status=status,
            reason=reason,
            since=since,
            valid_until=None if valid_until is None else date.fromisoformat(valid_until),
            read_at=time.time(),
        )


async def _serve(db: Path, redis_url: str, max_staleness: float) -> None:
    cache = StatusCache(
        SqliteStatusSource(db),
        redis_url=redis_url,
        metrics=StatusCacheMetrics.create(CollectorRegistry()),
        max_staleness=max_staleness,
        redis_ttl=3600,
    )
    async with cache:
        if not await cache.wait_subscribed(10):
            print("not subscribed", flush=True)
            return
        print("ready", flush=True)
        loop = asyncio.get_running_loop()
        while True:
            line = await loop.run_in_executor(None, sys.stdin.readline)
            if not line:
                return
            command, _, arg = line.strip().partition(" ")
            if command != "get":
                continue
            try:
                result = await cache.lookup(bytes.fromhex(arg))
            except SidianError as exc:
                print(orjson.dumps({"error": exc.code}).decode(), flush=True)
                continue
            answer = {
                "status": None if result.record is None else result.record.status,
                "layer": result.layer.value,
                "pid": os.getpid(),
            }
            print(orjson.dumps(answer).decode(), flush=True)


if __name__ == "__main__":
    asyncio.run(_serve(Path(sys.argv[1]), sys.argv[2], float(sys.argv[3])))
