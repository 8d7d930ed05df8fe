"""``sidian serve --workers 2``: two processes on one port (SO_REUSEPORT),
metrics aggregated over both, clean exit on SIGTERM. Real processes, real
sockets, a real redis-server."""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from pyservice.metrics import FLUSH_INTERVAL_S
from pyservice.settings import Settings
from pyservice.workers import run
from tests.conftest import REPO_ROOT
from tests.redis_testkit import RedisServer, free_port
from tests.serve_testkit import get, post, reap, serve_two_workers, stop, wait_ready
from tests.verify_testkit import holder_credential, seed_with_partner

EXIT_BOUND = 20.0


def parent_pid(pid: int) -> int:
    stat = Path(f"/proc/{pid}/stat").read_text()
    return int(stat.rsplit(")", 1)[1].split()[1])


def readyz_count(metrics: str) -> float:
    total = 0.0
    for line in metrics.splitlines():
        if line.startswith("sidian_requests_total{") and 'endpoint="readyz"' in line:
            total += float(line.rsplit(" ", 1)[1])
    return total


def test_two_workers_share_the_port_and_the_metrics(
    tmp_path: Path, redis_server: RedisServer
) -> None:
    base, log, log_file, process = serve_two_workers(tmp_path, "--redis-url", redis_server.url)
    with log_file:
        try:
            answered = 0
            deadline = time.monotonic() + 60
            pids: set[int] = set()
            while True:
                try:
                    status, body = get(f"{base}/readyz")
                except OSError:
                    assert process.poll() is None, log.read_text()
                    assert time.monotonic() < deadline, "no answer in 60 s"
                    time.sleep(0.1)
                    continue
                answered += 1
                assert status == 200, body
                payload: dict[str, Any] = json.loads(body)
                assert payload["status"] == "ready"
                assert payload["checks"] == {"store": "ok", "redis": "ok"}
                pids.add(payload["worker"])
                # Both workers bind the port; until the second is up, one answers.
                if len(pids) == 2 and answered >= 40:
                    break
                assert time.monotonic() < deadline, f"only workers {pids} answered"
            assert process.pid not in pids
            assert all(parent_pid(pid) == process.pid for pid in pids)
            metrics_dirs = list(tmp_path.glob("sidian-metrics-*"))
            assert len(metrics_dirs) == 1
            # Every request was counted once, whichever worker renders /metrics
            # (the other worker's counts arrive with its next metrics flush).
            time.sleep(2 * FLUSH_INTERVAL_S)
            for _ in range(4):
                status, body = get(f"{base}/metrics")
                assert status == 200
                text = body.decode()
                assert readyz_count(text) == answered
                assert "sidian_request_duration_seconds_bucket" in text
            assert process.poll() is None
            started = time.monotonic()
            process.send_signal(signal.SIGTERM)
            assert process.wait(timeout=EXIT_BOUND) == 0, log.read_text()
            assert time.monotonic() - started < EXIT_BOUND
            for pid in pids:
                assert not Path(f"/proc/{pid}").exists() or parent_pid(pid) != process.pid
            assert not list(tmp_path.glob("sidian-metrics-*")), "metrics dir left behind"
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
    text = log.read_text()
    assert "Traceback" not in text, text


def test_several_workers_need_a_fixed_port(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data", port=0, workers=2)
    with pytest.raises(ValueError, match="fixed port"):
        run(settings)


def test_sigint_also_stops_cleanly(tmp_path: Path) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SIDIAN_", "PROMETHEUS_"))}
    env["SIDIAN_WORKERS"] = "2"
    command = [sys.executable, "-m", "pyservice", "serve", "--port", str(port)]
    command += ["--data-dir", str(tmp_path / "data")]
    process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
        command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=REPO_ROOT
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                status, body = get(f"http://127.0.0.1:{port}/readyz")
                break
            except OSError:
                assert process.poll() is None
                assert time.monotonic() < deadline
                time.sleep(0.1)
        assert status == 200
        assert json.loads(body)["checks"]["redis"] == "not_configured"
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=EXIT_BOUND) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        assert process.stderr is not None
        err = process.stderr.read().decode()
        process.stderr.close()
    assert not re.search(r"Traceback", err), err


