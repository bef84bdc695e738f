-- Full-text search per language. A search names each language's text search configuration
-- as a constant (`lang = 'en' AND tsv @@ websearch_to_tsquery('english', …)`), one branch per
-- language, so the planner can use these partial GIN indexes; the single index computed
-- against a per-row configuration was never used (every search read the whole table).
DROP INDEX IF EXISTS speeches_tsv;
CREATE INDEX speeches_tsv_en ON speeches USING GIN (tsv) WHERE lang = 'en';
CREATE INDEX speeches_tsv_ru ON speeches USING GIN (tsv) WHERE lang = 'ru';
CREATE INDEX speeches_tsv_de ON speeches USING GIN (tsv) WHERE lang = 'de';
CREATE INDEX speeches_tsv_fr ON speeches USING GIN (tsv) WHERE lang = 'fr';
CREATE INDEX speeches_tsv_es ON speeches USING GIN (tsv) WHERE lang = 'es';
CREATE INDEX speeches_tsv_pt ON speeches USING GIN (tsv) WHERE lang = 'pt';
-- Fresh planner statistics for the new indexes (a large archive would otherwise be planned
-- blind until autovacuum comes by).
ANALYZE speeches;
