-- Conversion figures (issue 15 item 6). Numbered after the issue item so
-- that migrations added in parallel do not collide.
--
-- `delivered`: 1 once any call of the verification reached the phone. The
-- status alone cannot say it later: a delivered verification may still
-- become approved or expired. Set by a trigger, so every path that records
-- a delivery (the call, a test number created delivered) counts, and the
-- row cache, which never holds this column, stays exact.
ALTER TABLE verifications ADD COLUMN delivered BIGINT NOT NULL DEFAULT 0;

CREATE TRIGGER stats_delivered_on_create AFTER INSERT ON verifications
WHEN NEW.status = 'delivered'
BEGIN
    UPDATE verifications SET delivered = 1 WHERE id = NEW.id;
END;

CREATE TRIGGER stats_delivered_on_change AFTER UPDATE OF status ON verifications
WHEN NEW.status = 'delivered' AND NEW.delivered = 0
BEGIN
    UPDATE verifications SET delivered = 1 WHERE id = NEW.id;
END;

-- The figures read an app's verifications created in a window.
CREATE INDEX verifications_by_app_created ON verifications (app_id, created_at);
