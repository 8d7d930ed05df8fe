#!/usr/bin/env python3
"""Regenerates qr-token.json in this folder: QR token vectors
(formats.md §QR token) built without any of our code.

  * layout: struct.pack of the table in formats.md;
  * licence reference: hashlib.new("sm3") (OpenSSL) of the UTF-8 licence id;
  * signature: gmssl 3.2.2 (pure Python SM2) over bytes 0-39 with the
    default ID, with a fixed nonce k per case so reruns give the same file;
  * text: base64.urlsafe_b64encode without "=".

"valid" cases decode and verify at "now"; "invalid" cases name the error
kind expected: "malformed", "invalid_signature", "expired" or
"not_yet_valid". Keys and nonces are derived from SHA-256 of fixed labels.
Run: .venv/bin/python tests/vectors/gen_qr_token.py
"""

import base64
import hashlib
import json
import struct
from pathlib import Path
from typing import Any

from gmssl import sm2 as gmssl_sm2  # type: ignore[import-untyped]

HERE = Path(__file__).resolve().parent
ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
N = 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFF7203DF6B21C6052B53BBF40939D54123
GX = 0x32C4AE2C1F1981195F9904466A39C9948FE30BBFF2660BE1715A4589334C74C7
GY = 0xBC3736A2F4F6779C59BDCEE36B692153D0A9877CC62A474002DF32E52139F0A0
P = 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFF
A = P - 3


def scalar(label: str) -> int:
    return int.from_bytes(hashlib.sha256(label.encode()).digest(), "big") % (N - 2) + 1


Point = tuple[int, int] | None


def mul(k: int) -> tuple[int, int]:
    """k·G in affine coordinates (plain integers; generation only)."""
    result: Point = None
    point: Point = (GX, GY)
    while k:
        if k & 1:
            result = add(result, point)
        point = add(point, point)
        k >>= 1
    assert result is not None
    return result


def add(p1: Point, p2: Point) -> Point:
    if p1 is None:
        return p2
    if p2 is None:
        return p1
    (x1, y1), (x2, y2) = p1, p2
    if x1 == x2 and (y1 + y2) % P == 0:
        return None
    if p1 == p2:
        lam = (3 * x1 * x1 + A) * pow(2 * y1, -1, P) % P
    else:
        lam = (y2 - y1) * pow(x2 - x1, -1, P) % P
    x3 = (lam * lam - x1 - x2) % P
    return x3, (lam * (x1 - x3) - y1) % P


def sm3(data: bytes) -> bytes:
    return hashlib.new("sm3", data).digest()


def b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


D = scalar("qr-token vector key")
X, Y = mul(D)
PUB = b"\x04" + X.to_bytes(32, "big") + Y.to_bytes(32, "big")
KID = sm3(PUB)[:8]


def sign(raw40: bytes, label: str) -> bytes:
    signer = gmssl_sm2.CryptSM2(private_key=f"{D:064x}", public_key="")
    signer.public_key = PUB[1:].hex()  # gmssl's lstrip("04") bug
    k = f"{scalar('k ' + label):064x}"
    signature = bytes.fromhex(signer.sign_with_sm3(raw40, k))
    assert signer.verify_with_sm3(signature.hex(), raw40)
    return signature


def prefix(
    licence_id: str,
    *,
    flags: int,
    issued_at: int,
    lifetime: int,
    nonce: bytes,
    version: int = 1,
    kid: bytes = KID,
) -> bytes:
    ref = sm3(licence_id.encode())[:16]
    return struct.pack(">BB8s16sIH8s", version, flags, kid, ref, issued_at, lifetime, nonce)


