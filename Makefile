# Sidian Verify — build, run and test.
#
#   make run    create .venv, install dependencies, build the Rust extension
#               (release) and start the service on 127.0.0.1:8080
#   make test   the same build, then every check CI runs (.ci/run)
#
# Needs only python3 (>= 3.11), pip, cargo and, where python3 lacks venv, apt.

SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
MAKEFLAGS += --no-print-directory

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
# Rebuilt when pyproject.toml (dependencies) changes.
DEPS_STAMP := $(VENV)/.deps-installed
# The extension as `maturin develop` places it (abi3 build).
EXTENSION := pyservice/_core.abi3.so
RUST_SOURCES := Cargo.toml Cargo.lock $(wildcard rust_core/*/Cargo.toml) \
	$(shell find rust_core -name '*.rs' -not -path '*/target/*' -not -path '*/fuzz/*')

HOST ?= 127.0.0.1
PORT ?= 8080
DATA_DIR ?= ./data
FUZZ_SECONDS ?= 60
FUZZ_DIR := rust_core/core/fuzz
FUZZ_TARGETS ?= $(basename $(notdir $(wildcard $(FUZZ_DIR)/fuzz_targets/*.rs)))
# Correctness gates (see the targets below).
ARITH_CASES ?= 20000000
POINT_CASES ?= 2000
CT_SECONDS ?= 20

.PHONY: help venv build run test system-deps test-services test-rust test-py lint clippy rustfmt-check ruff typecheck fmt bench fuzz clean \
	bench-ledger bench-import bench-ofd loadtest soak chaos \
	arith-long fuzz-diff ct-check ct-grind

help:
	@echo "make run        build (release) and serve on $(HOST):$(PORT), data in $(DATA_DIR)"
	@echo "make test       cargo test, clippy, rustfmt, ruff, mypy --strict, stubtest, pytest"
	@echo "make venv       .venv with all Python dependencies (dev extras included)"
	@echo "make build      maturin develop --release into .venv (only if Rust changed)"
	@echo "make lint       clippy -D warnings, cargo fmt --check, ruff check, ruff format --check"
	@echo "make typecheck  mypy (strict on pyservice/) and stubtest of pyservice._core"
	@echo "make fmt        format Rust and Python in place"
	@echo "make bench      python benchmarks/crypto.py"
	@echo "make bench-ledger  ledger append/proof benchmark (LEDGER_SIZE, default 1000000)"
	@echo "make bench-import  bulk licence import benchmark (IMPORT_ROWS, default 1000000)"
	@echo "make loadtest   scan-to-verify load scenarios vs the ceiling and the naive peer (wrk)"
	@echo "make soak       SOAK_MINUTES (30) of steady load: worker memory and descriptors stay flat"
	@echo "make chaos      scans while workers and Redis are killed: no wrong verdict (CHAOS_SECONDS)"
	@echo "make bench-ofd  OFD verification throughput with per-stage cost (invoice samples)"
	@echo "make fuzz       each fuzz target for FUZZ_SECONDS (default 60)"
	@echo "make arith-long SM2 field/scalar ops vs bigints, ARITH_CASES (default 20000000) each"
	@echo "make fuzz-diff  fuzz SM2 verify against RustCrypto sm2 for FUZZ_SECONDS (default 60)"
	@echo "make ct-check   dudect timing test of SM2 signing, CT_SECONDS (default 20) per experiment"
	@echo "make ct-grind   valgrind taint check: secrets never reach a branch or an address (in make test)"
	@echo "make clean      remove .venv, build outputs and caches"

venv: $(DEPS_STAMP)

$(DEPS_STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
		|| { echo "error: $(PYTHON) must be Python >= 3.11" >&2; exit 1; }
	@if [ ! -x $(PY) ]; then \
		$(PYTHON) -m venv $(VENV) || { \
			echo "python3 -m venv failed; installing python3-venv with apt-get" >&2; \
			apt-get update -qq && apt-get install -y -qq python3-venv; \
			$(PYTHON) -m venv --clear $(VENV); }; \
	fi
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -c 'import tomllib; p = tomllib.load(open("pyproject.toml", "rb")); \
		print("\n".join(p["build-system"]["requires"] + p["project"]["dependencies"] \
		+ p["project"]["optional-dependencies"]["dev"]))' > $(VENV)/requirements.txt
	$(PY) -m pip install --quiet -r $(VENV)/requirements.txt
	@touch $@

build: $(EXTENSION)

# maturin builds the release extension into pyservice/ and installs the
# package into .venv as editable (Python changes need no rebuild).
$(EXTENSION): $(DEPS_STAMP) $(RUST_SOURCES) pyproject.toml
	VIRTUAL_ENV=$(abspath $(VENV)) $(BIN)/maturin develop --release
	@touch $@

# First start: create the store, master key and platform keys, and seed the
# demo data set (sidian init --demo) so there is something to verify.
run: build
	@[ -f $(DATA_DIR)/sidian.db ] || $(BIN)/sidian init --demo --data-dir $(DATA_DIR)
	SIDIAN_DEMO_PAGES=1 $(BIN)/sidian serve --host $(HOST) --port $(PORT) --data-dir $(DATA_DIR)

# Every check runs even if an earlier one fails (-k); the exit code is
# non-zero if any failed. pytest runs last so its summary ends the output.
test: build
	@$(MAKE) -k test-rust ct-grind clippy rustfmt-check ruff typecheck test-py

test-rust:
	cargo test --locked

lint:
	@$(MAKE) -k clippy rustfmt-check ruff

clippy:
	cargo clippy --locked --workspace --all-targets -- -D warnings

rustfmt-check:
	cargo fmt --all --check

ruff: $(DEPS_STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: build
	$(BIN)/mypy
	$(PY) -m mypy.stubtest pyservice._core

test-py: build system-deps test-services
	$(PY) -m pytest

# Debian packages the tests drive for real (never mocked): headless Chromium
# with its driver and CJK fonts for the page tests. Installed only when missing.
SYSTEM_PACKAGES := chromium chromium-driver fonts-noto-cjk
system-deps:
	@missing=$$(for p in $(SYSTEM_PACKAGES); do \
		dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "installing Debian packages for the tests: $$missing"; \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing >/dev/null; \
	fi

# Servers the Python tests start themselves (real Redis, never a fake).
test-services:
	@command -v redis-server >/dev/null || (apt-get update -qq && apt-get install -y -qq redis-server)

fmt: $(DEPS_STAMP)
	cargo fmt --all
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# The criterion pass measures the Rust-only fresh-key verify in the same run,
# so crypto.py can print the Python call overhead against it.
bench: build
	cargo bench --locked -p sidian-core --bench sm2 -- --warm-up-time 1 --measurement-time 4 'fresh_key \(parse'
	$(PY) benchmarks/crypto.py
	@$(MAKE) bench-ofd

# Ledger: append throughput into SQLite (hashing + STH signing) and proofs
# from the store; LEDGER_SIZE=10000000 for the 10M figure (takes minutes).
LEDGER_SIZE ?= 1000000
bench-ledger: build
	$(PY) benchmarks/ledger.py --size $(LEDGER_SIZE) --audit

# Bulk import (sidian import) of IMPORT_ROWS generated licences into a fresh
# store: rate and peak RSS (target 1,000,000 in <= 5 min, <= 1 GB).
IMPORT_ROWS ?= 1000000
bench-import: build
	$(PY) benchmarks/import_bulk.py --rows $(IMPORT_ROWS)

# Load tests (loadtests/run.py): Redis, the service (LOAD_WORKERS workers),
# the ceiling and the naive peer on 127.0.0.1, wrk scenarios, one table;
# results in loadtests/results/latest.json. Bounded: LOAD_SECONDS per run.
LOAD_WORKERS ?= 2
LOAD_SECONDS ?= 10
loadtest: build test-services
	@command -v wrk >/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null)
	$(PY) -m loadtests.run --workers $(LOAD_WORKERS) --duration $(LOAD_SECONDS)

# Steady load for SOAK_MINUTES (default 30): worker memory and descriptors must stay flat.
SOAK_MINUTES ?= 30
soak: build test-services
	@command -v wrk >/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null)
	$(PY) -m loadtests.soak --workers $(LOAD_WORKERS) --minutes $(SOAK_MINUTES)

# Scans while a worker is killed and Redis stopped at random moments: no wrong verdict.
CHAOS_SECONDS ?= 60
chaos: build test-services
	$(PY) -m loadtests.chaos --workers $(LOAD_WORKERS) --seconds $(CHAOS_SECONDS)

# OFD verification: invoice files/s on one core, cost per stage.
bench-ofd: build
	$(PY) benchmarks/ofd.py

fuzz:
	@[ -x $(FUZZ_DIR)/run.sh ] || { echo "error: $(FUZZ_DIR)/run.sh is missing" >&2; exit 1; }
	@[ -n "$(FUZZ_TARGETS)" ] || { echo "error: no targets in $(FUZZ_DIR)/fuzz_targets" >&2; exit 1; }
	@for target in $(FUZZ_TARGETS); do \
		echo "== fuzz $$target for $(FUZZ_SECONDS) s"; \
		$(FUZZ_DIR)/run.sh $$target $(FUZZ_SECONDS) || exit 1; \
	done

# The SM2 arithmetic gate with many more cases than `cargo test` runs
# (1,000,000 per operation there), in the release profile.
arith-long:
	SIDIAN_ARITH_CASES=$(ARITH_CASES) SIDIAN_POINT_CASES=$(POINT_CASES) \
		cargo test --locked --release -p sidian-core --test sm2_arith_million -- --nocapture

# Differential fuzzing of SM2 verification against RustCrypto's sm2 crate.
fuzz-diff:
	@[ -x $(FUZZ_DIR)/run.sh ] || { echo "error: $(FUZZ_DIR)/run.sh is missing" >&2; exit 1; }
	$(FUZZ_DIR)/run.sh sm2_verify_diff $(FUZZ_SECONDS)

# dudect-style constant-time check of signing (exits non-zero on a leak or
# if a positive control goes undetected). Results: benchmarks/RESULTS.md.
ct-check:
	cargo run --locked --release -p sidian-core --example ct_sign -- $(CT_SECONDS)

# Secret-taint check under valgrind memcheck: deterministic, so part of `make test`.
# Line tables make a report point at the source line that branched on a secret.
ct-grind:
	@command -v valgrind >/dev/null || (apt-get update -qq && apt-get install -y -qq valgrind)
	CARGO_PROFILE_RELEASE_DEBUG=line-tables-only cargo build --locked --release -p sidian-ctgrind
	valgrind -q "$${CARGO_TARGET_DIR:-target}/release/sidian-ctgrind"

clean:
	cargo clean
	rm -rf $(VENV) pyservice/_core*.so .pytest_cache .mypy_cache .ruff_cache .hypothesis
	find . -name __pycache__ -type d -prune -not -path './.git/*' -exec rm -rf {} +
