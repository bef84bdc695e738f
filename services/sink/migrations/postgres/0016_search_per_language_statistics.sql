-- Each language's search index on its own expression, `(CASE WHEN lang = 'xx' THEN tsv END)`,
-- instead of a partial index on `tsv`. The planner keeps statistics for an index expression
-- (never for a partial index), so a search is now planned with the frequencies of its own
-- language: with the statistics of the whole column (both languages mixed), an English word
-- searched in the Russian branch was taken to match half of the Russian records, and the
-- branch walked all of them newest first (seconds on a 300,000-record archive) to find none.
-- The other languages' rows are NULL in each expression, indexed as one GIN null entry.
DROP INDEX IF EXISTS speeches_tsv_en;
DROP INDEX IF EXISTS speeches_tsv_ru;
DROP INDEX IF EXISTS speeches_tsv_de;
DROP INDEX IF EXISTS speeches_tsv_fr;
DROP INDEX IF EXISTS speeches_tsv_es;
DROP INDEX IF EXISTS speeches_tsv_pt;
CREATE INDEX speeches_tsv_en ON speeches USING GIN ((CASE WHEN lang = 'en' THEN tsv END));
CREATE INDEX speeches_tsv_ru ON speeches USING GIN ((CASE WHEN lang = 'ru' THEN tsv END));
CREATE INDEX speeches_tsv_de ON speeches USING GIN ((CASE WHEN lang = 'de' THEN tsv END));
CREATE INDEX speeches_tsv_fr ON speeches USING GIN ((CASE WHEN lang = 'fr' THEN tsv END));
CREATE INDEX speeches_tsv_es ON speeches USING GIN ((CASE WHEN lang = 'es' THEN tsv END));
CREATE INDEX speeches_tsv_pt ON speeches USING GIN ((CASE WHEN lang = 'pt' THEN tsv END));
-- As fine as the column's (migration 0015): ~10,000 known words per language.
ALTER INDEX speeches_tsv_en ALTER COLUMN 1 SET STATISTICS 1000;
ALTER INDEX speeches_tsv_ru ALTER COLUMN 1 SET STATISTICS 1000;
ALTER INDEX speeches_tsv_de ALTER COLUMN 1 SET STATISTICS 1000;
ALTER INDEX speeches_tsv_fr ALTER COLUMN 1 SET STATISTICS 1000;
ALTER INDEX speeches_tsv_es ALTER COLUMN 1 SET STATISTICS 1000;
ALTER INDEX speeches_tsv_pt ALTER COLUMN 1 SET STATISTICS 1000;
-- The column's own statistics are no longer used by any search.
ALTER TABLE speeches ALTER COLUMN tsv SET STATISTICS -1;
ANALYZE speeches;
