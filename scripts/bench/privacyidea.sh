#!/usr/bin/env bash
# privacyIDEA as the reference peer for the load benchmark (issue 8 item 1).
#
#   privacyidea.sh install            venv with privacyidea + gunicorn (idempotent)
#   privacyidea.sh start DIR PORT     fresh SQLite instance in DIR, gunicorn -w 2 on
#                                     127.0.0.1:PORT, one HOTP token (serial BENCH1,
#                                     max_failcount raised so failed checks never lock it)
#   privacyidea.sh stop DIR
#   privacyidea.sh version            installed privacyIDEA version
#
# Env: PI_VERSION (default 3.14, installs on Python 3.11), MOTP_BENCH_CACHE (venv home).
set -euo pipefail

PI_VERSION="${PI_VERSION:-3.14}"
CACHE="${MOTP_BENCH_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/motp-bench}"
VENV="$CACHE/pi-venv-$PI_VERSION"
# RFC 4226 appendix D test key "12345678901234567890"; HOTP(0) = 755224.
HOTP_KEY_HEX=3132333435363738393031323334353637383930
SERIAL=BENCH1

install() {
  if [[ -x "$VENV/bin/pi-manage" && -x "$VENV/bin/gunicorn" ]]; then return 0; fi
  mkdir -p "$CACHE"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q --disable-pip-version-check "privacyidea==$PI_VERSION" gunicorn
}

start() {
  local dir="$1" port="$2"
  install
  rm -rf "$dir" && mkdir -p "$dir"
  local secret pepper
  secret="$(python3 -c 'import secrets;print(secrets.token_hex(32))')"
  pepper="$(python3 -c 'import secrets;print(secrets.token_hex(32))')"
  cat >"$dir/pi.cfg" <<CFG
SQLALCHEMY_DATABASE_URI = 'sqlite:///$dir/pi.sqlite'
SECRET_KEY = '$secret'
PI_PEPPER = '$pepper'
PI_ENCFILE = '$dir/enckey'
PI_AUDIT_KEY_PRIVATE = '$dir/private.pem'
PI_AUDIT_KEY_PUBLIC = '$dir/public.pem'
PI_LOGFILE = '$dir/privacyidea.log'
PI_LOGLEVEL = 30
CFG
  export PRIVACYIDEA_CONFIGFILE="$dir/pi.cfg"
  local pim="$VENV/bin/pi-manage"
  {
    "$pim" setup create_enckey
    "$pim" setup create_audit_keys
    "$pim" setup create_tables
    "$pim" admin add admin -p benchadmin
  } >"$dir/setup.log" 2>&1 || { cat "$dir/setup.log" >&2; return 1; }
  cat >"$dir/wsgi.py" <<PY
from privacyidea.app import create_app
application = create_app(config_name="production", config_file="$dir/pi.cfg", silent=True)
PY
  (cd "$dir" && exec "$VENV/bin/gunicorn" -w 2 -b "127.0.0.1:$port" --chdir "$dir" \
      --pid "$dir/gunicorn.pid" --log-level warning wsgi:application) >"$dir/gunicorn.log" 2>&1 &
  local url="http://127.0.0.1:$port"
  for _ in $(seq 1 100); do
    curl -fsS -o /dev/null "$url/" 2>/dev/null && break
    sleep 0.2
  done
  local auth
  auth="$(curl -fsS -X POST "$url/auth" -d username=admin -d password=benchadmin |
    python3 -c 'import json,sys;print(json.load(sys.stdin)["result"]["value"]["token"])')"
  curl -fsS -X POST "$url/token/init" -H "Authorization: $auth" \
    -d type=hotp -d serial=$SERIAL -d otpkey=$HOTP_KEY_HEX -d genkey=0 >"$dir/token-init.json"
  # Failed checks must not lock the token during the run (mOTP's bench config also
  # lifts its attempt budget), so both sides compare codes on every request.
  curl -fsS -X POST "$url/token/set" -H "Authorization: $auth" \
    -d serial=$SERIAL -d max_failcount=1000000000 >"$dir/token-set.json"
  # Sanity: the RFC 4226 HOTP(0) value verifies once.
  curl -fsS "$url/validate/check?serial=$SERIAL&pass=755224" >"$dir/check-ok.json"
  grep -q '"value": *true' "$dir/check-ok.json" ||
    { echo "privacyIDEA sanity check failed: $(cat "$dir/check-ok.json")" >&2; return 1; }
}

stop() {
  local dir="$1"
  if [[ -f "$dir/gunicorn.pid" ]]; then
    local pid; pid="$(cat "$dir/gunicorn.pid")"
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  fi
}

cmd="${1:-}"; shift || true
case "$cmd" in
  install) install ;;
  start) start "$@" ;;
  stop) stop "$@" ;;
  version) "$VENV/bin/pip" show privacyidea | sed -n 's/^Version: //p' ;;
  *) echo "usage: $0 install|start DIR PORT|stop DIR" >&2; exit 2 ;;
esac
