-- Sign-off: drafts and their versions, edits, comments, approvals, signatures, and the
-- append-only, hash-chained audit log. The rules (who may do what in which state) live in
-- `src/store/signoff.rs`; the triggers here are the last line of defence.

-- One row per version of an artifact of a cycle. `content` is the JSON document that is
-- reviewed and signed; `content_sha256` is over its exact bytes.
CREATE TABLE drafts (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    artifact         TEXT    NOT NULL,          -- demand_consensus, supply_plan, ...
    cycle            TEXT    NOT NULL,          -- YYYY-MM
    version          INTEGER NOT NULL,          -- 1, 2, ... per artifact and cycle
    parent_version   INTEGER,                   -- the version it was made from (a re-run or an edit of a signed one)
    run_id           INTEGER NOT NULL REFERENCES runs (id),
    content          TEXT    NOT NULL,
    content_sha256   TEXT    NOT NULL,
    state            TEXT    NOT NULL CHECK (state IN ('draft', 'approved', 'rejected', 'signed', 'superseded')),
    row_version      INTEGER NOT NULL DEFAULT 1, -- optimistic concurrency: bumped by every change
    created_at       TEXT    NOT NULL,
    created_by       TEXT    NOT NULL,          -- a person id, or `agent:<name>`
    updated_at       TEXT    NOT NULL,
    updated_by       TEXT    NOT NULL,
    UNIQUE (artifact, cycle, version)
);
CREATE INDEX drafts_cycle ON drafts (cycle, artifact, version);

-- A signed version never changes and is never removed.
CREATE TRIGGER drafts_signed_frozen BEFORE UPDATE ON drafts
WHEN OLD.state = 'signed'
BEGIN
    SELECT RAISE(ABORT, 'a signed draft never changes');
END;
CREATE TRIGGER drafts_no_delete BEFORE DELETE ON drafts
BEGIN
    SELECT RAISE(ABORT, 'drafts are never deleted');
END;

-- Human edits of the narrative: who, when, what it became, and the diff against the model's.
CREATE TABLE edits (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    draft_id           INTEGER NOT NULL REFERENCES drafts (id),
    actor              TEXT    NOT NULL,
    at                 TEXT    NOT NULL,
    narrative          TEXT    NOT NULL,        -- the edited narrative, as text
    diff_vs_model      TEXT    NOT NULL,        -- unified diff against the model's narrative
    before_sha256      TEXT    NOT NULL,
    after_sha256       TEXT    NOT NULL
);

CREATE TABLE comments (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    draft_id           INTEGER NOT NULL REFERENCES drafts (id),
    actor              TEXT    NOT NULL,
    at                 TEXT    NOT NULL,
    body               TEXT    NOT NULL
);

-- Approvals and rejections, each over the content hash it saw.
CREATE TABLE approvals (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    draft_id           INTEGER NOT NULL REFERENCES drafts (id),
    actor              TEXT    NOT NULL,
    role               TEXT    NOT NULL,
    decision           TEXT    NOT NULL CHECK (decision IN ('approved', 'rejected')),
    reason             TEXT,
    at                 TEXT    NOT NULL,
    content_sha256     TEXT    NOT NULL
);

CREATE TABLE signatures (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    draft_id           INTEGER NOT NULL REFERENCES drafts (id),
    actor              TEXT    NOT NULL,
    role               TEXT    NOT NULL,
    at                 TEXT    NOT NULL,
    content_sha256     TEXT    NOT NULL,
    UNIQUE (draft_id, role, content_sha256)   -- a role signs each content once
);
CREATE TRIGGER signatures_frozen BEFORE UPDATE ON signatures
BEGIN
    SELECT RAISE(ABORT, 'signatures never change');
END;
CREATE TRIGGER signatures_no_delete BEFORE DELETE ON signatures
BEGIN
    SELECT RAISE(ABORT, 'signatures are never deleted');
END;

-- The audit log: each entry's hash covers the previous entry's hash and its own fields, so a
-- changed, removed or reordered entry breaks the chain (`snop audit verify`).
CREATE TABLE audit_log (
    seq                INTEGER PRIMARY KEY,     -- 1, 2, ... no gaps
    ts                 TEXT    NOT NULL,
    actor              TEXT    NOT NULL,
    action             TEXT    NOT NULL,
    entity             TEXT    NOT NULL,        -- e.g. `draft:12`
    content_sha256     TEXT    NOT NULL,        -- the content the action saw or made
    prev_hash          TEXT    NOT NULL,
    hash               TEXT    NOT NULL
);
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;
