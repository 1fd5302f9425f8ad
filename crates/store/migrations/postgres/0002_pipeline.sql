-- The message pipeline: the durable queue (per-ordering-key FIFO), agent runs and their events.

-- Counters for ordering keys that span conversations (a business number): they number the
-- key's entries, and their row lock serialises concurrent enqueues of one key so numbers follow
-- commit order. Conversation keys use the message `seq`, which the conversation row already
-- serialises.
CREATE TABLE queue_keys (
    ordering_key TEXT PRIMARY KEY,
    last_seq     BIGINT NOT NULL
);

-- Unfinished work. An entry is deleted in the transaction that commits its effects; dead ones
-- stay for inspection until retried or discarded.
CREATE TABLE queue_entries (
    id              TEXT PRIMARY KEY,
    tenant_id       TEXT NOT NULL,
    kind            TEXT NOT NULL,
    ordering_key    TEXT NOT NULL,
    key_seq         BIGINT NOT NULL,
    priority        BIGINT NOT NULL,
    conversation_id TEXT NOT NULL,
    message_id      TEXT NOT NULL,
    state           TEXT NOT NULL,
    attempts        BIGINT NOT NULL,
    available_at    BIGINT NOT NULL,
    last_error      TEXT,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL,
    UNIQUE (ordering_key, key_seq)
);
CREATE INDEX queue_entries_tenant_state ON queue_entries (tenant_id, state, id);

CREATE TABLE runs (
    id               TEXT PRIMARY KEY,
    tenant_id        TEXT NOT NULL,
    conversation_id  TEXT NOT NULL,
    agent_id         TEXT,
    message_ids      TEXT NOT NULL,
    context_message_ids TEXT NOT NULL,
    status           TEXT NOT NULL,
    reply_message_id TEXT,
    usage            TEXT,
    error            TEXT,
    -- The run's events in order, as a JSON array: the durable run log.
    events           TEXT NOT NULL,
    started_at       BIGINT NOT NULL,
    finished_at      BIGINT,
    UNIQUE (tenant_id, id)
);
CREATE INDEX runs_conversation ON runs (tenant_id, conversation_id, id);


-- Inbound webhooks find a contact by its provider id and its open conversation on a channel.
CREATE INDEX conversations_open ON conversations (tenant_id, channel_id, contact_id, last_activity_at);
