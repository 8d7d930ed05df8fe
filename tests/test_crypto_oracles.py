"""Cross-checks of pyservice.crypto against independent implementations.

Oracles: hashlib's SM3 and hmac (OpenSSL), gmssl 3.2.2 (pure Python SM2,
test dependency only), the OpenSSL 3 CLI (``openssl pkeyutl``/``genpkey``),
``cryptography``'s SM4-GCM, and RFC 8998 Appendix A.

Conventions found in the oracles (see also the helpers below):
- OpenSSL 3 signs/verifies SM2 with an EMPTY ID unless ``-pkeyopt distid:``
  (or ``hexdistid:``) is given; we always pass the ID explicitly.
- gmssl's CryptSM2 strips the public key with ``str.lstrip("04")``, which
  also eats leading '0'/'4' hex digits of x; we set ``.public_key`` (x||y
  hex, no prefix) directly after construction. Its ``*_with_sm3`` helpers
  hard-code the default ID; for other IDs we hash Z_A||M ourselves (hashlib)
  and use the digest-level ``sign``/``verify``. ``sign`` returns raw r||s hex
  and needs the nonce k as a hex string.
"""

from __future__ import annotations

import hashlib
import hmac
import random
import shutil
import subprocess
from typing import Any

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from gmssl import sm2 as gmssl_sm2  # type: ignore[import-untyped]

from pyservice import crypto
from pyservice.errors import InvalidSignatureError, InvalidTagError
from tests import crypto_testkit as K

SEED = 20261127
OPENSSL = shutil.which("openssl")


def rng(tag: str) -> random.Random:
    return random.Random(f"{SEED}-{tag}")  # noqa: S311 - reproducible test data, not keys


# ---------------------------------------------------------------- SM3 ----

SM3_LENGTHS = [
    0,
    1,
    2,
    3,
    31,
    32,
    33,
    54,
    55,
    56,
    57,
    63,
    64,
    65,
    119,
    120,
    127,
    128,
    129,
    191,
    192,
    255,
    256,
    1000,
    1024,
    4095,
    4096,
    4097,
    65_537,
    (1 << 20) + 3,
]


@pytest.mark.parametrize("length", SM3_LENGTHS, ids=[f"len{n}" for n in SM3_LENGTHS])
def test_sm3_matches_hashlib(length: int) -> None:
    data = rng(f"sm3-{length}").randbytes(length)
    want = hashlib.new("sm3", data).digest()
    assert crypto.sm3(data) == want
    # same data, streamed in random pieces
    r = rng(f"sm3-chunks-{length}")
    h = crypto.Sm3()
    pos = 0
    while pos < length:
        step = r.choice([1, 7, 55, 63, 64, 65, 300, 5000])
        h.update(data[pos : pos + step])
        pos += step
    assert h.digest() == want


def test_sm3_many_random_lengths() -> None:
    r = rng("sm3-many")
    for _ in range(300):
        data = r.randbytes(r.randrange(0, 700))
        assert crypto.sm3(data) == hashlib.new("sm3", data).digest(), len(data)


# ----------------------------------------------------------- HMAC-SM3 ----


def _hashlib_sm3(data: bytes = b"") -> Any:
    """Digest constructor for hmac.new (hmac calls it with the long key too)."""
    return hashlib.new("sm3", data)


HMAC_KEY_LENGTHS = [0, 1, 16, 32, 63, 64, 65, 100, 200]


@pytest.mark.parametrize("key_len", HMAC_KEY_LENGTHS, ids=[f"key{n}" for n in HMAC_KEY_LENGTHS])
def test_hmac_sm3_matches_stdlib(key_len: int) -> None:
    r = rng(f"hmac-{key_len}")
    for msg_len in (0, 1, 55, 56, 64, 65, 1000, 70_000):
        key, msg = r.randbytes(key_len), r.randbytes(msg_len)
        want = hmac.new(key, msg, "sm3").digest()
        assert want == hmac.new(key, msg, _hashlib_sm3).digest()
        assert crypto.hmac_sm3(key, msg) == want, (key_len, msg_len)


