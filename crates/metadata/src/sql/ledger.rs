//! The ledger's storage (ADR 0015): entries queued in the transaction of
//! what they record, integration into the Merkle tree in order of commit,
//! the perfect nodes proofs are assembled from, and signed checkpoints.
//!
//! Integration holds the head row's lock (PostgreSQL) or the write lock
//! (SQLite), so one integrator runs at a time; writers only insert queue
//! rows and never wait for it. An entry's row is written once: its place in
//! the tree is a narrow row of `ledger_index`, and `ledger_pending` lists
//! what waits, so integration never rewrites the entries themselves.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use gongshu_ledger::tree::{self, NodeId};
use gongshu_ledger::{Entry, Hash, Pseudonymizer, hex, parse_hash};
use sqlx::Row;

use super::{Bind, DynSql, SqlTransaction, parse_ts, ts};
use crate::{LedgerHead, LedgerRecord, StoreError, StoreResult, StoredCheckpoint};

/// Rows per multi-row insert: well under SQLite's and PostgreSQL's bind limits.
const ROWS_PER_INSERT: usize = 500;

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
    /// commits to, and marks them pending.
    pub(super) async fn queue_ledger(&mut self, entries: &[(Entry, i64)], at: DateTime<Utc>) -> StoreResult<()> {
        for chunk in entries.chunks(ROWS_PER_INSERT) {
            let mut sql = DynSql::default();
            sql.push("INSERT INTO ledger_entry (kind, ref_seq, body, leaf_hash, queued_at) VALUES ");
            for (i, (entry, ref_seq)) in chunk.iter().enumerate() {
                let body = entry.to_bytes();
                let leaf = tree::leaf_hash(&body);
                let body = String::from_utf8(body).expect("JSON is UTF-8");
                sql.push(if i == 0 { "(" } else { ", (" });
                sql.bind(Bind::Text(entry.kind().to_owned())).push(", ");
                sql.bind(Bind::Int(*ref_seq)).push(", ");
                sql.bind(Bind::Text(body)).push(", ");
                sql.bind(Bind::Text(hex(&leaf))).push(", ");
                sql.bind(Bind::Text(ts(at))).push(")");
            }
            sql.push(" RETURNING queue_id");
            let ids = sql.query().fetch_all(&mut *self.tx).await?;
            let mut pending = DynSql::default();
            pending.push("INSERT INTO ledger_pending (queue_id) VALUES ");
            for (i, row) in ids.iter().enumerate() {
                pending.push(if i == 0 { "(" } else { ", (" });
                pending.bind(Bind::Int(row.try_get(0)?)).push(")");
            }
            pending.query().execute(&mut *self.tx).await?;
        }
        Ok(())
    }

    pub(super) async fn ledger_head_row(&mut self) -> StoreResult<LedgerHead> {
        let row = sqlx::query("SELECT size, root FROM ledger_head WHERE id = 1").fetch_one(&mut *self.tx).await?;
        let size: i64 = row.try_get(0)?;
        Ok(LedgerHead { size: size as u64, root: stored_hash(&row.try_get::<String, _>(1)?)? })
    }

    pub(super) async fn integrate(&mut self, max: usize, now: DateTime<Utc>) -> StoreResult<LedgerHead> {
        // Taking the head row's lock first makes integrators take turns.
        sqlx::query("UPDATE ledger_head SET updated_at = $1 WHERE id = 1").bind(ts(now)).execute(&mut *self.tx).await?;
        let head = self.ledger_head_row().await?;
        let rows = sqlx::query(
            // The limit inside, so the planner joins only the batch and does
            // not scan the whole ledger for it.
            "SELECT ledger_entry.queue_id, leaf_hash, body \
             FROM (SELECT queue_id FROM ledger_pending ORDER BY queue_id LIMIT $1) AS batch \
             JOIN ledger_entry ON ledger_entry.queue_id = batch.queue_id ORDER BY batch.queue_id",
        )
        .bind(max as i64)
        .fetch_all(&mut *self.tx)
        .await?;
        if rows.is_empty() {
            return Ok(head);
        }
        let mut leaves = Vec::with_capacity(rows.len());
        let mut queue_ids = Vec::with_capacity(rows.len());
        for row in &rows {
            let last_queue_id: i64 = row.try_get(0)?;
            queue_ids.push(last_queue_id);
            let leaf = stored_hash(&row.try_get::<String, _>(1)?)?;
            // What is signed is the entry's text: a queued row whose hash
            // no longer matches it was changed after it was written.
            if tree::leaf_hash(row.try_get::<String, _>(2)?.as_bytes()) != leaf {
                return Err(StoreError::Corrupt(format!(
                    "queued ledger entry {last_queue_id} does not match its leaf hash; it was changed after it was written"
                )));
            }
            leaves.push(leaf);
        }
        // Their places, in the order read; an entry that commits later with a
        // lower queue id is simply read by the next run.
        for (chunk_number, chunk) in queue_ids.chunks(ROWS_PER_INSERT).enumerate() {
            let mut index = DynSql::default();
            index.push("INSERT INTO ledger_index (idx, queue_id) VALUES ");
            let mut done = DynSql::default();
            done.push("DELETE FROM ledger_pending WHERE queue_id IN (");
            for (i, queue_id) in chunk.iter().enumerate() {
                let idx = head.size + (chunk_number * ROWS_PER_INSERT + i) as u64;
                index.push(if i == 0 { "(" } else { ", (" });
                index.bind(Bind::Int(idx as i64)).push(", ").bind(Bind::Int(*queue_id)).push(")");
                if i > 0 {
                    done.push(", ");
                }
                done.bind(Bind::Int(*queue_id));
            }
            done.push(")");
            index.query().execute(&mut *self.tx).await?;
            done.query().execute(&mut *self.tx).await?;
        }
        let frontier = tree::frontier(head.size);
        let known = self.ledger_nodes(&frontier).await?;
        let frontier_hashes = frontier
            .iter()
            .map(|id| {
                known.get(id).copied().ok_or_else(|| StoreError::Corrupt(format!("ledger node {id:?} is missing")))
            })
            .collect::<StoreResult<Vec<_>>>()?;
        let completed = tree::completed_nodes(head.size, &frontier_hashes, &leaves);
        for chunk in completed.chunks(ROWS_PER_INSERT) {
            let mut sql = DynSql::default();
            sql.push("INSERT INTO ledger_node (node_key, hash) VALUES ");
            for (i, (id, hash)) in chunk.iter().enumerate() {
                sql.push(if i == 0 { "(" } else { ", (" });
                sql.bind(Bind::Int(id.key())).push(", ").bind(Bind::Text(hex(hash))).push(")");
            }
            sql.query().execute(&mut *self.tx).await?;
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

    pub(super) async fn ledger_nodes(&mut self, ids: &[NodeId]) -> StoreResult<HashMap<NodeId, Hash>> {
        let mut found = HashMap::with_capacity(ids.len());
        let (leaves, inner): (Vec<NodeId>, Vec<NodeId>) = ids.iter().partition(|id| id.level == 0);
        if !leaves.is_empty() {
            let mut sql = DynSql::default();
            sql.push(
                "SELECT idx, leaf_hash FROM ledger_index \
                 JOIN ledger_entry ON ledger_entry.queue_id = ledger_index.queue_id WHERE idx IN (",
            );
            for (i, id) in leaves.iter().enumerate() {
                if i > 0 {
                    sql.push(", ");
                }
                sql.bind(Bind::Int(id.index as i64));
            }
            sql.push(")");
            for row in sql.query().fetch_all(&mut *self.tx).await? {
                let index: i64 = row.try_get(0)?;
                found.insert(NodeId { level: 0, index: index as u64 }, stored_hash(&row.try_get::<String, _>(1)?)?);
            }
        }
        if !inner.is_empty() {
            let by_key: HashMap<i64, NodeId> = inner.iter().map(|id| (id.key(), *id)).collect();
            let mut sql = DynSql::default();
            sql.push("SELECT node_key, hash FROM ledger_node WHERE node_key IN (");
            for (i, id) in inner.iter().enumerate() {
                if i > 0 {
                    sql.push(", ");
                }
                sql.bind(Bind::Int(id.key()));
            }
            sql.push(")");
            for row in sql.query().fetch_all(&mut *self.tx).await? {
                let key: i64 = row.try_get(0)?;
                if let Some(id) = by_key.get(&key) {
                    found.insert(*id, stored_hash(&row.try_get::<String, _>(1)?)?);
                }
            }
        }
        Ok(found)
    }

    pub(super) async fn ledger_records(&mut self, from: u64, limit: u64) -> StoreResult<Vec<LedgerRecord>> {
        let rows = sqlx::query(
            "SELECT idx, kind, ref_seq, body, leaf_hash, queued_at FROM ledger_index \
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
            "SELECT idx, kind, ref_seq, body, leaf_hash, queued_at FROM ledger_entry \
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
