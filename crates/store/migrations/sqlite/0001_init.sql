-- Switchboard schema, SQLite flavour. Ids are UUID text, times are Unix milliseconds, JSON is
-- text. Every tenant-owned table is UNIQUE (tenant_id, id) so references can carry the tenant
-- and the database itself refuses a cross-tenant link.

CREATE TABLE tenants (
    id             TEXT PRIMARY KEY,
    name           TEXT NOT NULL,
    credit_balance INTEGER NOT NULL DEFAULT 0,
    created_at     INTEGER NOT NULL
);

CREATE TABLE users (
    id            TEXT PRIMARY KEY,
    tenant_id     TEXT NOT NULL REFERENCES tenants (id),
    username      TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    role          TEXT NOT NULL,
    external_id   TEXT,
    created_at    INTEGER NOT NULL,
    deleted_at    INTEGER,
    UNIQUE (tenant_id, id),
    UNIQUE (tenant_id, external_id)
);

CREATE TABLE api_keys (
    id           TEXT PRIMARY KEY,
    tenant_id    TEXT NOT NULL,
    user_id      TEXT NOT NULL,
    name         TEXT NOT NULL,
    role         TEXT NOT NULL,
    prefix       TEXT NOT NULL UNIQUE,
    key_hash     TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    last_used_at INTEGER,
    revoked_at   INTEGER,
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id)
);
CREATE INDEX api_keys_tenant ON api_keys (tenant_id, id);

CREATE TABLE refresh_tokens (
    id         TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users (id),
    family_id  TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    expires_at INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    revoked_at INTEGER
);
CREATE INDEX refresh_tokens_family ON refresh_tokens (family_id);

CREATE TABLE contacts (
    id          TEXT PRIMARY KEY,
    tenant_id   TEXT NOT NULL REFERENCES tenants (id),
    name        TEXT,
    phone       TEXT,
    external_id TEXT,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    UNIQUE (tenant_id, id),
    UNIQUE (tenant_id, external_id)
);
CREATE INDEX contacts_phone ON contacts (tenant_id, phone);

CREATE TABLE agents (
    id           TEXT PRIMARY KEY,
    tenant_id    TEXT NOT NULL REFERENCES tenants (id),
    name         TEXT NOT NULL,
    kind         TEXT NOT NULL,
    config       TEXT NOT NULL,
    cost_per_run INTEGER NOT NULL,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL,
    UNIQUE (tenant_id, id)
);

CREATE TABLE channels (
    id         TEXT PRIMARY KEY,
    tenant_id  TEXT NOT NULL REFERENCES tenants (id),
    kind       TEXT NOT NULL,
    name       TEXT NOT NULL,
    agent_id   TEXT,
    config     TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    UNIQUE (tenant_id, id),
    FOREIGN KEY (tenant_id, agent_id) REFERENCES agents (tenant_id, id)
);

CREATE TABLE conversations (
    id               TEXT PRIMARY KEY,
    tenant_id        TEXT NOT NULL REFERENCES tenants (id),
    channel_id       TEXT NOT NULL,
    contact_id       TEXT,
    type             TEXT NOT NULL,
    business_id      TEXT,
    status           TEXT NOT NULL,
    agent_id         TEXT,
    last_seq         INTEGER NOT NULL DEFAULT 0,
    last_message_id  TEXT,
    last_activity_at INTEGER NOT NULL,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL,
    UNIQUE (tenant_id, id),
    FOREIGN KEY (tenant_id, channel_id) REFERENCES channels (tenant_id, id),
    FOREIGN KEY (tenant_id, contact_id) REFERENCES contacts (tenant_id, id),
    FOREIGN KEY (tenant_id, agent_id) REFERENCES agents (tenant_id, id)
);
-- The conversation list: newest activity first, keyset-paginated on (last_activity_at, id).
CREATE INDEX conversations_activity ON conversations (tenant_id, last_activity_at DESC, id DESC);
CREATE INDEX conversations_updated ON conversations (tenant_id, updated_at);
CREATE INDEX conversations_channel ON conversations (channel_id, last_activity_at DESC);
CREATE INDEX conversations_contact ON conversations (contact_id);

