-- What the SDK saw of a verification that ended without an automatic match
-- (issue 17): one row per verification, the latest report wins. With the
-- verification's country and its calls, it gives the conversion figures
-- per country and per trunk. Numbered after the issue so that migrations
-- added in parallel do not collide.
CREATE TABLE sdk_reports (
    verification_id TEXT PRIMARY KEY,
    app_id          TEXT NOT NULL,
    -- no_permission, call_not_seen, call_seen_late, user_typed
    observation     TEXT NOT NULL,
    -- ISO 3166 alpha-2 of the verified number, when known.
    country         TEXT,
    -- Which call of the verification was the latest (1 = first).
    call_seq        BIGINT NOT NULL,
    reported_at     BIGINT NOT NULL
);
CREATE INDEX sdk_reports_by_country ON sdk_reports (country, observation);
