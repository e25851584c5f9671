#!/usr/bin/env bash
# Stage: the SIP provider against SIPp as the phone (server/tests/sip_sipp.rs,
# scenarios in server/tests/sipp/): ring → CANCEL → 487, answer → ACK + BYE,
# 486, 503, silence, digest auth, a 200 crossing the CANCEL (→ BYE), and the
# HTTP API end to end; one socket for every call of a trunk; a trunk's calls-per-second
# limit (never exceeded, the excess fails trunk_busy); the give-up deadline and DELETE while ringing send
# CANCEL; `motp serve` on SIGTERM cancels its ringing calls and exits 0, and
# after kill -9 records the call it left ringing as failed/interrupted.
#
# Installs Debian's sip-tester (SIPp) when missing; the tests start and stop
# their own SIPp processes on 127.0.0.1 with free ports. MOTP_REQUIRE_SIPP=1
# turns "sipp not found" from a skip into a failure.
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/lib/cargo.sh  # MOTP_CARGO_VENDOR: cargo offline from vendored crates

if ! command -v sipp >/dev/null 2>&1; then
  apt-get install -y -q sip-tester >/dev/null ||
    { apt-get update -q >/dev/null && apt-get install -y -q sip-tester >/dev/null; }
fi
sipp -v 2>/dev/null | grep -m1 -o 'SIPp v[^ ]*' || true

export MOTP_REQUIRE_SIPP=1
motp_run_test sip_sipp
motp_run_test trunk_failover
