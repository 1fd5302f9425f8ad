-- Entries are found by id, except dead letters, which are listed per tenant: a partial index of
-- the dead letters alone serves their lists (as on PostgreSQL, where an index over every entry
-- misled plans made before the table had statistics).
DROP INDEX queue_entries_tenant_state;
CREATE INDEX queue_entries_dead ON queue_entries (tenant_id, id) WHERE state = 'dead';
