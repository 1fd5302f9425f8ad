-- The fencing stamp the queue's statements check (see the PostgreSQL migration). SQLite serves
-- one node, so it stays empty; the column lets both backends share those statements.
ALTER TABLE queue_entries ADD COLUMN owner TEXT;
