"""Bounded reading of OFD zips: hostile packages give stable reasons."""

from __future__ import annotations

import contextlib
import io
import zipfile

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pyservice.errors import MalformedInputError, OfdMalformedError, OfdTooLargeError
from pyservice.seal import verify_ofd
from pyservice.seal.package import MAX_ENTRIES, OfdPackage, resolve
from tests.seal_testkit import ofd_bytes, ofd_entries, zip_of


def _reason(data: bytes) -> str:
    with pytest.raises(OfdMalformedError) as info:
        OfdPackage(data)
    return info.value.reason


def test_reads_a_real_ofd() -> None:
    pkg = OfdPackage(ofd_bytes("1.ofd"))
    assert "OFD.xml" in pkg
    assert pkg.read("OFD.xml").startswith(b"<?xml")
    assert pkg.get("nope") is None
    with pytest.raises(OfdMalformedError, match="missing_part"):
        pkg.read("nope")


def test_not_a_zip() -> None:
    assert _reason(b"") == "not_zip"
    assert _reason(b"PK\x03\x04 truncated") == "not_zip"
    assert _reason(ofd_bytes("1.ofd")[:-30]) == "not_zip"


def test_zip_bomb_by_size() -> None:
    # 80 MiB of zeros deflate to ~80 KiB: over the per-entry bound.
    bomb = zip_of({"OFD.xml": b"<OFD/>", "Doc_0/bomb.bin": bytes(80 * 1024 * 1024)})
    assert len(bomb) < 1024 * 1024
    with pytest.raises(OfdTooLargeError) as info:
        OfdPackage(bomb)
    assert info.value.reason == "entry_too_large"
    assert info.value.http_status == 413


def test_zip_bomb_by_ratio() -> None:
    bomb = zip_of({"OFD.xml": b"<OFD/>", "Doc_0/bomb.bin": bytes(8 * 1024 * 1024)})
    with pytest.raises(OfdTooLargeError) as info:
        OfdPackage(bomb)
    assert info.value.reason == "compression_ratio"


def test_total_size_bound() -> None:
    # Many entries, each under the ratio bound (stored, not deflated) would be
    # too slow to build at 512 MiB; the bound is checked on declared sizes,
    # so patch the declared sizes of a small stored archive instead
    # (6 entries of 50 MiB: each under the entry bound, together over the total).
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_STORED) as z:
        for i in range(6):
            z.writestr(f"Doc_0/{i}.bin", b"x")
    data = bytearray(buf.getvalue())
    # Central directory entries: uncompressed size at offset 24, compressed at 20.
    pos = 0
    while (pos := data.find(b"PK\x01\x02", pos)) != -1:
        data[pos + 20 : pos + 24] = (50 * 1024 * 1024).to_bytes(4, "little")
        data[pos + 24 : pos + 28] = (50 * 1024 * 1024).to_bytes(4, "little")
        pos += 4
    with pytest.raises(OfdTooLargeError) as info:
        OfdPackage(bytes(data))
    assert info.value.reason == "total_too_large"


def test_too_many_entries() -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_STORED) as z:
        for i in range(MAX_ENTRIES + 1):
            z.writestr(f"d/{i}", b"")
    with pytest.raises(OfdTooLargeError) as info:
        OfdPackage(buf.getvalue())
    assert info.value.reason == "too_many_entries"


@pytest.mark.parametrize(
    "name", ["../evil.xml", "Doc_0/../../evil", "/OFD.xml", "Doc_0\\x.xml", "C:/x", "a/./b"]
)
def test_unsafe_entry_names(name: str) -> None:
    assert _reason(zip_of({"OFD.xml": b"<OFD/>", name: b"x"})) == "unsafe_path"


def test_duplicate_entries() -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("OFD.xml", b"<a/>")
        with pytest.warns(UserWarning, match="Duplicate"):
            z.writestr("OFD.xml", b"<b/>")
    assert _reason(buf.getvalue()) == "duplicate_entry"


