-- Search ranks the matches among the newest messages (crates/store/src/search.rs): those are
-- found by `created_at`, which grows with the table's physical order, so a block-range index
-- finds them in a few pages and costs appends next to nothing.
--
-- A range left unsummarized matches every search, so ranges must be summarized as they fill:
-- autosummarize asks autovacuum to, but it keeps at most 256 such requests between its visits
-- (a minute apart) and drops the rest. With 8 pages a range, a million messages seeded at
-- 1,200 a second left 11,051 requests dropped and the whole table read by every search (700 ms).
-- With 128 pages a range (about 1,500 of the bench's messages, twelve to a page), a thousand
-- messages a second would fill under one range a second (estimated from that size, not
-- measured). The window's rows spread over more pages than they fill (concurrent appends
-- interleave), so larger ranges cost little: 1,365 pages read for the newest 8,000 messages
-- against 885 with 8 pages a range, 10.4–14.6 against 9.5–13.2 ms (three runs each, busy machine).
CREATE INDEX messages_recency ON messages USING BRIN (created_at)
    WITH (pages_per_range = 128, autosummarize = on);
