"""Bulk import: JSON Lines and CSV, rejects with reasons, duplicates, and
resuming after real ``kill -9`` of the importing process."""

from __future__ import annotations

import csv
import fcntl
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from pyservice.errors import MalformedInputError
from pyservice.ledger.keys import ledger_public_key
from pyservice.ledger.verify import verify_ledger
from pyservice.registry.bulk import CSV_COLUMNS, MAX_LINE_BYTES, ImportRunningError, import_file
from pyservice.registry.demo import bulk_rows, seed_demo
from pyservice.registry.keys import load_master_key
from pyservice.registry.service import Registry
from pyservice.registry.validate import parse_licence_id
from tests.registry_testkit import TODAY, business_body, data_dir, open_registry

# (row index, mutation, expected reject code)
BAD_ROWS: list[tuple[int, Any, str]] = [
    (3, lambda r: r["holder"].update(id=r["holder"]["id"][:-1] + "Z"), "invalid_uscc"),
    (10, lambda r: r.update(issued_on="2023-02-30"), "invalid_date"),
    (11, lambda r: r.update(type_code="11100000000013338W999"), "unknown_licence_type"),
    (17, lambda r: r["face"].clear(), "missing_face_field"),
    (25, lambda r: r.update(serial="bad-serial"), "malformed_licence_id"),
]


def _write_rows(path: Path, count: int) -> tuple[set[str], list[tuple[int, str]]]:
    """JSON Lines with BAD_ROWS spoiled (plus a non-JSON line); the serials
    of the good rows and the (row number, code) of the bad ones."""
    bad = {i: (mutate, code) for i, mutate, code in BAD_ROWS}
    good: set[str] = set()
    expected: list[tuple[int, str]] = []
    with path.open("w", encoding="utf-8") as f:
        for i, row in enumerate(bulk_rows(count)):
            if i in bad:
                bad[i][0](row)
                expected.append((i + 1, bad[i][1]))
            else:
                good.add(row["serial"])
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
        f.write("{not json\n")
        expected.append((count + 1, "malformed_row"))
    return good, expected


@pytest.fixture
def demo(tmp_path: Path) -> Any:
    data = data_dir(tmp_path)
    registry = open_registry(data, seed=False)
    seed_demo(registry, count=10)
    yield registry
    registry.store.close()


def _imported_serials(registry: Registry) -> list[str]:
    ids = registry.store.licences_page("", 1_000_000)
    return [parse_licence_id(i).serial for i in ids if parse_licence_id(i).serial.startswith("B")]


def test_jsonl_import_with_rejects(demo: Registry, tmp_path: Path) -> None:
    rows = tmp_path / "rows.jsonl"
    good, expected = _write_rows(rows, 60)
    result = import_file(demo, rows, batch_size=7, today=TODAY)
    assert (result.rows, result.imported, result.rejected) == (61, len(good), len(expected))
    assert set(_imported_serials(demo)) == good
    rejects = [json.loads(line) for line in result.reject_path.read_text().splitlines()]
    assert [(r["row"], r["code"]) for r in rejects] == expected
    # Rejects name the row, never its personal data.
    assert all(set(r) == {"row", "id", "code", "message"} for r in rejects)
    again = import_file(demo, rows, batch_size=7, today=TODAY)
    assert again.already_done
    assert again.imported == len(good)
    assert verify_ledger(demo.store, ledger_public_key(demo.store)).ok


def test_duplicates_are_rejected(demo: Registry, tmp_path: Path) -> None:
    rows = list(bulk_rows(5))
    path = tmp_path / "dup.jsonl"
    path.write_text(
        "\n".join(json.dumps(r, ensure_ascii=False) for r in [*rows, rows[1]]) + "\n",
        encoding="utf-8",
    )
    result = import_file(demo, path, batch_size=100, today=TODAY)
    assert (result.imported, result.rejected) == (5, 1)
    # The same licences in another file: already registered.
    other = tmp_path / "other.jsonl"
    other.write_text(json.dumps(rows[0], ensure_ascii=False) + "\n\n", encoding="utf-8")
    result = import_file(demo, other, batch_size=100, today=TODAY)
    assert (result.imported, result.rejected) == (0, 1)
    codes = [json.loads(x)["code"] for x in result.reject_path.read_text().splitlines()]
    assert codes == ["licence_exists"]


