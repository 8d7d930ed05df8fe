"""Shared helpers for the crypto test files (not a test module itself).

Everything here is independent of the code under test: SM3 comes from
hashlib (OpenSSL), elliptic-curve arithmetic is plain Python integers, DER is
encoded/decoded by hand. The tests use these helpers as oracles, so none of them uses
``pyservice`` (except ``sign_digest_with_k``, a thin wrapper of the hazmat).
"""

from __future__ import annotations

import hashlib
import json
import os
from functools import cache
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]


# --------------------------------------------------------------------------
# Shared test vectors (../shared/vectors next to the repository root)
# --------------------------------------------------------------------------


def vectors_dir() -> Path:
    """Directory of the shared vectors; SIDIAN_VECTORS overrides it (the
    Rust tests read the same variable).

    Missing vectors are an error, never a reason to skip.
    """
    override = os.environ.get("SIDIAN_VECTORS")
    path = Path(override) if override else REPO_ROOT.parent / "shared" / "vectors"
    if not (path / "crypto" / "official.json").is_file():
        raise RuntimeError(
            f"shared test vectors not found at {path} (expected crypto/official.json); "
            "set SIDIAN_VECTORS to the shared/vectors directory"
        )
    return path


@cache
def load_vectors(relpath: str) -> Any:
    return json.loads((vectors_dir() / relpath).read_text(encoding="utf-8"))


# --------------------------------------------------------------------------
# sm2p256v1 (GB/T 32918.5), independent reference arithmetic
# --------------------------------------------------------------------------

P = 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFF
A = 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFC
B = 0x28E9FA9E9D9F5E344D5A9E4BCF6509A7F39789F515AB8F92DDBCBD414D940E93
N = 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFF7203DF6B21C6052B53BBF40939D54123
GX = 0x32C4AE2C1F1981195F9904466A39C9948FE30BBFF2660BE1715A4589334C74C7
GY = 0xBC3736A2F4F6779C59BDCEE36B692153D0A9877CC62A474002DF32E52139F0A0

DEFAULT_UID = b"1234567812345678"


def sm3_ref(data: bytes) -> bytes:
    return hashlib.new("sm3", data).digest()


def on_curve(x: int, y: int) -> bool:
    return 0 <= x < P and 0 <= y < P and (y * y - (x * x * x + A * x + B)) % P == 0


Point = tuple[int, int] | None


def _add(p1: Point, p2: Point) -> Point:
    if p1 is None:
        return p2
    if p2 is None:
        return p1
    x1, y1 = p1
    x2, y2 = p2
    if x1 == x2:
        if (y1 + y2) % P == 0:
            return None
        lam = (3 * x1 * x1 + A) * pow(2 * y1, -1, P) % P
    else:
        lam = (y2 - y1) * pow(x2 - x1, -1, P) % P
    x3 = (lam * lam - x1 - x2) % P
    return x3, (lam * (x1 - x3) - y1) % P


def scalar_mult(k: int, point: Point = (GX, GY)) -> Point:
    """k·point in affine coordinates (slow, variable-time; a test oracle)."""
    result: Point = None
    addend = point
    while k:
        if k & 1:
            result = _add(result, addend)
        addend = _add(addend, addend)
        k >>= 1
    return result


def pub_from_priv(d: int) -> bytes:
    """65-byte uncompressed SEC1 public key for scalar d."""
    pt = scalar_mult(d)
    assert pt is not None
    x, y = pt
    return b"\x04" + x.to_bytes(32, "big") + y.to_bytes(32, "big")


def compress(pub65: bytes) -> bytes:
    assert len(pub65) == 65
    assert pub65[0] == 4
    return bytes([2 + (pub65[64] & 1)]) + pub65[1:33]


def scalar_from_seed(seed: bytes) -> int:
    """Maps arbitrary bytes to a valid private scalar in [1, n-2]."""
    return int.from_bytes(seed, "big") % (N - 2) + 1


def za_ref(uid: bytes, pub65: bytes) -> bytes:
    entl = (len(uid) * 8).to_bytes(2, "big")
    curve = b"".join(v.to_bytes(32, "big") for v in (A, B, GX, GY))
    return sm3_ref(entl + uid + curve + pub65[1:])


