#!/usr/bin/env bash
# Webhook delivery under the load benchmark's create rate, loopback only,
# bounded in time.
#
#   bash scripts/bench-webhooks.sh
#
# Builds `motp` (release-server profile), starts `motp serve` on 127.0.0.1
# (SQLite in a temp dir, or BENCH_DATABASE_URL), a receiver on 127.0.0.1
# that answers 204 to every POST (Python ThreadingHTTPServer), then:
#   1. create, no endpoint     wrk POST /v1/verifications for BENCH_SECONDS
#   2. create, one endpoint    the same after `motp webhooks add`: every
#                              create then commits an outbox event, and each
#                              call outcome another
# and prints both create rates, the events delivered per second during run 2
# and until the outbox is empty, and the p99 delay from commit to delivery
# (the server's motp_webhook_delay_seconds histogram: the bucket holding
# the 99th percentile).
#
# Env: BENCH_SECONDS (10, at most 30), BENCH_THREADS (2),
#      BENCH_CONNECTIONS (16), BENCH_PROFILE (release-server),
#      BENCH_DATABASE_URL (default: SQLite in the temp dir).
set -euo pipefail
cd "$(dirname "$0")/.."

SECS="${BENCH_SECONDS:-10}"
(( SECS > 30 )) && SECS=30
THREADS="${BENCH_THREADS:-2}"
CONNS="${BENCH_CONNECTIONS:-16}"
PROFILE="${BENCH_PROFILE:-release-server}"

command -v wrk >/dev/null || apt-get install -y -q wrk >/dev/null
command -v curl >/dev/null || apt-get install -y -q curl >/dev/null

cargo build -q --profile "$PROFILE" -p motp-server --features jemalloc
case "$PROFILE" in dev) DIR=debug ;; *) DIR="$PROFILE" ;; esac
BIN="${CARGO_TARGET_DIR:-target}/$DIR/motp"

