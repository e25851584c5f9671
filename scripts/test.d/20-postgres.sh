#!/usr/bin/env bash
# Stage: the motp-server API suite on PostgreSQL.
#
# Installs Debian's postgresql (idempotent), starts a throwaway cluster in a
# temp directory on 127.0.0.1 with a free port (initdb/pg_ctl run as the
# `postgres` user, since the test runner is root), runs the PostgreSQL
# variants of the server tests with MOTP_TEST_DATABASE_URL_PG set, and stops
# and removes the cluster on exit, whatever happens.
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/lib/cargo.sh  # MOTP_CARGO_VENDOR: cargo offline from vendored crates

if ! ls -d /usr/lib/postgresql/*/bin >/dev/null 2>&1; then
  apt-get install -y -q postgresql >/dev/null
fi
PG_BIN="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)"

as_postgres() {
  if [[ "$(id -u)" == 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi
}

WORK="$(mktemp -d /tmp/motp-pg.XXXXXX)"
chmod 755 "$WORK"
[[ "$(id -u)" == 0 ]] && chown postgres: "$WORK"
PGDATA="$WORK/data"

cleanup() {
  as_postgres "$PG_BIN/pg_ctl" -D "$PGDATA" -m immediate -w stop >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT

# A free port: bind to 0, read it back, release it.
PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"

as_postgres "$PG_BIN/initdb" -D "$PGDATA" -U postgres -A trust --no-sync >"$WORK/initdb.log" 2>&1 ||
  { cat "$WORK/initdb.log" >&2; exit 1; }
as_postgres "$PG_BIN/pg_ctl" -D "$PGDATA" -l "$WORK/server.log" -w -t 30 \
  -o "-h 127.0.0.1 -p $PORT -k $WORK -c fsync=off -c max_connections=300" start >/dev/null ||
  { cat "$WORK/server.log" >&2; exit 1; }
as_postgres "$PG_BIN/createdb" -h 127.0.0.1 -p "$PORT" -U postgres motp_test

export MOTP_TEST_DATABASE_URL_PG="postgres://postgres@127.0.0.1:$PORT/motp_test"
echo "PostgreSQL $("$PG_BIN/postgres" --version | awk '{print $3}') on 127.0.0.1:$PORT"

# Every test of the server that has a PostgreSQL variant, and only those.
for suite in api bad_input brute_force interrupted outage stats test_numbers webhooks \
  webhooks_crash purge parallel_creates events trunk_failover; do
  motp_run_test "$suite" postgres
done
# Two server instances on one database: the attempt budget across instances.
motp_run_test two_instances
