"""The QR token codec (pyservice/qr.py over sidian_core::qr).

Oracles independent of the code under test: the byte layout is rebuilt with
``struct``, the licence reference with hashlib's SM3 (OpenSSL), the text
form with the standard library's base64, and signatures are checked with
gmssl (pure Python SM2) and the OpenSSL 3 CLI.
"""

from __future__ import annotations

import base64
import json
import shutil
import struct
import subprocess
from pathlib import Path
from typing import Any

import pytest
from gmssl import sm2 as gmssl_sm2  # type: ignore[import-untyped]
from hypothesis import given, settings
from hypothesis import strategies as st

from pyservice import qr
from pyservice.crypto import PrivateKey, PublicKey, Sm2Verifier
from pyservice.errors import (
    InvalidSignatureError,
    MalformedInputError,
    MalformedTokenError,
    SidianError,
    TokenExpiredError,
    TokenNotYetValidError,
    TokenTimeError,
)
from tests import crypto_testkit as K
from tests.conftest import REPO_ROOT

NOW = 1_764_300_000
KEY = PrivateKey.from_bytes(
    bytes.fromhex("3945208f7b2144b13f36e38ac6d39f95889393692860b51a42fb81ef4df7c5b8")
)
VERIFIER = Sm2Verifier(KEY.public_key())


def b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def gmssl_verify(pub65: bytes, message: bytes, raw_sig: bytes) -> bool:
    c: Any = gmssl_sm2.CryptSM2(private_key="00", public_key="")
    c.public_key = pub65[1:].hex()  # gmssl's lstrip("04") bug, as in test_crypto_oracles
    return bool(c.verify_with_sm3(raw_sig.hex(), message))


def resign(raw40: bytes, key: PrivateKey = KEY) -> str:
    """A token with arbitrary bytes 0-39 and a valid signature over them."""
    return b64(raw40 + key.sign(raw40, raw=True))


def prefix(
    *,
    version: int = 1,
    flags: int = 0,
    kid: bytes | None = None,
    ref: bytes = b"\x11" * 16,
    issued_at: int = NOW,
    lifetime: int = 180,
    nonce: bytes = b"\x22" * 8,
) -> bytes:
    kid = bytes.fromhex(KEY.public_key().kid()) if kid is None else kid
    return struct.pack(">BB8s16sIH8s", version, flags, kid, ref, issued_at, lifetime, nonce)


# ------------------------------------------------------------ round trip --


@pytest.mark.parametrize("consent", [False, True])
@pytest.mark.parametrize("lifetime", [1, 180, 3600])
def test_round_trip_matches_the_independent_layout(consent: bool, lifetime: int) -> None:
    text = qr.make_token(KEY, "粤A-2026-000123", now=NOW, lifetime=lifetime, consent=consent)
    assert len(text) == qr.TEXT_LEN == 139
    raw = unb64(text)
    assert len(raw) == qr.TOKEN_LEN
    assert b64(raw) == text
    want_ref = K.sm3_ref("粤A-2026-000123".encode())[:16]
    version, flags, kid, ref, issued_at, life, nonce = struct.unpack(">BB8s16sIH8s", raw[:40])
    assert (version, flags, kid.hex(), ref, issued_at, life) == (
        1,
        int(consent),
        KEY.public_key().kid(),
        want_ref,
        NOW,
        lifetime,
    )
    token = qr.verify_token(VERIFIER, text, now=NOW)
    assert token == qr.decode_token(text)
    assert token.licence_ref == want_ref == qr.licence_ref("粤A-2026-000123")
    assert token.nonce == nonce
    assert token.signature == raw[40:]
    assert token.consent is consent
    assert token.expires_at == NOW + lifetime
    assert "signature" not in repr(token)
    assert nonce.hex() not in repr(token)


def test_nonces_differ() -> None:
    tokens = {qr.decode_token(qr.make_token(KEY, "L", now=NOW)).nonce for _ in range(50)}
    assert len(tokens) == 50


def test_signature_verifies_with_gmssl_over_bytes_0_to_39() -> None:
    pub = KEY.public_key().to_bytes()
    for i in range(3):
        raw = unb64(qr.make_token(KEY, f"L-{i}", now=NOW + i))
        assert gmssl_verify(pub, raw[:40], raw[40:])
        assert not gmssl_verify(pub, raw[:39] + bytes([raw[39] ^ 1]), raw[40:])
        # Not over the whole token, nor over the text.
        assert not gmssl_verify(pub, raw, raw[40:])


