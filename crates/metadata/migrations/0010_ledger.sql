-- The verifiable ledger (ADR 0015). Entries are written in the transaction
-- of what they record and marked pending; integration gives them their
-- place in the RFC 6962 tree in order of commit (a narrow row in
-- ledger_index, so an entry's row is never rewritten), stores the perfect
-- nodes they complete and moves the head; checkpoints sign a head.
CREATE TABLE ledger_entry (
    queue_id {serial_primary_key},
    kind TEXT NOT NULL,
    ref_seq BIGINT NOT NULL,
    body TEXT NOT NULL,
    leaf_hash TEXT NOT NULL,
    queued_at TEXT NOT NULL
);
CREATE INDEX ledger_entry_ref ON ledger_entry (kind, ref_seq);

-- Entries written and not yet integrated.
CREATE TABLE ledger_pending (
    queue_id BIGINT PRIMARY KEY
);

-- Each integrated entry's place in the tree.
CREATE TABLE ledger_index (
    idx BIGINT PRIMARY KEY,
    queue_id BIGINT NOT NULL UNIQUE
);

-- Perfect subtrees above the leaves: key = level << 48 | index.
CREATE TABLE ledger_node (
    node_key BIGINT PRIMARY KEY,
    hash TEXT NOT NULL
);

-- One row: the integrated size and root, and the key of the pseudonyms.
CREATE TABLE ledger_head (
    id INTEGER PRIMARY KEY,
    size BIGINT NOT NULL,
    root TEXT NOT NULL,
    pseudonym_key TEXT,
    updated_at TEXT
);
INSERT INTO ledger_head (id, size, root) VALUES (1, 0, 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');

CREATE TABLE ledger_checkpoint (
    size BIGINT PRIMARY KEY,
    root TEXT NOT NULL,
    issued_at TEXT NOT NULL,
    note TEXT NOT NULL
);
