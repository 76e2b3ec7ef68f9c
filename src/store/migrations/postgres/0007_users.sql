-- PostgreSQL twin of `../sqlite/0007_users.sql` (keep the two in step). People who log in to
-- `snop serve`, and their sessions. A person is an id from `[people]` in `snop.toml` (roles stay
-- in the configuration); this table only holds how they log in.
CREATE TABLE users (
    person          TEXT    PRIMARY KEY,       -- a person id from `[people]`
    password_phc    TEXT    NOT NULL,          -- argon2id, PHC string (salt and parameters inside)
    disabled        BIGINT  NOT NULL DEFAULT 0,
    failed_logins   BIGINT  NOT NULL DEFAULT 0, -- consecutive failures; reset by a good login
    locked_until    TEXT,                      -- RFC 3339 UTC; no login before it
    created_at      TEXT    NOT NULL,
    updated_at      TEXT    NOT NULL
);

-- A login session. The cookie carries a random token; only its sha256 is stored, so the table
-- read by someone else yields no live session. `csrf_token` goes in every form of the session.
CREATE TABLE sessions (
    token_sha256    TEXT    PRIMARY KEY,
    person          TEXT    NOT NULL REFERENCES users (person),
    csrf_token      TEXT    NOT NULL,
    created_at      TEXT    NOT NULL,
    last_seen_at    TEXT    NOT NULL,
    expires_at      TEXT    NOT NULL           -- the absolute end; idle expiry is from last_seen_at
);
CREATE INDEX sessions_person ON sessions (person);
