"""The store interface and its row types (see :mod:`pyservice.store`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple, Protocol

from pyservice.errors import SidianError
from pyservice.store.seals import (
    SealCertRow,
    SealEventRow,
    SealRow,
    SealVersionRow,
    SealWrite,
)

__all__ = [
    "AnnotationRow",
    "ApplicationDecision",
    "ApplicationRow",
    "ConsentRow",
    "DisclosureRow",
    "ImportProgress",
    "IssuerRow",
    "KeyRow",
    "LeafRow",
    "LedgerConflictError",
    "LicenceRow",
    "LicenceTypeRow",
    "NewLicence",
    "PartnerRow",
    "RegistryWrites",
    "SealCertRow",
    "SealEventRow",
    "SealRow",
    "SealVersionRow",
    "SealWrite",
    "StaleStatusError",
    "StatusChange",
    "StatusEventRow",
    "Store",
    "StoreError",
    "StoredSth",
    "UniqueViolationError",
    "UsageRow",
]


class StoreError(SidianError):
    """The store failed or holds data it should not (a missing subtree)."""

    code = "store_error"
    http_status = 503


class LedgerConflictError(StoreError):
    """Another writer appended first: the expected tree size is stale."""


class UniqueViolationError(StoreError):
    """An insert whose key (issuer code, kid, type code, licence id) exists."""

    code = "already_exists"
    http_status = 409


class StaleStatusError(StoreError):
    """A status change whose expected current status is no longer current."""

    code = "status_changed_concurrently"
    http_status = 409


@dataclass(frozen=True, slots=True)
class LeafRow:
    """One ledger entry: its index, leaf hash, canonical bytes, kind, time."""

    index: int
    leaf_hash: bytes
    entry: bytes
    kind: str
    at: int


@dataclass(frozen=True, slots=True)
class StoredSth:
    """A signed tree head as stored (signature: DER bytes)."""

    tree_size: int
    root: bytes
    timestamp: int
    kid: str
    signature: bytes


@dataclass(frozen=True, slots=True)
class IssuerRow:
    """An issuing authority (颁发机构): USCC or 6-digit area code, name, region."""

    code: str
    name: str
    region: str
    created_at: int


@dataclass(frozen=True, slots=True)
class KeyRow:
    """A signing key. ``owner`` is an issuer code or ``"platform"``;
    ``purpose`` ``licence``/``qr``/``ledger``; the private scalar is
    SM4-GCM-wrapped under the master key (``wrap_nonce``, the kid as
    associated data). Times are unix ms; ``valid_until`` None = open."""

    kid: str
    owner: str
    purpose: str
    public_key: bytes
    wrap_nonce: bytes
    wrapped_key: bytes
    valid_from: int
    valid_until: int | None
    status: str
    created_at: int


@dataclass(frozen=True, slots=True)
class LicenceTypeRow:
    """A licence type; ``face_schema`` is its JSON text, ``sensitive`` the
    classified field paths."""

    code: str
    name: str
    authority: str
    face_schema: str
    sensitive: tuple[str, ...]
    created_at: int


@dataclass(frozen=True, slots=True)
class NewLicence:
    """A licence to insert. ``body`` is the canonical body sealed by the
    registry (SM4-GCM; the store never sees classified fields in clear),
    ``holder_key`` the keyed hash of the holder's ID (lookups without the
    plaintext). ``entry_offset`` is the position of its
    ``licence.issued`` entry in the ledger batch written with it; the store
    turns it into ``ledger_index`` and assigns ``status_idx``."""

    id: str
    ref: bytes
    issuer_code: str
    type_code: str
    version: int
    body: bytes
    signature: bytes
    kid: str
    status: str
    status_at: int
    valid_until: str | None
    supersedes: str | None
    issued_at: int
    entry_offset: int
    holder_key: bytes


@dataclass(frozen=True, slots=True)
class LicenceRow:
    """A stored licence: canonical body bytes, signature, status and the
    indices (ledger entry, per-issuer status list position)."""

    id: str
    ref: bytes
    issuer_code: str
    type_code: str
    version: int
    body: bytes
    signature: bytes
    kid: str
    status: str
    status_reason: str | None
    status_at: int
    valid_until: str | None
    supersedes: str | None
    superseded_by: str | None
    ledger_index: int
    status_idx: int
    issued_at: int
    holder_key: bytes


@dataclass(frozen=True, slots=True)
class StatusChange:
    """A status change to apply only if the licence still has ``expected``
    (else :class:`StaleStatusError`); ``entry_offset`` as for NewLicence."""

    licence_id: str
    expected: str
    status: str
    reason: str
    actor: str
    at: int
    entry_offset: int
    superseded_by: str | None = None


@dataclass(frozen=True, slots=True)
class StatusEventRow:
    licence_id: str
    from_status: str
    to_status: str
    reason: str
    actor: str
    at: int
    ledger_index: int


@dataclass(frozen=True, slots=True)
class AnnotationRow:
    """A signed annotation (加注): ``body`` canonical bytes, signed by ``kid``."""

    licence_id: str
    seq: int
    body: bytes
    signature: bytes
    kid: str
    at: int
    ledger_index: int


@dataclass(frozen=True, slots=True)
class ImportProgress:
    """A bulk import job's committed position: input rows consumed, rows
    imported and rejected, and the reject file's length at that point."""

    job_id: str
    source: str
    rows_done: int
    imported: int
    rejected: int
    reject_bytes: int
    finished: bool