def main() -> None:
    valid: list[dict[str, Any]] = []
    specs = [
        ("粤A-2026-000123", 0, 1_764_300_000, 180, 1_764_300_000),
        ("L-0001", 1, 1_764_300_000, 3600, 1_764_303_599),
        ("ÿ-unicode-€-证照", 0, 1_764_300_030, 1, 1_764_300_000),
        ("", 1, 0, 60, 0),
        ("max", 0, 0xFFFFFFFF, 3600, 0xFFFFFFFF + 3599),
    ]
    for i, (licence_id, flags, issued_at, lifetime, now) in enumerate(specs):
        nonce = hashlib.sha256(f"nonce {i}".encode()).digest()[:8]
        raw40 = prefix(licence_id, flags=flags, issued_at=issued_at, lifetime=lifetime, nonce=nonce)
        token = raw40 + sign(raw40, f"valid {i}")
        valid.append(
            {
                "licence_id": licence_id,
                "licence_ref_hex": sm3(licence_id.encode())[:16].hex(),
                "flags": flags,
                "issued_at": issued_at,
                "lifetime": lifetime,
                "nonce_hex": nonce.hex(),
                "now": now,
                "token_hex": token.hex(),
                "token": b64(token),
            }
        )
    base = bytes.fromhex(valid[0]["token_hex"])
    now = valid[0]["now"]

    def resigned(raw40: bytes, label: str) -> str:
        return b64(raw40 + sign(raw40, label))

    nonce = bytes(8)
    last = ALPHABET.index(b64(base)[-1])
    invalid = [
        (
            "version 0",
            resigned(
                prefix("L", flags=0, issued_at=now, lifetime=180, nonce=nonce, version=0), "v0"
            ),
            "malformed",
        ),
        (
            "version 2",
            resigned(
                prefix("L", flags=0, issued_at=now, lifetime=180, nonce=nonce, version=2), "v2"
            ),
            "malformed",
        ),
        (
            "unknown flag bit 1",
            resigned(prefix("L", flags=2, issued_at=now, lifetime=180, nonce=nonce), "f2"),
            "malformed",
        ),
        (
            "lifetime 0",
            resigned(prefix("L", flags=0, issued_at=now, lifetime=0, nonce=nonce), "l0"),
            "malformed",
        ),
        (
            "lifetime 3601",
            resigned(prefix("L", flags=0, issued_at=now, lifetime=3601, nonce=nonce), "l3601"),
            "malformed",
        ),
        ("103 bytes", b64(base[:103]), "malformed"),
        ("105 bytes", b64(base + b"\0"), "malformed"),
        ("padding", b64(base) + "=", "malformed"),
        (
            "standard alphabet",
            b64(base).replace("-", "+").replace("_", "/")
            if ("-" in b64(base) or "_" in b64(base))
            else "+" + b64(base)[1:],
            "malformed",
        ),
        ("non-canonical trailing bits", b64(base)[:-1] + ALPHABET[last | 1], "malformed"),
        ("signature bit flipped", b64(base[:-1] + bytes([base[-1] ^ 1])), "invalid_signature"),
        (
            "signed part bit flipped",
            b64(base[:39] + bytes([base[39] ^ 1]) + base[40:]),
            "invalid_signature",
        ),
        (
            "other key's kid",
            resigned(
                prefix("L", flags=0, issued_at=now, lifetime=180, nonce=nonce, kid=bytes(8)), "kid"
            ),
            "invalid_signature",
        ),
    ]
    cases_invalid = [{"name": n, "token": t, "now": now, "error": e} for n, t, e in invalid]
    cases_invalid += [
        {
            "name": "expired at issued_at + lifetime",
            "token": valid[0]["token"],
            "now": now + 180,
            "error": "expired",
        },
        {
            "name": "31 s before issued_at",
            "token": valid[0]["token"],
            "now": now - 31,
            "error": "not_yet_valid",
        },
    ]
    doc = {
        "source": "formats.md §QR token; generated by tests/vectors/gen_qr_token.py with "
        "struct, hashlib SM3 (OpenSSL), base64 and gmssl 3.2.2 SM2 signing (default ID), "
        "independent of sidian code",
        "public_key_hex": PUB.hex(),
        "kid_hex": KID.hex(),
        "valid": valid,
        "invalid": cases_invalid,
    }
    (HERE / "qr-token.json").write_text(json.dumps(doc, ensure_ascii=False, indent=1) + "\n")


if __name__ == "__main__":
    main()
