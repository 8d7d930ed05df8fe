"""Row types of the seal registry (印章申请、审核、制作、备案、变更、续期、注销):
seals, their made versions, their events and the certificates stored
alongside the platform's and organisations' seal keys (migration 6)."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "SealCertRow",
    "SealEventRow",
    "SealRow",
    "SealVersionRow",
    "SealWrite",
]


@dataclass(frozen=True, slots=True)
class SealRow:
    """A seal and where it is in its lifecycle.

    ``es_id`` is the seal's identifier (GB/T 38540 esID), assigned when it
    is applied for; ``org_code`` the organisation's USCC; ``seal_type`` the
    GB/T 38540 type number; ``signer_kid`` the organisation's seal-signer
    key (its certificate is ``signer_cert``). Validity is in epoch seconds;
    ``version`` counts made versions (0 until made); ``seal_der`` is the
    current V4 ``SES_Seal`` (None until made). ``ledger_index`` is the
    entry of the latest change; times are unix ms."""

    es_id: str
    org_code: str
    org_name: str
    name: str
    seal_type: int
    picture_type: str
    picture: bytes
    width: int
    height: int
    signer_kid: str | None
    signer_cert: bytes | None
    valid_start: int
    valid_end: int
    status: str
    status_reason: str | None
    status_at: int
    version: int
    seal_der: bytes | None
    applicant: str
    created_at: int
    ledger_index: int


@dataclass(frozen=True, slots=True)
class SealVersionRow:
    """One made ``SES_Seal`` of a seal (made, changed or renewed): earlier
    versions stay, so what was signed with them still verifies."""

    es_id: str
    version: int
    seal_der: bytes
    seal_sm3: bytes
    valid_start: int
    valid_end: int
    made_at: int
    ledger_index: int


@dataclass(frozen=True, slots=True)
class SealEventRow:
    """One lifecycle step (``action``: apply, approve, reject, make, file,
    change, renew, cancel) and the status it moved the seal between."""

    es_id: str
    ledger_index: int
    action: str
    from_status: str | None
    to_status: str
    reason: str
    actor: str
    at: int


@dataclass(frozen=True, slots=True)
class SealWrite:
    """A seal's new row, committed with its ledger entry (at
    ``entry_offset`` in the batch, as for licences): inserted when
    ``expected`` is None, else applied only if the stored row still has
    status ``expected`` and version ``expected_version``
    (:class:`~pyservice.store.StaleStatusError` otherwise). ``version``
    is a newly made ``SES_Seal`` to add."""

    seal: SealRow
    expected: str | None
    expected_version: int
    event: SealEventRow
    entry_offset: int
    version: SealVersionRow | None = None


@dataclass(frozen=True, slots=True)
class SealCertRow:
    """A certificate kept with a key of the key ring (``kid``): the
    platform's seal CA and seal maker, an organisation's seal signer."""

    kid: str
    owner: str
    purpose: str
    der: bytes
    created_at: int
