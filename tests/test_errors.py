"""The exception hierarchy of pyservice/errors.py."""

from __future__ import annotations

import pytest

from pyservice import errors

ALL: list[type[errors.SidianError]] = [
    errors.MalformedInputError,
    errors.InvalidSignatureError,
    errors.InvalidTagError,
    errors.InvalidProofError,
    errors.NotFoundError,
    errors.UnknownLeafError,
    errors.UnknownTreeHeadError,
    errors.TreeSizeBeyondCurrentError,
    errors.MalformedTokenError,
    errors.MalformedCertificateError,
    errors.TokenTimeError,
    errors.TokenExpiredError,
    errors.TokenNotYetValidError,
    errors.OfdMalformedError,
    errors.OfdTooLargeError,
]
#: Dependency failures: 5xx, never caused by the request itself.
UNAVAILABLE = [
    errors.StatusUnavailableError,
    errors.NonceCheckUnavailableError,
    errors.StoreUnavailableError,
]


@pytest.mark.parametrize("cls", ALL)
def test_every_error_is_a_sidian_error_with_a_stable_code(cls: type[errors.SidianError]) -> None:
    assert issubclass(cls, errors.SidianError)
    assert issubclass(cls, Exception)
    assert cls.code.isidentifier()
    assert cls.code == cls.code.lower()
    assert 400 <= cls.http_status < 500


def test_unavailable_errors_are_503() -> None:
    for cls in UNAVAILABLE:
        assert issubclass(cls, errors.SidianError)
        assert cls.http_status == 503


def test_codes_are_distinct() -> None:
    everything: list[type[errors.SidianError]] = [errors.SidianError, *ALL, *UNAVAILABLE]
    codes = [cls.code for cls in everything]
    assert len(set(codes)) == len(codes)


def test_codes_are_the_documented_ones() -> None:
    assert errors.SidianError.code == "internal"
    assert errors.MalformedInputError.code == "malformed_input"
    assert errors.InvalidSignatureError.code == "invalid_signature"
    assert errors.InvalidTagError.code == "invalid_tag"
    assert errors.InvalidProofError.code == "invalid_proof"
    assert errors.NotFoundError.code == "not_found"
    assert errors.UnknownLeafError.code == "unknown_leaf"
    assert errors.UnknownTreeHeadError.code == "unknown_tree_head"
    assert errors.TreeSizeBeyondCurrentError.code == "tree_size_beyond_current"
    for cls in (errors.UnknownLeafError, errors.UnknownTreeHeadError):
        assert cls.http_status == 404
    assert errors.MalformedTokenError.code == "malformed_token"
    assert errors.MalformedCertificateError.code == "malformed_certificate"
    assert errors.MalformedCertificateError.http_status == 400
    assert errors.TokenExpiredError.code == "token_expired"
    assert errors.TokenNotYetValidError.code == "token_not_yet_valid"
    assert errors.StatusUnavailableError.code == "status_unavailable"
    assert errors.StoreUnavailableError.code == "store_unavailable"
    assert errors.OfdMalformedError.code == "malformed_ofd"
    assert errors.OfdTooLargeError.code == "ofd_too_large"
    assert errors.OfdTooLargeError.http_status == 413


def test_ofd_errors_carry_a_reason_and_are_malformed_input() -> None:
    err = errors.OfdTooLargeError("entry_too_large", "Doc_0/x is 5 GB")
    assert isinstance(err, errors.MalformedInputError)
    assert err.reason == "entry_too_large"
    assert str(err) == "entry_too_large: Doc_0/x is 5 GB"


def test_malformed_input_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="bad DER"):
        raise errors.MalformedInputError("bad DER")


def test_verification_failures_are_not_value_errors() -> None:
    for cls in (errors.InvalidSignatureError, errors.InvalidTagError, errors.InvalidProofError):
        assert not issubclass(cls, ValueError)


def test_all_is_complete() -> None:
    assert sorted(errors.__all__) == sorted(
        ["SidianError", *(cls.__name__ for cls in [*ALL, *UNAVAILABLE])]
    )
