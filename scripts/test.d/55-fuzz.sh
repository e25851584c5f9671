#!/usr/bin/env bash
# Stage: a short run of every cargo-fuzz target (issue 8): the caller-ID
# matcher, the request bodies and the SIP parser, MOTP_FUZZ_SECONDS each
# (default 15) with coverage instrumentation but no sanitizer, to keep the
# build inside the suite's budget on two cores. The long run with
# AddressSanitizer is documented in docs/proof.md (scripts/fuzz-smoke.sh).
#
# Installs cargo-fuzz when missing. cargo-fuzz wants a nightly compiler;
# scripts/fuzz-smoke.sh sets RUSTC_BOOTSTRAP=1 so the stable one serves.
set -euo pipefail
cd "$(dirname "$0")/../.."

source scripts/lib/cargo.sh
# cargo-fuzz and the fuzz crates' own dependencies (libfuzzer-sys; core/fuzz
# and server/fuzz have their own Cargo.lock, not covered by a vendored
# directory) come from crates.io.
motp_skip_unless_reachable crates.io

FUZZ_SECONDS="${MOTP_FUZZ_SECONDS:-15}" FUZZ_SANITIZER=none bash scripts/fuzz-smoke.sh
