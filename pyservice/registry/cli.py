"""The registry commands of ``sidian``: init, issuer, key, type, issue,
import, status, annotate, export, verify, stats (registered by
:func:`register` in :mod:`pyservice.cli`)."""

from __future__ import annotations

import contextlib
import json
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Final

import click

from pyservice.errors import SidianError
from pyservice.ledger.keys import ledger_key
from pyservice.ledger.service import Ledger
from pyservice.partners.admin import PartnerAdmin
from pyservice.partners.disclosure import Disclosures
from pyservice.partners.registry import PartnerRegistry
from pyservice.registry.bulk import import_file
from pyservice.registry.demo import demo_holder, seed_demo
from pyservice.registry.document import parse_document, verify_document
from pyservice.registry.keys import (
    PURPOSES,
    KeyRing,
    TrustedKey,
    load_master_key,
    write_private,
)
from pyservice.registry.service import STORED_STATUSES, Registry, today_in_china
from pyservice.settings import Settings
from pyservice.store import open_store

__all__ = ["DATA_DIR_OPTION", "DEMO_HOLDER_FILE", "JSON_OPTION", "register"]

_DATA_DIR = click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Data directory [default: $SIDIAN_DATA_DIR or ./data].",
)
_JSON = click.option("--json", "as_json", is_flag=True, help="Print JSON.")
#: The shared ``--data-dir`` and ``--json`` options, for other command modules.
DATA_DIR_OPTION = _DATA_DIR
JSON_OPTION = _JSON


def _data_dir(data_dir: Path | None) -> Path:
    if data_dir is not None:
        return data_dir
    try:
        return Settings.from_env().data_dir
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc


@contextlib.contextmanager
def _registry(data_dir: Path | None, *, create: bool = False) -> Iterator[Registry]:
    """The registry of a data directory; SidianErrors become CLI errors."""
    path = _data_dir(data_dir)
    if not create and not (path / "sidian.db").is_file():
        raise click.ClickException(f"no store in {path} (run: sidian init --data-dir {path})")
    store = open_store(path)
    try:
        keyring = KeyRing(store, load_master_key(path))
        ledger = Ledger(store, ledger_key(store, path))
        ledger.load()
        yield Registry(store, keyring, ledger)
    except SidianError as exc:
        raise click.ClickException(f"{exc.code}: {exc}") from exc
    finally:
        store.close()


def _echo_json(data: object) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, indent=2))


def _load_json(path: str) -> Any:
    try:
        text = sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8")
        return json.loads(text)
    except (OSError, ValueError) as exc:
        raise click.ClickException(f"cannot read JSON from {path}: {exc}") from exc


# ------------------------------------------------------------------ init --


@click.command()
@_DATA_DIR
@click.option("--demo", is_flag=True, help="Seed the demo data set (empty registry only).")
def init(data_dir: Path | None, demo: bool) -> None:
    """Create the store, the master key and the platform keys (ledger, QR);
    with --demo, seed demo issuers, types and a few hundred licences."""
    with _registry(data_dir, create=True) as registry:
        registry.keyring.platform_key("qr")
        if demo:
            if registry.store.issuers():
                click.echo("registry already has issuers; demo data not added")
            else:
                done = seed_demo(registry)
                click.echo("demo data: " + ", ".join(f"{k} {v}" for k, v in done.items()))
                _demo_holder_credential(registry, _data_dir(data_dir))
        click.echo(f"registry ready in {_data_dir(data_dir)}")


#: Where ``sidian init --demo`` saves the demo holder's credential (0600).
DEMO_HOLDER_FILE: Final = "demo-holder.json"


def _demo_holder_credential(registry: Registry, data_dir: Path) -> None:
    """Issue a holder credential for a demo holder and save it (id, secret,
    the holder's licence ids; never the ID number) to ``demo-holder.json``."""
    holder = demo_holder(registry)
    if holder is None:
        return
    keyring = registry.keyring
    key = keyring.holder_key(*holder)
    admin = PartnerAdmin(
        PartnerRegistry(registry.store, keyring),
        Disclosures(registry.store),
        registry.ledger,
        keyring.usage_target,
    )
    new, _ = admin.add_holder(key, actor="demo", name="演示持证人")
    record = {**new.to_json(), "licences": registry.store.licences_by_holder(key)}
    path = data_dir / DEMO_HOLDER_FILE
    path.unlink(missing_ok=True)
    write_private(path, json.dumps(record, ensure_ascii=False, indent=2).encode("utf-8"))
    click.echo(f"demo holder credential {new.id} saved to {path} (mode 0600)")


