-- PostgreSQL twin of `../sqlite/0009_decision_done.sql` (keep the two in step). Decisions
-- carried out: the owner (or the COO or CEO) says a decision of the executive meeting is done.
CREATE TABLE decision_done (
    id               BIGINT  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    decision_id      BIGINT  NOT NULL REFERENCES decisions (id),
    done_by          TEXT    NOT NULL,          -- a person id
    done_at          TEXT    NOT NULL,          -- RFC 3339, UTC
    note             TEXT,
    content_sha256   TEXT    NOT NULL
);
CREATE INDEX decision_done_decision ON decision_done (decision_id);
CREATE TRIGGER decision_done_no_update BEFORE UPDATE ON decision_done
FOR EACH ROW EXECUTE FUNCTION snop_refuse('a decision done is never changed');
CREATE TRIGGER decision_done_no_delete BEFORE DELETE ON decision_done
FOR EACH ROW EXECUTE FUNCTION snop_refuse('a decision done is never deleted');
CREATE TRIGGER decision_done_no_truncate BEFORE TRUNCATE ON decision_done
FOR EACH STATEMENT EXECUTE FUNCTION snop_refuse('a decision done is never deleted');
