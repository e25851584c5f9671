-- Conversion figures (issue 15, item 6).
-- The trunk a verification's call went through. "default" until several
-- trunks exist; the trunk router sets it when it places a call.
ALTER TABLE verifications ADD COLUMN trunk TEXT NOT NULL DEFAULT 'default';

-- Every call outcome (a verification's status only keeps the last one, and
-- `approved` overwrites `delivered`), written by the trigger below in the
-- same transaction as the status change.
CREATE TABLE call_outcomes (
    verification_id TEXT NOT NULL,
    call_seq        BIGINT NOT NULL,
    -- delivered | failed
    outcome         TEXT NOT NULL,
    reason          TEXT,
    trunk           TEXT NOT NULL
);
CREATE INDEX call_outcomes_by_verification ON call_outcomes (verification_id);

CREATE FUNCTION motp_call_outcome() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO call_outcomes (verification_id, call_seq, outcome, reason, trunk)
    VALUES (NEW.id, NEW.call_seq, NEW.status, NEW.failure_reason, NEW.trunk);
    RETURN NULL;
END
$$;

CREATE TRIGGER stats_on_call_outcome AFTER UPDATE OF status ON verifications
    FOR EACH ROW WHEN (NEW.status IS DISTINCT FROM OLD.status AND NEW.status IN ('delivered', 'failed'))
    EXECUTE FUNCTION motp_call_outcome();
