//! The ledger's storage (ADR 0015): entries queued in the transaction of
//! what they record, integration into the Merkle tree in order of commit,
//! the perfect nodes proofs are assembled from, and signed checkpoints.
//!
//! Integration holds the head row's lock (PostgreSQL) or the write lock
//! (SQLite), so one integrator runs at a time; writers only insert queue
//! rows and never wait for it. An entry's row is written once: its place in
//! the tree is a narrow row of `ledger_index`, and `ledger_pending` lists
//! what waits, both with the leaf hash, so integration and proofs never
//! read or rewrite the entries themselves. Every statement writes a whole
//! batch ([`BulkRows`]), so a thousand entries cost a few round trips.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use gongshu_ledger::tree::{self, NodeId};
use gongshu_ledger::{Entry, Hash, Pseudonymizer, hex, parse_hash};
use sqlx::Row;

use sqlx::AssertSqlSafe;

use sqlx::Any;
use sqlx::any::AnyArguments;
use sqlx::query::Query;

use super::{Bind, DynSql, SqlTransaction, parse_ts, ts};
use crate::Backend;
use crate::{LedgerHead, LedgerRecord, StoreError, StoreResult, StoredCheckpoint};

/// Rows per bulk statement: 5,000 binds at most on SQLite (whose limit is
/// 32,766), and a few hundred kilobytes per column on PostgreSQL.
const ROWS_PER_STATEMENT: usize = 1_000;

/// Rows written by one statement, in order.
///
/// SQLite gets a `VALUES` list of anonymous `?` parameters. Numbered ones
/// (`$1`) are looked up by name for every bind, in a list, so thousands of
/// them cost time quadratic in their number; anonymous ones are not.
/// PostgreSQL gets one text per column, split on U+001E and cast: a
/// statement of a few parameters is planned once, and splitting costs far
/// less than parsing the same values as JSON (which unescapes character by
/// character).
struct BulkRows {
    types: &'static [&'static str],
    /// Row by row.
    values: Vec<Bind>,
}

/// Separates the values of a column for PostgreSQL. Compact JSON, numbers,
/// times and hex never contain it: JSON escapes every control character.
const SEPARATOR: char = '\u{1e}';

impl BulkRows {
    /// Rows of columns of these SQL types.
    fn new(types: &'static [&'static str]) -> BulkRows {
        BulkRows { types, values: Vec::new() }
    }

    fn push(&mut self, row: impl IntoIterator<Item = Bind>) {
        self.values.extend(row);
        debug_assert_eq!(self.values.len() % self.types.len(), 0);
    }

    /// The rows as the source of an `INSERT`: a `VALUES` list or a
    /// `SELECT`, whose parameters are all of the statement's.
    fn source(&self, backend: Backend) -> String {
        let columns = self.types.len();
        match backend {
            Backend::Sqlite => {
                let row = format!("({})", vec!["?"; columns].join(", "));
                format!("VALUES {}", vec![row; self.values.len() / columns].join(", "))
            }
            Backend::Postgres => {
                let casts = (0..columns).map(|i| format!("CAST(c{i} AS {})", self.types[i])).collect::<Vec<_>>();
                let arrays =
                    (1..=columns).map(|i| format!("string_to_array(${i}, chr(30))")).collect::<Vec<_>>().join(", ");
                let names = (0..columns).map(|i| format!("c{i}, ")).collect::<String>();
                format!(
                    "SELECT {} FROM unnest({arrays}) WITH ORDINALITY AS rows ({names}n) ORDER BY n",
                    casts.join(", ")
                )
            }
        }
    }

    /// `sql`, written around [`Self::source`], with the rows bound.
    fn query(self, backend: Backend, sql: String) -> StoreResult<Query<'static, Any, AnyArguments>> {
        let mut query = sqlx::query(AssertSqlSafe(sql));
        match backend {
            Backend::Sqlite => query = self.values.into_iter().fold(query, Bind::bound),
            Backend::Postgres => {
                let columns = self.types.len();
                let mut texts = vec![String::new(); columns];
                for (i, value) in self.values.into_iter().enumerate() {
                    let text = &mut texts[i % columns];
                    if i >= columns {
                        text.push(SEPARATOR);
                    }
                    match value {
                        // An empty value would vanish in the split.
                        Bind::Text(value) if value.is_empty() || value.contains(SEPARATOR) => {
                            return Err(StoreError::Corrupt(format!(
                                "a bulk value is empty or holds U+001E: `{value}`"
                            )));
                        }
                        Bind::Text(value) => text.push_str(&value),
                        Bind::Int(value) => text.push_str(&value.to_string()),
                    }
                }
                for text in texts {
                    query = query.bind(text);
                }
            }
        }
        Ok(query)
    }
}

