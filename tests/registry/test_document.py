"""Signed licence documents: export from the registry, offline verification,
tampering of every part, malformed documents."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pyservice.errors import MalformedInputError
from pyservice.registry.document import parse_document, verify_document
from pyservice.registry.errors import MalformedLicenceIdError
from pyservice.registry.keys import TrustedKey
from pyservice.registry.service import Registry
from tests.registry_testkit import TODAY, business_body, data_dir, open_registry, trust_of


@pytest.fixture
def registry(tmp_path: Path) -> Iterator[Registry]:
    reg = open_registry(data_dir(tmp_path))
    yield reg
    reg.store.close()


def _doc(registry: Registry, serial: str = "D1") -> dict[str, Any]:
    row = registry.issue(business_body(serial))
    registry.issue(business_body(serial + "x"))  # the tree grows past the entry
    return registry.export(row.id)


def _verify(doc: dict[str, Any], trust: dict[str, TrustedKey], status: str | None = "VALID") -> Any:
    return verify_document(parse_document(json.dumps(doc)), trust, today=TODAY, status=status)


def _checks(report: Any) -> dict[str, bool | None]:
    return {c.name: c.ok for c in report.checks}


def test_exported_document_verifies(registry: Registry) -> None:
    doc = _doc(registry)
    assert set(doc) == {"licence", "signature", "ledger"}
    assert doc["signature"]["alg"] == "SM2-SM3"
    report = _verify(doc, trust_of(registry))
    assert report.result == "VALID", report.to_json()
    assert _checks(report) == {
        "signature": True,
        "issuer_key": True,
        "ledger": True,
        "validity_period": True,
        "status": True,
    }
    # Offline (no status source): never VALID.
    offline = _verify(doc, trust_of(registry), status=None)
    assert offline.result == "UNDETERMINED"
    assert offline.status == "UNDETERMINED"
    revoked = _verify(doc, trust_of(registry), status="REVOKED")
    assert revoked.result == "INVALID"


@pytest.mark.parametrize(
    ("mutate", "failing"),
    [
        (lambda d: d["licence"]["face"].update(legal_representative="李四"), "signature"),
        (lambda d: d["licence"].update(number="N2"), "signature"),
        (lambda d: d["signature"].update(value=d["ledger"]["sth"]["signature"]), "signature"),
        (lambda d: d["ledger"].update(index=d["ledger"]["index"] + 1), "ledger"),
        (lambda d: d["ledger"].update(at=d["ledger"]["at"] + 1), "ledger"),
        (lambda d: d["ledger"]["proof"].append("00" * 32), "ledger"),
        (lambda d: d["ledger"].update(root="11" * 32), "ledger"),
        (lambda d: d["ledger"]["sth"].update(timestamp=1), "ledger"),
        (lambda d: d["licence"].update(valid_until="2025-01-01"), "validity_period"),
    ],
)
def test_tampering_is_detected(registry: Registry, mutate: Any, failing: str) -> None:
    doc = _doc(registry)
    mutate(doc)
    report = _verify(doc, trust_of(registry))
    assert report.result == "INVALID"
    assert _checks(report)[failing] is False


def test_untrusted_or_wrong_keys(registry: Registry) -> None:
    doc = _doc(registry)
    trust = trust_of(registry)
    issuer_kid = doc["signature"]["kid"]
    without_issuer = {k: v for k, v in trust.items() if k != issuer_kid}
    assert _checks(_verify(doc, without_issuer))["signature"] is False
    ledger_kid = doc["ledger"]["sth"]["kid"]
    without_ledger = {k: v for k, v in trust.items() if k != ledger_kid}
    assert _checks(_verify(doc, without_ledger))["ledger"] is False
    # A key marked compromised no longer vouches for what it signed.
    key = trust[issuer_kid]
    compromised = {
        **trust,
        issuer_kid: TrustedKey(
            key.kid, key.owner, key.purpose, key.public_key, key.valid_from, None, "compromised"
        ),
    }
    assert _checks(_verify(doc, compromised))["issuer_key"] is False
    # A key whose window opened after issuance.
    late = {
        **trust,
        issuer_kid: TrustedKey(
            key.kid, key.owner, key.purpose, key.public_key, doc["ledger"]["at"] + 1, None, "active"
        ),
    }
    assert _checks(_verify(doc, late))["issuer_key"] is False


def test_without_ledger_part(registry: Registry) -> None:
    doc = _doc(registry)
    del doc["ledger"]
    report = _verify(doc, trust_of(registry))
    assert report.result == "UNDETERMINED"
    assert _checks(report)["ledger"] is None
    assert _checks(report)["signature"] is True


def test_trust_list_round_trip(registry: Registry) -> None:
    for key in registry.keyring.trust_list():
        assert TrustedKey.from_json(json.loads(json.dumps(key.to_json()))) == key
    entry = registry.keyring.trust_list()[0].to_json()
    with pytest.raises(MalformedInputError):
        TrustedKey.from_json({**entry, "kid": "00" * 8})
    with pytest.raises(MalformedInputError):
        TrustedKey.from_json({})


@pytest.mark.parametrize(
    "text",
    [
        b"",
        b"[]",
        b"{}",
        b'{"licence": {}, "signature": {}}',
        b'{"licence": {"id": "x"}, "signature": {"alg": "SM2-SM3", "kid": "00", "value": ""}}',
        b'{"licence": {"id": "x", "n": 1.5}, "signature": {}}',
        b'{"licence": {"id": "x", "id": "y"}, "signature": {}}',
        b'{"licence": {"id": "x"}, "signature": {"alg": "RSA", "kid": "0011223344556677", '
        b'"value": ""}}',
        b'{"licence": {"id": "x"}, "signature": {"alg": "SM2-SM3", "kid": "0011223344556677", '
        b'"value": "!!"}}',
        b'{"licence": {"id": "x"}, "signature": {"alg": "SM2-SM3", "kid": "0011223344556677", '
        b'"value": ""}, "ledger": {"index": -1}}',
        b'{"licence": {"id": "x"}, "signature": {"alg": "SM2-SM3", "kid": "0011223344556677", '
        b'"value": ""}, "extra": 1}',
        b"[" * 100000,
        b'{"a": NaN}',
        b" " * 300000,
    ],
)
def test_malformed_documents(text: bytes) -> None:
    with pytest.raises(MalformedInputError):
        parse_document(text)


def test_malformed_ledger_parts(registry: Registry) -> None:
    doc = _doc(registry)
    for key, value in (
        ("proof", ["zz"]),
        ("proof", ["00" * 32] * 65),
        ("root", "00"),
        ("at", True),
    ):
        bad = json.loads(json.dumps(doc))
        bad["ledger"][key] = value
        with pytest.raises(MalformedInputError):
            parse_document(json.dumps(bad))
    bad = json.loads(json.dumps(doc))
    bad["licence"]["id"] = "1.2.156.3005.9.x"
    with pytest.raises(MalformedLicenceIdError):
        verify_document(parse_document(json.dumps(bad)), trust_of(registry), today=TODAY)


# ---- property tests of the parser (hypothesis) ------------------------------

_JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**60), 2**60) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_any_bytes_parse_or_are_malformed(data: bytes) -> None:
    try:
        parse_document(data)
    except MalformedInputError:
        return


@settings(max_examples=300, deadline=None)
@given(_JSON, _JSON, _JSON)
def test_any_json_shape_parses_or_is_malformed(licence: Any, signature: Any, ledger: Any) -> None:
    for doc in ({"licence": licence, "signature": signature, "ledger": ledger}, licence):
        try:
            parse_document(json.dumps(doc))
        except MalformedInputError:
            continue


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[dict[str, Any], Any]]:
    reg = open_registry(data_dir(tmp_path_factory.mktemp("doc-props")))
    doc = _doc(reg, "P1")
    trust = trust_of(reg)
    yield doc, trust
    reg.store.close()


_FIELDS = ("number", "issued_on", "valid_from", "type_name", "version", "holder", "face")


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.sampled_from(_FIELDS), _JSON)
def test_a_changed_body_field_is_never_valid(
    exported: tuple[dict[str, Any], Any], field: str, value: Any
) -> None:
    doc, trust = exported
    changed = json.loads(json.dumps(doc))
    if changed["licence"].get(field) == value:
        return
    changed["licence"][field] = value
    try:
        report = _verify(changed, trust)
    except MalformedInputError:
        return
    assert report.result != "VALID"
