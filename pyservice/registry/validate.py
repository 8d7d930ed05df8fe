"""Validation rules of the registry (pure: no I/O, no clock — callers pass ``today``).

- Licence identifier (GB/T 36904-2018, formats.md): parse, check character
  (ISO/IEC 7064 MOD 37,36), generate.
- Unified social credit code (GB 32100-2015) and resident ID number
  (GB 11643-1999; the 15-digit numbers of the earlier edition only where the
  caller allows them).
- Dates ``YYYY-MM-DD`` and the validity period.
- Licence types: the face-field schema, and a licence body against it.

Every rule raises its own :mod:`pyservice.registry.errors` class, so a
caller (HTTP, CLI, bulk import) reports a stable code per failure.
"""

from __future__ import annotations

import datetime as dt
import operator
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from pyservice.registry.errors import (
    InvalidDateError,
    InvalidFaceFieldError,
    InvalidHolderError,
    InvalidLicenceBodyError,
    InvalidLicenceTypeError,
    InvalidResidentIdError,
    InvalidUsccError,
    LegacyResidentIdError,
    LicenceIdCheckError,
    LicenceIdMismatchError,
    MalformedLicenceIdError,
    MissingFaceFieldError,
    UnknownFaceFieldError,
)

__all__ = [
    "BODY_FIELDS",
    "ID_TYPE_RESIDENT",
    "ID_TYPE_USCC",
    "LICENCE_ID_PREFIX",
    "FaceField",
    "LicenceId",
    "LicenceType",
    "check_resident_id",
    "check_uscc",
    "make_licence_id",
    "mod37_36_check",
    "parse_date",
    "parse_licence_id",
    "parse_licence_type",
    "resident_id_check_char",
    "uscc_check_char",
    "validate_issuer_code",
    "validate_licence_body",
    "validate_type_code",
]

LICENCE_ID_PREFIX: Final = "1.2.156.3005.2."
ID_TYPE_RESIDENT: Final = "111"  # 公民身份号码
ID_TYPE_USCC: Final = "001"  # 统一社会信用代码

#: Bounds on untrusted sizes.
MAX_SERIAL_LEN: Final = 64
MAX_TEXT_LEN: Final = 1024
MAX_FACE_FIELDS: Final = 64

# ------------------------------------------------------ MOD 37,36 (ISO 7064) --

_ALNUM36: Final = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_ALNUM36_VALUE: Final = {c: i for i, c in enumerate(_ALNUM36)}


def _mod37_36_table() -> tuple[dict[str, int], ...]:
    # _NEXT[p][char] = the next P of the MOD 37,36 recurrence (below).
    table = []
    for p in range(37):
        row = {}
        for char, a in _ALNUM36_VALUE.items():
            s = (p + a) % 36 or 36
            row[char] = row[char.lower()] = (2 * s) % 37
        table.append(row)
    return tuple(table)


_NEXT: Final = _mod37_36_table()


def mod37_36_check(data: str) -> str:
    """The ISO/IEC 7064 MOD 37,36 check character of ``data`` (``0-9A-Z``;
    lower-case letters count as upper case, formats.md serials allow them):
    ``P = 36``; per character value ``a``: ``S = (P + a) mod 36`` (36 if 0),
    ``P = 2S mod 37``; check = alphabet[(37 - P) mod 36]. The recurrence is
    tabulated per (P, character)."""
    p = 36
    table = _NEXT
    try:
        for char in data:
            p = table[p][char]
    except KeyError:
        raise MalformedLicenceIdError(f"{data!r} has characters outside 0-9A-Za-z") from None
    return _ALNUM36[(37 - p) % 36]


# ------------------------------------------------ USCC (GB 32100-2015) --

_USCC_ALPHABET: Final = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_VALUE: Final = {c: i for i, c in enumerate(_USCC_ALPHABET)}
_USCC_WEIGHTS: Final = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_AREA_CODE: Final = re.compile(r"[1-9][0-9]{5}")
_USCC_FORM: Final = re.compile(r"[0-9A-HJ-NPQRTUWXY]{18}")


