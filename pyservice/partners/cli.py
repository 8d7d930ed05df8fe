"""``sidian partner …``: partners and their access applications
(registered by :func:`register` in :mod:`pyservice.cli`).

    sidian partner add NAME --scopes verify:qr,status:read [--types …] [--issuers …]
                            [--rate N] [--single-use] [--contact …]
    sidian partner list [--json]
    sidian partner suspend|resume ID
    sidian partner rotate-secret ID
    sidian partner apply ID --purpose … --scopes … [--types …] [--issuers …]
    sidian partner applications [--status S] [--partner ID] [--overdue] [--json]
    sidian partner approve APP_ID [--scopes …] [--types …] [--issuers …] [--by NAME]
    sidian partner reject APP_ID --reason … [--by NAME]
    sidian partner consent LICENCE_ID PARTNER_ID [--days N] | --revoke
    sidian partner disclosures [--licence ID] [--partner ID]
    sidian holder add [--holder-id …] [--id-type 111] [--name …]

``add``, ``rotate-secret`` and ``holder add`` print ``{"id", "secret"}``
once: the secret is not stored in clear and cannot be shown again.
``add``, ``suspend``, ``resume``, ``rotate-secret``, ``consent`` and
``holder add`` are ledger entries (:mod:`pyservice.partners.admin`).
"""

from __future__ import annotations

import contextlib
import getpass
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import click

from pyservice.errors import SidianError
from pyservice.ledger.keys import ledger_key
from pyservice.ledger.service import Ledger
from pyservice.partners.admin import PartnerAdmin
from pyservice.partners.applications import Applications, application_json
from pyservice.partners.calendar import WorkCalendar
from pyservice.partners.disclosure import Disclosures
from pyservice.partners.registry import DEFAULT_RATE_PER_S, PartnerRegistry
from pyservice.registry.cli import DATA_DIR_OPTION, JSON_OPTION
from pyservice.registry.keys import KeyRing, load_master_key
from pyservice.settings import Settings
from pyservice.store import open_store

__all__ = ["register"]

_DATA_DIR = DATA_DIR_OPTION
_JSON = JSON_OPTION
_TYPES = click.option("--types", default="", help="Allowed licence type codes, comma-separated.")
_ISSUERS = click.option("--issuers", default="", help="Allowed issuer codes, comma-separated.")
_BY = click.option(
    "--by", default=None, help="Reviewer recorded with the decision [default: cli:$USER]."
)


@dataclass(frozen=True, slots=True)
class _Context:
    partners: PartnerRegistry
    applications: Applications
    disclosures: Disclosures
    admin: PartnerAdmin
    keyring: KeyRing


def _settings() -> Settings:
    try:
        return Settings.from_env()
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc


@contextlib.contextmanager
def _open(data_dir: Path | None) -> Iterator[_Context]:
    """Partners and applications of a data directory; SidianErrors become CLI errors."""
    settings = _settings()
    path = settings.data_dir if data_dir is None else data_dir
    if not (path / "sidian.db").is_file():
        raise click.ClickException(f"no store in {path} (run: sidian init --data-dir {path})")
    store = open_store(path)
    try:
        keyring = KeyRing(store, load_master_key(path))
        partners = PartnerRegistry(store, keyring)
        calendar = WorkCalendar.load(settings.work_calendar)
        disclosures = Disclosures(store)
        ledger = Ledger(store, ledger_key(store, path))
        ledger.load()
        admin = PartnerAdmin(partners, disclosures, ledger, keyring.usage_target)
        yield _Context(
            partners, Applications(store, calendar, partners), disclosures, admin, keyring
        )
    except SidianError as exc:
        raise click.ClickException(f"{exc.code}: {exc}") from exc
    finally:
        store.close()


def _codes(text: str) -> list[str]:
    return [item.strip() for item in text.split(",") if item.strip()]


def _echo_json(data: object) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, indent=2))


def _actor() -> str:
    return f"cli:{getpass.getuser()}"


def _reviewer(by: str | None) -> str:
    return by if by else _actor()


@click.group()
def partner() -> None:
    """Partners (接入的业务信息系统) and their access applications (用证申请)."""


