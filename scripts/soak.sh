#!/usr/bin/env bash
# Soak (issue 8 item 3): SOAK_SECONDS (default 600) of moderate load on one
# `motp serve` (SQLite); the server's resident memory (VmRSS) is sampled every
# SOAK_SAMPLE seconds. Fails if any request fails or RSS keeps growing.
#
# Usage: bash scripts/soak.sh
# Env:   SOAK_SECONDS (600) SOAK_RATE (100 flows/s) SOAK_THREADS (8)
#        SOAK_SAMPLE (5 s) MOTP_PROFILE (release-server)
#        SOAK_MODE (shipped | dev, default shipped):
#          shipped  the server as configured for production (no dev hook); each
#                   flow is create (201) -> wrong code (422) -> GET (200) -> DELETE (204)
#          dev      telephony.dev_expose_calls on; each flow is create (201) -> code
#                   from GET /v1/dev/calls/{id} -> every 4th flow a wrong code (422)
#                   -> the right code (200, token) -> GET (200, approved). The dev
#                   hook keeps the last 200,000 placed calls in memory by design, so
#                   in this mode RSS grows by that record (bounded, dev only).
#        SOAK_RSS_SLACK_PCT (10): end RSS may exceed the RSS at the first quarter
#        of the run by at most this many percent (or 8 MiB, whichever is larger);
#        the first quarter is warm-up: allocator arenas and SQLite page caches fill.
#        SOAK_PRELOAD (150000): creates sent with wrk before the measured run, so
#        that the server's bounded caches (the SQLite row cache keeps up to
#        100,000 verifications, then starts over) are full when measuring
#        starts: what must stay flat is memory once every bound is reached.
#        Ten minutes at 100 flows/s make only 60,000 verifications. 0: none.
#
# Flows are paced to SOAK_RATE per second in total (4 to 5 requests per flow).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
HERE="$ROOT/scripts/bench"
# shellcheck source=bench/lib.sh
source "$HERE/lib.sh"

SECS="${SOAK_SECONDS:-600}"
RATE="${SOAK_RATE:-100}"
THREADS="${SOAK_THREADS:-8}"
SAMPLE="${SOAK_SAMPLE:-5}"
SLACK="${SOAK_RSS_SLACK_PCT:-10}"
MODE="${SOAK_MODE:-shipped}"

command -v curl >/dev/null || apt-get install -y -q curl >/dev/null
command -v wrk >/dev/null || apt-get install -y -q wrk >/dev/null
PRELOAD="${SOAK_PRELOAD:-150000}"
WORK="$(mktemp -d /tmp/motp-soak.XXXXXX)"
DRIVER="" WRK=""
cleanup() {
  [[ -n "$DRIVER" ]] && kill "$DRIVER" 2>/dev/null || true
  [[ -n "$WRK" ]] && kill "$WRK" 2>/dev/null || true
  motp_stop || true
  [[ "${SOAK_KEEP:-0}" == 1 ]] || rm -rf "$WORK"
}
trap cleanup EXIT

motp_build "${MOTP_PROFILE:-release-server}"
motp_pin "$WORK"
PORT="$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')"
motp_config "$WORK" "$PORT" "sqlite://$WORK/motp.db"
FLOW_ARGS=(--get-after)
if [[ "$MODE" == shipped ]]; then
  sed -i 's/^dev_expose_calls = true/dev_expose_calls = false/' "$WORK/motp.toml"
  FLOW_ARGS=(--no-hook)
fi
motp_keys "$WORK"
motp_start "$WORK"
URL="http://127.0.0.1:$PORT"
RSS0="$(rss_kib "$MOTP_PID")"
if [[ "$PRELOAD" -gt 0 ]]; then
  command -v sqlite3 >/dev/null || apt-get install -y -q sqlite3 >/dev/null
  BENCH_MODE=create BENCH_KEY="$MOTP_PK" BENCH_OUT="$WORK/preload.txt" \
    wrk -t2 -c8 -d1800s --timeout 10s -s "$HERE/wrk.lua" "$URL" >/dev/null &
  WRK=$!
  until [[ "$(sqlite3 "$WORK/motp.db" 'select count(*) from verifications' 2>/dev/null || echo 0)" -ge "$PRELOAD" ]]; do
    kill -0 "$WRK" 2>/dev/null || { echo "preload: wrk ended early"; exit 1; }
    sleep 1
  done
  kill -INT "$WRK"; wait "$WRK" || true; WRK=""
  echo "preload: $(cat "$WORK/preload.txt"); RSS $((RSS0 / 1024)) -> $(($(rss_kib "$MOTP_PID") / 1024)) MiB"
  grep -q ' bad=0 transport=0' "$WORK/preload.txt" || { echo "preload had errors"; exit 1; }
fi
echo "soak ($MODE): ${SECS}s, $RATE flows/s, $THREADS client threads, server pid $MOTP_PID"

python3 "$HERE/motpctl.py" --url "$URL" --pk "$MOTP_PK" --sk "$MOTP_SK" \
  drive --threads "$THREADS" --rate "$RATE" --seconds "$SECS" "${FLOW_ARGS[@]}" --strict \
  --summary "$WORK/drive.json" >"$WORK/drive.out" 2>&1 &
DRIVER=$!

echo "t_s,rss_kib" >"$WORK/rss.csv"
start=$(date +%s)
while kill -0 "$DRIVER" 2>/dev/null; do
  now=$(( $(date +%s) - start ))
  rss="$(rss_kib "$MOTP_PID")"
  [[ -n "$rss" ]] || { echo "server died"; exit 1; }
  echo "$now,$rss" >>"$WORK/rss.csv"
  sleep "$SAMPLE"
done
drv_rc=0; wait "$DRIVER" || drv_rc=$?; DRIVER=""
echo "$(( $(date +%s) - start )),$(rss_kib "$MOTP_PID")" >>"$WORK/rss.csv"
cp "$WORK/rss.csv" "${SOAK_RSS_CSV:-/dev/null}" 2>/dev/null || true

rc=0
python3 - "$WORK/rss.csv" "$WORK/drive.json" "$SLACK" "$RSS0" <<'PY' || rc=$?
import csv, json, sys
rows = [(int(r["t_s"]), int(r["rss_kib"])) for r in csv.DictReader(open(sys.argv[1]))]
d = json.load(open(sys.argv[2]))
slack = float(sys.argv[3])
t_end = rows[-1][0]
base = [r for r in rows if r[0] >= t_end / 4][0]
mib = lambda k: f"{k / 1024:.1f} MiB"
total = sum(d["counts"].values())
print(f"duration {t_end}s, {len(rows)} RSS samples")
print(f"RSS at server start {mib(int(sys.argv[4]))}; measured phase: start {mib(rows[0][1])}, at {base[0]}s {mib(base[1])}, end {mib(rows[-1][1])}, max {mib(max(r[1] for r in rows))}")
print(f"outcomes {json.dumps(d['counts'], sort_keys=True)}; unexpected {d['unexpected']}")
allowed = max(base[1] * slack / 100, 8 * 1024)
growth = rows[-1][1] - base[1]
ok = d["unexpected"] == 0 and growth <= allowed
print(f"RSS growth after warm-up {growth / 1024:+.1f} MiB (allowed {allowed / 1024:.1f} MiB); "
      f"errors {d['unexpected']} -> {'PASS' if ok else 'FAIL'}")
sys.exit(0 if ok else 1)
PY
[[ $drv_rc == 0 && $rc == 0 ]] || exit 1
