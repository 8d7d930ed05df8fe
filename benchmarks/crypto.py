"""Crypto micro-benchmarks (performance.md). Placeholder until the
benchmark issue lands: it prints what it will measure."""

print("not yet: crypto benchmarks (SM2 sign/verify, SM3, batch verify vs. baselines)")