def uscc_check_char(first17: str) -> str:
    """The GB 32100 check character for 17 characters of the USCC alphabet."""
    if len(first17) != 17 or not _USCC_FORM.fullmatch(first17 + "0"):
        raise InvalidUsccError("need 17 characters of the GB 32100 alphabet")
    total = sum(map(operator.mul, map(_USCC_VALUE.__getitem__, first17), _USCC_WEIGHTS))
    return _USCC_ALPHABET[(31 - total % 31) % 31]


def check_uscc(code: str) -> None:
    """Raise :class:`InvalidUsccError` unless ``code`` is a USCC: 18
    characters of the GB 32100 alphabet (no I, O, S, V, Z), an
    administrative division code (digits) in positions 3-8, and the check
    character of GB 32100 §5 (weights 3^(i-1) mod 31) in position 18."""
    if not isinstance(code, str) or len(code) != 18:
        raise InvalidUsccError("a unified social credit code has 18 characters")
    if not _USCC_FORM.fullmatch(code):
        bad = next(i for i, char in enumerate(code) if char not in _USCC_VALUE)
        raise InvalidUsccError(f"character {bad + 1} is not in the GB 32100 alphabet")
    if not code[2:8].isdigit():
        raise InvalidUsccError("positions 3-8 must be an administrative division code")
    if code[17] != uscc_check_char(code[:17]):
        raise InvalidUsccError("check character does not match (GB 32100)")


# ----------------------------------------- resident ID (GB 11643-1999) --

_ID_WEIGHTS: Final = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK: Final = "10X98765432"
_EARLIEST_BIRTH: Final = dt.date(1880, 1, 1)


def resident_id_check_char(first17: str) -> str:
    """The GB 11643 (ISO 7064 MOD 11-2) check character for 17 digits."""
    if len(first17) != 17 or not first17.isascii() or not first17.isdigit():
        raise InvalidResidentIdError("need 17 digits")
    total = sum(map(operator.mul, map(int, first17), _ID_WEIGHTS))
    return _ID_CHECK[total % 11]


def check_resident_id(number: str, *, today: dt.date, allow_legacy: bool = False) -> None:
    """Raise :class:`InvalidResidentIdError` unless ``number`` is a citizen
    ID number: 17 digits (6-digit address code, birth date ``YYYYMMDD`` not
    in the future, 3-digit sequence) and the ISO 7064 MOD 11-2 check
    character (``0-9`` or ``X``). The 15-digit numbers of GB 11643-1989
    (``YYMMDD`` of the 1900s, no check character) are accepted only with
    ``allow_legacy`` (existing records being converted), else
    :class:`LegacyResidentIdError`."""
    if not isinstance(number, str):
        raise InvalidResidentIdError("resident ID number must be a string")
    if len(number) == 15:
        if not allow_legacy:
            raise LegacyResidentIdError(
                "15-digit resident ID numbers (GB 11643-1989) are not accepted here"
            )
        if not number.isascii() or not number.isdigit():
            raise InvalidResidentIdError("a 15-digit resident ID number has only digits")
        _check_birth("19" + number[6:12], today)
        _check_address(number)
        return
    if len(number) != 18:
        raise InvalidResidentIdError("a resident ID number has 18 characters")
    body = number[:17]
    if not body.isascii() or not body.isdigit():
        raise InvalidResidentIdError("the first 17 characters must be digits")
    _check_address(number)
    _check_birth(number[6:14], today)
    if number[17] != resident_id_check_char(body):
        raise InvalidResidentIdError("check character does not match (GB 11643)")


def _check_address(number: str) -> None:
    if number[0] == "0":
        raise InvalidResidentIdError("address code must not start with 0")


def _check_birth(yyyymmdd: str, today: dt.date) -> None:
    try:
        born = dt.date(int(yyyymmdd[:4]), int(yyyymmdd[4:6]), int(yyyymmdd[6:8]))
    except ValueError as exc:
        raise InvalidResidentIdError("birth date does not exist") from exc
    if not _EARLIEST_BIRTH <= born <= today:
        raise InvalidResidentIdError("birth date is out of range")


# ------------------------------------------------- licence identifier --

