"""Issuance, re-issue, the status lifecycle, annotations and export, over a
real SQLite store, real keys and the real ledger."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from gmssl import sm2 as gmssl_sm2  # type: ignore[import-untyped]
from hypothesis import given
from hypothesis import strategies as st

from pyservice.canonical import canonical_json
from pyservice.crypto import PublicKey, sm3
from pyservice.errors import InvalidTagError, MalformedInputError
from pyservice.ledger.keys import ledger_public_key
from pyservice.ledger.verify import verify_ledger
from pyservice.registry import errors as E
from pyservice.registry.service import (
    TRANSITIONS,
    AsyncRegistry,
    Registry,
    StatusChanged,
    canonical_validated,
    effective_status,
    licence_ref,
)
from pyservice.registry.validate import parse_licence_id
from pyservice.statuslist import MIN_ENTRIES, StatusList, list_status
from tests.crypto_testkit import sig_from_der
from tests.registry_testkit import (
    BUSINESS_TYPE,
    ISSUER,
    business_body,
    data_dir,
    driving_body,
    open_registry,
)


@pytest.fixture
def registry(tmp_path: Path) -> Any:
    reg = open_registry(data_dir(tmp_path))
    yield reg
    reg.store.close()


def _serial_body(serial: str) -> dict[str, Any]:
    body = business_body(serial)
    del body["id"], body["type_name"], body["version"]
    body["serial"] = serial
    return body


def test_issue_stores_signs_and_logs(registry: Registry) -> None:
    row = registry.issue(business_body("A1"))
    assert row.status == "VALID"
    assert row.ref == sm3(row.id.encode())[:16] == licence_ref(row.id)
    assert json.loads(row.body) == business_body("A1")
    assert row.body == canonical_json(business_body("A1"))
    assert registry.licence_by_ref(row.ref).id == row.id
    # The ledger entry binds id, version, the body's SM3 and the key.
    (leaf,) = registry.store.ledger_leaves(row.ledger_index, row.ledger_index + 1)
    entry = json.loads(leaf.entry)
    assert entry["kind"] == "licence.issued"
    assert (entry["id"], entry["version"], entry["kid"]) == (row.id, 1, row.kid)
    assert entry["body_sm3"] == sm3(row.body).hex()
    assert verify_ledger(registry.store, ledger_public_key(registry.store)).ok
    with pytest.raises(E.DuplicateLicenceError):
        registry.issue(business_body("A1"))


def test_bodies_are_sealed_at_rest(registry: Registry) -> None:
    row = registry.issue(driving_body("P1"))
    stored = registry.store.licence_get(row.id)
    assert stored is not None
    assert stored.body != row.body
    holder_id = json.loads(row.body)["holder"]["id"]
    for path in Path(registry.store.path).parent.glob("sidian.db*"):  # type: ignore[attr-defined]
        data = path.read_bytes()
        assert holder_id.encode() not in data
        assert "李四".encode() not in data
    assert registry.licences_of_holder("111", holder_id) == [row.id]
    assert registry.licences_of_holder("111", holder_id[:-1] + "0") == []
    # A sealed body only opens under its own licence id.
    with pytest.raises(InvalidTagError):
        registry.keyring.open_body(row.id + "x", stored.body)
    with pytest.raises(MalformedInputError):
        registry.keyring.open_body(row.id, b"short")


def test_generated_id_and_defaults(registry: Registry) -> None:
    row = registry.issue(_serial_body("GEN7"))
    parsed = parse_licence_id(row.id)
    assert parsed.check_ok
    assert (parsed.serial, parsed.version, parsed.issuer_code) == ("GEN7", 1, ISSUER)
    assert json.loads(row.body)["type_name"] == "营业执照"
    with pytest.raises(E.InvalidLicenceBodyError):
        registry.issue({**_serial_body("X"), "id": row.id})


def test_issued_signatures_verify_with_gmssl(registry: Registry) -> None:
    rows = [registry.issue(business_body(f"G{i}")) for i in range(3)]
    rows.append(registry.issue(driving_body("D1")))
    for row in rows:
        public = registry.keyring.trusted(row.kid)
        assert public is not None
        oracle = gmssl_sm2.CryptSM2(private_key="00", public_key="")
        oracle.public_key = public.public_key.to_bytes()[1:].hex()
        r, s = sig_from_der(row.signature)
        assert oracle.verify_with_sm3(f"{r:064x}{s:064x}", row.body) is True
        assert not oracle.verify_with_sm3(f"{r:064x}{s:064x}", row.body + b" ")


def test_issue_refuses_bad_input(registry: Registry) -> None:
    with pytest.raises(E.UnknownLicenceTypeError):
        registry.issue(business_body(type_code="11100000000013338W099"))
    with pytest.raises(E.UnknownIssuerError):
        registry.issue(business_body(issuer={"name": "x", "code": "110000"}))
    with pytest.raises(E.MissingFaceFieldError):
        registry.issue(business_body(face={"registered_capital": "5"}))
    with pytest.raises(E.InvalidLicenceBodyError):
        registry.issue([])  # type: ignore[arg-type]
    with pytest.raises(E.InvalidLicenceBodyError):
        registry.issue(business_body(issuer={"name": "x", "code": ISSUER, "extra": 1}))
    with pytest.raises(E.InvalidLicenceBodyError):
        registry.issue({"type_code": BUSINESS_TYPE["code"], "issuer": {"code": ISSUER}})
    assert registry.store.registry_counts()["licences"] == 0


@pytest.mark.parametrize("start", ["VALID", "SUSPENDED", "REVOKED", "CANCELLED"])
@pytest.mark.parametrize("target", ["VALID", "SUSPENDED", "REVOKED", "CANCELLED", "EXPIRED"])
def test_every_transition(registry: Registry, start: str, target: str) -> None:
    row = registry.issue(business_body("T1"))
    if start != "VALID":
        registry.set_status(row.id, start, reason="setup", actor="test")
    if (start, target) in TRANSITIONS:
        changed = registry.set_status(row.id, target, reason="because", actor="officer 9")
        assert (changed.from_status, changed.to_status) == (start, target)
        assert registry.licence(row.id).status == target
        events = registry.store.status_events(row.id)
        assert (events[-1].to_status, events[-1].reason, events[-1].actor) == (
            target,
            "because",
            "officer 9",
        )
        (leaf,) = registry.store.ledger_leaves(changed.ledger_index, changed.ledger_index + 1)
        entry = json.loads(leaf.entry)
        assert entry["kind"] == "licence.status"
        assert (entry["from"], entry["to"], entry["actor"]) == (start, target, "officer 9")
    else:
        size = registry.store.ledger_head().tree_size  # type: ignore[union-attr]
        with pytest.raises(E.IllegalStatusTransitionError) as info:
            registry.set_status(row.id, target, reason="because", actor="officer 9")
        assert info.value.http_status == 409
        assert registry.licence(row.id).status == start
        assert registry.store.ledger_head().tree_size == size  # type: ignore[union-attr]


def test_status_change_needs_reason_and_actor(registry: Registry) -> None:
    row = registry.issue(business_body("R1"))
    with pytest.raises(E.ValidationError):
        registry.set_status(row.id, "SUSPENDED", reason=" ", actor="x")
    with pytest.raises(E.UnknownLicenceError):
        registry.set_status("nope", "SUSPENDED", reason="r", actor="x")


def test_expired_is_derived() -> None:
    today = dt.date(2026, 1, 2)
    assert effective_status("VALID", "2026-01-01", today) == "EXPIRED"
    assert effective_status("SUSPENDED", "2026-01-01", today) == "EXPIRED"
    assert effective_status("VALID", "2026-01-02", today) == "VALID"
    assert effective_status("VALID", None, today) == "VALID"
    assert effective_status("REVOKED", "2026-01-01", today) == "REVOKED"


def test_expired_licence_status_view(registry: Registry) -> None:
    row = registry.issue(business_body("E1", valid_from="2020-01-01", valid_until="2021-01-01"))
    view = registry.status(row.id)
    assert (view.status, view.stored_status) == ("EXPIRED", "VALID")
    assert view.as_of >= view.since


def test_reissue_supersedes_and_cancels(registry: Registry) -> None:
    old = registry.issue(business_body("V1"))
    new, changed = registry.reissue(
        old.id,
        {"face": {"legal_representative": "王五", "registered_capital": "200万元"}},
        actor="clerk",
        reason="法定代表人变更",
    )
    assert new.version == 2
    assert new.supersedes == old.id
    assert parse_licence_id(new.id).version == 2
    assert parse_licence_id(new.id).check_ok
    assert json.loads(new.body)["face"]["legal_representative"] == "王五"
    cancelled = registry.licence(old.id)
    assert cancelled.status == "CANCELLED"
    assert cancelled.superseded_by == new.id
    assert changed.to_status == "CANCELLED"
    with pytest.raises(E.IllegalStatusTransitionError):
        registry.reissue(old.id, {}, actor="clerk", reason="again")
    with pytest.raises(E.InvalidLicenceBodyError):
        registry.reissue(new.id, {"version": 9}, actor="clerk", reason="x")


def test_annotation_is_signed_and_logged(registry: Registry) -> None:
    row = registry.issue(business_body("N1"))
    ann = registry.annotate(
        row.id,
        annotator_code=ISSUER,
        content="经营范围增加餐饮服务",
        reason="变更登记",
        actor="张科员",
        valid_until="2027-12-31",
    )
    body = json.loads(ann.body)
    assert body["seq"] == 1
    assert body["annotator"]["code"] == ISSUER
    assert body["reason"] == "变更登记"
    assert body["valid_until"] == "2027-12-31"
    trusted = registry.keyring.trusted(ann.kid)
    assert trusted is not None
    trusted.public_key.verify(ann.body, ann.signature)
    assert registry.store.annotations(row.id) == [ann]
    second = registry.annotate(row.id, annotator_code=ISSUER, content="c", reason="r", actor="a")
    assert second.seq == 2
    with pytest.raises(E.InvalidDateError):
        registry.annotate(
            row.id, annotator_code=ISSUER, content="c", reason="r", actor="a", valid_until="x"
        )


def test_key_rotation_keeps_old_signatures(registry: Registry) -> None:
    first = registry.issue(business_body("K1"))
    new_key = registry.rotate_key(ISSUER)
    second = registry.issue(business_body("K2"))
    assert second.kid == new_key.kid != first.kid
    old = registry.keyring.trusted(first.kid)
    assert old is not None
    assert old.status == "retired"
    assert old.valid_until is not None
    PublicKey.from_bytes(old.public_key.to_bytes()).verify(first.body, first.signature)
    with pytest.raises(E.UnknownIssuerError):
        registry.rotate_key("110000")
    with pytest.raises(E.ConflictError):
        registry.rotate_key("platform", "ledger")
    old_qr, _ = registry.keyring.qr_signing_key()
    qr = registry.rotate_key("platform", "qr")
    assert registry.keyring.qr_signing_key()[0] == qr.kid != old_qr
    retired = registry.keyring.trusted(old_qr)
    assert retired is not None
    assert retired.status == "retired"


def test_everything_survives_reopen(tmp_path: Path) -> None:
    data = data_dir(tmp_path)
    reg = open_registry(data)
    row = reg.issue(business_body("S1"))
    reg.set_status(row.id, "SUSPENDED", reason="r", actor="a")
    reg.annotate(row.id, annotator_code=ISSUER, content="c", reason="r", actor="a")
    before = (reg.licence(row.id), reg.store.registry_counts(), reg.keyring.trust_list())
    reg.store.close()
    again = open_registry(data)
    after = (again.licence(row.id), again.store.registry_counts(), again.keyring.trust_list())
    assert after == before
    # The unwrapped key still signs what the stored public key verifies.
    key_row, key = again.keyring.signing_key(ISSUER)
    PublicKey.from_bytes(key_row.public_key).verify(b"m", key.sign(b"m"))
    again.store.close()


async def test_async_registry_calls_the_hook_after_commit(tmp_path: Path) -> None:
    reg = open_registry(data_dir(tmp_path))
    seen: list[tuple[StatusChanged, str]] = []

    async def hook(changed: StatusChanged) -> None:
        # The change is committed (store and ledger) before the hook runs.
        stored = await asyncio.to_thread(reg.store.licence_get, changed.licence_id)
        assert stored is not None
        seen.append((changed, stored.status))

    await reg.ledger.start()
    try:
        areg = AsyncRegistry(reg, on_status_change=hook)
        row = await areg.issue(business_body("H1"))
        changed = await areg.set_status(row.id, "REVOKED", reason="fraud", actor="inspector")
        assert seen == [(changed, "REVOKED")]
        assert changed.ref == row.ref
        assert changed.status_idx == row.status_idx
        assert (await areg.status(row.id)).status == "REVOKED"
        assert (await areg.licence_by_ref(row.ref)).id == row.id
        with pytest.raises(E.IllegalStatusTransitionError):
            await areg.set_status(row.id, "VALID", reason="x", actor="y")
        assert len(seen) == 1
        events = await areg.status_events_after(0)
        assert [(e.licence_id, e.to_status) for e in events] == [(row.id, "REVOKED")]
        holder = json.loads(row.body)["holder"]
        assert await areg.licences_of_holder(holder["id_type"], holder["id"]) == [row.id]
        assert (await areg.export(row.id))["licence"]["id"] == row.id
    finally:
        await reg.ledger.close()
        reg.store.close()


_ascii_keys = st.from_regex(r"[a-z_][a-z0-9_]{0,8}", fullmatch=True)
_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**53) + 1, 2**53 - 1)
    | st.text(st.characters(exclude_categories=["Cs"])),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_ascii_keys, inner, max_size=4),
    max_leaves=20,
)


@given(st.dictionaries(_ascii_keys, _values, max_size=8))
def test_canonical_validated_equals_canonical_json(value: dict[str, Any]) -> None:
    assert canonical_validated(value) == canonical_json(value)


def test_canonical_validated_on_bodies_and_surrogates() -> None:
    for body in (business_body("C1"), driving_body("C2")):
        assert canonical_validated(body) == canonical_json(body)
    with pytest.raises(MalformedInputError):
        canonical_validated({"a": "\ud800"})


def test_status_list_layout(registry: Registry) -> None:
    # The registry hands out positions 0, 1, 2 … per issuer; the published
    # list (pyservice.statuslist) puts each licence's status at its position.
    rows = [registry.issue(business_body(f"L{i}")) for i in range(6)]
    registry.set_status(rows[1].id, "REVOKED", reason="r", actor="a")
    registry.set_status(rows[2].id, "SUSPENDED", reason="r", actor="a")
    registry.set_status(rows[5].id, "CANCELLED", reason="r", actor="a")
    entries = registry.store.status_list(ISSUER)
    assert [i for i, _ in entries] == list(range(6))
    published = StatusList.from_statuses((i, list_status(s)) for i, s in entries)
    assert published.size == MIN_ENTRIES
    # 0 valid, 1 revoked/cancelled, 2 suspended.
    assert [int(published[i]) for i in range(8)] == [0, 1, 2, 0, 0, 1, 0, 0]
