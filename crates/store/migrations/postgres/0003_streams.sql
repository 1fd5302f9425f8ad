-- Conversation streams: every change a client may follow live is stored with the change, under
-- the conversation's next event offset, so a client that reconnects (even after a restart)
-- gets exactly what it missed.

ALTER TABLE conversations ADD COLUMN event_offset BIGINT NOT NULL DEFAULT 0;

CREATE TABLE conversation_events (
    conversation_id TEXT NOT NULL,
    event_offset    BIGINT NOT NULL,
    tenant_id       TEXT NOT NULL,
    -- The event's JSON, exactly as it was published.
    payload         TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    PRIMARY KEY (conversation_id, event_offset)
);
CREATE INDEX conversation_events_created ON conversation_events (created_at);

-- Members (app end users) follow only the conversations they take part in.
CREATE INDEX participants_user ON participants (tenant_id, user_id);