def test_signature_verifies_with_the_openssl_cli(tmp_path: Path) -> None:
    openssl = shutil.which("openssl")
    assert openssl, "openssl CLI not found on PATH"
    raw = unb64(qr.make_token(KEY, "L-openssl", now=NOW))
    (tmp_path / "pub.pem").write_text(KEY.public_key().to_pem())
    (tmp_path / "msg").write_bytes(raw[:40])
    r, s = K.raw_to_ints(raw[40:])
    (tmp_path / "sig").write_bytes(K.sig_to_der(r, s))
    argv = [
        openssl, "pkeyutl", "-verify", "-pubin", "-inkey", str(tmp_path / "pub.pem"),
        "-rawin", "-digest", "sm3", "-pkeyopt", f"hexdistid:{b'1234567812345678'.hex()}",
        "-in", str(tmp_path / "msg"), "-sigfile", str(tmp_path / "sig"),
    ]  # fmt: skip
    ok = subprocess.run(argv, capture_output=True, check=False, timeout=30)  # noqa: S603
    assert ok.returncode == 0, ok.stderr
    assert b"Signature Verified Successfully" in ok.stdout
    (tmp_path / "msg").write_bytes(raw[:39] + bytes([raw[39] ^ 1]))
    bad = subprocess.run(argv, capture_output=True, check=False, timeout=30)  # noqa: S603
    assert bad.returncode != 0


def test_we_verify_a_token_signed_by_gmssl() -> None:
    d = int.from_bytes(KEY.to_bytes(), "big")
    c: Any = gmssl_sm2.CryptSM2(private_key=f"{d:064x}", public_key="")
    c.public_key = KEY.public_key().to_bytes()[1:].hex()
    raw40 = prefix(issued_at=NOW, lifetime=60)
    sig_hex = c.sign_with_sm3(raw40, "5a" * 32)
    token = qr.verify_token(VERIFIER, b64(raw40 + bytes.fromhex(sig_hex)), now=NOW + 59)
    assert token.lifetime == 60


# -------------------------------------------------------------- vectors --

VECTORS = json.loads((REPO_ROOT / "tests" / "vectors" / "qr-token.json").read_text())
VECTOR_VERIFIER = Sm2Verifier(PublicKey.from_bytes(bytes.fromhex(VECTORS["public_key_hex"])))
VECTOR_ERRORS: dict[str, type[Exception]] = {
    "malformed": MalformedTokenError,
    "invalid_signature": InvalidSignatureError,
    "expired": TokenExpiredError,
    "not_yet_valid": TokenNotYetValidError,
}


@pytest.mark.parametrize("case", VECTORS["valid"], ids=lambda c: c["licence_id"] or "empty")
def test_independent_vectors_decode_and_verify(case: dict[str, Any]) -> None:
    token = qr.verify_token(VECTOR_VERIFIER, case["token"], now=case["now"])
    assert token.kid == VECTORS["kid_hex"] == VECTOR_VERIFIER.public_key.kid()
    assert token.licence_ref.hex() == case["licence_ref_hex"]
    assert token.licence_ref == qr.licence_ref(case["licence_id"])
    assert (token.flags, token.issued_at, token.lifetime) == (
        case["flags"],
        case["issued_at"],
        case["lifetime"],
    )
    assert token.nonce.hex() == case["nonce_hex"]
    assert token.signature.hex() == case["token_hex"][80:]


@pytest.mark.parametrize("case", VECTORS["invalid"], ids=lambda c: c["name"])
def test_independent_invalid_vectors(case: dict[str, Any]) -> None:
    with pytest.raises(VECTOR_ERRORS[case["error"]]):
        qr.verify_token(VECTOR_VERIFIER, case["token"], now=case["now"])


# --------------------------------------------------------------- tamper --


def test_every_byte_position_tampered_is_rejected() -> None:
    text = qr.make_token(KEY, "L-tamper", now=NOW, lifetime=600)
    raw = unb64(text)
    for pos in range(qr.TOKEN_LEN):
        for mask in (0x01, 0x80, 0xFF):
            bad = bytearray(raw)
            bad[pos] ^= mask
            bad_text = b64(bytes(bad))
            with pytest.raises((MalformedTokenError, InvalidSignatureError, TokenTimeError)):
                qr.verify_token(VERIFIER, bad_text, now=NOW + 1)
            # The independent oracle agrees that no signature covers it.
            assert not gmssl_verify(KEY.public_key().to_bytes(), bytes(bad[:40]), bytes(bad[40:]))


