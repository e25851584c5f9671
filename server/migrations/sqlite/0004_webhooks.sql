-- Signed webhooks (issue 15, item 4): endpoints, the durable outbox, and
-- the triggers that fill it in the same transaction as the state change.
-- Times: ms since the Unix epoch. `occurred_at`, `next_attempt_at`,
-- `retry_until` and `delivered_at` are wall-clock times (the database's and
-- the dispatcher's); `expires_at` in the watch list is the API clock's, as in
-- `verifications`.

CREATE TABLE webhook_endpoints (
    id              TEXT PRIMARY KEY,
    app_id          TEXT NOT NULL REFERENCES apps (id),
    url             TEXT NOT NULL,
    -- `whsec_` + base64 of the signing key. Kept in clear: HMAC needs it.
    secret          TEXT NOT NULL,
    -- The secret before the last rotation, still signed with until then.
    previous_secret TEXT,
    previous_until  BIGINT,
    -- 1: events carry the full phone number; 0: masked.
    full_number     BIGINT NOT NULL DEFAULT 0,
    enabled         BIGINT NOT NULL DEFAULT 1,
    created_at      BIGINT NOT NULL
);
CREATE INDEX webhook_endpoints_by_app ON webhook_endpoints (app_id) WHERE enabled = 1;

-- One row per state change of a verification of an app with endpoints.
-- Never the code; the number is masked at delivery unless opted in.
CREATE TABLE webhook_events (
    id              INTEGER PRIMARY KEY,
    msg_id          TEXT NOT NULL UNIQUE,
    app_id          TEXT NOT NULL,
    type            TEXT NOT NULL,
    verification_id TEXT NOT NULL,
    status          TEXT NOT NULL,
    failure_reason  TEXT,
    phone_number    TEXT NOT NULL,
    call_seq        BIGINT NOT NULL,
    occurred_at     BIGINT NOT NULL
);

-- One row per event and endpoint: the outbox the dispatcher works through.
CREATE TABLE webhook_deliveries (
    id              INTEGER PRIMARY KEY,
    event_id        BIGINT NOT NULL REFERENCES webhook_events (id),
    endpoint_id     TEXT NOT NULL REFERENCES webhook_endpoints (id),
    -- pending | delivered | failed (gave up at the horizon)
    state           TEXT NOT NULL DEFAULT 'pending',
    attempts        BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL DEFAULT 0,
    retry_until     BIGINT,
    last_status     BIGINT,
    last_error      TEXT,
    delivered_at    BIGINT
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE state = 'pending';
CREATE INDEX webhook_deliveries_failed ON webhook_deliveries (endpoint_id) WHERE state = 'failed';

-- Open verifications of apps with endpoints, so that an `expired` event is
-- sent when the TTL runs out even if nobody asks about the verification.
CREATE TABLE webhook_expiry_watch (
    verification_id TEXT PRIMARY KEY,
    expires_at      BIGINT NOT NULL
);
CREATE INDEX webhook_expiry_watch_due ON webhook_expiry_watch (expires_at);

CREATE TRIGGER webhook_on_create AFTER INSERT ON verifications
WHEN EXISTS (SELECT 1 FROM webhook_endpoints WHERE app_id = NEW.app_id AND enabled = 1)
BEGIN
    INSERT INTO webhook_events (msg_id, app_id, type, verification_id, status,
        failure_reason, phone_number, call_seq, occurred_at)
    VALUES ('msg_' || lower(hex(randomblob(16))), NEW.app_id, 'verification.created',
        NEW.id, NEW.status, NULL, NEW.phone_number, NEW.call_seq,
        CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER));
    INSERT INTO webhook_deliveries (event_id, endpoint_id)
        SELECT (SELECT MAX(id) FROM webhook_events), id FROM webhook_endpoints
        WHERE app_id = NEW.app_id AND enabled = 1;
    INSERT OR REPLACE INTO webhook_expiry_watch (verification_id, expires_at)
        VALUES (NEW.id, NEW.expires_at);
END;

CREATE TRIGGER webhook_on_change AFTER UPDATE OF status, call_seq ON verifications
WHEN (NEW.status <> OLD.status OR NEW.call_seq <> OLD.call_seq)
    AND EXISTS (SELECT 1 FROM webhook_endpoints WHERE app_id = NEW.app_id AND enabled = 1)
BEGIN
    INSERT INTO webhook_events (msg_id, app_id, type, verification_id, status,
        failure_reason, phone_number, call_seq, occurred_at)
    VALUES ('msg_' || lower(hex(randomblob(16))), NEW.app_id,
        CASE NEW.status
            WHEN 'calling' THEN 'verification.resent'
            WHEN 'ringing' THEN 'call.ringing'
            WHEN 'delivered' THEN 'call.delivered'
            WHEN 'failed' THEN 'call.failed'
            ELSE 'verification.' || NEW.status
        END,
        NEW.id, NEW.status, NEW.failure_reason, NEW.phone_number, NEW.call_seq,
        CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER));
    INSERT INTO webhook_deliveries (event_id, endpoint_id)
        SELECT (SELECT MAX(id) FROM webhook_events), id FROM webhook_endpoints
        WHERE app_id = NEW.app_id AND enabled = 1;
    DELETE FROM webhook_expiry_watch
        WHERE verification_id = NEW.id
        AND NEW.status IN ('approved', 'expired', 'failed', 'canceled');
    UPDATE webhook_expiry_watch SET expires_at = NEW.expires_at
        WHERE verification_id = NEW.id AND NEW.status = 'calling';
END;
