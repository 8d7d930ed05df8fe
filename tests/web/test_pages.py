"""The scan page, its error page and the holder page, as HTML."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from pyservice.web.pages import reason_for, render_bad_code, render_holder, render_scan
from tests.web_testkit import LICENCE, result

NOW = datetime(2026, 11, 27, 10, 0, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("sample", "verdict_zh", "reason_zh"),
    [
        (result("VALID", "VALID"), "有效", None),
        (result("INVALID", "REVOKED", failed="status"), "无效", "已吊销"),
        (result("INVALID", "SUSPENDED", failed="status"), "无效", "已暂扣"),
        (result("INVALID", "CANCELLED", failed="status"), "无效", "已注销"),
        (result("INVALID", "EXPIRED", failed="validity_period"), "无效", "已过期"),
        (result("INVALID", "VALID", failed="token_signature"), "无效", "签名无效"),
        (result("INVALID", "VALID", failed="token_lifetime"), "无效", "二维码已过期"),
        (result("UNDETERMINED", "UNDETERMINED", undetermined="status"), "无法确定", "暂时无法核验"),
    ],
)
def test_verdict_and_reason(
    sample: dict[str, object], verdict_zh: str, reason_zh: str | None
) -> None:
    page = render_scan(sample, checked_at=NOW)
    assert f'<div class="zh">{verdict_zh}</div>' in page
    assert f'data-result="{sample["result"]}"' in page
    reason = reason_for(sample)
    if reason_zh is None:
        assert reason is None
        assert 'id="reason"' not in page
    else:
        assert reason is not None
        assert reason.zh.startswith(reason_zh)
        assert reason_zh in page


def test_a_bad_signature_is_named_before_the_status() -> None:
    sample = result("INVALID", "REVOKED", failed="token_signature")
    reason = reason_for(sample)
    assert reason is not None
    assert reason.zh == "签名无效"


def test_page_shows_the_masked_summary_and_times_in_beijing() -> None:
    page = render_scan(result("VALID", "VALID"), checked_at=NOW)
    for text in ("营业执照", "欧阳**", "4101**********1234", "杭州市市场监督管理局", "长期"):
        assert text in page
    assert "2026-11-27 18:00:01" in page  # 10:00:01 UTC
    assert "2026-11-27 18:00:00" in page  # status as of
    assert '<meta name="viewport"' in page


def test_licence_fields_are_escaped() -> None:
    hostile = {**LICENCE, "type_name": "<script>alert(1)</script>"}
    page = render_scan(result("VALID", "VALID", licence=hostile), checked_at=NOW)
    assert "<script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_bad_code_page_names_the_code_only() -> None:
    page = render_bad_code("malformed_token")
    assert "无效二维码" in page
    assert "<code>malformed_token</code>" in page


def test_holder_page_has_an_inline_qr_and_refreshes_before_expiry() -> None:
    url = "https://verify.example/v/AQ" + "A" * 137
    page = render_holder(licence=LICENCE, url=url, expires_at=NOW, refresh_after=150)
    assert '<meta http-equiv="refresh" content="150">' in page
    assert "<svg" in page
    assert 'data-url="' + url + '"' in page
