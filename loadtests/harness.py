"""Process and measurement plumbing for the load tests (see run.py).

Everything started here is started by PID and stopped by PID: a process
group per server (the service's supervisor and its workers), SIGTERM, a
bounded wait, then SIGKILL. CPU and memory come from /proc.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CLK_TCK = os.sysconf("SC_CLK_TCK")
WRK_SCRIPT = Path(__file__).resolve().parent / "wrk" / "requests.lua"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    """A started process group (by PID); ``stop()`` ends all of it."""

    name: str
    argv: list[str]
    log: Path
    env: dict[str, str] = field(default_factory=dict)
    proc: subprocess.Popen[bytes] | None = None

    def start(self) -> Server:
        with self.log.open("wb") as out:
            self.proc = subprocess.Popen(  # noqa: S603 - argv built by this harness
                self.argv,
                stdout=out,
                stderr=subprocess.STDOUT,
                env={**os.environ, **self.env},
                start_new_session=True,  # its own process group, killed as one
            )
        return self

    @property
    def pid(self) -> int:
        if self.proc is None:
            raise RuntimeError(f"{self.name} was not started")
        return self.proc.pid

    def stop(self, timeout: float = 20.0) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(5)

    def tree(self) -> list[int]:
        """This process and all its descendants (read from /proc)."""
        parents: dict[int, int] = {}
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                with contextlib.suppress(OSError, IndexError, ValueError):
                    stat = (entry / "stat").read_text()
                    parents[int(entry.name)] = int(stat[stat.rindex(")") + 2 :].split()[1])
        found = [self.pid]
        frontier = [self.pid]
        while frontier:
            parent = frontier.pop()
            children = [pid for pid, ppid in parents.items() if ppid == parent]
            found.extend(children)
            frontier.extend(children)
        return found


def cpu_seconds(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        with contextlib.suppress(OSError, IndexError, ValueError):
            stat = Path(f"/proc/{pid}/stat").read_text()
            fields = stat[stat.rindex(")") + 2 :].split()
            total += int(fields[11]) + int(fields[12])  # utime + stime
    return total / CLK_TCK


def rss_mb(pid: int) -> float:
    with contextlib.suppress(OSError, ValueError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def wait_http(url: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=1) as response:  # noqa: S310 - loopback
                if response.status < 500:
                    return
        except urllib.error.HTTPError as exc:
            if exc.code < 500:
                return
        except (OSError, urllib.error.URLError):
            pass
        time.sleep(0.1)
    raise TimeoutError(f"{url} did not answer within {timeout} s")


@dataclass(frozen=True)
class LoadSettings:
    threads: int = 2
    connections: int = 64
    duration_s: int = 10


def run_wrk(
    url: str,
    requests_file: Path,
    result_file: Path,
    settings: LoadSettings,
    *,
    mode: str = "distinct",
    delay_ms: int = 0,
    delay_dist: str = "fixed",
    watch: Server | None = None,
) -> dict[str, Any]:
    """One bounded wrk run; its JSON summary plus rps, CPU per request and
    the largest worker RSS of ``watch``."""
    env = {
        **os.environ,
        "REQUESTS": str(requests_file),
        "RESULT": str(result_file),
        "MODE": mode,
        "WRK_THREADS": str(settings.threads),
        "DELAY_MS": str(delay_ms),
        "DELAY_DIST": delay_dist,
    }
    pids = watch.tree() if watch is not None else []
    cpu0 = cpu_seconds(pids)
    subprocess.run(  # noqa: S603 - fixed argv
        [
            shutil.which("wrk") or "/usr/bin/wrk",
            f"-t{settings.threads}",
            f"-c{settings.connections}",
            f"-d{settings.duration_s}s",
            "--timeout",
            "5s",
            "-s",
            str(WRK_SCRIPT),
            url,
        ],
        env=env,
        check=True,
        capture_output=True,
        timeout=settings.duration_s + 60,
    )
    cpu = cpu_seconds(pids) - cpu0
    summary: dict[str, Any] = json.loads(result_file.read_text())
    seconds = summary["duration_us"] / 1e6
    summary["rps"] = summary["requests"] / seconds if seconds else 0.0
    summary["cpu_ms_per_request"] = 1000 * cpu / summary["requests"] if summary["requests"] else 0
    summary["worker_rss_mb"] = max((rss_mb(pid) for pid in pids[1:]), default=0.0)
    return summary


# The service counts each request once, in sidian_requests_total.
_REQUESTS_TOTAL = re.compile(r"^sidian_requests_total\{([^}]*)\} ([0-9.e+]+)$", re.M)


def requests_answered(metrics_url: str) -> tuple[float, float]:
    """(all requests, 5xx answers) so far, from the service's /metrics."""
    with urllib.request.urlopen(metrics_url, timeout=2) as response:  # noqa: S310 - loopback
        text = response.read().decode()
    total = errors = 0.0
    for labels, value in _REQUESTS_TOTAL.findall(text):
        total += float(value)
        if re.search(r'(?:code|status)="5', labels):
            errors += float(value)
    return total, errors


class Sampler:
    """Samples a function every ``interval`` seconds on a thread."""

    def __init__(self, fn: Callable[[], Any], interval: float = 0.5) -> None:
        self.samples: list[tuple[float, Any]] = []
        self._fn = fn
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            with contextlib.suppress(OSError, ValueError):
                self.samples.append((time.monotonic(), self._fn()))
            self._stop.wait(self._interval)

    def __enter__(self) -> Sampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)


def rate_series(samples: list[tuple[float, tuple[float, float]]]) -> list[tuple[float, float]]:
    """(time, requests/s) between consecutive samples."""
    out = []
    for (t0, (n0, _)), (t1, (n1, _)) in itertools.pairwise(samples):
        if t1 > t0:
            out.append((t1, (n1 - n0) / (t1 - t0)))
    return out


def slope_per_minute(samples: list[tuple[float, float]]) -> float:
    """Least-squares slope of (time, value) samples, per minute."""
    if len(samples) < 2:
        return 0.0
    n = len(samples)
    mean_t = sum(t for t, _ in samples) / n
    mean_v = sum(v for _, v in samples) / n
    var = sum((t - mean_t) ** 2 for t, _ in samples)
    if var == 0:
        return 0.0
    cov = sum((t - mean_t) * (v - mean_v) for t, v in samples)
    return 60 * cov / var
