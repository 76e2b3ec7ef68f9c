-- PostgreSQL twin of `../sqlite/0003_llm_cache.sql`.
-- The LLM response cache: a finished draft by the hash of its prompt, model and parameters, so a
-- re-run with the same facts costs nothing and gives the same draft.
CREATE TABLE llm_cache (
    key        TEXT PRIMARY KEY,
    draft_json TEXT NOT NULL,
    created_at TEXT NOT NULL
);
