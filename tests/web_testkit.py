"""Sample verification results (api.md JSON form) for page tests."""

from __future__ import annotations

from typing import Any

LICENCE: dict[str, Any] = {
    "id": "1.2.156.3005.2.11100000000013338W032.11330100002493816X.0001.001.X",
    "type_name": "营业执照",
    "holder": {"name": "欧阳**", "id_type": "111", "id": "4101**********1234"},
    "issuer": {"name": "杭州市市场监督管理局", "code": "11330100002493816X"},
    "valid_from": "2026-01-01",
    "valid_until": None,
}


def result(
    verdict: str,
    status: str,
    *,
    failed: str | None = None,
    undetermined: str | None = None,
    licence: dict[str, Any] | None = None,
) -> dict[str, Any]:
    checks: list[dict[str, Any]] = []
    for name in ("token_signature", "token_lifetime", "status", "validity_period"):
        ok: bool | None = True
        if name == failed:
            ok = False
        elif name == undetermined:
            ok = None
        checks.append({"name": name, "ok": ok})
    return {
        "result": verdict,
        "status": status,
        "status_as_of": "2026-11-27T10:00:00.123Z",
        "checks": checks,
        "warnings": [],
        "licence": LICENCE if licence is None else licence,
        "receipt": {"id": "r-0001", "at": "2026-11-27T10:00:00.200Z"},
    }
