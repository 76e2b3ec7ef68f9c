-- A decision may cite a what-if scenario (`snop decide --scenario NAME`): the scenario's name,
-- whose run for the decision's cycle existed when it was recorded. NULL: none cited.
ALTER TABLE decisions ADD COLUMN scenario TEXT;