# ------------------------------------------------------ SM2 vs gmssl ----


def gmssl_for(pub65: bytes, d: int | None = None) -> Any:
    c = gmssl_sm2.CryptSM2(private_key=f"{d:064x}" if d else "00", public_key="")
    c.public_key = pub65[1:].hex()  # bypass the lstrip("04") bug
    return c


def _random_key(r: random.Random) -> tuple[int, crypto.PrivateKey]:
    d = K.scalar_from_seed(r.randbytes(32))
    return d, crypto.PrivateKey.from_bytes(d.to_bytes(32, "big"))


GMSSL_UIDS = [
    b"1234567812345678",
    b"",
    b"alice@example.cn",
    "颁证机关".encode(),
    bytes(range(256)) * 2,
]


def test_gmssl_verifies_our_default_id_signatures() -> None:
    r = rng("gmssl-ours-default")
    for _i in range(4):
        d, sk = _random_key(r)
        msg = r.randbytes(r.randrange(0, 300))
        pub = sk.public_key().to_bytes()
        assert pub == K.pub_from_priv(d)
        rr, ss = K.sig_from_der(sk.sign(msg))
        g = gmssl_for(pub)
        assert g.verify_with_sm3(f"{rr:064x}{ss:064x}", msg) is True
        assert not g.verify_with_sm3(f"{rr:064x}{ss:064x}", msg + b"x")


@pytest.mark.parametrize("uid", GMSSL_UIDS, ids=["default", "empty", "email", "utf8", "512B"])
def test_gmssl_verifies_our_signatures_any_id(uid: bytes) -> None:
    r = rng(f"gmssl-ours-{uid!r}")
    _, sk = _random_key(r)
    pub = sk.public_key().to_bytes()
    msg = r.randbytes(100)
    rr, ss = K.sig_from_der(sk.sign(msg, uid=uid))
    e = K.e_ref(uid, pub, msg)  # independent Z_A (hashlib)
    assert sk.public_key().za(uid) == K.za_ref(uid, pub)
    assert gmssl_for(pub).verify(f"{rr:064x}{ss:064x}", e) is True


def test_we_verify_gmssl_default_id_signatures() -> None:
    r = rng("gmssl-theirs-default")
    for _ in range(4):
        d, _sk = _random_key(r)
        pub = K.pub_from_priv(d)
        msg = r.randbytes(r.randrange(0, 300))
        k = f"{K.scalar_from_seed(r.randbytes(32)):064x}"
        raw_hex = gmssl_for(pub, d).sign_with_sm3(msg, k)
        assert raw_hex
        assert len(raw_hex) == 128
        raw = bytes.fromhex(raw_hex)
        der = K.sig_to_der(*K.raw_to_ints(raw))
        pk = crypto.PublicKey.from_bytes(pub)
        pk.verify(msg, raw)
        pk.verify(msg, der)
        crypto.sm2_verify(pub, msg, der)
        with pytest.raises(InvalidSignatureError):
            pk.verify(msg + b"x", der)


@pytest.mark.parametrize("uid", GMSSL_UIDS, ids=["default", "empty", "email", "utf8", "512B"])
def test_we_verify_gmssl_signatures_any_id(uid: bytes) -> None:
    r = rng(f"gmssl-theirs-{uid!r}")
    d = K.scalar_from_seed(r.randbytes(32))
    pub = K.pub_from_priv(d)
    msg = r.randbytes(77)
    k = f"{K.scalar_from_seed(r.randbytes(32)):064x}"
    raw = bytes.fromhex(gmssl_for(pub, d).sign(K.e_ref(uid, pub, msg), k))
    crypto.sm2_verify(pub, msg, raw, uid=uid)
    crypto.Sm2Verifier(crypto.PublicKey.from_bytes(pub), uid=uid).verify(msg, raw)
    with pytest.raises(InvalidSignatureError):
        crypto.sm2_verify(pub, msg, raw, uid=uid + b"\x00")


