"""Masking of classified fields (security.md §Sensitive data).

Classified: the holder's resident ID number, the holder's name, phone
numbers and addresses (and any face field a licence type marks sensitive).
Responses carry the masked form unless the caller may see the full value.

Rules (pure functions, no I/O):

- resident ID number (公民身份号码), 18 or 15 characters: the first 4 and the
  last 4 kept, the rest ``*`` — ``4101**********1234``; any other length is
  masked whole except its first and last 2 characters, so a malformed value
  never leaks more than a well-formed one;
- person's name: the surname kept, each other character ``*`` — ``张*``,
  ``欧阳**``; a compound surname (复姓) is kept only when the name is longer
  than it (a two-character 欧阳 is 欧 + 阳); names with an interpunct
  (``阿依古丽·买买提``) or Latin letters keep their first character and the
  separators;
- phone: the first 3 and the last 4 digits kept, other digits ``*``,
  separators and a ``+`` country code kept — ``138****1234``,
  ``057*-****6666``, ``+86 138 **** 1234``;
- address: the first 6 characters kept and a fixed ``****`` (an address's
  length says too much);
- anything else marked sensitive: its first character and a fixed ``***``.

Masking is idempotent-safe: masking an already masked value reveals nothing new.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from typing import Any, Final, Literal

__all__ = [
    "COMPOUND_SURNAMES",
    "SensitiveKind",
    "mask_address",
    "mask_body",
    "mask_face",
    "mask_holder",
    "mask_id_number",
    "mask_name",
    "mask_other",
    "mask_phone",
    "mask_value",
]

SensitiveKind = Literal["id_number", "name", "phone", "address", "other"]

#: Compound surnames (复姓) of the classical surname lists.
COMPOUND_SURNAMES: Final = frozenset(
    """
    欧阳 司马 上官 诸葛 东方 皇甫 尉迟 公孙 慕容 长孙 宇文 司徒 令狐 夏侯 轩辕
    端木 独孤 南宫 西门 百里 呼延 万俟 澹台 公冶 宗政 濮阳 淳于 单于 太叔 申屠
    钟离 闾丘 东郭 公羊 赫连 拓跋 司空 第五 羊舌 微生 梁丘 左丘 东门 公西 子车
    谷梁 乐正 壤驷 漆雕 巫马 公良 颛孙 亓官 司寇 段干 鲜于 闻人 哥舒 仲孙 叔孙
    季孙 东野 即墨 夹谷 宰父 公户 公玉 公仪 公乘 钟吾 叱干 乞伏 呼衍 贺兰
    """.split()  # noqa: SIM905 - a table reads better as text
)

#: Holder identity types (formats.md): 111 resident ID number, 001 USCC.
_RESIDENT_ID: Final = "111"
_SEPARATORS: Final = frozenset("·•・. -'")


def mask_id_number(value: str) -> str:
    """``4101**********1234`` for 18 (or 15) characters."""
    if len(value) in (15, 18):
        return value[:4] + "*" * (len(value) - 8) + value[-4:]
    if len(value) <= 4:
        return "*" * len(value)
    return value[:2] + "*" * (len(value) - 4) + value[-2:]


def mask_name(value: str) -> str:
    """Surname kept, every other letter ``*``; separators kept."""
    if not value:
        return value
    if any(ch in _SEPARATORS for ch in value) or value[0].isascii():
        return value[0] + "".join(ch if ch in _SEPARATORS else "*" for ch in value[1:])
    surname = value[:2] if len(value) > 2 and value[:2] in COMPOUND_SURNAMES else value[:1]
    return surname + "*" * (len(value) - len(surname))


def mask_phone(value: str) -> str:
    """The first 3 and last 4 digits kept (after a ``+`` country code,
    which is kept); other digits ``*``."""
    start = 0
    if value.startswith("+"):
        start = 1
        while start < len(value) and value[start].isdigit():
            start += 1
        if start == len(value):  # "+" and digits only: no country code to tell apart
            start = 1
    digits = [i for i, ch in enumerate(value) if ch.isdigit() and i >= start]
    if len(digits) <= 7:
        return "".join("*" if i >= start and ch.isdigit() else ch for i, ch in enumerate(value))
    hidden = set(digits[3:-4])
    return "".join("*" if i in hidden else ch for i, ch in enumerate(value))


def mask_address(value: str) -> str:
    """The first 6 characters and a fixed ``****``."""
    return value[:6] + "****" if len(value) > 6 else "****"


def mask_other(value: str) -> str:
    return value[:1] + "***" if value else value


def mask_value(kind: SensitiveKind, value: str) -> str:
    if kind == "id_number":
        return mask_id_number(value)
    if kind == "name":
        return mask_name(value)
    if kind == "phone":
        return mask_phone(value)
    if kind == "address":
        return mask_address(value)
    return mask_other(value)


def mask_holder(holder: Mapping[str, str]) -> dict[str, str]:
    """The licence body's ``holder`` with its classified parts masked.

    A person's name and resident ID number are classified; an
    organisation's name and unified social credit code are public."""
    out = dict(holder)
    if holder.get("id_type") == _RESIDENT_ID:
        if "name" in out:
            out["name"] = mask_name(out["name"])
        if "id" in out:
            out["id"] = mask_id_number(out["id"])
    return out


def mask_face(face: Mapping[str, str], sensitive: Mapping[str, SensitiveKind]) -> dict[str, str]:
    """Face fields with those the licence type marks sensitive masked."""
    return {
        name: mask_value(sensitive[name], value) if name in sensitive else value
        for name, value in face.items()
    }


def _face_kind(name: str) -> SensitiveKind:
    """How to mask a sensitive face field, from its name (the type's schema
    marks it sensitive; its name says what it holds)."""
    lowered = name.lower()
    for kind, hints in _FACE_HINTS:
        if any(hint in lowered for hint in hints):
            return kind
    return "other"


_FACE_HINTS: Final[tuple[tuple[SensitiveKind, tuple[str, ...]], ...]] = (
    ("phone", ("phone", "mobile", "tel", "电话", "手机")),
    ("address", ("address", "addr", "住址", "地址", "住所")),
    ("id_number", ("id_number", "id_no", "身份证", "证件号")),
    ("name", ("name", "姓名", "representative", "代表人", "负责人")),
)


def mask_body(body: Mapping[str, Any], sensitive: Iterable[str]) -> dict[str, Any]:
    """A copy of a licence body with its classified parts masked.

    ``sensitive`` lists the licence type's classified paths: ``holder.name``,
    ``holder.id``, ``face.<field>``. A person's name and ID are masked; an
    organisation's (``id_type`` 001) are public. Where the licence number is
    the holder's ID number (驾驶证), it is masked the same way."""
    out: dict[str, Any] = copy.deepcopy(dict(body))
    paths = set(sensitive)
    holder = out.get("holder")
    if isinstance(holder, dict) and holder.get("id_type") == _RESIDENT_ID:
        original_id = holder.get("id")
        if "holder.name" in paths and isinstance(holder.get("name"), str):
            holder["name"] = mask_name(holder["name"])
        if "holder.id" in paths and isinstance(original_id, str):
            holder["id"] = mask_id_number(original_id)
            if out.get("number") == original_id:
                out["number"] = holder["id"]
    face = out.get("face")
    if isinstance(face, dict):
        for path in paths:
            field = path.removeprefix("face.")
            if path.startswith("face.") and isinstance(face.get(field), str):
                face[field] = mask_value(_face_kind(field), face[field])
    return out