def test_encrypted_entries() -> None:
    data = bytearray(zip_of({"OFD.xml": b"<OFD/>"}, compression=zipfile.ZIP_STORED))
    for sig, off in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        pos = data.find(sig)
        data[pos + off] |= 1
    assert _reason(bytes(data)) == "encrypted_entry"


def test_corrupt_entry_data_is_bad_entry() -> None:
    data = bytearray(zip_of({"OFD.xml": b"<OFD>" + b"a" * 200 + b"</OFD>"}))
    pos = data.find(b"PK\x03\x04") + 30 + len("OFD.xml") + 3
    data[pos] ^= 0xFF
    pkg = OfdPackage(bytes(data))
    with pytest.raises(OfdMalformedError) as info:
        pkg.read("OFD.xml")
    assert info.value.reason == "bad_entry"


def test_signatures_location_outside_the_package() -> None:
    entries = ofd_entries(ofd_bytes("1.ofd"))
    entries["OFD.xml"] = entries["OFD.xml"].replace(
        b"<ofd:Signatures>Doc_0/Signs/Signatures.xml", b"<ofd:Signatures>../../etc/passwd"
    )
    with pytest.raises(OfdMalformedError) as info:
        verify_ofd(zip_of(entries))
    assert info.value.reason == "unsafe_path"


def test_resolve() -> None:
    assert (
        resolve("Doc_0/Signs", "/Doc_0/Signs/Sign_0/Signature.xml")
        == "Doc_0/Signs/Sign_0/Signature.xml"
    )
    assert resolve("Doc_0/Signs", "Sign_0/Signature.xml") == "Doc_0/Signs/Sign_0/Signature.xml"
    assert resolve("Doc_0/Signs", "../Document.xml") == "Doc_0/Document.xml"
    for bad in ("../x", "/../x", "", "/", "a\\b"):
        with pytest.raises(OfdMalformedError):
            resolve("", bad)


@given(st.text(max_size=40), st.text(max_size=40))
def test_resolve_never_escapes(base: str, loc: str) -> None:
    try:
        path = resolve(base, loc)
    except OfdMalformedError:
        return
    parts = path.split("/")
    assert not {"..", "", "."} & set(parts)


@given(st.binary(max_size=300))
def test_arbitrary_bytes_are_malformed_or_readable(data: bytes) -> None:
    try:
        pkg = OfdPackage(data)
    except OfdMalformedError:
        return
    for name in pkg.names:
        with contextlib.suppress(OfdMalformedError):
            pkg.read(name)


@given(st.integers(min_value=0, max_value=13840), st.integers(min_value=0, max_value=255))
def test_mutated_ofd_never_raises_anything_else(pos: int, byte: int) -> None:
    data = bytearray(ofd_bytes("发票示例.ofd"))
    data[pos % len(data)] = byte
    try:
        report = verify_ofd(bytes(data))
    except MalformedInputError:  # the package's or the core's
        return
    # The tampered invoice never becomes intact by a one-byte change.
    assert report.result == "INVALID"


def test_unsupported_zip_version_is_not_zip() -> None:
    # Found by the mutation test: the central directory's "version needed
    # to extract" made zipfile raise NotImplementedError.
    data = bytearray(zip_of({"OFD.xml": b"<x/>"}))
    central = data.find(b"PK\x01\x02")
    data[central + 6 : central + 8] = (64).to_bytes(2, "little")
    assert _reason(bytes(data)) == "not_zip"


def test_local_header_name_not_utf8_is_bad_entry() -> None:
    # Found by fuzzing: a local header flagged UTF-8 whose name is not
    # made zipfile raise UnicodeDecodeError while opening the entry.
    data = bytearray(zip_of({"OFD.xml": b"<x/>"}))
    local = data.find(b"PK\x03\x04")
    flags = int.from_bytes(data[local + 6 : local + 8], "little") | 0x800
    data[local + 6 : local + 8] = flags.to_bytes(2, "little")
    data[local + 30] = 0xFF
    with pytest.raises(OfdMalformedError) as err:
        OfdPackage(bytes(data)).read("OFD.xml")
    assert err.value.reason == "bad_entry"
