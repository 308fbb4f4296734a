//! The ledger benchmark (issue 6): batched appends on SQLite and
//! PostgreSQL, inclusion proofs from the stored tree, and the offline
//! verification of an export.
//!
//! `GONGSHU_TEST_POSTGRES_URL=postgres://… cargo run --release -p gongshu-metadata --example ledger_bench -- [ENTRIES] [sqlite|postgres|both] [together|in-turn]`
//!
//! The second argument runs one backend only (both by default). By default
//! two writers queue while the integrator runs, as on a server, and the
//! figure is the time until the last entry is in the tree; `in-turn`
//! queues everything and then integrates it, to show the split.
//!
//! Appends go through `queue_ledger_entries` (the path every history step
//! and usage event takes, batched 1,000 per transaction) followed by
//! `integrate_ledger`, so the figure includes hashing, the queue insert,
//! the index assignment and the tree nodes. Each entry is a realistic
//! usage decision (about 450 bytes).

use std::time::{Duration, Instant};

use chrono::Utc;
use gongshu_ledger::{Entry, UsageDecision, tree, verify};
use gongshu_metadata::{MetadataStore, SqlStore};

const BATCH: usize = 1_000;
/// Entries per integration run (the application's `INTEGRATION_BATCH`).
const INTEGRATION_BATCH: usize = 20_000;

fn entry(seq: i64) -> Entry {
    Entry::Usage(UsageDecision {
        v: 1,
        seq,
        at: "2026-11-28T03:00:00.000000Z".into(),
        subject: "p:3f9a1c0d5e7b2a4c6d8e0f1a2b3c4d5e".into(),
        org: Some("0195c8a1-7b2e-7c3d-9e4f-5a6b7c8d9e0f".into()),
        grant: Some("0195c8a1-7b2e-7c3d-9e4f-000000000001".into()),
        resource: "0195c8a1-7b2e-7c3d-9e4f-000000000002".into(),
        version: Some(3),
        mode: "aggregate".into(),
        channel: "sandbox".into(),
        purpose: Some("评估控烟执法重点区域".into()),
        allowed: true,
        reason: None,
        query_mac: format!("{seq:064x}"),
        rows_out: Some(8),
        bytes_out: None,
        epsilon_micros: 0,
        result_mac: Some(format!("{:064x}", seq * 7)),
    })
}

fn median(times: &mut [Duration]) -> Duration {
    times.sort();
    times[times.len() / 2]
}

/// Queues `count` entries from sequence number `from`, a transaction per batch.
async fn queue(store: &SqlStore, from: usize, count: usize) {
    let mut queued = from;
    while queued < from + count {
        let batch: Vec<(Entry, i64)> =
            (queued..(queued + BATCH).min(from + count)).map(|i| (entry(i as i64), i as i64)).collect();
        let mut tx = store.write().await.unwrap();
        tx.queue_ledger_entries(&batch, Utc::now()).await.unwrap();
        tx.commit().await.unwrap();
        queued += batch.len();
    }
}

/// One integration run, as `App::integrate_ledger` makes them; answers how
/// many entries it integrated.
async fn integrate(store: &SqlStore) -> u64 {
    let mut tx = store.write().await.unwrap();
    let before = tx.ledger_head().await.unwrap().size;
    let after = tx.integrate_ledger(INTEGRATION_BATCH, Utc::now()).await.unwrap().size;
    tx.commit().await.unwrap();
    after - before
}

/// Queueing everything, then integrating everything: shows the split.
async fn appends_in_turn(name: &str, store: &SqlStore, total: usize) {
    let started = Instant::now();
    queue(store, 0, total).await;
    let queue_time = started.elapsed();
    while integrate(store).await == INTEGRATION_BATCH as u64 {}
    let all = started.elapsed();
    println!(
        "{name}, in turn: {total} entries appended in {:.2} s = {:.0} entries/s (queue {:.2} s, integrate {:.2} s)",
        all.as_secs_f64(),
        total as f64 / all.as_secs_f64(),
        queue_time.as_secs_f64(),
        (all - queue_time).as_secs_f64()
    );
}

