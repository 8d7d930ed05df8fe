"""Masking of classified fields (security.md §Sensitive data), pure.

A licence type lists its classified fields (``holder.name``, ``holder.id``,
``face.<name>``); :func:`mask_body` returns a copy of a body with those
masked the way responses show them by default:

- resident ID / other ID numbers: first 4 and last 4 kept, ``4101**********1234``;
- person names: the surname kept (compound surnames too), ``张*``, ``欧阳**``;
- phone numbers: ``138****1234`` (11-digit mobile), else all but the last 4 digits;
- other face fields (addresses …): the first 6 characters, then ``****``.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping, Sequence
from typing import Any, Final

__all__ = ["COMPOUND_SURNAMES", "mask_body", "mask_id", "mask_name", "mask_phone", "mask_text"]

#: Two-character surnames (复姓) kept whole when masking a name.
COMPOUND_SURNAMES: Final = frozenset(
    [
        "欧阳",
        "司马",
        "上官",
        "诸葛",
        "东方",
        "皇甫",
        "尉迟",
        "公孙",
        "慕容",
        "长孙",
        "令狐",
        "宇文",
        "司徒",
        "夏侯",
        "轩辕",
        "端木",
        "独孤",
        "南宫",
        "西门",
        "百里",
        "呼延",
        "钟离",
        "澹台",
        "闻人",
        "申屠",
        "太史",
        "赫连",
        "万俟",
        "司空",
        "濮阳",
        "淳于",
        "单于",
        "公羊",
        "仲孙",
        "羊舌",
        "微生",
        "梁丘",
        "左丘",
        "东郭",
        "第五",
    ]
)
_PHONE: Final = re.compile(r"1[0-9]{10}")


def mask_id(value: str) -> str:
    if len(value) <= 8:
        return "*" * len(value)
    return value[:4] + "*" * (len(value) - 8) + value[-4:]


def mask_name(value: str) -> str:
    keep = 2 if value[:2] in COMPOUND_SURNAMES and len(value) > 2 else 1
    return value[:keep] + "*" * max(len(value) - keep, 1)


def mask_phone(value: str) -> str:
    if _PHONE.fullmatch(value):
        return value[:3] + "****" + value[-4:]
    return "*" * max(len(value) - 4, 4) + value[-4:] if len(value) > 4 else "****"


def mask_text(value: str) -> str:
    return value[:6] + "****" if len(value) > 6 else "****"


def mask_body(body: Mapping[str, Any], sensitive: Sequence[str]) -> dict[str, Any]:
    """A copy of ``body`` with the ``sensitive`` paths masked; only a
    person's name is treated as a name (an organisation's is public)."""
    out: dict[str, Any] = copy.deepcopy(dict(body))
    holder = out.get("holder")
    face = out.get("face")
    for path in sensitive:
        if path == "holder.id" and isinstance(holder, dict) and isinstance(holder.get("id"), str):
            holder["id"] = mask_id(holder["id"])
        elif path == "holder.name" and isinstance(holder, dict):
            if isinstance(holder.get("name"), str) and holder.get("id_type") == "111":
                holder["name"] = mask_name(holder["name"])
        elif path.startswith("face.") and isinstance(face, dict):
            name = path[5:]
            if isinstance(face.get(name), str):
                value = face[name]
                face[name] = mask_phone(value) if "phone" in name else mask_text(value)
    # The licence number of some types is the holder's ID number.
    if (
        "holder.id" in sensitive
        and isinstance(holder, dict)
        and out.get("number") == body.get("holder", {}).get("id")
    ):
        out["number"] = holder["id"]
    return out
