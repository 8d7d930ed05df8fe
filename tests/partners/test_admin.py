"""Partner and consent administration: each action is a ledger entry
(real store, real ledger key); a refused action writes nothing; the
ledger names a licence only by its keyed hash and never holds a secret."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest

from pyservice.crypto import PrivateKey
from pyservice.errors import MalformedInputError
from pyservice.ledger.service import Ledger
from pyservice.partners.admin import PartnerAdmin
from pyservice.partners.disclosure import Disclosures
from pyservice.partners.registry import PartnerRegistry, UnknownPartnerError
from pyservice.registry.keys import KeyRing
from pyservice.store import Store
from pyservice.store.sqlite import SqliteStore

MASTER = bytes(range(16))
LICENCE = "1.2.156.3005.2.11100000000013661B006.11430000006122244L.000001.001.X"


@pytest.fixture
def admin(tmp_path: Path) -> PartnerAdmin:
    store = SqliteStore.open(tmp_path / "s.db")
    keyring = KeyRing(store, MASTER)
    ledger = Ledger(store, PrivateKey.generate())
    ledger.load()
    return PartnerAdmin(
        PartnerRegistry(store, keyring, cache_seconds=0),
        Disclosures(store),
        ledger,
        keyring.usage_target,
    )


def _entries(store: Store) -> list[dict[str, Any]]:
    head = store.ledger_head()
    assert head is not None
    return [orjson.loads(leaf.entry) for leaf in store.ledger_leaves(0, head.tree_size)]


def test_partner_actions_are_ledger_entries(admin: PartnerAdmin) -> None:
    store = admin.partners.store
    new, added = admin.add("某银行", actor="cli:ops", scopes="verify:qr")
    holder, holder_added = admin.add_holder(bytes(range(16)), actor="demo")
    _, suspended = admin.suspend(new.id, actor="cli:ops")
    assert admin.partners.get(new.id).status == "suspended"
    _, resumed = admin.resume(new.id, actor="partner:p_admin")
    rotated, rotation = admin.rotate_secret(new.id, actor="cli:ops")
    assert admin.partners.get(new.id).secret == rotated.secret != new.secret
    entries = _entries(store)
    assert [added, holder_added, suspended, resumed, rotation] == list(range(5))
    assert [(e["kind"], e["id"], e["actor"]) for e in entries] == [
        ("partner.added", new.id, "cli:ops"),
        ("partner.added", holder.id, "demo"),
        ("partner.status", new.id, "cli:ops"),
        ("partner.status", new.id, "partner:p_admin"),
        ("partner.secret_rotated", new.id, "cli:ops"),
    ]
    assert (entries[0]["partner_kind"], entries[0]["scopes"]) == ("partner", ["verify:qr"])
    assert (entries[1]["partner_kind"], entries[1]["scopes"]) == ("holder", ["holder"])
    assert [e.get("status") for e in entries[2:4]] == ["suspended", "active"]
    raw = b"".join(orjson.dumps(e) for e in entries)
    for secret in (new.secret, holder.secret, rotated.secret):
        assert secret.encode() not in raw
    assert bytes(range(16)).hex().encode() not in raw  # nor the holder's keyed hash


def test_unknown_partner_writes_no_entry(admin: PartnerAdmin) -> None:
    for action in (admin.suspend, admin.resume, admin.rotate_secret):
        with pytest.raises(UnknownPartnerError):
            action("p_missing", actor="cli:ops")
    with pytest.raises(UnknownPartnerError):
        admin.grant_consent(LICENCE, "p_missing", actor="cli:ops")
    assert _entries(admin.partners.store) == []


def test_consent_grant_and_revoke_are_ledger_entries(admin: PartnerAdmin) -> None:
    new, _ = admin.add("某银行", actor="cli:ops", scopes="licence:read-full")
    now = 1_800_000_000_000
    row, granted = admin.grant_consent(
        LICENCE, new.id, actor="cli:ops", expires_at_ms=now + 1000, now_ms=now
    )
    assert (row.licence_id, row.partner_id, row.expires_at) == (LICENCE, new.id, now + 1000)
    assert admin.disclosures.has_consent(LICENCE, new.id, now)
    revoked, revocation = admin.revoke_consent(LICENCE, new.id, actor="cli:ops")
    assert revoked
    assert not admin.disclosures.has_consent(LICENCE, new.id, now)
    # nothing to withdraw: no entry
    assert admin.revoke_consent(LICENCE, new.id, actor="cli:ops") == (False, None)
    # a consent that would expire at once is refused before any entry
    with pytest.raises(MalformedInputError):
        admin.grant_consent(LICENCE, new.id, actor="cli:ops", expires_at_ms=now, now_ms=now)
    entries = _entries(admin.partners.store)
    assert [e["kind"] for e in entries] == ["partner.added", "consent.granted", "consent.revoked"]
    assert (granted, revocation) == (1, 2)
    target = entries[1]["target"]
    assert entries[2]["target"] == target
    # the same keyed hash as the licence's usage records
    assert target == KeyRing(admin.partners.store, MASTER).usage_target(LICENCE).hex()
    assert (entries[1]["partner"], entries[1]["expires_at"]) == (new.id, now + 1000)
    # the public ledger names the licence by its keyed hash, never its id
    assert LICENCE.encode() not in b"".join(orjson.dumps(e) for e in entries)
