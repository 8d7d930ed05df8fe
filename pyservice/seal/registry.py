"""The platform's seal system: 申请 (apply), 审核 (approve / reject), 制作
(make), 备案 (file), 查询 (seal, seals, events), 变更 (change), 续期
(renew), 注销 (cancel), and signing with a seal.

Statuses: ``applied → approved|rejected``, ``approved → made → active``
(filed); ``change`` and ``renew`` make a new version of an active seal (it
stays ``active``); ``cancel`` ends any seal that is not already rejected or
cancelled. ``EXPIRED`` is derived from the validity window, never stored.

Every step is one store transaction holding the seal's new row, its event
and its ledger entry (``Ledger.commit`` with
:class:`~pyservice.store.RegistryWrites`): filing writes ``seal.registered``,
cancelling ``seal.revoked``, every other step ``seal.status``.

Keys (all in the key ring, SM4-GCM-wrapped): the platform's development
seal CA (``platform``/``seal-ca``, self-signed), the seal maker
(``platform``/``seal-maker``, certified by the CA) that signs every V4
``SES_Seal``, and each organisation's seal signer (``<USCC>``/
``seal-signer``), certified by the CA for each made version's validity
window, that signs V4 ``SES_Signature``s for platform-hosted signing.

:class:`SealRegistry` is synchronous: call writes where ``Ledger.commit``
may run (the CLI, or ``ledger.run_in_writer`` in the service).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import re
import secrets
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from typing import Any, Final

from pyservice.crypto import PrivateKey, sm3
from pyservice.errors import MalformedInputError, NotFoundError
from pyservice.ledger.entries import make_entry
from pyservice.ledger.service import Ledger
from pyservice.registry.errors import (
    IllegalStatusTransitionError,
    InvalidUsccError,
    ValidationError,
)
from pyservice.registry.keys import PLATFORM, KeyRing
from pyservice.registry.validate import check_uscc
from pyservice.seal import verify_ofd, verify_signed_value
from pyservice.seal.native import certificate_summary, encode_seal_v4, encode_signature_v4
from pyservice.seal.native import issue_certificate as issue_cert
from pyservice.seal.report import OfdReport, SignedValueVerdict
from pyservice.seal.standing import SealStanding, StandingKind, apply_to_report, apply_to_verdict
from pyservice.store import (
    RegistryWrites,
    SealCertRow,
    SealEventRow,
    SealRow,
    SealVersionRow,
    SealWrite,
    StaleStatusError,
    Store,
    UniqueViolationError,
)

__all__ = [
    "ACTIONS",
    "SEAL_STATUSES",
    "InvalidSealRequestError",
    "SealRegistry",
    "UnknownSealError",
    "describe",
    "effective_seal_status",
    "event_json",
    "registry_trust_anchors",
    "seal_standings",
    "verify_ofd_registered",
]

SEAL_STATUSES: Final = ("applied", "approved", "rejected", "made", "active", "cancelled")
#: action → (statuses it may start from, status it leads to).
ACTIONS: Final[dict[str, tuple[frozenset[str], str]]] = {
    "approve": (frozenset({"applied"}), "approved"),
    "reject": (frozenset({"applied"}), "rejected"),
    "make": (frozenset({"approved"}), "made"),
    "file": (frozenset({"made"}), "active"),
    "change": (frozenset({"active"}), "active"),
    "renew": (frozenset({"active"}), "active"),
    "cancel": (frozenset({"applied", "approved", "made", "active"}), "cancelled"),
}
_KINDS: Final = {"file": "seal.registered", "cancel": "seal.revoked"}

VID: Final = "SIDIAN"
MAX_PICTURE_BYTES: Final = 256 * 1024
MAX_NAME_LEN: Final = 128
MAX_TEXT_LEN: Final = 512
#: The platform CA's and seal maker's certificates are valid this long.
PLATFORM_CERT_SECONDS: Final = 30 * 365 * 86400
_PICTURE_TYPE: Final = re.compile(r"[A-Za-z]{2,8}")
_CA_NAME: Final = "Sidian Seal CA (development)"
_MAKER_NAME: Final = "Sidian 电子印章制作系统"


class UnknownSealError(NotFoundError):
    """No seal has this esID."""

    code = "unknown_seal"


class InvalidSealRequestError(ValidationError):
    """A seal application or change with a bad field."""

    code = "invalid_seal_request"


def _now_ms() -> int:
    return int(time.time() * 1000)


def effective_seal_status(row: SealRow, now_s: int) -> str:
    """The stored status, or ``expired`` for an active seal past its window."""
    return "expired" if row.status == "active" and now_s > row.valid_end else row.status


def _text(value: object, what: str, max_len: int = MAX_TEXT_LEN) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > max_len:
        raise InvalidSealRequestError(f"{what} must be a non-empty string of at most {max_len}")
    return value


def _serial() -> bytes:
    """A random positive 16-byte certificate serial (minimal DER)."""
    return bytes([0x10 + secrets.randbelow(0x70)]) + secrets.token_bytes(15)


def _check_picture(picture: object, picture_type: object, width: object, height: object) -> None:
    if not isinstance(picture, bytes) or not 0 < len(picture) <= MAX_PICTURE_BYTES:
        raise InvalidSealRequestError(f"picture must be 1 to {MAX_PICTURE_BYTES} bytes")
    if not isinstance(picture_type, str) or not _PICTURE_TYPE.fullmatch(picture_type):
        raise InvalidSealRequestError("picture type must be 2 to 8 letters (PNG, GIF, ofd …)")
    for what, v in (("width", width), ("height", height)):
        if isinstance(v, bool) or not isinstance(v, int) or not 1 <= v <= 1000:
            raise InvalidSealRequestError(f"{what} must be 1 to 1000 (mm)")


def _certificate(
    key: PrivateKey,
    issuer: tuple[PrivateKey, str],
    cn: str,
    window: tuple[int, int],
    *,
    ca: bool,
) -> bytes:
    """A certificate for ``key`` (CN ``cn``) from ``issuer`` (key, CN)."""
    return issue_cert(
        key.public_key(),
        issuer[0],
        serial=_serial(),
        subject_cn=cn,
        issuer_cn=issuer[1],
        not_before=window[0],
        not_after=window[1],
        ca=ca,
    )


class SealRegistry:
    """The seal system's synchronous core (see the module docstring)."""

    def __init__(
        self,
        store: Store,
        keyring: KeyRing,
        ledger: Ledger,
        *,
        clock: Callable[[], int] = _now_ms,
    ) -> None:
        self.store = store
        self.keyring = keyring
        self.ledger = ledger
        #: Unix ms of "now" for lifecycle steps, certificates and signing.
        self.clock = clock

    # ---- platform certificates -------------------------------------------------

    def _certified(
        self, purpose: str, issuer: tuple[PrivateKey, str] | None, cn: str
    ) -> tuple[PrivateKey, bytes]:
        """The platform key for ``purpose`` and its certificate, issued on
        first use (self-signed when ``issuer`` is None)."""
        key = self.keyring.platform_key(purpose)
        kid = key.public_key().kid()
        row = self.store.seal_cert_get(kid)
        if row is None:
            now = self.clock() // 1000
            signer, issuer_cn = issuer if issuer is not None else (key, cn)
            der = _certificate(
                key,
                (signer, issuer_cn),
                cn,
                (now - 3600, now + PLATFORM_CERT_SECONDS),
                ca=issuer is None,
            )
            # (Should another process certify it first, use theirs.)
            with contextlib.suppress(UniqueViolationError):
                self.store.seal_cert_add(SealCertRow(kid, PLATFORM, purpose, der, self.clock()))
            row = self.store.seal_cert_get(kid)
            if row is None:
                raise NotFoundError(f"certificate of {purpose} key {kid} is missing")
        return key, row.der

    def _ca(self) -> tuple[PrivateKey, bytes]:
        return self._certified("seal-ca", None, _CA_NAME)

    def _maker(self) -> tuple[PrivateKey, bytes]:
        ca_key, _ = self._ca()
        return self._certified("seal-maker", (ca_key, _CA_NAME), _MAKER_NAME)

    def trust_anchors(self) -> list[bytes]:
        """The seal CA's certificate once it exists (no key is created here)."""
        return registry_trust_anchors(self.store)

    def ca_certificate(self) -> bytes:
        """The seal CA's certificate (created with its key on first use)."""
        return self._ca()[1]

    def _signer(self, org_code: str, org_name: str, start: int, end: int) -> tuple[str, bytes]:
        """The organisation's seal-signer key (created on first use) and a
        new certificate for it valid from ``start`` to ``end``."""
        row = self.keyring.active(org_code, "seal-signer")
        if row is None:
            row = self.keyring.create(org_code, "seal-signer")
        ca_key, _ = self._ca()
        key = self.keyring.private_key(row.kid)
        der = _certificate(key, (ca_key, _CA_NAME), org_name, (start, end), ca=False)
        return row.kid, der

    # ---- lifecycle ------------------------------------------------------------------

    def apply(
        self,
        *,
        org_code: str,
        org_name: str,
        name: str,
        seal_type: int,
        picture: bytes,
        picture_type: str,
        width: int,
        height: int,
        valid_start: int,
        valid_end: int,
        applicant: str,
        reason: str = "申请",
    ) -> SealRow:
        """申请: a new seal in status ``applied`` with a fresh esID (the
        organisation's area code, positions 3 to 8 of its USCC, and 8 random
        digits)."""
        try:
            check_uscc(org_code)
        except InvalidUsccError as exc:
            raise InvalidSealRequestError(f"organisation code: {exc}") from exc
        _text(org_name, "organisation name", MAX_NAME_LEN)
        _text(name, "seal name", MAX_NAME_LEN)
        _text(applicant, "applicant", 256)
        _text(reason, "reason")
        if (
            isinstance(seal_type, bool)
            or not isinstance(seal_type, int)
            or not 1 <= seal_type <= 99
        ):
            raise InvalidSealRequestError("seal type must be 1 to 99")
        _check_picture(picture, picture_type, width, height)
        self._check_window(valid_start, valid_end)
        at = self.clock()
        for _ in range(5):
            es_id = org_code[2:8] + f"{secrets.randbelow(10**8):08d}"
            row = SealRow(
                es_id=es_id,
                org_code=org_code,
                org_name=org_name,
                name=name,
                seal_type=seal_type,
                picture_type=picture_type,
                picture=picture,
                width=width,
                height=height,
                signer_kid=None,
                signer_cert=None,
                valid_start=valid_start,
                valid_end=valid_end,
                status="applied",
                status_reason=reason,
                status_at=at,
                version=0,
                seal_der=None,
                applicant=applicant,
                created_at=at,
                ledger_index=0,
            )
            event = SealEventRow(es_id, 0, "apply", None, "applied", reason, applicant, at)
            entry = self._entry("seal.status", event, row)
            try:
                (index,) = self.ledger.commit(
                    [make_entry(entry)],
                    RegistryWrites(seals=[SealWrite(row, None, 0, event, 0)]),
                )
            except UniqueViolationError:
                continue  # the random esID is taken: draw another
            return replace(row, ledger_index=index)
        raise IllegalStatusTransitionError("could not allocate an esID; retry")

    def _check_window(self, valid_start: int, valid_end: int) -> None:
        for v in (valid_start, valid_end):
            if isinstance(v, bool) or not isinstance(v, int) or not 0 <= v < 253402300800:
                raise InvalidSealRequestError("validity times must be epoch seconds before 10000")
        if valid_end <= valid_start:
            raise InvalidSealRequestError("the validity window ends before it starts")
        if valid_end <= self.clock() // 1000:
            raise InvalidSealRequestError("the validity window has already ended")

    def approve(self, es_id: str, *, actor: str, reason: str) -> SealRow:
        """审核 passed."""
        return self._step(es_id, "approve", actor=actor, reason=reason)

    def reject(self, es_id: str, *, actor: str, reason: str) -> SealRow:
        """审核 failed: the application ends here."""
        return self._step(es_id, "reject", actor=actor, reason=reason)

    def make(self, es_id: str, *, actor: str, reason: str = "制作") -> SealRow:
        """制作: the V4 ``SES_Seal`` for the organisation's signer certificate,
        signed by the platform seal maker."""
        return self._step(es_id, "make", actor=actor, reason=reason, new_version=True)

    def file(self, es_id: str, *, actor: str, reason: str = "备案") -> SealRow:
        """备案: the made seal is registered and in force from now."""
        return self._step(es_id, "file", actor=actor, reason=reason)

    def change(
        self,
        es_id: str,
        *,
        actor: str,
        reason: str,
        name: str | None = None,
        picture: bytes | None = None,
        picture_type: str | None = None,
        width: int | None = None,
        height: int | None = None,
    ) -> SealRow:
        """变更: a new version with a changed name and/or picture."""
        if name is not None:
            _text(name, "seal name", MAX_NAME_LEN)
        if all(v is None for v in (name, picture, picture_type, width, height)):
            raise InvalidSealRequestError("nothing to change")
        changes: dict[str, Any] = {
            k: v
            for k, v in {
                "name": name,
                "picture": picture,
                "picture_type": picture_type,
                "width": width,
                "height": height,
            }.items()
            if v is not None
        }
        return self._step(
            es_id, "change", actor=actor, reason=reason, new_version=True, changes=changes
        )

    def renew(self, es_id: str, *, actor: str, reason: str, valid_end: int) -> SealRow:
        """续期: a new version valid until ``valid_end`` (later than now)."""
        old = self.seal(es_id)
        self._check_window(old.valid_start, valid_end)
        if valid_end <= old.valid_end:
            raise InvalidSealRequestError("a renewal must end later than the current window")
        return self._step(
            es_id,
            "renew",
            actor=actor,
            reason=reason,
            new_version=True,
            changes={"valid_end": valid_end},
        )

    def cancel(self, es_id: str, *, actor: str, reason: str) -> SealRow:
        """注销: signatures made from now on fail verification."""
        return self._step(es_id, "cancel", actor=actor, reason=reason)

    def _step(
        self,
        es_id: str,
        action: str,
        *,
        actor: str,
        reason: str,
        new_version: bool = False,
        changes: dict[str, Any] | None = None,
    ) -> SealRow:
        _text(actor, "actor", 256)
        _text(reason, "reason")
        old = self.seal(es_id)
        allowed, to = ACTIONS[action]
        if old.status not in allowed:
            raise IllegalStatusTransitionError(f"seal {es_id} is {old.status}: cannot {action}")
        at = self.clock()
        row = replace(old, **(changes or {}), status=to, status_reason=reason, status_at=at)
        if changes:
            _check_picture(row.picture, row.picture_type, row.width, row.height)
        version: SealVersionRow | None = None
        if new_version:
            row, version = self._made(row, at)
        event = SealEventRow(es_id, 0, action, old.status, to, reason, actor, at)
        entry = self._entry(_KINDS.get(action, "seal.status"), event, row, version)
        write = SealWrite(row, old.status, old.version, event, 0, version)
        try:
            (index,) = self.ledger.commit([make_entry(entry)], RegistryWrites(seals=[write]))
        except StaleStatusError as exc:
            raise IllegalStatusTransitionError(str(exc)) from exc
        return replace(row, ledger_index=index)

    def _made(self, row: SealRow, at: int) -> tuple[SealRow, SealVersionRow]:
        """``row`` with a newly made ``SES_Seal`` (next version)."""
        now = at // 1000
        if row.valid_end <= now:
            raise InvalidSealRequestError("the seal's validity window has ended")
        signer_kid, signer_cert = self._signer(
            row.org_code, row.org_name, min(row.valid_start, now), row.valid_end
        )
        maker_key, maker_cert = self._maker()
        der = encode_seal_v4(
            vid=VID,
            es_id=row.es_id,
            seal_type=row.seal_type,
            name=row.name,
            signer_certs=[signer_cert],
            create_date=now,
            valid_start=row.valid_start,
            valid_end=row.valid_end,
            picture_type=row.picture_type,
            picture=row.picture,
            width=row.width,
            height=row.height,
            maker_key=maker_key,
            maker_cert=maker_cert,
        )
        version = row.version + 1
        made = replace(
            row, signer_kid=signer_kid, signer_cert=signer_cert, version=version, seal_der=der
        )
        return made, SealVersionRow(
            row.es_id, version, der, sm3(der), row.valid_start, row.valid_end, at, 0
        )

    def _entry(
        self,
        kind: str,
        event: SealEventRow,
        row: SealRow,
        version: SealVersionRow | None = None,
    ) -> dict[str, Any]:
        entry: dict[str, Any] = {
            "kind": kind,
            "at": event.at,
            "es_id": row.es_id,
            "action": event.action,
            "from": event.from_status,
            "to": event.to_status,
            "reason": event.reason,
            "actor": event.actor,
        }
        if event.action in ("apply", "file"):
            entry.update(org_code=row.org_code, name=row.name, seal_type=row.seal_type)
        if version is not None or event.action == "file":
            entry.update(
                version=row.version,
                seal_sm3=sm3(row.seal_der or b"").hex(),
                valid_start=row.valid_start,
                valid_end=row.valid_end,
                signer_kid=row.signer_kid,
            )
        return entry

    # ---- reads ------------------------------------------------------------------------

    def seal(self, es_id: str) -> SealRow:
        if not isinstance(es_id, str) or not 0 < len(es_id) <= 64:
            raise UnknownSealError("no such seal")
        row = self.store.seal_get(es_id)
        if row is None:
            raise UnknownSealError(f"no seal {es_id}")
        return row

    def seals(self, org_code: str | None = None, status: str | None = None) -> list[SealRow]:
        return self.store.seals(org_code, status)

    def events(self, es_id: str) -> list[SealEventRow]:
        self.seal(es_id)
        return self.store.seal_events(es_id)

    def versions(self, es_id: str) -> list[SealVersionRow]:
        self.seal(es_id)
        return self.store.seal_versions(es_id)

    def standing(self, es_ids: Iterable[str]) -> dict[str, SealStanding]:
        """What the registry knows about those of ``es_ids`` that are ours."""
        return seal_standings(self.store, es_ids)

    # ---- signing and verifying ----------------------------------------------------------

    def sign(
        self, es_id: str, data_hash: bytes, *, property_info: str, at: int | None = None
    ) -> bytes:
        """A V4 ``SES_Signature`` over ``data_hash`` (SM3 of the signed
        bytes, e.g. an OFD ``Signature.xml``) made with the seal's current
        version and the organisation's signer key, at ``at`` (epoch
        seconds, default now). Only an active seal inside its window signs."""
        row = self.seal(es_id)
        when = self.clock() // 1000 if at is None else at
        if row.status != "active" or row.seal_der is None or row.signer_kid is None:
            raise IllegalStatusTransitionError(f"seal {es_id} is {row.status}: it cannot sign")
        if not row.valid_start <= when <= row.valid_end:
            raise IllegalStatusTransitionError(f"seal {es_id} is not valid at that time")
        if len(data_hash) != 32:
            raise MalformedInputError("the data hash must be 32 bytes (SM3)")
        _text(property_info, "property info")
        if row.signer_cert is None:
            raise IllegalStatusTransitionError(f"seal {es_id} has no signer certificate")
        return encode_signature_v4(
            row.seal_der,
            self.keyring.private_key(row.signer_kid),
            row.signer_cert,
            data_hash=data_hash,
            property_info=property_info,
            time=when,
        )

    def _at(self, at: dt.datetime | None) -> dt.datetime:
        return dt.datetime.fromtimestamp(self.clock() / 1000, dt.UTC) if at is None else at

    def verify_ofd(
        self,
        data: bytes,
        *,
        trust_anchors: Sequence[bytes] = (),
        intermediates: Sequence[bytes] = (),
        at: dt.datetime | None = None,
    ) -> tuple[OfdReport, list[StandingKind]]:
        """:func:`pyservice.seal.verify_ofd` with the seal CA as an extra
        trust anchor and the ``seal_status`` check for our seals."""
        return verify_ofd_registered(
            self.store,
            data,
            trust_anchors=trust_anchors,
            intermediates=intermediates,
            at=self._at(at),
        )

    def verify_signed_value(
        self,
        signed_value: bytes,
        *,
        data: bytes | None = None,
        data_sm3: bytes | None = None,
        trust_anchors: Sequence[bytes] = (),
        at: dt.datetime | None = None,
    ) -> tuple[SignedValueVerdict, list[StandingKind]]:
        """:func:`pyservice.seal.verify_signed_value` the same way (the seal
        CA is an anchor only for a seal the registry knows)."""
        when = self._at(at)
        verdict = verify_signed_value(
            signed_value, data=data, data_sm3=data_sm3, trust_anchors=trust_anchors, at=when
        )
        standings = self.standing([verdict.es_id] if verdict.es_id else [])
        anchors = list(trust_anchors)
        if standings:
            anchors += self.trust_anchors()
            verdict = verify_signed_value(
                signed_value, data=data, data_sm3=data_sm3, trust_anchors=anchors, at=when
            )
        return apply_to_verdict(verdict, standings, bool(anchors))


