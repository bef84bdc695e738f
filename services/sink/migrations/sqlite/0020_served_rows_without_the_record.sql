-- The latest version's JSON is read from `speech_versions` by its key, as on PostgreSQL: the
-- served row no longer holds a second copy of it. That copy was a third of what a write put on
-- disk, and its 5-10 KB in every row of `speeches` made each insert at a random place in the
-- table rebalance pages of a few rows each (store/sqlite/write.rs). The space it held is reused
-- by later writes (or returned by VACUUM).
ALTER TABLE speeches DROP COLUMN record;
