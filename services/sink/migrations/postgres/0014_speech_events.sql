-- One row per stored version, in the order they were committed: the durable sequence behind
-- GET /v1/events (its `id:`) so that a reconnecting client resumes where it left off. Writers
-- take an advisory lock just before inserting here, so sequence order is commit order.
CREATE TABLE speech_events (
    seq      BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id       TEXT COLLATE "C" NOT NULL,
    version  INTEGER NOT NULL
);

INSERT INTO speech_events (id, version)
    SELECT id, version FROM speech_versions ORDER BY stored_at, id, version;
