"""``sidian seal …``: the seal system's lifecycle from the command line
(apply, approve, reject, make, file, list, show, change, renew, cancel,
sign). Every step writes its ledger entry with the seal's row."""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click

from pyservice.crypto import sm3
from pyservice.errors import SidianError
from pyservice.ledger.keys import ledger_key
from pyservice.ledger.service import Ledger
from pyservice.registry.keys import KeyRing, load_master_key
from pyservice.seal.registry import SEAL_STATUSES, SealRegistry, describe, event_json
from pyservice.settings import Settings
from pyservice.store import open_store

__all__ = ["seal"]

#: Seal dates are Chinese calendar dates (UTC+8): a window runs from the
#: start of its first day to the end of its last.
_CST = dt.timezone(dt.timedelta(hours=8))

_DATA_DIR = click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Data directory [default: $SIDIAN_DATA_DIR or ./data].",
)
_JSON = click.option("--json", "as_json", is_flag=True, help="Print JSON.")
_ACTOR = click.option("--actor", required=True, help="Who does this (recorded in the ledger).")
_REASON = click.option("--reason", required=True, help="Why (recorded in the ledger).")


@contextlib.contextmanager
def _seals(data_dir: Path | None) -> Iterator[SealRegistry]:
    if data_dir is None:
        try:
            data_dir = Settings.from_env().data_dir
        except ValueError as exc:
            raise click.ClickException(str(exc)) from exc
    if not (data_dir / "sidian.db").is_file():
        raise click.ClickException(f"no store in {data_dir} (run: sidian init --data-dir ...)")
    store = open_store(data_dir)
    try:
        ledger = Ledger(store, ledger_key(store, data_dir))
        ledger.load()
        yield SealRegistry(store, KeyRing(store, load_master_key(data_dir)), ledger)
    except SidianError as exc:
        raise click.ClickException(f"{exc.code}: {exc}") from exc
    finally:
        store.close()


def _day_start(day: dt.date) -> int:
    return int(dt.datetime.combine(day, dt.time(), _CST).timestamp())


def _day_end(day: dt.date) -> int:
    return _day_start(day) + 86400 - 1


def _echo_seal(row_json: dict[str, Any], as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(row_json, ensure_ascii=False, indent=2))
        return
    for key in ("es_id", "name", "org_name", "org_code", "status", "version"):
        click.echo(f"{key:>10}: {row_json[key]}")
    start = dt.datetime.fromtimestamp(row_json["valid_start"], _CST).date()
    end = dt.datetime.fromtimestamp(row_json["valid_end"], _CST).date()
    click.echo(f"{'valid':>10}: {start} … {end}")


@click.group()
def seal() -> None:
    """Electronic seals (电子印章): 申请、审核、制作、备案、查询、变更、续期、注销, signing."""


@seal.command("apply")
@_DATA_DIR
@_JSON
@click.option("--org", "org_code", required=True, help="The organisation's USCC.")
@click.option("--org-name", required=True, help="The organisation's registered name.")
@click.option("--name", required=True, help="The seal's name, e.g. XX有限公司合同专用章.")
@click.option("--type", "seal_type", type=click.IntRange(1, 99), default=1, show_default=True)
@click.option(
    "--picture",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    required=True,
    help="The seal image (at most 256 KiB).",
)
@click.option("--picture-type", default="PNG", show_default=True)
@click.option("--size", type=click.IntRange(1, 1000), default=40, help="Width and height (mm).")
@click.option("--valid-from", type=click.DateTime(["%Y-%m-%d"]), help="[default: today]")
@click.option("--valid-until", type=click.DateTime(["%Y-%m-%d"]), required=True)
@click.option("--applicant", required=True, help="Who applies (recorded in the ledger).")
def seal_apply(
    *,
    data_dir: Path | None,
    as_json: bool,
    org_code: str,
    org_name: str,
    name: str,
    seal_type: int,
    picture: Path,
    picture_type: str,
    size: int,
    valid_from: dt.datetime | None,
    valid_until: dt.datetime,
    applicant: str,
) -> None:
    """申请: apply for a new seal; prints its esID."""
    image = picture.read_bytes()
    start = dt.datetime.now(_CST).date() if valid_from is None else valid_from.date()
    with _seals(data_dir) as reg:
        row = reg.apply(
            org_code=org_code,
            org_name=org_name,
            name=name,
            seal_type=seal_type,
            picture=image,
            picture_type=picture_type,
            width=size,
            height=size,
            valid_start=_day_start(start),
            valid_end=_day_end(valid_until.date()),
            applicant=applicant,
        )
        _echo_seal(describe(row), as_json)


