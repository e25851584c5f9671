#!/usr/bin/env bash
# The Android shell on the host JVM (android/host-tests): its Kotlin and the
# generated bindings compiled against Robolectric's android-all jar, then
# Robolectric tests (JUnit 4, offline: Maven fetches the instrumented
# framework jar). The real host libmotp_ffi.so is built first and loaded
# through JNA: the tests match every observed call with the real Rust matcher.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"

source scripts/lib/cargo.sh  # MOTP_CARGO_VENDOR; registry checks
# Maven Central serves Robolectric, its android-all jar and the Kotlin
# compiler plugin: without it this stage cannot run.
motp_skip_unless_reachable maven

command -v java >/dev/null || apt-get install -y -q openjdk-17-jdk-headless >/dev/null
command -v mvn >/dev/null || apt-get install -y -q maven >/dev/null

# Same features as the bindings' own JVM tests, so the two stages share one build.
cargo build --quiet -p motp-ffi --features testing

cd android/host-tests
rm -rf target/surefire-reports
# Robolectric prints every broadcast it delivers; keep the log readable.
set +e
mvn -q -B test -Dmotp.lib.dir="$ROOT/target/debug" 2>&1 | { grep -v 'Matching wrappers' || true; }
status=${PIPESTATUS[0]}
set -e

python3 - <<'PY' || status=1
import glob, xml.etree.ElementTree as ET
run = failed = skipped = 0
for path in glob.glob("target/surefire-reports/TEST-*.xml"):
    suite = ET.parse(path).getroot()
    run += int(suite.get("tests")); skipped += int(suite.get("skipped"))
    failed += int(suite.get("failures")) + int(suite.get("errors"))
print(f"android: {run - failed - skipped} passed, {failed} failed, {skipped} skipped")
raise SystemExit(1 if failed or run == 0 else 0)
PY
exit "$status"