# --------------------------------------------------------------- issuers --


@click.group()
def issuer() -> None:
    """Issuing authorities (颁发机构)."""


@issuer.command("add")
@_DATA_DIR
@click.argument("code")
@click.argument("name")
@click.option("--region", required=True, help="Administrative region, e.g. 湖南省.")
def issuer_add(data_dir: Path | None, code: str, name: str, region: str) -> None:
    """Register issuer CODE (USCC or 6-digit area code) with a new signing key."""
    with _registry(data_dir) as registry:
        row, key = registry.add_issuer(code, name, region)
        click.echo(f"issuer {row.code} registered; licence key {key.kid}")


@issuer.command("list")
@_DATA_DIR
@_JSON
def issuer_list(data_dir: Path | None, as_json: bool) -> None:
    """List issuers."""
    with _registry(data_dir) as registry:
        rows = registry.store.issuers()
    if as_json:
        _echo_json([{"code": r.code, "name": r.name, "region": r.region} for r in rows])
    else:
        for r in rows:
            click.echo(f"{r.code}\t{r.name}\t{r.region}")


# ------------------------------------------------------------------ keys --


@click.group()
def key() -> None:
    """Signing keys (issuers' and the platform's)."""


@key.command("rotate")
@_DATA_DIR
@click.argument("owner")
@click.option("--purpose", type=click.Choice(PURPOSES), default="licence", show_default=True)
def key_rotate(data_dir: Path | None, owner: str, purpose: str) -> None:
    """New active key for OWNER (an issuer code, or 'platform' for the
    platform's qr and ledger keys); the old one is retired."""
    with _registry(data_dir) as registry:
        row = registry.rotate_key(owner, purpose)
        click.echo(f"{owner} {purpose} key is now {row.kid}")


@key.command("list")
@_DATA_DIR
@_JSON
def key_list(data_dir: Path | None, as_json: bool) -> None:
    """The trust list: every key's public part, window and status."""
    with _registry(data_dir) as registry:
        keys = registry.keyring.trust_list()
    if as_json:
        _echo_json([k.to_json() for k in keys])
    else:
        for k in keys:
            click.echo(f"{k.kid}\t{k.owner}\t{k.purpose}\t{k.status}")


# ----------------------------------------------------------------- types --


@click.group("type")
def type_() -> None:
    """Licence types (证照类型) and their face-field schemas."""


@type_.command("add")
@_DATA_DIR
@click.argument("file")
def type_add(data_dir: Path | None, file: str) -> None:
    """Define a type from FILE (JSON: code, name, authority, schema, sensitive; '-' = stdin)."""
    spec = _load_json(file)
    if not isinstance(spec, dict):
        raise click.ClickException("type definition must be a JSON object")
    with _registry(data_dir) as registry:
        try:
            parsed = registry.add_type(
                spec.get("code", ""),
                spec.get("name", ""),
                spec.get("authority", ""),
                spec.get("schema", {}),
                spec.get("sensitive", []),
            )
        except SidianError as exc:
            raise click.ClickException(f"{exc.code}: {exc}") from exc
        click.echo(f"type {parsed.code} {parsed.name} defined")


@type_.command("list")
@_DATA_DIR
@_JSON
def type_list(data_dir: Path | None, as_json: bool) -> None:
    """List types (--json includes each face-field schema)."""
    with _registry(data_dir) as registry:
        rows = registry.store.licence_types()
    if as_json:
        _echo_json(
            [
                {
                    "code": r.code,
                    "name": r.name,
                    "authority": r.authority,
                    "schema": json.loads(r.face_schema),
                    "sensitive": list(r.sensitive),
                }
                for r in rows
            ]
        )
    else:
        for r in rows:
            click.echo(f"{r.code}\t{r.name}\t{r.authority}")


