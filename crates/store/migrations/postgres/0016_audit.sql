-- The audit log: one row per change an admin made (channels, agents, users, API keys, credit
-- grants, dead letters, campaigns, tenants), who made it, from where, and when. Details name
-- what changed and never hold a secret's value. Rows are only ever inserted.
CREATE TABLE audit_events (
    id               TEXT PRIMARY KEY,
    tenant_id        TEXT NOT NULL REFERENCES tenants (id),
    actor_user_id    TEXT NOT NULL,
    actor_api_key_id TEXT,
    actor_role       TEXT NOT NULL,
    action           TEXT NOT NULL,
    resource         TEXT NOT NULL,
    resource_id      TEXT,
    details          TEXT NOT NULL,
    ip               TEXT,
    user_agent       TEXT,
    request_id       TEXT,
    created_at       BIGINT NOT NULL
);
-- A tenant's log newest first (ids are time-ordered), and the whole log for platform admins.
CREATE INDEX audit_events_tenant ON audit_events (tenant_id, id);
