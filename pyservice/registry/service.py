"""Issuance and lifecycle (制证、发证、加注、状态变更) over the store, the key
ring and the ledger.

Write path: every change is one store transaction that also holds its
ledger entries and the new signed tree head (``Ledger.commit`` with
:class:`~pyservice.store.RegistryWrites`), so a licence, a status change or
an annotation exists exactly when its ledger entry does. The order the
service's cache layer relies on is: store+ledger (committed together) →
``on_status_change`` hook (cache update / invalidation).

:class:`Registry` is synchronous: call it where ``Ledger.commit`` may run
(the CLI, or the ledger's writer thread). :class:`AsyncRegistry` is the
face for aiohttp: writes on the writer thread, reads on worker threads.

Statuses (formats.md): ``VALID ⇄ SUSPENDED``, ``VALID|SUSPENDED →
REVOKED|CANCELLED``; ``EXPIRED`` is derived from ``valid_until``, never
stored. A re-issue after correction (version + 1) cancels the old version
with the reason ``superseded by <new id>``.
"""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import datetime as dt
import json
import logging
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from pyservice.canonical import canonical_json
from pyservice.crypto import PrivateKey, sm3
from pyservice.errors import MalformedInputError
from pyservice.ledger.entries import Entry, make_entry
from pyservice.ledger.service import Ledger, inclusion_proof
from pyservice.ledger.sth import sth_to_json
from pyservice.merkle import leaf_hash
from pyservice.qr import licence_ref
from pyservice.registry.errors import (
    ConflictError,
    DuplicateLicenceError,
    IllegalStatusTransitionError,
    InvalidLicenceBodyError,
    UnknownIssuerError,
    UnknownLicenceError,
    UnknownLicenceTypeError,
    ValidationError,
)
from pyservice.registry.keys import KeyRing
from pyservice.registry.validate import (
    LicenceType,
    make_licence_id,
    parse_date,
    parse_licence_id,
    parse_licence_type,
    validate_issuer_code,
    validate_licence_body,
)
from pyservice.store import (
    AnnotationRow,
    ImportProgress,
    IssuerRow,
    KeyRow,
    LicenceRow,
    LicenceTypeRow,
    NewLicence,
    RegistryWrites,
    StaleStatusError,
    StatusChange,
    StatusEventRow,
    Store,
    UniqueViolationError,
)

__all__ = [
    "CHINA_TZ",
    "STORED_STATUSES",
    "TRANSITIONS",
    "AsyncRegistry",
    "PreparedLicence",
    "Registry",
    "StatusChanged",
    "StatusHook",
    "StatusView",
    "canonical_validated",
    "effective_status",
    "licence_ref",
    "today_in_china",
]

log = logging.getLogger(__name__)

#: Licence dates are Chinese calendar dates (UTC+8, no daylight saving).
CHINA_TZ: Final = dt.timezone(dt.timedelta(hours=8), "CST")
STORED_STATUSES: Final = ("VALID", "SUSPENDED", "REVOKED", "CANCELLED")
#: Allowed (from, to) status changes.
TRANSITIONS: Final = frozenset(
    {
        ("VALID", "SUSPENDED"),
        ("SUSPENDED", "VALID"),
        ("VALID", "REVOKED"),
        ("SUSPENDED", "REVOKED"),
        ("VALID", "CANCELLED"),
        ("SUSPENDED", "CANCELLED"),
    }
)
MAX_REASON_LEN: Final = 512
#: How long an issuer's signing key is reused before it is looked up again.
SIGNER_CACHE_SECONDS: Final = 5.0


# The C JSON encoder with JCS's separators and shortest escapes (the same
# encode_basestring that pyservice.canonical uses).
_encode = json.JSONEncoder(
    ensure_ascii=False, separators=(",", ":"), sort_keys=True, allow_nan=False
).encode


def canonical_validated(value: Mapping[str, Any]) -> bytes:
    """RFC 8785 bytes of an object already validated to hold only strings,
    small integers, null, booleans and objects/arrays with ASCII keys (a
    validated licence body, a ledger entry): for ASCII keys code-point order
    is UTF-16 order, so the C encoder's output equals
    :func:`~pyservice.canonical.canonical_json` (a test checks that), at a
    fraction of the cost. Lone surrogates raise ``MalformedInputError``."""
    try:
        return _encode(value).encode("utf-8")
    except UnicodeEncodeError as exc:
        raise MalformedInputError("string contains a lone surrogate") from exc