@dataclass(frozen=True, slots=True)
class RegistryWrites:
    """Registry rows committed in the same transaction as a ledger batch."""

    licences: Sequence[NewLicence] = ()
    status_changes: Sequence[StatusChange] = ()
    annotations: Sequence[AnnotationRow] = ()
    import_progress: ImportProgress | None = None
    seals: Sequence[SealWrite] = ()
    #: A batch of usage records, stored with its ``usage.batch`` entry.
    usage: Sequence[UsageRow] = ()


class UsageRow(NamedTuple):
    """One usage (audit) record (security.md §Audit): ``target`` is a keyed
    hash of the licence id (never the id itself), ``partner_id`` ``None``
    for a public call; ``batch_root`` the Merkle root its ``usage.batch``
    ledger entry carries, over the batch's records in ``batch_pos`` order.
    (A named tuple: a worker makes one per call it serves, on the thread
    that also holds the GIL the event loop needs, and a tuple is made about
    five times faster than a frozen dataclass.)"""

    record_id: str
    at: int
    partner_id: str | None
    endpoint: str
    target: bytes | None
    result: str
    latency_us: int
    request_id: str
    client: str | None
    full_disclosure: bool
    batch_root: bytes
    batch_pos: int = 0
    #: What the partner declared the call was for (``X-Sidian-Purpose``).
    purpose: str | None = None


@dataclass(frozen=True, slots=True)
class PartnerRow:
    """A partner (接入的业务信息系统). The HMAC secret is stored only
    SM4-GCM-wrapped (``wrap_nonce``, the partner id as associated data).
    ``licence_types``/``issuers`` empty = any. Times are unix ms."""

    id: str
    name: str
    contact: str
    status: str
    wrap_nonce: bytes
    wrapped_secret: bytes
    scopes: tuple[str, ...]
    licence_types: tuple[str, ...]
    issuers: tuple[str, ...]
    rate_per_s: float
    single_use_tokens: bool
    created_at: int
    secret_rotated_at: int
    #: A holder credential's binding: the keyed hash of its holder's ID
    #: (as ``LicenceRow.holder_key``); ``None`` for an ordinary partner.
    holder_key: bytes | None = None


@dataclass(frozen=True, slots=True)
class ApplicationRow:
    """An access application (用证申请): what a partner asked for and why,
    its review deadline, and the decision (``granted_*``: what was
    approved; empty unless approved). Times are unix ms."""

    id: str
    partner_id: str
    purpose: str
    scopes: tuple[str, ...]
    licence_types: tuple[str, ...]
    issuers: tuple[str, ...]
    status: str
    submitted_at: int
    due_at: int
    decided_at: int | None = None
    decided_by: str | None = None
    reason: str | None = None
    granted_scopes: tuple[str, ...] = ()
    granted_types: tuple[str, ...] = ()
    granted_issuers: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ApplicationDecision:
    """Decide a pending application: ``approved`` (the partner's grant
    becomes exactly ``scopes``/``licence_types``/``issuers``, in the same
    transaction) or ``rejected`` (with ``reason``)."""

    application_id: str
    status: str
    decided_at: int
    decided_by: str
    reason: str
    scopes: tuple[str, ...] = ()
    licence_types: tuple[str, ...] = ()
    issuers: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ConsentRow:
    """A holder's explicit consent that one partner may see the full
    classified fields of one licence, until ``expires_at`` (None: until
    revoked). Times are unix ms."""

    licence_id: str
    partner_id: str
    granted_at: int
    expires_at: int | None


@dataclass(frozen=True, slots=True)
class DisclosureRow:
    """One disclosure of unmasked classified fields to a partner (audited).
    ``basis`` is ``qr_consent`` or ``grant``; ``seq`` is assigned by the store."""

    at: int
    partner_id: str
    licence_id: str
    fields: tuple[str, ...]
    basis: str
    request_id: str
    seq: int = 0


