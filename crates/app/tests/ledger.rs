//! The ledger and supervision over the real demo: every kind of record is in
//! the ledger, a changed, dropped or reordered stored entry is found and
//! named by the verifier, freezes stop reads at once, and the monitoring
//! rules raise alerts on the scenarios they watch.

use std::sync::Arc;

use chrono::{Duration, TimeZone, Utc};
use gongshu_app::{App, AppError, CatalogIndex, ManualClock, RegistrationRules, Stores, demo};
use gongshu_datafiles::DataStore;
use gongshu_domain::supervision::{AlertRule, FreezeTarget};
use gongshu_domain::{RegionCode, WorkingCalendar};
use gongshu_ledger::{Entry, Report, verify_export};
use gongshu_metadata::{MetadataStore, SqlStore};
use gongshu_policy::Subject;

struct Demo {
    app: App,
    clock: Arc<ManualClock>,
    url: String,
    _dir: tempfile::TempDir,
}

async fn demo() -> Demo {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("gongshu.db").display());
    let store = SqlStore::connect(&url).await.unwrap();
    let clock = Arc::new(ManualClock::new(Utc.with_ymd_and_hms(2026, 11, 27, 2, 0, 0).unwrap()));
    let rules = RegistrationRules {
        registry_region: RegionCode::parse("region", "330100").unwrap(),
        ..RegistrationRules::default()
    };
    let stores = Stores {
        metadata: Arc::new(store),
        data: DataStore::local(&dir.path().join("objects")).unwrap(),
        scratch: dir.path().to_owned(),
        search: Arc::new(CatalogIndex::in_memory().unwrap()),
    };
    let app = App::new(stores, clock.clone(), WorkingCalendar::default(), rules);
    Box::pin(demo::load(&app)).await.unwrap();
    Demo { app, clock, url, _dir: dir }
}

async fn export(app: &App) -> Vec<u8> {
    let mut stream = std::pin::pin!(app.export_ledger().await.unwrap());
    let mut out = Vec::new();
    while let Some(chunk) = futures::StreamExt::next(&mut stream).await {
        out.extend_from_slice(&chunk.unwrap());
    }
    out
}

async fn verify(app: &App) -> Report {
    verify_export(std::io::Cursor::new(export(app).await), &[app.ledger_verifier()])
}

fn entries(export: &[u8]) -> Vec<Entry> {
    std::str::from_utf8(export)
        .unwrap()
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter_map(|value| value["entry"].as_str().map(|text| Entry::parse(text.as_bytes()).unwrap()))
        .collect()
}

async fn execute(url: &str, sql: &str) {
    use sqlx::Connection;
    let mut connection = sqlx::SqliteConnection::connect(url).await.unwrap();
    sqlx::query(sqlx::AssertSqlSafe(sql.to_owned())).execute(&mut connection).await.unwrap();
}

#[tokio::test]
async fn every_kind_of_record_the_demo_makes_is_in_the_ledger() {
    let demo = demo().await;
    let report = verify(&demo.app).await;
    assert!(report.ok(), "{:?}", report.findings);
    assert_eq!(report.uncovered, 0, "the demo ends with a checkpoint");
    let all = entries(&export(&demo.app).await);
    let kinds: std::collections::BTreeSet<String> = all
        .iter()
        .map(|entry| match entry {
            Entry::State(change) => change.entity.clone(),
            other => other.kind().to_owned(),
        })
        .collect();
    for kind in [
        "organization",
        "user",
        "token",
        "resource",
        "registration",
        "request",
        "harvest_source",
        "sharing_request",
        "grant",
        "agreement",
        "sharing_duty",
        "sharing_bundle",
        "ledger_key",
        "freeze",
        "alert",
        "tracker_exemption",
        "product",
        "subscription",
        "revenue_ceiling",
        "disclosure",
        "usage",
        "delivery",
    ] {
        assert!(kinds.contains(kind), "no {kind} entry in the ledger; it holds {kinds:?}");
    }
    // Commitments, not personal data: no account id, user name or opinion text.
    let text = String::from_utf8(export(&demo.app).await).unwrap();
    for secret in ["sjj-reviewer", "gongshu-demo-2026", "已电话联系市场监管局核实"] {
        assert!(!text.contains(secret), "the ledger holds `{secret}`");
    }
    let admin = demo.app.subject_of("sjj-admin").await.unwrap();
    let Subject::User { user_id, .. } = &admin else { panic!("a user") };
    assert!(!text.contains(user_id.as_str()), "the ledger holds an account id");
}

