-- Every message moves its conversation's `last_activity_at` and `updated_at`, so each index over
-- either column takes a delete and an insert per message (twice a message with the reply). Three
-- of the four need not move:
-- - `conversations_updated` and `conversations_channel` serve no query: the conversation list
--   filters by channel and by `updated_at` as `($n IS NULL OR …)`, which SQLite plans once for
--   any value and answers through `conversations_activity`;
-- - `conversations_open` found a contact's open conversation on a channel by its newest
--   activity, ordered in the index; a contact has a handful of conversations, which the lookup
--   now sorts itself, and the index no longer changes with each message.
-- `conversations_activity` (the inbox's order) is the one left that moves.
DROP INDEX conversations_updated;
DROP INDEX conversations_channel;
DROP INDEX conversations_open;
CREATE INDEX conversations_open ON conversations (tenant_id, channel_id, contact_id);
