"""Command line: ``sidian serve``, ``sidian ledger …`` and the registry
commands of :mod:`pyservice.registry.cli` (also ``python -m pyservice``)."""

from __future__ import annotations

import dataclasses
import json
import logging
import sys
from pathlib import Path

import click

from pyservice import __version__
from pyservice import workers as workers_module
from pyservice.audit import verify_usage
from pyservice.crypto import PublicKey
from pyservice.errors import SidianError
from pyservice.ledger import service as ledger_reads
from pyservice.ledger.keys import load_ledger_public_key
from pyservice.ledger.sth import sth_to_json
from pyservice.ledger.verify import verify_ledger
from pyservice.partners.cli import register as register_partner_commands
from pyservice.registry.cli import register as register_registry_commands
from pyservice.seal.cli import verify_ofd_command
from pyservice.seal.registry_cli import seal as seal_commands
from pyservice.settings import Settings
from pyservice.store import Store, open_store

__all__ = ["main"]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="sidian")
def main() -> None:
    """Sidian Verify (四电核验): verification of e-government licences,
    seals, signatures and materials."""


register_registry_commands(main)
register_partner_commands(main)


@main.command()
@click.option("--host", help="Address to listen on [default: $SIDIAN_HOST or 127.0.0.1].")
@click.option("--port", type=click.IntRange(0, 65535), help="Port [default: $SIDIAN_PORT or 8080].")
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Data directory [default: $SIDIAN_DATA_DIR or ./data].",
)
@click.option(
    "--workers",
    type=click.IntRange(1, 64),
    help="Processes sharing the port (SO_REUSEPORT) [default: $SIDIAN_WORKERS or 1].",
)
@click.option(
    "--redis-url",
    help="Redis for the shared status cache [default: $SIDIAN_REDIS_URL, else in-process only].",
)
def serve(
    host: str | None,
    port: int | None,
    data_dir: Path | None,
    workers: int | None,
    redis_url: str | None,
) -> None:
    """Run the HTTP service (aiohttp on uvloop), in one or several processes."""
    try:
        settings = Settings.from_env()
        if host is not None:
            settings = dataclasses.replace(settings, host=host)
        if port is not None:
            settings = dataclasses.replace(settings, port=port)
        if data_dir is not None:
            settings = dataclasses.replace(settings, data_dir=data_dir)
        if workers is not None:
            settings = dataclasses.replace(settings, workers=workers)
        if redis_url is not None:
            settings = dataclasses.replace(settings, redis_url=redis_url or None)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s"
    )
    try:
        status = workers_module.run(settings)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    sys.exit(status)


# ---------------------------------------------------------------- ledger --

_DATA_DIR_OPTION = click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Data directory [default: $SIDIAN_DATA_DIR or ./data].",
)


def _data_dir(data_dir: Path | None) -> Path:
    if data_dir is not None:
        return data_dir
    try:
        return Settings.from_env().data_dir
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc


def _open_store(data_dir: Path | None) -> Store:
    path = _data_dir(data_dir)
    if not (path / "sidian.db").is_file():
        raise click.ClickException(f"no store in {path}")
    return open_store(path)


def _echo_json(data: object) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, indent=2))


def _ledger_public_key(data_dir: Path, public_key: str | None) -> PublicKey:
    """The trusted ledger key: ``public_key`` (hex SEC1), else the data dir's."""
    try:
        if public_key is None:
            return load_ledger_public_key(data_dir)
        return PublicKey.from_bytes(bytes.fromhex(public_key))
    except (OSError, ValueError, KeyError) as exc:
        raise click.ClickException(f"cannot load the ledger public key: {exc}") from exc


@main.group()
def ledger() -> None:
    """The transparency ledger: audit, signed tree heads, proofs."""


