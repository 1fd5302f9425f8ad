-- Entries are found by id, except dead letters, which are listed per tenant. An index over
-- every entry's (tenant_id, state, id) let PostgreSQL, planning on a young table's missing
-- statistics, find an entry by id through it, reading the whole index instead of one page of
-- the primary key. A partial index of the dead letters alone serves their lists, and cannot be
-- used for anything else.
DROP INDEX queue_entries_tenant_state;
CREATE INDEX queue_entries_dead ON queue_entries (tenant_id, id) WHERE state = 'dead';
