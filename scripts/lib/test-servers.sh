# Sourced by scripts/test.d/30-kotlin.sh and scripts/bench-ffi.sh: builds the
# library and the server, and starts `motp serve` instances on loopback.
# Needs: $work (a temporary directory) and a `pids` array; the caller's
# EXIT trap kills "${pids[@]}".

# shellcheck source=cargo.sh
source "$(dirname "${BASH_SOURCE[0]}")/cargo.sh"

# build_ffi_and_server: private copies of the `testing` library, its
# bindings and the server under $work (another build may replace
# target/debug's while tests run).
build_ffi_and_server() {
  cargo build --quiet -p motp-server --bin motp
  cargo build --quiet -p motp-ffi --lib --features testing
  mkdir -p "$work/lib"
  cp target/debug/libmotp_ffi.so "$work/lib/"
  cp target/debug/motp "$work/motp"
  # Bindings from this very library, test-only exports included; the
  # committed copy (bindings/generated) differs only by those and is
  # checked for freshness in 40-syntax.sh.
  bash scripts/generate-bindings.sh --lib "$work/lib/libmotp_ffi.so" \
    --out "$work/bindings" >/dev/null
}

# free_port [udp]: a free loopback port (TCP unless told).
free_port() {
  python3 -c 'import socket, sys
kind = socket.SOCK_DGRAM if sys.argv[1:] == ["udp"] else socket.SOCK_STREAM
s = socket.socket(socket.AF_INET, kind); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])' "$@"
}

# The `log` telephony provider, with the development endpoint that reveals
# the calling number of each placed call.
LOG_TELEPHONY='[telephony]
provider = "log"
ring_secs = 0
dev_expose_calls = true'

# start_server NAME TTL_SECS RESEND_COOLDOWN_SECS [TELEPHONY_TOML]: writes
# $work/NAME.toml, creates keys and starts `motp serve`; sets
# <NAME>_url/_pk/_sk. Telephony defaults to $LOG_TELEPHONY.
start_server() {
  local name=$1 ttl=$2 cooldown=$3 telephony=${4:-$LOG_TELEPHONY} port
  port=$(free_port)
  cat >"$work/$name.toml" <<TOML
[server]
listen = "127.0.0.1:$port"
[database]
url = "sqlite://$work/$name.db"
[codes]
ttl_secs = $ttl
max_attempts = 3
resend_cooldown_secs = $cooldown
resend_cooldown_max_secs = 300
[[codes.ranges]]
prefix = "+44207946"
code_length = 4
[limits]
allowed_countries = ["GB"]
# Per destination number, as in production: the rate-limit test relies on it.
hourly_cap_per_destination = 5
# Every test comes from 127.0.0.1 and one app: lift those two limits.
per_ip_per_minute = 100000
per_ip_burst = 100000
per_app_per_minute = 100000
per_app_burst = 100000
$telephony
[log]
filter = "warn"
TOML
  "$work/motp" keys create --app "kotlin-$name" --config "$work/$name.toml" --json \
    >"$work/$name.keys.json"
  "$work/motp" serve --config "$work/$name.toml" >"$work/$name.log" 2>&1 &
  pids+=($!)
  local url="http://127.0.0.1:$port"
  for _ in $(seq 100); do
    curl -fsS "$url/healthz" >/dev/null 2>&1 && break
    sleep 0.1
  done
  curl -fsS "$url/healthz" >/dev/null || { cat "$work/$name.log" >&2; exit 1; }
  eval "${name}_url=$url"
  eval "${name}_pk=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["publishable_key"])' "$work/$name.keys.json")"
  eval "${name}_sk=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["secret_key"])' "$work/$name.keys.json")"
}

