-- The key an operator's client sends with a message so that sending it again sends nothing:
-- unique within the conversation, absent on every other message.
ALTER TABLE messages ADD COLUMN idempotency_key TEXT;
CREATE UNIQUE INDEX messages_idempotency_key ON messages (conversation_id, idempotency_key)
    WHERE idempotency_key IS NOT NULL;
