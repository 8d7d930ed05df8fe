"""The ``sidian`` command line, including a real ``serve`` on loopback."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from click.testing import CliRunner

from pyservice import __version__
from pyservice.cli import main


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
