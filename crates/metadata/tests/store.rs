//! The behavioural suite of the metadata store, run against SQLite and
//! PostgreSQL alike (see `gongshu_metadata::testing`).

use chrono::{TimeZone, Utc};
use gongshu_domain::resource::{DataItem, ResourceDraft};
use gongshu_domain::{
    DataType, HistoryEntry, IdentifierKind, OpenAttribute, OrgKind, Organization, RegionCode, Resource, ResourceClass,
    ResourceState, Role, SecurityLevel, ShareAttribute, UpdateCycle, User,
};
use gongshu_metadata::{MetadataStore, ResourceFilter, SqlStore, StoreError, both_backends};

fn at(seconds: i64) -> chrono::DateTime<Utc> {
    Utc.timestamp_opt(1_780_000_000 + seconds, 0).unwrap()
}

fn organization(id: &str, name: &str) -> Organization {
    Organization {
        id: id.into(),
        code: None,
        name_zh: name.into(),
        name_en: None,
        kind: OrgKind::Department,
        region: RegionCode::parse("region", "330100").unwrap(),
        parent_id: None,
        created_at: at(0),
    }
}

fn resource(id: &str, provider: &str, name: &str, item_title: &str) -> Resource {
    Resource {
        id: id.into(),
        provider_org_id: provider.into(),
        state: ResourceState::Draft,
        registration_code: None,
        draft: ResourceDraft {
            name_zh: name.into(),
            name_en: Some("Divisions".into()),
            abstract_zh: "摘要".into(),
            abstract_en: None,
            lead_collector_org_id: None,
            resource_class: ResourceClass::Basic,
            theme: "民生服务".into(),
            items: vec![DataItem {
                name: "code".into(),
                title: item_title.into(),
                standard_code: None,
                data_type: DataType::Text,
                unit: None,
                description: None,
                identifier_kind: IdentifierKind::None,
                level: SecurityLevel::General2,
                source_resource_id: None,
            }],
            share: ShareAttribute::Unconditional,
            open: OpenAttribute::Unconditional,
            update_cycle: UpdateCycle::Annual,
            time_coverage_start: None,
            time_coverage_end: None,
            spatial_coverage: None,
            license: None,
            keywords: vec!["区划".into()],
            classification_rationale: None,
        },
        created_at: at(1),
        updated_at: at(1),
        published_at: None,
        row_version: 0,
    }
}

both_backends!(cjk_extension_text_round_trips_unchanged, |store: SqlStore| async move {
    // 𠀀 (U+20000) and 𪚥 (U+2A6A5) are CJK extension B characters, outside the BMP.
    let name = "𠀀𪚥村行政区划";
    let mut tx = store.write().await.unwrap();
    tx.insert_organization(&organization("o1", "民政局𠀀")).await.unwrap();
    tx.insert_resource(&resource("r1", "o1", name, "行政区划代码")).await.unwrap();
    tx.commit().await.unwrap();
    let mut tx = store.read().await.unwrap();
    assert_eq!(tx.organization("o1").await.unwrap().name_zh, "民政局𠀀");
    assert_eq!(tx.resource("r1").await.unwrap().draft.name_zh, name);
    let found =
        tx.resources(&ResourceFilter { text: Some("𪚥村".into()), limit: 10, ..Default::default() }).await.unwrap();
    assert_eq!(found.total, 1);
});

both_backends!(a_dropped_transaction_leaves_nothing_behind, |store: SqlStore| async move {
    let mut tx = store.write().await.unwrap();
    tx.insert_organization(&organization("o1", "民政局")).await.unwrap();
    tx.insert_resource(&resource("r1", "o1", "区划", "代码")).await.unwrap();
    drop(tx);
    let mut tx = store.read().await.unwrap();
    assert!(matches!(tx.organization("o1").await, Err(StoreError::NotFound { .. })));
    assert!(matches!(tx.resource("r1").await, Err(StoreError::NotFound { .. })));
});

both_backends!(unique_names_and_stale_writes_are_conflicts, |store: SqlStore| async move {
    let mut tx = store.write().await.unwrap();
    tx.insert_organization(&organization("o1", "民政局")).await.unwrap();
    tx.insert_resource(&resource("r1", "o1", "区划", "代码")).await.unwrap();
    tx.commit().await.unwrap();

    let mut tx = store.write().await.unwrap();
    let error = tx.insert_organization(&organization("o2", "民政局")).await.unwrap_err();
    assert!(matches!(error, StoreError::Duplicate(_)), "{error}");
    drop(tx);

    let mut tx = store.write().await.unwrap();
    let read = tx.resource("r1").await.unwrap();
    let mut first = read.clone();
    first.state = ResourceState::PendingReview;
    let written = tx.update_resource(&first).await.unwrap();
    assert_eq!(written.row_version, 1);
    let error = tx.update_resource(&read).await.unwrap_err();
    assert!(matches!(error, StoreError::Stale { .. }), "{error}");
    tx.commit().await.unwrap();
});

