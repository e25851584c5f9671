# shellcheck shell=bash
# Shared helpers for the proof scripts (compare.sh, crash-test.sh, soak.sh,
# test.d/60-conformance.sh). Source it; needs ROOT set to the repository root.
#
#   motp_build PROFILE             cargo build -p motp-server; sets MOTP_BIN
#                                  (MOTP_SKIP_BUILD=1 reuses an existing binary)
#   motp_config DIR PORT DB_URL    writes DIR/motp.toml (log provider, dev hook,
#                                  limits lifted: see the comment inside)
#   motp_keys DIR                  `motp keys create`; sets MOTP_PK, MOTP_SK
#   motp_start DIR                 starts `motp serve`, waits for /healthz; sets MOTP_PID
#   motp_stop [signal]             stops MOTP_PID (TERM by default)
#   motp_pin DIR                   run a private copy of the binary from DIR
#   rss_kib PID                    VmRSS of PID in KiB

# MOTP_CARGO_VENDOR: cargo offline from vendored crates (scripts/lib/cargo.sh).
# shellcheck source=../lib/cargo.sh
source "$ROOT/scripts/lib/cargo.sh"

MOTP_BIN="${MOTP_BIN:-}"
MOTP_PID=""

motp_build() {
  local profile="${1:-dev}" dir
  case "$profile" in dev|test) dir=debug ;; *) dir="$profile" ;; esac
  MOTP_BIN="${CARGO_TARGET_DIR:-$ROOT/target}/$dir/motp"
  # MOTP_SKIP_BUILD=1: use the binary already built (while iterating on the scripts)
  if [[ "${MOTP_SKIP_BUILD:-0}" != 1 || ! -x "$MOTP_BIN" ]]; then
    # With jemalloc, as the README builds the server for production.
    (cd "$ROOT" && cargo build -q --profile "$profile" -p motp-server --features jemalloc --bin motp)
  fi
  [[ -x "$MOTP_BIN" ]] || { echo "no binary at $MOTP_BIN" >&2; return 1; }
}

# The proofs measure the server, not its abuse controls: the per-IP, per-app
# and per-number limits are lifted (the client is one IP and one app making
# thousands of calls), and the attempt budget is made huge where the caller
# asks (MOTP_BENCH_ATTEMPTS), so that wrong-code checks are compared, not
# 410s. Everything else (HMAC, constant-time compare, storage, WAL) is as
# shipped. Extra TOML for a section can be appended by the caller.
motp_config() {
  local dir="$1" port="$2" db="$3"
  mkdir -p "$dir"
  cat >"$dir/motp.toml" <<TOML
[server]
listen = "127.0.0.1:$port"

[database]
url = "$db"
max_connections = ${MOTP_BENCH_DB_CONNECTIONS:-8}

[codes]
ttl_secs = ${MOTP_BENCH_TTL:-3600}
max_attempts = ${MOTP_BENCH_ATTEMPTS:-5}
ranges = [{ prefix = "+4420794", code_length = 6 }]

[limits]
daily_cap_per_destination = 4000000000
hourly_cap_per_destination = 4000000000
per_ip_per_minute = 4000000000
per_ip_burst = 4000000000
per_app_per_minute = 4000000000
per_app_burst = 4000000000
allowed_countries = ["GB"]

[telephony]
provider = "log"
ring_secs = 0
dev_expose_calls = true

[log]
filter = "${MOTP_BENCH_LOG:-warn}"
TOML
}

motp_keys() {
  local dir="$1" out
  out="$(cd "$dir" && "$MOTP_BIN" keys create --config "$dir/motp.toml" --app bench --json 2>&1)" ||
    { echo "motp keys create failed: $out" >&2; return 1; }
  MOTP_PK="$(grep -oE 'pk_[A-Za-z0-9_-]+' <<<"$out" | head -1)"
  MOTP_SK="$(grep -oE 'sk_[A-Za-z0-9_-]+' <<<"$out" | head -1)"
  [[ -n "$MOTP_PK" && -n "$MOTP_SK" ]] || { echo "no keys in: $out" >&2; return 1; }
  export MOTP_PK MOTP_SK
}

motp_start() {
  local dir="$1" port
  port="$(sed -n 's/^listen = "127.0.0.1:\([0-9]*\)"/\1/p' "$dir/motp.toml")"
  (cd "$dir" && exec "$MOTP_BIN" serve --config "$dir/motp.toml") >>"$dir/server.log" 2>&1 &
  MOTP_PID=$!
  local _
  for _ in $(seq 1 300); do
    if curl -fsS -o /dev/null "http://127.0.0.1:$port/healthz" 2>/dev/null; then return 0; fi
    kill -0 "$MOTP_PID" 2>/dev/null || { echo "motp serve exited:" >&2; tail -20 "$dir/server.log" >&2; return 1; }
    sleep 0.1
  done
  echo "motp serve did not become healthy" >&2
  return 1
}

motp_stop() {
  local sig="${1:-TERM}"
  [[ -n "$MOTP_PID" ]] || return 0
  kill "-$sig" "$MOTP_PID" 2>/dev/null || true
  local _
  for _ in $(seq 1 100); do kill -0 "$MOTP_PID" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$MOTP_PID" 2>/dev/null || true
  wait "$MOTP_PID" 2>/dev/null || true
  MOTP_PID=""
}

# A private copy of the binary, so that another build replacing target/'s
# copy cannot change the server between restarts.
motp_pin() { cp "$MOTP_BIN" "$1/motp"; MOTP_BIN="$1/motp"; }

rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status" 2>/dev/null; }