def test_csv_import(tmp_path: Path) -> None:
    registry = open_registry(data_dir(tmp_path))
    path = tmp_path / "rows.csv"
    face_columns = ["face.legal_representative", "face.registered_capital", "face.address"]
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, [*CSV_COLUMNS, *face_columns])
        writer.writeheader()
        for i in range(4):
            body = business_body(f"C{i}")
            writer.writerow(
                {
                    "serial": f"C{i}",
                    "type_code": body["type_code"],
                    "number": body["number"],
                    "holder_name": body["holder"]["name"],
                    "holder_id_type": "001",
                    "holder_id": body["holder"]["id"],
                    "issuer_code": body["issuer"]["code"],
                    "issuer_name": body["issuer"]["name"],
                    "issued_on": body["issued_on"],
                    "valid_from": body["valid_from"],
                    "valid_until": "" if i == 1 else body["valid_until"],
                    "version": "" if i else "1",
                    "face.legal_representative": body["face"]["legal_representative"],
                    "face.registered_capital": "lots" if i == 3 else "100万元",
                    "face.address": "",
                }
            )
    result = import_file(registry, path, today=TODAY)
    assert (result.rows, result.imported, result.rejected) == (4, 3, 1)
    # Same body as issued through the API (CSV adds nothing, loses nothing).
    row = registry.licence(business_body("C0")["id"])
    assert json.loads(row.body) == business_body("C0")
    assert json.loads(registry.licence(business_body("C1")["id"]).body)["valid_until"] is None
    bad = tmp_path / "bad.csv"
    bad.write_text("id,serial\n1,2\n", encoding="utf-8")
    result = import_file(registry, bad, today=TODAY)
    assert (result.imported, result.rejected) == (0, 1)
    registry.store.close()


def _orphans(tmp_path: Path) -> list[int]:
    """Worker processes of this test still running (their parent is gone)."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes()
            environ = (proc / "environ").read_bytes()
        except OSError:
            continue
        if b"multiprocessing" in cmdline and str(tmp_path).encode() in environ:
            found.append(int(proc.name))
    return found


def _progress(db: Path) -> int:
    try:
        conn = sqlite3.connect(db, timeout=5)
        try:
            row = conn.execute("SELECT MAX(rows_done) FROM registry_import_jobs").fetchone()
        finally:
            conn.close()
    except sqlite3.OperationalError:
        return 0
    return int(row[0] or 0)


@pytest.mark.parametrize("workers", ["1", "2"])
def test_resume_after_kill_9(tmp_path: Path, workers: str) -> None:
    data = data_dir(tmp_path)
    registry = open_registry(data, seed=False)
    seed_demo(registry, count=10)
    registry.store.close()
    rows = tmp_path / "rows.jsonl"
    count = 3000
    good, expected = _write_rows(rows, count)
    command = [
        sys.executable, "-m", "pyservice", "import", str(rows),
        "--data-dir", str(data), "--batch-size", "50", "--quiet", "--json",
        "--workers", workers,
    ]  # fmt: skip
    # SIDIAN_TEST_DIR marks this test's processes (for the orphan check).
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "SIDIAN_TEST_DIR": str(tmp_path)}
    kills = 0
    # Kill at growing positions: each time soon after a batch committed, so
    # the kill lands inside the next batch (signing, writing or committing).
    for threshold in (1, 700, 1500, 2300):
        proc = subprocess.Popen(command, env=env, stdout=subprocess.PIPE)  # noqa: S603
        deadline = time.monotonic() + 60
        while _progress(data / "sidian.db") < threshold and proc.poll() is None:
            assert time.monotonic() < deadline
            time.sleep(0.005)
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
            kills += 1
        proc.wait()
        assert proc.stdout is not None
        proc.stdout.close()
    assert kills >= 2
    # No worker process outlives its killed importer.
    deadline = time.monotonic() + 10
    while _orphans(tmp_path) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _orphans(tmp_path) == []
    done = subprocess.run(command, env=env, capture_output=True, check=True)  # noqa: S603
    summary = json.loads(done.stdout)
    assert summary["rows"] == count + 1

    registry = open_registry(data)
    try:
        serials = _imported_serials(registry)
        assert Counter(serials) == Counter(good)  # no duplicates, no gaps
        reject_file = rows.with_name(rows.name + ".rejects.jsonl")
        rejects = [json.loads(line) for line in reject_file.read_text().splitlines()]
        assert [(r["row"], r["code"]) for r in rejects] == expected
        # Status-list positions: per issuer 0..n-1, no holes, no repeats.
        for issuer in registry.store.issuers():
            positions = [i for i, _ in registry.store.status_list(issuer.code)]
            assert positions == list(range(len(positions)))
        # Every licence has exactly its ledger entry, and the log verifies.
        assert verify_ledger(registry.store, ledger_public_key(registry.store)).ok
        counts = registry.store.registry_counts()
        issued = Counter(
            json.loads(leaf.entry)["kind"]
            for start in range(0, int(counts["ledger_size"]), 1000)  # type: ignore[call-overload]
            for leaf in registry.store.ledger_leaves(start, start + 1000)
        )["licence.issued"]
        assert issued == counts["licences"]
    finally:
        registry.store.close()


def test_worker_processes_give_the_same_result(tmp_path: Path) -> None:
    data = data_dir(tmp_path)
    registry = open_registry(data, seed=False)
    seed_demo(registry, count=10)
    rows = tmp_path / "rows.jsonl"
    good, expected = _write_rows(rows, 2500)
    result = import_file(
        registry,
        rows,
        batch_size=300,
        today=TODAY,
        workers=2,
        data_dir=data,
        master=load_master_key(data),
    )
    assert (result.imported, result.rejected) == (len(good), len(expected))
    assert Counter(_imported_serials(registry)) == Counter(good)
    rejects = [json.loads(line) for line in result.reject_path.read_text().splitlines()]
    assert [(r["row"], r["code"]) for r in rejects] == expected
    assert verify_ledger(registry.store, ledger_public_key(registry.store)).ok
    registry.store.close()


def test_oversized_and_unreadable_input(demo: Registry, tmp_path: Path) -> None:
    rows = list(bulk_rows(2))
    path = tmp_path / "long.jsonl"
    with path.open("w", encoding="utf-8") as f:
        f.write(json.dumps(rows[0], ensure_ascii=False) + "\n")
        f.write('{"x": "' + "a" * (3 * MAX_LINE_BYTES) + '"}\n')
        f.write(json.dumps(rows[1], ensure_ascii=False) + "\n")
    result = import_file(demo, path, today=TODAY)
    assert (result.rows, result.imported, result.rejected) == (3, 2, 1)
    (reject,) = [json.loads(x) for x in result.reject_path.read_text().splitlines()]
    assert (reject["row"], reject["code"]) == (2, "malformed_row")
    bad_csv = tmp_path / "bad.csv"
    bad_csv.write_bytes(b"id,serial\n\xff\xfe,1\n")
    with pytest.raises(MalformedInputError):
        import_file(demo, bad_csv, today=TODAY)


def test_one_run_per_job_at_a_time(demo: Registry, tmp_path: Path) -> None:
    path = tmp_path / "rows.jsonl"
    path.write_text(json.dumps(next(bulk_rows(1)), ensure_ascii=False) + "\n", encoding="utf-8")
    reject_path = path.with_name(path.name + ".rejects.jsonl")
    holder = os.open(reject_path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(holder, fcntl.LOCK_EX)  # as a running import holds it
        with pytest.raises(ImportRunningError):
            import_file(demo, path, today=TODAY)
    finally:
        os.close(holder)
    assert import_file(demo, path, today=TODAY).imported == 1


# An importer that starts one worker the bulk way (spawn, _worker_init) but
# is killed while the worker is still starting up: the worker is given the
# importer's pid up front, so it still notices it is orphaned and exits.
_SLOW_START_IMPORTER = """
import multiprocessing, os, sys, time
from pyservice.registry import bulk
from pyservice.registry.keys import load_master_key