both_backends!(users_roles_and_tokens, |store: SqlStore| async move {
    let mut tx = store.write().await.unwrap();
    tx.insert_organization(&organization("o1", "民政局")).await.unwrap();
    let user = User {
        id: "u1".into(),
        username: "mzj".into(),
        display_name: "编目员".into(),
        password_hash: None,
        system_admin: false,
        created_at: at(2),
    };
    tx.insert_user(&user).await.unwrap();
    tx.insert_membership("u1", "o1", Role::Cataloguer, at(3)).await.unwrap();
    tx.insert_membership("u1", "o1", Role::Cataloguer, at(4)).await.unwrap();
    tx.commit().await.unwrap();
    let mut tx = store.read().await.unwrap();
    assert_eq!(tx.user_by_username("mzj").await.unwrap(), user);
    let roles = tx.memberships("u1").await.unwrap();
    assert_eq!(roles.len(), 1);
    assert_eq!((roles[0].org_kind, roles[0].role), (OrgKind::Department, Role::Cataloguer));
});

both_backends!(code_sequences_and_history_are_ordered, |store: SqlStore| async move {
    let mut tx = store.write().await.unwrap();
    assert_eq!(tx.next_code_sequence("330100120260301").await.unwrap(), 1);
    assert_eq!(tx.next_code_sequence("330100120260301").await.unwrap(), 2);
    assert_eq!(tx.next_code_sequence("330100120260302").await.unwrap(), 1);
    for (i, action) in ["create", "submit", "accept"].into_iter().enumerate() {
        let entry = HistoryEntry {
            seq: 0,
            entity_kind: "resource",
            entity_id: "r1".into(),
            actor_user_id: Some("u1".into()),
            action: action.into(),
            from_state: None,
            to_state: Some(action.into()),
            opinion: None,
            at: at(i as i64),
        };
        tx.append_history(&entry).await.unwrap();
    }
    tx.commit().await.unwrap();
    let mut tx = store.read().await.unwrap();
    let history = tx.history("resource", "r1").await.unwrap();
    let actions: Vec<_> = history.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(actions, ["create", "submit", "accept"]);
    assert!(history.windows(2).all(|w| w[0].seq < w[1].seq));
});

both_backends!(concurrent_coders_get_distinct_sequence_numbers, |store: SqlStore| async move {
    // Registration codes must be unique however many reviewers code at once.
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let mut tx = store.write().await.unwrap();
            let sequence = tx.next_code_sequence("330100120261127").await.unwrap();
            tx.commit().await.unwrap();
            sequence
        }));
    }
    let mut sequences = Vec::new();
    for task in tasks {
        sequences.push(task.await.unwrap());
    }
    sequences.sort();
    assert_eq!(sequences, (1..=8).collect::<Vec<i64>>());
});

both_backends!(concurrent_writers_of_one_row_do_not_lose_updates, |store: SqlStore| async move {
    let mut tx = store.write().await.unwrap();
    tx.insert_organization(&organization("o1", "民政局")).await.unwrap();
    tx.insert_resource(&resource("r1", "o1", "区划", "代码")).await.unwrap();
    tx.commit().await.unwrap();
    // Each writer reads the row and writes it back changed; the ones that
    // read a stale version must fail rather than overwrite.
    let mut tasks = Vec::new();
    for i in 0..6 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let mut tx = store.write().await.unwrap();
            let mut read = tx.resource("r1").await.unwrap();
            read.draft.keywords.push(format!("k{i}"));
            match tx.update_resource(&read).await {
                Ok(_) => tx.commit().await.map(|_| 1).unwrap(),
                Err(StoreError::Stale { .. }) => 0,
                Err(other) => panic!("{other}"),
            }
        }));
    }
    let mut written = 0;
    for task in tasks {
        written += task.await.unwrap();
    }
    let mut tx = store.read().await.unwrap();
    let stored = tx.resource("r1").await.unwrap();
    assert_eq!(stored.row_version, written as i64, "every successful write bumped the version once");
    assert_eq!(stored.draft.keywords.len(), 1 + written, "no successful write was lost");
});