def e_ref(uid: bytes, pub65: bytes, msg: bytes) -> bytes:
    return sm3_ref(za_ref(uid, pub65) + msg)


def sign_ref(d: int, e: bytes, k: int) -> tuple[int, int]:
    """GB/T 32918.2 signature with a given nonce (test oracle)."""
    pt = scalar_mult(k)
    assert pt is not None
    r = (int.from_bytes(e, "big") + pt[0]) % N
    assert r != 0
    assert r + k != N
    s = pow(1 + d, -1, N) * (k - r * d) % N
    assert s != 0
    return r, s


def verify_ref(pub65: bytes, e: bytes, r: int, s: int) -> bool:
    if not (1 <= r < N and 1 <= s < N):
        return False
    t = (r + s) % N
    if t == 0:
        return False
    q = (int.from_bytes(pub65[1:33], "big"), int.from_bytes(pub65[33:], "big"))
    pt = _add(scalar_mult(s), scalar_mult(t, q))
    if pt is None:
        return False
    return (int.from_bytes(e, "big") + pt[0]) % N == r


# --------------------------------------------------------------------------
# Minimal strict DER for SM2 signatures (GM/T 0009 SEQUENCE {r, s})
# --------------------------------------------------------------------------


def _der_len(n: int) -> bytes:
    if n < 0x80:
        return bytes([n])
    body = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(body)]) + body


def der_int(v: int) -> bytes:
    assert v >= 0
    body = v.to_bytes(v.bit_length() // 8 + 1, "big")  # leading 0 if top bit set
    return b"\x02" + _der_len(len(body)) + body


def sig_to_der(r: int, s: int) -> bytes:
    body = der_int(r) + der_int(s)
    return b"\x30" + _der_len(len(body)) + body


def sig_from_der(sig: bytes) -> tuple[int, int]:
    """Strict DER decoding; raises ValueError on anything non-canonical."""
    if len(sig) < 8 or sig[0] != 0x30 or sig[1] >= 0x80 or sig[1] != len(sig) - 2:
        raise ValueError("bad SEQUENCE")
    pos, out = 2, []
    for _ in range(2):
        if pos + 2 > len(sig) or sig[pos] != 0x02 or sig[pos + 1] >= 0x80:
            raise ValueError("bad INTEGER header")
        ln = sig[pos + 1]
        body = sig[pos + 2 : pos + 2 + ln]
        if ln == 0 or len(body) != ln:
            raise ValueError("bad INTEGER length")
        if body[0] & 0x80:
            raise ValueError("negative INTEGER")
        if ln > 1 and body[0] == 0 and not body[1] & 0x80:
            raise ValueError("non-minimal INTEGER")
        out.append(int.from_bytes(body, "big"))
        pos += 2 + ln
    if pos != len(sig):
        raise ValueError("trailing bytes")
    return out[0], out[1]


def sig_to_raw(r: int, s: int) -> bytes:
    return r.to_bytes(32, "big") + s.to_bytes(32, "big")


def raw_to_ints(raw: bytes) -> tuple[int, int]:
    assert len(raw) == 64
    return int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big")


def flip_bit(data: bytes, bit: int) -> bytes:
    buf = bytearray(data)
    buf[bit // 8] ^= 0x80 >> (bit % 8)
    return bytes(buf)


# --------------------------------------------------------------------------
# The known-answer hazmat of the native module
# --------------------------------------------------------------------------


def sign_digest_with_k(private_key: bytes, e: bytes, k: bytes) -> bytes:
    """Native fixed-nonce signing hazmat (known-answer tests only).

    ``pyservice._core._sign_digest_with_nonce(key: PrivateKey, e, k)`` takes
    32-byte e and k and returns raw ``r || s``.
    """
    from pyservice import _core, crypto  # noqa: PLC0415 - keeps the oracles import-free

    return _core._sign_digest_with_nonce(crypto.PrivateKey.from_bytes(private_key), e, k)
