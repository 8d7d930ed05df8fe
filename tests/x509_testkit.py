"""A test CA and its leaf certificates (real SM2 keys, issued by the core's
development certificate encoder)."""

from __future__ import annotations

import base64
import time
from dataclasses import dataclass
from pathlib import Path

from pyservice.crypto import PrivateKey
from pyservice.seal.native import issue_certificate

__all__ = ["SIGN_CERT_PEM", "TestCa", "make_ca", "pem"]

#: A real third-party SM2 certificate (OFD R&W test signer, expired 2023).
SIGN_CERT_PEM = Path(__file__).parents[1] / "../shared/vectors/ses/seal/sign_cert.pem"

_DAY = 86_400


def pem(der: bytes) -> str:
    body = base64.b64encode(der).decode()
    lines = [body[i : i + 64] for i in range(0, len(body), 64)]
    return "-----BEGIN CERTIFICATE-----\n" + "\n".join(lines) + "\n-----END CERTIFICATE-----\n"


@dataclass(frozen=True)
class TestCa:
    """A self-signed CA (valid a year either side of now)."""

    __test__ = False  # not a pytest class
    name: str
    key: PrivateKey
    der: bytes

    def leaf(
        self, key: PrivateKey, *, serial: int = 2, not_before: int | None = None, days: int = 365
    ) -> bytes:
        """An end-entity certificate for ``key`` from ``not_before`` (default
        a day ago) for ``days``."""
        start = int(time.time()) - _DAY if not_before is None else not_before
        return issue_certificate(
            key.public_key(),
            self.key,
            serial=serial.to_bytes(8, "big"),
            subject_cn="Test Signer",
            issuer_cn=self.name,
            not_before=start,
            not_after=start + days * _DAY,
            ca=False,
        )


def make_ca(name: str = "Test Signature CA") -> TestCa:
    key = PrivateKey.generate()
    now = int(time.time())
    der = issue_certificate(
        key.public_key(),
        key,
        serial=(1).to_bytes(8, "big"),
        subject_cn=name,
        issuer_cn=name,
        not_before=now - 365 * _DAY,
        not_after=now + 365 * _DAY,
        ca=True,
    )
    return TestCa(name, key, der)