/// Two writers queueing while the integrator runs, as a server does:
/// the time until the last entry is in the tree.
async fn appends_together(name: &str, store: &SqlStore, total: usize) {
    let started = Instant::now();
    let half = total / BATCH / 2 * BATCH;
    let writers = [(0, half), (half, total - half)].map(|(from, count)| {
        let store = store.clone();
        tokio::spawn(async move { queue(&store, from, count).await })
    });
    let mut runs = 0;
    loop {
        let writing = writers.iter().any(|writer| !writer.is_finished());
        let integrated = integrate(store).await;
        runs += 1;
        // A run that was not full took everything committed when it began.
        if !writing && integrated < INTEGRATION_BATCH as u64 {
            break;
        }
        if integrated == 0 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    let mut tx = store.read().await.unwrap();
    assert_eq!(tx.ledger_pending().await.unwrap(), 0, "every entry is in the tree");
    assert_eq!(tx.ledger_head().await.unwrap().size, total as u64);
    drop(tx);
    for writer in writers {
        writer.await.unwrap();
    }
    let all = started.elapsed();
    println!(
        "{name}, together: {total} entries appended in {:.2} s = {:.0} entries/s (2 writers, {runs} integration runs)",
        all.as_secs_f64(),
        total as f64 / all.as_secs_f64(),
    );
}

async fn proofs(name: &str, store: &SqlStore) {
    let mut tx = store.read().await.unwrap();
    let head = tx.ledger_head().await.unwrap();
    let mut times = Vec::new();
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    for _ in 0..1_000 {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let index = state % head.size;
        let started = Instant::now();
        let ranges = tree::inclusion_ranges(index, head.size).unwrap();
        let nodes = tx.ledger_nodes(&tree::needed(&ranges)).await.unwrap();
        let hashes = tree::assemble(&ranges, |id| nodes.get(&id).copied()).unwrap();
        let leaf = tx.ledger_entries(index, 1).await.unwrap().remove(0);
        times.push(started.elapsed());
        tree::verify_inclusion(&leaf.leaf_hash, index, head.size, &hashes, &head.root).unwrap();
    }
    println!(
        "{name}: inclusion proof at size {}: median {:.3} ms over 1000 random entries",
        head.size,
        median(&mut times).as_secs_f64() * 1e3
    );
}

async fn verification(store: &SqlStore) {
    let mut tx = store.read().await.unwrap();
    let head = tx.ledger_head().await.unwrap();
    let signer = gongshu_ledger::NoteSigner::generate("bench.example/ledger").unwrap();
    let checkpoint = gongshu_ledger::Checkpoint {
        origin: "bench.example/ledger".into(),
        size: head.size,
        root: head.root,
        time: "2026-11-28T03:00:00Z".into(),
    };
    let note = gongshu_ledger::note::sign(&checkpoint.to_text(), &[&signer]);
    let mut export = verify::header_lines("bench.example/ledger", head.size, &[note]).into_bytes();
    let mut from = 0;
    while from < head.size {
        for record in tx.ledger_entries(from, 50_000).await.unwrap() {
            export.extend_from_slice(verify::entry_line(record.index, &record.leaf_hash, &record.body).as_bytes());
            from = record.index + 1;
        }
    }
    let mut times = Vec::new();
    for _ in 0..3 {
        let started = Instant::now();
        let report = verify::verify_export(std::io::Cursor::new(&export), &[signer.verifier()]);
        times.push(started.elapsed());
        assert!(report.ok(), "{:?}", report.findings);
    }
    println!(
        "verify: {} entries ({} MB export) in median {:.2} s",
        head.size,
        export.len() / 1_000_000,
        median(&mut times).as_secs_f64()
    );
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let mut args = std::env::args().skip(1);
    let total: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(1_000_000);
    let only = args.next().filter(|backend| backend != "both");
    let runs = |backend: &str| only.as_deref().is_none_or(|only| only == backend);
    let sequential = args.next().as_deref() == Some("in-turn");

    if runs("sqlite") {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("bench.db").display());
        let sqlite = SqlStore::connect(&url).await.unwrap();
        if sequential {
            appends_in_turn("sqlite", &sqlite, total).await;
        } else {
            appends_together("sqlite", &sqlite, total).await;
        }
        proofs("sqlite", &sqlite).await;
        // The target is for a million; the export is held in memory.
        if total <= 2_000_000 {
            verification(&sqlite).await;
        }
    }

    // PostgreSQL in a schema of its own, when GONGSHU_TEST_POSTGRES_URL names a server.
    if !runs("postgres") {
        return;
    }
    if let Some(test) = gongshu_metadata::testing::postgres().await {
        if sequential {
            appends_in_turn("postgres", &test.store, total).await;
        } else {
            appends_together("postgres", &test.store, total).await;
        }
        proofs("postgres", &test.store).await;
    }
}
