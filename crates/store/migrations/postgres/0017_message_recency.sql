-- Search ranks the matches among the newest messages (crates/store/src/search.rs): those are
-- found by `created_at`, which grows with the table's physical order, so a block-range index
-- finds them in a few pages (368 kB at a million messages) and costs appends next to nothing.
-- A range of 8 pages keeps the newest few thousand messages to a few ranges; autosummarize
-- indexes each range as it fills rather than at the next vacuum.
CREATE INDEX messages_recency ON messages USING BRIN (created_at)
    WITH (pages_per_range = 8, autosummarize = on);
