"""Property tests (hypothesis) for pyservice.crypto.

Round trips, single-bit tampering, garbage input and batch/individual
agreement. Only two exception types may come out of SM2 verification:
InvalidSignatureError (well-formed, does not verify) and MalformedInputError
(unparseable input); GCM tampering raises InvalidTagError. Example counts are
moderate so the file runs in well under 20 s.
"""

from __future__ import annotations

import hmac

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from pyservice import crypto
from pyservice.errors import InvalidSignatureError, InvalidTagError, MalformedInputError
from tests import crypto_testkit as K

REJECT = (InvalidSignatureError, MalformedInputError)

FAST = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
FEW = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])

seeds = st.binary(min_size=32, max_size=32)
uids = st.binary(min_size=0, max_size=100)
messages = st.binary(min_size=0, max_size=300)


def key_from(seed: bytes) -> crypto.PrivateKey:
    return crypto.PrivateKey.from_bytes(K.scalar_from_seed(seed).to_bytes(32, "big"))


def _signed(
    seed: bytes, uid: bytes, msg: bytes
) -> tuple[crypto.PrivateKey, crypto.PublicKey, bytes, bytes]:
    sk = key_from(seed)
    pk = sk.public_key()
    return sk, pk, pk.to_bytes(), sk.sign(msg, uid=uid)


# ------------------------------------------------------------ round trips ----


@FAST
@given(seed=seeds, uid=uids, msg=messages)
def test_sign_verify_round_trip(seed: bytes, uid: bytes, msg: bytes) -> None:
    _, pk, pub, sig = _signed(seed, uid, msg)
    r, s = K.sig_from_der(sig)  # strict, minimal DER
    assert 1 <= r < K.N
    assert 1 <= s < K.N
    assert pub == K.pub_from_priv(K.scalar_from_seed(seed))
    assert K.verify_ref(pub, K.e_ref(uid, pub, msg), r, s)  # independent check
    raw = K.sig_to_raw(r, s)
    for sig_form in (sig, raw):
        pk.verify(msg, sig_form, uid=uid)
        crypto.sm2_verify(pub, msg, sig_form, uid=uid)
        crypto.sm2_verify(pk.to_der(), msg, sig_form, uid=uid)
        crypto.Sm2Verifier(pk, uid=uid).verify(msg, sig_form)
    assert crypto.sm2_verify_batch([(pub, msg, sig), (pub, msg, raw)], uid=uid) == [True, True]


@FAST
@given(seed=seeds, msg=messages)
def test_default_uid_is_gmt0009(seed: bytes, msg: bytes) -> None:
    sk, pk, pub, sig = _signed(seed, crypto.DEFAULT_UID, msg)
    assert crypto.DEFAULT_UID == b"1234567812345678"
    pk.verify(msg, sig)  # default keyword
    crypto.sm2_verify(pub, msg, sk.sign(msg))
    assert pk.za(crypto.DEFAULT_UID) == K.za_ref(b"1234567812345678", pub)
    e = crypto.sm3(pk.za(crypto.DEFAULT_UID) + msg)
    pk.verify_digest(e, sig)
    pk.verify(msg, sk.sign_digest(e))


@FAST
@given(seed=seeds)
def test_key_serialisation_round_trips(seed: bytes) -> None:
    sk = key_from(seed)
    pk = sk.public_key()
    d = K.scalar_from_seed(seed).to_bytes(32, "big")
    assert sk.to_bytes() == d
    assert crypto.PrivateKey.from_der(sk.to_der()).to_bytes() == d
    assert crypto.PrivateKey.from_pem(sk.to_pem()).to_bytes() == d
    pub = pk.to_bytes()
    assert len(pub) == 65
    assert pub[0] == 4
    assert pk.to_bytes(compressed=True) == K.compress(pub)
    for form in (pub, K.compress(pub), pk.to_der()):
        assert crypto.PublicKey.from_bytes(form).to_bytes() == pub
    assert crypto.PublicKey.from_pem(pk.to_pem()).to_bytes() == pub
    assert pk.kid() == K.sm3_ref(pub)[:8].hex()


def test_generated_keys_work_and_differ() -> None:
    a, b = crypto.PrivateKey.generate(), crypto.PrivateKey.generate()
    assert a.to_bytes() != b.to_bytes()
    assert 1 <= int.from_bytes(a.to_bytes(), "big") <= K.N - 2
    a.public_key().verify(b"m", a.sign(b"m"))
    with pytest.raises(InvalidSignatureError):
        b.public_key().verify(b"m", a.sign(b"m"))