def registry_trust_anchors(store: Store) -> list[bytes]:
    """The certificates of the seal CA keys that are not compromised (a
    retired CA still anchors what was certified under it; read only)."""
    out = []
    for key_row in store.key_rows(PLATFORM, "seal-ca"):
        cert = store.seal_cert_get(key_row.kid) if key_row.status != "compromised" else None
        if cert is not None:
            out.append(cert.der)
    return out


def seal_standings(store: Store, es_ids: Iterable[str]) -> dict[str, SealStanding]:
    """The registry's facts about those of ``es_ids`` that are our seals
    (read only): status, filing and cancellation times, version windows."""
    out: dict[str, SealStanding] = {}
    for es_id in set(es_ids):
        row = store.seal_get(es_id)
        if row is None:
            continue
        events = store.seal_events(es_id)
        filed = next((e.at for e in events if e.action == "file"), None)
        cancelled = next((e.at for e in events if e.action == "cancel"), None)
        windows = tuple((v.valid_start, v.valid_end) for v in store.seal_versions(es_id))
        out[es_id] = SealStanding(es_id, row.status, filed, cancelled, windows)
    return out


def verify_ofd_registered(
    store: Store,
    data: bytes,
    *,
    trust_anchors: Sequence[bytes] = (),
    intermediates: Sequence[bytes] = (),
    at: dt.datetime | None = None,
) -> tuple[OfdReport, list[StandingKind]]:
    """:func:`pyservice.seal.verify_ofd` plus the ``seal_status`` check for
    seals the store knows; when the document carries one, the store's seal
    CA is an extra trust anchor (so documents sealed elsewhere are judged
    by the configured anchors only). Reads only: usable wherever the store
    can be opened."""
    report = verify_ofd(data, trust_anchors=trust_anchors, intermediates=intermediates, at=at)
    standings = seal_standings(store, [s.es_id for s in report.signatures if s.es_id])
    if standings:
        report = verify_ofd(
            data,
            trust_anchors=[*trust_anchors, *registry_trust_anchors(store)],
            intermediates=intermediates,
            at=at,
        )
    return apply_to_report(report, standings)


