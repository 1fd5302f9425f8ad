-- Contacts gain what imports bring: email, time zone, free-form attributes (JSON object of
-- texts), and the import and line that last wrote them (a second row of the same file for
-- the same contact is a duplicate, found without holding the file's keys in memory).
ALTER TABLE contacts ADD COLUMN email TEXT;
ALTER TABLE contacts ADD COLUMN timezone TEXT;
ALTER TABLE contacts ADD COLUMN attributes TEXT NOT NULL DEFAULT '{}';
ALTER TABLE contacts ADD COLUMN import_id TEXT;
ALTER TABLE contacts ADD COLUMN import_line BIGINT;

-- One uploaded file and its checkpoint: the next byte and line to read, and the counts so far,
-- moved in the transaction that applies each batch of rows.
CREATE TABLE imports (
    id           TEXT PRIMARY KEY,
    tenant_id    TEXT NOT NULL REFERENCES tenants (id),
    kind         TEXT NOT NULL,
    status       TEXT NOT NULL,
    options      TEXT NOT NULL,
    file_name    TEXT,
    total_bytes  BIGINT NOT NULL DEFAULT 0,
    rows_total   BIGINT NOT NULL DEFAULT 0,
    next_offset  BIGINT NOT NULL DEFAULT 0,
    next_line    BIGINT NOT NULL DEFAULT 0,
    rows_read    BIGINT NOT NULL DEFAULT 0,
    created      BIGINT NOT NULL DEFAULT 0,
    updated      BIGINT NOT NULL DEFAULT 0,
    unchanged    BIGINT NOT NULL DEFAULT 0,
    failed       BIGINT NOT NULL DEFAULT 0,
    error        TEXT,
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL,
    completed_at BIGINT,
    UNIQUE (tenant_id, id)
);
CREATE INDEX imports_status ON imports (status);

-- The uploaded CSV (after any gzip), in pieces of about a megabyte, cut on character
-- boundaries; deleted when the import finishes.
CREATE TABLE import_chunks (
    import_id   TEXT NOT NULL REFERENCES imports (id) ON DELETE CASCADE,
    seq         BIGINT NOT NULL,
    byte_offset BIGINT NOT NULL,
    content     TEXT NOT NULL,
    PRIMARY KEY (import_id, seq)
);

CREATE TABLE import_errors (
    import_id TEXT NOT NULL REFERENCES imports (id) ON DELETE CASCADE,
    line      BIGINT NOT NULL,
    column_name TEXT NOT NULL,
    code      TEXT NOT NULL,
    message   TEXT NOT NULL,
    PRIMARY KEY (import_id, line, column_name)
);
