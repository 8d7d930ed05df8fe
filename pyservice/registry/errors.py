"""Errors of the registry: validation (422), conflicts (409), unknown records (404).

Each class has its own stable ``code`` (api.md error shape); the error
middleware renders them like every other :class:`~pyservice.errors.SidianError`.
"""

from __future__ import annotations

from pyservice.errors import MalformedInputError, NotFoundError, SidianError

__all__ = [
    "ConflictError",
    "DuplicateLicenceError",
    "IllegalStatusTransitionError",
    "InvalidDateError",
    "InvalidFaceFieldError",
    "InvalidHolderError",
    "InvalidLicenceBodyError",
    "InvalidLicenceTypeError",
    "InvalidResidentIdError",
    "InvalidUsccError",
    "LegacyResidentIdError",
    "LicenceIdCheckError",
    "LicenceIdMismatchError",
    "MalformedLicenceIdError",
    "MissingFaceFieldError",
    "NoActiveKeyError",
    "UnknownFaceFieldError",
    "UnknownIssuerError",
    "UnknownKeyError",
    "UnknownLicenceError",
    "UnknownLicenceTypeError",
    "ValidationError",
]


class ValidationError(SidianError, ValueError):
    """Well-formed input that breaks a registry rule (api.md: 422)."""

    code = "validation_failed"
    http_status = 422


class MalformedLicenceIdError(MalformedInputError):
    """Not a licence identifier of GB/T 36904 form (formats.md)."""

    code = "malformed_licence_id"


class LicenceIdCheckError(ValidationError):
    """An identifier we would issue with a wrong MOD 37,36 check character."""

    code = "licence_id_check_mismatch"


class LicenceIdMismatchError(ValidationError):
    """The identifier's parts disagree with the body (type, issuer, version)."""

    code = "licence_id_mismatch"


class InvalidUsccError(ValidationError):
    """A unified social credit code failing GB 32100-2015."""

    code = "invalid_uscc"


class InvalidResidentIdError(ValidationError):
    """A resident ID number (公民身份号码) failing GB 11643-1999."""

    code = "invalid_resident_id"


class LegacyResidentIdError(InvalidResidentIdError):
    """A 15-digit (pre-1999) resident ID number where only 18 digits are allowed."""

    code = "legacy_resident_id"


class InvalidDateError(ValidationError):
    """A date that is not ``YYYY-MM-DD``, does not exist, or is out of order."""

    code = "invalid_date"


class InvalidHolderError(ValidationError):
    """A holder object with missing or wrong fields or an unknown ID type."""

    code = "invalid_holder"


class InvalidLicenceBodyError(ValidationError):
    """A licence body with missing, extra or wrongly typed fields."""

    code = "invalid_licence_body"


class InvalidLicenceTypeError(ValidationError):
    """A licence type definition (code, face-field schema) that is invalid."""

    code = "invalid_licence_type"


class UnknownLicenceTypeError(ValidationError):
    """A licence body naming a type the registry does not define."""

    code = "unknown_licence_type"


class MissingFaceFieldError(ValidationError):
    """A required face field (照面信息) is absent or empty."""

    code = "missing_face_field"


class UnknownFaceFieldError(ValidationError):
    """A face field the type's schema does not define."""

    code = "unknown_face_field"


class InvalidFaceFieldError(ValidationError):
    """A face field value breaking its schema (pattern, length, type)."""

    code = "invalid_face_field"


class UnknownIssuerError(ValidationError):
    """A licence or key naming an issuer the registry does not know."""

    code = "unknown_issuer"


class NoActiveKeyError(ValidationError):
    """The issuer has no active signing key."""

    code = "no_active_key"


class UnknownLicenceError(NotFoundError):
    code = "unknown_licence"


class UnknownKeyError(NotFoundError):
    code = "unknown_key"


class ConflictError(SidianError):
    """A request conflicting with the current state (api.md: 409)."""

    code = "conflict"
    http_status = 409


class IllegalStatusTransitionError(ConflictError):
    """A status change the lifecycle of formats.md does not allow."""

    code = "illegal_status_transition"


class DuplicateLicenceError(ConflictError):
    """A licence identifier that is already registered."""

    code = "licence_exists"