#[tokio::test]
async fn a_changed_dropped_or_reordered_stored_entry_is_named() {
    let demo = demo().await;
    assert!(verify(&demo.app).await.ok());

    // One byte of one entry.
    execute(&demo.url, "UPDATE ledger_entry SET body = replace(body, '\"v\":1', '\"v\":1 ') WHERE queue_id = (SELECT queue_id FROM ledger_index WHERE idx = 17)").await;
    let report = verify(&demo.app).await;
    assert!(!report.ok());
    assert_eq!(report.findings.iter().filter_map(|f| f.index).min(), Some(17), "{:?}", report.findings);
    assert!(report.findings.iter().any(|f| f.message.contains("entry 17")), "{:?}", report.findings);
    execute(&demo.url, "UPDATE ledger_entry SET body = replace(body, '\"v\":1 ', '\"v\":1') WHERE queue_id = (SELECT queue_id FROM ledger_index WHERE idx = 17)").await;
    assert!(verify(&demo.app).await.ok(), "restored, it verifies again");

    // Two entries swapped.
    execute(
        &demo.url,
        "UPDATE ledger_index SET idx = CASE idx WHEN 40 THEN -41 WHEN 41 THEN -40 END WHERE idx IN (40, 41); \
         UPDATE ledger_index SET idx = -idx WHERE idx < 0",
    )
    .await;
    // Whole rows moved, leaf hashes and all: the checkpoint fails, and the
    // finding names the range it covers (checkpoints signed more often
    // narrow it).
    let report = verify(&demo.app).await;
    assert!(!report.ok());
    assert!(
        report.findings.iter().any(|f| f.index.is_some_and(|i| i <= 40) && f.message.contains("order")),
        "{:?}",
        report.findings
    );
    execute(
        &demo.url,
        "UPDATE ledger_index SET idx = CASE idx WHEN 40 THEN -41 WHEN 41 THEN -40 END WHERE idx IN (40, 41); \
         UPDATE ledger_index SET idx = -idx WHERE idx < 0",
    )
    .await;
    assert!(verify(&demo.app).await.ok(), "put back, it verifies again");

    // An entry dropped.
    execute(&demo.url, "DELETE FROM ledger_index WHERE idx = 60").await;
    let report = verify(&demo.app).await;
    assert!(
        report.findings.iter().any(|f| f.index == Some(60) && f.message.contains("missing")),
        "{:?}",
        report.findings
    );
}

#[tokio::test]
async fn any_byte_changed_in_an_export_is_detected() {
    let demo = demo().await;
    let original = export(&demo.app).await;
    let key = demo.app.ledger_verifier();
    assert!(verify_export(std::io::Cursor::new(&original), std::slice::from_ref(&key)).ok());
    // Every byte of entry lines, in a stride that covers every field.
    let first_entry = original.windows(8).position(|w| w == b"{\"index\"").unwrap();
    let mut tried = 0;
    for position in (first_entry..original.len()).step_by(97) {
        if original[position] == b'\n' {
            continue;
        }
        let mut changed = original.clone();
        changed[position] ^= 0x01;
        let report = verify_export(std::io::Cursor::new(&changed), std::slice::from_ref(&key));
        assert!(!report.ok(), "a change at byte {position} went unnoticed");
        tried += 1;
    }
    assert!(tried > 100);
}