def test_gmssl_fixed_k_signature_equals_hazmat() -> None:
    """Same key, digest and nonce: our hazmat and gmssl give the same r, s."""
    r = rng("gmssl-fixed-k")
    for _ in range(3):
        d = K.scalar_from_seed(r.randbytes(32))
        k = K.scalar_from_seed(r.randbytes(32))
        e = r.randbytes(32)
        want = gmssl_for(K.pub_from_priv(d), d).sign(e, f"{k:064x}")
        got = K.sign_digest_with_k(d.to_bytes(32, "big"), e, k.to_bytes(32, "big"))
        got_rs = K.sig_from_der(got) if len(got) != 64 else K.raw_to_ints(got)
        assert f"{got_rs[0]:064x}{got_rs[1]:064x}" == want
        assert got_rs == K.sign_ref(d, e, k)


# ------------------------------------------------------ SM2 vs OpenSSL ----
# Subprocesses: 1 genpkey + 1 pkey + 2 ec + 4 sign + 5 verify + 1 pkey = 14.

OSSL_UIDS = {
    "default": crypto.DEFAULT_UID,
    "ascii": b"issuer-330000-seal",
    "binary": bytes([0, 1, 0xFF, 0x80, 0x7F, 0x20]),
    "long300": bytes(range(150)) * 2,
}


def _distid_opt(uid: bytes) -> list[str]:
    return ["-pkeyopt", f"hexdistid:{uid.hex()}"] if uid else []


def _ossl(
    *args: str, stdin: bytes | None = None, check: bool = True
) -> subprocess.CompletedProcess[bytes]:
    assert OPENSSL, "openssl CLI not found on PATH"
    return subprocess.run(  # noqa: S603 - fixed argv, no shell
        [OPENSSL, *args], input=stdin, capture_output=True, check=check, timeout=30
    )


