"""Known-answer tests for pyservice.crypto against the shared vectors.

- crypto/official.json: GB/T 32905 SM3 answers; GB/T 32918.5 Annex A SM2
  signature with a fixed nonce (Z_A, e, r, s, derived public key).
- crypto/sm2-openssl.json: 96 verify cases made with the OpenSSL 3.0 CLI;
  every valid one is checked with the SEC1 key, the SPKI key, the compressed
  key, raw r||s, the cached verifier and the batch API; every invalid one must
  raise InvalidSignatureError (or MalformedInputError where malformed_ok).

The vectors live in ../shared/vectors (override: SIDIAN_VECTORS); if they are
missing, collection fails.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest

from pyservice import crypto
from pyservice.errors import InvalidSignatureError, MalformedInputError
from tests import crypto_testkit as K

OFFICIAL = K.load_vectors("crypto/official.json")
OPENSSL = K.load_vectors("crypto/sm2-openssl.json")

Case = dict[str, Any]


def _slug(text: str) -> str:
    return re.sub(r"[^0-9a-zA-Z]+", "_", text).strip("_").lower()


# ---------------------------------------------------------------- SM3 ----


def _sm3_message(case: Case) -> bytes:
    if "message_hex" in case:
        return bytes.fromhex(case["message_hex"])
    rep = case["message_repeat"]
    return bytes.fromhex(rep["byte_hex"]) * int(rep["count"])


SM3_CASES = OFFICIAL["sm3"]["cases"]
SM3_IDS = [_slug(c["desc"]) for c in SM3_CASES]


def test_vector_files_are_complete() -> None:
    assert len(SM3_CASES) >= 6
    assert len(OFFICIAL["sm2_sign"]["cases"]) >= 1
    assert len(OPENSSL["cases"]) == 96
    assert sum(c["valid"] for c in OPENSSL["cases"]) == 48


@pytest.mark.parametrize("case", SM3_CASES, ids=SM3_IDS)
def test_sm3_one_shot(case: Case) -> None:
    assert crypto.sm3(_sm3_message(case)).hex() == case["digest"]


@pytest.mark.parametrize("case", SM3_CASES, ids=SM3_IDS)
def test_sm3_streaming_byte_by_byte_prefix(case: Case) -> None:
    """Streams the message: its first 200 bytes one at a time, then the rest."""
    msg = _sm3_message(case)
    h = crypto.Sm3()
    for i in range(min(len(msg), 200)):
        h.update(msg[i : i + 1])
    h.update(msg[200:])
    assert h.digest().hex() == case["digest"]


MILLION_A = next(c for c in SM3_CASES if "message_repeat" in c)


def test_sm3_million_a_uneven_chunks() -> None:
    total = MILLION_A["message_repeat"]["count"]
    byte = bytes.fromhex(MILLION_A["message_repeat"]["byte_hex"])
    sizes = [1, 63, 64, 65, 7, 127, 128, 129, 4093, 1, 2, 55, 56, 9999, 31, 32768]
    h = crypto.Sm3()
    fed = i = 0
    while fed < total:
        n = min(sizes[i % len(sizes)], total - fed)
        h.update(byte * n)
        fed += n
        i += 1
    assert i > 100  # really streamed in many uneven pieces
    first = h.digest()
    assert first.hex() == MILLION_A["digest"]
    # digest() does not finalise destructively
    assert h.digest() == first


def test_sm3_copy_forks_the_state() -> None:
    total = MILLION_A["message_repeat"]["count"]
    h = crypto.Sm3()
    h.update(b"a" * 333_333)
    fork = h.copy()
    fork.update(b"b")  # must not disturb h
    h.update(b"a" * (total - 333_333))
    assert h.digest().hex() == MILLION_A["digest"]
    assert fork.digest() == K.sm3_ref(b"a" * 333_333 + b"b")


# ------------------------------------------------- SM2 Annex A (fixed k) ----

ANNEX_A = OFFICIAL["sm2_sign"]["cases"]
ANNEX_IDS = [f"annexA-{i}" for i in range(len(ANNEX_A))]


@pytest.mark.parametrize("case", ANNEX_A, ids=ANNEX_IDS)
def test_annex_a_public_key_derivation(case: Case) -> None:
    sk = crypto.PrivateKey.from_bytes(bytes.fromhex(case["private_key"]))
    assert sk.to_bytes().hex() == case["private_key"]
    assert sk.public_key().to_bytes().hex() == case["public_key"]
    assert sk.public_key().to_bytes(compressed=False).hex() == case["public_key"]


@pytest.mark.parametrize("case", ANNEX_A, ids=ANNEX_IDS)
def test_annex_a_za_and_e(case: Case) -> None:
    pk = crypto.PublicKey.from_bytes(bytes.fromhex(case["public_key"]))
    uid = bytes.fromhex(case["uid_hex"])
    za = pk.za(uid)
    assert za.hex() == case["za"]
    assert crypto.sm3(za + bytes.fromhex(case["message_hex"])).hex() == case["e"]
    # the Annex A ID is the GM/T 0009 default one
    assert uid == crypto.DEFAULT_UID == b"1234567812345678"
    assert pk.za(crypto.DEFAULT_UID).hex() == case["za"]


@pytest.mark.parametrize("case", ANNEX_A, ids=ANNEX_IDS)
def test_annex_a_sign_with_given_k(case: Case) -> None:
    e = bytes.fromhex(case["e"])
    sig = K.sign_digest_with_k(bytes.fromhex(case["private_key"]), e, bytes.fromhex(case["k"]))
    r, s = K.sig_from_der(sig) if len(sig) != 64 else K.raw_to_ints(sig)
    assert f"{r:064x}" == case["r"]
    assert f"{s:064x}" == case["s"]


@pytest.mark.parametrize("case", ANNEX_A, ids=ANNEX_IDS)
def test_annex_a_signature_verifies(case: Case) -> None:
    pub = bytes.fromhex(case["public_key"])
    msg = bytes.fromhex(case["message_hex"])
    uid = bytes.fromhex(case["uid_hex"])
    r, s = int(case["r"], 16), int(case["s"], 16)
    pk = crypto.PublicKey.from_bytes(pub)
    for sig in (K.sig_to_der(r, s), K.sig_to_raw(r, s)):
        pk.verify(msg, sig, uid=uid)
        pk.verify_digest(bytes.fromhex(case["e"]), sig)
        crypto.sm2_verify(pub, msg, sig, uid=uid)
    with pytest.raises(InvalidSignatureError):
        pk.verify(msg + b"!", K.sig_to_der(r, s), uid=uid)
    with pytest.raises(InvalidSignatureError):
        pk.verify(msg, K.sig_to_der(r, s), uid=uid + b"!")


@pytest.mark.parametrize("case", ANNEX_A, ids=ANNEX_IDS)
def test_annex_a_sign_digest_and_kid(case: Case) -> None:
    sk = crypto.PrivateKey.from_bytes(bytes.fromhex(case["private_key"]))
    pk = sk.public_key()
    e = bytes.fromhex(case["e"])
    sig = sk.sign_digest(e)
    K.sig_from_der(sig)  # canonical output is strict DER
    pk.verify_digest(e, sig)
    pk.verify(bytes.fromhex(case["message_hex"]), sig)
    # formats.md: kid = lowercase hex of the first 8 bytes of SM3(65-byte key)
    pub = bytes.fromhex(case["public_key"])
    assert pk.kid() == K.sm3_ref(pub)[:8].hex()


# -------------------------------------------- OpenSSL verify cases (96) ----

CASES = OPENSSL["cases"]


def _case_id(i: int, c: Case) -> str:
    what = "valid" if c["valid"] else _slug(c["desc"])
    uid = bytes.fromhex(c["uid"])
    return f"{i:02d}-{what}-uid{len(uid)}-msg{len(bytes.fromhex(c['message']))}"


VALID = [pytest.param(c, id=_case_id(i, c)) for i, c in enumerate(CASES) if c["valid"]]
INVALID = [pytest.param(c, id=_case_id(i, c)) for i, c in enumerate(CASES) if not c["valid"]]


def _fields(c: Case) -> tuple[bytes, bytes, bytes, bytes, bytes]:
    return (
        bytes.fromhex(c["public_key"]),
        bytes.fromhex(c["spki"]),
        bytes.fromhex(c["uid"]),
        bytes.fromhex(c["message"]),
        bytes.fromhex(c["signature"]),
    )


def _expect_rejected(c: Case, call: Callable[[], object]) -> None:
    allowed: tuple[type[Exception], ...] = (InvalidSignatureError,)
    if c.get("malformed_ok"):
        allowed = (InvalidSignatureError, MalformedInputError)
    with pytest.raises(allowed):
        call()


@pytest.mark.parametrize("c", VALID)
def test_openssl_valid_sec1_key(c: Case) -> None:
    pub, _, uid, msg, sig = _fields(c)
    crypto.sm2_verify(pub, msg, sig, uid=uid)
    crypto.PublicKey.from_bytes(pub).verify(msg, sig, uid=uid)


@pytest.mark.parametrize("c", VALID)
def test_openssl_valid_spki_key(c: Case) -> None:
    pub, spki, uid, msg, sig = _fields(c)
    pk = crypto.PublicKey.from_bytes(spki)
    assert pk.to_bytes() == pub
    assert pk.to_der() == spki
    pk.verify(msg, sig, uid=uid)
    crypto.sm2_verify(spki, msg, sig, uid=uid)


@pytest.mark.parametrize("c", VALID)
def test_openssl_valid_raw_signature(c: Case) -> None:
    pub, _, uid, msg, _ = _fields(c)
    raw = bytes.fromhex(c["raw"])
    crypto.sm2_verify(pub, msg, raw, uid=uid)
    crypto.PublicKey.from_bytes(pub).verify(msg, raw, uid=uid)


@pytest.mark.parametrize("c", VALID)
def test_openssl_valid_compressed_key(c: Case) -> None:
    pub, _, uid, msg, sig = _fields(c)
    comp = K.compress(pub)
    assert crypto.PublicKey.from_bytes(pub).to_bytes(compressed=True) == comp
    pk = crypto.PublicKey.from_bytes(comp)
    assert pk.to_bytes() == pub
    pk.verify(msg, sig, uid=uid)


@pytest.mark.parametrize("c", VALID)
def test_openssl_valid_cached_verifier_and_digest(c: Case) -> None:
    pub, _, uid, msg, sig = _fields(c)
    v = crypto.Sm2Verifier(crypto.PublicKey.from_bytes(pub), uid=uid)
    v.verify(msg, sig)
    v.verify(msg, bytes.fromhex(c["raw"]))  # reusable
    pk = crypto.PublicKey.from_bytes(pub)
    assert pk.za(uid) == K.za_ref(uid, pub)
    pk.verify_digest(K.e_ref(uid, pub, msg), sig)


@pytest.mark.parametrize("c", INVALID)
def test_openssl_invalid_sec1_key(c: Case) -> None:
    pub, _, uid, msg, sig = _fields(c)
    _expect_rejected(c, lambda: crypto.sm2_verify(pub, msg, sig, uid=uid))
    _expect_rejected(c, lambda: crypto.PublicKey.from_bytes(pub).verify(msg, sig, uid=uid))


@pytest.mark.parametrize("c", INVALID)
def test_openssl_invalid_spki_key_and_verifier(c: Case) -> None:
    _, spki, uid, msg, sig = _fields(c)
    _expect_rejected(c, lambda: crypto.sm2_verify(spki, msg, sig, uid=uid))
    _expect_rejected(
        c, lambda: crypto.Sm2Verifier(crypto.PublicKey.from_bytes(spki), uid=uid).verify(msg, sig)
    )


def test_openssl_cases_in_one_batch() -> None:
    """All 96 cases through sm2_verify_batch, one call per distinct ID."""
    by_uid: dict[bytes, list[Case]] = {}
    for c in CASES:
        by_uid.setdefault(bytes.fromhex(c["uid"]), []).append(c)
    assert len(by_uid) > 1
    for uid, cases in by_uid.items():
        items = [(_fields(c)[0], _fields(c)[3], _fields(c)[4]) for c in cases]
        assert crypto.sm2_verify_batch(items, uid=uid) == [c["valid"] for c in cases]
