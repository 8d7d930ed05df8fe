"""Finding secrets in log text (not a test module itself).

``leaks(text, secrets)`` names what ``text`` gives away: any of the exact
``secrets``, and anything shaped like one — a partner secret
(``sk_`` + 43 characters), a QR token (139 base64url characters), a
resident ID number (18 characters whose GB 11643 check character is right)
or a PEM private key. ``LogLeakCollector`` is a logging handler that scans
every record as it is emitted; ``tests/conftest.py`` attaches one for the
whole test run.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from typing import Final

__all__ = ["SHAPES", "TOOL_LOGGERS", "LogLeakCollector", "leaks"]

_ID_WEIGHTS: Final = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_SHAPE: Final = re.compile(r"(?<![0-9A-Za-z])[1-9][0-9]{16}[0-9X](?![0-9A-Za-z])")


def _id_numbers(text: str) -> list[str]:
    found = []
    for match in _ID_SHAPE.finditer(text):
        value = match.group()
        total = sum(int(c) * w for c, w in zip(value[:17], _ID_WEIGHTS, strict=True))
        if "10X98765432"[total % 11] == value[17]:
            found.append(value)
    return found


SHAPES: Final = {
    "partner secret": re.compile(r"sk_[A-Za-z0-9_-]{43}"),
    "qr token": re.compile(r"(?<![A-Za-z0-9_-])[A-Za-z0-9_-]{139}(?![A-Za-z0-9_-])"),
    "private key": re.compile(r"PRIVATE KEY"),
}


def leaks(text: str, secrets: Iterable[str] = ()) -> list[str]:
    found = [f"value {s[:6]}…" for s in secrets if s and s in text]
    found += [name for name, shape in SHAPES.items() if shape.search(text)]
    if _id_numbers(text):
        found.append("id number")
    return found


#: Loggers of test tools, not of the service: Selenium logs the URLs it
#: tells the browser to open (a scan page URL carries its token by design).
TOOL_LOGGERS: Final = ("selenium", "urllib3")


class LogLeakCollector(logging.Handler):
    """Scans each record (message and traceback) of the service's loggers
    (everything but :data:`TOOL_LOGGERS`) and keeps what leaked."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.where = "session"
        self.found: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.name.split(".", 1)[0] in TOOL_LOGGERS:
            return
        try:
            text = record.getMessage()
            if record.exc_info:
                text += "\n" + logging.Formatter().formatException(record.exc_info)
        except Exception:  # a broken record is not ours to fix here
            return
        for what in leaks(text):
            self.found.append(f"{self.where}: {record.name} logged a {what}")
