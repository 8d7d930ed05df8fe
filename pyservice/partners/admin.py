"""Administrative actions on partners and holder consents, each one a
ledger entry (security.md §Audit: traceable, usable as evidence).

The CLI (``sidian partner …``, ``sidian holder add``) and the admin HTTP
endpoints share this code. Every change to an existing partner or consent
first checks that its subject exists, then commits its ledger entry, then
changes the store: an action that happened always has its entry (an entry
whose store write then failed names an attempted action; the error says so
to the caller). An addition is entered right after its row is written (the
id is made there); if that entry fails, the new credentials are not shown.

Entries (:mod:`pyservice.ledger.entries`); ``actor`` is ``cli:<user>`` or
``partner:<id>`` of the admin partner:

- ``partner.added`` (id, kind ``partner``/``holder``, scopes, actor);
- ``partner.status`` (id, status ``active``/``suspended``, actor);
- ``partner.secret_rotated`` (id, actor);
- ``consent.granted`` (target, partner, expires_at, actor) and
  ``consent.revoked`` (target, partner, actor) — the licence named by its
  keyed usage hash (:meth:`KeyRing.usage_target`), never its id, as the
  ledger is public.

Full disclosures need no entry of their own: each is the usage record
(``full: true``) of the call that disclosed, committed to the ledger in its
``usage.batch`` (:mod:`pyservice.usage`), with the request id the
``partner_disclosures`` row carries.

Methods are synchronous (store I/O and :meth:`Ledger.commit`): the service
runs them on the ledger's writer thread (``Ledger.run_in_writer``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pyservice.ledger.entries import make_entry
from pyservice.ledger.service import Ledger
from pyservice.partners.disclosure import Disclosures
from pyservice.partners.registry import (
    NewPartner,
    Partner,
    PartnerRegistry,
    UnknownPartnerError,
)
from pyservice.store import ConsentRow

__all__ = ["PartnerAdmin"]


class PartnerAdmin:
    """Partner and consent administration over the registry, the consent
    table and the ledger."""

    def __init__(
        self,
        partners: PartnerRegistry,
        disclosures: Disclosures,
        ledger: Ledger,
        target_of: Callable[[str], bytes],
    ) -> None:
        self.partners = partners
        self.disclosures = disclosures
        self._ledger = ledger
        self._target_of = target_of

    def _log(self, fields: dict[str, Any]) -> int:
        (index,) = self._ledger.commit([make_entry(fields)])
        return index

    # ---- partners ----------------------------------------------------------------

    def add(self, name: str, *, actor: str, **options: Any) -> tuple[NewPartner, int]:
        """:meth:`PartnerRegistry.add`, recorded; the credentials and the entry index."""
        new = self.partners.add(name, **options)
        partner = self.partners.get(new.id)
        return new, self._added(partner, actor)

    def add_holder(
        self, holder_key: bytes, *, actor: str, name: str = "holder"
    ) -> tuple[NewPartner, int]:
        """:meth:`PartnerRegistry.add_holder`, recorded (the holder's keyed
        hash is not put on the ledger)."""
        new = self.partners.add_holder(holder_key, name=name)
        return new, self._added(self.partners.get(new.id), actor)

    def _added(self, partner: Partner, actor: str) -> int:
        return self._log(
            {
                "kind": "partner.added",
                "id": partner.id,
                "partner_kind": partner.kind,
                "scopes": sorted(partner.grant.scopes),
                "actor": actor,
            }
        )

    def _set_status(self, partner_id: str, status: str, actor: str) -> tuple[Partner, int]:
        self.partners.get(partner_id)  # unknown_partner (404) before any entry
        index = self._log(
            {"kind": "partner.status", "id": partner_id, "status": status, "actor": actor}
        )
        if status == "suspended":
            return self.partners.suspend(partner_id), index
        return self.partners.resume(partner_id), index

    def suspend(self, partner_id: str, *, actor: str) -> tuple[Partner, int]:
        """Suspend (its requests get 401 ``partner_suspended``); the entry index."""
        return self._set_status(partner_id, "suspended", actor)

    def resume(self, partner_id: str, *, actor: str) -> tuple[Partner, int]:
        return self._set_status(partner_id, "active", actor)

    def rotate_secret(self, partner_id: str, *, actor: str) -> tuple[NewPartner, int]:
        """A new secret (shown once); the old one stops working."""
        self.partners.get(partner_id)
        index = self._log({"kind": "partner.secret_rotated", "id": partner_id, "actor": actor})
        return self.partners.rotate_secret(partner_id), index

    # ---- consents ----------------------------------------------------------------

    def grant_consent(
        self,
        licence_id: str,
        partner_id: str,
        *,
        actor: str,
        expires_at_ms: int | None = None,
        now_ms: int | None = None,
    ) -> tuple[ConsentRow, int]:
        """Record a holder's consent to full disclosure to one partner (a
        holder credential is no partner: :class:`UnknownPartnerError`)."""
        if self.partners.get(partner_id).holder_key is not None:
            raise UnknownPartnerError(f"no partner {partner_id}")
        self.disclosures.check_consent(licence_id, expires_at_ms, now_ms)
        index = self._log(
            {
                "kind": "consent.granted",
                "target": self._target_of(licence_id).hex(),
                "partner": partner_id,
                "expires_at": expires_at_ms,
                "actor": actor,
            }
        )
        row = self.disclosures.grant_consent(
            licence_id, partner_id, expires_at_ms=expires_at_ms, now_ms=now_ms
        )
        return row, index

    def revoke_consent(
        self, licence_id: str, partner_id: str, *, actor: str
    ) -> tuple[bool, int | None]:
        """Withdraw a consent; whether there was one, and the entry index
        (``None``: nothing to withdraw, no entry)."""
        self.partners.get(partner_id)
        if self.disclosures.store.consent_get(licence_id, partner_id) is None:
            return False, None
        index = self._log(
            {
                "kind": "consent.revoked",
                "target": self._target_of(licence_id).hex(),
                "partner": partner_id,
                "actor": actor,
            }
        )
        return self.disclosures.revoke_consent(licence_id, partner_id), index
