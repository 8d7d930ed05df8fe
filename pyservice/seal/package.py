"""Reading an OFD package (a zip) within hard bounds (parse stage).

Every entry name is checked before anything is read: absolute names,
``..`` segments, backslashes, drive letters and NUL are refused, as are
duplicate names, encrypted entries, more than :data:`MAX_ENTRIES` entries,
an entry over :data:`MAX_ENTRY_BYTES` or a total over :data:`MAX_TOTAL_BYTES`
uncompressed (as declared; reading never returns more than declared, and
the CRC is checked), and a compression ratio over :data:`MAX_RATIO` for
entries over 1 MiB (zip bombs). Failures raise
:class:`~pyservice.errors.OfdMalformedError` or
:class:`~pyservice.errors.OfdTooLargeError` with a stable ``reason``.
"""

from __future__ import annotations

import io
import zipfile
import zlib
from typing import Final

from pyservice.errors import OfdMalformedError, OfdTooLargeError

__all__ = [
    "MAX_ENTRIES",
    "MAX_ENTRY_BYTES",
    "MAX_OFD_BYTES",
    "MAX_RATIO",
    "MAX_TOTAL_BYTES",
    "OfdPackage",
    "resolve",
]

MAX_OFD_BYTES: Final = 100 * 1024 * 1024
MAX_ENTRIES: Final = 10_000
MAX_ENTRY_BYTES: Final = 64 * 1024 * 1024
MAX_TOTAL_BYTES: Final = 256 * 1024 * 1024
MAX_RATIO: Final = 200
_RATIO_MIN_BYTES: Final = 1024 * 1024
_DOT_SEGMENTS: Final = frozenset((".", ".."))


def _check_name(name: str) -> str:
    """The entry name if it is safe, else :class:`OfdMalformedError`."""
    if (
        not name
        or name.startswith("/")
        or "\\" in name
        or "\x00" in name
        or (len(name) > 1 and name[1] == ":")
        or not _DOT_SEGMENTS.isdisjoint(name.split("/"))
    ):
        raise OfdMalformedError(
            "unsafe_path", f"zip entry name {name!r} is not a safe relative path"
        )
    return name


def resolve(base_dir: str, location: str) -> str:
    """The package path of ``location`` as written in an OFD file: absolute
    (``/Doc_0/...``) from the package root, otherwise relative to
    ``base_dir``. ``..`` may not climb above the root."""
    loc = location.strip()
    if not loc or "\x00" in loc or "\\" in loc:
        raise OfdMalformedError("unsafe_path", f"bad location {location!r}")
    parts: list[str] = [] if loc.startswith("/") else [p for p in base_dir.split("/") if p]
    for part in loc.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if not parts:
                raise OfdMalformedError("unsafe_path", f"location {location!r} leaves the package")
            parts.pop()
        else:
            parts.append(part)
    if not parts:
        raise OfdMalformedError("unsafe_path", f"location {location!r} names no file")
    return "/".join(parts)


class OfdPackage:
    """The entries of an OFD zip, checked against the bounds on opening and
    read on demand (each at most once)."""

    def __init__(self, data: bytes) -> None:
        if len(data) > MAX_OFD_BYTES:
            raise OfdTooLargeError("file_too_large", f"{len(data)} bytes (limit {MAX_OFD_BYTES})")
        try:
            self._zip = zipfile.ZipFile(io.BytesIO(data))
            infos = self._zip.infolist()
        except (
            zipfile.BadZipFile,
            zipfile.LargeZipFile,
            EOFError,
            ValueError,
            NotImplementedError,  # "zip file version 6.4": a version we cannot read
        ) as exc:
            raise OfdMalformedError("not_zip", f"not a readable zip file ({exc})") from exc
        if len(infos) > MAX_ENTRIES:
            raise OfdTooLargeError(
                "too_many_entries", f"{len(infos)} entries (limit {MAX_ENTRIES})"
            )
        self._infos: dict[str, zipfile.ZipInfo] = {}
        total = 0
        for info in infos:
            name = _check_name(info.filename)
            if info.is_dir():
                continue
            if name in self._infos:
                raise OfdMalformedError("duplicate_entry", f"zip entry {name!r} appears twice")
            if info.flag_bits & 0x1:
                raise OfdMalformedError("encrypted_entry", f"zip entry {name!r} is encrypted")
            if info.file_size > MAX_ENTRY_BYTES:
                raise OfdTooLargeError(
                    "entry_too_large",
                    f"{name!r} is {info.file_size} bytes (limit {MAX_ENTRY_BYTES})",
                )
            if info.file_size > _RATIO_MIN_BYTES and info.file_size > MAX_RATIO * max(
                info.compress_size, 1
            ):
                raise OfdTooLargeError(
                    "compression_ratio",
                    f"{name!r} expands {info.compress_size} to {info.file_size} bytes",
                )
            total += info.file_size
            if total > MAX_TOTAL_BYTES:
                raise OfdTooLargeError(
                    "total_too_large", f"entries exceed {MAX_TOTAL_BYTES} bytes uncompressed"
                )
            self._infos[name] = info
        self._cache: dict[str, bytes] = {}

    def __contains__(self, path: object) -> bool:
        return path in self._infos

    @property
    def names(self) -> list[str]:
        """The file entries, in zip order."""
        return list(self._infos)

    def read(self, path: str) -> bytes:
        """The bytes of entry ``path`` (as returned by :func:`resolve`)."""
        cached = self._cache.get(path)
        if cached is not None:
            return cached
        info = self._infos.get(path)
        if info is None:
            raise OfdMalformedError("missing_part", f"{path!r} is not in the package")
        try:
            with self._zip.open(info) as f:
                data = f.read(info.file_size + 1)
        except (
            zipfile.BadZipFile,
            EOFError,
            NotImplementedError,
            RuntimeError,
            zlib.error,
            ValueError,  # a local header name that is not UTF-8 (UnicodeDecodeError)
        ) as exc:
            raise OfdMalformedError("bad_entry", f"cannot read {path!r} ({exc})") from exc
        if len(data) != info.file_size:
            raise OfdMalformedError("bad_entry", f"{path!r} is not {info.file_size} bytes")
        self._cache[path] = data
        return data

    def get(self, path: str) -> bytes | None:
        """Like :meth:`read`, but ``None`` if the entry does not exist."""
        return self.read(path) if path in self._infos else None
