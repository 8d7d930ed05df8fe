"""The full audit of a stored ledger (``sidian ledger verify``).

Walks every stored entry in index order and recomputes the tree from the
entry bytes alone, stopping at the first inconsistency:

1. indices are contiguous from 0 (a deleted row is named by its index);
2. each entry is canonical JSON whose ``kind``/``at`` match the row, and
   ``SM3(0x00 ‖ entry)`` equals the stored leaf hash;
3. every complete subtree the recomputation creates equals the stored one
   (a reordering of rows is named by the first index of the smallest
   subtree that differs);
4. at each stored STH: the kid and SM2 signature are the ledger key's, the
   root equals the recomputed root, timestamps do not go back, and the
   consistency proof from the previous STH, read from the store, verifies;
5. no entry lies beyond the last STH.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from pyservice import merkle
from pyservice.canonical import canonical_json
from pyservice.crypto import PublicKey, sm3
from pyservice.errors import SidianError
from pyservice.ledger.service import StoreSubtrees
from pyservice.ledger.sth import verify_sth
from pyservice.store import Store, StoredSth

__all__ = ["Inconsistency", "VerifyReport", "verify_ledger"]

_CHUNK = 4096
_STH_PAGE = 1000
_MAX_INDEX = (1 << 63) - 1

Node = tuple[int, int]


@dataclass(frozen=True, slots=True)
class Inconsistency:
    """The first problem found: the first bad index (or None) and why."""

    reason: str
    index: int | None = None
    tree_size: int | None = None


@dataclass(slots=True)
class VerifyReport:
    tree_size: int = 0
    entries_checked: int = 0
    sths_checked: int = 0
    error: Inconsistency | None = None
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.error is None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "ok": self.ok,
            "tree_size": self.tree_size,
            "entries_checked": self.entries_checked,
            "sths_checked": self.sths_checked,
        }
        if self.error is not None:
            out["first_inconsistency"] = {
                "index": self.error.index,
                "tree_size": self.error.tree_size,
                "reason": self.error.reason,
            }
        return out


class _Found(Exception):
    def __init__(self, problem: Inconsistency) -> None:
        super().__init__(problem.reason)
        self.problem = problem


def _check_entry(index: int, entry: bytes, kind: str, at: int) -> None:
    try:
        obj = json.loads(entry.decode("utf-8"))
        canonical = canonical_json(obj)
    except (UnicodeDecodeError, ValueError, SidianError) as exc:
        raise _Found(Inconsistency(f"entry is not canonical JSON: {exc}", index)) from exc
    if canonical != entry:
        raise _Found(Inconsistency("entry is not in canonical form", index))
    if not isinstance(obj, dict) or obj.get("kind") != kind or obj.get("at") != at:
        raise _Found(Inconsistency("entry kind/at differ from the stored columns", index))


class _Walker:
    def __init__(self, store: Store, public_key: PublicKey, report: VerifyReport) -> None:
        self.store = store
        self.public_key = public_key
        self.kid = public_key.kid()
        self.report = report
        self.size = 0
        self.frontier: dict[Node, bytes] = {}
        self.previous: StoredSth | None = None

    def extend(self, target: int) -> None:
        """Recompute from the stored entries up to ``target`` leaves."""
        while self.size < target:
            end = min(target, self.size + _CHUNK)
            rows = self.store.ledger_leaves(self.size, end)
            hashes: list[bytes] = []
            for offset, row in enumerate(rows):
                expected = self.size + offset
                if row.index != expected:
                    raise _Found(Inconsistency("entry is missing", expected))
                _check_entry(row.index, row.entry, row.kind, row.at)
                leaf = merkle.leaf_hash(row.entry)
                if leaf != row.leaf_hash:
                    raise _Found(Inconsistency("entry does not match its leaf hash", row.index))
                hashes.append(leaf)
            if len(rows) != end - self.size:
                raise _Found(Inconsistency("entry is missing", self.size + len(rows)))
            self._append(hashes)
            self.report.entries_checked += len(hashes)

    def _append(self, hashes: Sequence[bytes]) -> None:
        plan = merkle.root_plan(self.size)
        rows = merkle.append_subtrees(self.size, [self.frontier[n] for n in plan], hashes)
        by_level: dict[int, list[tuple[int, bytes]]] = {}
        for level, k, h in rows:
            if level > 0:
                by_level.setdefault(level, []).append((k, h))
        first_bad: tuple[int, int] | None = None  # the smallest subtree that differs
        for level, items in by_level.items():
            ks = [k for k, _ in items]
            stored = dict(self.store.ledger_subtree_range(level, min(ks), max(ks)))
            for k, h in items:
                if stored.get(k) != h and (first_bad is None or (level, k) < first_bad):
                    first_bad = (level, k)
        if first_bad is not None:
            level, k = first_bad
            start = k << level
            end = (k + 1) << level
            raise _Found(
                Inconsistency(
                    f"stored subtree ({level}, {k}) differs from the one recomputed from "
                    f"entries {start}..{end - 1} (entries reordered or subtree altered)",
                    start,
                )
            )
        new_size = self.size + len(hashes)
        new_plan = merkle.root_plan(new_size)
        known = dict(self.frontier)
        known.update(((lv, k), h) for lv, k, h in rows)
        self.frontier = {n: known[n] for n in new_plan}
        self.size = new_size

    def root(self) -> bytes:
        if self.size == 0:
            return sm3(b"")
        return merkle.root_from(self.size, [self.frontier[n] for n in merkle.root_plan(self.size)])

    def check_sth(self, sth: StoredSth) -> None:
        n = sth.tree_size
        if sth.kid != self.kid:
            raise _Found(Inconsistency(f"STH kid {sth.kid} is not the ledger key", tree_size=n))
        try:
            verify_sth(self.public_key, sth)
        except SidianError as exc:
            raise _Found(Inconsistency(f"STH signature: {exc}", tree_size=n)) from exc
        if sth.root != self.root():
            raise _Found(
                Inconsistency(
                    "STH root differs from the root recomputed from the entries", tree_size=n
                )
            )
        prev = self.previous
        if prev is not None:
            if sth.timestamp < prev.timestamp:
                raise _Found(Inconsistency("STH timestamp goes back", tree_size=n))
            if prev.tree_size > 0:
                try:
                    proof = merkle.consistency_proof_from_store(
                        StoreSubtrees(self.store), prev.tree_size, n
                    )
                    merkle.verify_consistency(prev.tree_size, n, proof, prev.root, sth.root)
                except SidianError as exc:
                    raise _Found(
                        Inconsistency(
                            f"STH {n} is not consistent with STH {prev.tree_size}: {exc}",
                            tree_size=n,
                        )
                    ) from exc
        self.previous = sth
        self.report.sths_checked += 1


def verify_ledger(store: Store, public_key: PublicKey) -> VerifyReport:
    """Audit the whole stored ledger; the report names the first inconsistency."""
    report = VerifyReport()
    walker = _Walker(store, public_key, report)
    try:
        after = -1
        while True:
            sths = store.ledger_sths(after, _STH_PAGE)
            if not sths:
                break
            for sth in sths:
                walker.extend(sth.tree_size)
                walker.check_sth(sth)
                report.tree_size = sth.tree_size
            after = sths[-1].tree_size
        extra = store.ledger_leaves(walker.size, _MAX_INDEX)
        if extra:
            raise _Found(Inconsistency("entry beyond the last signed tree head", extra[0].index))
    except _Found as found:
        report.error = found.problem
    return report
