"""The demo data set: valid, signed, with every status represented."""

from __future__ import annotations

import json
from pathlib import Path

from pyservice.registry.demo import DEMO_TYPES, bulk_rows, seed_demo
from pyservice.registry.document import parse_document, verify_document
from pyservice.registry.service import today_in_china
from pyservice.registry.validate import check_resident_id, check_uscc, parse_licence_id
from tests.registry_testkit import data_dir, open_registry, trust_of


def test_seed_demo(tmp_path: Path) -> None:
    registry = open_registry(data_dir(tmp_path), seed=False)
    done = seed_demo(registry, count=60)
    assert done["issuers"] == 4
    counts = registry.store.registry_counts()
    assert counts["licences"] == 61
    by_status = counts["licences_by_status"]
    assert isinstance(by_status, dict)
    assert set(by_status) == {"VALID", "SUSPENDED", "REVOKED", "CANCELLED"}
    assert counts["annotations"] == 1
    trust = trust_of(registry)
    driving_code = next(t["code"] for t in DEMO_TYPES if t["name"] == "驾驶证")
    for licence_id in registry.store.licences_page("", 100):
        row = registry.licence(licence_id)
        body = json.loads(row.body)
        assert parse_licence_id(licence_id).check_ok
        trust[row.kid].public_key.verify(row.body, row.signature)
        if body["holder"]["id_type"] == "111":
            check_resident_id(body["holder"]["id"], today=today_in_china())
        else:
            check_uscc(body["holder"]["id"])
        if body["type_code"] == driving_code:
            assert body["number"] == body["holder"]["id"]
    valid = next(
        i for i in registry.store.licences_page("", 100) if registry.licence(i).status == "VALID"
    )
    doc = parse_document(json.dumps(registry.export(valid)))
    assert verify_document(doc, trust, today=today_in_china(), status="VALID").result == "VALID"
    registry.store.close()


def test_bulk_rows_are_deterministic_and_distinct() -> None:
    first = list(bulk_rows(50))
    assert first == list(bulk_rows(50))
    assert len({r["serial"] for r in first}) == 50
