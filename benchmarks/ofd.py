"""OFD verification benchmark: throughput of ``pyservice.seal.verify_ofd``
on the invoice samples, one core, with the cost of each stage.

Run with ``make bench-ofd`` (``.venv/bin/python benchmarks/ofd.py``).

Samples: the five invoice OFDs of ``shared/vectors/ses/ofd`` (Zhejiang and
Guizhou tax invoices, the Zhejiang platform invoice, the test-CA invoice and
its tampered twin), verified round-robin in one thread. Stages are timed in
separate loops over the same files, each on inputs prepared by the earlier
stages:

- unzip: open the zip (bounds checks) and read every entry verification
  needs (OFD.xml, Signatures.xml, Signature.xml, SignedValue.dat and every
  referenced file);
- XML: parse OFD.xml, Signatures.xml and Signature.xml;
- reference SM3: SM3 of every referenced file, compared with its CheckValue;
- SES parse: parse the signed value and its certificates (no verification);
- SM2 verifies: the native signed-value check (signer + seal maker, through
  the per-key verifier cache) minus the SES parse;
- certificate checks: the policy stage (chain search and validity at signing
  time and now for the signer and seal maker, subject summary);
- total: ``verify_ofd`` end to end (its excess over the stage sum is
  orchestration: dataclasses, path resolution, report building).

The same-run baseline is a fresh-key SM2 verification through
``pyservice.crypto`` (the cheapest complete signature check): each file is
also reported in those units. Target: ≥ 1,000 invoice files/s.
Writes benchmarks/results/ofd.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from pyservice.crypto import PrivateKey, sm2_verify, sm3
from pyservice.seal import read_signatures, verify_ofd
from pyservice.seal.native import check_signed_value, parse_signed_value
from pyservice.seal.ofdxml import parse_ofd_xml, parse_signature_xml, parse_signatures_xml
from pyservice.seal.package import OfdPackage, resolve
from pyservice.seal.policy import signature_report
from pyservice.seal.verify import SignatureFacts, verify_signature

RESULTS = Path(__file__).resolve().parent / "results" / "ofd.json"
INVOICES = [
    "1.ofd",
    "SignScaleError.ofd",
    "v4signed.ofd",
    "增值税电子专票5.ofd",
    "发票示例.ofd",
]
TARGET_FILES_PER_S = 1000.0

Timing = tuple[float, float]
Stages = dict[str, Timing]


@dataclass
class Inputs:
    needed: list[list[str]]
    xml_parts: list[tuple[bytes, bytes, list[bytes]]]
    ref_work: list[tuple[bytes, bytes | None]]
    values: list[tuple[bytes, bytes]]
    facts: list[SignatureFacts]


def vectors_dir() -> Path:
    override = os.environ.get("SIDIAN_VECTORS")
    if override:
        return Path(override)
    return Path(__file__).resolve().parent.parent.parent / "shared" / "vectors"


def per_item_us(fn: Callable[[], object], items: int, seconds: float) -> tuple[float, float]:
    """(wall µs, CPU µs) per item of ``fn``, which processes ``items`` items,
    repeated for at least ``seconds``."""
    fn()  # warm-up (also fills the verifier cache, as in steady state)
    rounds = 0
    wall0, cpu0 = time.perf_counter(), time.process_time()
    while True:
        fn()
        rounds += 1
        wall = time.perf_counter() - wall0
        if wall >= seconds:
            break
    cpu = time.process_time() - cpu0
    n = rounds * items
    return wall / n * 1e6, cpu / n * 1e6


def prepare(files: list[bytes]) -> Inputs:
    """What each stage consumes, from one untimed pass."""
    inp = Inputs(needed=[], xml_parts=[], ref_work=[], values=[], facts=[])
    for data in files:
        pkg = OfdPackage(data)
        parts = read_signatures(pkg)
        ofd_xml = pkg.read("OFD.xml")
        sigs_path = resolve("", parse_ofd_xml(ofd_xml)[0])
        paths = ["OFD.xml", sigs_path]
        for p in parts:
            paths += [p.signature_xml_path, p.signed_value_path]
            paths += [resolve("", r) for r in p.referenced if resolve("", r) in pkg]
            inp.ref_work += [
                (d, r.check_value)
                for r in p.parsed.references
                if (d := p.referenced.get(r.file_ref)) is not None
            ]
            inp.values.append((p.signed_value, p.signature_xml))
            inp.facts.append(verify_signature(p))
        inp.needed.append(paths)
        inp.xml_parts.append((ofd_xml, pkg.read(sigs_path), [p.signature_xml for p in parts]))
    return inp


def measure(files: list[bytes], inp: Inputs, sec: float) -> tuple[Stages, Timing, Timing]:
    """Per-stage, total and baseline timings."""
    n = len(files)

    def unzip() -> None:
        for data, paths in zip(files, inp.needed, strict=True):
            pkg = OfdPackage(data)
            for path in paths:
                pkg.read(path)

    def xml() -> None:
        for ofd_xml, sigs_xml, sig_xmls in inp.xml_parts:
            parse_ofd_xml(ofd_xml)
            parse_signatures_xml(sigs_xml)
            for s in sig_xmls:
                parse_signature_xml(s)

    def ref_sm3() -> None:
        for data, want in inp.ref_work:
            _ = sm3(data) == want

    def ses_parse() -> None:
        for value, _ in inp.values:
            parse_signed_value(value)

    def signed_value_check() -> None:
        for value, sig_xml in inp.values:
            check_signed_value(value, sig_xml)

    now = int(time.time())

    def certs() -> None:
        for facts in inp.facts:
            signature_report(facts, [], now)

    def total() -> None:
        for data in files:
            verify_ofd(data)

    key = PrivateKey.generate()
    pub = key.public_key().to_bytes()
    msg = b"x" * 1000
    sig = key.sign(msg)

    stages: Stages = {
        "unzip": per_item_us(unzip, n, sec),
        "XML": per_item_us(xml, n, sec),
        "reference SM3": per_item_us(ref_sm3, n, sec),
        "SES parse": per_item_us(ses_parse, n, sec),
    }
    check = per_item_us(signed_value_check, n, sec)
    parse = stages["SES parse"]
    stages["SM2 verifies"] = (check[0] - parse[0], check[1] - parse[1])
    stages["certificate checks"] = per_item_us(certs, n, sec)
    tot = per_item_us(total, n, sec)
    base = per_item_us(lambda: sm2_verify(pub, msg, sig), 1, sec)
    wall_sum = sum(w for w, _ in stages.values())
    cpu_sum = sum(c for _, c in stages.values())
    stages["orchestration (total - sum)"] = (tot[0] - wall_sum, tot[1] - cpu_sum)
    return stages, tot, base


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="time per measurement")
    args = parser.parse_args()
    files = [(vectors_dir() / "ses" / "ofd" / name).read_bytes() for name in INVOICES]
    stages, tot, base = measure(files, prepare(files), args.seconds)

    files_per_s = 1e6 / tot[0]
    width = 74
    print(f"OFD verification, {len(files)} invoice samples round-robin, one thread")
    print(f"{'stage':<32}{'µs/file':>12}{'cpu µs/file':>14}{'share':>9}")
    print("-" * width)
    for name, (w, c) in stages.items():
        print(f"{name:<32}{w:>12.1f}{c:>14.1f}{w / tot[0]:>9.1%}")
    print("-" * width)
    print(f"{'total verify_ofd':<32}{tot[0]:>12.1f}{tot[1]:>14.1f}{1:>9.0%}")
    print(f"{'baseline: SM2 verify, fresh key':<32}{base[0]:>12.1f}{base[1]:>14.1f}")
    print("-" * width)
    verdict = "PASS" if files_per_s >= TARGET_FILES_PER_S else "FAIL"
    print(
        f"throughput {files_per_s:,.0f} files/s (cpu {1e6 / tot[1]:,.0f}/s); "
        f"target ≥ {TARGET_FILES_PER_S:,.0f}/s  {verdict}"
    )
    print(f"one file costs {tot[0] / base[0]:.1f} fresh-key SM2 verifications (same run)")

    RESULTS.parent.mkdir(exist_ok=True)
    machine = f"{platform.machine()} Python {platform.python_version()} cpus={os.cpu_count()}"
    result = {
        "machine": machine,
        "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "samples": INVOICES,
        "stages_us_per_file": {k: {"wall": w, "cpu": c} for k, (w, c) in stages.items()},
        "total_us_per_file": {"wall": tot[0], "cpu": tot[1]},
        "baseline_sm2_verify_us": {"wall": base[0], "cpu": base[1]},
        "files_per_s": files_per_s,
        "target_files_per_s": TARGET_FILES_PER_S,
        "pass": files_per_s >= TARGET_FILES_PER_S,
    }
    RESULTS.write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n")


if __name__ == "__main__":
    main()
