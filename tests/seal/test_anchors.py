"""Trust anchors from a directory."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from pyservice.errors import MalformedInputError
from pyservice.seal.anchors import load_trust_anchors, pem_certificates
from tests.seal_testkit import seal_bytes


def test_pem_der_and_bundles(tmp_path: Path) -> None:
    pem = seal_bytes("sign_cert.pem")
    [der] = pem_certificates(pem)
    (tmp_path / "a.pem").write_bytes(pem + b"\n" + pem)
    (tmp_path / "b.der").write_bytes(der)
    (tmp_path / "notes.txt").write_text("ignored")
    assert load_trust_anchors(tmp_path) == [der, der, der]


def test_bad_files_are_named(tmp_path: Path) -> None:
    (tmp_path / "x.crt").write_bytes(
        b"-----BEGIN CERTIFICATE-----\n"
        + base64.b64encode(b"junk")
        + b"\n-----END CERTIFICATE-----\n"
    )
    with pytest.raises(MalformedInputError, match=r"x\.crt"):
        load_trust_anchors(tmp_path)
    (tmp_path / "x.crt").write_bytes(
        b"-----BEGIN CERTIFICATE-----\n!!\n-----END CERTIFICATE-----\n"
    )
    with pytest.raises(MalformedInputError):
        load_trust_anchors(tmp_path)