# ------------------------------------------------------------- licences --


@click.command()
@_DATA_DIR
@click.argument("file")
def issue(data_dir: Path | None, file: str) -> None:
    """Issue one licence from FILE (a formats.md body as JSON; '-' = stdin)."""
    body = _load_json(file)
    with _registry(data_dir) as registry:
        row = registry.issue(body)
        click.echo(row.id)


@click.command("import")
@_DATA_DIR
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["jsonl", "csv"]), help="[default: by suffix]")
@click.option("--rejects", type=click.Path(dir_okay=False, path_type=Path), help="Reject file.")
@click.option("--batch-size", type=click.IntRange(1, 50000), default=2000, show_default=True)
@click.option("--allow-legacy-id", is_flag=True, help="Accept 15-digit resident ID numbers.")
@click.option(
    "--workers",
    type=click.IntRange(0, 64),
    default=0,
    show_default=True,
    help="Processes validating and signing (0: one per CPU for large files).",
)
@click.option("--quiet", is_flag=True, help="No progress bar.")
@_JSON
def import_(
    *,
    data_dir: Path | None,
    file: Path,
    fmt: str | None,
    rejects: Path | None,
    batch_size: int,
    allow_legacy_id: bool,
    workers: int,
    quiet: bool,
    as_json: bool,
) -> None:
    """Convert existing licences from FILE (JSON Lines or CSV; see the
    columns in pyservice/registry/bulk.py). Resumable: run the same command
    again after an interruption."""
    from rich.progress import (  # noqa: PLC0415 - only this command needs rich
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TaskProgressColumn,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    columns = (
        TextColumn("import"),
        BarColumn(),
        MofNCompleteColumn(),
        TaskProgressColumn(),
        TextColumn("{task.fields[rate]} rows/s"),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
    )
    started = time.monotonic()
    with _registry(data_dir) as registry, Progress(*columns, disable=quiet) as progress:
        task = progress.add_task("import", total=None, rate="-")
        first: list[int] = []

        def on_progress(done: int, total: int) -> None:
            if not first:
                first.append(done)
            elapsed = max(time.monotonic() - started, 1e-6)
            rate = f"{(done - first[0]) / elapsed:,.0f}" if done > first[0] else "-"
            progress.update(task, completed=done, total=total, rate=rate)

        result = import_file(
            registry,
            file,
            fmt=fmt,
            reject_path=rejects,
            batch_size=batch_size,
            allow_legacy_id=allow_legacy_id,
            on_progress=on_progress,
            workers=workers,
            data_dir=_data_dir(data_dir),
            master=load_master_key(_data_dir(data_dir)),
        )
    if as_json:
        _echo_json(result.to_json())
        return
    if result.already_done:
        click.echo(f"already imported (job {result.job_id[:16]}): nothing to do")
    click.echo(
        f"rows {result.rows}, imported {result.imported}, rejected {result.rejected}"
        + (f" (see {result.reject_path})" if result.rejected else "")
        + (
            f", resumed at row {result.resumed_at}"
            if result.resumed_at and not result.already_done
            else ""
        )
    )


@click.group()
def status() -> None:
    """Licence status (VALID, SUSPENDED, REVOKED, CANCELLED; EXPIRED is derived)."""


@status.command("set")
@_DATA_DIR
@click.argument("licence_id")
@click.argument("new_status", type=click.Choice(STORED_STATUSES))
@click.option("--reason", required=True)
@click.option("--actor", required=True, help="Who decides (person or office).")
def status_set(
    data_dir: Path | None, licence_id: str, new_status: str, reason: str, actor: str
) -> None:
    """Change a licence's status (refused unless the lifecycle allows it)."""
    with _registry(data_dir) as registry:
        changed = registry.set_status(licence_id, new_status, reason=reason, actor=actor)
        click.echo(f"{changed.from_status} -> {changed.to_status} (ledger {changed.ledger_index})")


@status.command("show")
@_DATA_DIR
@click.argument("licence_id")
def status_show(data_dir: Path | None, licence_id: str) -> None:
    """Print a licence's status with its as-of time and history."""
    with _registry(data_dir) as registry:
        view = registry.status(licence_id)
        events = registry.store.status_events(licence_id)
    _echo_json(
        {
            "id": view.licence_id,
            "status": view.status,
            "stored_status": view.stored_status,
            "reason": view.reason,
            "since": view.since,
            "status_as_of": view.as_of,
            "events": [
                {
                    "from": e.from_status,
                    "to": e.to_status,
                    "reason": e.reason,
                    "actor": e.actor,
                    "at": e.at,
                    "ledger_index": e.ledger_index,
                }
                for e in events
            ],
        }
    )


@click.command()
@_DATA_DIR
@click.argument("licence_id")
@click.option("--annotator", required=True, help="Annotating authority (issuer code).")
@click.option("--content", required=True, help="What is recorded (加注内容).")
@click.option("--reason", required=True, help="Why.")
@click.option("--actor", required=True, help="Who (person).")
@click.option("--until", "valid_until", help="Valid until YYYY-MM-DD.")
def annotate(
    *,
    data_dir: Path | None,
    licence_id: str,
    annotator: str,
    content: str,
    reason: str,
    actor: str,
    valid_until: str | None,
) -> None:
    """Add a signed annotation (加注) to a licence."""
    with _registry(data_dir) as registry:
        row = registry.annotate(
            licence_id,
            annotator_code=annotator,
            content=content,
            reason=reason,
            actor=actor,
            valid_until=valid_until,
        )
        click.echo(f"annotation {row.seq} (ledger {row.ledger_index})")


@click.command()
@_DATA_DIR
@click.argument("licence_id")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path))
def export(data_dir: Path | None, licence_id: str, output: Path | None) -> None:
    """Export the signed licence document (JSON, with its ledger proof)."""
    with _registry(data_dir) as registry:
        doc = registry.export(licence_id)
    text = json.dumps(doc, ensure_ascii=False, indent=2)
    if output is None:
        click.echo(text)
    else:
        output.write_text(text + "\n", encoding="utf-8")


