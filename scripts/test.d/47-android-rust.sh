#!/usr/bin/env bash
# The Rust of the Android library, type-checked for each ABI the AAR ships:
# `cargo clippy -p motp-ffi --target <android triple> -D warnings`. This is
# the only place the `cfg(target_os = "android")` code (the logcat bridge)
# is compiled on this machine.
#
# There is no Android NDK here. Nothing is linked, so no NDK is needed:
# ring's build script compiles its C with Debian's clang for the Android
# target against a cross C library's headers (libc6-dev-*-cross). The
# objects are never linked or run; this proves only that the Android code
# compiles and is lint-clean. The real build is cargo-ndk (android/README.md).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
source scripts/lib/cargo.sh  # MOTP_CARGO_VENDOR: cargo offline from vendored crates

triples=(aarch64-linux-android armv7-linux-androideabi x86_64-linux-android)
min_sdk=26 # android/motp/build.gradle.kts minSdk

missing=()
command -v clang >/dev/null || missing+=(clang)
command -v llvm-ar >/dev/null || missing+=(llvm)
[ -d /usr/aarch64-linux-gnu/include ] || missing+=(libc6-dev-arm64-cross)
[ -d /usr/arm-linux-gnueabihf/include ] || missing+=(libc6-dev-armhf-cross)
if [ ${#missing[@]} -gt 0 ]; then
  apt-get install -y -q "${missing[@]}" >/dev/null
fi

installed="$(rustup target list --installed)"
for triple in "${triples[@]}"; do
  grep -qx "$triple" <<<"$installed" && continue
  if ! rustup target add "$triple" >/dev/null 2>&1; then
    echo "SKIPPED: rustup unreachable (cannot add the $triple standard library)"
    exit 0
  fi
done

resource_dir="$(clang -print-resource-dir)"
# Android armeabi-v7a uses the soft-float calling convention, for which
# Debian's armhf headers have no gnu/stubs-soft.h; that header only lists
# unimplemented functions, so an empty one serves a compile-only check.
stubs="$(mktemp -d)"
trap 'rm -rf "$stubs"' EXIT
mkdir -p "$stubs/gnu"
: >"$stubs/gnu/stubs-soft.h"

declare -A clang_target=(
  [aarch64-linux-android]="aarch64-linux-android$min_sdk"
  [armv7-linux-androideabi]="armv7a-linux-androideabi$min_sdk"
  [x86_64-linux-android]="x86_64-linux-android$min_sdk"
)
declare -A headers=(
  [aarch64-linux-android]="/usr/aarch64-linux-gnu/include"
  [armv7-linux-androideabi]="$stubs -isystem /usr/arm-linux-gnueabihf/include"
  [x86_64-linux-android]="/usr/include/x86_64-linux-gnu -isystem /usr/include"
)

for triple in "${triples[@]}"; do
  var="${triple//-/_}"
  export "CC_$var=clang" "AR_$var=llvm-ar"
  export "CFLAGS_$var=--target=${clang_target[$triple]} -nostdinc -isystem $resource_dir/include -isystem ${headers[$triple]}"
  echo "cargo clippy -p motp-ffi --target $triple"
  cargo clippy --quiet --locked -p motp-ffi --target "$triple" -- -D warnings
done
echo "android rust: motp-ffi is clippy-clean for ${triples[*]}"
