"""The OFD XML parts a verifier needs (GB/T 33190 §18; parse stage):
``OFD.xml`` → each ``DocBody/Signatures`` → ``Signatures.xml`` → each
``Signature`` (``BaseLoc``, ``Type``) → ``Signature.xml`` (``References``
with ``CheckMethod`` and each ``Reference``'s ``FileRef``/``CheckValue``,
``SignedValue``, ``SignatureDateTime``).

XML is parsed safely without a DTD, within :data:`MAX_XML_MARKUP` tags: a
part containing ``<!DOCTYPE`` anywhere is refused before parsing, so no
entity can be declared (no entity expansion, no external entities; only the
predefined entities and character references exist, and an undefined entity
is a parse error). The scan is sound because the bytes must be in an
ASCII-compatible encoding: NUL bytes and UTF-16/32 byte-order marks are
refused (OFD parts are UTF-8). Then the C parser of
:mod:`xml.etree.ElementTree` runs (several times faster than a pure-Python
parser with hooks), at most :data:`MAX_XML_BYTES` per part and
:data:`MAX_XML_DEPTH` levels of nesting. Elements are matched by local name,
whatever the namespace prefix.
"""

from __future__ import annotations

import base64
import binascii
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from typing import Final

from pyservice.errors import OfdMalformedError, OfdTooLargeError

__all__ = [
    "MAX_REFERENCES",
    "MAX_SIGNATURES",
    "MAX_XML_BYTES",
    "MAX_XML_DEPTH",
    "MAX_XML_MARKUP",
    "Reference",
    "SignatureEntry",
    "SignatureXml",
    "parse_ofd_xml",
    "parse_signature_xml",
    "parse_signatures_xml",
    "parse_xml",
]

MAX_XML_BYTES: Final = 4 * 1024 * 1024
MAX_XML_DEPTH: Final = 64
#: Markup bound (``<`` characters: every element, end tag, comment and
#: processing instruction has one), checked before parsing so the tree's
#: memory is bounded (~100 bytes per element).
MAX_XML_MARKUP: Final = 200_000
MAX_SIGNATURES: Final = 1000
MAX_REFERENCES: Final = 20_000


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def parse_xml(data: bytes, what: str) -> ET.Element:
    """Parses one XML part safely (see the module docs)."""
    if len(data) > MAX_XML_BYTES:
        raise OfdTooLargeError("xml_too_large", f"{what} is {len(data)} bytes")
    if data.count(b"<") > MAX_XML_MARKUP:
        raise OfdTooLargeError("xml_too_large", f"{what} has more than {MAX_XML_MARKUP} tags")
    if b"\x00" in data or data.startswith((b"\xfe\xff", b"\xff\xfe")):
        raise OfdMalformedError("bad_xml", f"{what} is not in an ASCII-compatible encoding")
    if b"<!DOCTYPE" in data:
        raise OfdMalformedError("xml_forbidden", f"{what} has a document type declaration")
    try:
        # Safe here: no DTD can be present (checked above), see the module docs.
        root = ET.fromstring(data)  # noqa: S314
    except (ET.ParseError, LookupError, ValueError) as exc:
        raise OfdMalformedError("bad_xml", f"{what}: {exc}") from exc
    stack = [(root, 1)]
    while stack:
        element, depth = stack.pop()
        if depth > MAX_XML_DEPTH:
            raise OfdTooLargeError("xml_too_deep", f"{what} nests deeper than {MAX_XML_DEPTH}")
        stack.extend((child, depth + 1) for child in element)
    return root


def _children(element: ET.Element, name: str) -> list[ET.Element]:
    return [c for c in element if _local(c.tag) == name]


def _child_text(element: ET.Element, name: str) -> str | None:
    for c in element:
        if _local(c.tag) == name:
            return (c.text or "").strip()
    return None


def parse_ofd_xml(data: bytes) -> list[str]:
    """The ``Signatures`` locations of every ``DocBody`` in ``OFD.xml``."""
    root = parse_xml(data, "OFD.xml")
    if _local(root.tag) != "OFD":
        raise OfdMalformedError("bad_xml", "OFD.xml has no OFD root element")
    out = []
    for body in _children(root, "DocBody"):
        loc = _child_text(body, "Signatures")
        if loc:
            out.append(loc)
    return out


@dataclass(frozen=True, slots=True)
class SignatureEntry:
    """One ``Signature`` of ``Signatures.xml``."""

    id: str
    type: str
    base_loc: str


def parse_signatures_xml(data: bytes) -> list[SignatureEntry]:
    """The signatures listed in ``Signatures.xml`` (``Type`` defaults to
    ``Seal``, as GB/T 33190 says)."""
    root = parse_xml(data, "Signatures.xml")
    entries = _children(root, "Signature")
    if len(entries) > MAX_SIGNATURES:
        raise OfdTooLargeError("too_many_signatures", f"{len(entries)} signatures")
    out = []
    for e in entries:
        base = e.get("BaseLoc")
        if not base:
            raise OfdMalformedError("bad_xml", "Signatures.xml: a Signature without BaseLoc")
        out.append(SignatureEntry(id=e.get("ID", ""), type=e.get("Type", "Seal"), base_loc=base))
    return out


@dataclass(frozen=True, slots=True)
class Reference:
    """One ``Reference``: the file as written and its expected digest
    (``None`` if the CheckValue is not valid base64)."""

    file_ref: str
    check_value: bytes | None


@dataclass(frozen=True, slots=True)
class SignatureXml:
    """What a verifier needs from ``Signature.xml``."""

    check_method: str | None
    references: list[Reference]
    signed_value: str
    signature_method: str | None
    signature_date_time: str | None


def parse_signature_xml(data: bytes) -> SignatureXml:
    """Parses ``Signature.xml``."""
    root = parse_xml(data, "Signature.xml")
    info = next(iter(_children(root, "SignedInfo")), None)
    signed_value = _child_text(root, "SignedValue")
    if info is None or not signed_value:
        raise OfdMalformedError("bad_xml", "Signature.xml lacks SignedInfo or SignedValue")
    refs_el = next(iter(_children(info, "References")), None)
    references: list[Reference] = []
    check_method = None
    if refs_el is not None:
        check_method = refs_el.get("CheckMethod")
        ref_els = _children(refs_el, "Reference")
        if len(ref_els) > MAX_REFERENCES:
            raise OfdTooLargeError("too_many_references", f"{len(ref_els)} references")
        for r in ref_els:
            text = "".join((_child_text(r, "CheckValue") or "").split())
            try:
                value: bytes | None = base64.b64decode(text, validate=True)
            except (binascii.Error, ValueError):
                value = None
            references.append(Reference(file_ref=r.get("FileRef", ""), check_value=value))
    return SignatureXml(
        check_method=check_method,
        references=references,
        signed_value=signed_value,
        signature_method=_child_text(info, "SignatureMethod"),
        signature_date_time=_child_text(info, "SignatureDateTime"),
    )