@click.command()
@_DATA_DIR
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--trust-list",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Trusted keys (output of 'sidian key list --json'); verifies offline, no status.",
)
def verify(data_dir: Path | None, file: Path, trust_list: Path | None) -> None:
    """Verify a signed licence document: signature, issuer key at issuance,
    ledger inclusion and tree head, validity period, and (with a store)
    status. Exit status 0 only for VALID."""
    try:
        doc = parse_document(file.read_bytes())
        if trust_list is not None:
            entries = json.loads(trust_list.read_text(encoding="utf-8"))
            if not isinstance(entries, list):
                raise click.ClickException("trust list must be a JSON array")
            trust = {k.kid: k for k in (TrustedKey.from_json(e) for e in entries)}
            report = verify_document(doc, trust, today=today_in_china())
        else:
            with _registry(data_dir) as registry:
                trust = {k.kid: k for k in registry.keyring.trust_list()}
                try:
                    view = registry.status(doc.licence["id"])
                    detail = None if view.reason is None else f"{view.status}: {view.reason}"
                    status_now: str | None = view.status
                except SidianError:
                    status_now, detail = None, "licence not in this registry"
                report = verify_document(
                    doc, trust, today=today_in_china(), status=status_now, status_detail=detail
                )
    except SidianError as exc:
        raise click.ClickException(f"{exc.code}: {exc}") from exc
    _echo_json(report.to_json())
    if report.result != "VALID":
        sys.exit(1)


@click.command()
@_DATA_DIR
@_JSON
def stats(data_dir: Path | None, as_json: bool) -> None:
    """Counts: licences by status, issuers, types, keys, ledger size."""
    with _registry(data_dir) as registry:
        counts = registry.store.registry_counts()
    if as_json:
        _echo_json(counts)
    else:
        for name, value in counts.items():
            click.echo(f"{name}: {value}")


def register(group: click.Group) -> None:
    """Add the registry commands to the ``sidian`` group."""
    for command in (
        init,
        issuer,
        key,
        type_,
        issue,
        import_,
        status,
        annotate,
        export,
        verify,
        stats,
    ):
        group.add_command(command)