@pytest.mark.parametrize(
    ("d", "ok"),
    [
        (0, False),
        (1, True),
        (2, True),
        (K.N - 2, True),
        (K.N - 1, False),
        (K.N, False),
        (2**256 - 1, False),
    ],
    ids=["zero", "one", "two", "n-2", "n-1", "n", "max"],
)
def test_private_scalar_range(d: int, ok: bool) -> None:
    data = d.to_bytes(32, "big")
    if ok:
        sk = crypto.PrivateKey.from_bytes(data)
        sk.public_key().verify(b"edge", sk.sign(b"edge"))
        assert sk.public_key().to_bytes() == K.pub_from_priv(d)
    else:
        with pytest.raises(MalformedInputError):
            crypto.PrivateKey.from_bytes(data)


@pytest.mark.parametrize("length", [0, 31, 33, 64])
def test_private_key_wrong_length(length: int) -> None:
    with pytest.raises(MalformedInputError):
        crypto.PrivateKey.from_bytes(b"\x01" * length)


# ---------------------------------------------------------------- ID size ----


def test_uid_8191_bytes_is_accepted() -> None:
    sk = key_from(b"\x07" * 32)
    pk = sk.public_key()
    uid = b"\xa5" * 8191
    sig = sk.sign(b"long id", uid=uid)
    pk.verify(b"long id", sig, uid=uid)
    crypto.sm2_verify(pk.to_bytes(), b"long id", sig, uid=uid)
    crypto.Sm2Verifier(pk, uid=uid).verify(b"long id", sig)
    assert pk.za(uid) == K.za_ref(uid, pk.to_bytes())  # ENTL = 65528 bits
    assert crypto.sm2_verify_batch([(pk.to_bytes(), b"long id", sig)], uid=uid) == [True]


def test_uid_8192_bytes_is_malformed() -> None:
    sk = key_from(b"\x07" * 32)
    pk = sk.public_key()
    uid = b"\xa5" * 8192
    sig = sk.sign(b"long id")
    with pytest.raises(MalformedInputError):
        pk.verify(b"long id", sig, uid=uid)
    with pytest.raises(MalformedInputError):
        crypto.sm2_verify(pk.to_bytes(), b"long id", sig, uid=uid)
    with pytest.raises(MalformedInputError):
        pk.za(uid)
    with pytest.raises(MalformedInputError):
        sk.sign(b"long id", uid=uid)
    with pytest.raises(MalformedInputError):  # at construction or at use
        crypto.Sm2Verifier(pk, uid=uid).verify(b"long id", sig)
    with pytest.raises(MalformedInputError):
        crypto.sm2_verify_batch([(pk.to_bytes(), b"long id", sig)], uid=uid)


# --------------------------------------------------------------- bit flips ----


@FAST
@given(seed=seeds, uid=uids, msg=messages.filter(len), data=st.data())
def test_message_bit_flip_is_invalid(
    seed: bytes, uid: bytes, msg: bytes, data: st.DataObject
) -> None:
    _, pk, pub, sig = _signed(seed, uid, msg)
    bit = data.draw(st.integers(0, 8 * len(msg) - 1), label="bit")
    with pytest.raises(InvalidSignatureError):
        pk.verify(K.flip_bit(msg, bit), sig, uid=uid)
    with pytest.raises(InvalidSignatureError):
        crypto.sm2_verify(pub, msg + b"\x00", sig, uid=uid)


@FAST
@given(seed=seeds, uid=uids.filter(len), msg=messages, data=st.data())
def test_uid_bit_flip_is_invalid(seed: bytes, uid: bytes, msg: bytes, data: st.DataObject) -> None:
    _, pk, _, sig = _signed(seed, uid, msg)
    bit = data.draw(st.integers(0, 8 * len(uid) - 1), label="bit")
    with pytest.raises(InvalidSignatureError):
        pk.verify(msg, sig, uid=K.flip_bit(uid, bit))


@FAST
@given(seed=seeds, msg=messages, data=st.data())
def test_der_signature_bit_flip_is_rejected(seed: bytes, msg: bytes, data: st.DataObject) -> None:
    _, pk, pub, sig = _signed(seed, b"", msg)
    # signing may be randomised, so draw from a fixed range (replayable)
    bad = K.flip_bit(sig, data.draw(st.integers(0, 8 * 72 - 1), label="bit") % (8 * len(sig)))
    with pytest.raises(REJECT):
        pk.verify(msg, bad, uid=b"")
    with pytest.raises(REJECT):
        crypto.sm2_verify(pub, msg, bad, uid=b"")


