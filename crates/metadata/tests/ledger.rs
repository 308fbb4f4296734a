//! The ledger's storage on SQLite and PostgreSQL: every history step and
//! usage event queues its entry in its own transaction (and a rolled-back
//! one leaves none), integration in batches builds the same tree as the
//! reference in memory, proofs come out of the stored nodes, and writers
//! racing the integrator lose nothing and duplicate nothing.

use chrono::{TimeZone, Utc};
use gongshu_domain::{AccessMode, HistoryEntry, UsageEvent};
use gongshu_ledger::tree::{self, MemoryTree};
use gongshu_ledger::{Entry, leaf_hash};
use gongshu_metadata::{MetadataStore, SqlStore, both_backends};

fn step(id: &str, actor: &str) -> HistoryEntry {
    HistoryEntry {
        seq: 0,
        entity_kind: "user",
        entity_id: id.into(),
        actor_user_id: Some(actor.into()),
        action: "create".into(),
        from_state: None,
        to_state: Some("active".into()),
        opinion: Some("张三的身份证号 330106199001011234".into()),
        at: Utc.timestamp_opt(1_780_000_000, 0).unwrap(),
    }
}

fn read(seq_hint: i64) -> UsageEvent {
    UsageEvent {
        seq: 0,
        at: Utc.timestamp_opt(1_780_000_000 + seq_hint, 0).unwrap(),
        user_id: Some("u-analyst".into()),
        org_id: Some("org".into()),
        grant_id: None,
        resource_id: "r".into(),
        version: Some(1),
        mode: AccessMode::Download,
        channel: "download".into(),
        purpose: None,
        allowed: true,
        reason: None,
        query_fingerprint: "f".into(),
        rows_out: Some(3),
        bytes_out: None,
        privacy_cost_micros: 0,
        result_hash: None,
    }
}

async fn integrate_all(store: &SqlStore) -> gongshu_metadata::LedgerHead {
    loop {
        let mut tx = store.write().await.unwrap();
        let head = tx.integrate_ledger(7, Utc::now()).await.unwrap();
        let pending = tx.ledger_pending().await.unwrap();
        tx.commit().await.unwrap();
        if pending == 0 {
            return head;
        }
    }
}

both_backends!(every_step_and_read_is_entered_and_the_tree_matches, |store: SqlStore| async move {
    let mut tx = store.write().await.unwrap();
    tx.append_history(&step("u-1", "u-admin")).await.unwrap();
    let seq = tx.insert_usage_event(&read(1)).await.unwrap();
    tx.complete_usage_event(seq, None, 4096).await.unwrap();
    tx.commit().await.unwrap();
    // A rolled-back transaction leaves no entry.
    let mut tx = store.write().await.unwrap();
    tx.append_history(&step("u-2", "u-admin")).await.unwrap();
    drop(tx);
    for i in 0..30 {
        let mut tx = store.write().await.unwrap();
        tx.insert_usage_event(&read(i)).await.unwrap();
        tx.commit().await.unwrap();
    }
    let head = integrate_all(&store).await;
    assert_eq!(head.size, 33);

    let mut tx = store.read().await.unwrap();
    let records = tx.ledger_entries(0, 100).await.unwrap();
    assert_eq!(
        records.iter().map(|r| r.kind.as_str()).take(3).collect::<Vec<_>>(),
        ["state", "usage", "usage_outcome"]
    );
    let mut reference = MemoryTree::new();
    for record in &records {
        assert_eq!(record.leaf_hash, leaf_hash(record.body.as_bytes()));
        reference.push(record.leaf_hash);
    }
    assert_eq!(reference.root(33), head.root);
    // People are pseudonyms, opinions commitments.
    let first = &records[0].body;
    assert!(!first.contains("u-1") && !first.contains("u-admin") && !first.contains("330106"), "{first}");
    let Entry::State(change) = Entry::parse(first.as_bytes()).unwrap() else { panic!("a state entry") };
    assert_eq!(change.id, tx.pseudonym("u-1").await.unwrap());
    // Proofs from the stored nodes equal the reference's.
    for (index, size) in [(0, 33), (17, 33), (32, 33), (5, 6)] {
        let ranges = tree::inclusion_ranges(index, size).unwrap();
        let nodes = tx.ledger_nodes(&tree::needed(&ranges)).await.unwrap();
        let proof = tree::assemble(&ranges, |id| nodes.get(&id).copied()).unwrap();
        assert_eq!(proof, reference.inclusion_proof(index, size).unwrap());
    }
    let found = tx.ledger_entry_of("usage_outcome", seq).await.unwrap().unwrap();
    assert_eq!(found.index, 2);
});

both_backends!(writers_racing_the_integrator_lose_nothing, |store: SqlStore| async move {
    let mut writers = Vec::new();
    for w in 0..4 {
        let store = store.clone();
        writers.push(tokio::spawn(async move {
            for i in 0..25 {
                let mut tx = store.write().await.unwrap();
                tx.insert_usage_event(&read(w * 100 + i)).await.unwrap();
                tx.commit().await.unwrap();
            }
        }));
    }
    let integrator = {
        let store = store.clone();
        tokio::spawn(async move {
            for _ in 0..20 {
                integrate_all(&store).await;
                tokio::task::yield_now().await;
            }
        })
    };
    for writer in writers {
        writer.await.unwrap();
    }
    integrator.await.unwrap();
    let head = integrate_all(&store).await;
    assert_eq!(head.size, 100);
    let mut tx = store.read().await.unwrap();
    let records = tx.ledger_entries(0, 1000).await.unwrap();
    let indexes: Vec<u64> = records.iter().map(|r| r.index).collect();
    assert_eq!(indexes, (0..100).collect::<Vec<_>>(), "gapless and unique");
    let mut seqs: Vec<i64> = records.iter().map(|r| r.ref_seq).collect();
    seqs.sort_unstable();
    seqs.dedup();
    assert_eq!(seqs.len(), 100, "every read once");
    let mut reference = MemoryTree::new();
    for record in &records {
        reference.push(record.leaf_hash);
    }
    assert_eq!(reference.root(100), head.root);
});

/// An instance upgraded from before the ledger: its history and usage get
/// their entries at first start, in order, once.
#[tokio::test]
async fn an_upgraded_instance_gets_entries_for_its_earlier_history() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("old.db").display());
    {
        let store = SqlStore::connect(&url).await.unwrap();
        let mut tx = store.write().await.unwrap();
        tx.append_history(&step("u-1", "u-admin")).await.unwrap();
        tx.insert_usage_event(&read(1)).await.unwrap();
        tx.commit().await.unwrap();
        store.close().await;
    }
    // What an earlier release left: records and no ledger.
    {
        use sqlx::Connection;
        let mut connection = sqlx::SqliteConnection::connect(&url).await.unwrap();
        for table in ["ledger_pending", "ledger_index", "ledger_entry"] {
            sqlx::query(sqlx::AssertSqlSafe(format!("DELETE FROM {table}"))).execute(&mut connection).await.unwrap();
        }
    }
    let store = SqlStore::connect(&url).await.unwrap();
    assert_eq!(integrate_all(&store).await.size, 2);
    let mut tx = store.read().await.unwrap();
    let kinds: Vec<String> = tx.ledger_entries(0, 10).await.unwrap().into_iter().map(|r| r.kind).collect();
    assert_eq!(kinds, ["state", "usage"]);
    drop(tx);
    store.close().await;
    // Once: a second start adds nothing.
    let store = SqlStore::connect(&url).await.unwrap();
    assert_eq!(integrate_all(&store).await.size, 2);
}
