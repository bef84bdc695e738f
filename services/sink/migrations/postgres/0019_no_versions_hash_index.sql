-- `speech_versions (id, content_hash)` served no query: every lookup of a record's versions
-- goes by its id, the first column of the primary key `(id, version)`, which also finds their
-- content hashes (a write's `known` hashes).
-- The index cost every write a random insert into a tree as large as the archive (54 MB at
-- 300,000 records), and after each checkpoint a full-page image in the WAL for most of them.
DROP INDEX IF EXISTS speech_versions_hash;
