-- Conversion figures (issue 15 item 6). Numbered after the issue item so
-- that migrations added in parallel do not collide.
--
-- `delivered`: 1 once any call of the verification reached the phone. The
-- status alone cannot say it later: a delivered verification may still
-- become approved or expired. Set by a trigger, so every path that records
-- a delivery (the call, a test number created delivered) counts, and the
-- row cache, which never holds this column, stays exact.
ALTER TABLE verifications ADD COLUMN delivered BIGINT NOT NULL DEFAULT 0;

CREATE FUNCTION motp_stats_delivered() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.delivered := 1;
    RETURN NEW;
END
$$;

CREATE TRIGGER stats_delivered_on_create BEFORE INSERT ON verifications
    FOR EACH ROW WHEN (NEW.status = 'delivered')
    EXECUTE FUNCTION motp_stats_delivered();
CREATE TRIGGER stats_delivered_on_change BEFORE UPDATE OF status ON verifications
    FOR EACH ROW WHEN (NEW.status = 'delivered' AND NEW.delivered = 0)
    EXECUTE FUNCTION motp_stats_delivered();

-- The figures read an app's verifications created in a window.
CREATE INDEX verifications_by_app_created ON verifications (app_id, created_at);
