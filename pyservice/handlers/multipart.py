"""One file field out of a ``multipart/form-data`` body held in memory
(RFC 7578), in linear time and without recursion.

The signed-request scheme covers the whole body, so it has been read (and
bounded) before a handler runs; aiohttp's streaming reader cannot be used
on it again, and the stdlib ``email`` parser recurses into nested
multiparts (a few thousand levels fit in a small body). This reader only
scans for the boundary; nested multiparts are content like any other, and
``Content-Transfer-Encoding`` is not applied (RFC 7578 §4.7 deprecates it).
Header parameters (the boundary, the part's ``name``) are read with the
stdlib header parser. Anything it cannot read raises
:class:`~pyservice.errors.MalformedInputError`.
"""

from __future__ import annotations

from email.message import EmailMessage
from email.utils import collapse_rfc2231_value
from typing import Final

from pyservice.errors import MalformedInputError

__all__ = ["MAX_HEADER_BYTES", "form_field"]

#: The header block of one part is at most this long.
MAX_HEADER_BYTES: Final = 8 * 1024
_CRLF: Final = b"\r\n"


def _param(header: str, value: str, name: str) -> str | None:
    msg = EmailMessage()
    try:
        msg[header] = value
        raw = msg.get_param(name, header=header)
    except (ValueError, TypeError, IndexError, LookupError) as exc:
        raise MalformedInputError(f"malformed {header} header: {exc}") from exc
    if raw is None or isinstance(raw, str):
        return raw
    return collapse_rfc2231_value(raw)


def _part_name(headers: bytes) -> str | None:
    for line in headers.split(_CRLF):
        key, sep, value = line.partition(b":")
        if sep and key.strip().lower() == b"content-disposition":
            text = value.decode("utf-8", "replace").strip()
            return _param("Content-Disposition", text, "name")
    return None


def _next_delimiter(body: bytes, separator: bytes, start: int) -> int:
    """Where the next CRLF + delimiter starts: one followed by ``--``,
    CRLF or transport padding (a longer boundary-like string is content)."""
    while True:
        end = body.find(separator, start)
        if end < 0:
            raise MalformedInputError("a multipart part is not terminated")
        after = body[end + len(separator) : end + len(separator) + 2]
        if after in (b"--", _CRLF) or after[:1] in (b" ", b"\t"):
            return end
        start = end + 1


def form_field(content_type: str, body: bytes, field: str) -> bytes:
    """The content of the first part named ``field``."""
    boundary = _param("Content-Type", content_type, "boundary")
    if boundary is None or not 0 < len(boundary) <= 70:
        raise MalformedInputError("multipart/form-data needs a boundary of 1 to 70 characters")
    try:
        delimiter = b"--" + boundary.encode("ascii")
    except UnicodeEncodeError as exc:
        raise MalformedInputError("the multipart boundary must be ASCII") from exc
    separator = _CRLF + delimiter
    if body.startswith(delimiter):
        pos = 0
    else:
        pos = body.find(separator)
        if pos < 0:
            raise MalformedInputError("the multipart body has no boundary")
        pos += len(_CRLF)
    while True:
        pos += len(delimiter)
        if body[pos : pos + 2] == b"--":
            break  # the close delimiter
        line_end = body.find(_CRLF, pos)
        if line_end < 0 or body[pos:line_end].strip(b" \t"):
            raise MalformedInputError("malformed multipart delimiter line")
        head_end = body.find(_CRLF + _CRLF, line_end)
        if head_end < 0 or head_end - line_end > MAX_HEADER_BYTES:
            raise MalformedInputError("a multipart part has no end of headers")
        content_start = head_end + 2 * len(_CRLF)
        headers = body[line_end + len(_CRLF) : head_end] if head_end > line_end else b""
        end = _next_delimiter(body, separator, content_start)
        if _part_name(headers) == field:
            return body[content_start:end]
        pos = end + len(_CRLF)
    raise MalformedInputError(f"the multipart body has no part named {field!r}")
