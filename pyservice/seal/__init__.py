"""OFD documents with electronic seals and signatures (GB/T 33190 OFD,
GM/T 0031 and GB/T 38540 seals, GB/T 35275 SignedData).

``verify_ofd(data, *, trust_anchors=None, at=None) -> OfdReport`` in three
stages: parse (:mod:`.package` reads the zip within bounds, :mod:`.ofdxml`
the XML parts), verify (:mod:`.verify`, no I/O) and policy (:mod:`.policy`:
certificate chains and the verdict). Input that cannot be read safely
raises :class:`~pyservice.errors.OfdMalformedError` /
:class:`~pyservice.errors.OfdTooLargeError` (both ``MalformedInputError``)
with a stable ``reason``; a signed value that cannot be parsed raises
``MalformedInputError``. Everything else is a verdict in the report.
"""

from __future__ import annotations

import posixpath
from collections.abc import Sequence
from datetime import UTC, datetime

from pyservice.errors import MalformedInputError, OfdMalformedError
from pyservice.seal.native import SealReport, certificate_summary, check_seal
from pyservice.seal.ofdxml import parse_ofd_xml, parse_signature_xml, parse_signatures_xml
from pyservice.seal.package import OfdPackage, resolve
from pyservice.seal.policy import document_result, signature_report, signed_value_verdict
from pyservice.seal.report import Check, OfdReport, SignatureReport, SignedValueVerdict
from pyservice.seal.timefmt import format_time
from pyservice.seal.verify import DigestCache, SignatureParts, verify_signature
from pyservice.seal.verify import verify_signed_value as verify_value_only

__all__ = [
    "Check",
    "OfdReport",
    "SealReport",
    "SignatureReport",
    "SignedValueVerdict",
    "check_seal",
    "read_signatures",
    "unreferenced_files",
    "verify_ofd",
    "verify_signed_value",
]


def _locate(pkg: OfdPackage, base_dir: str, location: str) -> str:
    """``location`` relative to ``base_dir`` (or absolute); producers also
    write root-relative paths without the leading ``/``, tried second."""
    path = resolve(base_dir, location)
    if path not in pkg:
        alt = resolve("", location)
        if alt in pkg:
            return alt
        raise OfdMalformedError(
            "missing_part", f"{location!r} (from {base_dir or '/'}) is not in the package"
        )
    return path


def read_signatures(pkg: OfdPackage) -> list[SignatureParts]:
    """Parse stage: every signature's parts, from ``OFD.xml`` down."""
    return _read_signatures(pkg)[0]


def _read_signatures(pkg: OfdPackage) -> tuple[list[SignatureParts], set[str]]:
    """The signatures' parts, and the package paths they cover: referenced
    files, their own Signature.xml and SignedValue.dat, the Signatures.xml
    lists."""
    if "OFD.xml" not in pkg:
        raise OfdMalformedError("missing_part", "the package has no OFD.xml")
    out: list[SignatureParts] = []
    covered: set[str] = set()
    for sigs_loc in parse_ofd_xml(pkg.read("OFD.xml")):
        sigs_path = _locate(pkg, "", sigs_loc)
        covered.add(sigs_path)
        sigs_dir = posixpath.dirname(sigs_path)
        for entry in parse_signatures_xml(pkg.read(sigs_path)):
            xml_path = _locate(pkg, sigs_dir, entry.base_loc)
            xml = pkg.read(xml_path)
            parsed = parse_signature_xml(xml)
            value_path = _locate(pkg, posixpath.dirname(xml_path), parsed.signed_value)
            referenced: dict[str, bytes | None] = {}
            for ref in parsed.references:
                path = resolve("", ref.file_ref)
                covered.add(path)
                referenced[ref.file_ref] = pkg.get(path)
            covered.update((xml_path, value_path))
            out.append(
                SignatureParts(
                    entry=entry,
                    signature_xml_path=xml_path,
                    signature_xml=xml,
                    parsed=parsed,
                    signed_value_path=value_path,
                    signed_value=pkg.read(value_path),
                    referenced=referenced,
                )
            )
    return out, covered


def unreferenced_files(pkg: OfdPackage) -> list[str]:
    """Package files no signature covers: not referenced by any signature,
    and not a signature's own ``Signature.xml``/``SignedValue.dat`` or a
    ``Signatures.xml`` list. Changing them changes no verification result
    (fonts and resources included), so they are reported as a warning."""
    parts, covered = _read_signatures(pkg)
    return _uncovered(pkg, covered) if parts else []


def _uncovered(pkg: OfdPackage, covered: set[str]) -> list[str]:
    return [name for name in pkg.names if name not in covered]


def _anchors_and_now(
    trust_anchors: Sequence[bytes] | None, at: datetime | None
) -> tuple[list[bytes], int]:
    anchors = list(trust_anchors or [])
    for i, der in enumerate(anchors):
        try:
            certificate_summary(der)
        except MalformedInputError as exc:
            raise MalformedInputError(f"trust anchor {i} is not an SM2 certificate: {exc}") from exc
    now_dt = datetime.now(UTC) if at is None else at
    if now_dt.tzinfo is None:  # naive: UTC, never the host's local time
        now_dt = now_dt.replace(tzinfo=UTC)
    return anchors, int(now_dt.timestamp())


def verify_signed_value(
    signed_value: bytes,
    *,
    data: bytes | None = None,
    data_sm3: bytes | None = None,
    trust_anchors: Sequence[bytes] | None = None,
    intermediates: Sequence[bytes] | None = None,
    at: datetime | None = None,
) -> SignedValueVerdict:
    """Verifies a ``SignedValue.dat`` (SES V1/V4/V5 or GB/T 35275) against the
    signed bytes ``data`` or their SM3 ``data_sm3`` (exactly one), with the
    certificate rules of :func:`verify_ofd`. Raises ``MalformedInputError``
    if it cannot be parsed, or if only the SM3 is given for a detached
    SignedData without signed attributes (whose signature covers the data
    itself)."""
    anchors, now = _anchors_and_now(trust_anchors, at)
    value, checks = verify_value_only(signed_value, data=data, data_sm3=data_sm3)
    return signed_value_verdict(value, checks, anchors, list(intermediates or []), now)


def verify_ofd(
    data: bytes,
    *,
    trust_anchors: Sequence[bytes] | None = None,
    intermediates: Sequence[bytes] | None = None,
    at: datetime | None = None,
) -> OfdReport:
    """Verifies every signature of the OFD file ``data``.

    ``trust_anchors``: DER SM2 certificates to chain to (none: the result is
    at best ``INTACT_UNTRUSTED``); a path may end at any of them.
    ``intermediates``: DER CA certificates that may link a signer to an
    anchor without being trusted themselves (certificates carried in a
    SignedData are used the same way). ``at``: "now" for certificate validity
    (default: the current time); validity at the signing time is checked
    and reported separately. A naive ``at`` is read as UTC.
    """
    anchors, now = _anchors_and_now(trust_anchors, at)
    # Parse.
    pkg = OfdPackage(data)
    parts, covered = _read_signatures(pkg)
    uncovered = _uncovered(pkg, covered) if parts else []
    # Verify, then policy.
    pool = list(intermediates or [])
    digests = DigestCache()
    reports = [signature_report(verify_signature(p, digests), anchors, now, pool) for p in parts]
    result, reasons = document_result(reports, bool(anchors))
    return OfdReport(
        result=result,
        signatures=reports,
        checked_at=format_time(now),
        trust_anchors=len(anchors),
        reasons=reasons,
        unreferenced_files=uncovered,
        warnings=["unreferenced_files"] if uncovered else [],
    )
