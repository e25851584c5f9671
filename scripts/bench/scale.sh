#!/usr/bin/env bash
# The scale benchmark (issue 19 item 4), beside the load benchmark
# (compare.sh): `motp serve` (release-server build, SQLite) with the SIP
# provider and a ring time of 5 s, SIPp as a phone that lets every call ring
# (server/tests/sipp/ring.xml: 100, 180, then 200/487 to the CANCEL), and
# scale.py creating N verifications at R per second and following each to
# its outcome. Abuse limits are lifted (lib.sh), trunk limits are off.
#
#   bash scripts/bench/scale.sh [N] [R]        default 2000 400
#
# Prints: calls placed, delivered, failed by reason, create latency
# p50/p99, server RSS before / peak / after the burst, CPU per call, and the
# load average (the machine may be shared). Loopback only; bounded by N/R +
# ring time + settle. MOTP_SKIP_BUILD=1 reuses the built binary.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
source "$ROOT/scripts/bench/lib.sh"

N="${1:-2000}"
R="${2:-400}"
command -v sipp >/dev/null || { echo "sipp missing: apt-get install -y sip-tester" >&2; exit 1; }
motp_build release-server

DIR="$(mktemp -d /tmp/motp-scale.XXXXXX)"
SIPP_PID=""
SAMPLER_PID=""
cleanup() {
  motp_stop
  [[ -n "$SAMPLER_PID" ]] && kill "$SAMPLER_PID" 2>/dev/null || true
  [[ -n "$SIPP_PID" ]] && kill "$SIPP_PID" 2>/dev/null || true
  rm -rf "$DIR"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket,sys; s=socket.socket(socket.AF_INET, int(sys.argv[1])); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' "$1"; }
HTTP_PORT="$(free_port 1)"
SIP_PORT="$(free_port 2)"

motp_config "$DIR" "$HTTP_PORT" "sqlite://$DIR/motp.db"
# The log provider's [telephony] section gives way to SIP with a 5 s ring.
python3 - "$DIR/motp.toml" "$SIP_PORT" <<'PY'
import sys
path, port = sys.argv[1], sys.argv[2]
text = open(path).read()
head, rest = text.split("[telephony]", 1)
log = rest[rest.index("[log]"):]
open(path, "w").write(head + f"""[telephony]
provider = "sip"
ring_secs = 5
answer_timeout_secs = 20

[telephony.sip]
proxy = "127.0.0.1:{port}"
bind = "127.0.0.1:0"

""" + log)
PY
motp_keys "$DIR"

# SIPp: the phone. -m N calls, answering each INVITE as ring.xml says.
(cd "$DIR" && exec sipp -sf "$ROOT/server/tests/sipp/ring.xml" -i 127.0.0.1 -p "$SIP_PORT" -t u1 \
  -nostdin -m "$N" -timeout 600s -max_socket 65000 >"$DIR/sipp.out" 2>&1) &
SIPP_PID=$!
sleep 1
kill -0 "$SIPP_PID" || { cat "$DIR/sipp.out" >&2; exit 1; }

motp_start "$DIR"
cpu_ticks() { awk '{print $14 + $15}' "/proc/$MOTP_PID/stat"; }
# Warm up: one call, so the baseline includes a working SIP path.
python3 "$ROOT/scripts/bench/scale.py" --url "http://127.0.0.1:$HTTP_PORT" --pk "$MOTP_PK" \
  run --n 1 --rate 1 --threads 1 --settle-secs 30 >/dev/null
sleep 2
RSS_BEFORE="$(rss_kib "$MOTP_PID")"
CPU_BEFORE="$(cpu_ticks)"
(peak=0; while kill -0 "$MOTP_PID" 2>/dev/null; do
   r="$(rss_kib "$MOTP_PID")"; [[ -n "$r" && "$r" -gt "$peak" ]] && peak="$r" && echo "$peak" >"$DIR/peak"
   sleep 0.2; done) &
SAMPLER_PID=$!

LOAD_BEFORE="$(cut -d' ' -f1-3 /proc/loadavg)"
RESULT="$(python3 "$ROOT/scripts/bench/scale.py" --url "http://127.0.0.1:$HTTP_PORT" --pk "$MOTP_PK" \
  run --n "$N" --rate "$R" --threads "${MOTP_SCALE_THREADS:-32}" --settle-secs 180)"
CPU_AFTER="$(cpu_ticks)"
# After the burst: every call has settled; give the allocator a moment.
sleep 5
RSS_AFTER="$(rss_kib "$MOTP_PID")"
PEAK="$(cat "$DIR/peak" 2>/dev/null || echo 0)"
LOAD_AFTER="$(cut -d' ' -f1-3 /proc/loadavg)"
HZ="$(getconf CLK_TCK)"

python3 - "$RESULT" "$RSS_BEFORE" "$PEAK" "$RSS_AFTER" "$CPU_BEFORE" "$CPU_AFTER" "$HZ" \
  "$LOAD_BEFORE" "$LOAD_AFTER" "$(nproc)" <<'PY'
import json, sys
r = json.loads(sys.argv[1])
before, peak, after = (int(x) for x in sys.argv[2:5])
cpu = (int(sys.argv[6]) - int(sys.argv[5])) / int(sys.argv[7])
placed = max(r["placed"], 1)
print(f"N={r['n']} at {r['rate']:g}/s (creates took {r['create_secs']} s), ring 5 s, SQLite, release-server")
print(f"  placed {r['placed']}, create errors {r['create_errors'] or 0}, delivered {r['delivered']}, "
      f"failed {r['failed'] or 0}, unsettled {r['unsettled']}")
print(f"  create latency p50 {r['create_p50_ms']} ms, p99 {r['create_p99_ms']} ms")
print(f"  server RSS before {before/1024:.1f} MiB, peak {peak/1024:.1f} MiB, after {after/1024:.1f} MiB "
      f"({(after-before)/before*100:+.0f} %), peak per call {(peak-before)/placed:.2f} KiB")
print(f"  server CPU {cpu:.2f} s, {cpu/placed*1000:.2f} ms per call")
print(f"  load average before {sys.argv[8]}, after {sys.argv[9]} ({sys.argv[10]} cores, shared)")
PY