WORK="$(mktemp -d /tmp/motp-whbench.XXXXXX)"
PID=""; RPID=""
cleanup() {
  [[ -n "$PID" ]] && kill "$PID" 2>/dev/null && wait "$PID" 2>/dev/null || true
  [[ -n "$RPID" ]] && kill "$RPID" 2>/dev/null && wait "$RPID" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
PORT="$(free_port)"; RPORT="$(free_port)"
URL="http://127.0.0.1:$PORT"
DB="${BENCH_DATABASE_URL:-sqlite://$WORK/motp.db}"

cat >"$WORK/receiver.py" <<'PY'
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_POST(self):
        self.rfile.read(int(self.headers.get("content-length", 0)))
        self.send_response(204); self.send_header("content-length", "0"); self.end_headers()
    def log_message(self, *a): pass
ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
PY
python3 "$WORK/receiver.py" "$RPORT" &
RPID=$!

cat >"$WORK/motp.toml" <<TOML
[server]
listen = "127.0.0.1:$PORT"

[database]
url = "$DB"

[codes]
ranges = [{ prefix = "+4420794", code_length = 6 }]
ttl_secs = 3600

[limits]
daily_cap_per_destination = 1000000
hourly_cap_per_destination = 1000000
per_ip_per_minute = 1000000000
per_ip_burst = 1000000000
per_app_per_minute = 1000000000
per_app_burst = 1000000000
allowed_countries = ["GB"]

[telephony]
provider = "log"
ring_secs = 0

[log]
filter = "warn"
TOML

KEYS="$("$BIN" keys create --app bench --json --config "$WORK/motp.toml")"
PK="$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["publishable_key"])' "$KEYS")"

"$BIN" serve --config "$WORK/motp.toml" >"$WORK/server.log" 2>&1 &
PID=$!
for _ in $(seq 100); do
  curl -fsS -o /dev/null "$URL/healthz" 2>/dev/null && break
  kill -0 "$PID" 2>/dev/null || { cat "$WORK/server.log" >&2; exit 1; }
  sleep 0.1
done

cat >"$WORK/create.lua" <<'LUA'
local key = os.getenv("BENCH_KEY")
local run = tonumber(os.getenv("BENCH_RUN"))
local counter, seq = 0, 0
function setup(thread) counter = counter + 1; thread:set("tid", counter) end
local headers = { ["Authorization"] = "Bearer " .. key, ["Content-Type"] = "application/json" }
function request()
  seq = seq + 1
  local n = string.format("+4474%02d%d%05d", run, tid % 10, seq % 100000)
  return wrk.format("POST", "/v1/verifications", headers, '{"phone_number":"' .. n .. '"}')
end
function done(summary, latency, requests)
  io.write(string.format("RESULT %.0f %.2f %.2f\n", summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
LUA

create() { # run-number
  BENCH_RUN="$1" BENCH_KEY="$PK" wrk -t"$THREADS" -c"$CONNS" -d"${SECS}s" --timeout 5s \
    -s "$WORK/create.lua" "$URL" | awk '/^RESULT/ { print $2, $3, $4 }'
}
metric() { curl -fsS "$URL/metrics" | awk -v m="$1" '$1 == m { print $2 }'; }
now() { date +%s.%N; }

read -r RATE1 P50_1 P99_1 < <(create 1)
"$BIN" webhooks add --app bench --url "http://127.0.0.1:$RPORT/hook" --json --config "$WORK/motp.toml" >/dev/null
BEFORE="$(metric 'motp_webhook_attempts_total{result="delivered"}')"; BEFORE="${BEFORE:-0}"
T0="$(now)"
read -r RATE2 P50_2 P99_2 < <(create 2)
T1="$(now)"
DURING="$(metric 'motp_webhook_attempts_total{result="delivered"}')"
for _ in $(seq 600); do # drain: at most 60 s
  [[ "$(metric motp_webhook_backlog)" == 0 ]] && break
  sleep 0.1
done
T2="$(now)"
AFTER="$(metric 'motp_webhook_attempts_total{result="delivered"}')"
RETRIES="$(metric 'motp_webhook_attempts_total{result="retry"}')"
curl -fsS "$URL/metrics" | grep '^motp_webhook_delay_seconds' >"$WORK/hist"

python3 - "$WORK/hist" <<PY
import sys, re
b = []
count = 0
for line in open(sys.argv[1]):
    m = re.match(r'motp_webhook_delay_seconds_bucket\{le="([^"]+)"\} (\S+)', line)
    if m: b.append((float(m.group(1)), float(m.group(2))))
    m = re.match(r'motp_webhook_delay_seconds_count (\S+)', line)
    if m: count = float(m.group(1))
p99 = next((le for le, c in b if c >= 0.99 * count), float("inf"))
p50 = next((le for le, c in b if c >= 0.50 * count), float("inf"))
prev = max([le for le, c in b if le < p99] or [0])
print(f"create, no endpoint:   {float('$RATE1'):.0f}/s (p50 $P50_1 ms, p99 $P99_1 ms)")
print(f"create, one endpoint:  {float('$RATE2'):.0f}/s (p50 $P50_2 ms, p99 $P99_2 ms)")
during = (float('$DURING') - float('$BEFORE')) / (float('$T1') - float('$T0'))
total = (float('$AFTER') - float('$BEFORE')) / (float('$T2') - float('$T0'))
print(f"events delivered:      {float('$AFTER') - float('$BEFORE'):.0f} ({during:.0f}/s during the run, {total:.0f}/s until the outbox was empty, drained {float('$T2') - float('$T1'):.1f} s after the run; {float('${RETRIES:-0}'):.0f} retries)")
print(f"delay commit->2xx:     p50 <= {p50*1000:.0f} ms, p99 in ({prev*1000:.0f}, {p99*1000:.0f}] ms ({count:.0f} deliveries)")
PY
