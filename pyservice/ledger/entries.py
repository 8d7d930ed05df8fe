"""Ledger entries: canonical JSON objects ``{"kind": ..., "at": <unix ms>, ...}``.

Kinds (formats.md §Ledger). The ``seal.*`` and ``key.*`` families are
accepted by prefix with this explicit set of suffixes:

- ``licence.issued`` (id, version, SM3 of the canonical body, issuer kid),
  ``licence.status`` (id, from, to, reason, actor), ``licence.annotated``
  (id, seq, SM3 of the canonical annotation, kid);
- ``seal.registered``, ``seal.status``, ``seal.revoked``;
- ``material.registered``;
- ``usage.batch`` (root of a batch of usage events);
- ``key.registered``, ``key.rotated``, ``key.revoked``;
- ``partner.added``, ``partner.status``, ``partner.secret_rotated``,
  ``consent.granted``, ``consent.revoked`` (:mod:`pyservice.partners.admin`).

Only ``kind`` and ``at`` are checked here; the issues that write each kind
own its fields.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any, Final

from pyservice.canonical import canonical_json
from pyservice.errors import MalformedInputError

__all__ = ["KINDS", "MAX_ENTRY_BYTES", "Entry", "make_entry"]

KINDS: Final = frozenset(
    {
        "licence.issued",
        "licence.status",
        "licence.annotated",
        "seal.registered",
        "seal.status",
        "seal.revoked",
        "material.registered",
        "usage.batch",
        "key.registered",
        "key.rotated",
        "key.revoked",
        "partner.added",
        "partner.status",
        "partner.secret_rotated",
        "consent.granted",
        "consent.revoked",
    }
)
#: Largest canonical entry accepted.
MAX_ENTRY_BYTES: Final = 64 * 1024


class Entry:
    """A validated entry: its canonical bytes, kind and time (unix ms)."""

    __slots__ = ("at", "data", "kind")

    def __init__(self, data: bytes, kind: str, at: int) -> None:
        self.data = data
        self.kind = kind
        self.at = at


def make_entry(fields: Mapping[str, Any], *, now_ms: int | None = None) -> Entry:
    """Validate ``fields`` (``kind`` required; ``at`` defaults to now) and
    canonicalise. Raises :class:`~pyservice.errors.MalformedInputError`."""
    kind = fields.get("kind")
    if not isinstance(kind, str) or kind not in KINDS:
        raise MalformedInputError(f"unknown ledger entry kind {kind!r}")
    obj = dict(fields)
    if "at" not in obj:
        obj["at"] = int(time.time() * 1000) if now_ms is None else now_ms
    at = obj["at"]
    if isinstance(at, bool) or not isinstance(at, int) or at < 0:
        raise MalformedInputError("ledger entry 'at' must be a non-negative integer (unix ms)")
    data = canonical_json(obj)
    if len(data) > MAX_ENTRY_BYTES:
        raise MalformedInputError(f"ledger entry is {len(data)} bytes, at most {MAX_ENTRY_BYTES}")
    return Entry(data, kind, at)