_SERIAL: Final = re.compile(r"[0-9A-Za-z]{1,64}")
_TYPE_CODE: Final = re.compile(r"[0-9A-Z]{18}[0-9]{3}")


@dataclass(frozen=True, slots=True)
class LicenceId:
    """A parsed identifier ``1.2.156.3005.2.<type>.<issuer>.<serial>.<version>.<check>``."""

    type_code: str
    issuer_code: str
    serial: str
    version: int
    check: str
    expected_check: str

    @property
    def check_ok(self) -> bool:
        return self.check == self.expected_check

    def __str__(self) -> str:
        return (
            f"{LICENCE_ID_PREFIX}{self.type_code}.{self.issuer_code}."
            f"{self.serial}.{self.version:03d}.{self.check}"
        )


def parse_licence_id(text: str) -> LicenceId:
    """Parse an identifier; :class:`MalformedLicenceIdError` if its form is
    wrong. A wrong check character is *not* an error here (formats.md:
    third-party identifiers are accepted with a warning): see ``check_ok``."""
    if not isinstance(text, str) or len(text) > 200:
        raise MalformedLicenceIdError("licence identifier must be a string of at most 200 chars")
    if not text.startswith(LICENCE_ID_PREFIX):
        raise MalformedLicenceIdError("licence identifier must start with 1.2.156.3005.2.")
    parts = text[len(LICENCE_ID_PREFIX) :].split(".")
    if len(parts) != 5:
        raise MalformedLicenceIdError(
            "licence identifier needs type, issuer, serial, version and check"
        )
    type_code, issuer_code, serial, version, check = parts
    _check_id_parts(type_code, issuer_code, serial)
    if len(version) != 3 or not version.isdigit() or version == "000":
        raise MalformedLicenceIdError("version must be 3 digits, 001 first")
    if len(check) != 1 or check not in _ALNUM36:
        raise MalformedLicenceIdError("check character must be one of 0-9A-Z")
    expected = mod37_36_check(type_code + issuer_code + serial + version)
    return LicenceId(type_code, issuer_code, serial, int(version), check, expected)


def make_licence_id(type_code: str, issuer_code: str, serial: str, version: int = 1) -> str:
    """The identifier with its correct check character (input validated)."""
    if not 1 <= version <= 999:
        raise MalformedLicenceIdError("version must be in 1..999")
    _check_id_parts(type_code, issuer_code, serial)
    v = f"{version:03d}"
    check = mod37_36_check(type_code + issuer_code + serial + v)
    return f"{LICENCE_ID_PREFIX}{type_code}.{issuer_code}.{serial}.{v}.{check}"


def _check_id_parts(type_code: str, issuer_code: str, serial: str) -> None:
    if not _TYPE_CODE.fullmatch(type_code):
        raise MalformedLicenceIdError("type code must be an 18-character USCC and 3 digits")
    if not (_is_uscc_form(issuer_code) or _AREA_CODE.fullmatch(issuer_code)):
        raise MalformedLicenceIdError("issuer code must be a USCC or a 6-digit area code")
    if not _SERIAL.fullmatch(serial):
        raise MalformedLicenceIdError("serial must be 1-64 characters of [0-9A-Za-z]")


def _is_uscc_form(code: str) -> bool:
    return _USCC_FORM.fullmatch(code) is not None


def validate_issuer_code(code: str) -> None:
    """An issuer code: a valid USCC, or a 6-digit administrative area code."""
    if isinstance(code, str) and _AREA_CODE.fullmatch(code):
        return
    check_uscc(code)


def validate_type_code(code: str) -> None:
    """A licence type code: the defining authority's USCC (valid) + 3 digits."""
    if not isinstance(code, str) or not _TYPE_CODE.fullmatch(code):
        raise InvalidLicenceTypeError("type code must be an 18-character USCC and 3 digits")
    try:
        check_uscc(code[:18])
    except InvalidUsccError as exc:
        raise InvalidLicenceTypeError(f"type code's authority: {exc}") from exc


# ---------------------------------------------------------------- dates --

