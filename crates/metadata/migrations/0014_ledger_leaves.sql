-- The leaf hash travels with an entry's place (ADR 0015): the pending row
-- carries it from the queue, and the index row keeps it, so integration and
-- proofs read the narrow tables alone instead of joining every entry's text.
-- ledger_entry.leaf_hash stays as the hash computed when the entry was
-- queued. On PostgreSQL the constraints keep the names they were created
-- with (ledger_pending_next_pkey, ledger_index_next_pkey,
-- ledger_index_next_queue_id_key). Servers of an earlier release cannot
-- write entries once this has run: stop them all before upgrading.
CREATE TABLE ledger_pending_next (
    queue_id BIGINT PRIMARY KEY,
    leaf_hash TEXT NOT NULL
);
INSERT INTO ledger_pending_next (queue_id, leaf_hash)
    SELECT ledger_pending.queue_id, ledger_entry.leaf_hash
    FROM ledger_pending JOIN ledger_entry ON ledger_entry.queue_id = ledger_pending.queue_id;
DROP TABLE ledger_pending;
ALTER TABLE ledger_pending_next RENAME TO ledger_pending;

CREATE TABLE ledger_index_next (
    idx BIGINT PRIMARY KEY,
    queue_id BIGINT NOT NULL UNIQUE,
    leaf_hash TEXT NOT NULL
);
INSERT INTO ledger_index_next (idx, queue_id, leaf_hash)
    SELECT ledger_index.idx, ledger_index.queue_id, ledger_entry.leaf_hash
    FROM ledger_index JOIN ledger_entry ON ledger_entry.queue_id = ledger_index.queue_id;
DROP TABLE ledger_index;
ALTER TABLE ledger_index_next RENAME TO ledger_index;
