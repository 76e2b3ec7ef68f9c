-- Executive decisions: one row per decision on a trade-off of a cycle's reconciliation pack
-- (or on the whole plan, `tradeoff_id` NULL, when it is sent back). Append-only: a new decision
-- on the same trade-off supersedes the earlier one (the newest id counts), the history stays.
-- The rules (who may decide) live in `src/store/decisions.rs`.
CREATE TABLE decisions (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    cycle            TEXT    NOT NULL,          -- YYYY-MM
    tradeoff_id      TEXT,                      -- a gap id of the pack; NULL: the whole plan
    kind             TEXT    NOT NULL CHECK (kind IN ('option', 'action', 'send_back')),
    option_kind      TEXT,                      -- overtime, build_ahead, ... (kind = option)
    action_text      TEXT,                      -- another action written in (kind = action)
    owner            TEXT,                      -- who carries it out
    due              TEXT,                      -- YYYY-MM-DD
    note             TEXT,
    reason           TEXT,                      -- why it was sent back (kind = send_back)
    decided_by       TEXT    NOT NULL,          -- a person id
    role             TEXT    NOT NULL,          -- coo or ceo
    decided_at       TEXT    NOT NULL,
    content_sha256   TEXT    NOT NULL           -- over the decision's JSON, as in the audit log
);
CREATE INDEX decisions_cycle ON decisions (cycle, tradeoff_id, id);
CREATE TRIGGER decisions_no_update BEFORE UPDATE ON decisions
BEGIN
    SELECT RAISE(ABORT, 'decisions never change: record a new one');
END;
CREATE TRIGGER decisions_no_delete BEFORE DELETE ON decisions
BEGIN
    SELECT RAISE(ABORT, 'decisions are never deleted');
END;
