"""Helpers for the seal/OFD tests: the shared OFD vectors and expected.json,
and rewriting an OFD zip with changed, added or removed entries."""

from __future__ import annotations

import base64
import io
import json
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pyservice.crypto import PrivateKey, sm3
from pyservice.ledger.keys import ledger_key
from pyservice.ledger.service import Ledger
from pyservice.registry.keys import KeyRing, load_master_key
from pyservice.seal.native import encode_seal_v4, encode_signature_v4, issue_certificate
from pyservice.seal.registry import SealRegistry
from pyservice.store import SealRow, open_store
from tests.crypto_testkit import vectors_dir
from tests.registry_testkit import uscc

T_2024 = 1_704_067_200
T_2026 = 1_767_225_600
T_2029 = 1_861_920_000
T_2030 = 1_893_456_000

__all__ = [
    "FORMATS",
    "ORG",
    "T_2024",
    "T_2026",
    "T_2029",
    "T_2030",
    "Clock",
    "Pki",
    "Tlv",
    "active_seal",
    "apply_seal",
    "build_signed_ofd",
    "der_read",
    "expected",
    "intact",
    "make_pki",
    "make_seal",
    "make_signed_ofd",
    "ofd_bytes",
    "ofd_dir",
    "ofd_entries",
    "ofd_signature_xml",
    "open_seal_registry",
    "rewrite_ofd",
    "rewrite_ofd_bytes",
    "seal_bytes",
    "zip_of",
]


#: expected.json's format names → ours.
FORMATS = {
    "SES V1 layout (GM/T 0031-2014)": "SES_V1",
    "SES V4 layout (GB/T 38540-2020)": "SES_V4",
    "GB/T 35275 SignedData": "GBT35275",
}


def intact(want: dict[str, Any]) -> bool:
    """Whether expected.json says every signature of a file is intact."""
    return all(
        not s["references_failed"]
        and s["signature_ok"]
        and s.get("seal_signature_ok", True)
        and s.get("data_hash_matches", True)
        for s in want["signatures"]
    )


def ofd_dir() -> Path:
    return vectors_dir() / "ses" / "ofd"


def ofd_bytes(name: str) -> bytes:
    return (ofd_dir() / name).read_bytes()


def seal_bytes(name: str) -> bytes:
    return (vectors_dir() / "ses" / "seal" / name).read_bytes()


def expected() -> list[dict[str, Any]]:
    data: list[dict[str, Any]] = json.loads((vectors_dir() / "ses" / "expected.json").read_text())
    return data


