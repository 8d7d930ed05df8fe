"""Times as OFD files write them and as reports print them."""

from __future__ import annotations

import re
from datetime import UTC, datetime

__all__ = ["format_time", "parse_ofd_time"]

_OFD_TIME = re.compile(
    r"(\d{4})-?(\d{2})-?(\d{2})[T ]?(\d{2}):?(\d{2}):?(\d{2})(?:[.,]\d+)?(Z|[+-]\d{2}:?\d{2})?"
)


def format_time(t: int) -> str:
    """Epoch seconds as ``YYYY-MM-DDTHH:MM:SSZ``."""
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_ofd_time(text: str | None) -> int | None:
    """``SignatureDateTime`` (``20200723130907.763Z``, ``2020-06-20 17:18:49``,
    …) as epoch seconds. No zone means China Standard Time (UTC+8): the
    producers that omit it write local time (keyword.ofd's Signature.xml
    says 17:18:49 where its SES timeInfo says 09:18:49Z). ``None`` if
    unreadable."""
    if not text:
        return None
    m = _OFD_TIME.fullmatch(text.strip())
    if m is None:
        return None
    y, mo, d, h, mi, s = (int(x) for x in m.groups()[:6])
    zone = m.group(7)
    try:
        t = datetime(y, mo, d, h, mi, s, tzinfo=UTC)
    except ValueError:
        return None
    offset = 8 * 3600 if zone is None else 0
    if zone and zone != "Z":
        sign = -1 if zone[0] == "-" else 1
        digits = zone[1:].replace(":", "")
        offset = sign * (int(digits[:2]) * 3600 + int(digits[2:]) * 60)
    return int(t.timestamp()) - offset