#[tokio::test]
async fn proofs_served_verify_against_the_signed_checkpoint() {
    let demo = demo().await;
    let checkpoint = demo.app.latest_checkpoint().await.unwrap().unwrap();
    for index in [0, 1, checkpoint.size / 2, checkpoint.size - 1] {
        let proof = demo.app.inclusion_proof(index, None).await.unwrap();
        let leaf = gongshu_ledger::leaf_hash(proof.entry.body.as_bytes());
        gongshu_ledger::tree::verify_inclusion(&leaf, index, checkpoint.size, &proof.hashes, &checkpoint.root).unwrap();
    }
    // A later checkpoint is consistent with the first.
    demo.clock.advance(Duration::minutes(5));
    let analyst = demo.app.subject_of("operator-analyst").await.unwrap();
    let airports = demo.app.grants(&analyst, None).await.unwrap()[0].grant.resources[0].resource_id.clone();
    demo.app.query_data(&analyst, &airports, &[]).await.unwrap();
    let later = demo.app.checkpoint().await.unwrap();
    assert!(later.size > checkpoint.size);
    let proof = demo.app.consistency_proof(checkpoint.size, later.size).await.unwrap();
    gongshu_ledger::tree::verify_consistency(checkpoint.size, later.size, &checkpoint.root, &later.root, &proof)
        .unwrap();
    assert!(demo.app.inclusion_proof(later.size, None).await.is_err());
}

#[tokio::test]
async fn a_rotated_key_is_learned_from_the_log() {
    let demo = demo().await;
    let old = demo.app.ledger_verifier();
    let new = gongshu_ledger::NoteSigner::generate(demo.app.ledger_origin()).unwrap();
    demo.app.rotate_ledger_key(&new).await.unwrap();
    let rotated = demo.app.clone().with_ledger(gongshu_app::LedgerSettings {
        origin: demo.app.ledger_origin().to_owned(),
        signer: new.clone(),
        tracker_delay_days: 0,
    });
    let analyst = rotated.subject_of("operator-analyst").await.unwrap();
    let airports = rotated.grants(&analyst, None).await.unwrap()[0].grant.resources[0].resource_id.clone();
    rotated.query_data(&analyst, &airports, &[]).await.unwrap();
    rotated.checkpoint().await.unwrap();
    // Trusting only the old key, the verifier follows the rotation.
    let report = verify_export(std::io::Cursor::new(export(&rotated).await), std::slice::from_ref(&old));
    assert!(report.ok(), "{:?}", report.findings);
    assert!(report.keys.contains(&new.verifier().to_string()));
    // The retired key signs nothing more, and a key the ledger does not know
    // refuses to sign (a lost data directory, a replica with its own key).
    assert!(matches!(demo.app.checkpoint().await, Err(AppError::Conflict { en, .. }) if en.contains("retired")));
    let stranger = rotated.clone().with_ledger(gongshu_app::LedgerSettings::ephemeral(demo.app.ledger_origin()));
    assert!(
        matches!(stranger.checkpoint().await, Err(AppError::Conflict { en, .. }) if en.contains("not the ledger's"))
    );

    // Someone with the database writes an activation of their own key into the
    // log; the honest server signs over it; their key is still not trusted,
    // because it never co-signed beside a trusted one.
    let store = SqlStore::connect(&demo.url).await.unwrap();
    let mut tx = store.write().await.unwrap();
    let forged = gongshu_domain::HistoryEntry {
        seq: 0,
        entity_kind: "ledger_key",
        entity_id: stranger.ledger_verifier().to_string(),
        actor_user_id: Some("system".into()),
        action: "activate".into(),
        from_state: None,
        to_state: Some("active".into()),
        opinion: None,
        at: Utc::now(),
    };
    tx.append_history(&forged).await.unwrap();
    tx.commit().await.unwrap();
    rotated.checkpoint().await.unwrap();
    stranger.query_data(&analyst, &airports, &[]).await.unwrap();
    stranger.checkpoint().await.unwrap();
    let report = verify_export(std::io::Cursor::new(export(&stranger).await), &[old]);
    assert!(report.findings.iter().any(|f| f.message.contains("not signed by a trusted key")), "{:?}", report.findings);
    assert!(!report.keys.contains(&stranger.ledger_verifier().to_string()));
}

