"""The demo data set of ``sidian init --demo``: a few issuers, licence types
(营业执照, 食品经营许可证, 居民身份证, 驾驶证 whose holder is identified by the
居民身份证 number), a few hundred licences, some suspended, revoked or
cancelled, a re-issue and an annotation.

Everything is fictitious but valid: codes carry correct GB 32100 /
GB 11643 check characters, identifiers correct MOD 37,36 ones. The type
codes are demo assignments, not official catalogue codes.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from typing import Any, Final

from pyservice.registry.service import (
    PreparedLicence,
    Registry,
    effective_status,
    today_in_china,
)
from pyservice.registry.validate import resident_id_check_char, uscc_check_char

__all__ = ["DEMO_ISSUERS", "DEMO_TYPES", "bulk_rows", "demo_holder", "seed_demo"]

_MARKET = "11100000000013338W"  # defining authority of the business types (demo)
_POLICE = "11100000000013661B"  # defining authority of the identity types (demo)

DEMO_ISSUERS: Final = (
    ("11430000006122244L", "湖南省市场监督管理局", "湖南省"),
    ("11220000013544541J", "吉林省市场监督管理厅", "吉林省"),
    ("430100", "长沙市市场监督管理局", "湖南省长沙市"),
    ("11430000MB1708026" + uscc_check_char("11430000MB1708026"), "湖南省公安厅", "湖南省"),
)

DEMO_TYPES: Final[tuple[dict[str, Any], ...]] = (
    {
        "code": _MARKET + "032",
        "name": "营业执照",
        "authority": "国家市场监督管理总局",
        "schema": {
            "holder_id_types": ["001"],
            "fields": [
                {"name": "legal_representative", "label": "法定代表人", "max_length": 64},
                {"name": "registered_capital", "label": "注册资本", "pattern": "[0-9]+万元"},
                {"name": "business_scope", "label": "经营范围", "max_length": 1024},
                {"name": "address", "label": "住所", "max_length": 256},
            ],
        },
        "sensitive": ["face.address"],
    },
    {
        "code": _MARKET + "011",
        "name": "食品经营许可证",
        "authority": "国家市场监督管理总局",
        "schema": {
            "holder_id_types": ["001"],
            "fields": [
                {"name": "operator_type", "label": "主体业态"},
                {"name": "business_items", "label": "经营项目", "max_length": 512},
                {"name": "premises", "label": "经营场所", "max_length": 256},
            ],
        },
        "sensitive": ["face.premises"],
    },
    {
        "code": _POLICE + "001",
        "name": "居民身份证",
        "authority": "公安部",
        "schema": {
            "holder_id_types": ["111"],
            "number_is_holder_id": True,
            "fields": [
                {"name": "sex", "label": "性别", "pattern": "男|女"},
                {"name": "ethnicity", "label": "民族"},
                {"name": "address", "label": "住址", "max_length": 256},
            ],
        },
        "sensitive": ["holder.name", "holder.id", "face.address"],
    },
    {
        "code": _POLICE + "006",
        "name": "驾驶证",
        "authority": "公安部",
        "schema": {
            "holder_id_types": ["111"],
            "number_is_holder_id": True,
            "fields": [
                {"name": "vehicle_class", "label": "准驾车型", "pattern": "[ABCD][1-3]?"},
                {"name": "first_issued_on", "label": "初次领证日期", "pattern": "[0-9-]{10}"},
            ],
        },
        "sensitive": ["holder.name", "holder.id"],
    },
)

_GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英"
_FIRMS = ("星辰", "华湘", "岳麓", "潇湘", "长白", "松花", "橘洲", "麓谷", "雪峰", "洞庭")
_TRADES = ("科技", "餐饮", "贸易", "文化传媒", "农业", "物流", "建筑工程", "医药")


def _person(rng: random.Random) -> tuple[str, str, str]:
    surname = rng.choice(("王", "李", "张", "刘", "陈", "杨", "欧阳", "赵"))
    name = surname + "".join(rng.choice(_GIVEN) for _ in range(rng.randint(1, 2)))
    born = f"{rng.randint(1955, 2004)}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}"
    first17 = rng.choice(("430102", "430104", "220102", "430602")) + born
    first17 += f"{rng.randint(0, 999):03d}"
    sex = "男" if int(first17[16]) % 2 else "女"
    return name, first17 + resident_id_check_char(first17), sex


def _firm(rng: random.Random, i: int) -> tuple[str, str]:
    name = f"{rng.choice(('长沙', '湘潭', '长春', '吉林'))}市{rng.choice(_FIRMS)}"
    name += f"{rng.choice(_TRADES)}有限公司"
    first17 = f"91{rng.choice(('430100', '430300', '220100'))}MA{i:07d}"
    return name, first17 + uscc_check_char(first17)


def _body(rng: random.Random, i: int, this_year: int, serial: str) -> dict[str, Any]:
    """The ``i``-th demo body (type by ``i % 10``) in import form (serial, no id)."""
    year = rng.randint(2015, this_year - 1)
    issued = f"{year}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
    kind = i % 10
    business, food, identity, driving = DEMO_TYPES
    if kind < 5:
        firm, code = _firm(rng, i)
        issuer = DEMO_ISSUERS[0] if i % 2 else DEMO_ISSUERS[1]
        body: dict[str, Any] = {
            "type_code": business["code"],
            "number": code,
            "holder": {"name": firm, "id_type": "001", "id": code},
            "valid_until": None if i % 3 else f"{year + 20}{issued[4:]}",
            "face": {
                "legal_representative": _person(rng)[0],
                "registered_capital": f"{rng.randint(1, 500) * 10}万元",
                "business_scope": "一般项目 技术服务 技术开发",
                "address": f"{issuer[2]}某区某路{rng.randint(1, 999)}号",
            },
        }
    elif kind < 7:
        firm, code = _firm(rng, i)
        issuer = DEMO_ISSUERS[2]
        body = {
            "type_code": food["code"],
            "number": f"JY{rng.randint(10**13, 10**14 - 1)}",
            "holder": {"name": firm, "id_type": "001", "id": code},
            "valid_until": f"{year + 5}{issued[4:]}",
            "face": {
                "operator_type": rng.choice(("餐饮服务经营者", "食品销售经营者")),
                "business_items": "热食类食品制售",
                "premises": f"长沙市某区某街{rng.randint(1, 300)}号",
            },
        }
    else:
        name, number, sex = _person(rng)
        issuer = DEMO_ISSUERS[3]
        spec = identity if kind < 9 else driving
        face = (
            {"sex": sex, "ethnicity": "汉", "address": "湖南省长沙市某区某路"}
            if spec is identity
            else {"vehicle_class": rng.choice(("C1", "C2", "B2", "A1")), "first_issued_on": issued}
        )
        body = {
            "type_code": spec["code"],
            "number": number,
            "holder": {"name": name, "id_type": "111", "id": number},
            "valid_until": f"{year + rng.choice((6, 10, 20))}{issued[4:]}",
            "face": face,
        }
    body.update(
        {
            "serial": serial,
            "issuer": {"code": issuer[0], "name": issuer[1]},
            "issued_on": issued,
            "valid_from": issued,
        }
    )
    return body


def bulk_rows(count: int, *, seed: int = 7, prefix: str = "B") -> Iterator[dict[str, Any]]:
    """``count`` import rows over the demo issuers and types (serials
    ``<prefix><9 digits>``, distinct from the demo set's), generated lazily."""
    rng = random.Random(seed)  # noqa: S311 - demo data, not secrets
    this_year = today_in_china().year
    for i in range(count):
        yield _body(rng, i, this_year, f"{prefix}{i:09d}")


def seed_demo(registry: Registry, *, count: int = 300, seed: int = 36) -> dict[str, int]:
    """Register the demo issuers and types and issue ``count`` licences;
    suspend, revoke and cancel a few, re-issue one and annotate one.
    Counts of what was done."""
    rng = random.Random(seed)  # noqa: S311 - demo data, not secrets
    for code, name, region in DEMO_ISSUERS:
        registry.add_issuer(code, name, region)
    for spec in DEMO_TYPES:
        registry.add_type(**spec)
    this_year = today_in_china().year
    prepared: list[PreparedLicence] = [
        registry.prepare(_body(rng, i, this_year, f"{2015 + i % 10}{i:07d}")) for i in range(count)
    ]
    registry.commit_batch(prepared)
    ids = [p.id for p in prepared]
    changes = {
        "SUSPENDED": ids[3:count:29],
        "REVOKED": ids[5:count:41],
        "CANCELLED": ids[7:count:67],
    }
    for status, targets in changes.items():
        for licence_id in targets:
            registry.set_status(licence_id, status, reason=f"演示 {status}", actor="demo")
    untouched = [i for i in ids if all(i not in t for t in changes.values())]
    registry.reissue(untouched[0], {}, actor="demo", reason="演示 更正后换发")
    registry.annotate(
        untouched[1],
        annotator_code=DEMO_ISSUERS[0][0],
        content="演示加注 经营期限延长",
        reason="演示",
        actor="demo",
    )
    return {
        "issuers": len(DEMO_ISSUERS),
        "types": len(DEMO_TYPES),
        "licences": count + 1,
        **{status.lower(): len(targets) for status, targets in changes.items()},
    }


def demo_holder(registry: Registry) -> tuple[str, str] | None:
    """``(id_type, id number)`` of the first person in the registry holding a
    licence in force today — the demo holder ``sidian init --demo`` issues a
    holder credential for (``None`` if there is none)."""
    store = registry.store
    today = today_in_china()
    after = ""
    while True:
        ids = store.licences_page(after, 500)
        if not ids:
            return None
        for licence_id in ids:
            row = store.licence_get(licence_id)
            if row is None or effective_status(row.status, row.valid_until, today) != "VALID":
                continue
            holder = json.loads(registry.licence(licence_id).body)["holder"]
            if holder["id_type"] == "111":
                return str(holder["id_type"]), str(holder["id"])
        after = ids[-1]
