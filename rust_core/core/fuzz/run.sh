#!/usr/bin/env bash
# Runs one cargo-fuzz target for a bounded time.
#
#   rust_core/core/fuzz/run.sh TARGET SECONDS [extra libFuzzer flags...]
#
# Targets: der_signature, der_keys, sm2_parse, sm2_verify_diff,
# sm2_sign_roundtrip, merkle_proofs, qr_token, asn1_lenient, x509_cert, ses_parse,
# cms_signed_data, ses_encode_roundtrip (see fuzz_targets/).
# Installs cargo-fuzz from crates.io if it is missing. cargo fuzz needs a
# nightly compiler for -Zsanitizer=address: a rustup `nightly` toolchain is
# used when one is installed, otherwise the stable toolchain with
# RUSTC_BOOTSTRAP=1 (which unlocks the same -Z flags; good enough for
# fuzzing, never for shipping). Set FUZZ_TOOLCHAIN=stable or =nightly to
# force one. The corpus grows in fuzz/corpus/TARGET (git-ignored); the
# committed seeds in fuzz/seeds/TARGET are read but never written. Crashes
# land in fuzz/artifacts/TARGET and make this script exit non-zero.
# Build output goes to $CARGO_TARGET_DIR/fuzz if that is set, else fuzz/target.
set -euo pipefail

if [ $# -lt 2 ]; then
  echo "usage: $0 TARGET SECONDS [libFuzzer flags...]" >&2
  exit 2
fi
target=$1
seconds=$2
shift 2

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
if [ ! -f "$here/fuzz_targets/$target.rs" ]; then
  echo "unknown target '$target'; have: $(cd "$here/fuzz_targets" && ls | sed 's/\.rs$//' | tr '\n' ' ')" >&2
  exit 2
fi
case $seconds in
  ''|*[!0-9]*) echo "SECONDS must be a whole number" >&2; exit 2 ;;
esac

if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "cargo-fuzz not found: installing it from crates.io" >&2
  cargo install cargo-fuzz --locked
fi

toolchain=${FUZZ_TOOLCHAIN:-}
if [ -z "$toolchain" ]; then
  if rustup toolchain list 2>/dev/null | grep -q '^nightly'; then
    toolchain=nightly
  else
    toolchain=stable
  fi
fi
cargo_cmd=(cargo)
if [ "$toolchain" = nightly ]; then
  cargo_cmd=(cargo +nightly)
else
  export RUSTC_BOOTSTRAP=1
fi

target_dir_args=()
if [ -n "${CARGO_TARGET_DIR:-}" ]; then
  target_dir_args=(--target-dir "$CARGO_TARGET_DIR/fuzz-$toolchain")
fi

corpus="$here/corpus/$target"
mkdir -p "$corpus"
seeds=()
[ -d "$here/seeds/$target" ] && seeds=("$here/seeds/$target")

# Seals and signed values are 8–40 KB: let those targets mutate whole files.
max_len=4096
case $target in
  ses_parse) max_len=65536 ;;
esac

echo "fuzzing $target for ${seconds}s with the $toolchain toolchain" >&2
# cargo fuzz expects to run from the crate that holds fuzz/.
cd "$here/.."
exec "${cargo_cmd[@]}" fuzz run "${target_dir_args[@]}" "$target" "$corpus" "${seeds[@]}" -- \
  -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=$max_len -print_final_stats=1 "$@"
