#!/usr/bin/env bash
# The Swift package on Linux, wherever a Swift toolchain (6.x) is on PATH:
# builds the host motp-ffi library and the `motp` server with cargo, starts
# `motp serve` on loopback (log telephony, development endpoint on), then
# `swift build` and `swift test` of Package.swift against that library:
# every target except the SwiftUI field and the CallKit observer (behind
# `#if canImport(SwiftUI)` / `canImport(CallKit)`) compiles, and the tests
# run, the end-to-end ones through the real Rust library against the server.
# Without Swift it prints "SKIPPED: no Swift toolchain".
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"

if ! command -v swift >/dev/null; then
  echo "SKIPPED: no Swift toolchain"
  exit 0
fi
swift --version

source scripts/lib/cargo.sh

work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

source scripts/lib/test-servers.sh
# The same features as 30-kotlin.sh and 50-android.sh, so the stages share
# one build; the committed Swift bindings simply do not call the test-only
# exports. Private copies: another build may replace target/debug's.
cargo build --quiet -p motp-server --bin motp
cargo build --quiet -p motp-ffi --lib --features testing
mkdir -p "$work/lib"
cp target/debug/libmotp_ffi.so "$work/lib/"
cp target/debug/motp "$work/motp"
start_server main 300 0

# The module map (ios/Sources/MotpRustFFI) links `motp_ffi`: the linker
# finds it in $work/lib, and the test binaries find it at run time there.
link=(-Xlinker -L"$work/lib" -Xlinker -rpath -Xlinker "$work/lib")
scratch=target/swift
export LD_LIBRARY_PATH="$work/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"

echo "swift build"
swift build --scratch-path "$scratch" "${link[@]}"
echo "swift test"
# MOTP_REQUIRE_SERVER: the end-to-end tests fail instead of skipping when
# the server's variables are missing.
status=0
# shellcheck disable=SC2154  # set by start_server (eval)
MOTP_REQUIRE_SERVER=1 MOTP_SERVER_URL="$main_url" MOTP_PUBLISHABLE_KEY="$main_pk" MOTP_SECRET_KEY="$main_sk" \
  swift test --scratch-path "$scratch" "${link[@]}" || status=$?
if [ "$status" -ne 0 ]; then
  echo "--- server log" >&2
  tail -n 50 "$work/main.log" >&2
fi
exit "$status"
