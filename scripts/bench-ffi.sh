#!/usr/bin/env bash
# Release numbers for the SDK library (a benchmark, not a test):
#  1. builds the release cdylib for this host (size-optimised profile, plus
#     the linker flags an SDK build should use, below) and reports its size
#     unstripped and stripped;
#  2. generates the bindings from the unstripped library (library mode
#     needs its symbols) and checks they equal the committed ones;
#  3. runs the Kotlin benchmark of the FFI round trip of
#     `Verification.onIncomingCall` over the *stripped* library, with a
#     local `motp serve` to create the verification.
# Usage: scripts/bench-ffi.sh [ITERATIONS]   (default 200000)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/cargo.sh  # MOTP_CARGO_VENDOR: cargo offline from vendored crates

iterations=${1:-200000}
work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

# The very build cargo-ndk runs for the AAR: the release profile, with the
# link flags bindings/build.rs gives the shipped library (identical code
# folding, packed relocations, 16 KB pages) on Android and on this host.
cargo build --quiet --release -p motp-ffi --lib
mkdir -p "$work/unstripped" "$work/lib"
cp target/release/libmotp_ffi.so "$work/unstripped/"
strip --strip-all -o "$work/lib/libmotp_ffi.so" "$work/unstripped/libmotp_ffi.so"
unstripped=$(stat -c %s "$work/unstripped/libmotp_ffi.so")
stripped=$(stat -c %s "$work/lib/libmotp_ffi.so")
printf "release libmotp_ffi.so (%s): %d bytes unstripped, %d bytes stripped (%s MiB)\n" \
  "$(uname -m)" "$unstripped" "$stripped" "$(awk "BEGIN { printf \"%.2f\", $stripped / 1048576 }")"

bash scripts/generate-bindings.sh --lib "$work/unstripped/libmotp_ffi.so" \
  --out "$work/bindings" >/dev/null
if diff -r "$work/bindings" bindings/generated >/dev/null; then
  echo "bindings generated from the release library equal bindings/generated"
else
  echo "warning: bindings from the release library differ from bindings/generated" >&2
fi

cargo build --quiet -p motp-server --bin motp
cp target/debug/motp "$work/motp"
source scripts/lib/test-servers.sh
start_server bench 300 0

cd tests/kotlin
mvn -q -B -Pbench compile exec:exec \
  -Dmotp.generated.dir="$work/bindings/kotlin" \
  -Dmotp.lib.dir="$work/lib" \
  -Dmotp.server.url="$bench_url" \
  -Dmotp.publishable.key="$bench_pk" \
  -Dmotp.bench.iterations="$iterations"
