#!/usr/bin/env bash
# The Kotlin bindings on the host JVM: builds the motp-ffi library (with the
# test-only exports of the `testing` feature) and the `motp` server, starts
# three servers on loopback (a regular one, one with a 2-second code TTL,
# and one placing real SIP calls to a phone the tests play), and runs the
# Maven project tests/kotlin against them through the real .so.
set -euo pipefail
cd "$(dirname "$0")/../.."

source scripts/lib/cargo.sh  # MOTP_CARGO_VENDOR; registry checks
# Maven Central serves the test project's dependencies and the Kotlin
# compiler plugin: without it this stage cannot run.
motp_skip_unless_reachable maven

command -v mvn >/dev/null && command -v java >/dev/null || {
  apt-get install -y -q maven openjdk-17-jdk-headless >/dev/null
}
command -v sipp >/dev/null || apt-get install -y -q sip-tester >/dev/null || echo "cannot install sip-tester: BusyCallTest will fail (no sipp)" >&2

work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

source scripts/lib/test-servers.sh
build_ffi_and_server
start_server main 300 0
start_server short 2 60
# Real SIP: the server calls a phone played by the Kotlin test itself
# (LoopbackPhone, a SIP UAS on this UDP port that never answers).
phone_port=$(free_port udp)
start_server sip 300 0 "[telephony]
provider = \"sip\"
ring_secs = 1
[telephony.sip]
proxy = \"127.0.0.1:$phone_port\"
bind = \"127.0.0.1:0\"
ring_for_ms = 300"

status=0
(cd tests/kotlin && mvn -q -B test ${MVN_ARGS:-} \
  -Dmotp.generated.dir="$work/bindings/kotlin" \
  -Dmotp.lib.dir="$work/lib" \
  -Dmotp.server.url="$main_url" \
  -Dmotp.publishable.key="$main_pk" \
  -Dmotp.secret.key="$main_sk" \
  -Dmotp.short.server.url="$short_url" \
  -Dmotp.short.publishable.key="$short_pk" \
  -Dmotp.short.secret.key="$short_sk" \
  -Dmotp.sip.server.url="$sip_url" \
  -Dmotp.sip.publishable.key="$sip_pk" \
  -Dmotp.sip.secret.key="$sip_sk" \
  -Dmotp.phone.port="$phone_port") || status=$?
if [ "$status" -ne 0 ]; then
  echo "--- server logs" >&2
  tail -n 50 "$work/main.log" "$work/short.log" "$work/sip.log" >&2
else
  python3 - tests/kotlin/target/surefire-reports <<'PY'
import glob, sys, xml.etree.ElementTree as ET
suites = [ET.parse(f).getroot() for f in glob.glob(sys.argv[1] + "/TEST-*.xml")]
total = sum(int(s.get("tests")) for s in suites)
print(f"kotlin: {total} tests passed in {len(suites)} classes over the real libmotp_ffi.so")
PY
fi
exit "$status"
