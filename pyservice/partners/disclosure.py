"""Full disclosure of classified fields (security.md §Sensitive data).

Responses mask classified fields by default. A partner sees the full values
only if it holds ``licence:read-full`` **and** the holder consented — by the
consent flag of the QR token it presented (formats.md, flag bit 0) or by an
explicit consent recorded for this licence and this partner (the
``partner_consents`` table; optionally until an expiry) — and every such
disclosure is written to ``partner_disclosures`` (who, which licence, which
fields, on what basis, which request).

For the verification handlers::

    body, basis = await loop.run_in_executor(None, functools.partial(
        disclosures.present, caller, licence_id, body, licence_type.sensitive,
        qr_consent=token.consent, request_id=request[REQUEST_ID]))

:func:`disclosure_basis` is the pure rule; :class:`Disclosures` adds the
consent table and the record (store I/O: run it off the event loop).
"""

from __future__ import annotations

import builtins
import time
from collections.abc import Iterable, Mapping
from typing import Any, Final

from pyservice.errors import MalformedInputError
from pyservice.masking import mask_body
from pyservice.partners.policy import Caller
from pyservice.store import ConsentRow, DisclosureRow, Store

__all__ = [
    "BASES",
    "READ_FULL",
    "Disclosures",
    "disclosed_fields",
    "disclosure_basis",
    "record_disclosure",
]

READ_FULL: Final = "licence:read-full"
#: Why a disclosure was allowed: the QR token's consent flag, or a recorded consent.
BASES: Final = ("qr_consent", "grant")


def _now_ms() -> int:
    return int(time.time() * 1000)


def disclosure_basis(
    caller: Caller | None, *, qr_consent: bool, consent_granted: bool
) -> str | None:
    """The basis for showing full values to ``caller``, or None (mask)."""
    if caller is None or not caller.grant.may(READ_FULL):
        return None
    if qr_consent:
        return "qr_consent"
    if consent_granted:
        return "grant"
    return None


def disclosed_fields(full: Mapping[str, Any], masked: Mapping[str, Any]) -> tuple[str, ...]:
    """The classified paths whose full value differs from the masked one."""
    paths: list[str] = []
    for part in ("holder", "face"):
        a, b = full.get(part), masked.get(part)
        if isinstance(a, dict) and isinstance(b, dict):
            paths.extend(f"{part}.{k}" for k in sorted(a) if a[k] != b.get(k))
    if full.get("number") != masked.get("number"):
        paths.append("number")
    return tuple(paths)


def record_disclosure(
    store: Store,
    *,
    partner_id: str,
    licence_id: str,
    fields: Iterable[str],
    basis: str,
    request_id: str,
    at_ms: int | None = None,
) -> int:
    """Append a disclosure record; its sequence number."""
    if basis not in BASES:
        raise ValueError(f"unknown disclosure basis {basis!r}")
    return store.disclosure_add(
        DisclosureRow(
            at=_now_ms() if at_ms is None else at_ms,
            partner_id=partner_id,
            licence_id=licence_id,
            fields=tuple(fields),
            basis=basis,
            request_id=request_id,
        )
    )


class Disclosures:
    """Holder consents and disclosure records over a store."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def grant_consent(
        self,
        licence_id: str,
        partner_id: str,
        *,
        expires_at_ms: int | None = None,
        now_ms: int | None = None,
    ) -> ConsentRow:
        """Record the holder's consent to full disclosure to one partner."""
        now = _now_ms() if now_ms is None else now_ms
        self.check_consent(licence_id, expires_at_ms, now)
        row = ConsentRow(licence_id, partner_id, now, expires_at_ms)
        self.store.consent_put(row)
        return row

    @staticmethod
    def check_consent(licence_id: str, expires_at_ms: int | None, now_ms: int | None) -> None:
        """What :meth:`grant_consent` refuses (400), checked without writing."""
        now = _now_ms() if now_ms is None else now_ms
        if expires_at_ms is not None and expires_at_ms <= now:
            raise MalformedInputError("a consent must expire in the future")
        if not licence_id or len(licence_id) > 200:
            raise MalformedInputError("malformed licence id")

    def revoke_consent(self, licence_id: str, partner_id: str) -> bool:
        return self.store.consent_delete(licence_id, partner_id)

    def has_consent(self, licence_id: str, partner_id: str, now_ms: int | None = None) -> bool:
        row = self.store.consent_get(licence_id, partner_id)
        now = _now_ms() if now_ms is None else now_ms
        return row is not None and (row.expires_at is None or now < row.expires_at)

    def basis(
        self,
        caller: Caller | None,
        licence_id: str,
        *,
        qr_consent: bool,
        now_ms: int | None = None,
    ) -> str | None:
        """:func:`disclosure_basis`, reading the consent table only when it matters."""
        if caller is None or not caller.grant.may(READ_FULL):
            return None
        granted = not qr_consent and self.has_consent(licence_id, caller.partner_id, now_ms)
        return disclosure_basis(caller, qr_consent=qr_consent, consent_granted=granted)

    def present(
        self,
        caller: Caller | None,
        licence_id: str,
        body: Mapping[str, Any],
        sensitive: Iterable[str],
        *,
        qr_consent: bool,
        request_id: str,
        now_ms: int | None = None,
    ) -> tuple[dict[str, Any], str | None]:
        """The body as ``caller`` may see it, and the disclosure basis (None:
        masked). A full disclosure is recorded before it is returned, so no
        unrecorded disclosure can leave the service."""
        masked = mask_body(body, sensitive)
        basis = self.basis(caller, licence_id, qr_consent=qr_consent, now_ms=now_ms)
        if basis is None or caller is None:
            return masked, None
        fields = disclosed_fields(body, masked)
        if not fields:
            return masked, None  # nothing classified to disclose
        record_disclosure(
            self.store,
            partner_id=caller.partner_id,
            licence_id=licence_id,
            fields=fields,
            basis=basis,
            request_id=request_id,
            at_ms=now_ms,
        )
        return dict(body), basis

    def list(
        self, *, licence_id: str | None = None, partner_id: str | None = None, limit: int = 1000
    ) -> builtins.list[DisclosureRow]:
        return self.store.disclosures(licence_id, partner_id, limit)
