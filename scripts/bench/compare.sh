#!/usr/bin/env bash
# Load benchmark, one run, one table (issue 8 item 1):
#   mOTP create and check on SQLite and on PostgreSQL, beside privacyIDEA
#   /validate/check (SQLite, gunicorn -w 2, HOTP token), same machine, same
#   wrk settings, one after the other so they never compete for the CPU.
#
# Usage: bash scripts/bench/compare.sh
# Env:   BENCH_SECONDS (10) BENCH_THREADS (2) BENCH_CONNECTIONS (16)
#        BENCH_WARMUP (2 s, not measured) BENCH_SEED (2000 verifications for check)
#        BENCH_SKIP_PG=1, BENCH_SKIP_PI=1 to leave a column out
#        BENCH_PRELOAD=N: N verifications (and N call records) written into
#          each mOTP database before its server starts (issue 16 item 5); the
#          start-up time and the server's RSS after the run are printed
#        BENCH_TABLE=file to also write the table there
#
# The floor (issue 16 item 1): server/examples/bench_floor.rs, a bare axum
# server answering the same check request with the same 422 problem+json,
# no storage, no key lookup, no HMAC, no limiter; measured first with the
# same wrk settings. Every row's "of floor" is its req/s over the floor's.
#
# Columns: requests/s, latency p50/p99, errors (unexpected status or body,
# plus wrk's connect/read/write/timeout errors), and the server side's CPU
# time per request (for PostgreSQL: motp + the database processes).
#
# What is measured (see docs/proof.md for the reasoning):
#   create: POST /v1/verifications, a new UK mobile number each time, log
#           provider; 201 expected. The call is placed after the response.
#   check:  POST /v1/verifications/{id}/check with a WRONG code, spread over
#           BENCH_SEED verifications made beforehand; 422 expected. The attempt
#           budget is raised so every request does the full work (load, HMAC,
#           constant-time compare, attempt counter write) and none is a 410.
#   privacyIDEA check: GET /validate/check?serial=BENCH1&pass=000000 on an HOTP
#           token whose fail counter limit is raised; 200 "value": false
#           expected. The same failed-check path on both sides.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
HERE="$ROOT/scripts/bench"
# shellcheck source=lib.sh
source "$HERE/lib.sh"

SECS="${BENCH_SECONDS:-10}"
THREADS="${BENCH_THREADS:-2}"
CONNS="${BENCH_CONNECTIONS:-16}"
WARMUP="${BENCH_WARMUP:-2}"
SEED="${BENCH_SEED:-2000}"
LOAD0="$(cut -d' ' -f1-3 /proc/loadavg)"

command -v wrk >/dev/null || apt-get install -y -q wrk >/dev/null
command -v curl >/dev/null || apt-get install -y -q curl >/dev/null

WORK="$(mktemp -d /tmp/motp-bench.XXXXXX)"
chmod 755 "$WORK"
PG_DIR="$WORK/pg"
PI_DIR="$WORK/pi"
cleanup() {
  motp_stop || true
  [[ "${BENCH_SKIP_PI:-0}" == 1 ]] || bash "$HERE/privacyidea.sh" stop "$PI_DIR" || true
  [[ "${BENCH_SKIP_PG:-0}" == 1 ]] || bash "$HERE/pg.sh" stop "$PG_DIR" || true
  [[ "${BENCH_KEEP:-0}" == 1 ]] || rm -rf "$WORK"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }

echo "== building motp and the floor (release-server profile)" >&2
motp_build release-server
motp_pin "$WORK"
FLOOR_BIN="${CARGO_TARGET_DIR:-$ROOT/target}/release-server/examples/bench_floor"
if [[ "${MOTP_SKIP_BUILD:-0}" != 1 || ! -x "$FLOOR_BIN" ]]; then
  (cd "$ROOT" && cargo build -q --profile release-server -p motp-server --example bench_floor)
fi
cp "$FLOOR_BIN" "$WORK/bench_floor"
PRELOAD="${BENCH_PRELOAD:-0}"

