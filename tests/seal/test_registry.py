"""The platform's seal system over a real store, key ring and ledger: the
lifecycle and its ledger entries, the made seals' structure (checked with
an independent DER reader against the rules of shared/vectors/README.md),
and verification of signatures around cancellation, change and renewal."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pyservice.crypto import sm3
from pyservice.errors import MalformedInputError
from pyservice.ledger.entries import make_entry
from pyservice.registry.errors import IllegalStatusTransitionError
from pyservice.seal.native import certificate_summary, check_seal, encode_signature_v4
from pyservice.seal.registry import (
    InvalidSealRequestError,
    SealRegistry,
    UnknownSealError,
    describe,
)
from pyservice.store import RegistryWrites, SealEventRow, SealRow, SealWrite, StaleStatusError
from tests.seal_testkit import (
    ORG,
    T_2026,
    T_2029,
    Clock,
    active_seal,
    apply_seal,
    build_signed_ofd,
    der_read,
    ofd_bytes,
    open_seal_registry,
)


@pytest.fixture
def clock() -> Clock:
    return Clock(T_2026)


@pytest.fixture
def reg(tmp_path: Path, clock: Clock) -> Iterator[SealRegistry]:
    registry = open_seal_registry(tmp_path / "data", clock)
    yield registry
    registry.store.close()


def _seal_entries(reg: SealRegistry) -> list[dict[str, Any]]:
    head = reg.store.ledger_head()
    size = 0 if head is None else head.tree_size
    leaves = reg.store.ledger_leaves(0, size)
    return [json.loads(leaf.entry) for leaf in leaves if leaf.kind.startswith("seal.")]


def _forged_ofd(reg: SealRegistry, row: SealRow, at: int) -> bytes:
    """An OFD signed at ``at`` with the seal's signer key directly, as an
    organisation holding its key could, whatever the registry says."""
    key = reg.keyring.private_key(row.signer_kid or "")
    seal, cert = row.seal_der or b"", row.signer_cert or b""
    return build_signed_ofd(
        lambda h, p: encode_signature_v4(seal, key, cert, data_hash=h, property_info=p, time=at)
    )


def _sign_ofd(reg: SealRegistry, es_id: str, at: int) -> bytes:
    return build_signed_ofd(lambda h, p: reg.sign(es_id, h, property_info=p, at=at))


def test_lifecycle_steps_each_have_one_ledger_entry(reg: SealRegistry, clock: Clock) -> None:
    row = apply_seal(reg)
    assert row.status == "applied"
    assert row.version == 0
    assert row.seal_der is None
    assert row.es_id.startswith(ORG[2:8])
    assert len(row.es_id) == 14
    es_id = row.es_id
    clock.advance(60)
    reg.approve(es_id, actor="李审核", reason="材料齐全")
    made = reg.make(es_id, actor="制章员")
    assert made.status == "made"
    assert made.version == 1
    assert made.seal_der is not None
    filed = reg.file(es_id, actor="备案员")
    assert filed.status == "active"
    changed = reg.change(es_id, actor="管理员", reason="更名", name="示例科技有限公司财务专用章")
    assert changed.version == 2
    assert changed.name.endswith("财务专用章")
    renewed = reg.renew(es_id, actor="管理员", reason="续期", valid_end=T_2029 + 86400 * 365)
    assert renewed.version == 3
    assert renewed.status == "active"
    cancelled = reg.cancel(es_id, actor="管理员", reason="单位注销")
    assert cancelled.status == "cancelled"

    entries = _seal_entries(reg)
    actions = ["apply", "approve", "make", "file", "change", "renew", "cancel"]
    assert [e["action"] for e in entries] == actions
    kinds = [e["kind"] for e in entries]
    assert kinds == ["seal.status"] * 3 + ["seal.registered"] + ["seal.status"] * 2 + [
        "seal.revoked"
    ]
    assert all(e["es_id"] == es_id for e in entries)
    assert [e["to"] for e in entries] == [
        "applied",
        "approved",
        "made",
        "active",
        "active",
        "active",
        "cancelled",
    ]
    versions = reg.versions(es_id)
    assert [v.version for v in versions] == [1, 2, 3]
    # The ledger carries SM3 of each made SES_Seal.
    made_entries = [e for e in entries if "seal_sm3" in e]
    assert {e["seal_sm3"] for e in made_entries} == {v.seal_sm3.hex() for v in versions}
    # Events are indexed by their ledger entries.
    events = reg.events(es_id)
    assert [e.action for e in events] == actions
    leaves = reg.store.ledger_leaves(0, reg.store.ledger_head().tree_size)  # type: ignore[union-attr]
    for event in events:
        assert json.loads(leaves[event.ledger_index].entry)["action"] == event.action
    assert reg.seal(es_id).ledger_index == events[-1].ledger_index


def test_illegal_steps_are_refused_without_a_ledger_entry(reg: SealRegistry) -> None:
    es_id = apply_seal(reg).es_id
    before = len(_seal_entries(reg))
    for step in (reg.make, reg.file):
        with pytest.raises(IllegalStatusTransitionError):
            step(es_id, actor="x")
    with pytest.raises(IllegalStatusTransitionError):
        reg.renew(es_id, actor="x", reason="r", valid_end=T_2029 + 10)
    reg.reject(es_id, actor="李审核", reason="材料不全")
    with pytest.raises(IllegalStatusTransitionError):
        reg.cancel(es_id, actor="x", reason="r")
    assert len(_seal_entries(reg)) == before + 1
    with pytest.raises(UnknownSealError):
        reg.approve("00000000000000", actor="x", reason="r")


def test_a_stale_write_commits_neither_row_nor_entry(reg: SealRegistry) -> None:
    row = apply_seal(reg)
    head = reg.store.ledger_head()
    event = SealEventRow(row.es_id, 0, "approve", "approved", "approved", "r", "x", 1)
    write = SealWrite(row, "approved", 0, event, 0)
    entry = make_entry({"kind": "seal.status", "es_id": row.es_id})
    with pytest.raises(StaleStatusError):
        reg.ledger.commit([entry], RegistryWrites(seals=[write]))
    assert reg.store.ledger_head() == head
    assert reg.seal(row.es_id).status == "applied"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("org_code", "91350100M000100430"),
        ("org_code", "x"),
        ("org_name", ""),
        ("name", "章" * 200),
        ("seal_type", 0),
        ("seal_type", True),
        ("picture", b""),
        ("picture", b"x" * (256 * 1024 + 1)),
        ("picture_type", "../png"),
        ("width", 0),
        ("valid_end", T_2026 - 1),
        ("valid_start", T_2029 + 1),
        ("applicant", " "),
    ],
)
def test_bad_applications_are_refused(reg: SealRegistry, field: str, value: object) -> None:
    with pytest.raises(InvalidSealRequestError):
        apply_seal(reg, **{field: value})
    assert reg.seals() == []


def test_made_seals_follow_the_real_structures(reg: SealRegistry) -> None:
    """shared/vectors/README.md, "What real SES files look like" (V4),
    field by field, on a seal made through the lifecycle."""
    row = active_seal(reg)
    assert row.seal_der is not None
    assert row.signer_cert is not None
    top = der_read(row.seal_der)
    assert top.tag == 0x30
    assert top.raw == row.seal_der  # nothing after it
    seal = top.children()
    assert [t.tag for t in seal] == [0x30, 0x04, 0x06, 0x03]  # eSealInfo, cert, signAlgID, sig
    assert seal[2].content == bytes.fromhex("2a811ccf55018375")  # 1.2.156.10197.1.501
    assert seal[3].content[0] == 0  # no unused bits
    info = seal[0].children()
    assert len(info) == 4  # header, esID, property, picture
    header = info[0].children()
    assert [(t.tag, t.content) for t in header] == [
        (0x16, b"ES"),
        (0x02, b"\x04"),
        (0x16, b"SIDIAN"),
    ]
    assert (info[1].tag, info[1].content) == (0x16, row.es_id.encode())
    prop = info[2].children()
    assert len(prop) == 7
    assert (prop[0].tag, prop[0].content) == (0x02, bytes([row.seal_type]))
    assert (prop[1].tag, prop[1].content.decode()) == (0x0C, row.name)
    assert (prop[2].tag, prop[2].content) == (0x02, b"\x01")  # certListType: certificates
    cert_list = prop[3].children()
    assert [(c.tag, c.content) for c in cert_list] == [(0x04, row.signer_cert)]
    assert all(t.tag == 0x18 for t in prop[4:])  # GeneralizedTime
    assert all(len(t.content) == 15 for t in prop[4:])  # YYYYMMDDHHMMSSZ
    picture = info[3].children()
    assert (picture[0].tag, picture[0].content) == (0x16, b"PNG")
    assert (picture[1].tag, picture[1].content) == (0x04, row.picture)
    # Our own verifier agrees, and the maker is the platform's certified key.
    report = check_seal(row.seal_der)
    assert report.seal_signature_ok
    assert report.es_id == row.es_id
    assert report.cert_list == [row.signer_cert]
    assert (
        certificate_summary(report.maker_cert).issuer
        == certificate_summary(reg.ca_certificate()).subject
    )
    assert certificate_summary(row.signer_cert).subject == "CN=示例科技有限公司"

    # The signature: V4 SES_Signature {TBS_Sign, cert, signAlgID, signature}.
    value = reg.sign(row.es_id, sm3(b"doc"), property_info="/Doc_0/Signs/Sign_0/Signature.xml")
    sig = der_read(value).children()
    assert [t.tag for t in sig] == [0x30, 0x04, 0x06, 0x03]
    assert sig[1].content == row.signer_cert
    tbs = sig[0].children()
    assert [t.tag for t in tbs] == [0x02, 0x30, 0x18, 0x03, 0x16]
    assert tbs[0].content == b"\x04"
    assert tbs[1].raw == row.seal_der  # the seal embedded byte for byte
    assert tbs[3].content == b"\x00" + sm3(b"doc")
    assert tbs[4].content == b"/Doc_0/Signs/Sign_0/Signature.xml"


def test_our_signed_ofd_is_valid_under_the_seal_ca(reg: SealRegistry, clock: Clock) -> None:
    row = active_seal(reg)
    data = _sign_ofd(reg, row.es_id, clock.advance(60))
    report, kinds = reg.verify_ofd(data)
    assert report.result == "VALID", report.reasons
    assert kinds == ["VALID"]
    sig = report.signatures[0]
    assert sig.es_id == row.es_id
    assert sig.certificate_chain == "trusted"
    assert [c.name for c in sig.checks][-1] == "seal_status"
    assert report.warnings == []


def test_cancelling_fails_later_signatures_only(reg: SealRegistry, clock: Clock) -> None:
    row = active_seal(reg)
    before = _sign_ofd(reg, row.es_id, clock.advance(60))
    clock.advance(60)
    reg.cancel(row.es_id, actor="管理员", reason="印章遗失")
    with pytest.raises(IllegalStatusTransitionError):
        reg.sign(row.es_id, sm3(b"x"), property_info="/x")
    # The organisation still holds its key and makes a signature anyway.
    after = _forged_ofd(reg, row, clock.advance(60))
    clock.advance(3600)
    ok, _ = reg.verify_ofd(before)
    assert ok.result == "VALID", ok.reasons
    bad, kinds = reg.verify_ofd(after)
    assert bad.result == "INVALID"
    assert kinds == ["CANCELLED"]
    failed = [c for c in bad.signatures[0].checks if not c.ok]
    assert [c.name for c in failed] == ["seal_status"]
    assert "cancelled since" in (failed[0].detail or "")
    # Every cryptographic check still passes: it is the registry that refuses it.
    assert bad.signatures[0].signature_ok
    assert bad.signatures[0].seal_signature_ok


def test_signatures_before_filing_fail(reg: SealRegistry, clock: Clock) -> None:
    es_id = apply_seal(reg).es_id
    reg.approve(es_id, actor="a", reason="r")
    made = reg.make(es_id, actor="m")
    early = _forged_ofd(reg, made, clock.advance(10))
    clock.advance(10)
    reg.file(es_id, actor="f")
    report, kinds = reg.verify_ofd(early)
    assert report.result == "INVALID"
    assert kinds == ["NOT_FILED"]


def test_changed_and_renewed_seals_keep_old_signatures_valid(
    reg: SealRegistry, clock: Clock
) -> None:
    row = active_seal(reg)
    first = _sign_ofd(reg, row.es_id, clock.advance(60))
    clock.advance(60)
    reg.change(
        row.es_id,
        actor="管理员",
        reason="更换印模",
        picture=b"GIF89a" + b"\x00" * 8,
        picture_type="GIF",
    )
    new_end = T_2029 + 365 * 86400
    reg.renew(row.es_id, actor="管理员", reason="到期续期", valid_end=new_end)
    second = _sign_ofd(reg, row.es_id, clock.advance(60))
    for data in (first, second):
        report, _ = reg.verify_ofd(data)
        assert report.result == "VALID", report.reasons
    current = check_seal(reg.seal(row.es_id).seal_der or b"")
    assert current.picture_type == "GIF"
    assert current.valid_end == new_end
    # Past the renewed window the seal cannot sign, and it reads as expired.
    with pytest.raises(IllegalStatusTransitionError):
        reg.sign(row.es_id, sm3(b"x"), property_info="/x", at=new_end + 1)
    assert describe(reg.seal(row.es_id), new_end + 1)["status"] == "expired"


def test_signed_value_alone_gets_the_registry_check(reg: SealRegistry, clock: Clock) -> None:
    row = active_seal(reg)
    value = reg.sign(row.es_id, sm3(b"contract"), property_info="/x", at=clock.advance(5))
    verdict, kinds = reg.verify_signed_value(value, data=b"contract")
    assert verdict.result == "VALID", verdict.reasons
    assert kinds == ["VALID"]
    clock.advance(5)
    reg.cancel(row.es_id, actor="a", reason="r")
    verdict, _ = reg.verify_signed_value(value, data_sm3=sm3(b"contract"))
    assert verdict.result == "VALID"  # made before the cancellation
    other, _ = reg.verify_signed_value(value, data=b"other")
    assert other.result == "INVALID"


def test_sign_refuses_bad_input(reg: SealRegistry) -> None:
    row = active_seal(reg)
    with pytest.raises(MalformedInputError):
        reg.sign(row.es_id, b"short", property_info="/x")
    with pytest.raises(InvalidSealRequestError):
        reg.sign(row.es_id, sm3(b""), property_info="")


def test_platform_keys_are_created_once(tmp_path: Path, clock: Clock) -> None:
    data = tmp_path / "data"
    first = open_seal_registry(data, clock)
    active_seal(first)
    ca = first.ca_certificate()
    first.store.close()
    again = open_seal_registry(data, clock)
    assert again.trust_anchors() == [ca]
    assert len(again.keyring.store.key_rows("platform", "seal-maker")) == 1
    signers = again.keyring.store.key_rows(ORG, "seal-signer")
    assert len(signers) == 1
    again.store.close()


def test_foreign_documents_are_not_judged_by_our_ca(reg: SealRegistry) -> None:
    active_seal(reg)
    assert reg.trust_anchors()
    report, kinds = reg.verify_ofd(ofd_bytes("1.ofd"))
    assert kinds == []
    assert report.trust_anchors == 0
    assert report.result == "INTACT_UNTRUSTED"
    assert report.warnings == ["seal_status_unknown"]


def test_a_rotated_maker_is_certified_and_old_seals_still_verify(
    reg: SealRegistry, clock: Clock
) -> None:
    row = active_seal(reg)
    before = _sign_ofd(reg, row.es_id, clock.advance(60))
    reg.keyring.rotate("platform", "seal-maker", now_ms=clock())
    reg.keyring.rotate("platform", "seal-ca", now_ms=clock())
    clock.advance(120)  # past the rotation grace period
    renewed = reg.renew(row.es_id, actor="a", reason="续期", valid_end=T_2029 + 10)
    assert renewed.seal_der is not None
    assert check_seal(renewed.seal_der).maker_cert != check_seal(row.seal_der or b"").maker_cert
    assert len(reg.trust_anchors()) == 2
    after = _sign_ofd(reg, row.es_id, clock.advance(60))
    for data in (before, after):
        report, _ = reg.verify_ofd(data)
        assert report.result == "VALID", report.reasons
