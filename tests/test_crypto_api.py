"""Smoke tests of the Python crypto API plumbing (pyservice.crypto over the
native module): types, exceptions, GIL handling, and round trips.

Behaviour of SM2/SM4 in depth (all shared vectors, edge cases) is tested in
the other tests/test_crypto_*.py files."""

from __future__ import annotations

import hmac
import os
import re
import signal
import threading
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pyservice import _core, crypto, errors
from tests.crypto_testkit import load_vectors

SM3_ABC = "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"


# --- module surface ---------------------------------------------------------


def test_public_api_is_exported() -> None:
    for name in crypto.__all__:
        assert getattr(crypto, name) is getattr(_core, name)
    assert not any(name.startswith("_") for name in crypto.__all__)
    assert "_sign_digest_with_nonce" not in vars(crypto)


def test_default_uid() -> None:
    assert crypto.DEFAULT_UID == b"1234567812345678"
    assert crypto.MAX_UID_LEN == 8191


def test_panics_are_base_exceptions_not_aborts() -> None:
    assert issubclass(crypto.PanicException, BaseException)
    assert not issubclass(crypto.PanicException, Exception)


# --- SM3 and HMAC-SM3 ---------------------------------------------------------


def test_sm3_abc() -> None:
    assert crypto.sm3(b"abc").hex() == SM3_ABC


def test_sm3_known_answers() -> None:
    for case in load_vectors("crypto/official.json")["sm3"]["cases"]:
        if "message_repeat" in case:
            repeat = case["message_repeat"]
            message = bytes.fromhex(repeat["byte_hex"]) * repeat["count"]
        else:
            message = bytes.fromhex(case["message_hex"])
        assert crypto.sm3(message).hex() == case["digest"], case["desc"]
        assert crypto.Sm3(message).hexdigest() == case["digest"], case["desc"]


def test_sm3_streaming_and_copy() -> None:
    h = crypto.Sm3()
    assert (h.name, h.digest_size, h.block_size) == ("sm3", 32, 64)
    h.update(b"a")
    snapshot = h.copy()
    h.update(b"bc")
    assert h.hexdigest() == SM3_ABC
    assert h.digest() == bytes.fromhex(SM3_ABC)
    assert h.digest() == h.digest()  # digest() does not finalise
    assert snapshot.digest() == crypto.sm3(b"a")
    snapshot.update(b"bc")
    assert snapshot.hexdigest() == SM3_ABC


@given(st.lists(st.binary(max_size=200), max_size=8))
def test_sm3_streaming_equals_one_shot(chunks: list[bytes]) -> None:
    h = crypto.Sm3()
    for chunk in chunks:
        h.update(chunk)
    assert h.digest() == crypto.sm3(b"".join(chunks))


def test_sm3_large_input_goes_through_the_detached_path() -> None:
    data = bytes(range(256)) * 4096  # 1 MiB, above the detach threshold
    h = crypto.Sm3()
    h.update(data[:5000])
    h.update(data[5000:])
    assert h.digest() == crypto.sm3(data)


