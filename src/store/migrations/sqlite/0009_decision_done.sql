-- Decisions carried out: the owner (or the COO or CEO) says a decision of the executive meeting
-- is done. Append-only, audited; the next cycle scores last cycle's decisions as done, open or
-- overdue from it.
CREATE TABLE decision_done (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    decision_id      INTEGER NOT NULL REFERENCES decisions (id),
    done_by          TEXT    NOT NULL,          -- a person id
    done_at          TEXT    NOT NULL,          -- RFC 3339, UTC
    note             TEXT,
    content_sha256   TEXT    NOT NULL
);
CREATE INDEX decision_done_decision ON decision_done (decision_id);
CREATE TRIGGER decision_done_no_update BEFORE UPDATE ON decision_done
BEGIN
    SELECT RAISE(ABORT, 'a decision done is never changed');
END;
CREATE TRIGGER decision_done_no_delete BEFORE DELETE ON decision_done
BEGIN
    SELECT RAISE(ABORT, 'a decision done is never deleted');
END;
