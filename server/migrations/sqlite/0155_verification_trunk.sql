-- The trunk of a verification's current call, by its stable name (issue 15
-- item 5; numbered 155 so as not to collide with other migrations of issue
-- 15). NULL for test numbers and rows from before trunks.
ALTER TABLE verifications ADD COLUMN trunk TEXT;
