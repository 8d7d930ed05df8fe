"""Running the service: one process, or N worker processes sharing the port.

``run(settings)`` with ``settings.workers == 1`` serves in this process.
With more, this process becomes a small supervisor:

1. it prepares what workers would otherwise race on: the data directory,
   the store's migrations and the ledger key;
2. it creates a private ``PROMETHEUS_MULTIPROC_DIR`` (prometheus-client's
   multiprocess mode: every worker writes its metrics there and ``/metrics``
   in any worker aggregates all of them), removed when it exits;
3. it starts the workers with the *spawn* method (fresh interpreters that
   inherit the variable, so the multiprocess mode is in force before
   ``prometheus_client`` loads in them);
   each binds ``host:port`` itself with ``SO_REUSEPORT`` and the kernel
   spreads connections over them;
4. on SIGTERM or SIGINT it forwards SIGTERM to every worker (aiohttp's
   graceful shutdown: stop accepting, finish requests, run ``cleanup_ctx``),
   waits up to ``SHUTDOWN_TIMEOUT`` seconds (then SIGKILL) and exits 0;
5. a worker that dies on its own is replaced (its metrics files marked
   dead first); if more than ``MAX_RESTARTS`` die within
   ``RESTART_WINDOW`` seconds something is wrong beyond one process, so the
   others are stopped and the exit status is 1 (for a process manager).

A request body larger than ``settings.max_body_bytes`` gets 413 in every
worker (``client_max_size`` of :func:`~pyservice.app.create_app`).
"""

from __future__ import annotations

import contextlib
import gc
import logging
import multiprocessing
import os
import shutil
import signal
import tempfile
import time
from multiprocessing.process import BaseProcess
from pathlib import Path
from types import FrameType
from typing import Final

import uvloop
from aiohttp import web
from prometheus_client import multiprocess

from pyservice.accesslog import RedactedAccessLogger
from pyservice.app import create_app
from pyservice.ledger.keys import load_or_create_ledger_key
from pyservice.settings import Settings
from pyservice.store import open_store

__all__ = ["MAX_RESTARTS", "MULTIPROC_ENV", "RESTART_WINDOW", "SHUTDOWN_TIMEOUT", "run"]

log = logging.getLogger(__name__)

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
#: Seconds workers get to finish after SIGTERM before they are killed.
SHUTDOWN_TIMEOUT = 30.0
#: Replacements of dead workers allowed within RESTART_WINDOW seconds.
MAX_RESTARTS = 5
RESTART_WINDOW = 60.0


#: Young-generation threshold of the cyclic collector while serving (the
#: default, 700, runs it every few requests: each one allocates hundreds of
#: short-lived containers, nearly all freed by reference counting).
GC_GEN0_THRESHOLD: Final = 10_000


def _serve_here(settings: Settings, *, reuse_port: bool) -> None:
    app = create_app(settings)
    # What is loaded now lives as long as the process: out of the
    # collector's scans (gc.freeze), which then only sees request garbage.
    gc.collect()
    gc.freeze()
    gc.set_threshold(GC_GEN0_THRESHOLD, *gc.get_threshold()[1:])
    web.run_app(
        app,
        host=settings.host,
        port=settings.port,
        reuse_port=reuse_port,
        loop=uvloop.new_event_loop(),
        print=None,
        access_log_class=RedactedAccessLogger,
        shutdown_timeout=SHUTDOWN_TIMEOUT - 5,
    )


def _worker_main(settings: Settings) -> None:
    logging.basicConfig(
        level=settings.log_level.upper(),
        format=f"%(asctime)s %(levelname)s [{os.getpid()}] %(name)s %(message)s",
    )
    _serve_here(settings, reuse_port=True)


def _prepare(settings: Settings) -> None:
    """Creates the data directory, migrates the store and creates the ledger
    key once, before any worker starts."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    open_store(settings.data_dir).close()
    load_or_create_ledger_key(settings.data_dir)


def run(settings: Settings) -> int:
    """Serves until SIGTERM/SIGINT; the process exit status."""
    if settings.workers == 1:
        _serve_here(settings, reuse_port=False)
        return 0
    if settings.port == 0:
        raise ValueError("several workers need a fixed port (SO_REUSEPORT), not 0")
    _prepare(settings)
    metrics_dir = Path(tempfile.mkdtemp(prefix="sidian-metrics-"))
    previous = os.environ.get(MULTIPROC_ENV)
    os.environ[MULTIPROC_ENV] = str(metrics_dir)
    try:
        return _supervise(settings)
    finally:
        if previous is None:
            os.environ.pop(MULTIPROC_ENV, None)
        else:
            os.environ[MULTIPROC_ENV] = previous
        shutil.rmtree(metrics_dir, ignore_errors=True)


def _supervise(settings: Settings) -> int:
    context = multiprocessing.get_context("spawn")
    stopping = False

    def on_signal(signum: int, frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    old_handlers = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
    workers: list[BaseProcess] = []
    restarts: list[float] = []
    status = 0

    def spawn(index: int) -> BaseProcess:
        process = context.Process(
            target=_worker_main, args=(settings,), name=f"sidian-worker-{index}"
        )
        process.start()
        return process

    try:
        workers.extend(spawn(index) for index in range(settings.workers))
        log.info(
            "serving on http://%s:%d with %d workers", settings.host, settings.port, len(workers)
        )
        while not stopping:
            for index, process in enumerate(workers):
                if process.is_alive() or stopping:
                    continue
                now = time.monotonic()
                restarts[:] = [t for t in restarts if now - t < RESTART_WINDOW]
                if len(restarts) >= MAX_RESTARTS:
                    log.error(
                        "workers keep dying (%d in %.0f s); stopping",
                        MAX_RESTARTS + 1,
                        RESTART_WINDOW,
                    )
                    status = 1
                    stopping = True
                    break
                log.error(
                    "worker %s exited (code %s); starting a replacement",
                    process.pid,
                    process.exitcode,
                )
                if process.pid is not None:
                    multiprocess.mark_process_dead(process.pid)  # type: ignore[no-untyped-call]
                restarts.append(now)
                workers[index] = spawn(index)
            time.sleep(0.1)
    finally:
        _stop(workers)
        for sig, handler in old_handlers.items():
            signal.signal(sig, handler)
    return status


def _stop(workers: list[BaseProcess]) -> None:
    for process in workers:
        if process.is_alive() and process.pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(process.pid, signal.SIGTERM)
    deadline = time.monotonic() + SHUTDOWN_TIMEOUT
    for process in workers:
        process.join(max(0.0, deadline - time.monotonic()))
        if process.is_alive():
            log.warning("worker %s did not stop in time; killing it", process.pid)
            process.kill()
            process.join()
        if process.pid is not None:
            multiprocess.mark_process_dead(process.pid)  # type: ignore[no-untyped-call]
