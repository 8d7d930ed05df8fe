"""Rendering of the scan page (``GET /v/{token}``), its error page and the
holder's QR page. Pure: takes a result in its api.md JSON form, returns HTML.

Templates are Jinja2 with autoescaping on; nothing the caller sent is echoed
except through escaping, and the licence summary is the masked one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Final

import jinja2
import segno

__all__ = ["Reason", "VerdictText", "reason_for", "render_bad_code", "render_holder", "render_scan"]

_ENV: Final = jinja2.Environment(
    loader=jinja2.PackageLoader("pyservice.web", "templates"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
)
_BEIJING: Final = timezone(timedelta(hours=8))


@dataclass(frozen=True, slots=True)
class VerdictText:
    key: str
    zh: str
    en: str


@dataclass(frozen=True, slots=True)
class Reason:
    zh: str
    en: str


VERDICTS: Final = {
    "VALID": VerdictText("VALID", "有效", "VALID"),
    "INVALID": VerdictText("INVALID", "无效", "INVALID"),
    "UNDETERMINED": VerdictText("UNDETERMINED", "无法确定", "UNDETERMINED"),
}

_STATUS_REASONS: Final = {
    "REVOKED": Reason("已吊销", "Revoked"),
    "SUSPENDED": Reason("已暂扣", "Suspended"),
    "CANCELLED": Reason("已注销", "Cancelled"),
    "EXPIRED": Reason("已过期", "Expired"),
}
_CHECK_REASONS: Final = {
    "token_format": Reason("二维码无效", "Invalid QR code"),
    "token_signature": Reason("签名无效", "Invalid signature"),
    "token_lifetime": Reason("二维码已过期", "QR code expired"),
    "licence_ref": Reason("证照不存在", "Unknown licence"),
    "signature": Reason("签名无效", "Invalid signature"),
    "issuer_key": Reason("颁发机构密钥无效", "Issuer key not valid"),
    "ledger": Reason("未在账本登记", "Not on the ledger"),
    "validity_period": Reason("不在有效期内", "Outside its validity period"),
}
_UNDETERMINED: Final = Reason(
    "暂时无法核验，请稍后重试",  # noqa: RUF001 - Chinese punctuation
    "Could not be checked now; try again",
)


def reason_for(result: Mapping[str, Any]) -> Reason | None:
    """Why the verdict is not VALID, for people: the first failed check
    (a bad signature before a status), else the status, else why undetermined."""
    verdict = result["result"]
    if verdict == "VALID":
        return None
    checks = result.get("checks") or []
    if verdict == "INVALID":
        for check in checks:
            if check.get("ok") is False:
                if check["name"] == "status":
                    break
                if check["name"] == "validity_period" and result.get("status") == "EXPIRED":
                    break
                return _CHECK_REASONS.get(check["name"], Reason("核验未通过", "Check failed"))
        status_reason = _STATUS_REASONS.get(result.get("status", ""))
        return status_reason or Reason("核验未通过", "Check failed")
    return _UNDETERMINED


def _parse_iso(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def render_scan(result: Mapping[str, Any], *, checked_at: datetime) -> str:
    verdict = VERDICTS[result["result"]]
    as_of = result.get("status_as_of")
    return _ENV.get_template("scan.html").render(
        verdict=verdict,
        reason=reason_for(result),
        licence=result.get("licence"),
        receipt=result.get("receipt"),
        checked_at_local=checked_at.astimezone(_BEIJING).strftime("%Y-%m-%d %H:%M:%S"),
        status_as_of=(
            None
            if as_of is None
            else _parse_iso(as_of).astimezone(_BEIJING).strftime("%Y-%m-%d %H:%M:%S")
        ),
    )


def render_bad_code(code: str) -> str:
    return _ENV.get_template("bad_code.html").render(code=code)


def render_holder(
    *, licence: Mapping[str, Any], url: str, expires_at: datetime, refresh_after: int
) -> str:
    """The holder's page: the QR of ``url`` as inline SVG, reloading itself
    ``refresh_after`` seconds from now (before the token expires)."""
    svg = segno.make(url, error="m").svg_inline(border=2, omitsize=True)
    return _ENV.get_template("holder.html").render(
        licence=licence,
        qr_svg=svg,
        url=url,
        refresh_after=max(1, refresh_after),
        expires_local=expires_at.astimezone(_BEIJING).strftime("%H:%M:%S"),
    )
