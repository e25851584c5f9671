#!/usr/bin/env bash
# Runs every test of the repository: Rust formatting, lints and tests, then
# each stage in scripts/test.d (SIPp, PostgreSQL, Kotlin on the JVM, Swift and
# Kotlin syntax, …) in order. Each stage installs and starts what it needs.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy --workspace --all-targets -- -D warnings"
cargo clippy --workspace --all-targets --quiet -- -D warnings

step "cargo test --workspace"
cargo test --workspace

for stage in scripts/test.d/*.sh; do
  [ -e "$stage" ] || continue
  step "$stage"
  bash "$stage"
done

step "all tests passed"
