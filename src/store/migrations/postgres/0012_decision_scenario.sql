-- PostgreSQL twin of `../sqlite/0012_decision_scenario.sql` (keep the two in step). A decision
-- may cite a what-if scenario: its name, whose run for the cycle existed when it was recorded.
ALTER TABLE decisions ADD COLUMN scenario TEXT;
