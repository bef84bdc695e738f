-- One row per stored version, in the order they were stored: the durable sequence behind
-- GET /v1/events (its `id:`) so that a reconnecting client resumes where it left off.
CREATE TABLE speech_events (
    seq      INTEGER PRIMARY KEY AUTOINCREMENT,
    id       TEXT NOT NULL,
    version  INTEGER NOT NULL
);

INSERT INTO speech_events (id, version)
    SELECT id, version FROM speech_versions ORDER BY stored_at, id, version;
