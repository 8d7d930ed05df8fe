"""Helpers for the registry tests: valid codes computed from the standards'
check rules, demo licence types and bodies, a store with an issuer."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from pyservice.ledger.keys import ledger_key
from pyservice.ledger.service import Ledger
from pyservice.registry.keys import KeyRing, TrustedKey, load_master_key
from pyservice.registry.service import Registry
from pyservice.registry.validate import make_licence_id
from pyservice.store import open_store

TODAY = dt.date(2026, 11, 28)

USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def uscc(first17: str) -> str:
    """``first17`` with its GB 32100 check character (independent of the
    module under test: the standard's weights written out again)."""
    total = sum(USCC_ALPHABET.index(c) * w for c, w in zip(first17, USCC_WEIGHTS, strict=True))
    return first17 + USCC_ALPHABET[(31 - total % 31) % 31]


def resident_id(first17: str) -> str:
    total = sum(int(c) * w for c, w in zip(first17, ID_WEIGHTS, strict=True))
    return first17 + "10X98765432"[total % 11]


# Real codes of public authorities (GB 32100 check characters verified).
AUTHORITY = "11100000000013338W"
ISSUER = "11430000006122244L"
HOLDER_ORG = uscc("91350100M00010043")
HOLDER_PERSON = "11010519491231002X"  # the example of GB 11643-1999

BUSINESS_TYPE: dict[str, Any] = {
    "code": AUTHORITY + "032",
    "name": "营业执照",
    "authority": "国家市场监督管理总局",
    "schema": {
        "holder_id_types": ["001"],
        "fields": [
            {"name": "legal_representative", "label": "法定代表人", "max_length": 64},
            {"name": "registered_capital", "label": "注册资本", "pattern": "[0-9]+(万元)?"},
            {"name": "address", "label": "住所", "required": False},
        ],
    },
    "sensitive": ["face.address"],
}

DRIVING_TYPE: dict[str, Any] = {
    "code": AUTHORITY + "011",
    "name": "驾驶证",
    "authority": "公安部",
    "schema": {
        "holder_id_types": ["111"],
        "number_is_holder_id": True,
        "fields": [{"name": "vehicle_class", "label": "准驾车型", "pattern": "[A-D][1-3]?"}],
    },
    "sensitive": ["holder.name", "holder.id"],
}


def business_body(serial: str = "000001", version: int = 1, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": make_licence_id(BUSINESS_TYPE["code"], ISSUER, serial, version),
        "type_code": BUSINESS_TYPE["code"],
        "type_name": "营业执照",
        "number": "N" + serial,
        "holder": {"name": "示例科技有限公司", "id_type": "001", "id": HOLDER_ORG},
        "issuer": {"name": "湖南省市场监督管理局", "code": ISSUER},
        "issued_on": "2024-03-01",
        "valid_from": "2024-03-01",
        "valid_until": "2044-02-29",
        "face": {"legal_representative": "张三", "registered_capital": "100万元"},
        "version": version,
    }
    body.update(overrides)
    return body


def driving_body(serial: str = "000001") -> dict[str, Any]:
    return {
        "id": make_licence_id(DRIVING_TYPE["code"], ISSUER, serial),
        "type_code": DRIVING_TYPE["code"],
        "type_name": "驾驶证",
        "number": HOLDER_PERSON,
        "holder": {"name": "李四", "id_type": "111", "id": HOLDER_PERSON},
        "issuer": {"name": "湖南省市场监督管理局", "code": ISSUER},
        "issued_on": "2020-05-01",
        "valid_from": "2020-05-01",
        "valid_until": None,
        "face": {"vehicle_class": "C1"},
        "version": 1,
    }


def data_dir(tmp_path: Path) -> Path:
    path = tmp_path / "data"
    path.mkdir(exist_ok=True)
    return path


def open_registry(data: Path, *, seed: bool = True) -> Registry:
    """A registry over a real SQLite store in ``data``; with ``seed``, the
    two test types and the test issuer (with its licence key) registered."""
    store = open_store(data)
    keyring = KeyRing(store, load_master_key(data, {}))
    ledger = Ledger(store, ledger_key(store, data))
    ledger.load()
    registry = Registry(store, keyring, ledger)
    if seed and store.issuer_get(ISSUER) is None:
        registry.add_issuer(ISSUER, "湖南省市场监督管理局", "湖南省")
        for spec in (BUSINESS_TYPE, DRIVING_TYPE):
            registry.add_type(**spec)
    return registry


def trust_of(registry: Registry) -> dict[str, TrustedKey]:
    return {k.kid: k for k in registry.keyring.trust_list()}
