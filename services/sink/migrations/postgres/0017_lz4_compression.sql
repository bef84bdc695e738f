-- The large values (a version's record JSON, the body text, the search vector) are compressed
-- with lz4 where the server was built with it: pglz spent ~0.1 ms of a write's CPU per record
-- on 3 KB texts, lz4 under half of that. Only values written from now on change; old ones stay
-- readable as they are. Servers without lz4 keep pglz (nothing else depends on it).
DO $$
BEGIN
    IF EXISTS (
        SELECT 1 FROM pg_settings
        WHERE name = 'default_toast_compression' AND 'lz4' = ANY (enumvals)
    ) THEN
        ALTER TABLE speech_versions ALTER COLUMN record SET COMPRESSION lz4;
        ALTER TABLE speeches ALTER COLUMN body_text SET COMPRESSION lz4;
        ALTER TABLE speeches ALTER COLUMN tsv SET COMPRESSION lz4;
    END IF;
END
$$;
