#!/usr/bin/env bash
# Crash test (issue 8 item 2): `kill -9` the server repeatedly under load, restart
# it, then compare every create (201) and approval (200) the client saw
# acknowledged with what the database holds. Exits non-zero if anything is lost.
#
# Usage: bash scripts/crash-test.sh
# Env:   CRASH_KILLS (5) CRASH_INTERVAL (6 s between kills, jittered +-50%)
#        CRASH_THREADS (8 client threads) MOTP_PROFILE (dev; or release-server)
#        CRASH_SYNCHRONOUS (normal; or full) — the SQLite synchronous setting
#
# The client (scripts/bench/motpctl.py drive) runs create -> code from the dev
# hook -> (every 4th: a wrong code, 422) -> right code -> 200 in 8 threads and
# appends "C id" / "A id" to a log only after the server answered 201 / 200.
# Requests in flight at the kill get a transport error and are not counted.
# Afterwards each logged id is looked up twice: through GET on the restarted
# server, and in the SQLite file itself with the sqlite3 CLI after a clean stop.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
HERE="$ROOT/scripts/bench"
# shellcheck source=bench/lib.sh
source "$HERE/lib.sh"

KILLS="${CRASH_KILLS:-5}"
INTERVAL="${CRASH_INTERVAL:-6}"
THREADS="${CRASH_THREADS:-8}"

command -v sqlite3 >/dev/null || apt-get install -y -q sqlite3 >/dev/null
command -v curl >/dev/null || apt-get install -y -q curl >/dev/null

WORK="$(mktemp -d /tmp/motp-crash.XXXXXX)"
DRIVER=""
cleanup() {
  [[ -n "$DRIVER" ]] && kill "$DRIVER" 2>/dev/null || true
  motp_stop || true
  [[ "${CRASH_KEEP:-0}" == 1 ]] || rm -rf "$WORK"
}
trap cleanup EXIT

motp_build "${MOTP_PROFILE:-dev}"
motp_pin "$WORK"
PORT="$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')"
DB="$WORK/motp.db"
MOTP_BENCH_LOG=info motp_config "$WORK" "$PORT" "sqlite://$DB"
if [[ -n "${CRASH_SYNCHRONOUS:-}" ]]; then
  sed -i "/^\[database\]/a sqlite_synchronous = \"$CRASH_SYNCHRONOUS\"" "$WORK/motp.toml"
fi
motp_keys "$WORK"
motp_start "$WORK"
URL="http://127.0.0.1:$PORT"
echo "server pid $MOTP_PID on $URL, database $DB"

python3 "$HERE/motpctl.py" --url "$URL" --pk "$MOTP_PK" --sk "$MOTP_SK" \
  drive --threads "$THREADS" --timeout 5 --log "$WORK/acks.log" --summary "$WORK/drive.json" \
  >"$WORK/drive.out" 2>&1 &
DRIVER=$!

for k in $(seq 1 "$KILLS"); do
  # jitter: INTERVAL * [0.5, 1.5)
  sleep "$(python3 -c "import random;print(round($INTERVAL*(0.5+random.random()),2))")"
  acked="$(grep -c '^C ' "$WORK/acks.log" 2>/dev/null || true)"
  kill -KILL "$MOTP_PID"
  wait "$MOTP_PID" 2>/dev/null || true
  echo "kill -9 #$k (pid $MOTP_PID) after ${acked:-0} acknowledged creates"
  motp_start "$WORK"
done
sleep 2
kill -TERM "$DRIVER"; wait "$DRIVER" || true; DRIVER=""
echo "client outcomes: $(cat "$WORK/drive.out")"

echo "--- via the API (restarted server)"
api_rc=0
python3 "$HERE/motpctl.py" --url "$URL" --pk "$MOTP_PK" verify --log "$WORK/acks.log" || api_rc=$?
motp_stop TERM
echo "--- via the database file (sqlite3, server stopped)"
sqlite3 "$DB" "select id, status from verifications" >"$WORK/dump.txt"
db_rc=0
python3 "$HERE/motpctl.py" --pk x verify --log "$WORK/acks.log" --dump "$WORK/dump.txt" || db_rc=$?
if grep -qi 'panicked' "$WORK/server.log"; then
  echo "server log shows a panic:"; grep -i -m5 panicked "$WORK/server.log"; exit 1
fi
if [[ $api_rc != 0 || $db_rc != 0 ]]; then echo "CRASH TEST FAILED"; exit 1; fi
creates="$(grep -c '^C ' "$WORK/acks.log" || true)"
[[ "${creates:-0}" -gt 0 ]] || { echo "no create was acknowledged: the test proved nothing"; exit 1; }
echo "crash test passed: $KILLS x kill -9, lost=0"