@pytest.fixture(scope="module")
def ossl_key(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """An SM2 key made by `openssl genpkey`, in the forms OpenSSL writes."""
    d = tmp_path_factory.mktemp("ossl")
    priv_pem = d / "priv.pem"
    _ossl("genpkey", "-algorithm", "SM2", "-out", str(priv_pem))
    pub_der = _ossl("pkey", "-in", str(priv_pem), "-pubout", "-outform", "DER").stdout
    sec1_der = _ossl("ec", "-in", str(priv_pem), "-outform", "DER").stdout
    sec1_pem = _ossl("ec", "-in", str(priv_pem)).stdout
    return {
        "dir": d,
        "priv_pem": priv_pem,
        "pub_der": pub_der,
        "sec1_der": sec1_der,
        "sec1_pem": sec1_pem,
    }


def test_openssl_private_key_pem_and_der_read_by_us(ossl_key: dict[str, Any]) -> None:
    pem = ossl_key["priv_pem"].read_bytes()
    assert b"-----BEGIN PRIVATE KEY-----" in pem  # PKCS#8
    sk = crypto.PrivateKey.from_pem(pem)
    assert sk.public_key().to_der() == ossl_key["pub_der"]
    assert crypto.PublicKey.from_bytes(ossl_key["pub_der"]).to_bytes() == sk.public_key().to_bytes()
    # SEC1 "traditional" private key: DER, and the PEM OpenSSL labels "SM2 PRIVATE KEY"
    assert crypto.PrivateKey.from_der(ossl_key["sec1_der"]).to_bytes() == sk.to_bytes()
    assert b"-----BEGIN SM2 PRIVATE KEY-----" in ossl_key["sec1_pem"]
    assert crypto.PrivateKey.from_pem(ossl_key["sec1_pem"]).to_bytes() == sk.to_bytes()
    # our PKCS#8 round-trips through our own reader
    assert crypto.PrivateKey.from_der(sk.to_der()).to_bytes() == sk.to_bytes()
    pub_pem = sk.public_key().to_pem()
    assert crypto.PublicKey.from_pem(pub_pem).to_bytes() == sk.public_key().to_bytes()


@pytest.mark.parametrize("uid_name", list(OSSL_UIDS))
def test_openssl_signs_we_verify(ossl_key: dict[str, Any], uid_name: str) -> None:
    uid = OSSL_UIDS[uid_name]
    d = ossl_key["dir"]
    msg = rng(f"ossl-sign-{uid_name}").randbytes(211)
    (d / f"m-{uid_name}").write_bytes(msg)
    sig = _ossl(
        "pkeyutl",
        "-sign",
        "-inkey",
        str(ossl_key["priv_pem"]),
        "-rawin",
        "-digest",
        "sm3",
        *_distid_opt(uid),
        "-in",
        str(d / f"m-{uid_name}"),
    ).stdout
    K.sig_from_der(sig)  # OpenSSL emits strict DER
    pk = crypto.PublicKey.from_bytes(ossl_key["pub_der"])
    pk.verify(msg, sig, uid=uid)
    crypto.sm2_verify(ossl_key["pub_der"], msg, sig, uid=uid)
    with pytest.raises(InvalidSignatureError):
        pk.verify(msg, sig, uid=uid + b"x")


@pytest.fixture(scope="module")
def our_key(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    d = tmp_path_factory.mktemp("ours")
    sk = crypto.PrivateKey.from_bytes(
        K.scalar_from_seed(rng("ours-key").randbytes(32)).to_bytes(32, "big")
    )
    (d / "pub.pem").write_bytes(_as_bytes(sk.public_key().to_pem()))
    (d / "priv.pem").write_bytes(_as_bytes(sk.to_pem()))
    return {"dir": d, "sk": sk}


def _as_bytes(pem: str | bytes) -> bytes:
    return pem.encode() if isinstance(pem, str) else pem


@pytest.mark.parametrize("uid_name", list(OSSL_UIDS))
def test_we_sign_openssl_verifies(our_key: dict[str, Any], uid_name: str) -> None:
    uid = OSSL_UIDS[uid_name]
    d = our_key["dir"]
    msg = rng(f"ours-sign-{uid_name}").randbytes(97)
    (d / f"m-{uid_name}").write_bytes(msg)
    (d / f"s-{uid_name}").write_bytes(our_key["sk"].sign(msg, uid=uid))
    out = _ossl(
        "pkeyutl",
        "-verify",
        "-pubin",
        "-inkey",
        str(d / "pub.pem"),
        "-rawin",
        "-digest",
        "sm3",
        *_distid_opt(uid),
        "-in",
        str(d / f"m-{uid_name}"),
        "-sigfile",
        str(d / f"s-{uid_name}"),
        check=False,
    )
    assert out.returncode == 0, out
    assert b"Verified Successfully" in out.stdout, out


def test_openssl_rejects_our_signature_under_other_id(our_key: dict[str, Any]) -> None:
    """The OpenSSL oracle can say no: wrong ID must fail there too."""
    d = our_key["dir"]
    msg = b"wrong id check"
    (d / "m-neg").write_bytes(msg)
    (d / "s-neg").write_bytes(our_key["sk"].sign(msg, uid=b"right"))
    out = _ossl(
        "pkeyutl",
        "-verify",
        "-pubin",
        "-inkey",
        str(d / "pub.pem"),
        "-rawin",
        "-digest",
        "sm3",
        *_distid_opt(b"wrong"),
        "-in",
        str(d / "m-neg"),
        "-sigfile",
        str(d / "s-neg"),
        check=False,
    )
    assert out.returncode != 0, out
    assert b"Failure" in out.stdout, out


def test_openssl_reads_our_private_key_pem(our_key: dict[str, Any]) -> None:
    out = _ossl("pkey", "-in", str(our_key["dir"] / "priv.pem"), "-pubout", "-outform", "DER")
    assert out.stdout == our_key["sk"].public_key().to_der()


# ----------------------------------------------------------- SM4-GCM ----

# RFC 8998 Appendix A.1 (SM4-GCM)
RFC8998_GCM = {
    "key": "0123456789ABCDEFFEDCBA9876543210",
    "iv": "00001234567800000000ABCD",
    "aad": "FEEDFACEDEADBEEFFEEDFACEDEADBEEFABADDAD2",
    "pt": "AAAAAAAAAAAAAAAABBBBBBBBBBBBBBBBCCCCCCCCCCCCCCCCDDDDDDDDDDDDDDDD"
    "EEEEEEEEEEEEEEEEFFFFFFFFFFFFFFFFEEEEEEEEEEEEEEEEAAAAAAAAAAAAAAAA",
    "ct": "17F399F08C67D5EE19D0DC9969C4BB7D5FD46FD3756489069157B282BB200735"
    "D82710CA5C22F0CCFA7CBF93D496AC15A56834CBCF98C397B4024A2691233B8D",
    "tag": "83DE3541E4C2B58177E065A9BF7B62EC",
}


def test_sm4_gcm_rfc8998_appendix_a() -> None:
    v = {k: bytes.fromhex(x) for k, x in RFC8998_GCM.items()}
    sealed = crypto.sm4_gcm_encrypt(v["key"], v["iv"], v["pt"], v["aad"])
    assert sealed == v["ct"] + v["tag"]
    assert crypto.sm4_gcm_decrypt(v["key"], v["iv"], sealed, v["aad"]) == v["pt"]
    with pytest.raises(InvalidTagError):
        crypto.sm4_gcm_decrypt(v["key"], v["iv"], sealed, v["aad"][:-1])


def _gcm_oracle(key: bytes, nonce: bytes, pt: bytes, aad: bytes) -> bytes:
    enc = Cipher(algorithms.SM4(key), modes.GCM(nonce)).encryptor()
    enc.authenticate_additional_data(aad)
    return enc.update(pt) + enc.finalize() + enc.tag


@pytest.mark.parametrize("nonce_len", [12, 8, 16, 64], ids=lambda n: f"nonce{n}")
def test_sm4_gcm_matches_cryptography(nonce_len: int) -> None:
    r = rng(f"gcm-{nonce_len}")
    for pt_len in (0, 1, 15, 16, 17, 31, 32, 33, 100, 1000, 4099):
        key, nonce = r.randbytes(16), r.randbytes(nonce_len)
        pt, aad = r.randbytes(pt_len), r.randbytes(r.choice([0, 1, 16, 17, 40]))
        want = _gcm_oracle(key, nonce, pt, aad)
        assert crypto.sm4_gcm_encrypt(key, nonce, pt, aad) == want, (pt_len, len(aad))
        assert crypto.sm4_gcm_decrypt(key, nonce, want, aad) == pt
    # default aad is empty
    assert crypto.sm4_gcm_encrypt(key, nonce, b"x") == _gcm_oracle(key, nonce, b"x", b"")


def test_sm4_block_gbt32907_example_through_gcm() -> None:
    """GB/T 32907 example E_K(K) = 681edf34...4246, reached through GCM.

    SM4 is not exposed at Python level. With empty plaintext and aad the GCM
    tag is E_K(J0) (GHASH of the zero length block is 0), J0 = nonce||0^31||1
    for a 12-byte nonce; the block oracle (cryptography's SM4-ECB) is first
    checked against the standard's example, then used to compute E_K(J0).
    """
    key = bytes.fromhex("0123456789abcdeffedcba9876543210")
    ecb = Cipher(algorithms.SM4(key), modes.ECB()).encryptor()  # noqa: S305 - block oracle
    assert ecb.update(key).hex() == "681edf34d206965e86b3e94f536e4246"
    # tag of empty message = E_K(J0): compute J0 and its encryption via ECB
    nonce = bytes(range(12))
    j0 = nonce + b"\x00\x00\x00\x01"
    ecb = Cipher(algorithms.SM4(key), modes.ECB()).encryptor()  # noqa: S305 - block oracle
    assert crypto.sm4_gcm_encrypt(key, nonce, b"", b"") == ecb.update(j0)
