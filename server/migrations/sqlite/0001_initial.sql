-- mOTP schema, SQLite. Times are milliseconds since the Unix epoch.
CREATE TABLE apps (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    created_at  BIGINT NOT NULL
);

-- API keys, stored as SHA-256 of the key text.
CREATE TABLE api_keys (
    key_hash    BLOB PRIMARY KEY,
    app_id      TEXT NOT NULL REFERENCES apps (id),
    kind        TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    revoked_at  BIGINT
);

CREATE TABLE verifications (
    id              TEXT PRIMARY KEY,
    app_id          TEXT NOT NULL REFERENCES apps (id),
    phone_number    TEXT NOT NULL,
    status          TEXT NOT NULL,
    failure_reason  TEXT,
    caller_prefix   TEXT NOT NULL,
    code_length     BIGINT NOT NULL,
    -- HMAC-SHA256 of the code under the server key; never the code.
    code_mac        BLOB NOT NULL,
    created_at      BIGINT NOT NULL,
    expires_at      BIGINT NOT NULL,
    resend_after    BIGINT NOT NULL,
    resends         BIGINT NOT NULL,
    attempts_left   BIGINT NOT NULL,
    -- Which call the status refers to (1 = first, +1 per resend).
    call_seq        BIGINT NOT NULL,
    verified_at     BIGINT,
    -- Optimistic concurrency: every write checks and bumps it.
    version         BIGINT NOT NULL
);

-- Every call placed, for the per-destination hourly and daily caps.
-- Rows older than a day are pruned.
CREATE TABLE calls (
    destination     TEXT NOT NULL,
    placed_at       BIGINT NOT NULL,
    verification_id TEXT NOT NULL
);
CREATE INDEX calls_by_destination ON calls (destination, placed_at);

-- Generated server secrets (when not configured).
CREATE TABLE server_secrets (
    name    TEXT PRIMARY KEY,
    value   BLOB NOT NULL
);
