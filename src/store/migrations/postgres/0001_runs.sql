-- PostgreSQL twin of `../sqlite/0001_runs.sql` (same tables, columns and meaning; keep the two
-- in step). Integers are BIGINT (Rust i64); times are RFC 3339 TEXT, as in SQLite.

-- Runs: one row per agent run that got as far as validating its inputs. The id is given by the
-- store (the next number under the write lock), never by a sequence: run numbers have no gaps.
CREATE TABLE runs (
    id               BIGINT  PRIMARY KEY,
    agent            TEXT    NOT NULL,
    cycle            TEXT    NOT NULL,          -- YYYY-MM
    started_at       TEXT    NOT NULL,          -- RFC 3339, UTC
    duration_ms      BIGINT  NOT NULL,
    outcome          TEXT    NOT NULL CHECK (outcome IN ('succeeded', 'rejected')),
    inputs_sha256    TEXT    NOT NULL,          -- over the pipeline, the cycle and every input's bytes
    rows_read        BIGINT  NOT NULL,
    rows_quarantined BIGINT  NOT NULL,
    rows_kept        BIGINT  NOT NULL,
    folder           TEXT    NOT NULL,          -- relative to the workspace
    report_json      TEXT    NOT NULL
);
CREATE INDEX runs_agent_cycle ON runs (agent, cycle, id);

-- What each run read: one row per file (or URL) of each source.
CREATE TABLE run_inputs (
    run_id           BIGINT  NOT NULL REFERENCES runs (id),
    source           TEXT    NOT NULL,
    table_name       TEXT    NOT NULL,
    location         TEXT    NOT NULL,
    sheet            TEXT,
    sha256           TEXT    NOT NULL,
    PRIMARY KEY (run_id, source, location)
);