def test_tampered_field_with_signature_check_reached_is_invalid_signature() -> None:
    raw = unb64(qr.make_token(KEY, "L", now=NOW))
    for pos in (1, 2, 9, 10, 25, 29, 31, 32, 39, 40, 71, 72, 103):
        bad = bytearray(raw)
        bad[pos] ^= 0x01
        with pytest.raises(InvalidSignatureError):
            qr.verify_token(VERIFIER, b64(bytes(bad)), now=NOW)


def test_wrong_key_is_invalid_signature() -> None:
    other = PrivateKey.generate()
    text = qr.make_token(other, "L", now=NOW)
    with pytest.raises(InvalidSignatureError):
        qr.verify_token(VERIFIER, text, now=NOW)
    # Same bytes 0-39 (our kid) signed by the other key: still rejected.
    with pytest.raises(InvalidSignatureError):
        qr.verify_token(VERIFIER, resign(prefix(), other), now=NOW)


def test_verifier_with_another_id_is_refused() -> None:
    text = qr.make_token(KEY, "L", now=NOW)
    with pytest.raises(ValueError, match="default signer ID"):
        qr.verify_token(Sm2Verifier(KEY.public_key(), uid=b"other"), text, now=NOW)


# --------------------------------------------------------- strict parse --


def test_every_binary_length_but_104_is_malformed() -> None:
    raw = unb64(qr.make_token(KEY, "L", now=NOW))
    for n in range(0, 160):
        data = (raw * 2)[:n]
        if n == qr.TOKEN_LEN:
            qr.decode_token(b64(data))
            continue
        with pytest.raises(MalformedTokenError):
            qr.decode_token(b64(data))


def test_every_text_length_but_139_is_malformed() -> None:
    text = qr.make_token(KEY, "L", now=NOW)
    for n in range(0, 300):
        candidate = (text * 3)[:n]
        if n == qr.TEXT_LEN:
            qr.decode_token(candidate)
            continue
        with pytest.raises(MalformedTokenError) as info:
            qr.decode_token(candidate)
        assert info.value.code == "malformed_token"


@pytest.mark.parametrize(
    "mutate",
    [
        lambda t: t[:-1] + "=",  # padding character
        lambda t: t + "=",  # padded (140 chars)
        lambda t: "+" + t[1:],  # standard alphabet
        lambda t: "/" + t[1:],
        lambda t: t[:50] + " " + t[51:],  # whitespace
        lambda t: t[:50] + "\n" + t[51:],
        lambda t: t[:50] + "é" + t[51:],  # non-ASCII
        lambda t: t[:50] + "\ud800" + t[51:],  # lone surrogate
        lambda t: t[:50] + "\x00" + t[51:],
        lambda t: t[:50] + "." + t[51:],
    ],
    ids=[
        "pad",
        "padded",
        "plus",
        "slash",
        "space",
        "newline",
        "non-ascii",
        "surrogate",
        "nul",
        "dot",
    ],
)
def test_bad_base64_is_malformed(mutate: Any) -> None:
    text = qr.make_token(KEY, "L", now=NOW)
    with pytest.raises(MalformedTokenError):
        qr.decode_token(mutate(text))
    with pytest.raises(MalformedTokenError):
        qr.verify_token(VERIFIER, mutate(text), now=NOW)


def test_non_canonical_trailing_bits_are_rejected() -> None:
    text = qr.make_token(KEY, "L", now=NOW)
    # 104 bytes = 34 groups + 2 bytes: the last character carries 2 unused bits.
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    last = alphabet.index(text[-1])
    assert last & 0b11 == 0
    accepted = 0
    for low in range(4):
        candidate = text[:-1] + alphabet[last | low]
        # The standard library decodes all four to the same bytes …
        assert unb64(candidate) == unb64(text)
        if low == 0:
            qr.decode_token(candidate)
            accepted += 1
        else:
            # … but only the canonical one is a token.
            with pytest.raises(MalformedTokenError, match="trailing bits"):
                qr.decode_token(candidate)
    assert accepted == 1


def test_malformed_token_is_a_malformed_input_error() -> None:
    with pytest.raises(MalformedInputError):
        qr.decode_token("")


def test_not_a_string_is_malformed() -> None:
    with pytest.raises(MalformedTokenError):
        qr.decode_token(b"x" * 139)  # type: ignore[arg-type]


@pytest.mark.parametrize("version", [0x00, 0x02, 0x81, 0xFF])
def test_unknown_version_is_malformed(version: int) -> None:
    with pytest.raises(MalformedTokenError, match="version"):
        qr.decode_token(resign(prefix(version=version)))


@pytest.mark.parametrize("flags", [0x02, 0x04, 0x80, 0xFE, 0xFF, 0x03])
def test_unknown_flag_bits_are_malformed(flags: int) -> None:
    with pytest.raises(MalformedTokenError, match="flag"):
        qr.decode_token(resign(prefix(flags=flags)))


