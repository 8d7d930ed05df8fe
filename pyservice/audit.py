"""The audit trail of calls (security.md §Audit and evidence): reading it
(``GET /v1/audit``) and checking it against the ledger (``sidian audit verify``).

Records are written by :mod:`pyservice.usage`: each batch's rows with one
``usage.batch`` ledger entry ``{"root", "count", "first", "last"}`` in the
same transaction. :func:`verify_usage` checks, streaming (one batch of
records in memory at a time, plus the set of ledgered batch roots, 32 bytes
each):

1. every ``usage.batch`` entry is well formed and names a distinct root;
2. its stored records are exactly positions ``0..count-1`` (a missing
   position is a deleted record; a repeated or out-of-range one a record
   that was added), the first and last ids are the entry's, and the Merkle
   root of their :func:`~pyservice.usage.record_leaf` hashes in position
   order is the entry's root (a record whose fields were edited, or records
   reordered, change it; a wholly deleted batch has no records at all);
3. every stored batch has a ledger entry (a forged record with a batch
   root of its own, or a record moved out of its batch, has none).

An altered batch is named by its ledger index and root (the ledger holds
one root per batch, so which of its records was edited cannot be told);
missing, added or unledgered records are named by id or position.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

from pyservice import merkle
from pyservice.errors import MalformedInputError
from pyservice.store import Store, UsageRow
from pyservice.usage import iso_of_ms, record_fields, record_leaf

__all__ = [
    "AuditCursorError",
    "AuditQueryError",
    "AuditTimeError",
    "UsageAuditReport",
    "decode_cursor",
    "encode_cursor",
    "parse_rfc3339_ms",
    "record_json",
    "verify_usage",
]

#: Ledger entries read at a time.
_LEDGER_CHUNK: Final = 4096
#: Stored batch roots read at a time (pass 3).
_ROOTS_PAGE: Final = 1000
#: Records read past a batch's ledgered count (to name added ones).
_EXTRA_ROWS: Final = 1000
#: Record ids listed per problem at most.
_MAX_IDS: Final = 100


class AuditQueryError(MalformedInputError):
    """A bad ``GET /v1/audit`` query parameter (unknown, repeated, too long)."""

    code = "invalid_query"


class AuditTimeError(AuditQueryError):
    """``since``/``until`` are not RFC 3339 date-times with an offset, or
    ``since`` is not before ``until``."""

    code = "invalid_time"


class AuditCursorError(AuditQueryError):
    """The ``cursor`` is not one this service returned."""

    code = "invalid_cursor"


class AuditLimitError(AuditQueryError):
    code = "invalid_limit"


# ---------------------------------------------------------------- queries --

_RFC3339: Final = re.compile(
    r"\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(?:\.\d{1,6})?(?:[Zz]|[+-]\d{2}:\d{2})", re.ASCII
)


def parse_rfc3339_ms(name: str, text: str) -> int:
    """An RFC 3339 date-time with a UTC offset (``Z`` or ``±hh:mm``), as unix ms."""
    if len(text) > 40 or _RFC3339.fullmatch(text) is None:
        raise AuditTimeError(f"{name!r} must be an RFC 3339 date-time with an offset")
    try:
        moment = datetime.fromisoformat(text.upper().replace("Z", "+00:00"))
    except ValueError:
        raise AuditTimeError(f"{name!r} is not a valid date-time") from None
    return int(moment.timestamp() * 1000)


_CURSOR: Final = re.compile(r"(\d{1,16})\.([0-9a-f]{24})", re.ASCII)


def _b64(raw: str) -> str:
    return base64.urlsafe_b64encode(raw.encode("ascii")).rstrip(b"=").decode("ascii")


def encode_cursor(row: UsageRow) -> str:
    """The opaque cursor after ``row`` (newest-first order)."""
    return _b64(f"{row.at}.{row.record_id}")


def decode_cursor(text: str) -> tuple[int, str]:
    """``(at, record_id)`` of a cursor from :func:`encode_cursor`."""
    if not 1 <= len(text) <= 64 or not text.isascii():
        raise AuditCursorError("cursor is not valid")
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode("ascii")
    except (binascii.Error, ValueError):
        raise AuditCursorError("cursor is not valid") from None
    match = _CURSOR.fullmatch(raw)
    if match is None or _b64(raw) != text:  # one spelling per cursor
        raise AuditCursorError("cursor is not valid")
    return int(match.group(1)), match.group(2)


def record_json(row: UsageRow) -> dict[str, Any]:
    """A record as ``GET /v1/audit`` shows it: the fields its Merkle leaf
    covers (:func:`~pyservice.usage.record_fields`; ``target`` the keyed
    hash, hex) with ``at`` in RFC 3339 and ``at_ms`` as stored, and where
    its batch is (root, position)."""
    return {
        **record_fields(row),
        "at": iso_of_ms(row.at),
        "at_ms": row.at,
        "batch_root": row.batch_root.hex(),
        "batch_pos": row.batch_pos,
    }


# ----------------------------------------------------------------- verify --


@dataclass(slots=True)
class UsageAuditReport:
    batches_checked: int = 0
    records_checked: int = 0
    stored_batches: int = 0
    problems: list[dict[str, Any]] = field(default_factory=list)
    truncated: bool = False
    max_problems: int = 1000

    @property
    def ok(self) -> bool:
        return not self.problems

    def add(self, problem: str, **details: Any) -> None:
        if len(self.problems) >= self.max_problems:
            self.truncated = True
            return
        self.problems.append({"problem": problem, **details})

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "batches_checked": self.batches_checked,
            "records_checked": self.records_checked,
            "stored_batches": self.stored_batches,
            "problems": self.problems,
            "truncated": self.truncated,
        }


@dataclass(frozen=True, slots=True)
class _BatchEntry:
    index: int
    root: bytes
    count: int
    first: str
    last: str


def _batch_entry(index: int, data: bytes) -> _BatchEntry | None:
    try:
        obj = json.loads(data)
        root = bytes.fromhex(obj["root"])
        count, first, last = obj["count"], obj["first"], obj["last"]
    except (ValueError, KeyError, TypeError):
        return None
    if (
        len(root) != 32
        or not isinstance(count, int)
        or isinstance(count, bool)
        or count < 1
        or not isinstance(first, str)
        or not isinstance(last, str)
    ):
        return None
    return _BatchEntry(index, root, count, first, last)


def _ids(rows: list[UsageRow]) -> list[str]:
    return [row.record_id for row in rows[:_MAX_IDS]]


def _check_batch(store: Store, entry: _BatchEntry, report: UsageAuditReport) -> None:
    where = {"ledger_index": entry.index, "batch_root": entry.root.hex()}
    rows = store.usage_batch(entry.root, entry.count + _EXTRA_ROWS)
    report.records_checked += len(rows)
    if not rows:
        report.add("batch_missing", **where, count=entry.count, first=entry.first, last=entry.last)
        return
    by_pos: dict[int, list[UsageRow]] = {}
    for row in rows:
        by_pos.setdefault(row.batch_pos, []).append(row)
    # Rows at a position outside the batch, or sharing one: added (which of
    # two rows sharing a position is the original cannot be told).
    added = [
        row
        for pos, at_pos in by_pos.items()
        if not 0 <= pos < entry.count or len(at_pos) > 1
        for row in at_pos
    ]
    if added:
        report.add(
            "records_added",
            **where,
            record_ids=_ids(added),
            positions=sorted({row.batch_pos for row in added})[:_MAX_IDS],
        )
    missing = [pos for pos in range(entry.count) if pos not in by_pos]
    if missing:
        named = [
            rid for pos, rid in ((0, entry.first), (entry.count - 1, entry.last)) if pos in missing
        ]
        report.add(
            "records_missing", **where, positions=missing[:_MAX_IDS], record_ids=sorted(set(named))
        )
    if added or missing:
        return
    ordered = [by_pos[pos][0] for pos in range(entry.count)]
    if ordered[0].record_id != entry.first or ordered[-1].record_id != entry.last:
        report.add(
            "first_or_last_differs",
            **where,
            record_ids=[ordered[0].record_id, ordered[-1].record_id],
        )
    if merkle.root([record_leaf(row) for row in ordered]) != entry.root:
        report.add(
            "batch_root_differs",
            **where,
            count=entry.count,
            first=entry.first,
            last=entry.last,
            detail="a record of this batch was altered, or records were reordered",
        )


def verify_usage(store: Store, *, max_problems: int = 1000) -> UsageAuditReport:
    """Check every stored usage record against the ``usage.batch`` ledger
    entries (see the module docstring); the report lists each problem."""
    report = UsageAuditReport(max_problems=max_problems)
    ledgered: set[bytes] = set()
    start = 0
    while True:
        leaves = store.ledger_leaves(start, start + _LEDGER_CHUNK)
        if not leaves:
            break
        for leaf in leaves:
            if leaf.kind != "usage.batch":
                continue
            entry = _batch_entry(leaf.index, leaf.entry)
            if entry is None:
                report.add("malformed_entry", ledger_index=leaf.index)
                continue
            if entry.root in ledgered:
                report.add("duplicate_entry", ledger_index=leaf.index, batch_root=entry.root.hex())
                continue
            ledgered.add(entry.root)
            report.batches_checked += 1
            _check_batch(store, entry, report)
        start = leaves[-1].index + 1
    after = b""
    while True:
        roots = store.usage_batch_roots(after, _ROOTS_PAGE)
        if not roots:
            break
        for root, count in roots:
            report.stored_batches += 1
            if root not in ledgered:
                rows = store.usage_batch(root, _MAX_IDS)
                report.records_checked += count
                report.add(
                    "batch_not_ledgered",
                    batch_root=root.hex(),
                    count=count,
                    record_ids=_ids(rows),
                )
        after = roots[-1][0]
    return report
