#!/usr/bin/env bash
# Where the server's CPU goes (issue 16 item 3): `perf record` (cpu-clock
# sampling, 999 Hz) on `motp serve` while wrk runs one operation, then the
# samples grouped by component (SQLite, phone-number parsing, HMAC/SHA-2,
# JSON, HTTP, tokio, tracing, kernel …) as a share of the server's samples.
#
#   bash scripts/bench/profile.sh [create|check] [sqlite|postgres-URL]
# Env: PROFILE_SECONDS (8), MOTP_BIN (else builds release-server), BENCH_* as
# in compare.sh (limits lifted, huge attempt budget).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
HERE="$ROOT/scripts/bench"
# shellcheck source=lib.sh
source "$HERE/lib.sh"
op="${1:-check}" db="${2:-sqlite}"
secs="${PROFILE_SECONDS:-8}"
command -v perf >/dev/null || apt-get install -y -q linux-perf >/dev/null
[[ -n "$MOTP_BIN" ]] || motp_build release-server
WORK="$(mktemp -d /tmp/motp-prof.XXXXXX)"
trap 'motp_stop || true; rm -rf "$WORK"' EXIT
port="$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')"
[[ "$db" == sqlite ]] && db="sqlite://$WORK/motp.db"
MOTP_BENCH_ATTEMPTS=4000000000 MOTP_BENCH_DB_CONNECTIONS=16 motp_config "$WORK" "$port" "$db"
motp_keys "$WORK"
motp_start "$WORK"
url="http://127.0.0.1:$port"
if [[ "$op" == check ]]; then
  python3 "$HERE/motpctl.py" --url "$url" --pk "$MOTP_PK" --sk "$MOTP_SK" seed --n 2000 --out "$WORK/ids.txt" >&2
fi
BENCH_MODE="$op" BENCH_KEY="$MOTP_PK" BENCH_IDS="$WORK/ids.txt" wrk -t2 -c16 -d2s -s "$HERE/wrk.lua" "$url" >/dev/null
perf record -q -F 999 -p "$MOTP_PID" -o "$WORK/perf.data" -- sleep "$secs" 2>/dev/null &
rec=$!
BENCH_MODE="$op" BENCH_KEY="$MOTP_PK" BENCH_IDS="$WORK/ids.txt" BENCH_OUT="$WORK/out" \
  wrk -t2 -c16 -d"${secs}s" -s "$HERE/wrk.lua" "$url" >/dev/null
wait "$rec" || true
echo "# $op on ${db%%:*}: $(cat "$WORK/out")"
perf report -i "$WORK/perf.data" --no-children --sort sym --stdio -q 2>/dev/null |
  awk -v top="${PROFILE_TOP:-0}" '
    $1 ~ /%$/ {
      pct = $1; sub(/%/, "", pct); line = $0; sub(/^[ \t]*[0-9.]+%[ \t]+/, "", line)
      if (top > 0 && shown < top) { printf "  %6.2f%%  %s\n", pct, substr(line, 1, 110); shown++ }
      c = "other (allocator, std, misc.)"
      if (line ~ /\[k\]/) c = "kernel (network, syscalls, scheduling)"
      else if (line ~ /sqlite3|libsqlite/) c = "SQLite engine"
      else if (line ~ /sqlx/) c = "sqlx (statement, row decoding, worker hand-off)"
      else if (line ~ /phonenumber|regex|fancy_regex|aho_corasick/) c = "phone numbers (phonenumber, regex)"
      else if (line ~ /sha2|hmac|Sha256|sha256|compress256/) c = "HMAC / SHA-256 (codes, key hash)"
      else if (line ~ /ed25519|curve25519/) c = "Ed25519"
      else if (line ~ /serde_json|serde/) c = "JSON (serde_json)"
      else if (line ~ /hyper|http::|httparse|axum|tower/) c = "HTTP (hyper, axum)"
      else if (line ~ /tokio|mio|parking_lot|crossbeam/) c = "tokio runtime"
      else if (line ~ /tracing|fmt::/) c = "tracing, formatting"
      else if (line ~ /prometheus|metrics/) c = "metrics"
      else if (line ~ /malloc|free|realloc|memcpy|memmove|memset|_int_|cfree/) c = "allocator, memcpy"
      else if (line ~ /motp_server|motp_core/) c = "mOTP code"
      sum[c] += pct
    }
    END { for (c in sum) printf "%6.1f%%  %s\n", sum[c], c | "sort -rn" }'
