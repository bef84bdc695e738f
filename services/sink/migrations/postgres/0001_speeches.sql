-- Latest version of each speech record: the columns the API filters and searches on.
CREATE TABLE speeches (
    id            TEXT COLLATE "C" PRIMARY KEY,
    source        TEXT NOT NULL,
    doc_id        TEXT NOT NULL,
    lang          TEXT NOT NULL,
    kind          TEXT NOT NULL,
    title         TEXT NOT NULL,
    url           TEXT NOT NULL,
    -- JSON array of canonical English names.
    speakers      JSONB NOT NULL,
    -- Sort key: published_at (or fetched_at when unknown), microseconds since the epoch, UTC.
    published_us  BIGINT NOT NULL,
    content_hash  TEXT NOT NULL,
    -- The served version; its full JSON is in speech_versions (stored once).
    version       INTEGER NOT NULL,
    updated_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    -- Text search configuration of the record's language (english, russian, ...).
    ts_config     TEXT NOT NULL,
    -- Body text, for ts_headline snippets.
    body_text     TEXT COMPRESSION lz4 NOT NULL,
    tsv           TSVECTOR NOT NULL
);

CREATE INDEX speeches_newest ON speeches (published_us DESC, id DESC);
CREATE INDEX speeches_lang_newest ON speeches (lang, published_us DESC, id DESC);
CREATE INDEX speeches_kind_newest ON speeches (kind, published_us DESC, id DESC);
CREATE INDEX speeches_tsv ON speeches USING GIN (tsv);

-- Every version ever stored, the latest included.
CREATE TABLE speech_versions (
    id            TEXT COLLATE "C" NOT NULL,
    version       INTEGER NOT NULL,
    content_hash  TEXT NOT NULL,
    -- The version's full JSON (lz4: cheaper to write than the default pglz).
    record        TEXT COMPRESSION lz4 NOT NULL,
    stored_at     TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (id, version)
);

CREATE INDEX speech_versions_hash ON speech_versions (id, content_hash);
