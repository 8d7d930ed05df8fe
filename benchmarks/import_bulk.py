"""Bulk import benchmark: ``sidian import`` of N generated licences.

A fresh data directory gets the demo issuers and types (``sidian init
--demo``); N rows over them are written as JSON Lines (not timed); then the
real command runs in a child process: its wall time gives the rate, the
child's peak RSS (``getrusage(RUSAGE_CHILDREN)``) the memory. Targets:
1,000,000 rows in <= 300 s, peak RSS <= 1 GB.

Same-run baseline: the raw cost of the two per-row essentials, canonical
JSON and one SM2 signature, over the first 20,000 rows in this process;
the ratio says how close the whole pipeline (parse, validate, sign, ledger,
SQLite) comes to them.

    python benchmarks/import_bulk.py --rows 1000000
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from pyservice.canonical import canonical_json
from pyservice.crypto import PrivateKey
from pyservice.registry.demo import bulk_rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--batch-size", type=int, default=5000)
    parser.add_argument("--work-dir", type=Path, help="default: a temporary directory")
    args = parser.parse_args()
    work = args.work_dir or Path(tempfile.mkdtemp(prefix="sidian-import-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    data_dir, rows_file = work / "data", work / "rows.jsonl"
    sidian = [sys.executable, "-m", "pyservice"]
    env = {**os.environ, "SIDIAN_MASTER_KEY": "00112233445566778899aabbccddeeff"}
    try:
        subprocess.run(  # noqa: S603
            [*sidian, "init", "--demo", "--data-dir", str(data_dir)], check=True, env=env
        )
        t0 = time.perf_counter()
        with rows_file.open("w", encoding="utf-8") as f:
            for row in bulk_rows(args.rows):
                f.write(json.dumps(row, ensure_ascii=False) + "\n")
        print(
            f"generated {args.rows:,} rows in {time.perf_counter() - t0:.1f} s "
            f"({rows_file.stat().st_size / 1e6:.0f} MB)"
        )

        # Baseline: canonical JSON + one SM2 signature per row.
        key = PrivateKey.generate()
        sample = [row for _, row in zip(range(20_000), bulk_rows(args.rows), strict=False)]
        t0 = time.perf_counter()
        for row in sample:
            key.sign(canonical_json(row))
        base_rate = len(sample) / (time.perf_counter() - t0)

        t0 = time.perf_counter()
        subprocess.run(  # noqa: S603
            [
                *sidian,
                "import",
                str(rows_file),
                "--data-dir",
                str(data_dir),
                "--quiet",
                "--json",
                "--batch-size",
                str(args.batch_size),
            ],
            check=True,
            env=env,
        )
        seconds = time.perf_counter() - t0
        rss_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        rate = args.rows / seconds
        print(
            f"import  {args.rows:,} rows in {seconds:.1f} s = {rate:,.0f} rows/s "
            f"(target 1,000,000 in <= 300 s: {'PASS' if rate >= 1_000_000 / 300 else 'FAIL'})"
        )
        print(
            f"peak RSS of the import process: {rss_mb:,.0f} MB "
            f"(target <= 1024 MB: {'PASS' if rss_mb <= 1024 else 'FAIL'})"
        )
        print(
            f"baseline canonical JSON + SM2 sign: {base_rate:,.0f} rows/s; "
            f"import / baseline = {rate / base_rate:.2f}"
        )
        db = sum(p.stat().st_size for p in data_dir.glob("sidian.db*"))
        print(f"store size {db / 1e6:,.0f} MB")
    finally:
        if args.work_dir is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
