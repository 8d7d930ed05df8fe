"""Crypto micro-benchmarks: our core against same-run baselines.

Run with ``make bench`` (``.venv/bin/python benchmarks/crypto.py``). Every
figure is measured in this run on this machine (performance.md): our SM2
verify/sign, the batch API at 1 thread and at all threads, SM3, and the
baselines gmssl (pure Python), hashlib SM3 (OpenSSL), ``openssl speed sm2``
and ``ecdsap256`` (CLI), and ``cryptography``'s P-256 ECDSA verify. Prints
one table of ops/s, µs/op and ratios with their targets (PASS/MISS judged on
wall-clock ratios); writes benchmarks/results/crypto.json.

Clocks: wall time (time.perf_counter; ``openssl speed -elapsed``) is the
primary figure. Each single-threaded figure also has a CPU-time twin
(time.thread_time; ``openssl speed`` default user-CPU mode) in the "cpu"
columns, which stays meaningful when other processes compete for the cores.

Options: ``--quick`` shortens every measurement (smoke test, numbers noisy).
Environment: SIDIAN_CRITERION_VERIFY = path, relative to the criterion
directory, of the Rust-only single-verify estimates.json (see
``rust_only_verify_ns``).
"""

from __future__ import annotations

import argparse
import datetime as _dt
import hashlib
import importlib.metadata
import json
import os
import platform
import re
import shutil
import ssl
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "benchmarks" / "results" / "crypto.json"
BATCH_SIZE = 10_000

try:
    from pyservice import crypto
except ImportError:
    sys.path.insert(0, str(REPO))  # not installed: try the source tree (in-place build)
    try:
        from pyservice import crypto
    except ImportError as exc:  # pragma: no cover - environment problem
        sys.exit(f"pyservice is not importable ({exc}); run `make build` first")

try:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from gmssl import sm2 as gmssl_sm2
except ImportError as exc:  # pragma: no cover - environment problem
    sys.exit(f"benchmark baseline missing ({exc}); install the dev extras (gmssl, cryptography)")


# ------------------------------------------------------------ measuring ----


class Clock:
    """Measurement budget: seconds per measurement, repeats (best-of)."""

    def __init__(self, quick: bool):
        self.seconds = 0.25 if quick else 1.5
        self.repeats = 3
        self.slow_iters = 3 if quick else 20  # gmssl: ~10 ms per op


def bench(clock: Clock, fn, args_list, *, seconds: float | None = None) -> dict:
    """Best-of-N rate of ``fn(*args)`` cycling over ``args_list``."""
    seconds = clock.seconds if seconds is None else seconds
    for args in args_list[:32]:  # warm-up: caches, lazy init, branch predictors
        fn(*args)
    t0 = time.perf_counter()
    for args in args_list:
        fn(*args)
    one_pass = max(time.perf_counter() - t0, 1e-9)
    loops = max(1, int(seconds / clock.repeats / one_pass))
    best = best_cpu = float("inf")
    for _ in range(clock.repeats):
        c0, t0 = time.thread_time(), time.perf_counter()
        for _ in range(loops):
            for args in args_list:
                fn(*args)
        best = min(best, time.perf_counter() - t0)
        best_cpu = min(best_cpu, time.thread_time() - c0)
    n = loops * len(args_list)
    return {
        "ops_per_s": n / best,
        "us_per_op": best / n * 1e6,
        "cpu_ops_per_s": n / max(best_cpu, 1e-9),
        "iterations": n,
        "seconds": best,
        "method": f"best of {clock.repeats}, perf_counter (cpu: thread_time)",
    }


def bench_fixed(fn, args_list) -> dict:
    """For slow baselines: one timed pass over args_list after one warm-up call."""
    fn(*args_list[0])
    c0, t0 = time.thread_time(), time.perf_counter()
    for args in args_list:
        fn(*args)
    dt, cpu = time.perf_counter() - t0, time.thread_time() - c0
    n = len(args_list)
    return {
        "ops_per_s": n / dt,
        "us_per_op": dt / n * 1e6,
        "cpu_ops_per_s": n / max(cpu, 1e-9),
        "iterations": n,
        "seconds": dt,
        "method": "single pass, perf_counter (cpu: thread_time)",
    }