#[tokio::test]
async fn a_freeze_stops_reads_at_once_and_a_release_restores_them() {
    let demo = demo().await;
    let app = &demo.app;
    let reviewer = app.subject_of("sjj-reviewer").await.unwrap();
    let analyst = app.subject_of("operator-analyst").await.unwrap();
    let grant = app.grants(&analyst, None).await.unwrap().remove(0).grant;
    let airports = grant.resources[0].resource_id.clone();
    app.query_data(&analyst, &airports, &[]).await.unwrap();

    // Only the bureau freezes, and only with a reason.
    assert!(matches!(
        app.freeze(&analyst, FreezeTarget::Grant, &grant.id, "x", None).await,
        Err(AppError::Forbidden { .. })
    ));
    assert!(matches!(
        app.freeze(&reviewer, FreezeTarget::Grant, &grant.id, "  ", None).await,
        Err(AppError::Validation(_))
    ));
    let freeze = app.freeze(&reviewer, FreezeTarget::Grant, &grant.id, "疑似超范围使用，先行冻结", None).await.unwrap();
    match app.query_data(&analyst, &airports, &[]).await {
        Err(AppError::Forbidden { zh, .. }) => assert!(zh.contains("冻结"), "{zh}"),
        other => panic!("a frozen grant still reads: {other:?}"),
    }
    assert!(app.release_freeze(&reviewer, &freeze.id, "").await.is_err(), "a release needs its decision");
    app.release_freeze(&reviewer, &freeze.id, "核查无误，恢复").await.unwrap();
    app.query_data(&analyst, &airports, &[]).await.unwrap();

    // A frozen resource stops even the public's reads of open data.
    let listed = app.resources(&Subject::Anonymous, gongshu_app::ResourceQuery::default()).await.unwrap();
    let mut open = None;
    for resource in listed.items {
        if app.query_data(&Subject::Anonymous, &resource.id, &[]).await.is_ok() {
            open = Some(resource.id);
            break;
        }
    }
    let open = open.expect("the demo has open data");
    let profile_values = |versions: Vec<gongshu_domain::DatasetVersion>| {
        let profile: serde_json::Value = serde_json::from_str(&versions[0].profile_json).unwrap();
        profile["profile"]["columns"].as_array().unwrap().iter().filter(|c| !c["max"].is_null()).count()
    };
    assert!(profile_values(app.versions(&Subject::Anonymous, &open).await.unwrap()) > 0);
    app.freeze(&reviewer, FreezeTarget::Resource, &open, "发现含个人信息，紧急下架核查", None).await.unwrap();
    assert!(matches!(app.query_data(&Subject::Anonymous, &open, &[]).await, Err(AppError::Forbidden { .. })));
    // Nor do its values show in its profile.
    assert_eq!(profile_values(app.versions(&Subject::Anonymous, &open).await.unwrap()), 0);

    // A frozen account stops whatever it reads.
    let Subject::User { user_id, .. } = &analyst else { panic!("a user") };
    app.freeze(&reviewer, FreezeTarget::User, user_id, "账号疑似被盗用", None).await.unwrap();
    assert!(matches!(app.query_data(&analyst, &airports, &[]).await, Err(AppError::Forbidden { .. })));
    // The refusals are on record, in the ledger, naming the freeze.
    app.checkpoint().await.unwrap();
    let report = verify(app).await;
    assert!(report.ok(), "{:?}", report.findings);
    let frozen = entries(&export(app).await)
        .into_iter()
        .filter(|entry| matches!(entry, Entry::Usage(u) if !u.allowed && u.reason.as_deref().is_some_and(|r| r.starts_with("frozen:"))))
        .count();
    assert_eq!(frozen, 3, "the grant's, the resource's and the account's refusals");
}

