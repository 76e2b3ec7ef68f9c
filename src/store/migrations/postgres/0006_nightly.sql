-- PostgreSQL twin of `../sqlite/0006_nightly.sql` (keep the two in step).
-- Nightly runs: one row per night (local date in the calendar's zone); a night without
-- `finished_at` did not complete (it crashed or was killed) and is caught up by the next.
CREATE TABLE nightly_runs (
    night       TEXT PRIMARY KEY,
    started_at  TEXT NOT NULL,
    finished_at TEXT,
    outcome     TEXT
);

-- The sent-log of notifications: one row per event and recipient (a person's e-mail, or a
-- webhook), so nobody hears about the same event twice. `sent_at` is set once delivered;
-- a row without it is retried by the next run.
CREATE TABLE notifications (
    event       TEXT NOT NULL,
    recipient   TEXT NOT NULL,
    channel     TEXT NOT NULL,
    subject     TEXT NOT NULL,
    attempts    BIGINT  NOT NULL,
    last_error  TEXT,
    first_at    TEXT NOT NULL,
    sent_at     TEXT,
    PRIMARY KEY (event, recipient)
);

-- The meeting dates last announced per cycle, to tell people when the calendar moves one.
CREATE TABLE meeting_dates (
    cycle       TEXT NOT NULL,
    artifact    TEXT NOT NULL,
    first_day   TEXT NOT NULL,
    last_day    TEXT NOT NULL,
    PRIMARY KEY (cycle, artifact)
);
