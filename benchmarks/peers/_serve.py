"""Run an aiohttp app factory in N processes sharing a port (SO_REUSEPORT)."""

from __future__ import annotations

import argparse
import multiprocessing
import os
import signal
from collections.abc import Callable

import uvloop
from aiohttp import web

AppFactory = Callable[[], web.Application]


def _worker(factory: AppFactory, host: str, port: int) -> None:
    uvloop.install()
    web.run_app(factory(), host=host, port=port, reuse_port=True, print=None, access_log=None)


def serve(factory: AppFactory, *, host: str, port: int, workers: int) -> None:
    """Start ``workers`` processes; stop them all on SIGTERM/SIGINT."""
    ctx = multiprocessing.get_context("fork")
    procs = [ctx.Process(target=_worker, args=(factory, host, port)) for _ in range(workers)]
    for proc in procs:
        proc.start()

    def stop(signum: int, frame: object) -> None:
        for proc in procs:
            if proc.pid is not None:
                os.kill(proc.pid, signal.SIGTERM)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    for proc in procs:
        proc.join()


def parser(description: str | None) -> argparse.ArgumentParser:
    """The options every peer takes: where to listen and how many workers."""
    out = argparse.ArgumentParser(description=description)
    out.add_argument("--host", default="127.0.0.1")
    out.add_argument("--port", type=int, required=True)
    out.add_argument("--workers", type=int, default=2)
    return out