@ledger.command("verify")
@_DATA_DIR_OPTION
@click.option(
    "--public-key",
    help="Trusted ledger public key, hex SEC1 [default: the one recorded in the data dir].",
)
def ledger_verify(data_dir: Path | None, public_key: str | None) -> None:
    """Recompute the whole tree from the stored entries, check every STH
    (signature, root, consistency with the previous one) and report the
    first inconsistency. Exit status 1 if there is one."""
    key = _ledger_public_key(_data_dir(data_dir), public_key)
    store = _open_store(data_dir)
    try:
        report = verify_ledger(store, key)
    finally:
        store.close()
    _echo_json(report.to_json())
    if not report.ok:
        sys.exit(1)


@ledger.command("sth")
@_DATA_DIR_OPTION
def ledger_sth(data_dir: Path | None) -> None:
    """Print the latest signed tree head."""
    store = _open_store(data_dir)
    try:
        _echo_json(sth_to_json(ledger_reads.head(store)))
    except SidianError as exc:
        raise click.ClickException(str(exc)) from exc
    finally:
        store.close()


@ledger.group("proof")
def ledger_proof() -> None:
    """Print inclusion and consistency proofs."""


@ledger_proof.command("inclusion")
@_DATA_DIR_OPTION
@click.option("--leaf-hash", required=True, help="Leaf hash, 64 hex digits.")
@click.option("--tree-size", type=click.IntRange(0), help="Tree size of a published STH.")
def ledger_proof_inclusion(data_dir: Path | None, leaf_hash: str, tree_size: int | None) -> None:
    """Inclusion proof of a leaf, with the STH it refers to."""
    try:
        leaf = bytes.fromhex(leaf_hash)
    except ValueError as exc:
        raise click.BadParameter("must be hex", param_hint="--leaf-hash") from exc
    store = _open_store(data_dir)
    try:
        result = ledger_reads.inclusion_proof(store, leaf, tree_size)
    except SidianError as exc:
        raise click.ClickException(f"{exc.code}: {exc}") from exc
    finally:
        store.close()
    _echo_json(result.to_json())


@ledger_proof.command("consistency")
@_DATA_DIR_OPTION
@click.option("--first", required=True, type=click.IntRange(1), help="Older tree size.")
@click.option("--second", required=True, type=click.IntRange(1), help="Newer tree size.")
def ledger_proof_consistency(data_dir: Path | None, first: int, second: int) -> None:
    """Consistency proof between two tree sizes."""
    store = _open_store(data_dir)
    try:
        result = ledger_reads.consistency_proof(store, first, second)
    except SidianError as exc:
        raise click.ClickException(f"{exc.code}: {exc}") from exc
    finally:
        store.close()
    _echo_json(result.to_json())


# ----------------------------------------------------------------- audit --


@main.group()
def audit() -> None:
    """The audit trail of calls (usage records)."""


@audit.command("verify")
@_DATA_DIR_OPTION
@click.option(
    "--public-key",
    help="Trusted ledger public key, hex SEC1 [default: the one recorded in the data dir].",
)
@click.option(
    "--skip-ledger",
    is_flag=True,
    help="Do not re-audit the ledger itself (only the records against its entries).",
)
def audit_verify(data_dir: Path | None, public_key: str | None, skip_ledger: bool) -> None:
    """Check the stored usage records against the ledger, batch by batch:
    each usage.batch entry's records (count, first, last, Merkle root), and
    that every stored batch is on the ledger; first the ledger itself (as
    `sidian ledger verify`). Prints a JSON summary; exit status 1 with the
    failing batches and record ids if anything differs."""
    key = None if skip_ledger else _ledger_public_key(_data_dir(data_dir), public_key)
    store = _open_store(data_dir)
    try:
        ledger_report = None if key is None else verify_ledger(store, key)
        report = verify_usage(store)
    finally:
        store.close()
    summary = report.to_json()
    if ledger_report is not None:
        summary["ledger"] = ledger_report.to_json()
    ok = report.ok and (ledger_report is None or ledger_report.ok)
    summary["ok"] = ok
    _echo_json(summary)
    if not ok:
        sys.exit(1)


# ------------------------------------------------------------------ seal --

main.add_command(verify_ofd_command)
main.add_command(seal_commands)
