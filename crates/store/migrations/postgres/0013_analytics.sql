-- Analytics (store/src/analytics): triggers record what happened as facts, in the transaction
-- that makes it, whichever code path wrote it; a loop folds facts into roll-ups and deletes them
-- in one transaction, so nothing is missed or counted twice, crash or not.
CREATE TABLE analytics_facts (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id       TEXT NOT NULL,
    -- opened | status | inbound | outbound | run | debit
    kind            TEXT NOT NULL,
    conversation_id TEXT,
    -- The row the fact is about: a conversation, message, run or ledger entry.
    subject_id      TEXT NOT NULL,
    at              BIGINT NOT NULL,
    -- status: ms since the conversation opened; run: its duration; debit: credits spent.
    value           BIGINT NOT NULL DEFAULT 0,
    -- status: the new status; inbound/outbound: the author kind; run: its status;
    -- debit: its ledger key (`run:<first message id>`).
    detail          TEXT
);

-- Conversations' status changes, kept: the raw truth a rebuild reads resolutions and handoffs
-- from (the conversation row holds only its current status).
CREATE TABLE conversation_status_changes (
    tenant_id       TEXT NOT NULL,
    conversation_id TEXT NOT NULL,
    status          TEXT NOT NULL,
    at              BIGINT NOT NULL,
    opened_at       BIGINT NOT NULL
);
CREATE INDEX conversation_status_changes_at ON conversation_status_changes (tenant_id, at);

-- One row per tenant × tier (UTC minute, hour, quarter day, day) × bucket × channel × agent × campaign:
-- counters, and percentile sketches as text (analytics::Sketch::encode). '' is "none".
CREATE TABLE analytics_rollups (
    tenant_id              TEXT NOT NULL,
    tier                   TEXT NOT NULL,
    bucket                 BIGINT NOT NULL,
    channel_id             TEXT NOT NULL,
    agent_id               TEXT NOT NULL,
    campaign_id            TEXT NOT NULL,
    conversations_opened   BIGINT NOT NULL DEFAULT 0,
    conversations_resolved BIGINT NOT NULL DEFAULT 0,
    messages_inbound       BIGINT NOT NULL DEFAULT 0,
    messages_outbound      BIGINT NOT NULL DEFAULT 0,
    runs_completed         BIGINT NOT NULL DEFAULT 0,
    runs_failed            BIGINT NOT NULL DEFAULT 0,
    runs_handed_off        BIGINT NOT NULL DEFAULT 0,
    handoffs               BIGINT NOT NULL DEFAULT 0,
    tool_calls             BIGINT NOT NULL DEFAULT 0,
    credits_spent          BIGINT NOT NULL DEFAULT 0,
    first_response_ms      TEXT,
    resolution_ms          TEXT,
    agent_latency_ms       TEXT,
    queue_wait_ms          TEXT,
    webhook_ack_ms         TEXT,
    PRIMARY KEY (tenant_id, tier, bucket, channel_id, agent_id, campaign_id)
);

-- Per conversation, what first response time needs: when the contact first wrote and when
-- someone (agent or operator) first answered.
CREATE TABLE analytics_conversations (
    conversation_id   TEXT PRIMARY KEY,
    tenant_id         TEXT NOT NULL,
    first_inbound_at  BIGINT,
    first_response_at BIGINT
);

CREATE FUNCTION analytics_conversation_opened() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO analytics_facts (tenant_id, kind, conversation_id, subject_id, at)
    VALUES (NEW.tenant_id, 'opened', NEW.id, NEW.id, NEW.created_at);
    RETURN NULL;
END $$;
CREATE TRIGGER analytics_conversation_opened AFTER INSERT ON conversations
    FOR EACH ROW EXECUTE FUNCTION analytics_conversation_opened();

CREATE FUNCTION analytics_conversation_status() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO analytics_facts (tenant_id, kind, conversation_id, subject_id, at, value, detail)
    VALUES (NEW.tenant_id, 'status', NEW.id, NEW.id, NEW.updated_at,
            NEW.updated_at - NEW.created_at, NEW.status);
    INSERT INTO conversation_status_changes (tenant_id, conversation_id, status, at, opened_at)
    VALUES (NEW.tenant_id, NEW.id, NEW.status, NEW.updated_at, NEW.created_at);
    RETURN NULL;
END $$;
CREATE TRIGGER analytics_conversation_status AFTER UPDATE OF status ON conversations
    FOR EACH ROW WHEN (NEW.status IS DISTINCT FROM OLD.status)
    EXECUTE FUNCTION analytics_conversation_status();

CREATE FUNCTION analytics_message() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO analytics_facts (tenant_id, kind, conversation_id, subject_id, at, detail)
    VALUES (NEW.tenant_id, NEW.direction, NEW.conversation_id, NEW.id, NEW.created_at,
            NEW.author_kind);
    RETURN NULL;
END $$;
CREATE TRIGGER analytics_message AFTER INSERT ON messages
    FOR EACH ROW EXECUTE FUNCTION analytics_message();

CREATE FUNCTION analytics_run() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO analytics_facts (tenant_id, kind, conversation_id, subject_id, at, value, detail)
    VALUES (NEW.tenant_id, 'run', NEW.conversation_id, NEW.id, NEW.finished_at,
            NEW.finished_at - NEW.started_at, NEW.status);
    RETURN NULL;
END $$;
CREATE TRIGGER analytics_run_stored AFTER INSERT ON runs
    FOR EACH ROW WHEN (NEW.finished_at IS NOT NULL) EXECUTE FUNCTION analytics_run();
CREATE TRIGGER analytics_run_finished AFTER UPDATE OF finished_at ON runs
    FOR EACH ROW WHEN (OLD.finished_at IS NULL AND NEW.finished_at IS NOT NULL)
    EXECUTE FUNCTION analytics_run();

CREATE FUNCTION analytics_debit() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO analytics_facts (tenant_id, kind, subject_id, at, value, detail)
    VALUES (NEW.tenant_id, 'debit', NEW.id, NEW.created_at, -NEW.amount, NEW.idempotency_key);
    RETURN NULL;
END $$;
CREATE TRIGGER analytics_debit AFTER INSERT ON credit_ledger
    FOR EACH ROW WHEN (NEW.amount < 0) EXECUTE FUNCTION analytics_debit();
