"""The partner registry over a real store and keyring: secrets shown once
and stored only wrapped, validation, suspension, rotation, the lookup cache."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

from pyservice.crypto import sm4_gcm_decrypt
from pyservice.errors import InvalidTagError, MalformedInputError
from pyservice.partners.policy import UnknownScopeError
from pyservice.partners.registry import (
    HOLDER_RATE_PER_S,
    SECRET_WRAP_LABEL,
    HolderScopeReservedError,
    PartnerRegistry,
    UnknownPartnerError,
)
from pyservice.registry.keys import KeyRing
from pyservice.store import PartnerRow
from pyservice.store.sqlite import SqliteStore

MASTER = bytes(range(16))


@pytest.fixture
def registry(tmp_path: Path) -> PartnerRegistry:
    store = SqliteStore.open(tmp_path / "s.db")
    return PartnerRegistry(store, KeyRing(store, MASTER), cache_seconds=60)


def test_add_returns_the_secret_once_and_stores_it_wrapped(registry: PartnerRegistry) -> None:
    new = registry.add(
        "某银行开户系统",
        scopes="verify:qr, verify:licence",
        licence_types=["11100000000013338W032"],
        rate_per_s=20,
        single_use_tokens=True,
    )
    assert re.fullmatch(r"p_[0-9a-f]{16}", new.id)
    assert re.fullmatch(r"sk_[A-Za-z0-9_-]{43}", new.secret)
    assert new.secret not in repr(new)
    row = registry.store.partner_get(new.id)
    assert row is not None
    assert new.secret.encode() not in row.wrapped_secret
    key = KeyRing(registry.store, MASTER).subkey(SECRET_WRAP_LABEL)
    assert sm4_gcm_decrypt(key, row.wrap_nonce, row.wrapped_secret, new.id.encode()) == (
        new.secret.encode()
    )
    partner = registry.get(new.id)
    assert partner.secret == new.secret
    assert new.secret not in repr(partner)
    assert partner.grant.scopes == {"verify:qr", "verify:licence"}
    assert partner.grant.licence_types == {"11100000000013338W032"}
    assert (partner.rate_per_s, partner.single_use_tokens, partner.status) == (20, True, "active")
    assert "secret" not in partner.to_json()
    assert [p.id for p in registry.list()] == [new.id]
    # Two partners never share an id or a secret.
    other = registry.add("另一个", scopes=["status:read"])
    assert (other.id, other.secret) != (new.id, new.secret)


def test_a_wrapped_secret_moved_to_another_partner_does_not_open(
    registry: PartnerRegistry,
) -> None:
    a = registry.add("A", scopes=["verify:qr"])
    b = registry.add("B", scopes=["verify:qr"])
    row_a = registry.store.partner_get(a.id)
    assert row_a is not None
    registry.store.partner_set_secret(b.id, row_a.wrap_nonce, row_a.wrapped_secret, 1)
    with pytest.raises(InvalidTagError):
        registry.get(b.id)


def test_bad_input_is_refused(registry: PartnerRegistry) -> None:
    with pytest.raises(UnknownScopeError):
        registry.add("X", scopes=["verify:everything"])
    for kwargs in (
        {"rate_per_s": 0},
        {"rate_per_s": -1},
        {"licence_types": ["bad code!"]},
        {"issuers": ["x" * 65]},
        {"contact": "a\nb"},
    ):
        with pytest.raises(MalformedInputError):
            registry.add("X", scopes=["verify:qr"], **kwargs)
    with pytest.raises(MalformedInputError):
        registry.add("  ", scopes=["verify:qr"])
    assert registry.list() == []


def test_suspend_resume_rotate(registry: PartnerRegistry) -> None:
    new = registry.add("A", scopes=["verify:qr"])
    assert registry.lookup(new.id) is not None
    assert registry.suspend(new.id).status == "suspended"
    looked = registry.lookup(new.id)
    assert looked is not None
    assert not looked.active
    assert registry.resume(new.id).active
    rotated = registry.rotate_secret(new.id)
    assert rotated.id == new.id
    assert rotated.secret != new.secret
    looked = registry.lookup(new.id)
    assert looked is not None
    assert looked.secret == rotated.secret
    assert registry.get(new.id).secret_rotated_at >= registry.get(new.id).created_at
    for action in (registry.suspend, registry.resume, registry.rotate_secret):
        with pytest.raises(UnknownPartnerError):
            action("p_missing")


def test_lookup_is_cached_for_a_few_seconds(tmp_path: Path) -> None:
    store = SqliteStore.open(tmp_path / "s.db")
    keyring = KeyRing(store, MASTER)
    registry = PartnerRegistry(store, keyring, cache_seconds=0.2)
    other_process = PartnerRegistry(store, keyring)  # e.g. the CLI
    assert registry.peek("p_nobody") == (False, None)
    assert registry.lookup("p_nobody") is None
    assert registry.peek("p_nobody") == (True, None)  # unknown ids are cached too
    new = registry.add("A", scopes=["verify:qr"])
    assert registry.lookup(new.id) is not None
    other_process.suspend(new.id)
    cached = registry.lookup(new.id)
    assert cached is not None
    assert cached.active
    time.sleep(0.25)
    fresh = registry.lookup(new.id)
    assert fresh is not None
    assert not fresh.active


def test_rows_are_portable_dataclasses(registry: PartnerRegistry) -> None:
    new = registry.add("A", scopes=["verify:qr"], issuers=["430100", "11430000006122244L"])
    row = registry.store.partner_get(new.id)
    assert isinstance(row, PartnerRow)
    assert row.issuers == ("11430000006122244L", "430100")  # sorted, deduplicated


def test_holder_scope_is_reserved_to_holder_credentials(registry: PartnerRegistry) -> None:
    with pytest.raises(HolderScopeReservedError) as info:
        registry.add("某App", scopes="verify:qr,holder")
    assert info.value.code == "holder_scope_reserved"
    assert registry.list() == []


def test_a_holder_credential_is_bound_to_one_holder(registry: PartnerRegistry) -> None:
    key = bytes(range(16, 32))
    new = registry.add_holder(key)
    assert re.fullmatch(r"h_[0-9a-f]{16}", new.id)
    holder = registry.get(new.id)
    assert (holder.kind, holder.holder_key, holder.secret) == ("holder", key, new.secret)
    assert holder.grant.scopes == frozenset({"holder"})
    assert holder.rate_per_s == HOLDER_RATE_PER_S
    assert holder.to_json()["kind"] == "holder"
    assert key.hex() not in repr(holder)
    assert "holder_key" not in holder.to_json()
    partner = registry.get(registry.add("某银行", scopes="verify:qr").id)
    assert (partner.kind, partner.holder_key) == ("partner", None)
    with pytest.raises(ValueError, match="16 bytes"):
        registry.add_holder(b"short")
