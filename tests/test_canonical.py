"""Canonical JSON (RFC 8785 over the restricted domain of formats.md)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pyservice.canonical import MAX_DEPTH, MAX_SAFE_INTEGER, canonical_json
from pyservice.errors import MalformedInputError


def test_rfc8785_sorting_example() -> None:
    # RFC 8785 §3.2.3: keys sorted by UTF-16 code units (the smiley, a
    # surrogate pair, sorts before U+FB33 although its code point is larger).
    source = (
        '{"\\u20ac": "Euro Sign", "\\r": "Carriage Return", "\\ufb33": "Hebrew Letter Dalet With'
        ' Dagesh", "1": "One", "\\ud83d\\ude00": "Emoji: Grinning Face", "\\u0080": "Control",'
        ' "\\u00f6": "Latin Small Letter O With Diaeresis"}'
    )
    values = [v for _, v in json.loads(canonical_json(json.loads(source))).items()]
    assert values == [
        "Carriage Return",
        "One",
        "Control",
        "Latin Small Letter O With Diaeresis",
        "Euro Sign",
        "Emoji: Grinning Face",
        "Hebrew Letter Dalet With Dagesh",
    ]


def test_rfc8785_string_escapes() -> None:
    # RFC 8785 §3.2.2.2 string example (the non-number part of §3.2.2).
    source = '"\\u20ac$\\u000F\\u000aA\'\\u0042\\u0022\\u005c\\\\\\"\\/"'
    expected = '"€$\\u000f\\nA\'B\\"\\\\\\\\\\"/"'
    assert canonical_json(json.loads(source)) == expected.encode("utf-8")


def test_rfc8785_literals_and_structure() -> None:
    value = {"literals": [None, True, False], "b": {"y": 1, "x": -2}, "a": []}
    assert canonical_json(value) == (b'{"a":[],"b":{"x":-2,"y":1},"literals":[null,true,false]}')


def test_controls_and_non_ascii() -> None:
    assert canonical_json("\x00\x1f\x7f\b\f\t") == b'"\\u0000\\u001f\x7f\\b\\f\\t"'
    assert canonical_json({"名称": "张三"}) == '{"名称":"张三"}'.encode()
    assert canonical_json((1, "x")) == b'[1,"x"]'


def test_integer_bounds() -> None:
    assert canonical_json(MAX_SAFE_INTEGER) == b"9007199254740991"
    assert canonical_json(-MAX_SAFE_INTEGER) == b"-9007199254740991"
    for bad in (MAX_SAFE_INTEGER + 1, -MAX_SAFE_INTEGER - 1, 1 << 64):
        with pytest.raises(MalformedInputError, match="2\\^53"):
            canonical_json(bad)


@pytest.mark.parametrize(
    "value",
    [
        1.0,
        {"x": 0.5},
        {1: "a"},
        {None: "a"},
        {"s": {1, 2}},
        b"bytes",
        "\ud800",  # lone surrogate
        {"k": "\udfff"},
    ],
)
def test_rejected(value: Any) -> None:
    with pytest.raises(MalformedInputError):
        canonical_json(value)


def test_depth_is_bounded() -> None:
    value: Any = []
    for _ in range(MAX_DEPTH + 1):
        value = [value]
    with pytest.raises(MalformedInputError, match="nested"):
        canonical_json(value)


_json = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-MAX_SAFE_INTEGER, MAX_SAFE_INTEGER)
    | st.text(st.characters(exclude_categories=["Cs"])),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.text(st.characters(exclude_categories=["Cs"])), children, max_size=4)
    ),
    max_leaves=20,
)


@given(_json)
def test_round_trip_is_a_fixed_point(value: Any) -> None:
    data = canonical_json(value)
    parsed = json.loads(data.decode("utf-8"))
    assert parsed == value
    assert canonical_json(parsed) == data
    if isinstance(value, dict):
        keys = list(json.loads(data))
        assert keys == sorted(keys, key=lambda k: k.encode("utf-16-be"))


def _rfc8785_cases() -> list[dict[str, Any]]:
    path = Path(__file__).resolve().parent / "vectors" / "rfc8785.json"
    cases: list[dict[str, Any]] = json.loads(path.read_text(encoding="utf-8"))["cases"]
    return cases


@pytest.mark.parametrize("case", _rfc8785_cases(), ids=lambda c: c["name"][:40])
def test_rfc8785_published_examples(case: dict[str, Any]) -> None:
    value = json.loads(case["input"])
    if case.get("rejected"):
        with pytest.raises(MalformedInputError):
            canonical_json(value)
    else:
        assert canonical_json(value) == case["expected"].encode("utf-8")