@FAST
@given(seed=seeds, msg=messages, bit=st.integers(0, 511))
def test_raw_signature_bit_flip_is_rejected(seed: bytes, msg: bytes, bit: int) -> None:
    _, pk, _, sig = _signed(seed, b"", msg)
    bad = K.flip_bit(K.sig_to_raw(*K.sig_from_der(sig)), bit)
    with pytest.raises(REJECT):
        pk.verify(msg, bad, uid=b"")


@FAST
@given(seed=seeds, msg=messages, bit=st.integers(0, 65 * 8 - 1))
def test_public_key_bit_flip_is_rejected(seed: bytes, msg: bytes, bit: int) -> None:
    _, _, pub, sig = _signed(seed, crypto.DEFAULT_UID, msg)
    bad = K.flip_bit(pub, bit)
    with pytest.raises(REJECT):
        crypto.sm2_verify(bad, msg, sig)
    x, y = int.from_bytes(bad[1:33], "big"), int.from_bytes(bad[33:], "big")
    if bad[0] != 4 or not K.on_curve(x, y):  # 0x04 prefix changed or point off the curve
        with pytest.raises(MalformedInputError):
            crypto.PublicKey.from_bytes(bad)


@FAST
@given(seed=seeds, msg=messages, bit=st.integers(0, 33 * 8 - 1))
def test_compressed_key_bit_flip_is_rejected(seed: bytes, msg: bytes, bit: int) -> None:
    _, _, pub, sig = _signed(seed, crypto.DEFAULT_UID, msg)
    with pytest.raises(REJECT):
        crypto.sm2_verify(K.flip_bit(K.compress(pub), bit), msg, sig)


