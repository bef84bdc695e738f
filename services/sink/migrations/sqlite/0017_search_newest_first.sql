-- A search walks its matches newest first and stops after the few it needs (store/sqlite.rs):
-- the full-text index's rowid, by which FTS5 orders its matches, now follows publication
-- order. Each record gets `fts_key` = published_us × 2048 + a free slot (records published in
-- the same microsecond take the next free keys), its rowid and the rowid of its row in
-- `speeches_fts`. An explicit INTEGER PRIMARY KEY also keeps the key stable through VACUUM,
-- which may renumber implicit rowids. Both tables are rebuilt once, newest key last.

-- Old rowid -> new key. published_us is clamped to ±(2^63 / 2048 − 1024) µs (~2112) so that every
-- key fits an i64; records published in the same microsecond get consecutive keys from its
-- first (key = n + the running maximum of first key − n, in order of publication and id).
CREATE TEMP TABLE speech_keys (
    old_rowid  INTEGER PRIMARY KEY NOT NULL,
    fts_key    INTEGER NOT NULL UNIQUE
);
INSERT INTO speech_keys (old_rowid, fts_key)
    SELECT old_rowid, n + MAX(base - n) OVER (ORDER BY n ROWS UNBOUNDED PRECEDING)
    FROM (
        SELECT rowid AS old_rowid,
               MAX(MIN(published_us, 4503599627369471), -4503599627369471) * 2048 AS base,
               ROW_NUMBER() OVER (ORDER BY published_us, id) AS n
        FROM speeches
    );

CREATE TABLE speeches_keyed (
    -- The search order: published_us × 2048 + a slot; the rowid of the record's full-text row.
    fts_key       INTEGER PRIMARY KEY NOT NULL,
    id            TEXT NOT NULL UNIQUE,
    source        TEXT NOT NULL,
    doc_id        TEXT NOT NULL,
    lang          TEXT NOT NULL,
    kind          TEXT NOT NULL,
    title         TEXT NOT NULL,
    url           TEXT NOT NULL,
    -- JSON array of canonical English names.
    speakers      TEXT NOT NULL,
    -- Sort key: published_at (or fetched_at when unknown), microseconds since the epoch, UTC.
    published_us  INTEGER NOT NULL,
    content_hash  TEXT NOT NULL,
    version       INTEGER NOT NULL,
    record        TEXT NOT NULL,
    updated_at    TEXT NOT NULL
);

INSERT INTO speeches_keyed (fts_key, id, source, doc_id, lang, kind, title, url, speakers,
        published_us, content_hash, version, record, updated_at)
    SELECT k.fts_key, s.id, s.source, s.doc_id, s.lang, s.kind, s.title, s.url, s.speakers,
           s.published_us, s.content_hash, s.version, s.record, s.updated_at
    FROM speech_keys k CROSS JOIN speeches s ON s.rowid = k.old_rowid
    ORDER BY k.fts_key;

CREATE VIRTUAL TABLE speeches_fts_keyed USING fts5(
    title,
    body,
    tokenize = 'porter unicode61 remove_diacritics 2'
);

-- In key order, each row read by its old rowid (CROSS JOIN keeps the keys the outer loop): FTS5
-- writes ascending rowids into one growing segment, out of order it would flush at each row.
INSERT INTO speeches_fts_keyed (rowid, title, body)
    SELECT k.fts_key, f.title, f.body
    FROM speech_keys k CROSS JOIN speeches_fts f ON f.rowid = k.old_rowid
    ORDER BY k.fts_key;

INSERT INTO speeches_fts_keyed (speeches_fts_keyed) VALUES ('optimize');

DROP TABLE speech_keys;
DROP TABLE speeches_fts;
DROP TABLE speeches;
ALTER TABLE speeches_keyed RENAME TO speeches;
ALTER TABLE speeches_fts_keyed RENAME TO speeches_fts;

CREATE INDEX speeches_newest ON speeches (published_us DESC, id DESC);
CREATE INDEX speeches_lang_newest ON speeches (lang, published_us DESC, id DESC);
CREATE INDEX speeches_kind_newest ON speeches (kind, published_us DESC, id DESC);

-- The records whose key lies past their microsecond's slots (more than 2048 published in one
-- microsecond; normally none): a search bounded by `until` reads them to bound its walk.
CREATE INDEX speeches_displaced ON speeches (published_us)
    WHERE fts_key >= (MAX(MIN(published_us, 4503599627369471), -4503599627369471) + 1) * 2048;