def slow_worker(initargs):
    time.sleep(1.5)  # still starting when the importer dies
    bulk._worker_init(*initargs)
    time.sleep(60)

if __name__ == "__main__":
    data = sys.argv[1]
    context = multiprocessing.get_context("spawn")
    master = load_master_key(__import__("pathlib").Path(data))
    worker = context.Process(target=slow_worker, args=(bulk._worker_initargs(data, master),))
    worker.start()
    print(worker.pid, flush=True)
    time.sleep(60)
"""


def test_a_worker_still_starting_when_the_importer_dies_exits(tmp_path: Path) -> None:
    data = data_dir(tmp_path)
    registry = open_registry(data, seed=False)
    seed_demo(registry, count=10)
    registry.store.close()
    script = tmp_path / "importer.py"
    script.write_text(_SLOW_START_IMPORTER)
    importer = subprocess.Popen(  # noqa: S603 - our own script
        [sys.executable, str(script), str(data)], stdout=subprocess.PIPE, text=True
    )
    assert importer.stdout is not None
    worker = int(importer.stdout.readline())
    os.kill(importer.pid, signal.SIGKILL)  # before the worker's initializer ran
    importer.wait()
    importer.stdout.close()
    deadline = time.monotonic() + 30
    while Path(f"/proc/{worker}").exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    alive = Path(f"/proc/{worker}").exists()
    if alive:
        os.kill(worker, signal.SIGKILL)
    assert not alive, "the orphaned worker did not exit"