fn stored_hash(text: &str) -> StoreResult<Hash> {
    parse_hash(text).ok_or_else(|| StoreError::Corrupt(format!("bad ledger hash `{text}`")))
}

impl SqlTransaction {
    pub(super) async fn pseudonymizer(&mut self) -> StoreResult<Pseudonymizer> {
        if let Some(pseudonyms) = self.pseudonyms.get() {
            return Ok(pseudonyms.clone());
        }
        let key: Option<String> = sqlx::query("SELECT pseudonym_key FROM ledger_head WHERE id = 1")
            .fetch_one(&mut *self.tx)
            .await?
            .try_get(0)?;
        let key = key.ok_or_else(|| StoreError::Corrupt("the ledger has no pseudonym key".into()))?;
        let pseudonyms = Pseudonymizer::new(key.as_bytes());
        let _ = self.pseudonyms.set(pseudonyms.clone());
        Ok(pseudonyms)
    }

    /// Queues entries, each with the sequence number of the record it
    /// commits to, and marks them pending: one statement per thousand
    /// entries on PostgreSQL, three on SQLite.
    pub(super) async fn queue_ledger(&mut self, entries: &[(Entry, i64)], at: DateTime<Utc>) -> StoreResult<()> {
        let at = ts(at);
        for chunk in entries.chunks(ROWS_PER_STATEMENT) {
            let mut rows = BulkRows::new(&["TEXT", "BIGINT", "TEXT", "TEXT", "TEXT"]);
            for (entry, ref_seq) in chunk {
                let body = String::from_utf8(entry.to_bytes()).expect("JSON is UTF-8");
                let leaf = hex(&tree::leaf_hash(body.as_bytes()));
                rows.push([
                    Bind::Text(entry.kind().to_owned()),
                    Bind::Int(*ref_seq),
                    Bind::Text(body),
                    Bind::Text(leaf),
                    Bind::Text(at.clone()),
                ]);
            }
            let insert = format!(
                "INSERT INTO ledger_entry (kind, ref_seq, body, leaf_hash, queued_at) {}",
                rows.source(self.backend)
            );
            match self.backend {
                // One round trip: the pending rows come from the insert.
                Backend::Postgres => {
                    let sql = format!(
                        "WITH added AS ({insert} RETURNING queue_id, leaf_hash) \
                         INSERT INTO ledger_pending (queue_id, leaf_hash) SELECT queue_id, leaf_hash FROM added"
                    );
                    rows.query(self.backend, sql)?.execute(&mut *self.tx).await?;
                }
                // The write lock is held from the first statement, so the
                // rows above the highest id before the insert are this one's.
                Backend::Sqlite => {
                    let before: i64 = sqlx::query("SELECT COALESCE(MAX(queue_id), 0) FROM ledger_entry")
                        .fetch_one(&mut *self.tx)
                        .await?
                        .try_get(0)?;
                    rows.query(self.backend, insert)?.execute(&mut *self.tx).await?;
                    sqlx::query(
                        "INSERT INTO ledger_pending (queue_id, leaf_hash) \
                         SELECT queue_id, leaf_hash FROM ledger_entry WHERE queue_id > $1",
                    )
                    .bind(before)
                    .execute(&mut *self.tx)
                    .await?;
                }
            }
        }
        Ok(())
    }

    pub(super) async fn ledger_head_row(&mut self) -> StoreResult<LedgerHead> {
        head_from_row(&sqlx::query("SELECT size, root FROM ledger_head WHERE id = 1").fetch_one(&mut *self.tx).await?)
    }

