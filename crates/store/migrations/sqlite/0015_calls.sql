-- Outbound voice calls. A campaign holds its settings (schedule, retries) as JSON; each of its
-- recipients is a call. A call waits `queued` until `due_at`, then each dial is an attempt,
-- recorded before the provider hears of it (its id is the dial's idempotency key), moved
-- forward only by the provider's callbacks, and closed with its outcome, its debit and the
-- call's next step in one transaction.
CREATE TABLE campaigns (
    id                   TEXT PRIMARY KEY,
    tenant_id            TEXT NOT NULL REFERENCES tenants (id),
    name                 TEXT NOT NULL,
    channel_id           TEXT NOT NULL REFERENCES channels (id),
    agent_id             TEXT,
    status               TEXT NOT NULL,
    schedule             TEXT NOT NULL,
    retry                TEXT NOT NULL,
    max_concurrent_calls INTEGER NOT NULL,
    calls_per_second     INTEGER NOT NULL,
    waiting_for_credits  INTEGER NOT NULL DEFAULT 0,
    created_at           INTEGER NOT NULL,
    updated_at           INTEGER NOT NULL,
    completed_at         INTEGER,
    UNIQUE (tenant_id, id)
);
CREATE INDEX campaigns_status ON campaigns (status);

CREATE TABLE calls (
    id              TEXT PRIMARY KEY,
    tenant_id       TEXT NOT NULL REFERENCES tenants (id),
    channel_id      TEXT NOT NULL REFERENCES channels (id),
    campaign_id     TEXT REFERENCES campaigns (id),
    contact_id      TEXT NOT NULL REFERENCES contacts (id),
    -- Opened at the first dial.
    conversation_id TEXT REFERENCES conversations (id),
    agent_id        TEXT,
    to_number       TEXT NOT NULL,
    -- The recipient's zone, resolved when the call was made: its calling windows' zone.
    timezone        TEXT NOT NULL,
    status          TEXT NOT NULL,
    outcome         TEXT,
    due_at          INTEGER,
    variables       TEXT NOT NULL DEFAULT '{}',
    -- A call's own retries by outcome (JSON); a campaign's calls follow the campaign's.
    retry           TEXT,
    -- What the voice pipeline's report said: a summary and its outcome fields (JSON).
    summary         TEXT,
    analysis        TEXT,
    attempts        INTEGER NOT NULL DEFAULT 0,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    UNIQUE (tenant_id, id)
);
-- What the dialer reads: single calls by due time, each running campaign's by due time.
CREATE INDEX calls_due ON calls (due_at) WHERE status = 'queued' AND campaign_id IS NULL;
CREATE INDEX calls_campaign ON calls (campaign_id, status, due_at);
CREATE UNIQUE INDEX calls_campaign_contact ON calls (campaign_id, contact_id)
    WHERE campaign_id IS NOT NULL;
CREATE INDEX calls_tenant_created ON calls (tenant_id, id);
-- The tenant's calls on the line, counted as each attempt begins (its cap).
CREATE INDEX calls_tenant_status ON calls (tenant_id, status);

CREATE TABLE call_attempts (
    id               TEXT PRIMARY KEY,
    call_id          TEXT NOT NULL REFERENCES calls (id),
    tenant_id        TEXT NOT NULL REFERENCES tenants (id),
    number           INTEGER NOT NULL,
    provider_call_id TEXT,
    status           TEXT NOT NULL,
    status_rank      INTEGER NOT NULL,
    outcome          TEXT,
    answered_by      TEXT,
    started_at       INTEGER NOT NULL,
    answered_at      INTEGER,
    ended_at         INTEGER,
    duration_seconds INTEGER,
    credits          INTEGER NOT NULL DEFAULT 0,
    -- When the provider last said something (or was last asked): stale open attempts are
    -- fetched from the provider, never left open for ever.
    heard_at         INTEGER NOT NULL,
    UNIQUE (call_id, number)
);
CREATE UNIQUE INDEX call_attempts_provider ON call_attempts (provider_call_id)
    WHERE provider_call_id IS NOT NULL;
CREATE INDEX call_attempts_open ON call_attempts (heard_at) WHERE status_rank < 5;
-- Call analytics read the attempts that ended in a period.
CREATE INDEX call_attempts_ended ON call_attempts (tenant_id, ended_at) WHERE ended_at IS NOT NULL;

-- Numbers never to dial, per tenant.
CREATE TABLE do_not_call (
    tenant_id  TEXT NOT NULL REFERENCES tenants (id),
    phone      TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, phone)
);
