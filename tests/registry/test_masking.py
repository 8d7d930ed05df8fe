"""Masking of classified fields (security.md)."""

from __future__ import annotations

from pyservice.registry.masking import mask_body, mask_id, mask_name, mask_phone, mask_text
from tests.registry_testkit import HOLDER_PERSON, business_body, driving_body


def test_masks_of_security_md() -> None:
    assert mask_id("410105199001011234") == "4101**********1234"
    assert mask_name("张三") == "张*"
    assert mask_name("欧阳娜娜") == "欧阳**"
    assert mask_name("欧阳") == "欧*"
    assert mask_name("李") == "李*"
    assert mask_phone("13812341234") == "138****1234"
    assert mask_phone("0731-1234") == "*****1234"
    assert mask_phone("123") == "****"
    assert mask_text("湖南省长沙市岳麓区某路1号") == "湖南省长沙市****"
    assert mask_id("1234") == "****"


def test_mask_body() -> None:
    body = driving_body()
    masked = mask_body(body, ["holder.name", "holder.id"])
    assert masked["holder"]["name"] == "李*"
    assert masked["holder"]["id"] == mask_id(HOLDER_PERSON)
    assert masked["number"] == mask_id(HOLDER_PERSON)  # 驾驶证 number = ID number
    assert body["holder"]["id"] == HOLDER_PERSON  # the input is untouched
    firm = business_body(
        face={
            "legal_representative": "张三",
            "registered_capital": "1万元",
            "address": "湖南省长沙市岳麓区某路1号",
        }
    )
    masked = mask_body(firm, ["holder.name", "face.address", "face.missing"])
    assert masked["holder"]["name"] == firm["holder"]["name"]  # organisations are public
    assert masked["face"]["address"] == "湖南省长沙市****"
    assert mask_body(firm, []) == firm
