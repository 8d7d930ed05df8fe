"""Signed 2-bit status lists (pyservice/statuslist.py).

The bit order and compression are checked against the TSL draft's own
2-bit example (draft-ietf-oauth-status-list, §4 "Status List", the example
with ``"bits": 2, "lst": "eNo76fITAAPfAgc"``: statuses 1,2,0,3,0,1,0,1,1,2,3,3
pack to bytes C9 44 F9) and against an independent packer written here;
signatures are checked with gmssl.
"""

from __future__ import annotations

import base64
import json
import random
import zlib
from typing import Any

import pytest
from gmssl import sm2 as gmssl_sm2  # type: ignore[import-untyped]
from hypothesis import given, settings
from hypothesis import strategies as st

from pyservice import statuslist as sl
from pyservice.crypto import PrivateKey, Sm2Verifier
from pyservice.errors import (
    InvalidSignatureError,
    MalformedInputError,
    SidianError,
    TokenExpiredError,
    TokenNotYetValidError,
)

KEY = PrivateKey.from_bytes(bytes(31) + b"\x07")
VERIFIER = Sm2Verifier(KEY.public_key())
NOW = 1_764_300_000
DRAFT_STATUSES = [1, 2, 0, 3, 0, 1, 0, 1, 1, 2, 3, 3]
DRAFT_PACKED = bytes([0xC9, 0x44, 0xF9])
DRAFT_LST = "eNo76fITAAPfAgc"


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def reference_pack(statuses: list[int]) -> bytes:
    """Independent packer: 4 entries per byte, entry 0 in the low bits."""
    out = bytearray((len(statuses) + 3) // 4)
    for i, v in enumerate(statuses):
        out[i // 4] |= v << (2 * (i % 4))
    return bytes(out)


def sign(lst: sl.StatusList, **kw: Any) -> str:
    args: dict[str, Any] = {
        "subject": "https://verify.example.cn/v1/status-lists/issuer-1",
        "issued_at": NOW,
        "expires_at": NOW + 86400,
        "ttl": 3600,
    }
    args.update(kw)
    return sl.sign_status_list(KEY, lst, **args)


def resign(header: bytes, payload: bytes) -> str:
    signing_input = f"{b64(header)}.{b64(payload)}".encode()
    return f"{signing_input.decode()}.{b64(KEY.sign(signing_input, raw=True))}"


def test_draft_example_bit_order_and_zlib() -> None:
    assert reference_pack(DRAFT_STATUSES) == DRAFT_PACKED
    assert zlib.decompress(unb64(DRAFT_LST)) == DRAFT_PACKED
    padded = DRAFT_PACKED + bytes(sl.MIN_ENTRIES // 4 - 3)
    lst = sl.StatusList.from_bytes(padded)
    assert [lst[i] for i in range(12)] == DRAFT_STATUSES
    built = sl.StatusList.from_statuses(
        {i: v for i, v in enumerate(DRAFT_STATUSES) if v != sl.ListStatus.RESERVED}
    )
    # RESERVED is never written; everything else packs as the draft does.
    assert built.to_bytes()[:3] == reference_pack([v if v != 3 else 0 for v in DRAFT_STATUSES])


def test_stored_status_mapping() -> None:
    assert sl.list_status("VALID") == 0
    assert sl.list_status("REVOKED") == sl.list_status("CANCELLED") == 1
    assert sl.list_status("SUSPENDED") == 2
    for name in ("EXPIRED", "UNDETERMINED", "valid", ""):
        with pytest.raises(ValueError, match="not a stored"):
            sl.list_status(name)


def test_size_bounds() -> None:
    assert sl.StatusList().size == sl.MIN_ENTRIES == 131_072
    for size in (0, sl.MIN_ENTRIES - 4, sl.MIN_ENTRIES + 1, sl.MAX_ENTRIES + 4):
        with pytest.raises(ValueError, match="size"):
            sl.StatusList(size)
    lst = sl.StatusList()
    for index in (-1, sl.MIN_ENTRIES):
        with pytest.raises(IndexError):
            lst.set(index, 1)
        with pytest.raises(IndexError):
            _ = lst[index]
    for value in (3, 4, -1):
        with pytest.raises(ValueError, match="0, 1 or 2"):
            lst.set(0, value)


def test_set_overwrites_only_its_entry() -> None:
    lst = sl.StatusList()
    for i in range(8):
        lst.set(i, 2)
    lst.set(5, 1)
    lst.set(5, 0)
    assert [lst[i] for i in range(9)] == [2, 2, 2, 2, 2, 0, 2, 2, 0]


def test_round_trip_random_list_and_independent_checks() -> None:
    r = random.Random(6)  # noqa: S311 - reproducible test data
    size = sl.MIN_ENTRIES * 2
    statuses = [r.choice([0, 0, 0, 0, 1, 2]) for _ in range(size)]
    lst = sl.StatusList.from_statuses(enumerate(statuses), size=size)
    assert lst.to_bytes() == reference_pack(statuses)
    token = sign(lst)
    header_b64, payload_b64, sig_b64 = token.split(".")
    header = json.loads(unb64(header_b64))
    assert header == {"alg": "SM2-SM3", "kid": KEY.public_key().kid(), "typ": "statuslist+jwt"}
    assert unb64(header_b64) == json.dumps(header, separators=(",", ":"), sort_keys=True).encode()
    payload = json.loads(unb64(payload_b64))
    assert payload["status_list"]["bits"] == 2
    assert zlib.decompress(unb64(payload["status_list"]["lst"])) == reference_pack(statuses)
    # gmssl checks the signature over the ASCII signing input with the default ID.
    g: Any = gmssl_sm2.CryptSM2(private_key="00", public_key="")
    g.public_key = KEY.public_key().to_bytes()[1:].hex()
    assert g.verify_with_sm3(unb64(sig_b64).hex(), f"{header_b64}.{payload_b64}".encode())
    result = sl.verify_status_list(VERIFIER, token, now=NOW)
    assert result.status_list == lst
    assert (result.issued_at, result.expires_at, result.ttl) == (NOW, NOW + 86400, 3600)
    assert result.subject.endswith("/issuer-1")
    assert result.kid == KEY.public_key().kid()
    for i in r.sample(range(size), 500):
        assert result.status_list[i] == statuses[i]


def test_time_window() -> None:
    token = sign(sl.StatusList(), issued_at=NOW, expires_at=NOW + 100)
    with pytest.raises(TokenNotYetValidError):
        sl.verify_status_list(VERIFIER, token, now=NOW - 31)
    sl.verify_status_list(VERIFIER, token, now=NOW - 30)
    sl.verify_status_list(VERIFIER, token, now=NOW + 99)
    with pytest.raises(TokenExpiredError):
        sl.verify_status_list(VERIFIER, token, now=NOW + 100)


def test_every_character_tampered_is_rejected() -> None:
    lst = sl.StatusList.from_statuses({0: 1, 77: 2})
    token = sign(lst)
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    for pos, ch in enumerate(token):
        if ch == ".":
            continue
        replacement = alphabet[(alphabet.index(ch) + 1) % 64]
        bad = token[:pos] + replacement + token[pos + 1 :]
        with pytest.raises((MalformedInputError, InvalidSignatureError)):
            sl.verify_status_list(VERIFIER, bad, now=NOW)


def test_wrong_key_and_kid() -> None:
    other = PrivateKey.generate()
    token = sl.sign_status_list(
        other, sl.StatusList(), subject="s", issued_at=NOW, expires_at=NOW + 10, ttl=5
    )
    with pytest.raises(InvalidSignatureError):
        sl.verify_status_list(VERIFIER, token, now=NOW)
    with pytest.raises(InvalidSignatureError):
        sl.verify_status_list(Sm2Verifier(other.public_key()), sign(sl.StatusList()), now=NOW)


def _parts(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    h, p, _ = token.split(".")
    return json.loads(unb64(h)), json.loads(unb64(p))


def _canon(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":"), sort_keys=True, ensure_ascii=False).encode()


@pytest.mark.parametrize(
    "edit",
    [
        lambda h, p: (dict(h, alg="ES256"), p),
        lambda h, p: (dict(h, typ="JWT"), p),
        lambda h, p: (dict(h, extra=1), p),
        lambda h, p: (h, dict(p, extra=1)),
        lambda h, p: (h, {k: v for k, v in p.items() if k != "ttl"}),
        lambda h, p: (h, dict(p, status_list=dict(p["status_list"], bits=1))),
        lambda h, p: (h, dict(p, status_list=dict(p["status_list"], lst=5))),
        lambda h, p: (h, dict(p, status_list=dict(p["status_list"], lst="é"))),
        lambda h, p: (h, dict(p, status_list=dict(p["status_list"], lst="A"))),
        lambda h, p: (h, dict(p, status_list=dict(p["status_list"], lst=b64(b"junk")))),
        lambda h, p: (
            h,
            dict(p, status_list=dict(p["status_list"], lst=b64(zlib.compress(b"\0" * 8)))),
        ),
        lambda h, p: (
            h,
            dict(p, status_list=dict(p["status_list"], lst=p["status_list"]["lst"][:-4])),
        ),
        lambda h, p: (
            h,
            dict(
                p,
                status_list=dict(
                    p["status_list"], lst=b64(zlib.compress(bytes(sl.MIN_ENTRIES // 4)) + b"tail")
                ),
            ),
        ),
        lambda h, p: (h, dict(p, iat="1")),
        lambda h, p: (h, dict(p, exp=-1)),
        lambda h, p: (h, dict(p, sub=7)),
        lambda h, p: (h, []),
    ],
)
def test_validly_signed_but_malformed_content_is_rejected(edit: Any) -> None:
    header, payload = _parts(sign(sl.StatusList()))
    new_h, new_p = edit(header, payload)
    with pytest.raises(MalformedInputError):
        sl.verify_status_list(VERIFIER, resign(_canon(new_h), _canon(new_p)), now=NOW)


def test_zip_bomb_is_bounded() -> None:
    bomb = zlib.compress(bytes(sl.MAX_ENTRIES // 4 + 1), 9)
    assert len(bomb) < 20_000
    with pytest.raises(MalformedInputError, match="larger"):
        sl.StatusList.decompress(bomb)
    with pytest.raises(MalformedInputError, match="after"):
        sl.StatusList.decompress(zlib.compress(bytes(sl.MIN_ENTRIES // 4)) + b"x")
    with pytest.raises(MalformedInputError, match="size"):
        sl.StatusList.decompress(zlib.compress(bytes(sl.MIN_ENTRIES // 4 - 1)))


def test_non_canonical_json_is_rejected() -> None:
    header, payload = _parts(sign(sl.StatusList()))
    spaced = json.dumps(payload, sort_keys=True).encode()  # ", " and ": "
    with pytest.raises(MalformedInputError, match="canonical"):
        sl.verify_status_list(VERIFIER, resign(_canon(header), spaced), now=NOW)
    unsorted = json.dumps(dict(reversed(list(header.items()))), separators=(",", ":")).encode()
    with pytest.raises(MalformedInputError, match="canonical"):
        sl.verify_status_list(VERIFIER, resign(unsorted, _canon(payload)), now=NOW)


@pytest.mark.parametrize(
    "token",
    [
        "",
        "a.b",
        "a.b.c.d",
        "....",
        "é.é.é",
        "x" * (sl.MAX_TOKEN_CHARS + 1),
        "AA=.AA.AA",
        "AB.AA.AA",
    ],
)
def test_garbage_tokens_are_malformed(token: str) -> None:
    with pytest.raises(MalformedInputError):
        sl.verify_status_list(VERIFIER, token, now=NOW)


@settings(max_examples=300, deadline=None)
@given(
    st.text(
        alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.=é", max_size=300
    )
)
def test_parser_only_raises_sidian_errors(token: str) -> None:
    with pytest.raises(SidianError):
        sl.verify_status_list(VERIFIER, token, now=NOW)