_DATE: Final = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def parse_date(value: Any, field: str) -> dt.date:
    """A strict ``YYYY-MM-DD`` date that exists (:class:`InvalidDateError`)."""
    if not isinstance(value, str) or not _DATE.fullmatch(value):
        raise InvalidDateError(f"{field} must be a date YYYY-MM-DD")
    try:
        return dt.date.fromisoformat(value)
    except ValueError as exc:
        raise InvalidDateError(f"{field} is not a calendar date") from exc


# ------------------------------------------------------- licence types --


@dataclass(frozen=True, slots=True)
class FaceField:
    name: str
    label: str
    required: bool
    max_length: int
    pattern: re.Pattern[str] | None


@dataclass(frozen=True, slots=True)
class LicenceType:
    """A licence type with its parsed face-field schema.

    Schema JSON: ``{"holder_id_types": ["111" | "001", ...],
    "number_is_holder_id": bool, "fields": [{"name", "label", "required",
    "max_length", "pattern"}, ...]}`` (``pattern``: a full-match regex).
    ``sensitive`` lists classified field paths (``holder.name``,
    ``holder.id``, ``face.<name>``) that responses mask (security.md).
    """

    code: str
    name: str
    authority: str
    holder_id_types: tuple[str, ...]
    number_is_holder_id: bool
    fields: tuple[FaceField, ...]
    sensitive: tuple[str, ...]

    def field(self, name: str) -> FaceField | None:
        for face_field in self.fields:
            if face_field.name == name:
                return face_field
        return None


_FIELD_NAME: Final = re.compile(r"[a-z][a-z0-9_]{0,63}")
_SENSITIVE_PATH: Final = re.compile(r"(holder\.(name|id)|face\.[a-z][a-z0-9_]{0,63})")


def parse_licence_type(
    code: str, name: str, authority: str, schema: Any, sensitive: Sequence[str]
) -> LicenceType:
    """Validate a type definition (:class:`InvalidLicenceTypeError`)."""
    validate_type_code(code)
    if not isinstance(name, str) or not 0 < len(name) <= 128:
        raise InvalidLicenceTypeError("type name must be 1-128 characters")
    if not isinstance(authority, str) or not 0 < len(authority) <= 256:
        raise InvalidLicenceTypeError("defining authority must be 1-256 characters")
    if not isinstance(schema, Mapping):
        raise InvalidLicenceTypeError("face-field schema must be a JSON object")
    unknown = set(schema) - {"holder_id_types", "number_is_holder_id", "fields"}
    if unknown:
        raise InvalidLicenceTypeError(f"unknown schema keys {sorted(unknown)}")
    id_types = schema.get("holder_id_types", [ID_TYPE_RESIDENT, ID_TYPE_USCC])
    if (
        not isinstance(id_types, list)
        or not id_types
        or any(t not in (ID_TYPE_RESIDENT, ID_TYPE_USCC) for t in id_types)
    ):
        raise InvalidLicenceTypeError("holder_id_types must list '111' and/or '001'")
    number_is_holder_id = schema.get("number_is_holder_id", False)
    if not isinstance(number_is_holder_id, bool):
        raise InvalidLicenceTypeError("number_is_holder_id must be a boolean")
    raw_fields = schema.get("fields", [])
    if not isinstance(raw_fields, list) or len(raw_fields) > MAX_FACE_FIELDS:
        raise InvalidLicenceTypeError(f"fields must be a list of at most {MAX_FACE_FIELDS}")
    fields = tuple(_parse_face_field(raw) for raw in raw_fields)
    names = [f.name for f in fields]
    if len(set(names)) != len(names):
        raise InvalidLicenceTypeError("face field names must be unique")
    if isinstance(sensitive, str) or not all(
        isinstance(p, str) and _SENSITIVE_PATH.fullmatch(p) for p in sensitive
    ):
        raise InvalidLicenceTypeError("sensitive fields are holder.name, holder.id or face.<name>")
    for path in sensitive:
        if path.startswith("face.") and path[5:] not in names:
            raise InvalidLicenceTypeError(f"sensitive field {path} is not a face field")
    return LicenceType(
        code=code,
        name=name,
        authority=authority,
        holder_id_types=tuple(id_types),
        number_is_holder_id=number_is_holder_id,
        fields=fields,
        sensitive=tuple(sensitive),
    )


