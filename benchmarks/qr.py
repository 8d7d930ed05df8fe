"""QR token hot path: our decode/verify against same-run baselines.

Run: ``.venv/bin/python benchmarks/qr.py [--seconds S]``. Measured in this
run on this machine (performance.md), single thread, wall clock:

- ``decode``: strict text → fields (Rust), no signature;
- ``verify``: decode + time window + SM2 verify with the cached platform-key
  verifier (what a first scan costs);
- ``repeat``: the verified-token cache hit (what a repeat scan costs);
- baselines: the same token checked the naive way (stdlib base64 + gmssl
  SM2 verify, the "naive peer" of performance.md), and a bare
  ``sm2_verify`` with a fresh key (no cached tables).

Prints ops/s, µs/op and the ratios; writes benchmarks/results/qr.json.
"""

from __future__ import annotations

import argparse
import base64
import json
import platform
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from gmssl import sm2 as gmssl_sm2  # type: ignore[import-untyped]

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "benchmarks" / "results" / "qr.json"
NOW = 1_764_300_000

try:
    from pyservice import crypto, qr
    from pyservice.tokencache import VerifiedTokenCache
except ImportError:
    sys.path.insert(0, str(REPO))
    from pyservice import crypto, qr
    from pyservice.tokencache import VerifiedTokenCache


def rate(fn: Callable[[], object], seconds: float) -> float:
    """Best of three runs of ``seconds / 3`` each: operations per second."""
    best = 0.0
    for _ in range(3):
        n = 0
        start = time.perf_counter()
        deadline = start + seconds / 3
        while True:
            for _ in range(50):
                fn()
            n += 50
            now = time.perf_counter()
            if now >= deadline:
                break
        best = max(best, n / (now - start))
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=3.0, help="per measurement")
    args = parser.parse_args()
    key = crypto.PrivateKey.generate()
    pub = key.public_key()
    verifier = crypto.Sm2Verifier(pub)
    text = qr.make_token(key, "粤A-2026-000123", now=NOW)
    cache = VerifiedTokenCache()
    cache.verify(verifier, text, now=NOW)
    raw = base64.urlsafe_b64decode(text + "=")
    g: Any = gmssl_sm2.CryptSM2(private_key="00", public_key="")
    g.public_key = pub.to_bytes()[1:].hex()
    pub_bytes = pub.to_bytes()

    def naive() -> None:
        data = base64.urlsafe_b64decode(text + "=")
        if not g.verify_with_sm3(data[40:].hex(), data[:40]):
            raise AssertionError("naive verify failed")

    def fresh_key_verify() -> None:
        crypto.sm2_verify(pub_bytes, raw[:40], raw[40:])

    figures = {
        "decode": rate(lambda: qr.decode_token(text), args.seconds),
        "verify": rate(lambda: qr.verify_token(verifier, text, now=NOW), args.seconds),
        "repeat": rate(lambda: cache.verify(verifier, text, now=NOW), args.seconds),
        "fresh_key_sm2_verify": rate(fresh_key_verify, args.seconds),
        "naive_gmssl": rate(naive, max(1.0, args.seconds / 3)),
    }
    ratios = {
        "verify / naive_gmssl": figures["verify"] / figures["naive_gmssl"],
        "verify / fresh_key_sm2_verify": figures["verify"] / figures["fresh_key_sm2_verify"],
        "repeat / verify": figures["repeat"] / figures["verify"],
    }
    print(f"{'operation':<24}{'ops/s':>14}{'µs/op':>10}")
    for name, ops in figures.items():
        print(f"{name:<24}{ops:>14,.0f}{1e6 / ops:>10.2f}")
    print()
    for name, value in ratios.items():
        print(f"{name:<32}{value:>8.1f}x")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(
        json.dumps(
            {
                "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                "machine": platform.platform(),
                "python": platform.python_version(),
                "ops_per_s": figures,
                "ratios": ratios,
            },
            indent=1,
        )
        + "\n"
    )


if __name__ == "__main__":
    main()
