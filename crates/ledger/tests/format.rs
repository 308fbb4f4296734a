//! The entry format is pinned: each fixture under `tests/fixtures` is the
//! exact text of a version-1 entry, and `leaf-hashes.txt` its leaf hash. A
//! change to a field's name, order or encoding breaks these tests, and a
//! verifier built from an older release would disagree with the new one:
//! such a change is a new format version, not an edit.

use gongshu_ledger::{DeliveryCharge, Entry, StateChange, UsageDecision, UsageOutcome, hex, leaf_hash};

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

fn pinned(name: &str) -> String {
    let list = String::from_utf8(fixture("leaf-hashes.txt")).unwrap();
    list.lines().find_map(|line| line.strip_prefix(&format!("{name} "))).unwrap().to_owned()
}

#[test]
fn every_fixture_reads_back_to_the_same_bytes_and_leaf() {
    for name in ["entry-v1-state.json", "entry-v1-usage.json", "entry-v1-usage_outcome.json", "entry-v1-delivery.json"]
    {
        let bytes = fixture(name);
        let entry = Entry::parse(&bytes).unwrap();
        assert_eq!(entry.to_bytes(), bytes, "{name} does not write back byte for byte");
        assert_eq!(hex(&leaf_hash(&bytes)), pinned(name), "{name}'s leaf hash moved");
    }
}

#[test]
fn the_code_writes_what_the_fixtures_hold() {
    let state = Entry::State(StateChange {
        v: 1,
        seq: 42,
        entity: "grant".into(),
        id: "0195c8a1-7b2e-7c3d-9e4f-000000000001".into(),
        action: "suspend".into(),
        from: Some("active".into()),
        to: Some("suspended".into()),
        actor: "p:3f9a1c0d5e7b2a4c6d8e0f1a2b3c4d5e".into(),
        opinion_sha256: Some("9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08".into()),
        at: "2026-11-28T03:00:00.000000Z".into(),
    });
    assert_eq!(state.to_bytes(), fixture("entry-v1-state.json"));
    let usage = Entry::Usage(UsageDecision {
        v: 1,
        seq: 7,
        at: "2026-11-28T03:00:01.250000Z".into(),
        subject: "public".into(),
        org: None,
        grant: None,
        resource: "0195c8a1-7b2e-7c3d-9e4f-000000000002".into(),
        version: Some(3),
        mode: "download".into(),
        channel: "download".into(),
        purpose: None,
        allowed: false,
        reason: Some("frozen:0195c8a1-7b2e-7c3d-9e4f-000000000003".into()),
        query_mac: "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855".into(),
        rows_out: None,
        bytes_out: None,
        epsilon_micros: 0,
        result_mac: None,
    });
    assert_eq!(usage.to_bytes(), fixture("entry-v1-usage.json"));
    let outcome = Entry::UsageOutcome(UsageOutcome { v: 1, seq: 7, rows_out: None, bytes_out: 1_048_576 });
    assert_eq!(outcome.to_bytes(), fixture("entry-v1-usage_outcome.json"));
    let delivery = Entry::Delivery(DeliveryCharge {
        v: 1,
        seq: 3,
        usage_seq: 7,
        at: "2026-11-28T03:00:01.250000Z".into(),
        product: "0195c8a1-7b2e-7c3d-9e4f-000000000004".into(),
        customer: "0195c8a1-7b2e-7c3d-9e4f-000000000005".into(),
        unit: Some("per_call".into()),
        units: 1,
        unit_price_fen: 80,
        fee_fen: 80,
    });
    assert_eq!(delivery.to_bytes(), fixture("entry-v1-delivery.json"));
}
