-- Search vectors are made by the sink (src/search/lexemes.rs), the same code that makes a
-- search's tsquery, no longer by to_tsvector in the server: the tokeniser's per-character work
-- was most of a write's server time. Rows written before keep tsv_version 0 until the sink
-- makes their vectors again when it opens the store (PgStore::reindex_outdated).
ALTER TABLE speeches ADD COLUMN tsv_version SMALLINT NOT NULL DEFAULT 0;
CREATE INDEX speeches_tsv_outdated ON speeches (id) WHERE tsv_version < 1;
