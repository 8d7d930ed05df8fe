"""Signed tree heads.

The signed bytes are the canonical JSON of
``{"root": <hex>, "timestamp": <unix ms>, "tree_size": n}``; the signature
is SM2 with SM3 (default signer ID), DER-encoded, and travels as standard
base64 (padded) next to ``kid``, the ledger key's id (formats.md):
``{"tree_size", "root", "timestamp", "kid", "signature"}``.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from pyservice.canonical import canonical_json
from pyservice.crypto import PrivateKey, PublicKey
from pyservice.errors import MalformedInputError
from pyservice.store import StoredSth

__all__ = ["sign_sth", "sth_from_json", "sth_signed_bytes", "sth_to_json", "verify_sth"]


def sth_signed_bytes(tree_size: int, root: bytes, timestamp: int) -> bytes:
    return canonical_json({"tree_size": tree_size, "root": root.hex(), "timestamp": timestamp})


def sign_sth(key: PrivateKey, kid: str, tree_size: int, root: bytes, timestamp: int) -> StoredSth:
    signature = key.sign(sth_signed_bytes(tree_size, root, timestamp))
    return StoredSth(tree_size, root, timestamp, kid, signature)


def verify_sth(public_key: PublicKey, sth: StoredSth) -> None:
    """Raise :class:`~pyservice.errors.InvalidSignatureError` (or
    ``MalformedInputError`` for a bad encoding) unless ``sth`` is signed."""
    public_key.verify(sth_signed_bytes(sth.tree_size, sth.root, sth.timestamp), sth.signature)


def sth_to_json(sth: StoredSth) -> dict[str, Any]:
    return {
        "tree_size": sth.tree_size,
        "root": sth.root.hex(),
        "timestamp": sth.timestamp,
        "kid": sth.kid,
        "signature": base64.b64encode(sth.signature).decode("ascii"),
    }


def sth_from_json(obj: Any) -> StoredSth:
    """Parse the JSON form; raises ``MalformedInputError``."""
    try:
        root = bytes.fromhex(obj["root"])
        signature = base64.b64decode(obj["signature"], validate=True)
        tree_size, timestamp, kid = obj["tree_size"], obj["timestamp"], obj["kid"]
    except (KeyError, TypeError, ValueError, binascii.Error) as exc:
        raise MalformedInputError(f"malformed signed tree head: {exc}") from exc
    if (
        len(root) != 32
        or not isinstance(tree_size, int)
        or not isinstance(timestamp, int)
        or not isinstance(kid, str)
    ):
        raise MalformedInputError("malformed signed tree head")
    return StoredSth(tree_size, root, timestamp, kid, signature)
