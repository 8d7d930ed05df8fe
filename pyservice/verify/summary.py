"""The licence summary of a verification result (api.md ``licence``), and
an in-process cache of it. Pure apart from the cache's own memory.

A licence body is immutable per id (a correction is a new id), so a
summary never goes stale: the cache is keyed by the 16-byte licence
reference and bounded (least recently used first out). Both the masked
and the full form are kept; which one a caller gets is decided by
:func:`pyservice.verify.service` (``licence:read-full`` and consent).
"""

from __future__ import annotations

import datetime as dt
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from pyservice.masking import mask_body, mask_holder
from pyservice.registry.validate import BODY_FIELDS

__all__ = ["SUMMARY_FIELDS", "LicenceSummary", "SummaryCache", "summarise"]

#: Body fields a summary carries: all but the file digest.
SUMMARY_FIELDS: Final = tuple(sorted(BODY_FIELDS - {"file_sm3"}))


@dataclass(frozen=True, slots=True)
class LicenceSummary:
    licence_id: str
    type_code: str
    issuer_code: str
    valid_from: dt.date
    valid_until: dt.date | None
    masked: dict[str, Any]
    full: dict[str, Any]


def _pick(body: Mapping[str, Any]) -> dict[str, Any]:
    return {name: body.get(name) for name in SUMMARY_FIELDS}


def summarise(body: Mapping[str, Any], sensitive: Iterable[str]) -> LicenceSummary:
    """Summary of a stored (validated) licence body, masked per its type's
    classified paths; a person's name and ID number are masked always."""
    masked = mask_body(body, sensitive)
    holder = masked.get("holder")
    if isinstance(holder, dict):
        masked["holder"] = mask_holder(holder)
    until = body.get("valid_until")
    return LicenceSummary(
        licence_id=str(body["id"]),
        type_code=str(body["type_code"]),
        issuer_code=str(body["issuer"]["code"]),
        valid_from=dt.date.fromisoformat(body["valid_from"]),
        valid_until=None if until is None else dt.date.fromisoformat(until),
        masked=_pick(masked),
        full=_pick(body),
    )


class SummaryCache:
    """Bounded LRU of summaries by licence reference (single event loop).
    The bound keeps a worker's memory flat however many licences are
    scanned (a miss costs one store read)."""

    def __init__(self, max_entries: int = 20_000) -> None:
        if max_entries <= 0:
            raise ValueError("max_entries must be positive")
        self._max = max_entries
        self._entries: OrderedDict[bytes, LicenceSummary] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, ref: bytes) -> LicenceSummary | None:
        summary = self._entries.get(ref)
        if summary is not None:
            self._entries.move_to_end(ref)
        return summary

    def put(self, ref: bytes, summary: LicenceSummary) -> None:
        self._entries[ref] = summary
        self._entries.move_to_end(ref)
        while len(self._entries) > self._max:
            self._entries.popitem(last=False)
