#!/usr/bin/env bash
# Runs every test of the repository: Rust formatting, lints and tests, then
# each stage in scripts/test.d (SIPp, PostgreSQL, Kotlin on the JVM, Swift and
# Kotlin syntax, …) in order. Each stage installs and starts what it needs.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/cargo.sh  # MOTP_CARGO_VENDOR: cargo offline from vendored crates

# Each step names the disk space left: a full disk shows up as a linker or
# compiler error, and this line tells that apart from a real one.
step() { printf '\n==> %s  [%s free]\n' "$*" "$(df -h --output=avail . | tail -1 | tr -d ' ')"; }

# Stages install Debian packages (sip-tester, postgresql, …) with apt-get;
# on a fresh machine the package lists are empty until the first update.
if [ "$(id -u)" = 0 ] && ! compgen -G '/var/lib/apt/lists/*_Packages*' >/dev/null; then
  step "apt-get update (first run on this machine)"
  apt-get update -q >/dev/null
fi

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy --workspace --all-targets -- -D warnings"
cargo clippy --workspace --all-targets --quiet -- -D warnings

# The production allocator's code (feature `jemalloc`, off by default).
step "cargo clippy -p motp-server --features jemalloc --bins -- -D warnings"
cargo clippy -p motp-server --features jemalloc --bins --quiet -- -D warnings

step "cargo test --workspace"
cargo test --workspace

for stage in scripts/test.d/*.sh; do
  [ -e "$stage" ] || continue
  step "$stage"
  bash "$stage"
done

step "all tests passed"
