-- The inbox: inbound messages a webhook was acknowledged for, not yet stored as messages. On
-- SQLite it is a file of its own beside the database (`<database>-inbox`), with its own writer:
-- acknowledging a webhook never waits for the database's larger commits and checkpoints.
-- Acknowledging a webhook costs one appended row per message (and a probe of `messages` for a
-- redelivery); finding the contact and the conversation, numbering, queueing the run and the
-- stream event happen right after, in batches, when the inbox is stored (store/src/inbox.rs).
-- Rows are stored in id order, which is acceptance order, and deleted once stored (a row
-- stored again after a crash in between is a duplicate, and changes nothing).
CREATE TABLE IF NOT EXISTS inbox (
    -- Never reused: the writer reads on from the last id it stored.
    id                   INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id            TEXT NOT NULL,
    channel_id           TEXT NOT NULL,
    provider_message_id  TEXT NOT NULL,
    contact_external_id  TEXT NOT NULL,
    contact_name         TEXT,
    contact_phone        TEXT,
    type                 TEXT NOT NULL,
    text                 TEXT,
    content              TEXT,
    priority             INTEGER NOT NULL,
    channel_ordering_key TEXT,
    received_at          INTEGER NOT NULL,
    -- A redelivery while the first delivery waits here is a duplicate too.
    UNIQUE (channel_id, provider_message_id)
);