# CPU time (user + system, children included, in clock ticks) of the server
# side: the processes SERVER_PIDS names and their children. Divided by the
# requests served it gives CPU per request, which, unlike requests/s, hardly
# depends on what else the machine is doing.
SERVER_PIDS=()
cpu_ticks() {
  local p all=() total=0
  for p in "${SERVER_PIDS[@]}"; do all+=("$p"); mapfile -t -O "${#all[@]}" all < <(pgrep -P "$p"); done
  for p in "${all[@]}"; do
    total=$((total + $(awk '{print $14+$15+$16+$17}' "/proc/$p/stat" 2>/dev/null || echo 0)))
  done
  echo "$total"
}
TICK="$(getconf CLK_TCK)"

ROWS=()   # "label backend op rps p50 p99 errors cpu_ms", printed at the end
NOTES=()  # start-up time and RSS lines (BENCH_PRELOAD)
# run_wrk LABEL BACKEND OPERATION URL MODE
run_wrk() {
  local label="$1" backend="$2" op="$3" url="$4" mode="$5" out="$WORK/wrk-$1-$2-$3.txt"
  BENCH_MODE="$mode" wrk -t"$THREADS" -c"$CONNS" -d"${WARMUP}s" --timeout 10s \
    -s "$HERE/wrk.lua" "$url" >/dev/null
  local cpu0 cpu1
  cpu0="$(cpu_ticks)"
  BENCH_MODE="$mode" BENCH_OUT="$out" wrk -t"$THREADS" -c"$CONNS" -d"${SECS}s" --timeout 10s \
    -s "$HERE/wrk.lua" "$url" >"$out.log"
  cpu1="$(cpu_ticks)"
  grep BENCH-SAMPLE "$out.log" >&2 || true
  local rps p50 p99 bad transport requests cpu_ms
  requests="$(sed -n 's/.*requests=\([0-9]*\).*/\1/p' "$out")"
  cpu_ms="$(awk -v d=$((cpu1 - cpu0)) -v n="$requests" -v t="$TICK" 'BEGIN{printf (n ? "%.3f" : "-"), d * 1000 / t / n}')"
  rps="$(sed -n 's/.*rps=\([0-9.]*\).*/\1/p' "$out")"
  p50="$(sed -n 's/.*p50_ms=\([0-9.]*\).*/\1/p' "$out")"
  p99="$(sed -n 's/.*p99_ms=\([0-9.]*\).*/\1/p' "$out")"
  bad="$(sed -n 's/.* bad=\([0-9]*\).*/\1/p' "$out")"
  transport="$(sed -n 's/.*transport=\([0-9]*\).*/\1/p' "$out")"
  ROWS+=("$label $backend $op $rps $p50 $p99 $((bad + transport)) $cpu_ms")
  echo "   $label $backend $op: $(cat "$out") cpu_ms_per_req=$cpu_ms" >&2
}

bench_motp() {
  local backend="$1" db="$2" port dir
  port="$(free_port)"; dir="$WORK/motp-$backend"
  # with a preload, the purge's own log line (rows, duration) is kept
  local log=warn
  ((PRELOAD == 0)) || log="warn,motp_server::server=info"
  MOTP_BENCH_LOG="$log" MOTP_BENCH_ATTEMPTS=4000000000 MOTP_BENCH_DB_CONNECTIONS=16 motp_config "$dir" "$port" "$db"
  motp_keys "$dir"
  if ((PRELOAD > 0)); then
    echo "== mOTP $backend: preloading $PRELOAD verifications" >&2
    bash "$HERE/preload.sh" "$db" "$PRELOAD" >&2
  fi
  local t0 t1
  t0="$(date +%s%N)"
  motp_start "$dir"
  t1="$(date +%s%N)"
  SERVER_PIDS=("$MOTP_PID")
  # with PostgreSQL, the database's CPU is part of the cost of a request
  [[ "$backend" != postgres ]] || SERVER_PIDS+=("$(head -1 "$PG_DIR/data/postmaster.pid")")
  local url="http://127.0.0.1:$port"
  echo "== mOTP $backend: create" >&2
  BENCH_KEY="$MOTP_PK" run_wrk mOTP "$backend" create "$url" create
  echo "== mOTP $backend: seeding $SEED verifications for check" >&2
  python3 "$HERE/motpctl.py" --url "$url" --pk "$MOTP_PK" --sk "$MOTP_SK" \
    seed --n "$SEED" --out "$dir/ids.txt" >&2
  echo "== mOTP $backend: check (wrong code)" >&2
  BENCH_KEY="$MOTP_PK" BENCH_IDS="$dir/ids.txt" run_wrk mOTP "$backend" check "$url" check
  NOTES+=("mOTP $backend: $PRELOAD verifications preloaded, start-up to /healthz $(((t1 - t0) / 1000000)) ms, server RSS after the run $(($(rss_kib "$MOTP_PID") / 1024)) MiB")
  while read -r line; do NOTES+=("  $line"); done < <(grep -o 'purged expired verifications.*' "$dir/server.log" | tr -d '\033' | sed 's/\[[0-9;]*m//g' || true)
  motp_stop
}