def _parse_face_field(raw: Any) -> FaceField:
    if not isinstance(raw, Mapping):
        raise InvalidLicenceTypeError("each face field is a JSON object")
    unknown = set(raw) - {"name", "label", "required", "max_length", "pattern"}
    if unknown:
        raise InvalidLicenceTypeError(f"unknown face field keys {sorted(unknown)}")
    name = raw.get("name")
    if not isinstance(name, str) or not _FIELD_NAME.fullmatch(name):
        raise InvalidLicenceTypeError("face field name must be snake_case ([a-z][a-z0-9_]*)")
    label = raw.get("label", name)
    required = raw.get("required", True)
    max_length = raw.get("max_length", 256)
    pattern = raw.get("pattern")
    if not isinstance(label, str) or not isinstance(required, bool):
        raise InvalidLicenceTypeError(f"face field {name}: bad label or required flag")
    if (
        isinstance(max_length, bool)
        or not isinstance(max_length, int)
        or not 0 < max_length <= MAX_TEXT_LEN
    ):
        raise InvalidLicenceTypeError(f"face field {name}: max_length must be 1..{MAX_TEXT_LEN}")
    compiled = None
    if pattern is not None:
        if not isinstance(pattern, str) or len(pattern) > 256:
            raise InvalidLicenceTypeError(f"face field {name}: pattern must be a short string")
        try:
            compiled = re.compile(pattern)
        except re.error as exc:
            raise InvalidLicenceTypeError(f"face field {name}: bad pattern: {exc}") from exc
    return FaceField(name, label, required, max_length, compiled)


# -------------------------------------------------------- licence body --

#: Field names of a licence body (formats.md); ``file_sm3`` is optional.
BODY_FIELDS: Final = frozenset(
    {
        "id",
        "type_code",
        "type_name",
        "number",
        "holder",
        "issuer",
        "issued_on",
        "valid_from",
        "valid_until",
        "face",
        "version",
        "file_sm3",
    }
)
_REQUIRED_FIELDS: Final = BODY_FIELDS - {"file_sm3"}
_HEX64: Final = re.compile(r"[0-9a-f]{64}")


def _text(value: Any, field: str, max_len: int = 256) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > max_len:
        raise InvalidLicenceBodyError(f"{field} must be a non-empty string of at most {max_len}")
    return value


def validate_licence_body(
    body: Mapping[str, Any],
    licence_type: LicenceType,
    *,
    today: dt.date,
    allow_legacy_id: bool = False,
) -> LicenceId:
    """Check a complete body (``id`` included) against formats.md and its
    type; return the parsed identifier. Rules, in order:

    1. exactly the formats.md fields, with their JSON types;
    2. identifier well-formed with the correct check character, and its
       type, issuer and version equal to the body's;
    3. type code and name are the type's;
    4. issuer code is a USCC (GB 32100) or an area code;
    5. holder: name, ID type allowed by the type, ID valid (GB 11643 / GB 32100);
    6. dates exist, ``valid_from <= valid_until``, ``issued_on`` not in the future;
    7. face fields: no unknown field, required ones present, patterns and lengths.
    """
    # 1.
    number = _check_shape(body)
    # 2.-4.
    licence_id = _check_identifier(body, licence_type)
    # 5.
    _check_holder(body["holder"], number, licence_type, today, allow_legacy_id)
    # 6.
    _check_dates(body, today)
    # 7.
    _validate_face(body["face"], licence_type)
    return licence_id


def _check_shape(body: Mapping[str, Any]) -> str:
    if not isinstance(body, Mapping):
        raise InvalidLicenceBodyError("licence body must be a JSON object")
    keys = set(body)
    if not keys <= BODY_FIELDS:
        raise InvalidLicenceBodyError(f"unknown fields {sorted(keys - BODY_FIELDS)}")
    missing = _REQUIRED_FIELDS - keys
    if missing:
        raise InvalidLicenceBodyError(f"missing fields {sorted(missing)}")
    version = body["version"]
    if isinstance(version, bool) or not isinstance(version, int) or not 1 <= version <= 999:
        raise InvalidLicenceBodyError("version must be an integer in 1..999")
    if "file_sm3" in body and not (
        isinstance(body["file_sm3"], str) and _HEX64.fullmatch(body["file_sm3"])
    ):
        raise InvalidLicenceBodyError("file_sm3 must be 64 lower-case hex digits")
    issuer = body["issuer"]
    if not isinstance(issuer, Mapping) or set(issuer) != {"name", "code"}:
        raise InvalidLicenceBodyError("issuer must be an object {name, code}")
    _text(issuer["name"], "issuer.name")
    _text(issuer["code"], "issuer.code", 18)
    return _text(body["number"], "number", 128)