@partner.command("add")
@click.argument("name")
@click.option("--scopes", required=True, help="Scopes, comma-separated (verify:qr,status:read).")
@_TYPES
@_ISSUERS
@click.option(
    "--rate",
    type=click.FloatRange(min=0, min_open=True),
    default=DEFAULT_RATE_PER_S,
    show_default=True,
    help="Requests per second.",
)
@click.option("--single-use", is_flag=True, help="QR tokens it verifies are single-use.")
@click.option("--contact", default="", help="Contact (person, phone or mail).")
@_DATA_DIR
def add(  # click passes options as keywords
    *,
    name: str,
    scopes: str,
    types: str,
    issuers: str,
    rate: float,
    single_use: bool,
    contact: str,
    data_dir: Path | None,
) -> None:
    """Add a partner; prints its id and secret (shown only this once) as JSON."""
    with _open(data_dir) as ctx:
        new, _ = ctx.admin.add(
            name,
            actor=_actor(),
            scopes=scopes,
            licence_types=_codes(types),
            issuers=_codes(issuers),
            rate_per_s=rate,
            single_use_tokens=single_use,
            contact=contact,
        )
    _echo_json(new.to_json())


@partner.command("list")
@_JSON
@_DATA_DIR
def list_(as_json: bool, data_dir: Path | None) -> None:
    """List partners (never their secrets)."""
    with _open(data_dir) as ctx:
        partners = ctx.partners.list()
    if as_json:
        _echo_json([p.to_json() for p in partners])
        return
    for p in partners:
        limits = ",".join(sorted(p.grant.licence_types)) or "any type"
        click.echo(
            f"{p.id}  {p.status:<9}  {p.rate_per_s:g}/s  {','.join(sorted(p.grant.scopes))}"
            f"  [{limits}]  {p.name}"
        )


@partner.command("suspend")
@click.argument("partner_id")
@_DATA_DIR
def suspend(partner_id: str, data_dir: Path | None) -> None:
    """Suspend a partner: its requests get 401 partner_suspended (within seconds)."""
    with _open(data_dir) as ctx:
        _echo_json(ctx.admin.suspend(partner_id, actor=_actor())[0].to_json())


@partner.command("resume")
@click.argument("partner_id")
@_DATA_DIR
def resume(partner_id: str, data_dir: Path | None) -> None:
    """Make a suspended partner active again."""
    with _open(data_dir) as ctx:
        _echo_json(ctx.admin.resume(partner_id, actor=_actor())[0].to_json())


@partner.command("rotate-secret")
@click.argument("partner_id")
@_DATA_DIR
def rotate_secret(partner_id: str, data_dir: Path | None) -> None:
    """Issue a new secret (printed once as JSON); the old one stops working."""
    with _open(data_dir) as ctx:
        new, _ = ctx.admin.rotate_secret(partner_id, actor=_actor())
    _echo_json(new.to_json())


@partner.command("apply")
@click.argument("partner_id")
@click.option("--purpose", required=True, help="Why the partner needs this access (用途).")
@click.option("--scopes", required=True, help="Scopes applied for, comma-separated.")
@_TYPES
@_ISSUERS
@_DATA_DIR
def apply(
    *, partner_id: str, purpose: str, scopes: str, types: str, issuers: str, data_dir: Path | None
) -> None:
    """File an access application on a partner's behalf."""
    with _open(data_dir) as ctx:
        row = ctx.applications.apply(
            partner_id,
            purpose=purpose,
            scopes=scopes,
            licence_types=_codes(types),
            issuers=_codes(issuers),
        )
    _echo_json(application_json(row, int(time.time() * 1000)))


@partner.command("applications")
@click.option("--status", type=click.Choice(["pending", "approved", "rejected"]))
@click.option("--partner", "partner_id", help="Only this partner's applications.")
@click.option("--overdue", is_flag=True, help="Only pending applications past their deadline.")
@_JSON
@_DATA_DIR
def applications(
    status: str | None,
    partner_id: str | None,
    overdue: bool,
    as_json: bool,
    data_dir: Path | None,
) -> None:
    """List access applications (oldest first) with their review deadline."""
    now = int(time.time() * 1000)
    with _open(data_dir) as ctx:
        if overdue:
            rows = [
                r
                for r in ctx.applications.overdue(now)
                if partner_id is None or r.partner_id == partner_id
            ]
        else:
            rows = ctx.applications.list(status=status, partner_id=partner_id)
    items = [application_json(r, now) for r in rows]
    if as_json:
        _echo_json(items)
        return
    for item in items:
        flag = "  OVERDUE" if item["overdue"] else ""
        click.echo(
            f"{item['id']}  {item['partner_id']}  {item['status']:<8}  due {item['due_at']}"
            f"{flag}  {','.join(item['scopes'])}  {item['purpose']}"
        )


