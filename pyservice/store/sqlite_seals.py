"""The seal registry's part of the SQLite store: migration 6 and its
queries (called by :class:`~pyservice.store.SqliteStore`, inside its
transactions for writes)."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from typing import Any, Final

from pyservice.store.base import StaleStatusError, StoreError, UniqueViolationError
from pyservice.store.seals import SealCertRow, SealEventRow, SealRow, SealVersionRow, SealWrite

__all__ = [
    "SEAL_MIGRATION",
    "seal_cert_add",
    "seal_cert_get",
    "seal_counts",
    "seal_events",
    "seal_get",
    "seal_versions",
    "seal_writes",
    "seals",
]

#: Migration 6: seals (one row per esID, from application to cancellation),
#: their made SES_Seal versions, their lifecycle events, and certificates
#: kept with key-ring keys (seal CA, seal maker, organisations' signers).
SEAL_MIGRATION: Final = (
    """CREATE TABLE seal_seals (
        es_id VARCHAR(64) PRIMARY KEY,
        org_code VARCHAR(18) NOT NULL,
        org_name TEXT NOT NULL,
        name TEXT NOT NULL,
        seal_type INTEGER NOT NULL,
        picture_type VARCHAR(16) NOT NULL,
        picture BLOB NOT NULL,
        width INTEGER NOT NULL,
        height INTEGER NOT NULL,
        signer_kid VARCHAR(16),
        signer_cert BLOB,
        valid_start BIGINT NOT NULL,
        valid_end BIGINT NOT NULL,
        status VARCHAR(16) NOT NULL,
        status_reason TEXT,
        status_at BIGINT NOT NULL,
        version INTEGER NOT NULL,
        seal_der BLOB,
        applicant TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        ledger_index BIGINT NOT NULL)""",
    "CREATE INDEX seal_seals_by_org ON seal_seals (org_code, status)",
    """CREATE TABLE seal_versions (
        es_id VARCHAR(64) NOT NULL REFERENCES seal_seals (es_id),
        version INTEGER NOT NULL,
        seal_der BLOB NOT NULL,
        seal_sm3 BLOB NOT NULL,
        valid_start BIGINT NOT NULL,
        valid_end BIGINT NOT NULL,
        made_at BIGINT NOT NULL,
        ledger_index BIGINT NOT NULL,
        PRIMARY KEY (es_id, version))""",
    """CREATE TABLE seal_events (
        es_id VARCHAR(64) NOT NULL REFERENCES seal_seals (es_id),
        ledger_index BIGINT NOT NULL,
        action VARCHAR(16) NOT NULL,
        from_status VARCHAR(16),
        to_status VARCHAR(16) NOT NULL,
        reason TEXT NOT NULL,
        actor TEXT NOT NULL,
        at BIGINT NOT NULL,
        PRIMARY KEY (es_id, ledger_index))""",
    """CREATE TABLE seal_certificates (
        kid VARCHAR(16) PRIMARY KEY,
        owner VARCHAR(18) NOT NULL,
        purpose VARCHAR(16) NOT NULL,
        der BLOB NOT NULL,
        created_at BIGINT NOT NULL)""",
)

_SEAL_COLUMNS: Final = (
    "es_id, org_code, org_name, name, seal_type, picture_type, picture, width, height, "
    "signer_kid, signer_cert, valid_start, valid_end, status, status_reason, status_at, "
    "version, seal_der, applicant, created_at, ledger_index"
)


def _seal(row: Sequence[Any]) -> SealRow:
    values = list(row)
    for i in (6, 10, 17):  # BLOB columns
        if values[i] is not None:
            values[i] = bytes(values[i])
    return SealRow(*values)


def _seal_params(seal: SealRow, ledger_index: int) -> tuple[object, ...]:
    return (
        seal.es_id,
        seal.org_code,
        seal.org_name,
        seal.name,
        seal.seal_type,
        seal.picture_type,
        seal.picture,
        seal.width,
        seal.height,
        seal.signer_kid,
        seal.signer_cert,
        seal.valid_start,
        seal.valid_end,
        seal.status,
        seal.status_reason,
        seal.status_at,
        seal.version,
        seal.seal_der,
        seal.applicant,
        seal.created_at,
        ledger_index,
    )


def seal_writes(
    conn: sqlite3.Connection, index: Callable[[int], int], writes: Sequence[SealWrite]
) -> None:
    """Apply seal rows of a ledger batch (inside its transaction)."""
    for w in writes:
        at_index = index(w.entry_offset)
        params = _seal_params(w.seal, at_index)
        if w.expected is None:
            try:
                conn.execute(
                    f"INSERT INTO seal_seals ({_SEAL_COLUMNS}) VALUES "  # noqa: S608
                    f"({', '.join('?' * len(params))})",
                    params,
                )
            except sqlite3.IntegrityError as exc:
                raise UniqueViolationError(f"seal {w.seal.es_id} already exists") from exc
        else:
            assignments = ", ".join(f"{c.strip()} = ?" for c in _SEAL_COLUMNS.split(",")[1:])
            cur = conn.execute(
                f"UPDATE seal_seals SET {assignments} "  # noqa: S608
                "WHERE es_id = ? AND status = ? AND version = ?",
                (*params[1:], w.seal.es_id, w.expected, w.expected_version),
            )
            if cur.rowcount != 1:
                raise StaleStatusError(f"seal {w.seal.es_id} is no longer {w.expected}")
        e = w.event
        conn.execute(
            "INSERT INTO seal_events (es_id, ledger_index, action, from_status, to_status, "
            "reason, actor, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (e.es_id, at_index, e.action, e.from_status, e.to_status, e.reason, e.actor, e.at),
        )
        v = w.version
        if v is not None:
            try:
                conn.execute(
                    "INSERT INTO seal_versions (es_id, version, seal_der, seal_sm3, valid_start, "
                    "valid_end, made_at, ledger_index) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        v.es_id,
                        v.version,
                        v.seal_der,
                        v.seal_sm3,
                        v.valid_start,
                        v.valid_end,
                        v.made_at,
                        at_index,
                    ),
                )
            except sqlite3.IntegrityError as exc:
                raise StaleStatusError(f"seal {v.es_id} version {v.version} exists") from exc


def seal_get(conn: sqlite3.Connection, es_id: str) -> SealRow | None:
    row = conn.execute(
        f"SELECT {_SEAL_COLUMNS} FROM seal_seals WHERE es_id = ?",  # noqa: S608
        (es_id,),
    ).fetchone()
    return None if row is None else _seal(row)


def seals(
    conn: sqlite3.Connection, org_code: str | None, status: str | None, limit: int
) -> list[SealRow]:
    rows = conn.execute(
        f"SELECT {_SEAL_COLUMNS} FROM seal_seals "  # noqa: S608
        "WHERE (? IS NULL OR org_code = ?) AND (? IS NULL OR status = ?) "
        "ORDER BY es_id LIMIT ?",
        (org_code, org_code, status, status, limit),
    )
    return [_seal(r) for r in rows]


def seal_versions(conn: sqlite3.Connection, es_id: str) -> list[SealVersionRow]:
    rows = conn.execute(
        "SELECT es_id, version, seal_der, seal_sm3, valid_start, valid_end, made_at, "
        "ledger_index FROM seal_versions WHERE es_id = ? ORDER BY version",
        (es_id,),
    )
    return [
        SealVersionRow(e, int(v), bytes(d), bytes(h), int(s), int(u), int(m), int(i))
        for e, v, d, h, s, u, m, i in rows
    ]


def seal_events(conn: sqlite3.Connection, es_id: str) -> list[SealEventRow]:
    rows = conn.execute(
        "SELECT es_id, ledger_index, action, from_status, to_status, reason, actor, at "
        "FROM seal_events WHERE es_id = ? ORDER BY ledger_index",
        (es_id,),
    )
    return [SealEventRow(*r) for r in rows]


def seal_counts(conn: sqlite3.Connection) -> dict[str, int]:
    """Seals by stored status (for ``sidian stats``)."""
    rows = conn.execute("SELECT status, COUNT(*) FROM seal_seals GROUP BY status ORDER BY status")
    return {str(status): int(n) for status, n in rows}


def seal_cert_add(conn: sqlite3.Connection, row: SealCertRow) -> None:
    try:
        conn.execute(
            "INSERT INTO seal_certificates (kid, owner, purpose, der, created_at) "
            "VALUES (?, ?, ?, ?, ?)",
            (row.kid, row.owner, row.purpose, row.der, row.created_at),
        )
    except sqlite3.IntegrityError as exc:
        raise UniqueViolationError(f"certificate of key {row.kid} already exists") from exc


def seal_cert_get(conn: sqlite3.Connection, kid: str) -> SealCertRow | None:
    row = conn.execute(
        "SELECT kid, owner, purpose, der, created_at FROM seal_certificates WHERE kid = ?",
        (kid,),
    ).fetchone()
    if row is None:
        return None
    if not isinstance(row[3], bytes):
        raise StoreError(f"certificate of key {kid} is not stored as bytes")
    return SealCertRow(row[0], row[1], row[2], bytes(row[3]), int(row[4]))