def _x_not_on_curve() -> int:
    x = 1
    while pow((x**3 + K.A * x + K.B) % K.P, (K.P - 1) // 2, K.P) == 1:
        x += 1
    return x


def test_off_curve_and_infinity_keys_are_malformed() -> None:
    pub = K.pub_from_priv(5)
    x_off = _x_not_on_curve().to_bytes(32, "big")
    y_plus_one = pub[:33] + ((int.from_bytes(pub[33:], "big") + 1) % K.P).to_bytes(32, "big")
    for bad in (
        y_plus_one,
        b"\x00",
        b"\x04" + bytes(64),
        b"\x02" + x_off,
        b"\x03" + x_off,
        b"\x04" + K.P.to_bytes(32, "big") + pub[33:],
        pub[:64],
        pub + b"\x00",
        b"\x06" + pub[1:],
        b"\x05" + pub[1:33],
    ):
        with pytest.raises(MalformedInputError):
            crypto.PublicKey.from_bytes(bad)
        with pytest.raises(MalformedInputError):
            crypto.sm2_verify(bad, b"m", bytes(64))


def test_signature_scalars_out_of_range_are_rejected() -> None:
    sk = key_from(b"\x11" * 32)
    pk = sk.public_key()
    r, s = K.sig_from_der(sk.sign(b"m"))
    pk.verify(b"m", K.sig_to_der(r, s))
    for rr, ss in (
        (0, s),
        (r, 0),
        (r + K.N, s),
        (r, s + K.N),
        (K.N, s),
        (r, K.N),
        (r, (s + 1) % K.N),
        ((r + 1) % K.N, s),
        (K.N - r, K.N - s),
    ):
        if rr < 2**256 and ss < 2**256:
            with pytest.raises(REJECT):
                pk.verify(b"m", K.sig_to_raw(rr, ss))
        with pytest.raises(REJECT):
            pk.verify(b"m", K.sig_to_der(rr, ss))


@FAST
@given(seed=seeds, msg=messages, cut=st.integers(1, 71), extra=st.binary(min_size=1, max_size=3))
def test_truncated_or_extended_signature_is_rejected(
    seed: bytes, msg: bytes, cut: int, extra: bytes
) -> None:
    _, pk, _, sig = _signed(seed, crypto.DEFAULT_UID, msg)
    assume(cut < len(sig))
    for bad in (sig[:cut], sig + extra, sig[:-1]):
        with pytest.raises(REJECT):
            pk.verify(msg, bad)


# --------------------------------------------------------- garbage input ----


@settings(max_examples=300, deadline=None)
@given(sig=st.binary(max_size=140), msg=st.binary(max_size=40))
def test_random_signature_bytes_only_raise_the_two_errors(sig: bytes, msg: bytes) -> None:
    pub = K.pub_from_priv(3)
    with pytest.raises(REJECT):
        crypto.sm2_verify(pub, msg, sig)


@st.composite
def der_like_signatures(draw: st.DrawFn) -> bytes:
    """Sequences of two INTEGERs with random (often invalid) contents."""

    def integer() -> bytes:
        body = draw(
            st.one_of(
                st.integers(-(2**300), 2**300).map(
                    lambda v: v.to_bytes((v.bit_length() + 8) // 8 or 1, "big", signed=True)
                ),
                st.binary(min_size=0, max_size=40),
            )
        )
        return b"\x02" + bytes([len(body)]) + body

    body = integer() + integer() + draw(st.sampled_from([b"", b"\x00", b"\x05\x00"]))
    return b"\x30" + bytes([len(body) % 256]) + body


@settings(max_examples=300, deadline=None)
@given(sig=der_like_signatures())
def test_der_like_signatures_only_raise_the_two_errors(sig: bytes) -> None:
    pub = K.pub_from_priv(3)
    with pytest.raises(REJECT):
        crypto.sm2_verify(pub, b"msg", sig)


@settings(max_examples=300, deadline=None)
@given(
    key=st.one_of(
        st.binary(max_size=120),
        st.tuples(st.sampled_from([b"\x02", b"\x03"]), st.binary(min_size=32, max_size=32)).map(
            b"".join
        ),
        st.tuples(st.just(b"\x04"), st.binary(min_size=64, max_size=64)).map(b"".join),
    )
)
def test_random_public_key_bytes(key: bytes) -> None:
    """Either a valid point (then usable) or MalformedInputError; nothing else."""
    try:
        pk = crypto.PublicKey.from_bytes(key)
    except MalformedInputError:
        with pytest.raises(MalformedInputError):
            crypto.sm2_verify(key, b"m", bytes(64))
        return
    full = pk.to_bytes()
    assert K.on_curve(int.from_bytes(full[1:33], "big"), int.from_bytes(full[33:], "big"))
    with pytest.raises(InvalidSignatureError):
        pk.verify(b"m", K.sig_to_raw(1, 1))


@settings(max_examples=100, deadline=None)
@given(data=st.binary(max_size=200))
def test_random_private_key_der_and_pem_are_malformed(data: bytes) -> None:
    with pytest.raises(MalformedInputError):
        crypto.PrivateKey.from_der(data)
    with pytest.raises(MalformedInputError):
        crypto.PrivateKey.from_pem(
            b"-----BEGIN PRIVATE KEY-----\n"
            + data.hex().encode()
            + b"\n-----END PRIVATE KEY-----\n"
        )
    with pytest.raises(MalformedInputError):
        crypto.PublicKey.from_pem(data)


# ------------------------------------------------------------------ batch ----


@st.composite
def batch_items(draw: st.DrawFn) -> list[tuple[str, bytes, bytes]]:
    """A mix of good, wrong-message, wrong-key and malformed items."""
    items = []
    for _ in range(draw(st.integers(0, 12))):
        seed = draw(seeds)
        msg = draw(st.binary(max_size=50))
        kind = draw(
            st.sampled_from(
                [
                    "good",
                    "good_raw",
                    "bad_msg",
                    "other_key",
                    "garbage_sig",
                    "garbage_key",
                    "empty_sig",
                ]
            )
        )
        items.append((kind, seed, msg))
    return items


def _materialise(kind: str, seed: bytes, msg: bytes, uid: bytes) -> tuple[bytes, bytes, bytes]:
    sk = key_from(seed)
    pub = sk.public_key().to_bytes()
    sig = sk.sign(msg, uid=uid)
    if kind == "good_raw":
        sig = K.sig_to_raw(*K.sig_from_der(sig))
    elif kind == "bad_msg":
        msg = msg + b"!"
    elif kind == "other_key":
        pub = K.pub_from_priv(K.scalar_from_seed(seed) % (K.N - 3) + 2)  # != d
    elif kind == "garbage_sig":
        sig = b"\x30\x03\x02\x01"
    elif kind == "garbage_key":
        pub = b"\x04" + bytes(64)
    elif kind == "empty_sig":
        sig = b""
    return pub, msg, sig


@FEW
@given(spec=batch_items(), uid=uids)
def test_batch_equals_individual(spec: list[tuple[str, bytes, bytes]], uid: bytes) -> None:
    items = [_materialise(kind, seed, msg, uid) for kind, seed, msg in spec]
    expected = []
    for pub, msg, sig in items:
        try:
            crypto.sm2_verify(pub, msg, sig, uid=uid)
            expected.append(True)
        except REJECT:
            expected.append(False)
    want = [kind in ("good", "good_raw") for kind, _, _ in spec]
    assert expected == want
    assert crypto.sm2_verify_batch(items, uid=uid) == want


def test_large_batch_equals_individual() -> None:
    """Large enough to be split across worker threads."""
    items, want = [], []
    keys = [key_from(bytes([i]) * 32) for i in range(8)]
    for i in range(600):
        sk = keys[i % 8]
        msg = i.to_bytes(4, "big")
        sig = sk.sign(msg)
        pub = sk.public_key().to_bytes()
        if i % 7 == 3:
            msg += b"x"
        elif i % 11 == 5:
            sig = sig[:-1]
        items.append((pub, msg, sig))
        want.append(i % 7 != 3 and i % 11 != 5)
    assert crypto.sm2_verify_batch(items) == want
    assert crypto.sm2_verify_batch([]) == []


# --------------------------------------------------------------- SM4-GCM ----

keys16 = st.binary(min_size=16, max_size=16)
nonces = st.binary(min_size=12, max_size=12)


@FAST
@given(key=keys16, nonce=nonces, pt=st.binary(max_size=200), aad=st.binary(max_size=50))
def test_gcm_round_trip(key: bytes, nonce: bytes, pt: bytes, aad: bytes) -> None:
    sealed = crypto.sm4_gcm_encrypt(key, nonce, pt, aad)
    assert len(sealed) == len(pt) + 16
    assert crypto.sm4_gcm_decrypt(key, nonce, sealed, aad) == pt


@FAST
@given(
    key=keys16, nonce=nonces, pt=st.binary(max_size=100), aad=st.binary(max_size=30), data=st.data()
)
def test_gcm_bit_flips_fail_the_tag(
    key: bytes, nonce: bytes, pt: bytes, aad: bytes, data: st.DataObject
) -> None:
    sealed = crypto.sm4_gcm_encrypt(key, nonce, pt, aad)
    bit = data.draw(st.integers(0, 8 * len(sealed) - 1), label="sealed bit")
    with pytest.raises(InvalidTagError):
        crypto.sm4_gcm_decrypt(key, nonce, K.flip_bit(sealed, bit), aad)
    with pytest.raises(InvalidTagError):
        crypto.sm4_gcm_decrypt(K.flip_bit(key, data.draw(st.integers(0, 127))), nonce, sealed, aad)
    with pytest.raises(InvalidTagError):
        crypto.sm4_gcm_decrypt(key, K.flip_bit(nonce, data.draw(st.integers(0, 95))), sealed, aad)
    if aad:
        with pytest.raises(InvalidTagError):
            crypto.sm4_gcm_decrypt(
                key, nonce, sealed, K.flip_bit(aad, data.draw(st.integers(0, 8 * len(aad) - 1)))
            )
    with pytest.raises(InvalidTagError):
        crypto.sm4_gcm_decrypt(key, nonce, sealed, aad + b"\x00")
    if len(sealed) > 16:
        with pytest.raises(InvalidTagError):
            crypto.sm4_gcm_decrypt(key, nonce, sealed[1:], aad)


def test_gcm_malformed_lengths() -> None:
    key, nonce = bytes(16), bytes(12)
    sealed = crypto.sm4_gcm_encrypt(key, nonce, b"secret")
    for k in (b"", bytes(15), bytes(17), bytes(32)):
        with pytest.raises(MalformedInputError):
            crypto.sm4_gcm_encrypt(k, nonce, b"x")
        with pytest.raises(MalformedInputError):
            crypto.sm4_gcm_decrypt(k, nonce, sealed)
    for n in (b"", bytes(65)):
        with pytest.raises(MalformedInputError):
            crypto.sm4_gcm_encrypt(key, n, b"x")
        with pytest.raises(MalformedInputError):
            crypto.sm4_gcm_decrypt(key, n, sealed)
    for short in (b"", sealed[:15]):
        with pytest.raises(MalformedInputError):
            crypto.sm4_gcm_decrypt(key, nonce, short)


# ------------------------------------------------------------------- SM3 ----


@FAST
@given(data=st.binary(max_size=2000), cuts=st.lists(st.integers(0, 2000), max_size=8))
def test_sm3_streaming_equals_one_shot(data: bytes, cuts: list[int]) -> None:
    h = crypto.Sm3()
    pos = 0
    for c in sorted(cuts):
        if c > len(data):
            break
        h.update(data[pos:c])
        snapshot = h.copy()
        snapshot.update(b"\xff")  # forks must not leak into the original
        pos = c
    h.update(data[pos:])
    assert h.digest() == crypto.sm3(data) == K.sm3_ref(data)


@FAST
@given(key=st.binary(max_size=150), msg=st.binary(max_size=300))
def test_hmac_sm3_is_rfc2104(key: bytes, msg: bytes) -> None:
    assert crypto.hmac_sm3(key, msg) == hmac.new(key, msg, "sm3").digest()
