-- The full-text index keeps no copy of the text it indexes. FTS5 stored every record's title
-- and body a second time (its `%_content` table: a quarter of what a write put on disk, after
-- the JSON of the version); it now reads them, for snippets and to unindex a record, from
-- `speeches_text`, which computes them from the latest version's JSON as the store writes
-- them (store/rows.rs `body_text`): the paragraphs joined by a blank line, or, when there are
-- none, the turns as "speaker: text". The text read must be the text indexed, token for
-- token: a record leaves the index (store/sqlite/write.rs) before its served row moves on to
-- a new version. (Positions are counted by recursive CTEs, not read with `json_each`: FTS5
-- reads its content with statements that may not use virtual tables. `group_concat` takes
-- the rows in the order the CTE makes them; no `ORDER BY` inside it, which SQLite before 3.44,
-- Debian 12's Python among them, cannot read: it would refuse the whole file's schema.)
CREATE VIEW speeches_text (fts_key, title, body) AS
    SELECT s.fts_key, s.title,
           CASE WHEN json_array_length(v.record, '$.paragraphs') > 0
               THEN (WITH RECURSIVE paragraph (i, n) AS (
                         SELECT 0, json_array_length(v.record, '$.paragraphs')
                         UNION ALL SELECT i + 1, n FROM paragraph WHERE i + 1 < n)
                     SELECT group_concat(json_extract(v.record, '$.paragraphs[' || i || ']'),
                                         char(10, 10))
                     FROM paragraph)
               ELSE (WITH RECURSIVE turn (i, n) AS (
                         SELECT 0, json_array_length(v.record, '$.turns')
                         UNION ALL SELECT i + 1, n FROM turn WHERE i + 1 < n)
                     SELECT group_concat(json_extract(v.record, '$.turns[' || i || '].speaker')
                                         || ': ' || json_extract(v.record, '$.turns[' || i || '].text'),
                                         char(10, 10))
                     FROM turn)
           END
    FROM speeches s JOIN speech_versions v ON v.id = s.id AND v.version = s.version;

DROP TABLE speeches_fts;

CREATE VIRTUAL TABLE speeches_fts USING fts5(
    title,
    body,
    content = 'speeches_text',
    content_rowid = 'fts_key',
    tokenize = 'porter unicode61 remove_diacritics 2'
);

-- Indexes every record, in key order (FTS5 reads the content by ascending rowid).
INSERT INTO speeches_fts (speeches_fts) VALUES ('rebuild');
