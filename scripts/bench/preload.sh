#!/usr/bin/env bash
# Writes N verifications and N call records straight into a migrated mOTP
# database (issue 16 item 5: the rates with a full database), in one
# statement each, for the app that `motp keys create` made.
#   preload.sh DB_URL N
# The rows mimic a day and a half of traffic: created over the last 36 h,
# a quarter each approved, delivered, calling, expired, each with a 300 s
# TTL: the third created more than a day (codes.keep_expired_secs) and
# 300 s ago is what the first purge deletes 5 s after the server
# starts (see docs/proof.md). Destinations are +4475…, which the
# benchmark's own creates (+447400…) never use.
set -euo pipefail
url="$1" n="$2"
now="$(date +%s%3N)"
span=$((36 * 3600 * 1000))
sql="
INSERT INTO verifications (id, app_id, phone_number, status, failure_reason, caller_prefix,
  code_length, code_mac, created_at, expires_at, resend_after, resends, attempts_left,
  call_seq, verified_at, version)
SELECT 'vf_preload_' || i, (SELECT id FROM apps ORDER BY created_at LIMIT 1),
  '+4475' || SUBSTR('0000000' || i, -8, 8),
  CASE i % 4 WHEN 0 THEN 'approved' WHEN 1 THEN 'delivered' WHEN 2 THEN 'calling' ELSE 'expired' END,
  NULL, '+4420794', 6, MAC, $now - $span + i * ($span / $n),
  $now - $span + i * ($span / $n) + 300000,
  $now - $span + i * ($span / $n) + 30000, 0, 5, 1,
  CASE i % 4 WHEN 0 THEN $now - $span + i * ($span / $n) + 20000 END, 1
FROM SERIES;
INSERT INTO calls (destination, placed_at, verification_id)
SELECT '+4475' || SUBSTR('0000000' || i, -8, 8), $now - 23 * 3600 * 1000 + i * (23 * 3600 * 1000 / $n), 'vf_preload_' || i
FROM SERIES;
"
case "$url" in
  sqlite:*)
    file="${url#sqlite://}"; file="${file%%\?*}"
    command -v sqlite3 >/dev/null || apt-get install -y -q sqlite3 >/dev/null
    sql="${sql//MAC/randomblob(32)}"
    sql="${sql//FROM SERIES/FROM (WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < $n) SELECT i FROM s)}"
    sqlite3 "$file" "PRAGMA journal_mode = WAL; BEGIN; $sql COMMIT; PRAGMA wal_checkpoint(TRUNCATE);" >/dev/null
    sqlite3 "$file" "SELECT 'verifications: ' || COUNT(*) FROM verifications"
    ;;
  postgres*)
    sql="${sql//MAC/sha256(i::text::bytea)}"
    sql="${sql//FROM SERIES/FROM generate_series(1, $n) AS s(i)}"
    sql="${sql//SUBSTR(\'0000000\' || i, -8, 8)/lpad(i::text, 8, \'0\')}"
    psql -q -v ON_ERROR_STOP=1 "$url" -c "BEGIN; $sql COMMIT;" -c "VACUUM ANALYZE verifications" -c "VACUUM ANALYZE calls" >/dev/null
    psql -tA "$url" -c "SELECT 'verifications: ' || COUNT(*) FROM verifications"
    ;;
  *) echo "unknown database URL: $url" >&2; exit 2 ;;
esac
