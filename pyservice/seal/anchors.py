"""Loading trust anchors (SM2 certificates) from a directory (I/O; used by
the CLI and the service, never by verification code)."""

from __future__ import annotations

import base64
import binascii
import re
from pathlib import Path

from pyservice.errors import MalformedInputError
from pyservice.seal.native import certificate_summary

__all__ = ["ANCHOR_SUFFIXES", "load_trust_anchors", "pem_certificates"]

ANCHOR_SUFFIXES = (".pem", ".crt", ".cer", ".der")
_PEM_CERT = re.compile(
    rb"-----BEGIN CERTIFICATE-----\s*(.+?)\s*-----END CERTIFICATE-----", re.DOTALL
)


def pem_certificates(data: bytes) -> list[bytes]:
    """The DER certificates in ``data``: every PEM ``CERTIFICATE`` block, or
    ``data`` itself if it holds none (DER)."""
    blocks = _PEM_CERT.findall(data)
    if not blocks:
        return [data]
    out = []
    for b in blocks:
        try:
            out.append(base64.b64decode(b"".join(b.split()), validate=True))
        except (binascii.Error, ValueError) as exc:
            raise MalformedInputError(f"bad PEM certificate: {exc}") from exc
    return out


def load_trust_anchors(directory: Path) -> list[bytes]:
    """Every certificate in the ``*.pem``/``*.crt``/``*.cer``/``*.der`` files
    of ``directory`` (sorted by name), each checked to be an SM2 certificate."""
    anchors: list[bytes] = []
    for path in sorted(directory.iterdir()):
        if path.suffix.lower() not in ANCHOR_SUFFIXES or not path.is_file():
            continue
        for der in pem_certificates(path.read_bytes()):
            try:
                certificate_summary(der)
            except MalformedInputError as exc:
                raise MalformedInputError(f"{path.name}: not an SM2 certificate ({exc})") from exc
            anchors.append(der)
    return anchors
