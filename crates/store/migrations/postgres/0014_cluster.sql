-- Several nodes on one database (queue/src/ownership): the nodes alive, and leases on the
-- queue's partitions. A node runs the entries of a partition only while it holds its lease;
-- claiming one stamps the partition's unfinished entries with the holder's fencing token
-- (`owner`), and every statement that finishes, starts or retries an entry checks that stamp.
CREATE TABLE cluster_nodes (
    node_id      TEXT PRIMARY KEY,
    name         TEXT NOT NULL,
    -- all | api | worker: only nodes that run work claim partitions.
    role         TEXT NOT NULL,
    started_at   BIGINT NOT NULL,
    -- Milliseconds on the database's clock, as every lease time here.
    expires_at   BIGINT NOT NULL
);

CREATE TABLE cluster_leases (
    -- `partition:<n>` for the queue's partitions.
    name         TEXT PRIMARY KEY,
    holder       TEXT,
    expires_at   BIGINT NOT NULL DEFAULT 0,
    -- How many times it was claimed: a new holder's claim is a new number.
    claims       BIGINT NOT NULL DEFAULT 0
);
INSERT INTO cluster_leases (name) SELECT 'partition:' || n FROM generate_series(0, 63) AS n;

ALTER TABLE queue_entries ADD COLUMN owner TEXT;
-- The key's partition: the first byte of the MD5 of the key without its `outbound:` prefixes,
-- modulo 64 (so a conversation's runs and replies share one), as `partition_of` computes it.
ALTER TABLE queue_entries ADD COLUMN partition INTEGER GENERATED ALWAYS AS (
    get_byte(decode(md5(regexp_replace(ordering_key, '^(outbound:)+', '')), 'hex'), 0) % 64
) STORED;
CREATE INDEX queue_entries_partition ON queue_entries (partition, created_at)
    WHERE state <> 'dead';
