"""Starting ``sidian serve --workers 2`` as a real process group for tests,
and plain HTTP calls to it."""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from pathlib import Path
from typing import IO

from pyservice.auth.scheme import authorization_header
from tests.conftest import REPO_ROOT
from tests.redis_testkit import free_port


def get(url: str) -> tuple[int, bytes]:
    request = urllib.request.Request(url, headers={"Connection": "close"})  # noqa: S310 - loopback
    try:
        with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def serve_two_workers(
    tmp_path: Path, *extra: str, env: Mapping[str, str] | None = None
) -> tuple[str, Path, IO[bytes], subprocess.Popen[bytes]]:
    """``sidian serve --workers 2`` on a free port, logging to serve.log;
    ``env`` adds ``SIDIAN_*`` settings."""
    return serve(tmp_path, *extra, env=env, workers=2)


def serve(
    tmp_path: Path, *extra: str, env: Mapping[str, str] | None = None, workers: int = 1
) -> tuple[str, Path, IO[bytes], subprocess.Popen[bytes]]:
    """``sidian serve --workers N`` on a free port, data in ``tmp_path/data``,
    logging to serve.log; ``env`` adds ``SIDIAN_*`` settings."""
    port = free_port()
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("SIDIAN_", "PROMETHEUS_"))}
    environ["TMPDIR"] = str(tmp_path)  # where the metrics directory is made
    environ.update(env or {})
    command = [
        sys.executable, "-m", "pyservice", "serve", "--port", str(port),
        "--workers", str(workers), "--data-dir", str(tmp_path / "data"), *extra,
    ]  # fmt: skip
    log = tmp_path / "serve.log"
    log_file = log.open("wb")
    process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
        command, env=environ, stdout=log_file, stderr=log_file, cwd=REPO_ROOT
    )
    return f"http://127.0.0.1:{port}", log, log_file, process


def wait_ready(base: str, process: subprocess.Popen[bytes], log: Path) -> None:
    """Until ``/readyz`` answers 200 (at most 60 s; the server must not exit)."""
    deadline = time.monotonic() + 60
    while True:
        try:
            if get(f"{base}/readyz")[0] == 200:
                return
        except OSError:
            pass
        assert process.poll() is None, log.read_text()
        assert time.monotonic() < deadline, "no answer in 60 s"
        time.sleep(0.1)


def post(
    base: str, path: str, body: object, *, partner: tuple[str, str]
) -> tuple[int, dict[str, str], bytes]:
    """POST JSON signed as ``partner`` (id, secret); status, headers and
    body (errors included)."""
    data = json.dumps(body).encode()
    auth = authorization_header(
        partner[0],
        partner[1],
        method="POST",
        target=path,
        ts=int(time.time()),
        nonce=secrets.token_hex(12),
        body=data,
    )
    request = urllib.request.Request(  # noqa: S310 - loopback
        base + path,
        data=data,
        headers={
            "Connection": "close",
            "Content-Type": "application/json",
            "Authorization": auth,
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


#: Longest a clean shutdown may take.
EXIT_BOUND = 20.0


def stop(process: subprocess.Popen[bytes], log: Path) -> None:
    """SIGTERM; the supervisor must exit 0 within ``EXIT_BOUND``."""
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=EXIT_BOUND) == 0, log.read_text()


def reap(process: subprocess.Popen[bytes]) -> None:
    """Kill a server a failed test left running."""
    if process.poll() is None:
        process.kill()
        process.wait()