@pytest.mark.parametrize("lifetime", [0, 3601, 0x8000, 0xFFFF])
def test_lifetime_out_of_range_is_malformed(lifetime: int) -> None:
    with pytest.raises(MalformedTokenError, match="lifetime"):
        qr.decode_token(resign(prefix(lifetime=lifetime)))
    with pytest.raises(ValueError, match="lifetime"):
        qr.make_token(KEY, "L", now=NOW, lifetime=lifetime)


@pytest.mark.parametrize("lifetime", [1, 3600])
def test_lifetime_edges_are_accepted(lifetime: int) -> None:
    assert (
        qr.verify_token(VERIFIER, resign(prefix(lifetime=lifetime)), now=NOW).lifetime == lifetime
    )


def test_issued_at_out_of_field_is_refused() -> None:
    for now in (-1, 1 << 32):
        with pytest.raises(ValueError, match="32-bit"):
            qr.make_token(KEY, "L", now=now)


# --------------------------------------------------------------- expiry --


@pytest.mark.parametrize("lifetime", [1, 180, 3600])
def test_time_window_exact_boundaries(lifetime: int) -> None:
    text = qr.make_token(KEY, "L", now=NOW, lifetime=lifetime)
    with pytest.raises(TokenNotYetValidError) as early:
        qr.verify_token(VERIFIER, text, now=NOW - 31)
    assert early.value.code == "token_not_yet_valid"
    for now in (NOW - 30, NOW - 1, NOW, NOW + lifetime - 1):
        assert qr.verify_token(VERIFIER, text, now=now).issued_at == NOW
    for now in (NOW + lifetime, NOW + lifetime + 1, NOW + 10**6):
        with pytest.raises(TokenExpiredError) as late:
            qr.verify_token(VERIFIER, text, now=now)
        assert late.value.code == "token_expired"
        assert late.value.http_status == 422


def test_issued_at_zero_and_max() -> None:
    text = resign(prefix(issued_at=0, lifetime=5))
    assert qr.verify_token(VERIFIER, text, now=0).issued_at == 0
    with pytest.raises(TokenExpiredError):
        qr.verify_token(VERIFIER, text, now=5)
    with pytest.raises(TokenExpiredError):
        qr.verify_token(VERIFIER, text, now=(1 << 64) - 1)
    top = (1 << 32) - 1
    text = resign(prefix(issued_at=top, lifetime=3600))
    assert qr.verify_token(VERIFIER, text, now=top + 3599).issued_at == top
    with pytest.raises(TokenExpiredError):
        qr.verify_token(VERIFIER, text, now=top + 3600)


# ------------------------------------------------------------ hypothesis --


@settings(max_examples=500, deadline=None)
@given(st.text(max_size=400))
def test_decoder_never_fails_other_than_malformed_on_text(text: str) -> None:
    try:
        token = qr.decode_token(text)
    except MalformedTokenError:
        return
    assert b64(unb64(text)) == text
    assert token.version == 1


@settings(max_examples=500, deadline=None)
@given(st.binary(min_size=104, max_size=104))
def test_decoder_on_any_104_bytes(raw: bytes) -> None:
    text = b64(raw)
    try:
        token = qr.decode_token(text)
    except MalformedTokenError:
        assert raw[0] != 1 or raw[1] & 0xFE or not 1 <= int.from_bytes(raw[30:32]) <= 3600
        return
    assert raw[0] == 1
    assert token.flags == raw[1]
    assert token.kid == raw[2:10].hex()
    assert token.licence_ref == raw[10:26]
    assert token.issued_at == int.from_bytes(raw[26:30])
    assert token.lifetime == int.from_bytes(raw[30:32])
    assert token.nonce == raw[32:40]
    assert token.signature == raw[40:]
    # A random signature does not verify (or the token is out of its window).
    with pytest.raises(SidianError):
        qr.verify_token(VERIFIER, text, now=token.issued_at)


@settings(max_examples=200, deadline=None)
@given(st.binary(min_size=40, max_size=40), st.integers(0, (1 << 64) - 1))
def test_verify_token_accepts_only_well_formed_in_window(raw40: bytes, now: int) -> None:
    raw40 = raw40[:2] + bytes.fromhex(KEY.public_key().kid()) + raw40[10:]
    text = resign(raw40)
    try:
        token = qr.verify_token(VERIFIER, text, now=now)
    except (MalformedTokenError, TokenTimeError):
        return
    assert raw40[0] == 1
    assert token.issued_at - 30 <= now < token.issued_at + token.lifetime
