#!/usr/bin/env bash
# Throwaway PostgreSQL cluster on 127.0.0.1 for the benchmark (same approach as
# scripts/test.d/20-postgres.sh: Debian postgresql, initdb as user postgres).
#   pg.sh start DIR PORT   -> prints the database URL on stdout
#   pg.sh stop DIR
set -euo pipefail

pg_bin() {
  if command -v pg_ctl >/dev/null 2>&1; then dirname "$(readlink -f "$(command -v pg_ctl)")"; return; fi
  local d; d="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)"
  if [[ -z "$d" ]]; then
    apt-get install -y -q postgresql >/dev/null
    d="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)"
  fi
  echo "$d"
}

as_pg() { if [[ "$(id -u)" == 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi; }

start() {
  local dir="$1" port="$2" bin
  bin="$(pg_bin)"
  rm -rf "$dir" && mkdir -p "$dir"
  if [[ "$(id -u)" == 0 ]]; then chown postgres: "$dir"; chmod o+x "$(dirname "$dir")"; fi
  as_pg "$bin/initdb" -D "$dir/data" -U postgres -A trust --no-sync >"$dir/initdb.log" 2>&1 ||
    { cat "$dir/initdb.log" >&2; return 1; }
  as_pg "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 30 \
    -o "-h 127.0.0.1 -p $port -k $dir -c max_connections=200" start >/dev/null
  as_pg "$bin/createdb" -h 127.0.0.1 -p "$port" -U postgres motp
  echo "postgres://postgres@127.0.0.1:$port/motp"
}

stop() {
  local dir="$1" bin
  bin="$(pg_bin)"
  [[ -d "$dir/data" ]] && as_pg "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
}

cmd="${1:-}"; shift || true
case "$cmd" in
  start) start "$@" ;;
  stop) stop "$@" ;;
  *) echo "usage: $0 start DIR PORT | stop DIR" >&2; exit 2 ;;
esac
