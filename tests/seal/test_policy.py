"""Trust and verdict rules."""

from __future__ import annotations

from pyservice.seal.anchors import pem_certificates
from pyservice.seal.policy import chain_status, document_result
from pyservice.seal.report import Check, SignatureReport
from tests.seal_testkit import seal_bytes

[CERT] = pem_certificates(seal_bytes("sign_cert.pem"))
IN_VALIDITY = 1_660_000_000  # 2022-08
AFTER = 1_720_000_000  # 2024-07
BEFORE = 1_500_000_000  # 2017-07


def _report(
    *, checks_ok: bool = True, chain: str = "trusted", maker: str | None = "trusted"
) -> SignatureReport:
    return SignatureReport(
        signature_xml="Doc_0/Signs/Sign_0/Signature.xml",
        signed_value="Doc_0/Signs/Sign_0/SignedValue.dat",
        type="Seal",
        format="SES_V4",
        signature_ok=True,
        seal_signature_ok=True,
        data_hash_ok=True,
        check_method="SM3",
        references_total=1,
        references_failed=[],
        seal_name=None,
        es_id=None,
        signer_subject=None,
        signed_at=None,
        certificate_chain=chain,  # type: ignore[arg-type]
        certificate_valid_at_signing=True,
        certificate_valid_now=True,
        seal_maker_chain=maker,  # type: ignore[arg-type]
        checks=[Check("signature", checks_ok)],
    )


def test_chain_status() -> None:
    assert chain_status(CERT, [], [CERT], IN_VALIDITY, IN_VALIDITY) == ("trusted", True, True)
    assert chain_status(CERT, [], [CERT], IN_VALIDITY, AFTER) == ("expired_now", True, False)
    assert chain_status(CERT, [], [CERT], BEFORE, IN_VALIDITY) == (
        "expired_at_signing",
        False,
        True,
    )
    assert chain_status(CERT, [], [], IN_VALIDITY, IN_VALIDITY) == ("untrusted", True, True)
    assert chain_status(CERT, [], [CERT], None, IN_VALIDITY) == ("untrusted", None, True)
    assert chain_status(None, [], [CERT], IN_VALIDITY, IN_VALIDITY)[0] == "bad_certificate"
    assert chain_status(b"junk", [], [CERT], IN_VALIDITY, IN_VALIDITY)[0] == "bad_certificate"


def test_document_result() -> None:
    assert document_result([_report()], True) == ("VALID", [])
    assert document_result([_report()], False)[0] == "INTACT_UNTRUSTED"
    assert document_result([_report(checks_ok=False)], False)[0] == "INVALID"
    assert document_result([_report(checks_ok=False)], True)[0] == "INVALID"
    assert document_result([_report(chain="untrusted")], True)[0] == "INVALID"
    assert document_result([_report(maker="expired_now")], True)[0] == "INVALID"
    assert document_result([_report(maker=None)], True)[0] == "VALID"
    assert document_result([], True)[0] == "INVALID"
    assert document_result([], False)[0] == "INVALID"
    assert document_result([_report(), _report(chain="expired_at_signing")], True)[0] == "INVALID"
