"""Signed licence documents (formats.md §Signed licence document): parse
and verify offline. No I/O: the caller passes the trusted keys (a trust
list or the store's key table) and, if it can reach a store, the status.

Verification steps:

1. parse: the JSON form, no duplicate keys, canonical-domain values only;
   the licence identifier well-formed (a wrong check character is a
   warning, ``licence_id_check_mismatch``);
2. signature: the issuer key ``kid`` is trusted, owned by the issuer named
   in the body, for licences, and its SM2 signature over the canonical
   bytes of ``licence`` verifies;
3. issuer key: in force (not compromised, inside its validity window) at
   issuance, the time of the ``licence.issued`` ledger entry;
4. ledger: the entry rebuilt from the body hashes to a leaf that the
   inclusion proof places at ``index`` under the STH's root; the STH is
   signed by a trusted platform ledger key;
5. validity period: today within ``valid_from .. valid_until``;
6. status: only from a caller-supplied status; without one the result is
   ``UNDETERMINED`` (never ``VALID`` unless every check ran and passed).

The result is the service's one result model,
:class:`~pyservice.verify.result.VerificationResult`, and its verdict the
one policy, :func:`~pyservice.verify.result.decide`; ``licence`` carries
only ``{"id"}`` here (the service adds the masked summary).
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from pyservice import merkle
from pyservice.canonical import canonical_json
from pyservice.crypto import sm3
from pyservice.errors import (
    InvalidProofError,
    InvalidSignatureError,
    MalformedInputError,
)
from pyservice.ledger.entries import make_entry
from pyservice.ledger.sth import sth_from_json, verify_sth
from pyservice.registry.keys import PLATFORM, TrustedKey, key_in_force
from pyservice.registry.validate import parse_date, parse_licence_id
from pyservice.store import StoredSth
from pyservice.verify.result import Check, VerificationResult

__all__ = [
    "MAX_DOCUMENT_BYTES",
    "MAX_PROOF_LEN",
    "LedgerProof",
    "LicenceDocument",
    "parse_document",
    "parse_ledger",
    "verify_document",
]

MAX_DOCUMENT_BYTES: Final = 256 * 1024
MAX_PROOF_LEN: Final = 64


@dataclass(frozen=True, slots=True)
class LedgerProof:
    index: int
    at: int
    tree_size: int
    root: bytes
    proof: list[bytes]
    sth: StoredSth


@dataclass(frozen=True, slots=True)
class LicenceDocument:
    licence: dict[str, Any]
    canonical: bytes
    kid: str
    signature: bytes
    ledger: LedgerProof | None


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise MalformedInputError(f"duplicate key {key!r}")
        out[key] = value
    return out


def _reject_constant(name: str) -> Any:
    raise MalformedInputError(f"{name} is not JSON")


def _int(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise MalformedInputError(f"{what} must be a non-negative integer")
    return value


def _hex32(value: Any, what: str) -> bytes:
    try:
        raw = bytes.fromhex(value)
    except (TypeError, ValueError) as exc:
        raise MalformedInputError(f"{what} must be hex") from exc
    if len(raw) != 32:
        raise MalformedInputError(f"{what} must be 32 bytes")
    return raw


def parse_document(data: bytes | str) -> LicenceDocument:
    """Parse the JSON form (:class:`MalformedInputError` on any defect)."""
    if len(data) > MAX_DOCUMENT_BYTES:
        raise MalformedInputError(f"document larger than {MAX_DOCUMENT_BYTES} bytes")
    try:
        obj = json.loads(
            data,
            object_pairs_hook=_no_duplicates,
            parse_float=lambda _: _reject_constant("a float"),
            parse_constant=_reject_constant,
        )
    except (ValueError, RecursionError) as exc:
        raise MalformedInputError(f"document is not valid JSON: {exc}") from exc
    if not isinstance(obj, dict) or not {"licence", "signature"} <= set(obj) <= {
        "licence",
        "signature",
        "ledger",
    }:
        raise MalformedInputError("document must be {licence, signature[, ledger]}")
    licence = obj["licence"]
    if not isinstance(licence, dict) or not isinstance(licence.get("id"), str):
        raise MalformedInputError("licence must be an object with an id")
    canonical = canonical_json(licence)
    sig = obj["signature"]
    if not isinstance(sig, dict) or set(sig) != {"alg", "kid", "value"} or sig["alg"] != "SM2-SM3":
        raise MalformedInputError('signature must be {"alg": "SM2-SM3", "kid", "value"}')
    if not isinstance(sig["kid"], str) or len(sig["kid"]) != 16:
        raise MalformedInputError("kid must be 16 hex digits")
    try:
        signature = base64.b64decode(sig["value"], validate=True)
    except (TypeError, ValueError, binascii.Error) as exc:
        raise MalformedInputError("signature value must be base64") from exc
    ledger = None if obj.get("ledger") is None else parse_ledger(obj["ledger"])
    return LicenceDocument(licence, canonical, sig["kid"], signature, ledger)


def parse_ledger(obj: Any) -> LedgerProof:
    if not isinstance(obj, dict):
        raise MalformedInputError("ledger must be an object")
    try:
        index, at, tree_size = obj["index"], obj["at"], obj["tree_size"]
        root, proof, sth = obj["root"], obj["proof"], obj["sth"]
    except KeyError as exc:
        raise MalformedInputError(f"ledger lacks {exc}") from exc
    if not isinstance(proof, list) or len(proof) > MAX_PROOF_LEN:
        raise MalformedInputError(f"proof must be a list of at most {MAX_PROOF_LEN} hashes")
    return LedgerProof(
        index=_int(index, "ledger.index"),
        at=_int(at, "ledger.at"),
        tree_size=_int(tree_size, "ledger.tree_size"),
        root=_hex32(root, "ledger.root"),
        proof=[_hex32(h, "proof hash") for h in proof],
        sth=sth_from_json(sth),
    )


def verify_document(
    doc: LicenceDocument,
    trust: Mapping[str, TrustedKey],
    *,
    today: dt.date,
    status: str | None = None,
    status_detail: str | None = None,
) -> VerificationResult:
    """Run steps 2-6 of the module docstring."""
    licence = doc.licence
    report = VerificationResult(
        status="UNDETERMINED", status_as_of=None, checks=[], licence={"id": licence["id"]}
    )
    # 1. identifier (MalformedLicenceIdError propagates: bad input, not a verdict)
    if not parse_licence_id(licence["id"]).check_ok:
        report.warnings.append("licence_id_check_mismatch")
    # 2. signature
    key = trust.get(doc.kid)
    issuer = licence.get("issuer")
    issuer_code = issuer.get("code") if isinstance(issuer, dict) else None
    if key is None:
        report.checks.append(Check("signature", False, f"issuer key {doc.kid} is not trusted"))
    elif key.purpose != "licence" or key.owner != issuer_code:
        report.checks.append(Check("signature", False, "key does not belong to the issuer"))
    else:
        try:
            key.public_key.verify(doc.canonical, doc.signature)
            report.checks.append(Check("signature", True))
        except (InvalidSignatureError, MalformedInputError) as exc:
            report.checks.append(Check("signature", False, str(exc)))
    # 3. issuer key in force at issuance
    # (The body's issued_on cannot stand in: converted licences carry old
    # dates and are signed by current keys.)
    issued_at = None if doc.ledger is None else doc.ledger.at
    if key is None or issued_at is None:
        report.checks.append(Check("issuer_key", None, "issuance time or key unknown"))
    elif key_in_force(key, issued_at):
        report.checks.append(Check("issuer_key", True))
    else:
        report.checks.append(Check("issuer_key", False, f"key {key.kid} not in force at issuance"))
    # 4. ledger
    report.checks.append(_check_ledger(doc, trust))
    # 5. validity period
    report.checks.append(_check_period(licence, today))
    # 6. status
    if status is None:
        report.checks.append(Check("status", None, status_detail or "no status source (offline)"))
    else:
        report.status = status
        report.checks.append(Check("status", status == "VALID", status_detail))
    return report


def _check_ledger(doc: LicenceDocument, trust: Mapping[str, TrustedKey]) -> Check:
    proof = doc.ledger
    if proof is None:
        return Check("ledger", None, "no ledger proof in the document")
    sth = proof.sth
    if sth.tree_size != proof.tree_size or sth.root != proof.root:
        return Check("ledger", False, "proof does not refer to its tree head")
    problem = _sth_problem(sth, trust)
    if problem is not None:
        return Check("ledger", False, problem)
    licence = doc.licence
    try:
        entry = make_entry(
            {
                "kind": "licence.issued",
                "at": proof.at,
                "id": licence["id"],
                "version": licence.get("version"),
                "body_sm3": sm3(doc.canonical).hex(),
                "kid": doc.kid,
            }
        )
        merkle.verify_inclusion(
            merkle.leaf_hash(entry.data), proof.index, proof.tree_size, proof.proof, proof.root
        )
    except (InvalidProofError, MalformedInputError) as exc:
        return Check("ledger", False, f"inclusion proof does not verify: {exc}")
    return Check("ledger", True)


def _sth_problem(sth: StoredSth, trust: Mapping[str, TrustedKey]) -> str | None:
    ledger_key = trust.get(sth.kid)
    if ledger_key is None or ledger_key.owner != PLATFORM or ledger_key.purpose != "ledger":
        return f"ledger key {sth.kid} is not trusted"
    if not key_in_force(ledger_key, sth.timestamp):
        return "ledger key not in force at the tree head's time"
    try:
        verify_sth(ledger_key.public_key, sth)
    except (InvalidSignatureError, MalformedInputError):
        return "tree head signature does not verify"
    return None


def _check_period(licence: Mapping[str, Any], today: dt.date) -> Check:
    try:
        start = parse_date(licence.get("valid_from"), "valid_from")
        end = licence.get("valid_until")
        until = None if end is None else parse_date(end, "valid_until")
    except ValueError as exc:
        return Check("validity_period", False, str(exc))
    if today < start:
        return Check("validity_period", False, f"not valid before {start}")
    if until is not None and today > until:
        return Check("validity_period", False, f"expired on {until}")
    return Check("validity_period", True)