@partner.command("approve")
@click.argument("application_id")
@click.option("--scopes", default=None, help="Grant only these scopes [default: as applied].")
@click.option("--types", default=None, help="Grant only these licence types [default: as applied].")
@click.option("--issuers", default=None, help="Grant only these issuers [default: as applied].")
@click.option("--reason", default="", help="Note recorded with the approval.")
@_BY
@_DATA_DIR
def approve(
    *,
    application_id: str,
    scopes: str | None,
    types: str | None,
    issuers: str | None,
    reason: str,
    by: str | None,
    data_dir: Path | None,
) -> None:
    """Approve an application: the partner's grant becomes exactly what is approved."""
    with _open(data_dir) as ctx:
        row = ctx.applications.approve(
            application_id,
            by=_reviewer(by),
            scopes=scopes,
            licence_types=None if types is None else _codes(types),
            issuers=None if issuers is None else _codes(issuers),
            reason=reason,
        )
    _echo_json(application_json(row, int(time.time() * 1000)))


@partner.command("reject")
@click.argument("application_id")
@click.option("--reason", required=True, help="Why it is rejected (told to the partner).")
@_BY
@_DATA_DIR
def reject(application_id: str, reason: str, by: str | None, data_dir: Path | None) -> None:
    """Reject an application with a reason."""
    with _open(data_dir) as ctx:
        row = ctx.applications.reject(application_id, by=_reviewer(by), reason=reason)
    _echo_json(application_json(row, int(time.time() * 1000)))


@partner.command("consent")
@click.argument("licence_id")
@click.argument("partner_id")
@click.option(
    "--days", type=click.IntRange(1, 3650), default=None, help="Valid this long [default: open]."
)
@click.option("--revoke", is_flag=True, help="Withdraw the consent instead.")
@_DATA_DIR
def consent(
    licence_id: str, partner_id: str, days: int | None, revoke: bool, data_dir: Path | None
) -> None:
    """Record (or --revoke) a holder's consent to full disclosure of one
    licence to one partner (e.g. a signed paper consent)."""
    with _open(data_dir) as ctx:
        if revoke:
            revoked, _ = ctx.admin.revoke_consent(licence_id, partner_id, actor=_actor())
            _echo_json({"revoked": revoked})
            return
        now = int(time.time() * 1000)
        expires = None if days is None else now + days * 86_400_000
        row, _ = ctx.admin.grant_consent(
            licence_id, partner_id, actor=_actor(), expires_at_ms=expires, now_ms=now
        )
    _echo_json(
        {
            "licence_id": row.licence_id,
            "partner_id": row.partner_id,
            "granted_at": row.granted_at,
            "expires_at": row.expires_at,
        }
    )


@partner.command("disclosures")
@click.option("--licence", "licence_id", help="Only disclosures of this licence.")
@click.option("--partner", "partner_id", help="Only disclosures to this partner.")
@_DATA_DIR
def disclosures(licence_id: str | None, partner_id: str | None, data_dir: Path | None) -> None:
    """The record of full (unmasked) disclosures, oldest first, as JSON."""
    with _open(data_dir) as ctx:
        rows = ctx.disclosures.list(licence_id=licence_id, partner_id=partner_id)
    _echo_json(
        [
            {
                "seq": r.seq,
                "at": r.at,
                "partner_id": r.partner_id,
                "licence_id": r.licence_id,
                "fields": list(r.fields),
                "basis": r.basis,
                "request_id": r.request_id,
            }
            for r in rows
        ]
    )


@click.group()
def holder() -> None:
    """Holder credentials (持证人凭据): bound to one holder's licences."""


_MAX_HOLDER_ID: Final = 64


@holder.command("add")
@click.option(
    "--holder-id",
    prompt="Holder ID number",
    hide_input=True,
    help="The holder's ID number (prompted without echo if omitted; never printed or logged).",
)
@click.option(
    "--id-type",
    default="111",
    show_default=True,
    help="ID type code of the number (111 居民身份证, 001 统一社会信用代码).",
)
@click.option("--name", default="holder", show_default=True, help="A label for the credential.")
@_DATA_DIR
def holder_add(holder_id: str, id_type: str, name: str, data_dir: Path | None) -> None:
    """Issue a holder credential bound to one holder (scope ``holder``: QR
    codes and usage of that holder's licences only); prints its id and
    secret (shown only this once) and how many licences it covers."""
    holder_id = holder_id.strip()
    if not holder_id or len(holder_id) > _MAX_HOLDER_ID or not holder_id.isprintable():
        raise click.ClickException(f"--holder-id must be 1..{_MAX_HOLDER_ID} printable characters")
    with _open(data_dir) as ctx:
        key = ctx.keyring.holder_key(id_type, holder_id)
        new, _ = ctx.admin.add_holder(key, actor=_actor(), name=name)
        licences = ctx.partners.store.licences_by_holder(key)
    _echo_json({**new.to_json(), "licences": licences})


def register(group: click.Group) -> None:
    """Add ``sidian partner`` and ``sidian holder`` to the ``sidian`` group."""
    group.add_command(partner)
    group.add_command(holder)