def rate(ops_per_s: float, note: str) -> dict:
    return {"ops_per_s": ops_per_s, "us_per_op": 1e6 / ops_per_s, "method": note}


# ---------------------------------------------------------- workloads ----


def sm2_inputs(n_keys: int, n_msgs: int, uid=None):
    uid = crypto.DEFAULT_UID if uid is None else uid
    keys = [crypto.PrivateKey.generate() for _ in range(n_keys)]
    out = []
    for i in range(n_keys * n_msgs):
        sk = keys[i % n_keys]
        msg = b"licence-%08d" % i + bytes(48)
        out.append((sk.public_key().to_bytes(), msg, sk.sign(msg, uid=uid)))
    return keys, out


def measure_ours(clock: Clock, m: dict) -> None:
    _, fresh = sm2_inputs(64, 1)
    # fresh key per call: parse the key and compute Z_A every time
    m["ours_verify_fresh"] = bench(clock, crypto.sm2_verify, fresh)
    for pub, msg, sig in fresh:  # the workload must really verify
        crypto.sm2_verify(pub, msg, sig)

    keys, one_key = sm2_inputs(1, 64)
    verifier = crypto.Sm2Verifier(keys[0].public_key())
    m["ours_verify_cached"] = bench(clock, verifier.verify, [(msg, sig) for _, msg, sig in one_key])

    sk = keys[0]
    m["ours_sign"] = bench(clock, sk.sign, [(msg,) for _, msg, _ in one_key])

    for size, label in ((64, "64B"), (1024, "1KiB"), (1 << 20, "1MiB")):
        data = [(os.urandom(size),) for _ in range(4 if size > 4096 else 64)]
        secs = clock.seconds * 0.7
        ours = bench(clock, crypto.sm3, data, seconds=secs)
        via_new = bench(clock, lambda d: hashlib.new("sm3", d).digest(), data, seconds=secs)
        proto = hashlib.new("sm3")

        def via_copy(d, proto=proto):
            h = proto.copy()
            h.update(d)
            return h.digest()

        via_cp = bench(clock, via_copy, data, seconds=secs)
        best = max(via_new, via_cp, key=lambda r: r["ops_per_s"])
        best = dict(
            best,
            method=best["method"]
            + ("; hashlib.new('sm3', d)" if best is via_new else "; prototype.copy().update(d)"),
        )
        for r in (ours, best):
            r["MB_per_s"] = r["ops_per_s"] * size / 1e6
        m[f"ours_sm3_{label}"] = ours
        m[f"hashlib_sm3_{label}"] = best


BATCH_WORKER = "--batch-worker"


def batch_size(quick: bool) -> int:
    return 1_000 if quick else BATCH_SIZE


