-- Seeds @N verifications of app `bench` (create it first with
-- `motp keys create --app bench`) over the day before @NOW (ms), SQLite:
-- 2/3 UK and 1/3 US numbers, 10,000 distinct (change `% 10000` for more),
-- 60 % approved (a quarter of them with a `user_typed` report), 20 %
-- delivered, 20 % failed busy. For `motp stats` timings (docs/proof.md §8):
--   sed -e "s/@NOW/$(($(date +%s)*1000))/g" -e "s/@N/100000/g" \
--     scripts/bench/stats-seed.sql | sqlite3 motp.db
--   /usr/bin/time -f '%e s' motp stats -c motp.toml --window 86400
INSERT INTO verifications (id, app_id, phone_number, status, failure_reason, caller_prefix,
  code_length, code_mac, created_at, expires_at, resend_after, resends, attempts_left,
  call_seq, verified_at, version, delivered)
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < @N)
SELECT 'vf_' || i, (SELECT id FROM apps WHERE name = 'bench'),
  CASE WHEN i % 3 = 0 THEN '+1202555' || printf('%04d', i % 10000)
       ELSE '+4474001' || printf('%05d', i % 10000) END,
  CASE i % 5 WHEN 0 THEN 'failed' WHEN 1 THEN 'delivered' ELSE 'approved' END,
  CASE i % 5 WHEN 0 THEN 'busy' END,
  '+4420794', 4, x'00', @NOW - i * (86000000 / @N), 0, 0, 0, 5, 1,
  CASE WHEN i % 5 >= 2 THEN @NOW - i * (86000000 / @N) + 1000 + i % 7000 END, 1,
  CASE WHEN i % 5 = 0 THEN 0 ELSE 1 END
FROM n;
INSERT INTO sdk_reports (verification_id, app_id, observation, country, call_seq, reported_at)
SELECT id, app_id, 'user_typed', NULL, 1, created_at FROM verifications
WHERE status = 'approved' AND CAST(substr(id, 4) AS INTEGER) % 4 = 0;
