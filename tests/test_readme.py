"""The README's worked examples run and agree with the code."""

from __future__ import annotations

import os
import re
import subprocess

from pyservice.auth.scheme import authorization_header
from tests.conftest import REPO_ROOT


def _tested_block(name: str) -> str:
    text = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    match = re.search(rf"<!-- tested: {name} -->\n```sh\n(.*?)```", text, re.DOTALL)
    assert match is not None, f"README has no tested block {name!r}"
    return match.group(1)


def test_partner_signing_snippet_matches_the_service() -> None:
    script = _tested_block("partner-signing")
    env = {**os.environ, "TS": "1764300000", "NONCE": "0123456789abcdef01234567"}
    out = subprocess.run(  # noqa: S603 - the README's own snippet, run as documented
        ["/bin/bash", "-euo", "pipefail", "-c", script],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    ).stdout.strip()
    expected = authorization_header(
        "p_demo",
        "sk_demo_secret",
        method="POST",
        target="/v1/verify/qr",
        ts=1764300000,
        nonce="0123456789abcdef01234567",
        body=b'{"token":"AQ..."}',
    )
    assert out == expected
