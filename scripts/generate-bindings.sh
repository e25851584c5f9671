#!/usr/bin/env bash
# Generates the Kotlin and Swift bindings of motp-ffi in UniFFI library mode,
# from an unstripped host build of the library (the metadata UniFFI reads
# lives in its symbols; strip only after generating).
#
#   scripts/generate-bindings.sh                  rewrite bindings/generated/{kotlin,swift}
#   scripts/generate-bindings.sh --check          fail if the committed copy is stale
#   scripts/generate-bindings.sh --features testing --out DIR
#                                                 bindings with the test-only exports
#   scripts/generate-bindings.sh --lib PATH ...   use an already built library
#
# The committed copy is generated without features: it is the SDK's API.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/cargo.sh  # MOTP_CARGO_VENDOR: cargo offline from vendored crates

out=bindings/generated
check=false
features=""
lib=""
while [ $# -gt 0 ]; do
  case "$1" in
    --check) check=true ;;
    --features) features="$2"; shift ;;
    --out) out="$2"; shift ;;
    --lib) lib="$2"; shift ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
  shift
done

case "$(uname -s)" in
  Darwin) ext=dylib ;;
  *) ext=so ;;
esac

# The generator: the `uniffi` version pinned in bindings/Cargo.toml.
cargo build --quiet -p motp-ffi --features cli --bin uniffi-bindgen
bindgen=target/debug/uniffi-bindgen

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

if [ -z "$lib" ]; then
  cargo build --quiet -p motp-ffi --lib ${features:+--features "$features"}
  lib=target/debug/libmotp_ffi.$ext
fi
# A private copy: other builds may replace target/debug's while we read it.
cp "$lib" "$work/libmotp_ffi.$ext"

generated="$work/generated"
for language in kotlin swift; do
  # --no-format: output must not depend on whether ktlint/swiftformat exist.
  "$bindgen" generate --no-format --language "$language" \
    --out-dir "$generated/$language" "$work/libmotp_ffi.$ext" >/dev/null
done

if $check; then
  if ! diff -ru "$out" "$generated" >"$work/diff"; then
    head -n 60 "$work/diff" >&2
    echo "error: $out is stale; run scripts/generate-bindings.sh and commit the result" >&2
    exit 1
  fi
  echo "bindings: $out is up to date"
else
  rm -rf "$out/kotlin" "$out/swift"
  mkdir -p "$out"
  cp -R "$generated/kotlin" "$generated/swift" "$out/"
  echo "bindings: wrote $out/kotlin and $out/swift from $lib"
fi