class Store(Protocol):
    """What the service needs from the registry store."""

    def close(self) -> None: ...

    def schema_version(self) -> int:
        """The number of the last applied migration."""
        ...

    # ---- ledger ----------------------------------------------------------

    def ledger_head(self) -> StoredSth | None:
        """The latest signed tree head (the committed tree size), or None."""
        ...

    def ledger_sth(self, tree_size: int) -> StoredSth | None: ...

    def ledger_sths(self, after: int, limit: int) -> list[StoredSth]:
        """STHs with ``tree_size > after``, ascending, at most ``limit``."""
        ...

    def ledger_append(
        self,
        expected_size: int,
        leaves: Sequence[LeafRow],
        subtrees: Sequence[tuple[int, int, bytes]],
        sth: StoredSth,
        registry: RegistryWrites | None = None,
    ) -> None:
        """Atomically insert ``leaves``, the complete-subtree rows of level
        >= 1 and the STH, in one transaction that holds the single writer
        lock; raise :class:`LedgerConflictError` (changing nothing) unless
        the committed size is ``expected_size``. ``registry`` rows (whose
        ``entry_offset``/``ledger_index`` count from ``expected_size``) commit
        in the same transaction, or nothing does."""
        ...

    def ledger_subtree_hashes(self, nodes: Sequence[tuple[int, int]]) -> list[bytes]:
        """Hashes of complete subtrees ``(level, k)``; level 0 is the leaf hash."""
        ...

    def ledger_subtree_range(
        self, level: int, k_first: int, k_last: int
    ) -> list[tuple[int, bytes]]:
        """Stored ``(k, hash)`` of ``level >= 1`` with ``k_first <= k <= k_last``."""
        ...

    def ledger_leaf_index(self, leaf_hash: bytes) -> int | None:
        """The smallest index whose leaf hash is ``leaf_hash``."""
        ...

    def ledger_leaves(self, start: int, end: int) -> list[LeafRow]:
        """Stored leaves with ``start <= index < end``, ascending."""
        ...

    # ---- registry: issuers, keys, licence types --------------------------

    def issuer_add(self, row: IssuerRow) -> None:
        """Insert; :class:`UniqueViolationError` if the code exists."""
        ...

    def issuer_get(self, code: str) -> IssuerRow | None: ...

    def issuers(self) -> list[IssuerRow]: ...

    def key_add(self, row: KeyRow) -> None:
        """Insert; :class:`UniqueViolationError` if the kid exists."""
        ...

    def key_get(self, kid: str) -> KeyRow | None: ...

    def key_rows(self, owner: str | None = None, purpose: str | None = None) -> list[KeyRow]:
        """Keys (optionally of one owner and/or purpose), oldest first."""
        ...

    def key_rotate(self, new: KeyRow, retire_at: int) -> list[str]:
        """In one transaction: retire the owner's active keys of the same
        purpose (status ``retired``, ``valid_until = retire_at``) and insert
        ``new``; the retired kids."""
        ...

    def key_set_status(self, kid: str, status: str, valid_until: int | None) -> None: ...

    def licence_type_add(self, row: LicenceTypeRow) -> None:
        """Insert; :class:`UniqueViolationError` if the code exists."""
        ...

    def licence_type_get(self, code: str) -> LicenceTypeRow | None: ...

    def licence_types(self) -> list[LicenceTypeRow]: ...

    # ---- registry: licences ------------------------------------------------

    def licence_get(self, licence_id: str) -> LicenceRow | None: ...

    def licence_by_ref(self, ref: bytes) -> LicenceRow | None:
        """The licence whose ``ref`` (SM3 of the id, first 16 bytes) matches."""
        ...

    def licences_by_holder(self, holder_key: bytes, limit: int = 1000) -> list[str]:
        """Ids of the licences whose holder has this keyed hash."""
        ...

    def licences_existing(self, ids: Sequence[str]) -> set[str]:
        """Those of ``ids`` already stored."""
        ...

    def licences_page(self, after: str, limit: int, issuer_code: str | None = None) -> list[str]:
        """Licence ids greater than ``after``, ascending, at most ``limit``."""
        ...

    def status_events(self, licence_id: str) -> list[StatusEventRow]: ...

    def status_events_after(self, ledger_index: int, limit: int) -> list[StatusEventRow]:
        """Status changes of every licence with ``ledger_index`` greater than
        the cursor, in ledger order: how a cache follows changes made by
        other processes (the CLI, another service instance)."""
        ...

    def annotations(self, licence_id: str) -> list[AnnotationRow]: ...

    def status_list(self, issuer_code: str) -> list[tuple[int, str]]:
        """``(status_idx, stored status)`` of an issuer's licences."""
        ...

    def import_progress(self, job_id: str) -> ImportProgress | None: ...

    def usage_append(self, rows: Sequence[UsageRow]) -> None:
        """Append usage records in one transaction (the table is append-only)."""
        ...

    def usage_records(self, after_at: int, limit: int) -> list[UsageRow]:
        """Usage records with ``at >= after_at``, oldest first."""
        ...

    def usage_query(
        self,
        *,
        limit: int,
        partner_id: str | None = None,
        target: bytes | None = None,
        since: int | None = None,
        until: int | None = None,
        result: str | None = None,
        endpoint: str | None = None,
        before: tuple[int, str] | None = None,
        exclude_partner_prefix: str | None = None,
    ) -> list[UsageRow]:
        """Usage records matching every given filter (``since <= at <
        until``, unix ms; ``target`` the keyed hash of a licence or seal;
        none by a partner whose id starts with ``exclude_partner_prefix``),
        newest first (by ``at``, then ``record_id``), strictly before the
        keyset cursor ``before = (at, record_id)``, at most ``limit``."""
        ...

    def usage_batch(self, root: bytes, limit: int) -> list[UsageRow]:
        """The records stored with this batch root, by ``batch_pos`` (then
        ``record_id``), at most ``limit``."""
        ...

    def usage_batch_roots(self, after: bytes, limit: int) -> list[tuple[bytes, int]]:
        """``(batch_root, record count)`` of the stored batches with a root
        greater than ``after``, by root, at most ``limit``."""
        ...

    def import_progress_save(self, job: ImportProgress) -> None:
        """Record a job's position outside a ledger batch (a batch of rejects only)."""
        ...

    def registry_counts(self) -> dict[str, object]:
        """Counts for ``sidian stats``: licences by status, issuers, types,
        keys, ledger size."""
        ...

    # ---- partners, access applications, consent, disclosures ----------------

    def partner_add(self, row: PartnerRow) -> None:
        """Insert; :class:`UniqueViolationError` if the id exists."""
        ...

    def partner_get(self, partner_id: str) -> PartnerRow | None: ...

    def partners(self) -> list[PartnerRow]:
        """Every partner, by id."""
        ...

    def partner_set_status(self, partner_id: str, status: str) -> bool:
        """``False`` if there is no such partner."""
        ...

    def partner_set_secret(
        self, partner_id: str, wrap_nonce: bytes, wrapped_secret: bytes, rotated_at: int
    ) -> bool:
        """Replace the wrapped secret; ``False`` if there is no such partner."""
        ...

    def application_add(self, row: ApplicationRow) -> None:
        """Insert; :class:`UniqueViolationError` if the id exists."""
        ...

    def application_get(self, application_id: str) -> ApplicationRow | None: ...

    def applications(
        self, status: str | None = None, partner_id: str | None = None, limit: int = 1000
    ) -> list[ApplicationRow]:
        """Applications (optionally of one status and/or partner), oldest first."""
        ...

    def application_decide(self, decision: ApplicationDecision) -> bool:
        """In one transaction: record the decision if the application is
        still ``pending`` and, when approved, set the partner's grant to
        exactly what was approved. ``False`` (nothing changed) if it was
        not pending."""
        ...

    def consent_put(self, row: ConsentRow) -> None:
        """Record (or replace) a holder's consent for one partner."""
        ...

    def consent_get(self, licence_id: str, partner_id: str) -> ConsentRow | None: ...

    def consent_delete(self, licence_id: str, partner_id: str) -> bool: ...

    def disclosure_add(self, row: DisclosureRow) -> int:
        """Append a disclosure record; its sequence number."""
        ...

    def disclosures(
        self, licence_id: str | None = None, partner_id: str | None = None, limit: int = 1000
    ) -> list[DisclosureRow]:
        """Disclosure records, oldest first."""
        ...

    # ---- seals (migration 6) -------------------------------------------------

    def seal_get(self, es_id: str) -> SealRow | None: ...

    def seals(
        self, org_code: str | None = None, status: str | None = None, limit: int = 1000
    ) -> list[SealRow]:
        """Seals (optionally of one organisation and/or status), by esID."""
        ...

    def seal_versions(self, es_id: str) -> list[SealVersionRow]:
        """The made versions of a seal, oldest first."""
        ...

    def seal_events(self, es_id: str) -> list[SealEventRow]:
        """A seal's lifecycle steps in ledger order."""
        ...

    def seal_cert_add(self, row: SealCertRow) -> None:
        """Insert; :class:`UniqueViolationError` if the kid has one."""
        ...

    def seal_cert_get(self, kid: str) -> SealCertRow | None: ...
