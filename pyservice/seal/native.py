"""The seal part of the native core: signed-value checks (SES V1/V4/V5,
GB/T 35275 SignedData), standalone seals and SM2 certificates, and the
encoders of the platform's own V4 seals, seal signatures and (development
and test) certificates (``encode_seal_v4``, ``encode_signature_v4``,
``issue_certificate``: the native functions as they are, typed in
``_core.pyi``; times are epoch seconds). No policy; see :mod:`pyservice.seal.verify` and
:mod:`pyservice.seal.policy`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from pyservice._core import (
    CertSummary,
    SealReport,
    SignedValueReport,
    ofd_check_signed_value,
    ofd_check_signed_value_sm3,
    ofd_parse_signed_value,
    ses_check_seal,
    x509_evaluate_chain,
    x509_summary,
)
from pyservice._core import (
    ses_encode_seal_v4 as encode_seal_v4,
)
from pyservice._core import (
    ses_encode_signature_v4 as encode_signature_v4,
)
from pyservice._core import (
    x509_issue_certificate as issue_certificate,
)

__all__ = [
    "CertSummary",
    "ChainOutcome",
    "SealReport",
    "SignedValueReport",
    "certificate_summary",
    "check_seal",
    "check_signed_value",
    "check_signed_value_sm3",
    "encode_seal_v4",
    "encode_signature_v4",
    "evaluate_chain",
    "issue_certificate",
    "parse_signed_value",
]


def check_signed_value(signed_value: bytes, signed_data: bytes) -> SignedValueReport:
    """Parses ``signed_value`` and runs every check over ``signed_data``
    (the ``Signature.xml`` bytes). Raises
    :class:`~pyservice.errors.MalformedInputError` if it cannot be parsed."""
    return ofd_check_signed_value(signed_value, signed_data)


def check_signed_value_sm3(signed_value: bytes, data_sm3: bytes) -> SignedValueReport:
    """:func:`check_signed_value` given only SM3 of the signed data (enough
    for SES and for SignedData with signed attributes or attached content;
    otherwise ``MalformedInputError``)."""
    return ofd_check_signed_value_sm3(signed_value, data_sm3)


def parse_signed_value(signed_value: bytes) -> str:
    """Parses a signed value and its certificates without verifying;
    returns its format. Raises ``MalformedInputError`` like
    :func:`check_signed_value`."""
    return ofd_parse_signed_value(signed_value)


def check_seal(data: bytes) -> SealReport:
    """Parses a standalone seal (``.esl``) and verifies its maker signature."""
    return ses_check_seal(data)


def certificate_summary(der: bytes) -> CertSummary:
    """Subject, issuer, serial and validity of a DER SM2 certificate."""
    return x509_summary(der)


@dataclass(frozen=True, slots=True)
class ChainOutcome:
    """A chain search: ``path_len`` 0 when no anchor was reached;
    ``valid_at[i]`` for ``times[i]`` (the path, or the leaf alone)."""

    path_len: int
    path_subjects: list[str]
    valid_at: list[bool]


def evaluate_chain(
    leaf: bytes, pool: Sequence[bytes], anchors: Sequence[bytes], times: Sequence[int]
) -> ChainOutcome:
    """Builds a verified chain from ``leaf`` through ``pool`` to ``anchors``
    (all DER) and checks validity at each of ``times`` (epoch seconds)."""
    n, subjects, valid = x509_evaluate_chain(leaf, list(pool), list(anchors), list(times))
    return ChainOutcome(path_len=n, path_subjects=subjects, valid_at=valid)
