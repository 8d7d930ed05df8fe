"""The in-memory multipart/form-data reader: it returns exactly what
aiohttp's writer encoded, and hostile bodies raise only
MalformedInputError, in linear time (deep nesting included)."""

from __future__ import annotations

import asyncio
import contextlib

import pytest
from aiohttp import FormData
from hypothesis import given
from hypothesis import strategies as st

from pyservice.errors import MalformedInputError
from pyservice.handlers.multipart import form_field


class _Sink:
    def __init__(self) -> None:
        self.data = bytearray()

    async def write(self, chunk: bytes) -> None:
        self.data += chunk


def _encoded(fields: list[tuple[str, bytes]]) -> tuple[str, bytes]:
    """aiohttp's own encoding of ``fields`` (the client side of the upload)."""
    form = FormData()
    for name, data in fields:
        form.add_field(name, data, filename="f.ofd", content_type="application/ofd")
    writer = form()
    sink = _Sink()
    asyncio.run(writer.write(sink))  # type: ignore[arg-type]
    return writer.headers["Content-Type"], bytes(sink.data)


@given(
    st.binary(max_size=2000),
    st.lists(st.tuples(st.sampled_from(["x", "文件", "filex"]), st.binary(max_size=200))),
)
def test_round_trip_with_aiohttp_writer(data: bytes, others: list[tuple[str, bytes]]) -> None:
    content_type, body = _encoded([*others, ("file", data), ("file", b"second")])
    assert form_field(content_type, body, "file") == data


def test_parameters_quoted_and_rfc2231() -> None:
    body = (
        b"preamble\r\n--a b\r\nContent-Disposition: form-data; name*=utf-8''%E6%96%87\r\n\r\n"
        b'x\r\n--a b\r\ncontent-disposition: form-data; name="file"\r\n\r\n'
        b"\r\n--a bc\r\n\r\n--a b--\r\nepilogue"
    )
    assert form_field('multipart/form-data; boundary="a b"', body, "文") == b"x"
    assert form_field('multipart/form-data; boundary="a b"', body, "file") == b"\r\n--a bc\r\n"


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("multipart/form-data", b"--b\r\n\r\n\r\n--b--"),
        ("multipart/form-data; boundary=", b""),
        ("multipart/form-data; boundary=" + "x" * 71, b""),
        ("multipart/form-data; boundary=b", b""),
        ("multipart/form-data; boundary=b", b"--b"),
        ("multipart/form-data; boundary=b", b"--b junk\r\n\r\n\r\n--b--"),
        ("multipart/form-data; boundary=b", b'--b\r\nContent-Disposition: x; name="file"'),
        ("multipart/form-data; boundary=b", b'--b\r\nContent-Disposition: x; name="file"\r\n\r\nx'),
        ("multipart/form-data; boundary=b", b"--b\r\n\r\nx\r\n--b--"),
        ("multipart/form-data; boundary=b", b"--b\r\n" + b"X: y\r\n" * 2000 + b"\r\nx\r\n--b--"),
    ],
)
def test_malformed_bodies(content_type: str, body: bytes) -> None:
    with pytest.raises(MalformedInputError):
        form_field(content_type, body, "file")


def test_deep_nesting_is_just_content() -> None:
    nested = b"".join(
        f"--b{i}\r\nContent-Type: multipart/mixed; boundary=b{i + 1}\r\n\r\n".encode()
        for i in range(1, 20_000)
    )
    body = b'--b0\r\nContent-Disposition: form-data; name="file"\r\n\r\n' + nested + b"\r\n--b0--"
    assert form_field("multipart/form-data; boundary=b0", body, "file") == nested


@given(st.binary(max_size=600), st.text(max_size=80))
def test_arbitrary_input_is_read_or_malformed(body: bytes, content_type: str) -> None:
    for ct in (content_type, "multipart/form-data; boundary=b"):
        with contextlib.suppress(MalformedInputError):
            form_field(ct, body, "file")
