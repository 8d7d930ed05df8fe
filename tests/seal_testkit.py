"""Helpers for the seal/OFD tests: the shared OFD vectors and expected.json,
and rewriting an OFD zip with changed, added or removed entries."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from tests.crypto_testkit import vectors_dir

__all__ = [
    "expected",
    "ofd_bytes",
    "ofd_dir",
    "ofd_entries",
    "rewrite_ofd",
    "seal_bytes",
    "zip_of",
]


def ofd_dir() -> Path:
    return vectors_dir() / "ses" / "ofd"


def ofd_bytes(name: str) -> bytes:
    return (ofd_dir() / name).read_bytes()


def seal_bytes(name: str) -> bytes:
    return (vectors_dir() / "ses" / "seal" / name).read_bytes()


def expected() -> list[dict[str, Any]]:
    data: list[dict[str, Any]] = json.loads((vectors_dir() / "ses" / "expected.json").read_text())
    return data


def ofd_entries(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return {i.filename: z.read(i) for i in z.infolist() if not i.is_dir()}


def zip_of(entries: Mapping[str, bytes], *, compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=compression) as z:
        for name, data in entries.items():
            z.writestr(name, data)
    return buf.getvalue()


def rewrite_ofd(name: str, change: Callable[[dict[str, bytes]], None]) -> bytes:
    """The OFD vector ``name`` with its entries changed in place by ``change``."""
    entries = ofd_entries(ofd_bytes(name))
    change(entries)
    return zip_of(entries)
