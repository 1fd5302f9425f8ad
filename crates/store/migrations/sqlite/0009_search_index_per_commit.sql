-- Messages are indexed for search once per group commit instead of once per write. FTS5 writes
-- its pending tokens out as a new segment at every savepoint, and every write in a group commit
-- runs in one, so indexing inside each write cost a segment (and soon a merge) per message.
-- Now a new message only notes its rowid in `messages_fts_pending`; the writer indexes what is
-- noted and clears it at the end of each group commit, in the same transaction, so search
-- still sees a message exactly when it is committed. A message still pending when it is edited
-- or deleted is indexed (or not) by that same step, with its final text.
CREATE TABLE messages_fts_pending (message_rowid INTEGER PRIMARY KEY);

DROP TRIGGER messages_fts_insert;
DROP TRIGGER messages_fts_unindex;
DROP TRIGGER messages_fts_reindex;
DROP TRIGGER messages_fts_delete;

CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages
WHEN new.text IS NOT NULL AND new.deleted_at IS NULL
BEGIN
    INSERT INTO messages_fts_pending (message_rowid) VALUES (new.rowid);
END;

CREATE TRIGGER messages_fts_update AFTER UPDATE OF text, deleted_at ON messages
WHEN NOT EXISTS (SELECT 1 FROM messages_fts_pending WHERE message_rowid = old.rowid)
BEGIN
    INSERT INTO messages_fts (messages_fts, rowid, text)
        SELECT 'delete', old.rowid, old.text
        WHERE old.text IS NOT NULL AND old.deleted_at IS NULL;
    INSERT INTO messages_fts (rowid, text)
        SELECT new.rowid, new.text
        WHERE new.text IS NOT NULL AND new.deleted_at IS NULL;
END;

CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages
BEGIN
    INSERT INTO messages_fts (messages_fts, rowid, text)
        SELECT 'delete', old.rowid, old.text
        WHERE old.text IS NOT NULL AND old.deleted_at IS NULL
          AND NOT EXISTS (SELECT 1 FROM messages_fts_pending WHERE message_rowid = old.rowid);
    DELETE FROM messages_fts_pending WHERE message_rowid = old.rowid;
END;
