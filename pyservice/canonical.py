"""Canonical JSON (RFC 8785, JCS) over the restricted value domain of
formats.md: strings, integers with ``|n| < 2^53``, booleans, ``null``,
arrays (``list``/``tuple``) and objects (``dict`` with ``str`` keys).

In that domain JCS reduces to: object keys sorted by their UTF-16 code
units, no whitespace, the shortest string escapes (``\\"``, ``\\\\``,
``\\b \\f \\n \\r \\t``, other controls as ``\\u00xx``; everything else
literal), UTF-8. Floats, larger integers, non-string keys, other types and
strings with lone surrogates raise :class:`~pyservice.errors.MalformedInputError`.
"""

from __future__ import annotations

import json
from typing import Any

from pyservice.errors import MalformedInputError

__all__ = ["MAX_DEPTH", "MAX_SAFE_INTEGER", "canonical_json"]

#: Integers must satisfy ``|n| <= MAX_SAFE_INTEGER`` (= 2^53 - 1).
MAX_SAFE_INTEGER = (1 << 53) - 1
#: Deepest nesting accepted (bounded recursion on untrusted input).
MAX_DEPTH = 64

_encode_string = json.encoder.encode_basestring  # ensure_ascii=False escaping


def canonical_json(value: Any) -> bytes:
    """The RFC 8785 canonical UTF-8 bytes of ``value``."""
    parts: list[str] = []
    _write(value, parts, 0)
    text = "".join(parts)
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise MalformedInputError("string contains a lone surrogate") from exc


def _utf16_key(key: str) -> bytes:
    return key.encode("utf-16-be", "surrogatepass")


def _write(value: Any, out: list[str], depth: int) -> None:  # noqa: PLR0912
    if depth > MAX_DEPTH:
        raise MalformedInputError(f"JSON nested deeper than {MAX_DEPTH}")
    if value is None:
        out.append("null")
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif isinstance(value, str):
        out.append(_encode_string(value))
    elif isinstance(value, int):
        if not -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER:
            raise MalformedInputError("integer out of the range |n| < 2^53")
        out.append(str(int(value)))
    elif isinstance(value, dict):
        for key in value:
            if not isinstance(key, str):
                raise MalformedInputError(f"object key {key!r} is not a string")
        out.append("{")
        first = True
        for key in sorted(value, key=_utf16_key):
            if not first:
                out.append(",")
            first = False
            out.append(_encode_string(key))
            out.append(":")
            _write(value[key], out, depth + 1)
        out.append("}")
    elif isinstance(value, list | tuple):
        out.append("[")
        for i, item in enumerate(value):
            if i:
                out.append(",")
            _write(item, out, depth + 1)
        out.append("]")
    elif isinstance(value, float):
        raise MalformedInputError("floating-point numbers are not allowed in canonical JSON")
    else:
        raise MalformedInputError(f"type {type(value).__name__} is not allowed in canonical JSON")