#[tokio::test]
async fn the_monitor_raises_alerts_on_the_scenarios_it_watches() {
    let demo = demo().await;
    let app = &demo.app;
    let reviewer = app.subject_of("sjj-reviewer").await.unwrap();
    // The demo's repeated refusals raised one, handled and closed.
    let alerts = app.alerts(&reviewer, false).await.unwrap();
    assert!(alerts.iter().any(|a| a.rule == AlertRule::RepeatedDenials));

    // A spike: many reads in a day under a grant read once before.
    let analyst = app.subject_of("operator-analyst").await.unwrap();
    let grant = app.grants(&analyst, None).await.unwrap().remove(0).grant;
    let airports = grant.resources[0].resource_id.clone();
    for _ in 0..25 {
        app.query_data(&analyst, &airports, &[]).await.unwrap();
    }
    let raised = app.scan_usage().await.unwrap();
    assert!(
        raised.iter().any(|a| a.rule == AlertRule::VolumeSpike && a.grant_id.as_deref() == Some(grant.id.as_str())),
        "{raised:?}"
    );
    // Once per episode.
    app.query_data(&analyst, &airports, &[]).await.unwrap();
    assert!(app.scan_usage().await.unwrap().iter().all(|a| a.rule != AlertRule::VolumeSpike));

    // Probing small groups: many different narrow aggregate questions.
    let company = app.subject_of("qy-admin").await.unwrap();
    let held = app.grants(&company, None).await.unwrap().remove(0).grant;
    let smoking = held.resources[0].resource_id.clone();
    for i in 0..9 {
        let sql =
            format!("SELECT SUM(smoking_yes_cancer_yes) AS n FROM \"{smoking}\" WHERE smoking_yes_cancer_yes > {i}");
        app.sandbox_sql(&company, &sql, Some(&held.id), None).await.unwrap();
    }
    let raised = app.scan_usage().await.unwrap();
    assert!(raised.iter().any(|a| a.rule == AlertRule::SmallGroupProbe), "{raised:?}");

    // Reads after the term.
    demo.clock.set(grant.valid_until + Duration::days(1));
    assert!(app.query_data(&analyst, &airports, &[]).await.is_err());
    let raised = app.scan_usage().await.unwrap();
    let late = raised.iter().find(|a| a.rule == AlertRule::AfterTerm).expect("an after-term alert");
    assert_eq!(late.grant_id.as_deref(), Some(grant.id.as_str()));
    assert_eq!(late.evidence.len(), 1);
}

#[tokio::test]
async fn the_tracker_shows_uses_but_not_exempt_grants() {
    let demo = demo().await;
    let app = &demo.app;
    let company = app.subject_of("qy-admin").await.unwrap();
    let held = app.grants(&company, None).await.unwrap().remove(0).grant;
    let tracker = app.data_tracker(&Subject::Anonymous, &held.resources[0].resource_id).await.unwrap();
    assert!(tracker.rows.iter().any(|row| row.grant_id == held.id && row.reads >= 1), "{:?}", tracker.rows);
    // The transport bureau's ε counts are exempt for a month in the demo.
    assert_eq!(tracker.exemptions.len(), 1);
    assert!(tracker.rows.iter().all(|row| row.grant_id != tracker.exemptions[0].grant_id));
    // Every row's sample is in the ledger.
    let row = &tracker.rows[0];
    assert!(app.ledger_entry_of("usage", row.sample_seq).await.unwrap().is_some());
}

/// An open resource the public can read.
async fn open_resource(app: &App) -> String {
    let listed = app.resources(&Subject::Anonymous, gongshu_app::ResourceQuery::default()).await.unwrap();
    for resource in listed.items {
        if app.query_data(&Subject::Anonymous, &resource.id, &[]).await.is_ok() {
            return resource.id;
        }
    }
    panic!("the demo has open data")
}

/// Reads the first chunk of a download, lets `stop` run, then reads the
/// rest: it must end with the error that says the read was stopped.
async fn cut_mid_download(reader: &App, resource: &str, stop: impl Future<Output = ()>) {
    cut_mid_download_by(reader, &Subject::Anonymous, resource, stop).await;
}

