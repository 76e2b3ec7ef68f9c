-- PostgreSQL twin of `../sqlite/0002_signoff.sql` (same tables, columns and meaning; keep the
-- two in step). Sign-off: drafts and their versions, edits, comments, approvals, signatures, and
-- the append-only, hash-chained audit log. The rules (who may do what in which state) live in
-- `src/store/signoff.rs`; the triggers here are the last line of defence.

-- One row per version of an artifact of a cycle. `content` is the JSON document that is
-- reviewed and signed; `content_sha256` is over its exact bytes. The id is given by the store
-- (the next number under the write lock): draft numbers have no gaps.
CREATE TABLE drafts (
    id               BIGINT  PRIMARY KEY,
    artifact         TEXT    NOT NULL,          -- demand_consensus, supply_plan, ...
    cycle            TEXT    NOT NULL,          -- YYYY-MM
    version          BIGINT  NOT NULL,          -- 1, 2, ... per artifact and cycle
    parent_version   BIGINT,                    -- the version it was made from (a re-run or an edit of a signed one)
    run_id           BIGINT  NOT NULL REFERENCES runs (id),
    content          TEXT    NOT NULL,
    content_sha256   TEXT    NOT NULL,
    state            TEXT    NOT NULL CHECK (state IN ('draft', 'approved', 'rejected', 'signed', 'superseded')),
    row_version      BIGINT  NOT NULL DEFAULT 1, -- optimistic concurrency: bumped by every change
    created_at       TEXT    NOT NULL,
    created_by       TEXT    NOT NULL,          -- a person id, or `agent:<name>`
    updated_at       TEXT    NOT NULL,
    updated_by       TEXT    NOT NULL,
    UNIQUE (artifact, cycle, version)
);
CREATE INDEX drafts_cycle ON drafts (cycle, artifact, version);

-- The triggers' one function: refuse the change with the message the trigger passes.
CREATE FUNCTION snop_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '%', TG_ARGV[0];
END;
$$;

-- A signed version never changes and is never removed.
CREATE TRIGGER drafts_signed_frozen BEFORE UPDATE ON drafts
FOR EACH ROW WHEN (OLD.state = 'signed')
EXECUTE FUNCTION snop_refuse('a signed draft never changes');
CREATE TRIGGER drafts_no_delete BEFORE DELETE ON drafts
FOR EACH ROW EXECUTE FUNCTION snop_refuse('drafts are never deleted');

-- Human edits of the narrative: who, when, what it became, and the diff against the model's.
CREATE TABLE edits (
    id                 BIGINT  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    draft_id           BIGINT  NOT NULL REFERENCES drafts (id),
    actor              TEXT    NOT NULL,
    at                 TEXT    NOT NULL,
    narrative          TEXT    NOT NULL,        -- the edited narrative, as text
    diff_vs_model      TEXT    NOT NULL,        -- unified diff against the model's narrative
    before_sha256      TEXT    NOT NULL,
    after_sha256       TEXT    NOT NULL
);

CREATE TABLE comments (
    id                 BIGINT  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    draft_id           BIGINT  NOT NULL REFERENCES drafts (id),
    actor              TEXT    NOT NULL,
    at                 TEXT    NOT NULL,
    body               TEXT    NOT NULL
);

-- Approvals and rejections, each over the content hash it saw.
CREATE TABLE approvals (
    id                 BIGINT  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    draft_id           BIGINT  NOT NULL REFERENCES drafts (id),
    actor              TEXT    NOT NULL,
    role               TEXT    NOT NULL,
    decision           TEXT    NOT NULL CHECK (decision IN ('approved', 'rejected')),
    reason             TEXT,
    at                 TEXT    NOT NULL,
    content_sha256     TEXT    NOT NULL
);

CREATE TABLE signatures (
    id                 BIGINT  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    draft_id           BIGINT  NOT NULL REFERENCES drafts (id),
    actor              TEXT    NOT NULL,
    role               TEXT    NOT NULL,
    at                 TEXT    NOT NULL,
    content_sha256     TEXT    NOT NULL,
    UNIQUE (draft_id, role, content_sha256)   -- a role signs each content once
);
CREATE TRIGGER signatures_frozen BEFORE UPDATE ON signatures
FOR EACH ROW EXECUTE FUNCTION snop_refuse('signatures never change');
CREATE TRIGGER signatures_no_delete BEFORE DELETE ON signatures
FOR EACH ROW EXECUTE FUNCTION snop_refuse('signatures are never deleted');

-- The audit log: each entry's hash covers the previous entry's hash and its own fields, so a
-- changed, removed or reordered entry breaks the chain (`snop audit verify`).
CREATE TABLE audit_log (
    seq                BIGINT  PRIMARY KEY,     -- 1, 2, ... no gaps
    ts                 TEXT    NOT NULL,
    actor              TEXT    NOT NULL,
    action             TEXT    NOT NULL,
    entity             TEXT    NOT NULL,        -- e.g. `draft:12`
    content_sha256     TEXT    NOT NULL,        -- the content the action saw or made
    prev_hash          TEXT    NOT NULL,
    hash               TEXT    NOT NULL
);
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
FOR EACH ROW EXECUTE FUNCTION snop_refuse('the audit log is append-only');
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
FOR EACH ROW EXECUTE FUNCTION snop_refuse('the audit log is append-only');
-- TRUNCATE skips row triggers: refuse it on the tables that never lose rows.
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
FOR EACH STATEMENT EXECUTE FUNCTION snop_refuse('the audit log is append-only');
CREATE TRIGGER signatures_no_truncate BEFORE TRUNCATE ON signatures
FOR EACH STATEMENT EXECUTE FUNCTION snop_refuse('signatures are never deleted');
CREATE TRIGGER drafts_no_truncate BEFORE TRUNCATE ON drafts
FOR EACH STATEMENT EXECUTE FUNCTION snop_refuse('drafts are never deleted');
