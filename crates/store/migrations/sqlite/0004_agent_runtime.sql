-- The agent runtime: follow-ups agents schedule on a conversation (the schedule_follow_up tool),
-- recorded in the transaction that commits the run's reply.
CREATE TABLE follow_ups (
    id              TEXT PRIMARY KEY,
    tenant_id       TEXT NOT NULL,
    conversation_id TEXT NOT NULL,
    run_id          TEXT NOT NULL,
    due_at          INTEGER NOT NULL,
    note            TEXT,
    created_at      INTEGER NOT NULL
);
CREATE INDEX follow_ups_due ON follow_ups (tenant_id, due_at);
CREATE INDEX follow_ups_conversation ON follow_ups (tenant_id, conversation_id, due_at);