def _now_ms() -> int:
    return int(time.time() * 1000)


def today_in_china(now_ms: int | None = None) -> dt.date:
    moment = (_now_ms() if now_ms is None else now_ms) / 1000
    return dt.datetime.fromtimestamp(moment, CHINA_TZ).date()


def effective_status(stored: str, valid_until: str | None, today: dt.date) -> str:
    """The stored status, or ``EXPIRED`` once ``today`` is after
    ``valid_until`` (a revoked or cancelled licence stays so)."""
    expired = valid_until is not None and today > dt.date.fromisoformat(valid_until)
    return "EXPIRED" if expired and stored in ("VALID", "SUSPENDED") else stored


@dataclass(frozen=True, slots=True)
class StatusView:
    """A licence's status as read from the store at ``as_of`` (unix ms)."""

    licence_id: str
    status: str
    stored_status: str
    reason: str | None
    since: int
    as_of: int
    valid_until: str | None
    issuer_code: str
    status_idx: int


@dataclass(frozen=True, slots=True)
class StatusChanged:
    """What the ``on_status_change`` hook receives after a committed change."""

    licence_id: str
    ref: bytes
    issuer_code: str
    status_idx: int
    from_status: str
    to_status: str
    reason: str
    actor: str
    at: int
    ledger_index: int


