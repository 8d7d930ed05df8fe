"""The ``sidian`` command line, including a real ``serve`` on loopback."""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from click.testing import CliRunner
from pytest_aiohttp import AiohttpClient

from pyservice import __version__
from pyservice.app import create_app
from pyservice.appkeys import USAGE
from pyservice.cli import main
from pyservice.settings import Settings


def test_help_lists_serve() -> None:
    result = CliRunner().invoke(main, ["--help"])
    assert result.exit_code == 0
    assert "serve" in result.output


def test_version() -> None:
    result = CliRunner().invoke(main, ["--version"])
    assert result.exit_code == 0
    assert __version__ in result.output


def test_serve_options() -> None:
    result = CliRunner().invoke(main, ["serve", "--help"])
    assert result.exit_code == 0
    for option in ("--host", "--port", "--data-dir", "--workers", "--redis-url"):
        assert option in result.output


def test_serve_rejects_bad_environment() -> None:
    result = CliRunner().invoke(main, ["serve"], env={"SIDIAN_PORT": "http"})
    assert result.exit_code == 1
    assert "SIDIAN_PORT" in result.output


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def test_python_m_pyservice_serves_healthz(tmp_path: Path) -> None:
    port = _free_port()
    data_dir = tmp_path / "data"
    log = tmp_path / "serve.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith("SIDIAN_")}
    command = [sys.executable, "-m", "pyservice", "serve", "--port", str(port)]
    with (
        log.open("wb") as log_file,
        subprocess.Popen(  # noqa: S603 - our own interpreter and module
            [*command, "--data-dir", str(data_dir)], env=env, stdout=log_file, stderr=log_file
        ) as process,
    ):
        try:
            deadline = time.monotonic() + 20
            while True:
                try:
                    url = f"http://127.0.0.1:{port}/healthz"
                    with urllib.request.urlopen(url, timeout=2) as response:
                        assert json.loads(response.read()) == {"status": "ok"}
                        break
                except OSError:
                    assert process.poll() is None, log.read_text()
                    assert time.monotonic() < deadline, "service did not answer in 20 s"
                    time.sleep(0.1)
            assert data_dir.is_dir()
        finally:
            process.terminate()
            process.wait(timeout=10)


# ----------------------------------------------------------- audit verify --


async def test_audit_verify_passes_then_names_what_was_altered(
    aiohttp_client: AiohttpClient, settings: Settings
) -> None:
    client = await aiohttp_client(create_app(settings))
    for _ in range(5):
        assert (await client.get("/v1/ledger/sth")).status == 200
    await client.app[USAGE].flush()
    data = str(settings.data_dir)

    result = CliRunner().invoke(main, ["audit", "verify", "--data-dir", data])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert summary["ok"] is True
    assert summary["ledger"]["ok"] is True
    assert summary["records_checked"] == 5
    assert summary["problems"] == []

    conn = sqlite3.connect(settings.data_dir / "sidian.db", isolation_level=None)
    try:
        conn.execute("DROP TRIGGER usage_records_no_update")
        record_id, root = conn.execute(
            "SELECT record_id, batch_root FROM usage_records ORDER BY at LIMIT 1"
        ).fetchone()
        conn.execute("UPDATE usage_records SET result = '500' WHERE record_id = ?", (record_id,))
    finally:
        conn.close()
    result = CliRunner().invoke(main, ["audit", "verify", "--data-dir", data, "--skip-ledger"])
    assert result.exit_code == 1
    summary = json.loads(result.output)
    assert "ledger" not in summary
    assert summary["ok"] is False
    assert [(p["problem"], p["batch_root"]) for p in summary["problems"]] == [
        ("batch_root_differs", bytes(root).hex())
    ]


async def test_audit_verify_also_audits_the_ledger(
    aiohttp_client: AiohttpClient, settings: Settings
) -> None:
    client = await aiohttp_client(create_app(settings))
    assert (await client.get("/v1/ledger/sth")).status == 200
    await client.app[USAGE].flush()
    conn = sqlite3.connect(settings.data_dir / "sidian.db", isolation_level=None)
    try:
        # A forger rewrites the batch's ledger entry to another root.
        idx, entry = conn.execute(
            "SELECT idx, entry FROM ledger_leaves WHERE kind = 'usage.batch'"
        ).fetchone()
        forged = json.loads(entry)
        forged["root"] = "00" * 32
        conn.execute(
            "UPDATE ledger_leaves SET entry = ? WHERE idx = ?",
            (json.dumps(forged, separators=(",", ":"), sort_keys=True).encode(), idx),
        )
    finally:
        conn.close()
    result = CliRunner().invoke(main, ["audit", "verify", "--data-dir", str(settings.data_dir)])
    assert result.exit_code == 1
    summary = json.loads(result.output)
    assert summary["ledger"]["ok"] is False
    assert summary["ledger"]["first_inconsistency"]["index"] == idx
    assert sorted(p["problem"] for p in summary["problems"]) == [
        "batch_missing",
        "batch_not_ledgered",
    ]


def test_audit_verify_needs_a_store(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main, ["audit", "verify", "--data-dir", str(tmp_path), "--skip-ledger"]
    )
    assert result.exit_code != 0
    assert "no store" in result.output