bench_floor() {
  local port dir="$WORK/floor"
  port="$(free_port)"; mkdir -p "$dir"
  "$WORK/bench_floor" "127.0.0.1:$port" >"$dir/server.log" 2>&1 &
  local pid=$! _
  for _ in $(seq 1 100); do curl -fsS -o /dev/null "http://127.0.0.1:$port/healthz" 2>/dev/null && break; sleep 0.1; done
  # the same request shape as mOTP's check: ids and wrong codes of the same form
  python3 -c 'import secrets
for _ in range(2000): print("vf_" + secrets.token_urlsafe(16), "%06d" % secrets.randbelow(10**6))' >"$dir/ids.txt"
  SERVER_PIDS=("$pid")
  echo "== floor: bare axum, same check request, same 422" >&2
  BENCH_KEY="pk_floor" BENCH_IDS="$dir/ids.txt" run_wrk floor none check "http://127.0.0.1:$port" check
  kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null || true
}

if [[ "${BENCH_SKIP_PI:-0}" != 1 ]]; then
  echo "== privacyIDEA: install (cached) and start" >&2
  PI_PORT="$(free_port)"
  bash "$HERE/privacyidea.sh" start "$PI_DIR" "$PI_PORT"
fi
if [[ "${BENCH_SKIP_PG:-0}" != 1 ]]; then
  echo "== PostgreSQL: throwaway cluster" >&2
  PG_URL="$(bash "$HERE/pg.sh" start "$PG_DIR" "$(free_port)")"
fi

bench_floor
bench_motp sqlite "sqlite://$WORK/motp-sqlite/motp.db"
[[ "${BENCH_SKIP_PG:-0}" == 1 ]] || bench_motp postgres "$PG_URL"
if [[ "${BENCH_SKIP_PI:-0}" != 1 ]]; then
  echo "== privacyIDEA: /validate/check (wrong OTP)" >&2
  SERVER_PIDS=("$(cat "$PI_DIR/gunicorn.pid")")
  run_wrk privacyIDEA sqlite check "http://127.0.0.1:$PI_PORT" pi
fi

PI_VER="$(bash "$HERE/privacyidea.sh" version 2>/dev/null || true)"
{
  echo "wrk -t$THREADS -c$CONNS -d${SECS}s (after a ${WARMUP}s warm-up), loopback, $(nproc) cores," \
    "load average before the run $LOAD0, $(date -u +%Y-%m-%dT%H:%MZ)," \
    "motp $(git -C "$ROOT" describe --always --dirty 2>/dev/null || echo '?') release-server," \
    "privacyIDEA ${PI_VER:-?} gunicorn -w 2, PostgreSQL $(postgres --version 2>/dev/null | awk '{print $3}')"
  echo
  echo "| system      | storage    | operation | req/s     | of floor | p50 ms   | p99 ms   | errors | CPU ms/req |"
  echo "|-------------|------------|-----------|-----------|----------|----------|----------|--------|------------|"
  floor_rps="$(awk '$1 == "floor" {print $4}' <<<"$(printf '%s\n' "${ROWS[@]}")")"
  for row in "${ROWS[@]}"; do
    read -r label backend op rps p50 p99 errors cpu_ms <<<"$row"
    frac="$(awk -v r="$rps" -v f="${floor_rps:-0}" 'BEGIN{printf (f > 0 ? "%.1f %%" : "-"), 100 * r / f}')"
    printf '| %-11s | %-10s | %-9s | %9s | %8s | %8s | %8s | %6s | %10s |\n' \
      "$label" "$backend" "$op" "$rps" "$frac" "$p50" "$p99" "$errors" "$cpu_ms"
  done
  if ((PRELOAD > 0)); then echo; printf '%s\n' "${NOTES[@]}"; fi
} | tee "${BENCH_TABLE:-/dev/null}"
