-- PostgreSQL twin of `../sqlite/0004_decisions.sql` (keep the two in step). Executive decisions:
-- one row per decision on a trade-off of a cycle's reconciliation pack (or on the whole plan,
-- `tradeoff_id` NULL, when it is sent back). Append-only: a new decision on the same trade-off
-- supersedes the earlier one (the newest id counts), the history stays.
CREATE TABLE decisions (
    id               BIGINT  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
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
FOR EACH ROW EXECUTE FUNCTION snop_refuse('decisions never change: record a new one');
CREATE TRIGGER decisions_no_delete BEFORE DELETE ON decisions
FOR EACH ROW EXECUTE FUNCTION snop_refuse('decisions are never deleted');
CREATE TRIGGER decisions_no_truncate BEFORE TRUNCATE ON decisions
FOR EACH STATEMENT EXECUTE FUNCTION snop_refuse('decisions are never deleted');
