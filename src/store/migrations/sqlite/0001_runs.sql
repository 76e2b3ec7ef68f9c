-- Runs: one row per agent run that got as far as validating its inputs.
CREATE TABLE runs (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    agent            TEXT    NOT NULL,
    cycle            TEXT    NOT NULL,          -- YYYY-MM
    started_at       TEXT    NOT NULL,          -- RFC 3339, UTC
    duration_ms      INTEGER NOT NULL,
    outcome          TEXT    NOT NULL CHECK (outcome IN ('succeeded', 'rejected')),
    inputs_sha256    TEXT    NOT NULL,          -- over the pipeline, the cycle and every input's bytes
    rows_read        INTEGER NOT NULL,
    rows_quarantined INTEGER NOT NULL,
    rows_kept        INTEGER NOT NULL,
    folder           TEXT    NOT NULL,          -- relative to the workspace
    report_json      TEXT    NOT NULL
);
CREATE INDEX runs_agent_cycle ON runs (agent, cycle, id);

-- What each run read: one row per file (or URL) of each source.
CREATE TABLE run_inputs (
    run_id           INTEGER NOT NULL REFERENCES runs (id),
    source           TEXT    NOT NULL,
    table_name       TEXT    NOT NULL,
    location         TEXT    NOT NULL,
    sheet            TEXT,
    sha256           TEXT    NOT NULL,
    PRIMARY KEY (run_id, source, location)
);
