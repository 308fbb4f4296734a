//! Harvest between two Gongshu instances (区域协作): one reads the other's
//! open catalog through the CKAN Action API over HTTP, keeps the entries
//! read-only with their provenance, and follows the source's changes:
//! unchanged on a second run, withdrawn when the source stops listing an
//! entry, back when it lists it again. Issue 4.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use gongshu_app::testing::DemoApp;
use gongshu_app::{AppError, FileRegistration, NewHarvestSource, SearchRequest};
use gongshu_policy::Subject;
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;

async fn serve_ckan(source: &DemoApp) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let router = gongshu_ckan::router(source.app.clone());
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    format!("http://{address}")
}

async fn search(app: &gongshu_app::App, words: &str) -> Vec<gongshu_domain::Resource> {
    app.search_catalog(SearchRequest { text: words.into(), limit: 20, ..Default::default() }).await.unwrap().resources
}

#[tokio::test]
async fn one_instance_harvests_another_and_follows_its_changes() {
    let ningbo = DemoApp::new().await;
    let url = serve_ckan(&ningbo).await;
    let hangzhou = DemoApp::new().await;
    let admin = hangzhou.app.authenticate(&hangzhou.admin_token).await.unwrap();
    let new = NewHarvestSource {
        name_zh: "宁波市公共数据开放平台".into(),
        name_en: Some("Ningbo Open Data".into()),
        kind: "ckan".into(),
        url: url.clone(),
        region: "330200".into(),
    };
    let editor = hangzhou.app.subject_of("jt-editor").await.unwrap();
    let refused = hangzhou.app.create_harvest_source(&editor, new.clone()).await.unwrap_err();
    assert!(matches!(refused, AppError::Forbidden { .. }), "{refused:?}");
    let source = hangzhou.app.create_harvest_source(&admin, new.clone()).await.unwrap();
    assert!(matches!(hangzhou.app.create_harvest_source(&admin, new).await, Err(AppError::Conflict { .. })));

    // The source's published, first-hand entries arrive once each; what it
    // harvested itself (its demo harvests five) is left to their origin.
    let published = ningbo.app.search_catalog(SearchRequest { limit: 100, ..Default::default() }).await.unwrap();
    let second_hand: usize = ningbo.app.harvest_sources().await.unwrap().iter().map(|v| v.entries).sum();
    assert_eq!(second_hand, 5);
    let first_hand = published.results.total as usize - second_hand;
    let report = hangzhou.app.run_harvest(&admin, &source.source.id).await.unwrap();
    assert_eq!((report.listed, report.created), (first_hand, first_hand), "{report:?}");
    assert_eq!(search(&hangzhou.app, "空气质量日报").await.len(), 1, "no second-hand copy of a harvested entry");

    let found = search(&hangzhou.app, "天气").await;
    let copy = found.iter().find(|r| r.provider_org_id == source.portal.id).expect("the harvested weather entry");
    let original = search(&ningbo.app, "天气").await.remove(0);
    assert_eq!(copy.draft.name_zh, original.draft.name_zh);
    assert_eq!(copy.draft.spatial_coverage.as_ref().unwrap().as_str(), "330200");
    let from = hangzhou.app.provenance(&copy.id).await.unwrap().expect("provenance");
    assert_eq!(from.record.remote_id, original.id);
    assert_eq!(from.record.landing_page, Some(format!("{url}/dataset/{}", original.id)));
    assert!(from.distributions[0].url.as_deref().unwrap().starts_with(&url), "files link to the source");

    // Its CKAN dict says where it came from, and nobody here may change it.
    let show = Request::get(format!("/api/3/action/package_show?id={}", copy.id)).body(Body::empty()).unwrap();
    let response = gongshu_ckan::router(hangzhou.app.clone()).oneshot(show).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let dict: Value = serde_json::from_slice(&response.into_body().collect().await.unwrap().to_bytes()).unwrap();
    let extras = dict["result"]["extras"].as_array().unwrap();
    let extra = |key: &str| extras.iter().find(|e| e["key"] == key).map(|e| e["value"].clone());
    assert_eq!(extra("harvest_source_title"), Some(Value::from("宁波市公共数据开放平台")));
    assert_eq!(dict["result"]["url"], Value::from(format!("{url}/dataset/{}", original.id)));
    let change =
        FileRegistration { application: "change".into(), reason: "x".into(), proposed: Some(copy.draft.clone()) };
    let refused = hangzhou.app.file_registration(&admin, &copy.id, change).await.unwrap_err();
    assert!(matches!(refused, AppError::Conflict { .. }), "{refused:?}");

    // A second run changes nothing.
    let again = hangzhou.app.run_harvest(&admin, &source.source.id).await.unwrap();
    assert_eq!((again.created, again.updated, again.unchanged), (0, 0, report.created), "{again:?}");

    // Taken down at the source: withdrawn here, and kept.
    let reviewer = ningbo.app.subject_of("sjj-reviewer").await.unwrap();
    ningbo.app.set_published(&reviewer, &original.id, false, Some("数据核对中")).await.unwrap();
    let withdrawn = hangzhou.app.run_harvest(&admin, &source.source.id).await.unwrap();
    assert_eq!(withdrawn.withdrawn, 1, "{withdrawn:?}");
    assert!(search(&hangzhou.app, "天气").await.iter().all(|r| r.id != copy.id));
    let kept = hangzhou.app.resource(&admin, &copy.id).await.unwrap().resource;
    assert_eq!(kept.state, gongshu_domain::ResourceState::Unpublished);
    assert!(matches!(hangzhou.app.resource(&Subject::Anonymous, &copy.id).await, Err(AppError::NotFound { .. })));

    // Listed again: back in the catalog.
    ningbo.app.set_published(&reviewer, &original.id, true, None).await.unwrap();
    let back = hangzhou.app.run_harvest(&admin, &source.source.id).await.unwrap();
    assert_eq!(back.updated, 1, "{back:?}");
    assert!(search(&hangzhou.app, "天气").await.iter().any(|r| r.id == copy.id));
    let counted = |views: Vec<gongshu_app::HarvestSourceView>| {
        views.into_iter().find(|v| v.source.id == source.source.id).unwrap().entries
    };
    assert_eq!(counted(hangzhou.app.harvest_sources().await.unwrap()), report.created);

    // Withdrawn, republished here by the bureau, then listed again unchanged: counted as listed.
    ningbo.app.set_published(&reviewer, &original.id, false, Some("再次核对")).await.unwrap();
    hangzhou.app.run_harvest(&admin, &source.source.id).await.unwrap();
    let bureau = hangzhou.app.subject_of("sjj-reviewer").await.unwrap();
    hangzhou.app.set_published(&bureau, &copy.id, true, None).await.unwrap();
    ningbo.app.set_published(&reviewer, &original.id, true, None).await.unwrap();
    let listed = hangzhou.app.run_harvest(&admin, &source.source.id).await.unwrap();
    assert_eq!(listed.unchanged, report.created, "{listed:?}");
    assert_eq!(counted(hangzhou.app.harvest_sources().await.unwrap()), report.created);

    // A read cut short by a limit withdraws nothing.
    let cut = gongshu_app::Fetched { datasets: vec![], pages: 1, complete: false };
    let partial = hangzhou.app.apply_harvest(&admin, &source.source.id, cut).await.unwrap();
    assert!(partial.partial && partial.withdrawn == 0, "{partial:?}");
    assert!(search(&hangzhou.app, "天气").await.iter().any(|r| r.id == copy.id));
    let history = hangzhou.app.resource_history(&admin, &copy.id).await.unwrap();
    let actions: Vec<&str> = history.iter().map(|h| h.action.as_str()).collect();
    assert_eq!(actions, ["harvest_create", "harvest_withdraw", "harvest_update", "harvest_withdraw", "publish"]);
}

