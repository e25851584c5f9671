#!/usr/bin/env bash
# Syntax of every Kotlin and Swift source that no compiler checks on this
# machine: the generated bindings (and that they are current), the iOS shell
# and the Android shell. Known grammar false positives are masked in
# scripts/syntax-masks.txt (and ios/ or android/syntax-masks.txt) and listed
# in the README.
set -euo pipefail
cd "$(dirname "$0")/../.."

source scripts/lib/cargo.sh  # MOTP_CARGO_VENDOR; registry checks

if ! python3 -c 'import tree_sitter, tree_sitter_kotlin, tree_sitter_swift' 2>/dev/null; then
  if ! motp_registry_reachable pypi; then
    # The parsers cannot be installed; the bindings check needs none.
    bash scripts/generate-bindings.sh --check
    echo "SKIPPED: pypi unreachable (tree-sitter parsers; the bindings are current)"
    exit 0
  fi
  python3 -m pip install --quiet --disable-pip-version-check \
    'tree-sitter==0.26.1' 'tree-sitter-kotlin==1.1.0' 'tree-sitter-swift==0.7.4'
fi

# The checker must catch a broken file in each language, or a green run
# means nothing (a missing grammar, a wrong extension mapping…).
broken=$(mktemp -d)
trap 'rm -rf "$broken"' EXIT
printf 'fun broken( = {\n' >"$broken/Broken.kt"
printf 'func broken( {\n' >"$broken/Broken.swift"
if python3 scripts/check-syntax.py "$broken" >"$broken/out" 2>&1 ||
  [ "$(grep -c '^error' "$broken/out")" -ne 2 ]; then
  cat "$broken/out" >&2
  echo "check-syntax.py did not report the two broken files" >&2
  exit 1
fi

# The committed bindings must be what the pinned generator makes of the code.
bash scripts/generate-bindings.sh --check

paths=(bindings/generated)
masks=()
for shell in ios android; do
  [ -d "$shell" ] || continue
  paths+=("$shell")
  [ -f "$shell/syntax-masks.txt" ] && masks+=(--masks "$shell/syntax-masks.txt")
done
python3 scripts/check-syntax.py "${masks[@]}" "${paths[@]}"
