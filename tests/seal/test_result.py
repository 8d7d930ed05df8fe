"""OFD and signed-value reports in the api.md result shape: the decided
verdict agrees with the report's own result on every vector and on our
own documents, trusted or not."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from pyservice.seal import verify_ofd, verify_signed_value
from pyservice.seal.result import ofd_result, signed_value_result
from pyservice.seal.standing import SealStanding, apply_to_report
from tests.seal_testkit import (
    T_2024,
    T_2026,
    T_2029,
    expected,
    make_pki,
    make_signed_ofd,
    ofd_bytes,
    ofd_entries,
    rewrite_ofd_bytes,
)

AT = datetime.fromtimestamp(T_2026 + 3600, UTC)
AGREE = {"VALID": "VALID", "INTACT_UNTRUSTED": "UNDETERMINED", "INVALID": "INVALID"}
PKI = make_pki()


@pytest.mark.parametrize("name", [f["file"] for f in expected()])
def test_vectors_agree(name: str) -> None:
    report = verify_ofd(ofd_bytes(name))
    out = ofd_result(report, [], AT)
    assert out["result"] == AGREE[report.result]
    assert out["status"] == "VALID"
    assert out["report"] == report.to_dict()


@pytest.mark.parametrize("anchors", [[], [PKI.root], [make_pki().root]])
def test_own_documents_agree(anchors: list[bytes]) -> None:
    data = make_signed_ofd(PKI)
    report = verify_ofd(data, trust_anchors=anchors, intermediates=[PKI.intermediate], at=AT)
    out = ofd_result(report, [], AT)
    assert out["result"] == AGREE[report.result]
    chain = [c for c in out["checks"] if c["name"] == "certificate_chain"]
    assert len(chain) == 1
    assert chain[0]["ok"] is {0: None}.get(len(anchors), report.result == "VALID")


def test_cancelled_status_and_no_signatures() -> None:
    report = verify_ofd(
        make_signed_ofd(PKI), trust_anchors=[PKI.root], intermediates=[PKI.intermediate], at=AT
    )
    gone = SealStanding(
        "11010000000001", "cancelled", T_2024 * 1000, T_2024 * 1000 + 1, ((T_2024, T_2029),)
    )
    updated, kinds = apply_to_report(report, {"11010000000001": gone})
    out = ofd_result(updated, kinds, AT)
    assert (out["result"], out["status"]) == ("INVALID", "CANCELLED")
    assert out["status_as_of"].startswith("2026-01-01T01:00:00")

    def no_signatures(e: dict[str, bytes]) -> None:
        e["Doc_0/Signs/Signatures.xml"] = (
            b'<ofd:Signatures xmlns:ofd="http://www.ofdspec.org/2016"/>'
        )

    empty = verify_ofd(rewrite_ofd_bytes(make_signed_ofd(PKI), no_signatures))
    out = ofd_result(empty, [], AT)
    assert out["result"] == "INVALID"
    assert out["checks"] == [
        {"name": "signatures", "ok": False, "detail": "the document has no signatures"}
    ]


def test_signed_value_agrees() -> None:
    entries = ofd_entries(make_signed_ofd(PKI))
    value = entries["Doc_0/Signs/Sign_0/SignedValue.dat"]
    xml = entries["Doc_0/Signs/Sign_0/Signature.xml"]
    for anchors, data in [([], xml), ([PKI.root], xml), ([PKI.root], b"other")]:
        verdict = verify_signed_value(
            value, data=data, trust_anchors=anchors, intermediates=[PKI.intermediate], at=AT
        )
        out = signed_value_result(verdict, [], AT, bool(anchors))
        assert out["result"] == AGREE[verdict.result]
        assert out["warnings"] == ["seal_status_unknown"]