def ofd_entries(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return {i.filename: z.read(i) for i in z.infolist() if not i.is_dir()}


def zip_of(entries: Mapping[str, bytes], *, compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=compression) as z:
        for name, data in entries.items():
            z.writestr(name, data)
    return buf.getvalue()


def rewrite_ofd(name: str, change: Callable[[dict[str, bytes]], None]) -> bytes:
    """The OFD vector ``name`` with its entries changed in place by ``change``."""
    return rewrite_ofd_bytes(ofd_bytes(name), change)


def rewrite_ofd_bytes(data: bytes, change: Callable[[dict[str, bytes]], None]) -> bytes:
    """The OFD ``data`` with its entries changed in place by ``change``."""
    entries = ofd_entries(data)
    change(entries)
    return zip_of(entries)


@dataclass(frozen=True)
class Pki:
    """Root → intermediate → seal maker and signer (valid 2024-2029)."""

    root: bytes
    intermediate: bytes
    maker_key: PrivateKey
    maker: bytes
    signer_key: PrivateKey
    signer: bytes


def make_pki() -> Pki:
    root_key, int_key = PrivateKey.generate(), PrivateKey.generate()
    maker_key, signer_key = PrivateKey.generate(), PrivateKey.generate()

    def cert(key: PrivateKey, issuer: PrivateKey, serial: int, names: tuple[str, str]) -> bytes:
        return issue_certificate(
            key.public_key(),
            issuer,
            serial=serial.to_bytes(8, "big"),
            subject_cn=names[0],
            issuer_cn=names[1],
            not_before=T_2024,
            not_after=T_2029,
            ca=serial <= 2,
        )

    return Pki(
        root=cert(root_key, root_key, 1, ("Test Root", "Test Root")),
        intermediate=cert(int_key, root_key, 2, ("Test Seal CA", "Test Root")),
        maker_key=maker_key,
        maker=cert(maker_key, int_key, 3, ("平台制章系统", "Test Seal CA")),
        signer_key=signer_key,
        signer=cert(signer_key, int_key, 4, ("某单位", "Test Seal CA")),
    )


def make_seal(pki: Pki, *, picture_type: str = "PNG", name: str = "某单位合同专用章") -> bytes:
    """One of our V4 seals for ``pki``'s signer, valid 2024-2029."""
    return encode_seal_v4(
        vid="SIDIAN",
        es_id="11010000000001",
        seal_type=1,
        name=name,
        signer_certs=[pki.signer],
        create_date=T_2024,
        valid_start=T_2024,
        valid_end=T_2029,
        picture_type=picture_type,
        picture=b"\x89PNG\r\n\x1a\n",
        width=40,
        height=40,
        maker_key=pki.maker_key,
        maker_cert=pki.maker,
    )


def make_signed_ofd(pki: Pki, *, signed_at: int = T_2026) -> bytes:
    """A minimal OFD signed with one of our own V4 seals: Document.xml and
    OFD.xml referenced by SM3, SignedValue.dat over SM3(Signature.xml)."""
    seal = make_seal(pki)

    def sign(data_hash: bytes, property_info: str) -> bytes:
        return encode_signature_v4(
            seal,
            pki.signer_key,
            pki.signer,
            data_hash=data_hash,
            property_info=property_info,
            time=signed_at,
        )

    return build_signed_ofd(sign)


def _unsigned_parts(document_text: str) -> tuple[bytes, bytes, bytes]:
    """Document.xml, OFD.xml and the Signature.xml referencing both by SM3."""
    ns = 'xmlns:ofd="http://www.ofdspec.org/2016"'
    document = f"<ofd:Document {ns}><ofd:{document_text}/></ofd:Document>".encode()
    ofd_xml = (
        f'<ofd:OFD {ns} Version="1.1"><ofd:DocBody><ofd:DocRoot>Doc_0/Document.xml</ofd:DocRoot>'
        "<ofd:Signatures>Doc_0/Signs/Signatures.xml</ofd:Signatures></ofd:DocBody></ofd:OFD>"
    ).encode()

    def ref(path: str, data: bytes) -> str:
        value = base64.b64encode(sm3(data)).decode()
        check = f"<ofd:CheckValue>{value}</ofd:CheckValue>"
        return f'<ofd:Reference FileRef="{path}">{check}</ofd:Reference>'

    signature_xml = (
        f"<ofd:Signature {ns}><ofd:SignedInfo>"
        "<ofd:SignatureMethod>1.2.156.10197.1.501</ofd:SignatureMethod>"
        '<ofd:References CheckMethod="1.2.156.10197.1.401">'
        + ref("/Doc_0/Document.xml", document)
        + ref("/OFD.xml", ofd_xml)
        + "</ofd:References></ofd:SignedInfo>"
        "<ofd:SignedValue>/Doc_0/Signs/Sign_0/SignedValue.dat</ofd:SignedValue></ofd:Signature>"
    ).encode()
    return document, ofd_xml, signature_xml


def ofd_signature_xml(document_text: str = "CommonData") -> bytes:
    """The Signature.xml that :func:`build_signed_ofd` signs (what its
    ``sign`` receives the SM3 of)."""
    return _unsigned_parts(document_text)[2]


def build_signed_ofd(
    sign: Callable[[bytes, str], bytes], *, document_text: str = "CommonData"
) -> bytes:
    """A minimal OFD whose one seal signature ``sign(SM3(Signature.xml),
    property info)`` makes: Document.xml and OFD.xml referenced by SM3."""
    ns = 'xmlns:ofd="http://www.ofdspec.org/2016"'
    document, ofd_xml, signature_xml = _unsigned_parts(document_text)
    value = sign(sm3(signature_xml), "/Doc_0/Signs/Sign_0/Signature.xml")
    signatures = (
        f"<ofd:Signatures {ns}><ofd:MaxSignId>1</ofd:MaxSignId>"
        '<ofd:Signature ID="1" Type="Seal" BaseLoc="Sign_0/Signature.xml"/></ofd:Signatures>'
    ).encode()
    return zip_of(
        {
            "OFD.xml": ofd_xml,
            "Doc_0/Document.xml": document,
            "Doc_0/Signs/Signatures.xml": signatures,
            "Doc_0/Signs/Sign_0/Signature.xml": signature_xml,
            "Doc_0/Signs/Sign_0/SignedValue.dat": value,
        }
    )


@dataclass(frozen=True)
class Tlv:
    """A DER element read by :func:`der_read` (tag byte, content, raw bytes)."""

    tag: int
    content: bytes
    raw: bytes

    def children(self) -> list[Tlv]:
        assert self.tag & 0x20, f"tag {self.tag:#x} is not constructed"
        out, pos = [], 0
        while pos < len(self.content):
            tlv = der_read(self.content[pos:])
            out.append(tlv)
            pos += len(tlv.raw)
        return out


def der_read(data: bytes) -> Tlv:
    """The first DER element of ``data``: single-byte tags and minimal
    definite lengths only (what the structure rules require), written here
    independently of the native parser."""
    tag, first = data[0], data[1]
    if first < 0x80:
        length, head = first, 2
    else:
        n = first & 0x7F
        assert 1 <= n <= 4, "indefinite or huge length"
        length = int.from_bytes(data[2 : 2 + n], "big")
        assert data[2] != 0, "non-minimal length"
        assert length >= 0x80, "non-minimal length"
        head = 2 + n
    assert len(data) >= head + length, "truncated"
    return Tlv(tag, data[head : head + length], data[: head + length])


ORG = uscc("91350100M00010043")


class Clock:
    """A settable clock (unix ms) for the seal registry."""

    def __init__(self, start_s: int) -> None:
        self.ms = start_s * 1000

    def __call__(self) -> int:
        return self.ms

    def advance(self, seconds: int) -> int:
        """Move on; the new time in epoch seconds."""
        self.ms += seconds * 1000
        return self.ms // 1000


def open_seal_registry(data: Path, clock: Clock | None = None) -> SealRegistry:
    """A seal registry over a real SQLite store, key ring and ledger in
    ``data``; its clock starts at 2026-01-01 unless ``clock`` is given."""
    store = open_store(data)
    keyring = KeyRing(store, load_master_key(data, {}))
    ledger = Ledger(store, ledger_key(store, data))
    ledger.load()
    return SealRegistry(store, keyring, ledger, clock=clock or Clock(T_2026))


def apply_seal(reg: SealRegistry, **overrides: Any) -> SealRow:
    """An application for a 合同专用章 valid from 2024 to 2029."""
    fields: dict[str, Any] = {
        "org_code": ORG,
        "org_name": "示例科技有限公司",
        "name": "示例科技有限公司合同专用章",
        "seal_type": 4,
        "picture": b"\x89PNG\r\n\x1a\n" + bytes(range(32)),
        "picture_type": "PNG",
        "width": 40,
        "height": 40,
        "valid_start": T_2024,
        "valid_end": T_2029,
        "applicant": "张经办",
    }
    fields.update(overrides)
    return reg.apply(**fields)


def active_seal(reg: SealRegistry, **overrides: Any) -> SealRow:
    """A seal taken through apply, approve, make and file."""
    es_id = apply_seal(reg, **overrides).es_id
    reg.approve(es_id, actor="李审核", reason="材料齐全")
    reg.make(es_id, actor="制章员")
    return reg.file(es_id, actor="备案员")