async fn cut_mid_download_by(reader: &App, subject: &Subject, resource: &str, stop: impl Future<Output = ()>) {
    use futures::StreamExt;
    let mut download = reader.download_data(subject, resource, &[], "csv").await.unwrap();
    let first = download.body.next().await.expect("a first chunk").unwrap();
    assert!(!first.is_empty());
    // The demo's files are small: the rest would be read before any stop
    // arrives, so it is read only once the stop has been made (and heard).
    stop.await;
    let rest = tokio::time::timeout(std::time::Duration::from_secs(20), download.body.collect::<Vec<_>>())
        .await
        .expect("the download under way stops");
    match rest.last() {
        Some(Err(AppError::Forbidden { zh, .. })) => assert!(zh.contains("读取过程中"), "{zh}"),
        other => panic!("the download under way went on: {other:?}"),
    }
}

#[tokio::test]
async fn a_freeze_cuts_a_download_under_way() {
    let demo = demo().await;
    let app = &demo.app;
    let reviewer = app.subject_of("sjj-reviewer").await.unwrap();
    let open = open_resource(app).await;
    cut_mid_download(app, &open, async {
        app.freeze(&reviewer, FreezeTarget::Resource, &open, "发现含个人信息，紧急下架核查", None).await.unwrap();
    })
    .await;
}

/// Scaled out: a freeze recorded on one server stops a read under way on
/// another, through the database, also after the other server's
/// connection for listening was cut (it listens again and reads what it
/// may have missed from the records).
#[tokio::test]
async fn a_freeze_on_one_server_cuts_reads_under_way_on_the_others() {
    let Some(demo) = gongshu_app::testing::DemoApp::postgres().await else {
        return;
    };
    let app = &demo.app;
    let reviewer = app.subject_of("sjj-reviewer").await.unwrap();
    let other = demo.another_server().await;
    let following = other.clone();
    let listening = tokio::spawn(async move { following.follow_other_servers().await });
    // The test hears the announcements too, to know when one was sent; the
    // other server heard it at the same moment, and is given ample time to
    // act on it before the download is read further.
    let test_listener = format!("{}&application_name=gongshu-test-listener", demo.url());
    let mut heard =
        gongshu_metadata::SqlStore::connect(&test_listener).await.unwrap().announcements().await.unwrap().unwrap();
    let mut hear = async move || {
        let announced = tokio::time::timeout(std::time::Duration::from_secs(20), heard.next()).await;
        assert!(matches!(announced, Ok(Ok(gongshu_metadata::Announcement::Message(_)))), "{announced:?}");
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    };
    let open = open_resource(app).await;
    cut_mid_download(&other, &open, async {
        app.freeze(&reviewer, FreezeTarget::Resource, &open, "发现含个人信息，紧急下架核查", None).await.unwrap();
        hear().await;
    })
    .await;

    // Release it, cut the listening connection, and freeze again.
    let freeze = app.freezes(&reviewer).await.unwrap().into_iter().find(|f| f.target_id == open).unwrap();
    app.release_freeze(&reviewer, &freeze.id, "核查无误，恢复").await.unwrap();
    cut_mid_download(&other, &open, async {
        use sqlx::{Connection, Row};
        let mut admin = sqlx::PgConnection::connect(demo.url()).await.unwrap();
        let cut = sqlx::query(
            "SELECT COUNT(pg_terminate_backend(pid)) FROM pg_stat_activity \
             WHERE datname = current_database() AND query LIKE 'LISTEN %' \
             AND application_name = 'gongshu-second-server'",
        )
        .fetch_one(&mut admin)
        .await
        .unwrap()
        .get::<i64, _>(0);
        assert!(cut >= 1, "the other server was listening");
        app.freeze(&reviewer, FreezeTarget::Resource, &open, "再次发现个人信息", None).await.unwrap();
        hear().await;
    })
    .await;

    // A freeze recorded while the other server does not listen at all: it
    // reads it from the records when it listens again.
    listening.abort();
    let _ = listening.await;
    let active = app.freezes(&reviewer).await.unwrap().into_iter().find(|f| f.target_id == open && f.is_active());
    app.release_freeze(&reviewer, &active.unwrap().id, "核查无误，再次恢复").await.unwrap();
    let mut listening = None;
    cut_mid_download(&other, &open, async {
        app.freeze(&reviewer, FreezeTarget::Resource, &open, "第三次发现个人信息", None).await.unwrap();
        hear().await;
        let following = other.clone();
        listening = Some(tokio::spawn(async move { following.follow_other_servers().await }));
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    })
    .await;
    listening.unwrap().abort();
}