#[tokio::test]
async fn a_source_that_cannot_be_read_leaves_the_catalog_as_it_was() {
    let hangzhou = DemoApp::new().await;
    let admin = hangzhou.app.authenticate(&hangzhou.admin_token).await.unwrap();
    // A port nothing listens on.
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap().local_addr().unwrap();
    let new = NewHarvestSource {
        name_zh: "停用的平台".into(),
        kind: "dcat".into(),
        url: format!("http://{closed}/catalog.ttl"),
        region: "330200".into(),
        ..Default::default()
    };
    let source = hangzhou.app.create_harvest_source(&admin, new).await.unwrap();
    let before =
        hangzhou.app.search_catalog(SearchRequest { limit: 1, ..Default::default() }).await.unwrap().results.total;
    let error = hangzhou.app.run_harvest(&admin, &source.source.id).await.unwrap_err();
    assert!(error.to_string().contains("cannot read"), "{error}");
    assert_eq!(
        hangzhou.app.search_catalog(SearchRequest { limit: 1, ..Default::default() }).await.unwrap().results.total,
        before
    );
    let listed = hangzhou.app.harvest_sources().await.unwrap();
    let report = listed.iter().find(|v| v.source.id == source.source.id).unwrap().source.last_report.clone().unwrap();
    assert!(report.contains("无法读取"), "{report}");

    let bad = NewHarvestSource {
        name_zh: "x".into(),
        kind: "ftp".into(),
        url: "ftp://x".into(),
        region: "1".into(),
        ..Default::default()
    };
    let AppError::Validation(problems) = hangzhou.app.create_harvest_source(&admin, bad).await.unwrap_err() else {
        panic!("a validation error")
    };
    let fields: Vec<&str> = problems.0.iter().map(|p| p.field.as_str()).collect();
    assert_eq!(fields, ["kind", "region", "url"]);
    // A portal organization exists only with its source.
    let portal = gongshu_app::NewOrganization {
        name_zh: "无来源的平台".into(),
        kind: "portal".into(),
        region: "330200".into(),
        ..Default::default()
    };
    let refused = hangzhou.app.create_organization(&admin, portal).await.unwrap_err();
    assert!(matches!(refused, AppError::Validation(ref p) if p.0[0].field == "kind"), "{refused:?}");
}
