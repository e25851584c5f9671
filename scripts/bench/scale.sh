#!/usr/bin/env bash
# The scale benchmark (issue 19 item 4), beside the load benchmark
# (compare.sh): `motp serve` (release-server build, SQLite) with the SIP
# provider and a ring time of 5 s, SIPp as a phone that lets every call ring
# (server/tests/sipp/ring.xml: 100, 180, then 200/487 to the CANCEL), and
# scale.py creating N verifications at R per second and following each to
# its outcome. Abuse limits are lifted (lib.sh), trunk limits are off.
#
#   bash scripts/bench/scale.sh [N] [R] [RING]   default 2000 400 5
#
# RING is the ring time in seconds (5, as deployed); calls in flight at
# once are about R × RING.
#
# Two bursts of N, on a cold server and then on the same server warm. For
# each: calls placed, delivered, failed by reason, create latency p50/p99,
# server RSS before / peak / after the burst, the most calls in flight at
# once and the memory per call in flight, CPU per call, and the load average
# (the machine may be shared). Loopback only; bounded by 2 × (N/R + ring
# time + settle). MOTP_SKIP_BUILD=1 reuses the built binary.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
source "$ROOT/scripts/bench/lib.sh"

N="${1:-2000}"
R="${2:-400}"
RING="${3:-5}"
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
# The log provider's [telephony] section gives way to SIP with a RING s ring.
python3 - "$DIR/motp.toml" "$SIP_PORT" "$RING" <<'PY'
import sys
path, port, ring = sys.argv[1], sys.argv[2], sys.argv[3]
text = open(path).read()
head, rest = text.split("[telephony]", 1)
log = rest[rest.index("[log]"):]
open(path, "w").write(head + f"""[telephony]
provider = "sip"
ring_secs = {ring}
answer_timeout_secs = 20

[telephony.sip]
proxy = "127.0.0.1:{port}"
bind = "127.0.0.1:0"

""" + log)
PY
motp_keys "$DIR"

# SIPp: the phone. -m: the warm-up call and two bursts, answering each
# INVITE as ring.xml says.
(cd "$DIR" && exec sipp -sf "$ROOT/server/tests/sipp/ring.xml" -i 127.0.0.1 -p "$SIP_PORT" -t u1 \
  -nostdin -m "$((2 * N + 1))" -timeout 900s -max_socket 65000 >"$DIR/sipp.out" 2>&1) &
SIPP_PID=$!
sleep 1
kill -0 "$SIPP_PID" || { cat "$DIR/sipp.out" >&2; exit 1; }

motp_start "$DIR"
cpu_ticks() { awk '{print $14 + $15}' "/proc/$MOTP_PID/stat"; }
# Every 0.2 s: the server's RSS and its calls in flight (the trunk gauge of
# /metrics), keeping the highest of each.
calls_in_flight() {
  curl -s --max-time 1 "http://127.0.0.1:$HTTP_PORT/metrics" |
    awk '/^motp_trunk_calls_in_flight/ {n += $2} END {print n + 0}'
}
# Warm up: one call, so the baseline includes a working SIP path.
python3 "$ROOT/scripts/bench/scale.py" --url "http://127.0.0.1:$HTTP_PORT" --pk "$MOTP_PK" \
  run --n 1 --rate 1 --threads 1 --first 999999 --settle-secs 30 >/dev/null
sleep 4

# burst LABEL FIRST: N creates at R/s from phone number FIRST on, followed to
# their outcomes; prints the report.
burst() {
  local label="$1" first="$2"
  local rss_before cpu_before load_before result cpu_after rss_after load_after
  rss_before="$(rss_kib "$MOTP_PID")"
  cpu_before="$(cpu_ticks)"
  load_before="$(cut -d' ' -f1-3 /proc/loadavg)"
  rm -f "$DIR/peak" "$DIR/calls"
  (peak=0; calls=0; while kill -0 "$MOTP_PID" 2>/dev/null; do
     r="$(rss_kib "$MOTP_PID")"; [[ -n "$r" && "$r" -gt "$peak" ]] && peak="$r" && echo "$peak" >"$DIR/peak"
     c="$(calls_in_flight)"; [[ -n "$c" && "$c" -gt "$calls" ]] && calls="$c" && echo "$calls" >"$DIR/calls"
     sleep 0.2; done) &
  SAMPLER_PID=$!
  result="$(python3 "$ROOT/scripts/bench/scale.py" --url "http://127.0.0.1:$HTTP_PORT" --pk "$MOTP_PK" \
    run --n "$N" --rate "$R" --threads "${MOTP_SCALE_THREADS:-32}" --first "$first" --settle-secs 180)"
  cpu_after="$(cpu_ticks)"
  # Every call has settled; the server returns free memory once it has had
  # no call in flight for 3 s (server/src/memory.rs).
  sleep 6
  rss_after="$(rss_kib "$MOTP_PID")"
  kill "$SAMPLER_PID" 2>/dev/null || true
  wait "$SAMPLER_PID" 2>/dev/null || true
  SAMPLER_PID=""
  load_after="$(cut -d' ' -f1-3 /proc/loadavg)"
  python3 - "$result" "$rss_before" "$(cat "$DIR/peak" 2>/dev/null || echo 0)" "$rss_after" \
    "$cpu_before" "$cpu_after" "$(getconf CLK_TCK)" "$load_before" "$load_after" "$(nproc)" \
    "$(cat "$DIR/calls" 2>/dev/null || echo 0)" "$label" "$RING" <<'PY'
import json, sys
r = json.loads(sys.argv[1])
before, peak, after = (int(x) for x in sys.argv[2:5])
cpu = (int(sys.argv[6]) - int(sys.argv[5])) / int(sys.argv[7])
placed = max(r["placed"], 1)
calls = max(int(sys.argv[11]), 1)
print(f"{sys.argv[12]}: N={r['n']} at {r['rate']:g}/s (creates took {r['create_secs']} s), ring {sys.argv[13]} s, SQLite, release-server")
print(f"  placed {r['placed']}, create errors {r['create_errors'] or 0}, delivered {r['delivered']}, "
      f"failed {r['failed'] or 0}, unsettled {r['unsettled']}")
print(f"  create latency p50 {r['create_p50_ms']} ms, p99 {r['create_p99_ms']} ms")
print(f"  server RSS before {before/1024:.1f} MiB, peak {peak/1024:.1f} MiB, after {after/1024:.1f} MiB "
      f"({(after-before)/before*100:+.0f} %)")
print(f"  calls in flight at most {calls}; at the peak {(peak-before)/calls:.2f} KiB per call in flight "
      f"(peak - before), {(peak-after)/calls:.2f} KiB (peak - after)")
print(f"  server CPU {cpu:.2f} s, {cpu/placed*1000:.2f} ms per call")
print(f"  load average before {sys.argv[8]}, after {sys.argv[9]} ({sys.argv[10]} cores, shared)")
PY
}

# The first burst meets a cold server: its caches (SQLite's pages, the
# verification rows) fill as the database grows. The second, of new
# numbers, shows what a burst costs a server that has already worked.
burst "first burst (cold server)" 0
burst "second burst (warm server)" "$N"
