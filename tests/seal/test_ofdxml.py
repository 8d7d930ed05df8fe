"""Safe XML parsing of the OFD parts."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pyservice.errors import OfdMalformedError, OfdTooLargeError
from pyservice.seal.ofdxml import (
    MAX_XML_BYTES,
    MAX_XML_DEPTH,
    MAX_XML_MARKUP,
    parse_ofd_xml,
    parse_signature_xml,
    parse_signatures_xml,
    parse_xml,
)
from tests.seal_testkit import ofd_bytes, ofd_entries

NS = b'xmlns:ofd="http://www.ofdspec.org/2016"'


def _reason(data: bytes) -> str:
    with pytest.raises(OfdMalformedError) as info:
        parse_xml(data, "test.xml")
    return info.value.reason


def test_billion_laughs_is_refused() -> None:
    bomb = (
        b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
        b'<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">'
        b'<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>'
        b"<OFD>&lol3;</OFD>"
    )
    assert _reason(bomb) == "xml_forbidden"


def test_external_entities_and_dtds_are_refused() -> None:
    xxe = b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><r>&x;</r>'
    assert _reason(xxe) == "xml_forbidden"
    assert _reason(b'<!DOCTYPE r SYSTEM "http://example.invalid/r.dtd"><r/>') == "xml_forbidden"


def test_deep_nesting_is_refused() -> None:
    deep = b"<a>" * (MAX_XML_DEPTH + 1) + b"</a>" * (MAX_XML_DEPTH + 1)
    with pytest.raises(OfdTooLargeError) as info:
        parse_xml(deep, "deep.xml")
    assert info.value.reason == "xml_too_deep"
    ok = b"<a>" * MAX_XML_DEPTH + b"</a>" * MAX_XML_DEPTH
    parse_xml(ok, "ok.xml")


def test_too_much_markup_is_refused_before_parsing() -> None:
    flat = b"<a>" + b"<b/>" * (MAX_XML_MARKUP + 1) + b"</a>"
    with pytest.raises(OfdTooLargeError) as info:
        parse_xml(flat, "flat.xml")
    assert info.value.reason == "xml_too_large"
    with pytest.raises(OfdTooLargeError):
        parse_xml(b" " * (MAX_XML_BYTES + 1), "big.xml")


def test_bad_xml() -> None:
    assert _reason(b"<a>") == "bad_xml"
    assert _reason(b"\xff\xfe") == "bad_xml"
    assert _reason(b"<a>&undefined;</a>") == "bad_xml"
    assert _reason(b'<?xml version="1.0" encoding="no-such"?><a/>') == "bad_xml"


def test_utf16_cannot_hide_a_doctype() -> None:
    doc = '<!DOCTYPE r [<!ENTITY x "y">]><r>&x;</r>'
    assert _reason(doc.encode("utf-16")) == "bad_xml"
    assert _reason(doc.encode("utf-16-be")) == "bad_xml"
    assert _reason(doc.encode("utf-32")) == "bad_xml"


def test_multibyte_legacy_encodings_are_refused() -> None:
    # GB/T 33190 parts are UTF-8; expat cannot read GBK, which fails closed.
    doc = '<?xml version="1.0" encoding="GBK"?><a>发票</a>'.encode("gbk")
    assert _reason(doc) == "bad_xml"
    assert parse_xml("<a>发票</a>".encode(), "utf8.xml").text == "发票"


def test_real_parts() -> None:
    entries = ofd_entries(ofd_bytes("keyword.ofd"))
    assert parse_ofd_xml(entries["OFD.xml"]) == ["Doc_0/Signs/Signatures.xml"]
    sigs = parse_signatures_xml(entries["Doc_0/Signs/Signatures.xml"])
    assert [(s.id, s.type) for s in sigs] == [("2", "Seal"), ("4", "Sign")]
    sx = parse_signature_xml(entries["Doc_0/Signs/Sign_3/Signature.xml"])
    assert sx.check_method == "SM3"
    assert len(sx.references) == 9
    assert all(r.check_value is not None and len(r.check_value) == 32 for r in sx.references)
    assert sx.signed_value == "/Doc_0/Signs/Sign_3/SignedValue.dat"


def test_signature_type_defaults_to_seal() -> None:
    xml = b"<ofd:Signatures " + NS + b'><ofd:Signature ID="1" BaseLoc="/a.xml"/></ofd:Signatures>'
    assert parse_signatures_xml(xml)[0].type == "Seal"


def test_signature_without_base_loc_or_signed_value() -> None:
    with pytest.raises(OfdMalformedError):
        parse_signatures_xml(
            b"<ofd:Signatures " + NS + b'><ofd:Signature ID="1"/></ofd:Signatures>'
        )
    with pytest.raises(OfdMalformedError):
        parse_signature_xml(b"<ofd:Signature " + NS + b"><ofd:SignedInfo/></ofd:Signature>")


def test_non_base64_check_value_is_kept_as_none() -> None:
    xml = (
        b"<ofd:Signature " + NS + b'><ofd:SignedInfo><ofd:References CheckMethod="SM3">'
        b'<ofd:Reference FileRef="/OFD.xml"><ofd:CheckValue>!!!</ofd:CheckValue></ofd:Reference>'
        b"</ofd:References></ofd:SignedInfo><ofd:SignedValue>/v.dat</ofd:SignedValue></ofd:Signature>"
    )
    sx = parse_signature_xml(xml)
    assert sx.references[0].check_value is None


@given(st.binary(max_size=200))
def test_arbitrary_bytes_raise_only_ofd_errors(data: bytes) -> None:
    for parse in (parse_ofd_xml, parse_signatures_xml, parse_signature_xml):
        with contextlib.suppress(OfdMalformedError):
            parse(data)
