-- The purge of expired verifications (issue 16) finds them by expiry.
CREATE INDEX verifications_by_expiry ON verifications (expires_at);
