#!/usr/bin/env bash
# Load benchmark of the motp server on SQLite, loopback only, bounded in time.
#
#   bash scripts/bench-server.sh
#
# Builds `motp` with the release-server profile, starts `motp serve` on
# 127.0.0.1 (SQLite in a temp dir, log provider, dev hook on so the codes
# can be read back), creates an app, then runs wrk three times:
#   create          POST /v1/verifications, a new UK mobile number per request (201)
#   check-approve   POST /v1/verifications/{id}/check with the RIGHT code, each
#                   verification from the create run used once (200 + signed token);
#                   ends early when they are all used
#   check-wrong     the same with a wrong code (422); the attempt budget is raised
#                   so every request does the full work (load, HMAC, constant-time
#                   compare, attempt write)
# and prints requests/s, p50 and p99 for each, plus the non-expected answers.
#
# Env: BENCH_SECONDS (10, at most 30 per run), BENCH_THREADS (2),
#      BENCH_CONNECTIONS (16), BENCH_PROFILE (release-server; `dev` for a
#      quick try of the script itself), BENCH_PORT (free port).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/cargo.sh  # MOTP_CARGO_VENDOR: cargo offline from vendored crates

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

WORK="$(mktemp -d /tmp/motp-bench.XXXXXX)"
PID=""
cleanup() {
  [[ -n "$PID" ]] && kill "$PID" 2>/dev/null && wait "$PID" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

PORT="${BENCH_PORT:-$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')}"
URL="http://127.0.0.1:$PORT"
cat >"$WORK/motp.toml" <<TOML
[server]
listen = "127.0.0.1:$PORT"

[database]
url = "sqlite://$WORK/motp.db"
sqlite_synchronous = "normal"

[codes]
ranges = [{ prefix = "+4420794", code_length = 6 }]
ttl_secs = 3600
max_attempts = 1000000000

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
dev_expose_calls = true

[log]
filter = "warn"
TOML

KEYS="$("$BIN" keys create --app bench --json --config "$WORK/motp.toml")"
PK="$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["publishable_key"])' "$KEYS")"
SK="$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["secret_key"])' "$KEYS")"

"$BIN" serve --config "$WORK/motp.toml" >"$WORK/server.log" 2>&1 &
PID=$!
for _ in $(seq 100); do
  curl -fsS -o /dev/null "$URL/healthz" 2>/dev/null && break
  kill -0 "$PID" 2>/dev/null || { cat "$WORK/server.log" >&2; exit 1; }
  sleep 0.1
done

cat >"$WORK/bench.lua" <<'LUA'
local mode = os.getenv("BENCH_MODE")
local key = os.getenv("BENCH_KEY")
local expected = tonumber(os.getenv("BENCH_EXPECT"))
local threads, counter = {}, 0
function setup(thread)
  counter = counter + 1
  thread:set("tid", counter)
  table.insert(threads, thread)
end
local pairs_, seq, stride = {}, 0, 1
ok, bad = 0, 0
function init(args)
  if mode ~= "create" then
    for line in io.lines(os.getenv("BENCH_PAIRS")) do
      local id, code = line:match("^(%S+) (%S+)$")
      if id then table.insert(pairs_, { id, code }) end
    end
    -- threads take interleaved pairs, so no pair is used twice
    stride = tonumber(os.getenv("BENCH_THREADS"))
    seq = tid - 1 - stride
  end
end
local headers = { ["Authorization"] = "Bearer " .. key, ["Content-Type"] = "application/json" }
function request()
  if mode == "create" then
    seq = seq + 1
    -- distinct numbers across runs too: the run number picks the block
    local n = string.format("+4474%02d%d%05d", tonumber(os.getenv("BENCH_RUN") or 0) % 100, tid % 10, seq % 100000)
    return wrk.format("POST", "/v1/verifications", headers, '{"phone_number":"' .. n .. '"}')
  end
  seq = seq + stride
  local p = pairs_[(seq % #pairs_) + 1]
  local code = p[2]
  if mode == "check-wrong" then
    code = string.format("%06d", (tonumber(code) + 1) % 1000000)
  end
  return wrk.format("POST", "/v1/verifications/" .. p[1] .. "/check", headers, '{"code":"' .. code .. '"}')
end
local share = nil
function response(status, headers, body)
  if status == expected then ok = ok + 1 else bad = bad + 1 end
  -- check-approve: a thread stops once its share of verifications is used.
  if mode == "check-approve" then
    share = share or math.floor(#pairs_ / stride)
    if ok + bad >= share then wrk.thread:stop() end
  end
end
function done(summary, latency, requests)
  local good, other = 0, 0
  for _, t in ipairs(threads) do good = good + t:get("ok"); other = other + t:get("bad") end
  local errors = summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout
  io.write(string.format("RESULT %s %.0f %.2f %.2f %d %d %d\n", mode,
    summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    good, other, errors))
end
LUA

RUN_NO=0
run() { # mode expected-status
  RUN_NO=$((RUN_NO + 1))
  BENCH_RUN="$RUN_NO" BENCH_MODE="$1" BENCH_EXPECT="$2" BENCH_KEY="$PK" BENCH_PAIRS="$WORK/pairs.txt" BENCH_THREADS="$THREADS" \
    wrk -t"$THREADS" -c"$CONNS" -d"${SECS}s" --timeout 5s -s "$WORK/bench.lua" "$URL" | grep '^RESULT' >>"$WORK/results"
}

dump_pairs() { # the codes of the calls placed so far, from the development hook
  curl -fsS -H "Authorization: Bearer $SK" "$URL/v1/dev/calls?limit=1000000" |
    python3 -c '
import json, sys
for c in json.load(sys.stdin)["calls"]:
    print(c["verification_id"], c["caller"][len("+4420794"):])' >"$WORK/pairs.txt"
  PAIRS="$(wc -l <"$WORK/pairs.txt")"
}
settle() { # wait (at most 30 s) until every call placed so far has been recorded as delivered
  for _ in $(seq 300); do
    curl -fsS "$URL/metrics" | awk '
      /^motp_verifications_created_total[ {]/ { c += $NF }
      /^motp_verifications_delivered_total[ {]/ { d += $NF }
      END { exit !(c == d) }' && return 0
    sleep 0.1
  done
}
rate_of() { awk -v m="$1" '$2 == m { print int($3) }' "$WORK/results"; }

run create 201
settle
dump_pairs
run check-wrong 422
# Approvals use each verification once: make sure there are enough for a
# full run at the wrong-code rate (+20 %), seeding more (not measured).
NEED=$(( $(rate_of check-wrong) * SECS * 12 / 10 ))
if (( PAIRS < NEED )); then
  CREATE_RATE=$(( $(rate_of create) > 0 ? $(rate_of create) : 1 ))
  SEED_SECS=$(( (NEED - PAIRS) / CREATE_RATE + 1 ))
  (( SEED_SECS > 30 )) && SEED_SECS=30
  BENCH_RUN=50 BENCH_MODE=create BENCH_EXPECT=201 BENCH_KEY="$PK" BENCH_THREADS="$THREADS" \
    wrk -t"$THREADS" -c"$CONNS" -d"${SEED_SECS}s" -s "$WORK/bench.lua" "$URL" >/dev/null
  settle
  dump_pairs
fi
# If seeding could not make enough, shorten the run so it ends before the
# verifications do (wrk divides by the whole duration).
APPROVE_SECS=$(( PAIRS * 10 / ($(rate_of check-wrong) + 1) / 10 ))
(( APPROVE_SECS > SECS )) && APPROVE_SECS=$SECS
(( APPROVE_SECS < 2 )) && APPROVE_SECS=2
SECS_SAVED=$SECS; SECS=$APPROVE_SECS
run check-approve 200
SECS=$SECS_SAVED

echo
echo "motp-server $(git rev-parse --short HEAD 2>/dev/null || echo '?') ($PROFILE), SQLite WAL synchronous=normal, log provider"
echo "wrk -t$THREADS -c$CONNS -d${SECS}s (check-approve ${APPROVE_SECS}s) on 127.0.0.1, $(nproc) cores; $PAIRS verifications for the checks"
printf '%-14s %10s %9s %9s %10s %8s %7s\n' run "req/s" "p50 ms" "p99 ms" expected other errors
while read -r _ mode rps p50 p99 good other errors; do
  printf '%-14s %10s %9s %9s %10s %8s %7s\n' "$mode" "$rps" "$p50" "$p99" "$good" "$other" "$errors"
done <"$WORK/results"
echo "(check-approve stops when the $PAIRS verifications are used up; 'other' = 409s from requests already in flight)"
