-- PostgreSQL twin of `../sqlite/0011_integrity.sql`.
-- Each signature anchors the audit chain as it stood when it was made: how many entries the log
-- had and the last one's hash (the signature's own entry follows it). A keyed signature signs
-- them too (`store::keys::message_v2`), so the log up to it cannot be rewritten unseen. NULL on
-- signatures made before this migration.
ALTER TABLE signatures ADD COLUMN audit_count BIGINT;
ALTER TABLE signatures ADD COLUMN audit_hash TEXT;
-- Every file a drafted run keeps, with its sha256 (JSON: name to hash), as the store wrote it;
-- its own audit entry (`run_files` of `run:<id>`) carries the sha256 of this text. NULL on runs
-- recorded before this migration.
ALTER TABLE runs ADD COLUMN files_sha256 TEXT;