CREATE TABLE participants (
    id              TEXT PRIMARY KEY,
    tenant_id       TEXT NOT NULL,
    conversation_id TEXT NOT NULL,
    kind            TEXT NOT NULL,
    user_id         TEXT,
    contact_id      TEXT,
    agent_id        TEXT,
    role            TEXT NOT NULL,
    joined_at       INTEGER NOT NULL,
    last_read_seq   INTEGER NOT NULL DEFAULT 0,
    last_read_at    INTEGER,
    FOREIGN KEY (tenant_id, conversation_id) REFERENCES conversations (tenant_id, id),
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id),
    FOREIGN KEY (tenant_id, contact_id) REFERENCES contacts (tenant_id, id),
    FOREIGN KEY (tenant_id, agent_id) REFERENCES agents (tenant_id, id),
    UNIQUE (conversation_id, user_id),
    UNIQUE (conversation_id, contact_id),
    UNIQUE (conversation_id, agent_id)
);

CREATE TABLE messages (
    id                  TEXT PRIMARY KEY,
    tenant_id           TEXT NOT NULL,
    conversation_id     TEXT NOT NULL,
    channel_id          TEXT NOT NULL,
    seq                 INTEGER NOT NULL,
    direction           TEXT NOT NULL,
    author_kind         TEXT NOT NULL,
    author_id           TEXT,
    type                TEXT NOT NULL,
    text                TEXT,
    content             TEXT,
    provider_message_id TEXT,
    status              TEXT NOT NULL,
    created_at          INTEGER NOT NULL,
    deleted_at          INTEGER,
    FOREIGN KEY (tenant_id, conversation_id) REFERENCES conversations (tenant_id, id),
    UNIQUE (conversation_id, seq),
    UNIQUE (channel_id, provider_message_id)
);

CREATE TABLE credit_ledger (
    id              TEXT PRIMARY KEY,
    tenant_id       TEXT NOT NULL REFERENCES tenants (id),
    amount          INTEGER NOT NULL,
    balance_after   INTEGER NOT NULL,
    reason          TEXT NOT NULL,
    idempotency_key TEXT NOT NULL,
    created_at      INTEGER NOT NULL,
    UNIQUE (tenant_id, idempotency_key)
);
CREATE INDEX credit_ledger_tenant ON credit_ledger (tenant_id, id DESC);

-- Full-text search over live message text. External content: the index stores only tokens and
-- points at messages.rowid; the triggers keep it in step with inserts, edits and soft deletes.
CREATE VIRTUAL TABLE messages_fts USING fts5 (
    text,
    content = 'messages',
    content_rowid = 'rowid',
    tokenize = 'unicode61 remove_diacritics 2'
);

CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages
WHEN new.text IS NOT NULL AND new.deleted_at IS NULL
BEGIN
    INSERT INTO messages_fts (rowid, text) VALUES (new.rowid, new.text);
END;

CREATE TRIGGER messages_fts_unindex AFTER UPDATE OF text, deleted_at ON messages
WHEN old.text IS NOT NULL AND old.deleted_at IS NULL
BEGIN
    INSERT INTO messages_fts (messages_fts, rowid, text) VALUES ('delete', old.rowid, old.text);
END;

CREATE TRIGGER messages_fts_reindex AFTER UPDATE OF text, deleted_at ON messages
WHEN new.text IS NOT NULL AND new.deleted_at IS NULL
BEGIN
    INSERT INTO messages_fts (rowid, text) VALUES (new.rowid, new.text);
END;

CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages
WHEN old.text IS NOT NULL AND old.deleted_at IS NULL
BEGIN
    INSERT INTO messages_fts (messages_fts, rowid, text) VALUES ('delete', old.rowid, old.text);
END;
