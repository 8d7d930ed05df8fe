"""Licence summaries: masked per the type's classified paths, a person's
name and ID number masked always, the full form kept apart; bounded cache."""

from __future__ import annotations

from pyservice.verify.summary import SUMMARY_FIELDS, SummaryCache, summarise
from tests.registry_testkit import HOLDER_PERSON, business_body, driving_body


def test_a_person_is_masked_even_where_the_type_lists_nothing() -> None:
    summary = summarise(driving_body("S1"), [])
    assert summary.masked["holder"]["name"] == "李*"
    assert summary.masked["holder"]["id"] == "1101**********002X"
    assert summary.full["holder"]["id"] == HOLDER_PERSON
    assert set(summary.masked) == set(SUMMARY_FIELDS)
    assert summary.valid_until is None


def test_an_organisation_is_public_and_sensitive_face_fields_are_masked() -> None:
    body = business_body("S2")
    body["face"]["address"] = "湖南省长沙市岳麓区麓山南路932号"
    summary = summarise(body, ["face.address"])
    assert summary.masked["holder"] == body["holder"]
    assert summary.masked["face"]["address"] == "湖南省长沙市****"
    assert summary.full["face"]["address"] == body["face"]["address"]
    assert (summary.type_code, summary.issuer_code) == (body["type_code"], body["issuer"]["code"])


def test_cache_is_bounded_and_least_recently_used_goes_first() -> None:
    cache = SummaryCache(max_entries=2)
    a, b, c = (summarise(business_body(s), []) for s in ("A1", "B1", "C1"))
    cache.put(b"a", a)
    cache.put(b"b", b)
    assert cache.get(b"a") is a  # a is now the most recent
    cache.put(b"c", c)
    assert len(cache) == 2
    assert cache.get(b"b") is None
    assert cache.get(b"a") is a
