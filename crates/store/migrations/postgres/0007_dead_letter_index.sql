-- Entries are found by id, except dead letters, which are listed per tenant. An index over
-- every entry's (tenant_id, state, id) took an insertion for every entry queued and every
-- change of its state; a partial index of the dead letters alone serves their lists.
DROP INDEX queue_entries_tenant_state;
CREATE INDEX queue_entries_dead ON queue_entries (tenant_id, id) WHERE state = 'dead';