/// The transport bureau's grant to download the smoking counts, approved
/// by the health bureau: answers the reader, the resource and the grant.
async fn download_grant(app: &App) -> (Subject, String, String) {
    let statistics = app.subject_of("tj-editor").await.unwrap();
    let smoking = app.grants(&statistics, None).await.unwrap().remove(0).grant.resources[0].resource_id.clone();
    let transport = app.subject_of("jt-editor").await.unwrap();
    let request = gongshu_app::NewSharingRequest {
        resource_id: smoking.clone(),
        requester_org_id: None,
        columns: vec![],
        modes: vec!["download".into()],
        purpose: "公共交通场所控烟宣传选点".into(),
        legal_basis: "《公共场所控制吸烟条例》".into(),
        scenario: "交通场所控烟评估".into(),
        needed_until: "2027-11-27".into(),
    };
    let id = app.submit_sharing_request(&transport, request).await.unwrap().request.id;
    let reviewer = app.subject_of("sjj-reviewer").await.unwrap();
    let pass = gongshu_app::SharingDecision { approve: true, ..Default::default() };
    app.check_sharing_request(&reviewer, &id, pass.clone()).await.unwrap();
    let health = app.subject_of("wj-editor").await.unwrap();
    let granted = app.decide_sharing_request(&health, &id, pass).await.unwrap();
    (transport, smoking, granted.request.grant_id.expect("granted"))
}

#[tokio::test]
async fn a_suspended_grant_cuts_its_download_under_way_and_resumes() {
    let demo = demo().await;
    let app = &demo.app;
    let (transport, smoking, grant) = download_grant(app).await;
    let bureau = app.subject_of("sjj-reviewer").await.unwrap();
    cut_mid_download_by(app, &transport, &smoking, async {
        app.change_grant(&bureau, &grant, gongshu_domain::GrantAction::Suspend, "核查用途").await.unwrap();
    })
    .await;
    app.change_grant(&bureau, &grant, gongshu_domain::GrantAction::Resume, "核查无误").await.unwrap();
    let mut download = app.download_data(&transport, &smoking, &[], "csv").await.unwrap();
    while let Some(chunk) = futures::StreamExt::next(&mut download.body).await {
        chunk.expect("a resumed grant reads to the end");
    }
}

/// Scaled out: a grant suspended on one server stops its download under
/// way on another, and once resumed there, reads on the other run again.
#[tokio::test]
async fn a_grant_suspended_on_one_server_cuts_its_download_on_the_others() {
    let Some(demo) = gongshu_app::testing::DemoApp::postgres().await else {
        return;
    };
    let app = &demo.app;
    let other = demo.another_server().await;
    let following = other.clone();
    let listening = tokio::spawn(async move { following.follow_other_servers().await });
    let mut heard =
        gongshu_metadata::SqlStore::connect(demo.url()).await.unwrap().announcements().await.unwrap().unwrap();
    let (transport, smoking, grant) = download_grant(app).await;
    let bureau = app.subject_of("sjj-reviewer").await.unwrap();
    cut_mid_download_by(&other, &transport, &smoking, async {
        app.change_grant(&bureau, &grant, gongshu_domain::GrantAction::Suspend, "核查用途").await.unwrap();
        let announced = tokio::time::timeout(std::time::Duration::from_secs(20), heard.next()).await;
        assert!(matches!(announced, Ok(Ok(gongshu_metadata::Announcement::Message(_)))), "{announced:?}");
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    })
    .await;
    app.change_grant(&bureau, &grant, gongshu_domain::GrantAction::Resume, "核查无误").await.unwrap();
    let mut download = other.download_data(&transport, &smoking, &[], "csv").await.unwrap();
    while let Some(chunk) = futures::StreamExt::next(&mut download.body).await {
        chunk.expect("a grant resumed elsewhere reads to the end here");
    }
    listening.abort();
}
