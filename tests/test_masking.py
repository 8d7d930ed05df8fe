"""Masking rules of security.md, including compound surnames and 18- and
15-digit ID numbers, plus properties that nothing classified leaks."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pyservice.masking import (
    COMPOUND_SURNAMES,
    mask_address,
    mask_body,
    mask_face,
    mask_holder,
    mask_id_number,
    mask_name,
    mask_phone,
    mask_value,
)
from tests.registry_testkit import HOLDER_PERSON, business_body, driving_body


@pytest.mark.parametrize(
    ("value", "masked"),
    [
        ("410105199001011234", "4101**********1234"),
        ("11010519491231002X", "1101**********002X"),
        ("410105900101123", "4101*******1123"),  # 15-digit legacy number
        ("1234567", "12***67"),  # malformed: never more than a well-formed one
        ("1234", "****"),
        ("", ""),
    ],
)
def test_id_numbers(value: str, masked: str) -> None:
    assert mask_id_number(value) == masked


@pytest.mark.parametrize(
    ("value", "masked"),
    [
        ("张三", "张*"),
        ("李小龙", "李**"),
        ("欧阳娜娜", "欧阳**"),
        ("司马光", "司马*"),
        ("诸葛亮", "诸葛*"),
        ("欧阳", "欧*"),  # two characters: surname 欧, given name 阳
        ("张", "张"),
        ("阿依古丽·买买提", "阿***·***"),
        ("John Smith", "J*** *****"),
        ("", ""),
    ],
)
def test_names(value: str, masked: str) -> None:
    assert mask_name(value) == masked


@pytest.mark.parametrize(
    ("value", "masked"),
    [
        ("13812341234", "138****1234"),
        ("+86 138 1234 1234", "+86 138 **** 1234"),
        ("0571-88886666", "057*-****6666"),
        ("110", "***"),
    ],
)
def test_phones(value: str, masked: str) -> None:
    assert mask_phone(value) == masked


def test_addresses_hide_their_length() -> None:
    assert mask_address("浙江省杭州市西湖区文三路 90 号") == "浙江省杭州市****"
    assert (
        mask_address("浙江省杭州市西湖区")
        == mask_address("浙江省杭州市上城区某某路 1 号")[:6] + "****"
    )
    assert mask_address("杭州") == "****"


def test_holder_masks_people_but_not_organisations() -> None:
    person = {"name": "欧阳娜娜", "id_type": "111", "id": "410105199001011234"}
    assert mask_holder(person) == {"name": "欧阳**", "id_type": "111", "id": "4101**********1234"}
    company = {"name": "杭州某某科技有限公司", "id_type": "001", "id": "91330106MA2H0X1234"}
    assert mask_holder(company) == company


def test_face_masks_only_the_type_s_sensitive_fields() -> None:
    face = {"住址": "浙江省杭州市西湖区文三路 90 号", "准驾车型": "C1", "电话": "13812341234"}
    masked = mask_face(face, {"住址": "address", "电话": "phone"})
    assert masked == {"住址": "浙江省杭州市****", "准驾车型": "C1", "电话": "138****1234"}
    assert mask_value("other", "秘密值") == "秘***"


@given(st.text(alphabet="0123456789X", min_size=18, max_size=18))
def test_an_18_character_id_keeps_exactly_8_characters(value: str) -> None:
    masked = mask_id_number(value)
    assert len(masked) == 18
    assert masked[4:14] == "*" * 10
    assert masked[:4] + masked[14:] == value[:4] + value[14:]


@given(st.text(min_size=1, max_size=12))
def test_a_name_reveals_at_most_its_surname(value: str) -> None:
    masked = mask_name(value)
    assert len(masked) == len(value)
    kept = sum(1 for a, b in zip(value, masked, strict=True) if a == b and b != "*")
    separators = sum(1 for ch in value[1:] if ch in "·•・. -'")
    assert kept <= 2 + separators
    if kept == 2 + separators and len(value) > 2:
        assert value[:2] in COMPOUND_SURNAMES


@given(st.text(alphabet="0123456789 -", max_size=20))
def test_a_phone_reveals_at_most_7_digits(value: str) -> None:
    masked = mask_phone(value)
    assert len(masked) == len(value)
    assert sum(ch.isdigit() for ch in masked) <= 7


@given(st.from_regex(r"\+[0-9]{1,3} [0-9 -]{0,16}", fullmatch=True))
def test_a_country_code_is_kept_and_at_most_7_other_digits_shown(value: str) -> None:
    code = value.split(" ", 1)[0]
    masked = mask_phone(value)
    assert masked.startswith(code + " ")
    assert sum(ch.isdigit() for ch in masked[len(code) :]) <= 7


def test_mask_body_masks_the_type_s_paths_and_a_number_equal_to_the_id() -> None:
    body = driving_body()
    masked = mask_body(body, ["holder.name", "holder.id"])
    assert masked["holder"]["name"] == mask_name(body["holder"]["name"])
    assert masked["holder"]["id"] == mask_id_number(HOLDER_PERSON)
    assert masked["number"] == mask_id_number(HOLDER_PERSON)  # 驾驶证 number = ID number
    assert body["holder"]["id"] == HOLDER_PERSON  # the input is untouched


def test_mask_body_face_fields_by_what_they_hold() -> None:
    firm = business_body(
        face={
            "legal_representative": "欧阳娜娜",
            "registered_capital": "1万元",
            "address": "湖南省长沙市岳麓区某路1号",
            "contact_phone": "13812341234",
        }
    )
    sensitive = ["holder.name", "face.address", "face.contact_phone", "face.legal_representative"]
    masked = mask_body(firm, [*sensitive, "face.missing"])
    assert masked["holder"] == firm["holder"]  # organisations are public
    assert masked["face"] == {
        "legal_representative": "欧阳**",
        "registered_capital": "1万元",
        "address": "湖南省长沙市****",
        "contact_phone": "138****1234",
    }
    assert mask_body(firm, []) == firm
