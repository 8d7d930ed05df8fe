"""Ledger benchmark: append throughput into SQLite and proofs from the store.

Run with ``make bench-ledger`` (``.venv/bin/python benchmarks/ledger.py``).

- Append: the real sequencer path (``Ledger.commit``: SM3 leaf hashes,
  complete-subtree rows, root, SM2-signed STH, one SQLite transaction per
  batch of ``--batch`` entries) into a fresh SQLite file, up to ``--size``
  entries (default 1,000,000; ``--size 10000000`` for the 10M figure).
  Entries are canonicalised outside the timed region (that is the caller's
  work; its rate is printed separately). Prints the rate per window of
  ``--window`` entries so growth is visible, and the rate at each milestone.
- Proofs: median time of an inclusion proof read from the SQLite store at the
  final size (by index: plan + O(log n) reads + assembly; and by leaf hash,
  as the HTTP endpoint does, including the hash-index lookup).
- Verification: median ``merkle.verify_inclusion`` (Python call) against the
  SM3 compressions it needs (2 per node hash), timed as ``sm3`` of one-block
  messages. The Rust-only ratio is criterion's ``merkle`` bench.
- Audit (``--audit``): the wall time of ``sidian ledger verify``'s
  ``verify_ledger`` over the whole stored log (every entry re-hashed, every
  subtree compared, every STH signature and consistency proof checked).

Writes benchmarks/results/ledger.json.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from pyservice import merkle
from pyservice.crypto import PrivateKey, sm3
from pyservice.ledger import service
from pyservice.ledger.entries import Entry, make_entry
from pyservice.ledger.service import Ledger
from pyservice.ledger.verify import verify_ledger
from pyservice.store.sqlite import BULK_CACHE_MIB, SqliteStore

RESULTS = Path(__file__).resolve().parent / "results" / "ledger.json"


def entries(start: int, n: int) -> list[Entry]:
    return [
        make_entry(
            {
                "kind": "licence.issued",
                "at": 1_700_000_000_000 + i,
                "id": f"1.2.156.3005.2.11100000000013338W032.11100000000013338W.{i}.001.X",
                "version": 1,
                "body_sm3": "00" * 32,
                "kid": "0123456789abcdef",
            }
        )
        for i in range(start, start + n)
    ]


def median_us(fn: Callable[[], object], rounds: int) -> float:
    times = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1e6


def main() -> None:  # noqa: PLR0915 - one linear script
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size", type=int, default=1_000_000)
    parser.add_argument("--batch", type=int, default=5000)
    parser.add_argument("--window", type=int, default=100_000)
    parser.add_argument("--dir", type=Path, help="where the SQLite file goes (default: tmp)")
    parser.add_argument("--audit", action="store_true", help="also time verify_ledger")
    args = parser.parse_args()

    tmp = tempfile.TemporaryDirectory(dir=args.dir)
    path = Path(tmp.name) / "ledger.db"
    store = SqliteStore.open(path, cache_mib=BULK_CACHE_MIB)
    key = PrivateKey.generate()
    ledger = Ledger(store, key, batch_size=args.batch)
    ledger.load()

    t0 = time.perf_counter()
    sample = entries(0, args.batch)
    canon_rate = args.batch / (time.perf_counter() - t0)
    print(f"canonicalise + validate entries: {canon_rate:,.0f} /s (caller side, not in append)")

    windows: list[dict[str, float]] = []
    size = 0
    total = 0.0
    window_t = 0.0
    window_n = 0
    while size < args.size:
        n = min(args.batch, args.size - size)
        batch = sample[:n] if size == 0 else entries(size, n)
        t0 = time.perf_counter()
        ledger.commit(batch)
        dt = time.perf_counter() - t0
        total += dt
        window_t += dt
        window_n += n
        size += n
        if window_n >= args.window or size == args.size:
            rate = window_n / window_t
            windows.append({"size": size, "rate": rate})
            print(
                f"append  size {size:>11,}  window rate {rate:>9,.0f} /s  "
                f"cumulative {size / total:>9,.0f} /s",
                flush=True,
            )
            window_t = 0.0
            window_n = 0
    append_rate = size / total
    db_bytes = sum(p.stat().st_size for p in Path(tmp.name).iterdir())
    print(
        f"append total: {size:,} entries in {total:.1f} s = {append_rate:,.0f} /s; "
        f"db {db_bytes / 1e6:,.0f} MB"
    )

    rng = random.Random(1)  # noqa: S311 - benchmark sampling
    head = service.head(store)
    n = head.tree_size
    subtrees = service.StoreSubtrees(store)
    indices = [rng.randrange(n) for _ in range(2000)]
    it = iter(indices)
    by_index = median_us(lambda: merkle.inclusion_proof_from_store(subtrees, next(it), n), 2000)
    leaf_rows = [store.ledger_leaves(i, i + 1)[0].leaf_hash for i in indices[:500]]
    it2 = iter(leaf_rows)
    by_hash = median_us(lambda: service.inclusion_proof(store, next(it2)), 500)
    print(
        f"inclusion proof from SQLite at {n:,}: by index {by_index:.1f} µs, "
        f"by leaf hash {by_hash:.1f} µs (median)"
    )

    index = indices[0]
    leaf = store.ledger_leaves(index, index + 1)[0].leaf_hash
    proof = merkle.inclusion_proof_from_store(subtrees, index, n)
    verify = median_us(lambda: merkle.verify_inclusion(leaf, index, n, proof, head.root), 20000)
    block = bytes(55)  # 55 bytes + padding = one 64-byte block
    one_compression = median_us(lambda: [sm3(block) for _ in range(100)], 2000) / 100
    compressions = 2 * len(proof)
    ratio = verify / (compressions * one_compression)
    print(
        f"verify inclusion ({len(proof)} nodes): {verify:.2f} µs (Python call); "
        f"{compressions} SM3 compressions via Python sm3(): "
        f"{compressions * one_compression:.2f} µs; "
        f"ratio {ratio:.2f} (target <= 1.2 is judged on the Rust-only criterion bench)"
    )
    audit_s: float | None = None
    if args.audit:
        t0 = time.perf_counter()
        report = verify_ledger(store, key.public_key())
        audit_s = time.perf_counter() - t0
        if not report.ok:
            raise SystemExit(f"ledger verify failed: {report.to_json()}")
        print(
            f"ledger verify (full audit) of {report.entries_checked:,} entries and "
            f"{report.sths_checked:,} STHs: {audit_s:.1f} s "
            f"({report.entries_checked / audit_s:,.0f} entries/s)"
        )
    store.close()
    tmp.cleanup()

    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(
        json.dumps(
            {
                "size": size,
                "batch": args.batch,
                "append_rate": append_rate,
                "windows": windows,
                "canonicalise_rate": canon_rate,
                "inclusion_by_index_us": by_index,
                "inclusion_by_hash_us": by_hash,
                "verify_us": verify,
                "compressions": compressions,
                "compression_us": one_compression,
                "db_bytes": db_bytes,
                "audit_seconds": audit_s,
            },
            indent=2,
        )
        + "\n"
    )


if __name__ == "__main__":
    main()