    pub(super) async fn integrate(&mut self, max: usize, now: DateTime<Utc>) -> StoreResult<LedgerHead> {
        // Taking the head row's lock first makes integrators take turns.
        let head = head_from_row(
            &sqlx::query("UPDATE ledger_head SET updated_at = $1 WHERE id = 1 RETURNING size, root")
                .bind(ts(now))
                .fetch_one(&mut *self.tx)
                .await?,
        )?;
        // Their places, in the order of their queue ids (an entry that
        // commits later with a lower queue id is simply taken by the next
        // run), and their leaf hashes in that order. The limit is inside, so
        // the planner reads only the batch. (One statement of three common
        // table expressions was twice as slow on PostgreSQL.)
        //
        // The leaf hashes were computed from the entries' text when they were
        // queued, in the same statement. An entry's text changed afterwards
        // no longer matches the leaf the tree holds, which `ledger verify`
        // names: reading every text back here would only name it sooner.
        sqlx::query(
            "INSERT INTO ledger_index (idx, queue_id, leaf_hash) \
             SELECT $1 + ROW_NUMBER() OVER (ORDER BY queue_id) - 1, queue_id, leaf_hash \
             FROM (SELECT queue_id, leaf_hash FROM ledger_pending ORDER BY queue_id LIMIT $2) AS batch",
        )
        .bind(head.size as i64)
        .bind(max as i64)
        .execute(&mut *self.tx)
        .await?;
        // Both ends of the range: PostgreSQL reuses a generic plan for a
        // prepared statement, which for an open range guessed a third of the
        // table and scanned all of it (ten million pending rows).
        let end = head.size + max as u64;
        sqlx::query(
            "DELETE FROM ledger_pending WHERE queue_id IN \
             (SELECT queue_id FROM ledger_index WHERE idx >= $1 AND idx < $2)",
        )
        .bind(head.size as i64)
        .bind(end as i64)
        .execute(&mut *self.tx)
        .await?;
        let rows = sqlx::query("SELECT leaf_hash FROM ledger_index WHERE idx >= $1 AND idx < $2 ORDER BY idx")
            .bind(head.size as i64)
            .bind(end as i64)
            .fetch_all(&mut *self.tx)
            .await?;
        if rows.is_empty() {
            return Ok(head);
        }
        let leaves =
            rows.iter().map(|row| stored_hash(&row.try_get::<String, _>(0)?)).collect::<StoreResult<Vec<_>>>()?;
        let frontier = tree::frontier(head.size);
        let known = self.ledger_nodes(&frontier).await?;
        let frontier_hashes = frontier
            .iter()
            .map(|id| {
                known.get(id).copied().ok_or_else(|| StoreError::Corrupt(format!("ledger node {id:?} is missing")))
            })
            .collect::<StoreResult<Vec<_>>>()?;
        let completed = tree::completed_nodes(head.size, &frontier_hashes, &leaves);
        for chunk in completed.chunks(ROWS_PER_STATEMENT) {
            let mut rows = BulkRows::new(&["BIGINT", "TEXT"]);
            for (id, hash) in chunk {
                rows.push([Bind::Int(id.key()), Bind::Text(hex(hash))]);
            }
            let sql = format!("INSERT INTO ledger_node (node_key, hash) {}", rows.source(self.backend));
            rows.query(self.backend, sql)?.execute(&mut *self.tx).await?;
        }
        let size = head.size + leaves.len() as u64;
        let mut nodes: HashMap<NodeId, Hash> = frontier.into_iter().zip(frontier_hashes).collect();
        nodes.extend(completed);
        for (offset, leaf) in leaves.iter().enumerate() {
            nodes.insert(NodeId { level: 0, index: head.size + offset as u64 }, *leaf);
        }
        let root = tree::root(size, |id| nodes.get(&id).copied())
            .map_err(|id| StoreError::Corrupt(format!("ledger node {id:?} is missing")))?;
        sqlx::query("UPDATE ledger_head SET size = $1, root = $2 WHERE id = 1")
            .bind(size as i64)
            .bind(hex(&root))
            .execute(&mut *self.tx)
            .await?;
        Ok(LedgerHead { size, root })
    }

    /// The stored hashes of `ids`, leaves and perfect nodes, in one query
    /// (a proof is this and the entry's own row).
    pub(super) async fn ledger_nodes(&mut self, ids: &[NodeId]) -> StoreResult<HashMap<NodeId, Hash>> {
        if ids.is_empty() {
            return Ok(HashMap::new());
        }
        let (leaves, inner): (Vec<NodeId>, Vec<NodeId>) = ids.iter().partition(|id| id.level == 0);
        let inner_by_key: HashMap<i64, NodeId> = inner.iter().map(|id| (id.key(), *id)).collect();
        let mut sql = DynSql::default();
        let mut parts = 0;
        if !leaves.is_empty() {
            sql.push("SELECT 0, idx, leaf_hash FROM ledger_index WHERE idx IN ");
            sql.bind_list(leaves.iter().map(|id| id.index as i64));
            parts += 1;
        }
        if !inner.is_empty() {
            if parts > 0 {
                sql.push(" UNION ALL ");
            }
            sql.push("SELECT 1, node_key, hash FROM ledger_node WHERE node_key IN ");
            sql.bind_list(inner.iter().map(|id| id.key()));
        }
        let mut found = HashMap::with_capacity(ids.len());
        for row in sql.query().fetch_all(&mut *self.tx).await? {
            let inner_node: i32 = row.try_get(0)?;
            let key: i64 = row.try_get(1)?;
            let id = if inner_node == 0 {
                Some(NodeId { level: 0, index: key as u64 })
            } else {
                inner_by_key.get(&key).copied()
            };
            if let Some(id) = id {
                found.insert(id, stored_hash(&row.try_get::<String, _>(2)?)?);
            }
        }
        Ok(found)
    }