def describe(row: SealRow, now_s: int | None = None) -> dict[str, Any]:
    """A seal as JSON (CLI and HTTP): no picture bytes, no key material."""
    now = int(time.time()) if now_s is None else now_s
    signer = None
    if row.signer_cert is not None:
        try:
            signer = certificate_summary(row.signer_cert).subject
        except MalformedInputError:
            signer = None
    return {
        "es_id": row.es_id,
        "org_code": row.org_code,
        "org_name": row.org_name,
        "name": row.name,
        "seal_type": row.seal_type,
        "picture_type": row.picture_type,
        "width": row.width,
        "height": row.height,
        "status": effective_seal_status(row, now),
        "stored_status": row.status,
        "status_reason": row.status_reason,
        "status_at": row.status_at,
        "valid_start": row.valid_start,
        "valid_end": row.valid_end,
        "version": row.version,
        "seal_sm3": None if row.seal_der is None else sm3(row.seal_der).hex(),
        "signer_kid": row.signer_kid,
        "signer_subject": signer,
        "applicant": row.applicant,
        "created_at": row.created_at,
        "ledger_index": row.ledger_index,
    }


def event_json(e: SealEventRow) -> dict[str, Any]:
    return {
        "action": e.action,
        "from": e.from_status,
        "to": e.to_status,
        "reason": e.reason,
        "actor": e.actor,
        "at": e.at,
        "ledger_index": e.ledger_index,
    }
