-- Entries are found by id, except dead letters, which are listed per tenant: a partial index of
-- the dead letters alone serves their lists, and is not written for every entry queued and
-- every change of its state, as the index over every entry's (tenant_id, state, id) was.
DROP INDEX queue_entries_tenant_state;
CREATE INDEX queue_entries_dead ON queue_entries (tenant_id, id) WHERE state = 'dead';
