-- The audit trail of one draft (its page) is read by its entity, not by scanning the log.
CREATE INDEX audit_log_entity ON audit_log (entity, seq);