def test_sm3_concurrent_updates_are_serialised() -> None:
    h = crypto.Sm3()
    chunk = b"\x5a" * 100_000
    threads = [threading.Thread(target=h.update, args=(chunk,)) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert h.digest() == crypto.sm3(chunk * 8)


def test_sm3_rejects_str() -> None:
    with pytest.raises(TypeError):
        crypto.sm3("abc")  # type: ignore[arg-type]


def test_hmac_sm3_matches_rfc2104_over_our_sm3() -> None:
    # The stdlib's generic RFC 2104 construction over our hashlib-like Sm3;
    # keys shorter than, equal to and longer than the 64-byte block.
    for key in (b"", b"k", b"k" * 64, b"k" * 65, b"\x00" * 200):
        for data in (b"", b"abc", b"d" * 10_000):
            # (typeshed wants update(ReadableBuffer); Sm3 takes bytes, all hmac passes.)
            expected = hmac.new(key, data, digestmod=crypto.Sm3).digest()  # type: ignore[arg-type]
            assert crypto.hmac_sm3(key, data) == expected, (len(key), len(data))


# --- exceptions -------------------------------------------------------------


def test_uid_too_long_is_malformed_input() -> None:
    with pytest.raises(errors.MalformedInputError, match="8192 bytes") as info:
        crypto.sm2_verify_batch([], uid=b"u" * 8192)
    assert isinstance(info.value, ValueError)
    assert type(info.value) is errors.MalformedInputError


def test_wrong_length_public_key_is_malformed_input() -> None:
    with pytest.raises(errors.MalformedInputError):
        crypto.PublicKey.from_bytes(b"\x04" + b"\x01" * 40)


def test_wrong_length_private_key_is_malformed_input() -> None:
    with pytest.raises(ValueError, match=r"\S") as info:
        crypto.PrivateKey.from_bytes(b"\x01" * 31)
    assert type(info.value) is errors.MalformedInputError


def test_wrong_length_sm4_key_is_malformed_input() -> None:
    with pytest.raises(errors.MalformedInputError):
        crypto.sm4_gcm_encrypt(b"k" * 15, b"n" * 12, b"plaintext")


def test_wrong_length_digest_is_malformed_input() -> None:
    key = crypto.PrivateKey.generate()
    with pytest.raises(errors.MalformedInputError, match="digest must be 32 bytes, got 31"):
        key.sign_digest(b"e" * 31)
    with pytest.raises(errors.MalformedInputError, match="digest must be 32 bytes"):
        key.public_key().verify_digest(b"e" * 33, b"\x01" * 64)


def test_pem_garbage_is_malformed_input() -> None:
    with pytest.raises(errors.MalformedInputError):
        crypto.PublicKey.from_pem("-----BEGIN PUBLIC KEY-----\nnot base64!\n")
    with pytest.raises(TypeError):
        crypto.PublicKey.from_pem(42)  # type: ignore[arg-type]


# --- SM2 round trips ----------------------------------------------------------


def test_sm2_sign_verify_round_trip() -> None:
    key = crypto.PrivateKey.generate()
    public = key.public_key()
    signature = key.sign(b"licence body")
    assert signature[0] == 0x30  # DER SEQUENCE
    public.verify(b"licence body", signature)
    crypto.sm2_verify(public.to_bytes(), b"licence body", signature)
    with pytest.raises(errors.InvalidSignatureError):
        public.verify(b"licence b0dy", signature)
    with pytest.raises(errors.InvalidSignatureError):
        crypto.sm2_verify(public.to_bytes(), b"licence body", signature, uid=b"other")


def test_sm2_raw_signatures_and_uids() -> None:
    key = crypto.PrivateKey.generate()
    raw = key.sign(b"token", uid=b"ALICE123@YAHOO.COM", raw=True)
    assert len(raw) == 64
    key.public_key().verify(b"token", raw, uid=b"ALICE123@YAHOO.COM")
    with pytest.raises(errors.InvalidSignatureError):
        key.public_key().verify(b"token", raw)


def test_sm2_digest_api_matches_message_api() -> None:
    key = crypto.PrivateKey.generate()
    public = key.public_key()
    e = crypto.sm3(public.za() + b"message")
    assert public.za() == public.za(crypto.DEFAULT_UID)
    public.verify(b"message", key.sign_digest(e))
    public.verify_digest(e, key.sign(b"message"))


def test_sm2_key_encodings_round_trip() -> None:
    key = crypto.PrivateKey.generate()
    public = key.public_key()
    sec1 = public.to_bytes()
    assert len(sec1) == 65
    assert sec1[0] == 0x04
    assert len(public.to_bytes(compressed=True)) == 33
    for encoded in (sec1, public.to_bytes(compressed=True), public.to_der()):
        assert crypto.PublicKey.from_bytes(encoded) == public
    assert crypto.PublicKey.from_pem(public.to_pem()) == public
    assert crypto.PublicKey.from_pem(public.to_pem().encode()) == public
    assert hash(crypto.PublicKey.from_bytes(sec1)) == hash(public)
    assert public != crypto.PrivateKey.generate().public_key()

    assert crypto.PrivateKey.from_bytes(key.to_bytes()).public_key() == public
    assert crypto.PrivateKey.from_der(key.to_der()).public_key() == public
    pem = key.to_pem()
    assert pem.startswith("-----BEGIN PRIVATE KEY-----\n")
    assert crypto.PrivateKey.from_pem(pem).public_key() == public


def test_sm2_kid_and_repr_do_not_leak_the_secret() -> None:
    key = crypto.PrivateKey.generate()
    kid = key.public_key().kid()
    assert re.fullmatch(r"[0-9a-f]{16}", kid)
    assert kid == crypto.sm3(key.public_key().to_bytes())[:8].hex()
    assert repr(key) == f"PrivateKey(kid='{kid}')"
    assert key.to_bytes().hex() not in repr(key) + str(key)
    assert repr(key.public_key()) == f"PublicKey(kid='{kid}')"


def test_sm2_verifier() -> None:
    key = crypto.PrivateKey.generate()
    verifier = crypto.Sm2Verifier(key.public_key(), uid=b"issuer-7")
    assert verifier.public_key == key.public_key()
    assert verifier.uid == b"issuer-7"
    verifier.verify(b"m", key.sign(b"m", uid=b"issuer-7"))
    with pytest.raises(errors.InvalidSignatureError):
        verifier.verify(b"m", key.sign(b"m"))
    e = crypto.sm3(key.public_key().za(b"issuer-7") + b"m")
    verifier.verify_digest(e, key.sign_digest(e))
    from_bytes = crypto.Sm2Verifier(key.public_key().to_bytes())
    from_bytes.verify(b"m", key.sign(b"m"))


def test_sm2_verify_batch() -> None:
    keys = [crypto.PrivateKey.generate() for _ in range(3)]
    items = [
        (k.public_key().to_bytes(), b"msg %d" % i, k.sign(b"msg %d" % i))
        for i, k in enumerate(keys)
    ]
    items.append((items[0][0], b"tampered", items[0][2]))
    items.append((b"not a key", b"m", items[0][2]))
    items.append((items[0][0], b"msg 0", b"not a signature"))
    assert crypto.sm2_verify_batch(items) == [True, True, True, False, False, False]
    assert crypto.sm2_verify_batch([]) == []


def test_sm2_verify_batch_works_in_a_forked_child() -> None:
    """Service workers are forked after the parent may have used the batch
    pool; the child must get a working pool of its own, not hang on the
    parent's threads (which do not exist after fork)."""
    key = crypto.PrivateKey.generate()
    good = (key.public_key().to_bytes(), b"m", key.sign(b"m"))
    bad = (good[0], b"other", good[2])
    items = [good, bad] * 200  # large enough to use the pool, not the inline path
    expected = [True, False] * 200
    assert crypto.sm2_verify_batch(items) == expected  # the parent's pool now exists

    pid = os.fork()
    if pid == 0:  # child: report through the exit code only
        ok = False
        try:
            ok = crypto.sm2_verify_batch(items) == expected
        finally:
            os._exit(0 if ok else 1)
    deadline = time.monotonic() + 60
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            pytest.fail("sm2_verify_batch hung in a forked child")
        time.sleep(0.02)
    assert os.waitstatus_to_exitcode(status) == 0


def test_sm2_openssl_vector_smoke() -> None:
    case = next(c for c in load_vectors("crypto/sm2-openssl.json")["cases"] if c["valid"])
    args = (bytes.fromhex(case["message"]), bytes.fromhex(case["signature"]))
    uid = bytes.fromhex(case["uid"])
    crypto.sm2_verify(bytes.fromhex(case["public_key"]), *args, uid=uid)
    crypto.PublicKey.from_bytes(bytes.fromhex(case["spki"])).verify(*args, uid=uid)
    crypto.sm2_verify(
        bytes.fromhex(case["public_key"]), args[0], bytes.fromhex(case["raw"]), uid=uid
    )


def test_sm2_known_answer_through_the_private_hazmat_binding() -> None:
    case = load_vectors("crypto/official.json")["sm2_sign"]["cases"][0]
    key = crypto.PrivateKey.from_bytes(bytes.fromhex(case["private_key"]))
    assert key.public_key().to_bytes().hex() == case["public_key"]
    assert key.public_key().za(bytes.fromhex(case["uid_hex"])).hex() == case["za"]
    raw = _core._sign_digest_with_nonce(key, bytes.fromhex(case["e"]), bytes.fromhex(case["k"]))
    assert raw.hex() == case["r"] + case["s"]


# --- SM4-GCM -----------------------------------------------------------------


def test_sm4_gcm_round_trip_and_tag_check() -> None:
    key, nonce = bytes(range(16)), bytes(range(12))
    sealed = crypto.sm4_gcm_encrypt(key, nonce, b"private key bytes", b"kid:0123")
    assert len(sealed) == len(b"private key bytes") + 16
    assert crypto.sm4_gcm_decrypt(key, nonce, sealed, b"kid:0123") == b"private key bytes"
    assert crypto.sm4_gcm_decrypt(key, nonce, crypto.sm4_gcm_encrypt(key, nonce, b"")) == b""
    with pytest.raises(errors.InvalidTagError):
        crypto.sm4_gcm_decrypt(key, nonce, sealed, b"kid:9999")
    tampered = bytes([sealed[0] ^ 1]) + sealed[1:]
    with pytest.raises(errors.InvalidTagError):
        crypto.sm4_gcm_decrypt(key, nonce, tampered, b"kid:0123")
    with pytest.raises(errors.MalformedInputError):
        crypto.sm4_gcm_decrypt(key, nonce, b"short", b"")


def test_sm4_gcm_large_input() -> None:
    key, nonce = b"K" * 16, b"N" * 12
    data = bytes(range(256)) * 1024
    assert crypto.sm4_gcm_decrypt(key, nonce, crypto.sm4_gcm_encrypt(key, nonce, data)) == data
