-- Latest version of each speech record: the full JSON plus the columns the API filters on.
CREATE TABLE speeches (
    id            TEXT PRIMARY KEY NOT NULL,
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

CREATE INDEX speeches_newest ON speeches (published_us DESC, id DESC);
CREATE INDEX speeches_lang_newest ON speeches (lang, published_us DESC, id DESC);
CREATE INDEX speeches_kind_newest ON speeches (kind, published_us DESC, id DESC);

-- Every version ever stored, the latest included.
CREATE TABLE speech_versions (
    id            TEXT NOT NULL,
    version       INTEGER NOT NULL,
    content_hash  TEXT NOT NULL,
    record        TEXT NOT NULL,
    stored_at     TEXT NOT NULL,
    PRIMARY KEY (id, version)
);

CREATE INDEX speech_versions_hash ON speech_versions (id, content_hash);

-- Full-text index of the latest versions; rowid = speeches.rowid.
CREATE VIRTUAL TABLE speeches_fts USING fts5(
    title,
    body,
    tokenize = 'porter unicode61 remove_diacritics 2'
);
