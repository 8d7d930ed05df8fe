"""``sidian ledger …``: verify (with tampering), sth, proofs."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from pyservice import merkle
from pyservice.cli import main
from pyservice.ledger.entries import make_entry
from pyservice.ledger.sth import sth_from_json, verify_sth
from tests.ledger_testkit import build_ledger, entry_fields


def _run(*args: str) -> tuple[int, Any]:
    result = CliRunner().invoke(main, list(args))
    try:
        return result.exit_code, json.loads(result.output)
    except ValueError:
        return result.exit_code, {"output": result.output}


def test_help_lists_ledger_commands() -> None:
    result = CliRunner().invoke(main, ["ledger", "--help"])
    assert result.exit_code == 0
    for command in ("verify", "sth", "proof"):
        assert command in result.output


def test_verify_sth_and_proofs(tmp_path: Path) -> None:
    store, key, _ = build_ledger(tmp_path, [3, 5, 2])
    store.close()
    code, report = _run("ledger", "verify", "--data-dir", str(tmp_path))
    assert code == 0
    assert report == {"ok": True, "tree_size": 10, "entries_checked": 10, "sths_checked": 4}
    code, report = _run(
        "ledger", "verify", "--data-dir", str(tmp_path),
        "--public-key", key.public_key().to_bytes().hex(),
    )  # fmt: skip
    assert code == 0
    code, sth_json = _run("ledger", "sth", "--data-dir", str(tmp_path))
    assert code == 0
    sth = sth_from_json(sth_json)
    verify_sth(key.public_key(), sth)
    leaf = merkle.leaf_hash(make_entry(entry_fields(4)).data)
    code, body = _run(
        "ledger", "proof", "inclusion", "--data-dir", str(tmp_path),
        "--leaf-hash", leaf.hex(), "--tree-size", "8",
    )  # fmt: skip
    assert code == 0
    assert body["index"] == 4
    signed = sth_from_json(body["sth"])
    proof = [bytes.fromhex(h) for h in body["proof"]]
    merkle.verify_inclusion(leaf, 4, 8, proof, signed.root)
    code, body = _run(
        "ledger",
        "proof",
        "consistency",
        "--data-dir",
        str(tmp_path),
        "--first",
        "3",
        "--second",
        "10",
    )
    assert code == 0
    first = sth_from_json(body["first_sth"])
    cons = [bytes.fromhex(h) for h in body["proof"]]
    merkle.verify_consistency(3, 10, cons, first.root, sth.root)


def test_errors_exit_non_zero(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["ledger", "sth", "--data-dir", str(tmp_path / "none")])
    assert result.exit_code != 0
    assert "no store" in result.output
    store, _, _ = build_ledger(tmp_path, [3])
    store.close()
    for args in (
        ["proof", "inclusion", "--leaf-hash", "00" * 32],
        ["proof", "inclusion", "--leaf-hash", "xyz"],
        ["proof", "consistency", "--first", "1", "--second", "9"],
    ):
        result = CliRunner().invoke(main, ["ledger", *args, "--data-dir", str(tmp_path)])
        assert result.exit_code != 0, args
    result = CliRunner().invoke(main, ["ledger", "verify", "--data-dir", str(tmp_path / "none")])
    assert result.exit_code != 0


def test_verify_reports_the_first_tampered_index(tmp_path: Path) -> None:
    store, _, _ = build_ledger(tmp_path, [8, 8])
    store.close()
    conn = sqlite3.connect(tmp_path / "sidian.db")
    conn.execute("DELETE FROM ledger_leaves WHERE idx = 12")
    conn.execute(
        'UPDATE ledger_leaves SET entry = CAST(\'{"at":1,"kind":"usage.batch"}\' AS BLOB) '
        "WHERE idx = 5"
    )
    conn.commit()
    conn.close()
    code, report = _run("ledger", "verify", "--data-dir", str(tmp_path))
    assert code == 1
    assert report["ok"] is False
    assert report["first_inconsistency"]["index"] == 5