def batch_worker(quick: bool) -> None:
    """Subprocess body: rate of sm2_verify_batch over 10,000 distinct-key items."""
    size = batch_size(quick)
    _, items = sm2_inputs(200, size // 200)
    assert all(crypto.sm2_verify_batch(items))  # warm-up, creates the pool
    best = float("inf")
    for _ in range(2 if quick else 3):
        t0 = time.perf_counter()
        crypto.sm2_verify_batch(items)
        best = min(best, time.perf_counter() - t0)
    print(json.dumps({"ops_per_s": size / best, "seconds": best, "items": size}))


def _run(argv: list[str], **kwargs) -> subprocess.CompletedProcess:
    """subprocess.run for our own fixed command lines (no shell, no user input)."""
    return subprocess.run(argv, check=False, capture_output=True, text=True, **kwargs)  # noqa: S603


def measure_batch(threads: int, quick: bool) -> dict:
    env = dict(os.environ, RAYON_NUM_THREADS=str(threads))
    out = _run(
        [sys.executable, __file__, BATCH_WORKER] + (["--quick"] if quick else []),
        env=env,
        timeout=300,
    )
    if out.returncode != 0:
        raise RuntimeError(f"batch worker failed:\n{out.stderr}")
    res = json.loads(out.stdout.strip().splitlines()[-1])
    return dict(
        rate(
            res["ops_per_s"],
            f"sm2_verify_batch({res['items']}) best time, subprocess RAYON_NUM_THREADS={threads}",
        ),
        seconds=res["seconds"],
        iterations=res["items"],
    )


def measure_gmssl(clock: Clock, m: dict) -> None:
    keys, items = sm2_inputs(4, 1)
    items = (
        items[: clock.slow_iters]
        if clock.slow_iters <= len(items)
        else (items * (clock.slow_iters // len(items) + 1))[: clock.slow_iters]
    )
    engines = {}
    for sk in keys:
        pub = sk.public_key().to_bytes()
        g = gmssl_sm2.CryptSM2(private_key=sk.to_bytes().hex(), public_key="")
        g.public_key = pub[1:].hex()  # gmssl's lstrip("04") would corrupt some keys
        engines[pub] = g
    args = []
    for pub, msg, sig in items:
        r, s = _der_ints(sig)
        args.append((engines[pub], f"{r:064x}{s:064x}", msg))
    assert all(g.verify_with_sm3(sig, msg) for g, sig, msg in args)
    m["gmssl_verify"] = bench_fixed(lambda g, sig, msg: g.verify_with_sm3(sig, msg), args)
    m["gmssl_sign"] = bench_fixed(lambda g, _sig, msg: g.sign_with_sm3(msg), args)


def _der_ints(sig: bytes) -> tuple[int, int]:
    if len(sig) == 64:
        return int.from_bytes(sig[:32], "big"), int.from_bytes(sig[32:], "big")
    pos, out = 2, []
    for _ in range(2):
        ln = sig[pos + 1]
        out.append(int.from_bytes(sig[pos + 2 : pos + 2 + ln], "big"))
        pos += 2 + ln
    return out[0], out[1]


def measure_cryptography(clock: Clock, m: dict) -> None:
    sk = ec.generate_private_key(ec.SECP256R1())
    pk = sk.public_key()
    algo = ec.ECDSA(hashes.SHA256())
    msgs = [b"licence-%08d" % i + bytes(48) for i in range(64)]
    args = [(sk.sign(msg, algo), msg, algo) for msg in msgs]
    m["cryptography_p256_verify"] = bench(clock, pk.verify, args)


SPEED_LINE = re.compile(
    r"^\s*256 bits (?P<alg>SM2|ecdsa) \((?P<curve>\w+)\)\s+[\d.]+s\s+[\d.]+s\s+"
    r"(?P<sign>[\d.]+)\s+(?P<verify>[\d.]+)\s*$",
    re.M,
)


def measure_openssl(quick: bool, m: dict) -> str:
    exe = shutil.which("openssl")
    if not exe:
        raise RuntimeError("openssl CLI not found: it is a required baseline")
    outputs = []
    found = {}
    # wall clock (-elapsed), like our perf_counter figures; then OpenSSL's
    # default user-CPU-time rates, like our thread_time figures
    for mode, secs in (("wall", "1" if quick else "3"), ("cpu", "1" if quick else "2")):
        argv = [exe, "speed", *(["-elapsed"] if mode == "wall" else []), "-seconds", secs]
        out = _run([*argv, "sm2", "ecdsap256"], timeout=120)
        outputs.append(" ".join(argv[1:]) + "\n" + out.stdout)
        found[mode] = {x["curve"]: x for x in SPEED_LINE.finditer(out.stdout)}
        if {"CurveSM2", "nistp256"} - found[mode].keys():
            raise RuntimeError(f"cannot parse `openssl speed` output:\n{out.stdout}\n{out.stderr}")
    for key, curve, op in (
        ("openssl_sm2_sign", "CurveSM2", "sign"),
        ("openssl_sm2_verify", "CurveSM2", "verify"),
        ("openssl_p256_sign", "nistp256", "sign"),
        ("openssl_p256_verify", "nistp256", "verify"),
    ):
        m[key] = rate(float(found["wall"][curve][op]), "openssl speed -elapsed (cpu: default mode)")
        m[key]["cpu_ops_per_s"] = float(found["cpu"][curve][op])
    return "\n".join(outputs)


# ----------------------------------------- Python call overhead (hook) ----


def rust_only_verify_ns() -> tuple[float, str] | None:
    """HOOK: Rust-only single-verify time from criterion, if `cargo bench` ran.

    The Python figure it is compared with is ``sm2_verify`` on a fresh key
    (parse SEC1 and DER, Z_A, verify), which is what the criterion bench
    ``sm2/verify/fresh_key (parse SEC1 + DER, Z_A, verify)`` in
    rust_core/core/benches/sm2.rs measures. Looks in
    $CARGO_TARGET_DIR/criterion and <repo>/target/criterion for
    $SIDIAN_CRITERION_VERIFY (path of an estimates.json relative to the
    criterion directory), else for ``*verify*fresh_key*/new/estimates.json``.
    Returns (median ns, bench directory) or None.
    """
    roots = [Path(p) / "criterion" for p in (os.environ.get("CARGO_TARGET_DIR"),) if p]
    roots.append(REPO / "target" / "criterion")
    wanted = os.environ.get("SIDIAN_CRITERION_VERIFY")
    for root in roots:
        if not root.is_dir():
            continue
        if wanted:
            candidates = [root / wanted]
        else:
            candidates = sorted(
                p
                for p in root.glob("**/new/estimates.json")
                if re.search(r"verify.*fresh_key", str(p.relative_to(root)).lower())
            )
        for path in candidates:
            if path.is_file():
                est = json.loads(path.read_text())
                bench_dir = str(path.parent.parent.relative_to(root))
                return float(est["median"]["point_estimate"]), bench_dir
    return None


# -------------------------------------------------------------- report ----


def ratios(m: dict, threads: int) -> list[dict]:
    def r(name, num, den, target):
        value = m[num]["ops_per_s"] / m[den]["ops_per_s"]
        cpu = None
        if "cpu_ops_per_s" in m[num] and "cpu_ops_per_s" in m[den]:
            cpu = m[num]["cpu_ops_per_s"] / m[den]["cpu_ops_per_s"]
        return {
            "name": name,
            "numerator": num,
            "denominator": den,
            "value": value,
            "value_cpu_time": cpu,
            "target": target,
            "pass": None if target is None else value >= target,
        }

    return [
        r(
            "SM2 verify (fresh key) / OpenSSL SM2 verify",
            "ours_verify_fresh",
            "openssl_sm2_verify",
            5.0,
        ),
        r(
            "SM2 verify (fresh key) / OpenSSL P-256 verify",
            "ours_verify_fresh",
            "openssl_p256_verify",
            1.0,
        ),
        r(
            "SM2 verify (cached Sm2Verifier) / OpenSSL P-256 verify",
            "ours_verify_cached",
            "openssl_p256_verify",
            1.3,
        ),
        r("SM2 sign / OpenSSL SM2 sign", "ours_sign", "openssl_sm2_sign", 5.0),
        r(
            f"batch verify {threads} threads / 1 thread",
            f"ours_batch_{threads}t",
            "ours_batch_1t",
            1.8,
        ),
        r("SM2 verify (fresh key) / gmssl verify", "ours_verify_fresh", "gmssl_verify", None),
        r("SM2 sign / gmssl sign", "ours_sign", "gmssl_sign", None),
        r(
            "SM2 verify (fresh key) / cryptography P-256 verify",
            "ours_verify_fresh",
            "cryptography_p256_verify",
            None,
        ),
        r("SM3 64 B / hashlib", "ours_sm3_64B", "hashlib_sm3_64B", 1.0),
        r("SM3 1 KiB / hashlib", "ours_sm3_1KiB", "hashlib_sm3_1KiB", 1.0),
        r("SM3 1 MiB / hashlib", "ours_sm3_1MiB", "hashlib_sm3_1MiB", 1.0),
    ]


LABELS = {
    "ours_verify_fresh": "ours  SM2 verify, fresh key (sm2_verify)",
    "ours_verify_cached": "ours  SM2 verify, cached Sm2Verifier",
    "ours_sign": "ours  SM2 sign (PrivateKey.sign)",
    "ours_sm3_64B": "ours  SM3 64 B",
    "ours_sm3_1KiB": "ours  SM3 1 KiB",
    "ours_sm3_1MiB": "ours  SM3 1 MiB",
    "openssl_sm2_verify": "base  OpenSSL SM2 verify (speed)",
    "openssl_sm2_sign": "base  OpenSSL SM2 sign (speed)",
    "openssl_p256_verify": "base  OpenSSL P-256 verify (speed)",
    "openssl_p256_sign": "base  OpenSSL P-256 sign (speed)",
    "cryptography_p256_verify": "base  cryptography P-256 verify",
    "gmssl_verify": "base  gmssl SM2 verify",
    "gmssl_sign": "base  gmssl SM2 sign",
    "hashlib_sm3_64B": "base  hashlib SM3 64 B",
    "hashlib_sm3_1KiB": "base  hashlib SM3 1 KiB",
    "hashlib_sm3_1MiB": "base  hashlib SM3 1 MiB",
}


def fmt_table(m: dict, rs: list[dict], overhead: dict) -> str:
    w = 62
    head = (
        f"{'operation':<{w}} {'ops/s':>12} {'µs/op':>9} {'cpu µs/op':>9} "
        f"{'ratio':>8} {'cpu ratio':>9} {'target':>7}  result"
    )
    lines = [head, "-" * len(head)]
    for key, label in LABELS.items():
        if key not in m:
            continue
        r = m[key]
        cpu = f"{1e6 / r['cpu_ops_per_s']:>9.2f}" if "cpu_ops_per_s" in r else f"{'—':>9}"
        extra = f"  ({r['MB_per_s']:,.0f} MB/s)" if "MB_per_s" in r and "1MiB" in key else ""
        lines.append(f"{label:<{w}} {r['ops_per_s']:>12,.1f} {r['us_per_op']:>9.2f} {cpu}{extra}")
    lines.append("-" * len(head))
    for r in rs:
        target = "—" if r["target"] is None else f"≥{r['target']:.1f}x"
        verdict = "—" if r["pass"] is None else ("PASS" if r["pass"] else "MISS")
        name = "ratio " + r["name"]
        cpu = "—" if r["value_cpu_time"] is None else f"{r['value_cpu_time']:.2f}x"
        pad = " " * (12 + 9 + 9 + 3)
        lines.append(f"{name:<{w}}{pad}{r['value']:>7.2f}x {cpu:>9} {target:>7}  {verdict}")
    lines.append(
        f"{'Python call overhead (verify via pyservice - Rust-only)':<{w}} {overhead['text']}"
    )
    return "\n".join(lines)


def machine_info() -> dict:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    openssl, git = shutil.which("openssl"), shutil.which("git")
    openssl_cli = _run([openssl, "version"]).stdout.strip() if openssl else None
    commit = _run([git, "-C", str(REPO), "rev-parse", "HEAD"]).stdout.strip() if git else None

    def ver(pkg):
        try:
            return importlib.metadata.version(pkg)
        except importlib.metadata.PackageNotFoundError:
            return None

    return {
        "date": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "cpu": cpu,
        "cores": os.cpu_count(),
        "platform": platform.platform(),
        "python": sys.version.split()[0],
        "openssl_cli": openssl_cli,
        "python_ssl": ssl.OPENSSL_VERSION,
        "gmssl": ver("gmssl"),
        "cryptography": ver("cryptography"),
        "git_commit": commit,
        "load_avg_at_start": tuple(round(x, 2) for x in os.getloadavg()),
    }


# Issue target: a verify through pyservice.crypto costs at most 1.1x the Rust-only time.
OVERHEAD_TARGET = 1.1


def python_overhead(m: dict) -> dict:
    """Python call overhead: pyservice single verify minus the Rust-only criterion time."""
    rust = rust_only_verify_ns()
    if rust is None:
        overhead = {"text": "n/a (run cargo bench)", "value_us": None}
    else:
        ns, bench_id = rust
        py_us = m["ours_verify_fresh"]["us_per_op"]
        diff = py_us - ns / 1e3
        noise = "; <0: below the noise, criterion ran at another time" if diff < 0 else ""
        ratio = py_us / (ns / 1e3)
        verdict = "PASS" if ratio <= OVERHEAD_TARGET else "MISS"
        overhead = {
            "text": f"{ratio:.3f}x (target ≤{OVERHEAD_TARGET}x) {verdict}: {diff:+.2f} µs/op  "
            f"(py {py_us:.2f} µs vs criterion median {ns / 1e3:.2f} µs, '{bench_id}'{noise})",
            "ratio": ratio,
            "target": OVERHEAD_TARGET,
            "pass": ratio <= OVERHEAD_TARGET,
            "value_us": diff,
            "rust_us": ns / 1e3,
            "criterion_bench": bench_id,
        }
    return overhead


def busy_warning(load: tuple[float, float, float] | None, cores: int | None) -> str | None:
    """Other processes competing for the cores make every figure (and the
    thread-scaling ratio above all) unreliable: say so next to the table."""
    if not load or not cores or load[0] <= 0.5 * cores:
        return None
    return (
        f"WARNING: machine busy at start (1-min load average {load[0]:.1f} on {cores} cores): "
        "wall-clock figures are noisy (the cpu-time columns less so; thread scaling is "
        "not measurable), rerun on a quiet machine before quoting them"
    )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="short measurements (smoke test)")
    ap.add_argument(BATCH_WORKER, dest="batch_worker", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--output", type=Path, default=RESULTS)
    args = ap.parse_args()
    if args.batch_worker:
        batch_worker(args.quick)
        return 0

    started = time.perf_counter()
    info = machine_info()
    clock = Clock(args.quick)
    m: dict = {}
    threads = max(2, os.cpu_count() or 1)
    print(
        f"Sidian crypto benchmark — {info['cpu']}, {info['cores']} cores, Python {info['python']}, "
        f"{info['openssl_cli']}, load average {info['load_avg_at_start'][0]:.1f}",
        flush=True,
    )

    print("measuring: our SM2 / SM3 ...", flush=True)
    measure_ours(clock, m)
    print("measuring: batch verify in subprocesses ...", flush=True)
    for n in (1, threads):
        m[f"ours_batch_{n}t"] = res = measure_batch(n, args.quick)
        LABELS[f"ours_batch_{n}t"] = (
            f"ours  sm2_verify_batch of {res['iterations']:,}, "
            f"{n} thread{'s' if n > 1 else ''} (per item)"
        )
    print("measuring: openssl speed sm2 ecdsap256 ...", flush=True)
    speed_out = measure_openssl(args.quick, m)
    print("measuring: cryptography P-256, gmssl ...", flush=True)
    measure_cryptography(clock, m)
    measure_gmssl(clock, m)

    overhead = python_overhead(m)

    rs = ratios(m, threads)
    # put our batch rows next to each other in the table
    ordered = {k: LABELS[k] for k in LABELS if not k.startswith("ours_batch")}
    batch_labels = {k: LABELS[k] for k in LABELS if k.startswith("ours_batch")}
    LABELS.clear()
    for k, v in ordered.items():
        LABELS[k] = v
        if k == "ours_sign":
            LABELS.update(batch_labels)
    table = fmt_table(m, rs, overhead)
    elapsed = time.perf_counter() - started
    print()
    print(table)
    busy = busy_warning(info["load_avg_at_start"], info["cores"])
    if busy:
        print(f"\n{busy}")
    print(
        f"\n(total {elapsed:.0f} s{'; --quick: numbers are indicative only' if args.quick else ''})"
    )

    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(
        json.dumps(
            {
                "machine": info,
                "quick": args.quick,
                "elapsed_s": elapsed,
                "busy_warning": busy,
                "measurements": m,
                "ratios": rs,
                "python_call_overhead": overhead,
                "openssl_speed_output": speed_out,
                "table": table,
            },
            indent=2,
            ensure_ascii=False,
        )
        + "\n"
    )
    shown = args.output.relative_to(REPO) if args.output.is_relative_to(REPO) else args.output
    print(f"wrote {shown}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