def _worker_pids(base: str, want: int, deadline: float) -> set[int]:
    pids: set[int] = set()
    while len(pids) < want:
        assert time.monotonic() < deadline, f"only workers {pids} answered"
        try:
            status, body = get(f"{base}/readyz")
        except OSError:
            time.sleep(0.1)
            continue
        if status == 200:
            pids.add(json.loads(body)["worker"])
    return pids


def test_a_killed_worker_is_replaced(tmp_path: Path) -> None:
    base, log, log_file, process = serve_two_workers(tmp_path)
    with log_file:
        try:
            first = _worker_pids(base, 2, time.monotonic() + 60)
            victim = min(first)
            os.kill(victim, signal.SIGKILL)
            # The service keeps answering, and a new worker takes the victim's place.
            deadline = time.monotonic() + 60
            seen: set[int] = set()
            while not (seen - first):
                assert time.monotonic() < deadline, f"no replacement for {victim}: {seen}"
                with contextlib.suppress(OSError):
                    status, body = get(f"{base}/readyz")
                    if status == 200:
                        seen.add(json.loads(body)["worker"])
                time.sleep(0.05)
            assert victim not in seen
            assert process.poll() is None
            stop(process, log)
        finally:
            reap(process)
    assert "starting a replacement" in log.read_text()


def _verdicts_by_worker(
    base: str, token: str, rounds: int, partner: tuple[str, str]
) -> dict[str, set[str]]:
    seen: dict[str, set[str]] = {}
    for _ in range(rounds):
        status, headers, body = post(base, "/v1/verify/qr", {"token": token}, partner=partner)
        assert status == 200, body
        seen.setdefault(headers["X-Sidian-Worker"], set()).add(json.loads(body)["status"])
    return seen


def test_a_suspension_reaches_every_worker_within_the_staleness_bound(
    tmp_path: Path, redis_server: RedisServer
) -> None:
    ids, partner = seed_with_partner(tmp_path / "data")
    holder = holder_credential(tmp_path / "data", ids.business)
    staleness = 2.0
    base, log, log_file, process = serve_two_workers(
        tmp_path,
        "--redis-url",
        redis_server.url,
        env={"SIDIAN_EXPOSE_WORKER": "1", "SIDIAN_STATUS_MAX_STALENESS": str(staleness)},
    )
    with log_file:
        try:
            wait_ready(base, process, log)
            status, _, body = post(base, f"/v1/licences/{ids.business}/qr", {}, partner=holder)
            assert status == 200, body
            token = json.loads(body)["token"]
            # Both workers answer VALID and hold the status in their caches.
            deadline = time.monotonic() + 30
            while len(seen := _verdicts_by_worker(base, token, 20, partner)) < 2:
                assert time.monotonic() < deadline, "one worker never answered"
            assert all(statuses == {"VALID"} for statuses in seen.values()), seen

            status, _, body = post(
                base,
                f"/v1/licences/{ids.business}/status",
                {"status": "SUSPENDED", "reason": "检查"},
                partner=partner,
            )
            assert status == 200, body
            changed = time.monotonic()
            suspended: dict[str, float] = {}
            while len(suspended) < 2:
                for worker, statuses in _verdicts_by_worker(base, token, 10, partner).items():
                    if statuses == {"SUSPENDED"}:
                        suspended.setdefault(worker, time.monotonic() - changed)
                assert time.monotonic() - changed < staleness + 1.0, suspended
            assert set(suspended) == set(seen)

            # A change made by another process (the CLI) reaches both too.
            cli = subprocess.run(  # noqa: S603 - our own interpreter and module
                [
                    sys.executable, "-m", "pyservice", "status", "set", ids.business, "REVOKED",
                    "--reason", "吊销", "--actor", "cli", "--data-dir", str(tmp_path / "data"),
                ],
                capture_output=True,
                check=False,
                cwd=REPO_ROOT,
            )  # fmt: skip
            assert cli.returncode == 0, cli.stderr
            changed = time.monotonic()
            revoked: set[str] = set()
            while revoked != set(seen):
                for worker, statuses in _verdicts_by_worker(base, token, 10, partner).items():
                    if statuses == {"REVOKED"}:
                        revoked.add(worker)
                assert time.monotonic() - changed < staleness + 1.0, revoked
            stop(process, log)
        finally:
            reap(process)
    assert "Traceback" not in log.read_text()