    pub(super) async fn ledger_records(&mut self, from: u64, limit: u64) -> StoreResult<Vec<LedgerRecord>> {
        let rows = sqlx::query(
            "SELECT idx, kind, ref_seq, body, ledger_index.leaf_hash, queued_at FROM ledger_index \
             JOIN ledger_entry ON ledger_entry.queue_id = ledger_index.queue_id \
             WHERE idx >= $1 ORDER BY idx LIMIT $2",
        )
        .bind(from as i64)
        .bind(limit as i64)
        .fetch_all(&mut *self.tx)
        .await?;
        rows.iter().map(record_from_row).collect()
    }

    pub(super) async fn ledger_record_of(&mut self, kind: &str, ref_seq: i64) -> StoreResult<Option<LedgerRecord>> {
        let row = sqlx::query(
            "SELECT idx, kind, ref_seq, body, ledger_index.leaf_hash, queued_at FROM ledger_entry \
             JOIN ledger_index ON ledger_index.queue_id = ledger_entry.queue_id \
             WHERE kind = $1 AND ref_seq = $2 ORDER BY idx LIMIT 1",
        )
        .bind(kind.to_owned())
        .bind(ref_seq)
        .fetch_optional(&mut *self.tx)
        .await?;
        row.as_ref().map(record_from_row).transpose()
    }

    pub(super) async fn ledger_pending_count(&mut self) -> StoreResult<u64> {
        let count: i64 =
            sqlx::query("SELECT COUNT(*) FROM ledger_pending").fetch_one(&mut *self.tx).await?.try_get(0)?;
        Ok(count as u64)
    }

    pub(super) async fn put_checkpoint(&mut self, checkpoint: &StoredCheckpoint) -> StoreResult<()> {
        sqlx::query("INSERT INTO ledger_checkpoint (size, root, issued_at, note) VALUES ($1, $2, $3, $4)")
            .bind(checkpoint.size as i64)
            .bind(hex(&checkpoint.root))
            .bind(ts(checkpoint.issued_at))
            .bind(checkpoint.note.clone())
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    pub(super) async fn stored_checkpoints(&mut self, latest_only: bool) -> StoreResult<Vec<StoredCheckpoint>> {
        let sql = if latest_only {
            "SELECT size, root, issued_at, note FROM ledger_checkpoint ORDER BY size DESC LIMIT 1"
        } else {
            "SELECT size, root, issued_at, note FROM ledger_checkpoint ORDER BY size"
        };
        let rows = sqlx::query(sql).fetch_all(&mut *self.tx).await?;
        rows.iter()
            .map(|row| {
                let size: i64 = row.try_get(0)?;
                Ok(StoredCheckpoint {
                    size: size as u64,
                    root: stored_hash(&row.try_get::<String, _>(1)?)?,
                    issued_at: parse_ts(&row.try_get::<String, _>(2)?)?,
                    note: row.try_get(3)?,
                })
            })
            .collect()
    }
}

fn head_from_row(row: &sqlx::any::AnyRow) -> StoreResult<LedgerHead> {
    let size: i64 = row.try_get(0)?;
    Ok(LedgerHead { size: size as u64, root: stored_hash(&row.try_get::<String, _>(1)?)? })
}

fn record_from_row(row: &sqlx::any::AnyRow) -> StoreResult<LedgerRecord> {
    let index: i64 = row.try_get(0)?;
    Ok(LedgerRecord {
        index: index as u64,
        kind: row.try_get(1)?,
        ref_seq: row.try_get(2)?,
        body: row.try_get(3)?,
        leaf_hash: stored_hash(&row.try_get::<String, _>(4)?)?,
        queued_at: parse_ts(&row.try_get::<String, _>(5)?)?,
    })
}