def _step_command(action: str, help_text: str) -> click.Command:
    @_DATA_DIR
    @_JSON
    @_ACTOR
    @_REASON
    @click.argument("es_id")
    def command(data_dir: Path | None, as_json: bool, actor: str, reason: str, es_id: str) -> None:
        with _seals(data_dir) as reg:
            step = getattr(reg, action)
            _echo_seal(describe(step(es_id, actor=actor, reason=reason)), as_json)

    command.__doc__ = help_text
    return seal.command(action)(command)


_step_command("approve", "审核通过: approve an application.")
_step_command("reject", "审核不通过: reject an application.")
_step_command("make", "制作: make the V4 SES_Seal (signed by the platform seal maker).")
_step_command("file", "备案: file a made seal; it is in force from now.")
_step_command("cancel", "注销: cancel a seal; later signatures fail verification.")


@seal.command("change")
@_DATA_DIR
@_JSON
@_ACTOR
@_REASON
@click.argument("es_id")
@click.option("--name", help="New seal name.")
@click.option("--picture", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.option("--picture-type", help="Type of the new picture (PNG, GIF, ofd …).")
def seal_change(
    *,
    data_dir: Path | None,
    as_json: bool,
    actor: str,
    reason: str,
    es_id: str,
    name: str | None,
    picture: Path | None,
    picture_type: str | None,
) -> None:
    """变更: a new version with another name or picture."""
    image = None if picture is None else picture.read_bytes()
    with _seals(data_dir) as reg:
        row = reg.change(
            es_id, actor=actor, reason=reason, name=name, picture=image, picture_type=picture_type
        )
        _echo_seal(describe(row), as_json)


@seal.command("renew")
@_DATA_DIR
@_JSON
@_ACTOR
@_REASON
@click.argument("es_id")
@click.option("--valid-until", type=click.DateTime(["%Y-%m-%d"]), required=True)
def seal_renew(
    *,
    data_dir: Path | None,
    as_json: bool,
    actor: str,
    reason: str,
    es_id: str,
    valid_until: dt.datetime,
) -> None:
    """续期: a new version valid until a later date."""
    with _seals(data_dir) as reg:
        row = reg.renew(es_id, actor=actor, reason=reason, valid_end=_day_end(valid_until.date()))
        _echo_seal(describe(row), as_json)


@seal.command("list")
@_DATA_DIR
@_JSON
@click.option("--org", "org_code", help="Only this organisation's seals (USCC).")
@click.option("--status", type=click.Choice(SEAL_STATUSES), help="Only seals in this status.")
def seal_list(
    data_dir: Path | None, as_json: bool, org_code: str | None, status: str | None
) -> None:
    """查询: list seals."""
    with _seals(data_dir) as reg:
        rows = [describe(r) for r in reg.seals(org_code, status)]
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    for r in rows:
        click.echo(f"{r['es_id']}  {r['status']:<9}  v{r['version']}  {r['name']}  {r['org_code']}")


@seal.command("show")
@_DATA_DIR
@_JSON
@click.argument("es_id")
def seal_show(data_dir: Path | None, as_json: bool, es_id: str) -> None:
    """查询: one seal with its lifecycle events."""
    with _seals(data_dir) as reg:
        out = describe(reg.seal(es_id))
        events = [event_json(e) for e in reg.events(es_id)]
    if as_json:
        click.echo(json.dumps({**out, "events": events}, ensure_ascii=False, indent=2))
        return
    _echo_seal(out, False)
    for e in events:
        click.echo(f"  #{e['ledger_index']} {e['action']}: {e['from']} → {e['to']} ({e['reason']})")


@seal.command("sign")
@_DATA_DIR
@click.argument("es_id")
@click.argument("file", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.option(
    "--out",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    required=True,
    help="Where to write the SignedValue (DER SES_Signature).",
)
@click.option("--property-info", default="/", show_default=True, help="TBS_Sign propertyInfo.")
def seal_sign(data_dir: Path | None, es_id: str, file: Path, out: Path, property_info: str) -> None:
    """Sign FILE (its SM3) with the seal: a V4 SES_Signature, e.g. over an
    OFD Signature.xml."""
    digest = sm3(file.read_bytes())
    with _seals(data_dir) as reg:
        value = reg.sign(es_id, digest, property_info=property_info)
    out.write_bytes(value)
    click.echo(f"signed {file} with seal {es_id}: {out} ({len(value)} bytes)")


@seal.command("ca-cert")
@_DATA_DIR
def seal_ca_cert(data_dir: Path | None) -> None:
    """Print the platform seal CA's certificate (PEM; created with its key
    on first use): the trust anchor for the platform's seals elsewhere."""
    with _seals(data_dir) as reg:
        der = reg.ca_certificate()
    body = base64.encodebytes(der).decode("ascii").replace("\n", "")
    lines = [body[i : i + 64] for i in range(0, len(body), 64)]
    click.echo("\n".join(["-----BEGIN CERTIFICATE-----", *lines, "-----END CERTIFICATE-----"]))