StatusHook = Callable[[StatusChanged], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class PreparedLicence:
    """A validated, canonicalised and signed licence with its ``licence.issued``
    ledger entry (formats.md §Ledger: id, version, SM3 of the canonical body,
    issuer kid; ``at`` = when it was signed), ready to store. Everything is
    computed where it is prepared (a bulk import's worker processes)."""

    id: str
    ref: bytes
    sealed: bytes
    holder_key: bytes
    signature: bytes
    kid: str
    issuer_code: str
    type_code: str
    version: int
    valid_until: str | None
    supersedes: str | None
    at: int
    entry_data: bytes

    def entry(self) -> Entry:
        return Entry(self.entry_data, "licence.issued", self.at)

    def new_licence(self, offset: int) -> NewLicence:
        return NewLicence(
            id=self.id,
            ref=self.ref,
            issuer_code=self.issuer_code,
            type_code=self.type_code,
            version=self.version,
            body=self.sealed,
            signature=self.signature,
            kid=self.kid,
            status="VALID",
            status_at=self.at,
            valid_until=self.valid_until,
            supersedes=self.supersedes,
            issued_at=self.at,
            entry_offset=offset,
            holder_key=self.holder_key,
        )


def _text(value: Any, what: str, max_len: int = MAX_REASON_LEN) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > max_len:
        raise ValidationError(f"{what} must be a non-empty string of at most {max_len}")
    return value


class Registry:
    """The registry's synchronous core (see the module docstring)."""

    def __init__(self, store: Store, keyring: KeyRing, ledger: Ledger) -> None:
        self.store = store
        self.keyring = keyring
        self.ledger = ledger
        self._types: dict[str, LicenceType] = {}
        self._issuers: dict[str, IssuerRow] = {}
        self._signers: dict[str, tuple[float, KeyRow, PrivateKey]] = {}

    # ---- issuers, types, keys ----------------------------------------------

    def add_issuer(self, code: str, name: str, region: str) -> tuple[IssuerRow, KeyRow]:
        """Register an issuer (code per GB 32100 or a 6-digit area code) and
        give it an active licence-signing key."""
        validate_issuer_code(code)
        row = IssuerRow(
            code, _text(name, "issuer name", 256), _text(region, "region", 64), _now_ms()
        )
        self.store.issuer_add(row)
        key = self.keyring.create(code, "licence")
        return row, key

    def issuer(self, code: str) -> IssuerRow:
        # (Plain dict reads and writes are atomic: the caches need no lock.)
        row = self._issuers.get(code) or self.store.issuer_get(code)
        if row is None:
            raise UnknownIssuerError(f"issuer {code} is not registered")
        self._issuers[code] = row
        return row

    def add_type(
        self,
        code: str,
        name: str,
        authority: str,
        schema: Mapping[str, Any],
        sensitive: list[str] | tuple[str, ...] = (),
    ) -> LicenceType:
        parsed = parse_licence_type(code, name, authority, schema, sensitive)
        self.store.licence_type_add(
            LicenceTypeRow(
                code,
                name,
                authority,
                json.dumps(schema, ensure_ascii=False, sort_keys=True),
                tuple(sensitive),
                _now_ms(),
            )
        )
        return parsed

    def licence_type(self, code: str) -> LicenceType:
        parsed = self._types.get(code)
        if parsed is None:
            row = self.store.licence_type_get(code)
            if row is None:
                raise UnknownLicenceTypeError(f"licence type {code!r} is not defined")
            parsed = parse_licence_type(
                row.code, row.name, row.authority, json.loads(row.face_schema), row.sensitive
            )
            self._types[code] = parsed
        return parsed

    def rotate_key(self, owner: str, purpose: str = "licence") -> KeyRow:
        if owner == "platform" and purpose == "ledger":
            # Tree heads are audited against one ledger key (sidian ledger
            # verify) and a running service keeps the key it loaded.
            raise ConflictError("rotating the ledger key is not supported yet")
        if owner != "platform":
            self.issuer(owner)
        row = self.keyring.rotate(owner, purpose)
        self._signers.pop(owner, None)
        return row

    def _signer(self, issuer_code: str) -> tuple[KeyRow, PrivateKey]:
        """The issuer's active licence key, looked up at most every
        ``SIGNER_CACHE_SECONDS`` (a rotation elsewhere applies within that)."""
        now = time.monotonic()
        cached = self._signers.get(issuer_code)
        if cached is not None and now - cached[0] < SIGNER_CACHE_SECONDS:
            return cached[1], cached[2]
        key_row, key = self.keyring.signing_key(issuer_code, "licence")
        self._signers[issuer_code] = (now, key_row, key)
        return key_row, key

    # ---- issuance ------------------------------------------------------------

    def prepare(
        self,
        data: Mapping[str, Any],
        *,
        today: dt.date | None = None,
        supersedes: str | None = None,
        allow_legacy_id: bool = False,
    ) -> PreparedLicence:
        """Complete, validate, canonicalise and sign a licence body.

        ``data`` is a formats.md body; ``id`` may be absent when a
        ``serial`` is given (the id is generated with its check character
        from ``type_code``, ``issuer.code``, ``serial`` and ``version``,
        default 1); ``type_name`` and ``issuer.name`` default to the
        registered ones."""
        if not isinstance(data, Mapping):
            raise InvalidLicenceBodyError("licence body must be a JSON object")
        body = dict(data)
        serial = body.pop("serial", None)
        type_code = body.get("type_code")
        if not isinstance(type_code, str):
            raise InvalidLicenceBodyError("type_code must be a string")
        licence_type = self.licence_type(type_code)
        issuer_obj = body.get("issuer")
        if (
            not isinstance(issuer_obj, Mapping)
            or not isinstance(issuer_obj.get("code"), str)
            or not set(issuer_obj) <= {"name", "code"}
        ):
            raise InvalidLicenceBodyError("issuer must be an object {code[, name]}")
        issuer = self.issuer(issuer_obj["code"])
        body["issuer"] = {"name": issuer_obj.get("name", issuer.name), "code": issuer.code}
        body.setdefault("type_name", licence_type.name)
        body.setdefault("version", 1)
        if "id" not in body:
            if not isinstance(serial, str) or not isinstance(body["version"], int):
                raise InvalidLicenceBodyError("give either id, or serial (and version)")
            body["id"] = make_licence_id(type_code, issuer.code, serial, body["version"])
        elif serial is not None:
            raise InvalidLicenceBodyError("give either id or serial, not both")
        validate_licence_body(
            body,
            licence_type,
            today=today_in_china() if today is None else today,
            allow_legacy_id=allow_legacy_id,
        )
        canonical = canonical_validated(body)  # validated: known types, ASCII keys
        key_row, key = self._signer(issuer.code)
        at = _now_ms()
        entry = {
            "kind": "licence.issued",
            "at": at,
            "id": body["id"],
            "version": body["version"],
            "body_sm3": sm3(canonical).hex(),
            "kid": key_row.kid,
        }
        return PreparedLicence(
            id=body["id"],
            ref=licence_ref(body["id"]),
            sealed=self.keyring.seal_body(body["id"], canonical),
            holder_key=self.keyring.holder_key(body["holder"]["id_type"], body["holder"]["id"]),
            signature=key.sign(canonical),
            kid=key_row.kid,
            issuer_code=issuer.code,
            type_code=type_code,
            version=body["version"],
            valid_until=body["valid_until"],
            supersedes=supersedes,
            at=at,
            entry_data=canonical_validated(entry),
        )

    def commit_batch(
        self, prepared: Sequence[PreparedLicence], progress: ImportProgress | None = None
    ) -> None:
        """Store prepared licences and their ``licence.issued`` entries (and
        an import job's new position) in one transaction."""
        if not prepared:
            if progress is not None:
                self.store.import_progress_save(progress)
            return
        self.ledger.commit(
            [p.entry() for p in prepared],
            RegistryWrites(
                licences=[p.new_licence(i) for i, p in enumerate(prepared)],
                import_progress=progress,
            ),
        )

    def issue(self, data: Mapping[str, Any], *, today: dt.date | None = None) -> LicenceRow:
        """Issue one licence (validate, sign, ledger entry + store together)."""
        prepared = self.prepare(data, today=today)
        if self.store.licence_get(prepared.id) is not None:
            raise DuplicateLicenceError(f"licence {prepared.id} already exists")
        try:
            self.ledger.commit(
                [prepared.entry()], RegistryWrites(licences=[prepared.new_licence(0)])
            )
        except UniqueViolationError as exc:
            raise DuplicateLicenceError(f"licence {prepared.id} already exists") from exc
        return self.licence(prepared.id)

    def reissue(
        self, old_id: str, changes: Mapping[str, Any], *, actor: str, reason: str
    ) -> tuple[LicenceRow, StatusChanged]:
        """Re-issue after correction: the old body with ``changes`` applied,
        version + 1 (new id), ``supersedes`` the old one, which is cancelled."""
        old = self.licence(old_id)
        if old.status not in ("VALID", "SUSPENDED"):
            raise IllegalStatusTransitionError(f"licence {old_id} is {old.status}")
        forbidden = {"id", "version", "type_code", "issuer"} & set(changes)
        if forbidden:
            raise InvalidLicenceBodyError(f"a re-issue cannot change {sorted(forbidden)}")
        body = json.loads(old.body)
        body["issued_on"] = today_in_china().isoformat()
        body.update(changes)
        serial = parse_licence_id(old.id).serial
        body["version"] = old.version + 1
        body["id"] = make_licence_id(old.type_code, old.issuer_code, serial, old.version + 1)
        prepared = self.prepare(body, supersedes=old.id)
        at = prepared.at
        why = f"superseded by {prepared.id}: {_text(reason, 'reason')}"
        change = StatusChange(
            old.id, old.status, "CANCELLED", why, _text(actor, "actor", 256), at, 1, prepared.id
        )
        entries = [prepared.entry(), make_entry(self._status_entry(change))]
        try:
            indices = self.ledger.commit(
                entries,
                RegistryWrites(licences=[prepared.new_licence(0)], status_changes=[change]),
            )
        except UniqueViolationError as exc:
            raise DuplicateLicenceError(f"licence {prepared.id} already exists") from exc
        except StaleStatusError as exc:
            raise IllegalStatusTransitionError(str(exc)) from exc
        return self.licence(prepared.id), self._changed(old, change, indices[1])

    # ---- status ----------------------------------------------------------------

    @staticmethod
    def _status_entry(change: StatusChange) -> dict[str, Any]:
        return {
            "kind": "licence.status",
            "at": change.at,
            "id": change.licence_id,
            "from": change.expected,
            "to": change.status,
            "reason": change.reason,
            "actor": change.actor,
        }

    @staticmethod
    def _changed(old: LicenceRow, change: StatusChange, index: int) -> StatusChanged:
        return StatusChanged(
            licence_id=old.id,
            ref=old.ref,
            issuer_code=old.issuer_code,
            status_idx=old.status_idx,
            from_status=change.expected,
            to_status=change.status,
            reason=change.reason,
            actor=change.actor,
            at=change.at,
            ledger_index=index,
        )

    def set_status(self, licence_id: str, status: str, *, reason: str, actor: str) -> StatusChanged:
        """Change a licence's status (:class:`IllegalStatusTransitionError`,
        409, unless formats.md allows it); one status event and one
        ``licence.status`` ledger entry, committed together."""
        if status not in STORED_STATUSES:
            raise IllegalStatusTransitionError(
                f"status must be one of {STORED_STATUSES} (EXPIRED is derived)"
            )
        old = self._stored(licence_id)
        if (old.status, status) not in TRANSITIONS:
            raise IllegalStatusTransitionError(f"{old.status} → {status} is not allowed")
        change = StatusChange(
            licence_id,
            old.status,
            status,
            _text(reason, "reason"),
            _text(actor, "actor", 256),
            _now_ms(),
            0,
        )
        try:
            (index,) = self.ledger.commit(
                [make_entry(self._status_entry(change))],
                RegistryWrites(status_changes=[change]),
            )
        except StaleStatusError as exc:
            raise IllegalStatusTransitionError(str(exc)) from exc
        return self._changed(old, change, index)

    # ---- annotations (加注) ------------------------------------------------------

    def annotate(
        self,
        licence_id: str,
        *,
        annotator_code: str,
        content: str,
        reason: str,
        actor: str,
        valid_until: str | None = None,
    ) -> AnnotationRow:
        """A signed annotation (加注件): who (annotating authority and the
        acting person), when, why, what and until when. Signed by the
        annotating authority's active licence key."""
        licence = self._stored(licence_id)
        if licence.status in ("REVOKED", "CANCELLED"):
            raise IllegalStatusTransitionError(f"licence {licence_id} is {licence.status}")
        annotator = self.issuer(annotator_code)
        if valid_until is not None:
            parse_date(valid_until, "valid_until")
        at = _now_ms()
        seq = len(self.store.annotations(licence_id)) + 1
        body = {
            "licence_id": licence_id,
            "seq": seq,
            "annotator": {"name": annotator.name, "code": annotator.code},
            "actor": _text(actor, "actor", 256),
            "content": _text(content, "content", 4096),
            "reason": _text(reason, "reason"),
            "annotated_at": dt.datetime.fromtimestamp(at / 1000, CHINA_TZ).isoformat(
                timespec="seconds"
            ),
            "valid_until": valid_until,
        }
        canonical = canonical_json(body)
        key_row, key = self.keyring.signing_key(annotator.code, "licence")
        row = AnnotationRow(licence_id, seq, canonical, key.sign(canonical), key_row.kid, at, 0)
        entry = {
            "kind": "licence.annotated",
            "at": at,
            "id": licence_id,
            "seq": seq,
            "body_sm3": sm3(canonical).hex(),
            "kid": key_row.kid,
        }
        try:
            (index,) = self.ledger.commit([make_entry(entry)], RegistryWrites(annotations=[row]))
        except UniqueViolationError as exc:
            raise IllegalStatusTransitionError("concurrent annotation; retry") from exc
        return AnnotationRow(licence_id, seq, canonical, row.signature, row.kid, at, index)

    # ---- reads -------------------------------------------------------------------

    def licence(self, licence_id: str) -> LicenceRow:
        """The licence with its canonical body opened (the store keeps it sealed)."""
        row = self.store.licence_get(licence_id)
        if row is None:
            raise UnknownLicenceError(f"no licence {licence_id}")
        return self._opened(row)

    def licence_by_ref(self, ref: bytes) -> LicenceRow:
        """The licence a QR token's 16-byte reference names, body opened."""
        row = self.store.licence_by_ref(ref)
        if row is None:
            raise UnknownLicenceError("no licence has this reference")
        return self._opened(row)

    def licences_of_holder(self, id_type: str, holder_id: str) -> list[str]:
        """Ids of a holder's licences (looked up by keyed hash)."""
        return self.store.licences_by_holder(self.keyring.holder_key(id_type, holder_id))

    def _stored(self, licence_id: str) -> LicenceRow:
        """The stored row, body still sealed (status work needs no body)."""
        row = self.store.licence_get(licence_id)
        if row is None:
            raise UnknownLicenceError(f"no licence {licence_id}")
        return row

    def _opened(self, row: LicenceRow) -> LicenceRow:
        return dataclasses.replace(row, body=self.keyring.open_body(row.id, row.body))

    def status(self, licence_id: str) -> StatusView:
        as_of = _now_ms()
        return self.status_of(self._stored(licence_id), as_of)

    @staticmethod
    def status_of(row: LicenceRow, as_of: int) -> StatusView:
        return StatusView(
            licence_id=row.id,
            status=effective_status(row.status, row.valid_until, today_in_china(as_of)),
            stored_status=row.status,
            reason=row.status_reason,
            since=row.status_at,
            as_of=as_of,
            valid_until=row.valid_until,
            issuer_code=row.issuer_code,
            status_idx=row.status_idx,
        )

    def export(self, licence_id: str) -> dict[str, Any]:
        """The signed licence document (formats.md JSON form) with the
        inclusion proof of its ``licence.issued`` entry in the latest tree
        head. ``ledger.at`` (the entry's time) lets a verifier rebuild it."""
        row = self.licence(licence_id)
        (leaf,) = self.store.ledger_leaves(row.ledger_index, row.ledger_index + 1)
        proof = inclusion_proof(self.store, leaf_hash(leaf.entry))
        sth = proof.sth
        return {
            "licence": json.loads(row.body),
            "signature": {
                "alg": "SM2-SM3",
                "kid": row.kid,
                "value": base64.b64encode(row.signature).decode("ascii"),
            },
            "ledger": {
                "index": proof.index,
                "at": leaf.at,
                "tree_size": sth.tree_size,
                "root": sth.root.hex(),
                "proof": [h.hex() for h in proof.proof],
                "sth": sth_to_json(sth),
            },
        }


class AsyncRegistry:
    """The registry for async code: writes on the ledger's writer thread
    (serialised with its batches), reads on worker threads, and the
    ``on_status_change`` hook awaited after each committed status change
    (a failing hook is logged and re-raised: the change itself stands)."""

    def __init__(self, registry: Registry, on_status_change: StatusHook | None = None) -> None:
        self.registry = registry
        self.on_status_change = on_status_change

    async def issue(self, data: Mapping[str, Any]) -> LicenceRow:
        return await self.registry.ledger.run_in_writer(self.registry.issue, data)

    async def set_status(
        self, licence_id: str, status: str, *, reason: str, actor: str
    ) -> StatusChanged:
        def change() -> StatusChanged:
            return self.registry.set_status(licence_id, status, reason=reason, actor=actor)

        changed = await self.registry.ledger.run_in_writer(change)
        await self._notify(changed)
        return changed

    async def reissue(
        self, old_id: str, changes: Mapping[str, Any], *, actor: str, reason: str
    ) -> LicenceRow:
        def run() -> tuple[LicenceRow, StatusChanged]:
            return self.registry.reissue(old_id, changes, actor=actor, reason=reason)

        row, changed = await self.registry.ledger.run_in_writer(run)
        await self._notify(changed)
        return row

    async def _notify(self, changed: StatusChanged) -> None:
        if self.on_status_change is None:
            return
        try:
            await self.on_status_change(changed)
        except Exception:
            log.exception(
                "status hook failed for a committed change (ledger %d)", changed.ledger_index
            )
            raise

    async def licence(self, licence_id: str) -> LicenceRow:
        return await asyncio.to_thread(self.registry.licence, licence_id)

    async def licence_by_ref(self, ref: bytes) -> LicenceRow:
        return await asyncio.to_thread(self.registry.licence_by_ref, ref)

    async def status(self, licence_id: str) -> StatusView:
        return await asyncio.to_thread(self.registry.status, licence_id)

    async def export(self, licence_id: str) -> dict[str, Any]:
        return await asyncio.to_thread(self.registry.export, licence_id)

    async def licences_of_holder(self, id_type: str, holder_id: str) -> list[str]:
        return await asyncio.to_thread(self.registry.licences_of_holder, id_type, holder_id)

    async def status_events_after(
        self, ledger_index: int, limit: int = 1000
    ) -> list[StatusEventRow]:
        """Status changes made by any process after a ledger-index cursor
        (for a cache that must also see the CLI's and other instances' changes)."""
        return await asyncio.to_thread(self.registry.store.status_events_after, ledger_index, limit)
