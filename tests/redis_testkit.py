"""A real ``redis-server`` for tests (not a test module itself).

Each :class:`RedisServer` runs its own ``redis-server`` (Debian package;
``make test`` installs it when missing) on a free 127.0.0.1 port, with no
persistence (``--save ""``, no AOF) and its working directory in a temp
dir. Tests stop, kill and restart it on the same port to exercise the
service's fail-closed and reconnect paths. The process is always stopped by
its own PID.

Fixture: ``redis_server`` (function scope), started, stopped at teardown.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

__all__ = ["RedisServer", "free_port", "redis_server"]

#: How long a start may take before the test fails.
START_TIMEOUT = 15.0


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _ping(port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
            s.sendall(b"PING\r\n")
            return s.recv(64).startswith(b"+PONG")
    except OSError:
        return False


class RedisServer:
    """One ``redis-server`` process on a fixed port, restartable."""

    def __init__(self, workdir: Path, port: int | None = None) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError(
                "redis-server not found: install Debian's redis-server (make test does)"
            )
        self.binary = binary
        self.workdir = workdir
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.port = free_port() if port is None else port
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def start(self) -> None:
        """Starts the server and waits until it answers ``PING``."""
        if self.running:
            raise RuntimeError("redis-server already running")
        self.starts += 1
        log = self.workdir / f"redis-{self.starts}.log"
        argv = [
            self.binary,
            "--port", str(self.port),
            "--bind", "127.0.0.1",
            "--save", "",
            "--appendonly", "no",
            "--dir", str(self.workdir),
            "--logfile", str(log),
            "--daemonize", "no",
            "--protected-mode", "yes",
        ]  # fmt: skip
        self.process = subprocess.Popen(  # noqa: S603 - fixed argv of a known binary
            argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                text = log.read_text(errors="replace") if log.exists() else ""
                raise RuntimeError(f"redis-server exited at start: {text[-2000:]}")
            if _ping(self.port):
                return
            time.sleep(0.02)
        self.stop()
        raise RuntimeError(f"redis-server did not answer on port {self.port}")

    def _signal_and_wait(self, sig: signal.Signals) -> None:
        process = self.process
        if process is None:
            return
        if process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(process.pid, sig)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.kill(process.pid, signal.SIGKILL)
                process.wait(timeout=10)
        self.process = None

    def stop(self) -> None:
        """Graceful stop (SIGTERM to its PID); returns once it has exited."""
        self._signal_and_wait(signal.SIGTERM)

    def kill(self) -> None:
        """A crash (SIGKILL to its PID): connections drop without a goodbye."""
        self._signal_and_wait(signal.SIGKILL)

    def restart(self) -> None:
        """Stop (if running) and start again on the same port, empty."""
        self.stop()
        self.start()


@pytest.fixture
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    server.start()
    try:
        yield server
    finally:
        server.stop()
