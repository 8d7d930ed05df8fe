"""Every validation rule, with good and bad inputs; the identifier vectors."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pyservice.errors import MalformedInputError
from pyservice.registry import errors as E
from pyservice.registry.validate import (
    check_resident_id,
    check_uscc,
    make_licence_id,
    mod37_36_check,
    parse_date,
    parse_licence_id,
    parse_licence_type,
    validate_issuer_code,
    validate_licence_body,
    validate_type_code,
)
from tests.registry_testkit import (
    AUTHORITY,
    BUSINESS_TYPE,
    DRIVING_TYPE,
    HOLDER_ORG,
    HOLDER_PERSON,
    ISSUER,
    TODAY,
    business_body,
    driving_body,
    resident_id,
    uscc,
)

VECTORS = Path(__file__).resolve().parents[3] / "shared" / "vectors" / "licence-ids.json"
BUSINESS = parse_licence_type(**BUSINESS_TYPE)
DRIVING = parse_licence_type(**DRIVING_TYPE)


# ---------------------------------------------------------- identifiers --


def _vector_cases() -> list[dict[str, Any]]:
    path = VECTORS if VECTORS.is_file() else Path("/work/shared/vectors/licence-ids.json")
    cases: list[dict[str, Any]] = json.loads(path.read_text(encoding="utf-8"))["cases"]
    return cases


@pytest.mark.parametrize("case", _vector_cases(), ids=lambda c: c["id"][-30:])
def test_licence_id_vectors(case: dict[str, Any]) -> None:
    if case.get("malformed"):
        with pytest.raises(E.MalformedLicenceIdError):
            parse_licence_id(case["id"])
        return
    parsed = parse_licence_id(case["id"])
    assert parsed.check_ok is case["check_ok"]
    assert parsed.expected_check == case.get("expected_check", parsed.check)
    assert str(parsed) == case["id"]
    if case["check_ok"]:
        assert (
            make_licence_id(parsed.type_code, parsed.issuer_code, parsed.serial, parsed.version)
            == case["id"]
        )


def test_mod37_36_known_values() -> None:
    # ISO/IEC 7064 MOD 37,36: a check character makes the whole string check to 1.
    for data in ("0", "A", "11100000000013338W03211220000013544541J2430599001"):
        # ISO 7064 hybrid check: over data and check character, the last sum is 1.
        p, s = 36, 0
        for ch in data + mod37_36_check(data):
            s = (p + int(ch, 36)) % 36 or 36
            p = (2 * s) % 37
        assert s == 1
    assert mod37_36_check("11100000000013338W03211220000013544541J2430599001") == "F"
    with pytest.raises(MalformedInputError):
        mod37_36_check("AB-C")


@given(st.text("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=1, max_size=40), st.data())
def test_mod37_36_detects_every_single_substitution(data: str, draw: st.DataObject) -> None:
    pos = draw.draw(st.integers(0, len(data) - 1))
    new = draw.draw(st.sampled_from("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"))
    if new != data[pos]:
        changed = data[:pos] + new + data[pos + 1 :]
        assert mod37_36_check(changed) != mod37_36_check(data)


@given(st.from_regex(r"[0-9A-Za-z]{1,64}", fullmatch=True), st.integers(1, 999))
def test_generated_ids_parse_with_a_correct_check(serial: str, version: int) -> None:
    text = make_licence_id(AUTHORITY + "032", ISSUER, serial, version)
    parsed = parse_licence_id(text)
    assert parsed.check_ok
    assert (parsed.serial, parsed.version) == (serial, version)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "1.2.156.3005.2",
        "1.2.156.3005.2.11100000000013338W032.11430000006122244L.1.001",
        "1.2.156.3005.2.11100000000013338W03.11430000006122244L.1.001.A",  # short type
        "1.2.156.3005.2.11100000000013338W032.1143000000612224.1.001.A",  # bad issuer
        "1.2.156.3005.2.11100000000013338W032.11430000006122244L.a-b.001.A",  # serial
        "1.2.156.3005.2.11100000000013338W032.11430000006122244L.1.01.A",  # version
        "1.2.156.3005.2.11100000000013338W032.11430000006122244L.1.000.A",
        "1.2.156.3005.2.11100000000013338W032.11430000006122244L.1.001.a",  # check
        "1.2.156.3005.2.11100000000013338W032.11430000006122244L.1.001.AB",
        "1.2.156.3005.2.11100000000013338W032.11430000006122244L." + "1" * 65 + ".001.A",
        "x" * 1000,
    ],
)
def test_malformed_ids(text: str) -> None:
    with pytest.raises(E.MalformedLicenceIdError):
        parse_licence_id(text)


def test_area_code_issuer_and_bad_make_arguments() -> None:
    assert parse_licence_id(make_licence_id(AUTHORITY + "032", "430000", "7")).check_ok
    for args in (
        (AUTHORITY + "03", ISSUER, "1", 1),
        (AUTHORITY + "032", "43000", "1", 1),
        (AUTHORITY + "032", ISSUER, "", 1),
        (AUTHORITY + "032", ISSUER, "1", 0),
        (AUTHORITY + "032", ISSUER, "1", 1000),
    ):
        with pytest.raises(E.MalformedLicenceIdError):
            make_licence_id(*args)


# ----------------------------------------------------------------- USCC --


@pytest.mark.parametrize(
    "code", ["11100000000013338W", "11430000006122244L", "11220000013544541J", HOLDER_ORG]
)
def test_valid_uscc(code: str) -> None:
    check_uscc(code)
    validate_issuer_code(code)


@pytest.mark.parametrize(
    ("code", "why"),
    [
        ("11100000000013338X", "check"),
        ("11100000000013338", "length"),
        ("11100000000013338WW", "length"),
        ("1110000000001333OW", "alphabet"),  # O is not in the alphabet
        ("11A00000000013338W", "area"),
    ],
)
def test_bad_uscc(code: str, why: str) -> None:
    with pytest.raises(E.InvalidUsccError):
        check_uscc(code)


@given(st.text(USCC_ALPHABET := "0123456789ABCDEFGHJKLMNPQRTUWXY", min_size=9, max_size=9))
def test_uscc_check_agrees_with_the_standard(tail: str) -> None:
    code = uscc("91350100" + tail)
    check_uscc(code)
    wrong = code[:17] + next(c for c in USCC_ALPHABET if c != code[17])
    with pytest.raises(E.InvalidUsccError):
        check_uscc(wrong)


def test_issuer_and_type_codes() -> None:
    validate_issuer_code("430000")
    for bad in ("030000", "4300001", "abc"):
        with pytest.raises(E.InvalidUsccError):
            validate_issuer_code(bad)
    validate_type_code(AUTHORITY + "032")
    for bad in (AUTHORITY + "03A", "11100000000013338X032", AUTHORITY):
        with pytest.raises(E.InvalidLicenceTypeError):
            validate_type_code(bad)


# ---------------------------------------------------------- resident ID --


def test_valid_resident_ids() -> None:
    check_resident_id(HOLDER_PERSON, today=TODAY)
    check_resident_id(resident_id("43010219900307123"), today=TODAY)
    check_resident_id("110105491231002", today=TODAY, allow_legacy=True)


@pytest.mark.parametrize(
    ("number", "error"),
    [
        ("110105194912310021", E.InvalidResidentIdError),  # check is X
        ("11010519491231002x", E.InvalidResidentIdError),  # lower-case x
        ("1101051949123100", E.InvalidResidentIdError),
        ("A10105194912310021", E.InvalidResidentIdError),
        (resident_id("11010519490231002"), E.InvalidResidentIdError),  # 31 February
        (resident_id("11010520991231002"), E.InvalidResidentIdError),  # future
        (resident_id("01010519491231002"), E.InvalidResidentIdError),  # address 0
        ("110105491231002", E.LegacyResidentIdError),
        ("".join(chr(ord(c) + 0xFEE0) for c in HOLDER_PERSON), E.InvalidResidentIdError),
    ],
)
def test_bad_resident_ids(number: str, error: type[Exception]) -> None:
    with pytest.raises(error):
        check_resident_id(number, today=TODAY)


def test_bad_legacy_resident_ids() -> None:
    for bad in ("11010549123100A", "110105490231002"):
        with pytest.raises(E.InvalidResidentIdError):
            check_resident_id(bad, today=TODAY, allow_legacy=True)


# ---------------------------------------------------------------- dates --


def test_dates() -> None:
    assert parse_date("2024-02-29", "d") == dt.date(2024, 2, 29)
    for bad in ("2023-02-29", "2024-2-29", "20240229", "2024-02-29T00:00", None, 20240229):
        with pytest.raises(E.InvalidDateError):
            parse_date(bad, "d")


# -------------------------------------------------------- licence types --


def test_licence_type_schema_errors() -> None:
    good = dict(BUSINESS_TYPE)
    changes: tuple[dict[str, Any], ...] = (
        {"code": "X"},
        {"name": ""},
        {"authority": ""},
        {"schema": []},
        {"schema": {"extra": 1}},
        {"schema": {"holder_id_types": ["999"]}},
        {"schema": {"holder_id_types": []}},
        {"schema": {"number_is_holder_id": "yes"}},
        {"schema": {"fields": [{"name": "Bad-Name"}]}},
        {"schema": {"fields": [{"name": "a"}, {"name": "a"}]}},
        {"schema": {"fields": [{"name": "a", "pattern": "("}]}},
        {"schema": {"fields": [{"name": "a", "max_length": 0}]}},
        {"schema": {"fields": [{"name": "a", "colour": "red"}]}},
        {"schema": {"fields": "a"}},
        {"sensitive": ["face.nope"]},
        {"sensitive": ["holder.phone"]},
        {"sensitive": "holder.id"},
    )
    for change in changes:
        with pytest.raises(E.InvalidLicenceTypeError):
            parse_licence_type(**{**good, **change})


# ---------------------------------------------------------- licence body --


def test_valid_bodies() -> None:
    assert validate_licence_body(business_body(), BUSINESS, today=TODAY).check_ok
    validate_licence_body(business_body(file_sm3="ab" * 32), BUSINESS, today=TODAY)
    validate_licence_body(driving_body(), DRIVING, today=TODAY)


def _with(body: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    out: dict[str, Any] = json.loads(json.dumps(body))
    parts = path.split(".")
    target = out
    for part in parts[:-1]:
        target = target[part]
    if value is _DELETE:
        del target[parts[-1]]
    else:
        target[parts[-1]] = value
    return out


_DELETE = object()
_WRONG_CHECK = business_body()["id"][:-1] + (
    "A" if not business_body()["id"].endswith("A") else "B"
)


@pytest.mark.parametrize(
    ("path", "value", "error"),
    [
        ("extra", 1, E.InvalidLicenceBodyError),
        ("number", _DELETE, E.InvalidLicenceBodyError),
        ("version", "1", E.InvalidLicenceBodyError),
        ("version", True, E.InvalidLicenceBodyError),
        ("file_sm3", "AB" * 32, E.InvalidLicenceBodyError),
        ("issuer", {"name": "x"}, E.InvalidLicenceBodyError),
        ("id", "1.2.156.3005.2.x", E.MalformedLicenceIdError),
        ("id", _WRONG_CHECK, E.LicenceIdCheckError),
        ("version", 2, E.LicenceIdMismatchError),
        ("issuer.code", HOLDER_ORG, E.LicenceIdMismatchError),
        ("type_name", "食品经营许可证", E.InvalidLicenceBodyError),
        ("holder", {"name": "x", "id": HOLDER_ORG}, E.InvalidHolderError),
        ("holder.name", " ", E.InvalidHolderError),
        ("holder.id_type", "111", E.InvalidHolderError),  # type allows 001 only
        ("holder.id", HOLDER_ORG[:17] + "0", E.InvalidUsccError),
        ("holder.id", 5, E.InvalidHolderError),
        ("issued_on", "2024-13-01", E.InvalidDateError),
        ("issued_on", "2027-01-01", E.InvalidDateError),  # future
        ("valid_until", "2024-02-01", E.InvalidDateError),  # before valid_from
        ("valid_from", None, E.InvalidDateError),
        ("face", [], E.InvalidFaceFieldError),
        ("face.colour", "red", E.UnknownFaceFieldError),
        ("face.legal_representative", _DELETE, E.MissingFaceFieldError),
        ("face.legal_representative", "  ", E.MissingFaceFieldError),
        ("face.legal_representative", "x" * 65, E.InvalidFaceFieldError),
        ("face.registered_capital", "lots", E.InvalidFaceFieldError),
        ("face.registered_capital", 100, E.InvalidFaceFieldError),
    ],
)
def test_bad_bodies(path: str, value: Any, error: type[Exception]) -> None:
    with pytest.raises(error):
        validate_licence_body(_with(business_body(), path, value), BUSINESS, today=TODAY)


def test_body_of_another_type_and_driving_rules() -> None:
    with pytest.raises(E.LicenceIdMismatchError):
        validate_licence_body(business_body(), DRIVING, today=TODAY)
    body = driving_body()
    with pytest.raises(E.InvalidLicenceBodyError):  # 驾驶证 number is the ID number
        validate_licence_body({**body, "number": "123"}, DRIVING, today=TODAY)
    bad_id = resident_id("11010519491231003")[:17] + "0"
    with pytest.raises(E.InvalidResidentIdError):
        validate_licence_body(
            {**body, "number": bad_id, "holder": {**body["holder"], "id": bad_id}},
            DRIVING,
            today=TODAY,
        )
    legacy = "110105491231002"
    with pytest.raises(E.LegacyResidentIdError):
        validate_licence_body(
            {**body, "number": legacy, "holder": {**body["holder"], "id": legacy}},
            DRIVING,
            today=TODAY,
        )
    with pytest.raises(E.InvalidLicenceBodyError):
        validate_licence_body([], DRIVING, today=TODAY)  # type: ignore[arg-type]


def test_validation_errors_are_4xx_with_codes() -> None:
    classes = [getattr(E, name) for name in E.__all__]
    codes = [cls.code for cls in classes]
    assert len(set(codes)) == len(codes)
    assert all(400 <= cls.http_status < 500 for cls in classes)