def _check_identifier(body: Mapping[str, Any], licence_type: LicenceType) -> LicenceId:
    licence_id = parse_licence_id(body["id"])
    if not licence_id.check_ok:
        raise LicenceIdCheckError(
            f"check character {licence_id.check} should be {licence_id.expected_check}"
        )
    issuer_code = body["issuer"]["code"]
    if licence_id.type_code != body["type_code"]:
        raise LicenceIdMismatchError("identifier's type code differs from type_code")
    if licence_id.issuer_code != issuer_code:
        raise LicenceIdMismatchError("identifier's issuer code differs from issuer.code")
    if licence_id.version != body["version"]:
        raise LicenceIdMismatchError("identifier's version differs from version")
    if body["type_code"] != licence_type.code:
        raise LicenceIdMismatchError("type_code is not the type validated against")
    if body["type_name"] != licence_type.name:
        raise InvalidLicenceBodyError(f"type_name must be {licence_type.name!r}")
    validate_issuer_code(issuer_code)
    return licence_id


def _check_holder(
    holder: Any, number: str, licence_type: LicenceType, today: dt.date, allow_legacy: bool
) -> None:
    if not isinstance(holder, Mapping) or set(holder) != {"name", "id_type", "id"}:
        raise InvalidHolderError("holder must be an object {name, id_type, id}")
    if not isinstance(holder["name"], str) or not 0 < len(holder["name"].strip()) <= 256:
        raise InvalidHolderError("holder.name must be a non-empty string")
    id_type, holder_id = holder["id_type"], holder["id"]
    if id_type not in licence_type.holder_id_types:
        raise InvalidHolderError(
            f"holder.id_type must be one of {list(licence_type.holder_id_types)}"
        )
    if not isinstance(holder_id, str):
        raise InvalidHolderError("holder.id must be a string")
    if id_type == ID_TYPE_RESIDENT:
        check_resident_id(holder_id, today=today, allow_legacy=allow_legacy)
    else:
        check_uscc(holder_id)
    if licence_type.number_is_holder_id and number != holder_id:
        raise InvalidLicenceBodyError("number must equal the holder's ID number for this type")


def _check_dates(body: Mapping[str, Any], today: dt.date) -> None:
    issued_on = parse_date(body["issued_on"], "issued_on")
    valid_from = parse_date(body["valid_from"], "valid_from")
    if issued_on > today:
        raise InvalidDateError("issued_on is in the future")
    if body["valid_until"] is not None:
        valid_until = parse_date(body["valid_until"], "valid_until")
        if valid_until < valid_from:
            raise InvalidDateError("valid_until is before valid_from")


def _validate_face(face: Any, licence_type: LicenceType) -> None:
    if not isinstance(face, Mapping):
        raise InvalidFaceFieldError("face must be an object of string fields")
    for name, value in face.items():
        spec = licence_type.field(name)
        if spec is None:
            raise UnknownFaceFieldError(f"face field {name!r} is not defined by the type")
        if not isinstance(value, str):
            raise InvalidFaceFieldError(f"face field {name} must be a string")
        if len(value) > spec.max_length:
            raise InvalidFaceFieldError(f"face field {name} is longer than {spec.max_length}")
        if spec.pattern is not None and value and not spec.pattern.fullmatch(value):
            raise InvalidFaceFieldError(f"face field {name} does not match its pattern")
    for spec in licence_type.fields:
        if spec.required and not (isinstance(face.get(spec.name), str) and face[spec.name].strip()):
            raise MissingFaceFieldError(f"face field {spec.name} ({spec.label}) is required")
