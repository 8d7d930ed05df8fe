"""Command line: ``sidian serve`` (also ``python -m pyservice serve``)."""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path

import click
import uvloop
from aiohttp import web

from pyservice import __version__
from pyservice.app import create_app
from pyservice.settings import Settings

__all__ = ["main"]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="sidian")
def main() -> None:
    """Sidian Verify (四电核验): verification of e-government licences,
    seals, signatures and materials."""


@main.command()
@click.option("--host", help="Address to listen on [default: $SIDIAN_HOST or 127.0.0.1].")
@click.option("--port", type=click.IntRange(0, 65535), help="Port [default: $SIDIAN_PORT or 8080].")
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Data directory [default: $SIDIAN_DATA_DIR or ./data].",
)
def serve(host: str | None, port: int | None, data_dir: Path | None) -> None:
    """Run the HTTP service (aiohttp on uvloop)."""
    try:
        settings = Settings.from_env()
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    if host is not None:
        settings = dataclasses.replace(settings, host=host)
    if port is not None:
        settings = dataclasses.replace(settings, port=port)
    if data_dir is not None:
        settings = dataclasses.replace(settings, data_dir=data_dir)
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s"
    )
    web.run_app(
        create_app(settings), host=settings.host, port=settings.port, loop=uvloop.new_event_loop()
    )
