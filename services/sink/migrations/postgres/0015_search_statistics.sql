-- Finer statistics of the search vectors. With the default target (100) the planner knows
-- only the ~1,000 most frequent words and guesses every rarer one at half the frequency of
-- the least frequent of those: on a 300,000-record archive a rare word was taken to match
-- thousands of records, so the search walked a language's newest-first index hoping to find
-- 1,000 matches early, and read the whole language (> 10 s) instead of the GIN index
-- (milliseconds). With 1,000, ~10,000 words are known and a rare word is estimated rare.
ALTER TABLE speeches ALTER COLUMN tsv SET STATISTICS 1000;
ANALYZE speeches;
