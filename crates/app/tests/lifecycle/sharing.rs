//! Issue 5: sharing requests end to end, grants enforced at the gateway,
//! the aggregate-only sandbox, revocation and expiry, and the usage record.

use std::collections::BTreeMap;

use chrono::Duration;
use gongshu_app::{
    AppError, Clock, GrantTerms, LoadOptions, NewSharingRequest, SharingDecision, SharingQuery, UsageQuery,
    records_json,
};
use gongshu_domain::resource::DataItem;
use gongshu_domain::{
    DataType, GrantAction, IdentifierKind, Mask, OpenAttribute, RowCondition, RowOp, SecurityLevel, ShareAttribute,
    SharingState,
};
use gongshu_metadata::{SqlStore, both_backends};
use serde_json::json;

use crate::helpers::{World, draft};

fn item(name: &str, data_type: DataType, identifier_kind: IdentifierKind) -> DataItem {
    DataItem {
        name: name.into(),
        title: format!("{name}项"),
        standard_code: None,
        data_type,
        unit: None,
        description: None,
        identifier_kind,
        level: SecurityLevel::General3,
        source_resource_id: None,
    }
}

const RESIDENTS: &str = "姓名,身份证号,区县,年龄,补助金额\n\
张三,330106199001011234,330106,34,1200\n\
李四,330106198505052345,330106,39,800\n\
王五,330106197003033456,330106,54,1500\n\
赵六,330106200012124567,330106,24,600\n\
钱七,330106196806065678,330106,56,900\n\
孙八,330102199909096789,330102,25,700\n\
周九,330102198001017890,330102,44,1100\n";

/// Registers the civil affairs bureau's conditional-share, not-open list of
/// subsidy recipients with its data loaded; answers its id.
async fn residents(w: &World, share: ShareAttribute) -> String {
    residents_with(w, share, OpenAttribute::NotOpen { legal_basis: "涉及个人信息".into() }).await
}

/// The list of subsidy recipients with the given share and open attributes.
pub(crate) async fn residents_with(w: &World, share: ShareAttribute, open: OpenAttribute) -> String {
    let mut content = draft("低保救助对象名单", "姓名");
    content.items = vec![
        item("姓名", DataType::Text, IdentifierKind::Direct),
        item("身份证号", DataType::Text, IdentifierKind::Direct),
        item("区县", DataType::Text, IdentifierKind::Quasi),
        item("年龄", DataType::Integer, IdentifierKind::Quasi),
        item("补助金额", DataType::Integer, IdentifierKind::Sensitive),
    ];
    content.share = share;
    content.open = open;
    let id = w.register(&w.civil, &w.civil_org, content).await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("residents.csv");
    std::fs::write(&file, RESIDENTS).unwrap();
    let schema = json!({"fields": [
        {"name": "姓名", "type": "string"}, {"name": "身份证号", "type": "string"}, {"name": "区县", "type": "string"},
        {"name": "年龄", "type": "integer"}, {"name": "补助金额", "type": "integer"}
    ]});
    let options = LoadOptions { schema_json: Some(schema.to_string()), ..LoadOptions::default() };
    w.app.load_version(&w.civil, &id, &file, "residents.csv", &options, std::sync::Arc::new(|_| {})).await.unwrap();
    id
}

fn request(resource_id: &str, until: &str) -> NewSharingRequest {
    NewSharingRequest {
        resource_id: resource_id.into(),
        requester_org_id: None,
        columns: vec![],
        modes: vec!["query".into(), "aggregate".into()],
        purpose: "核对统计口径下的救助覆盖情况".into(),
        legal_basis: "《中华人民共和国统计法》第七条".into(),
        scenario: "民生统计监测".into(),
        needed_until: until.into(),
    }
}

pub(crate) fn rows(page: &gongshu_app::DataPage) -> serde_json::Value {
    records_json(&page.page.batches).unwrap()
}

both_backends!(a_conditional_sharing_request_runs_to_a_grant_the_gateway_enforces, |store: SqlStore| async move {
    let w = World::new(store).await;
    let resource_id = residents(&w, ShareAttribute::Conditional { conditions: "仅用于统计分析".into() }).await;

    // Before any grant: refused, and the refusal is recorded.
    let refused = w.app.query_data(&w.statistics, &resource_id, &[]).await;
    assert!(matches!(refused, Err(AppError::Forbidden { .. })), "{refused:?}");

    let filed = w.app.submit_sharing_request(&w.statistics, request(&resource_id, "2026-12-31")).await.unwrap();
    assert_eq!(filed.request.state, SharingState::Submitted);
    assert_eq!(filed.request.columns.len(), 5, "all items when none are named");
    let due = filed.request.due_date.unwrap();
    assert_eq!(w.app.calendar().working_days_between(w.app.today(), due), 2);

    // Only the bureau checks; only the provider decides.
    let pass = || SharingDecision { approve: true, ..SharingDecision::default() };
    assert!(w.app.check_sharing_request(&w.statistics, &filed.request.id, pass()).await.is_err());
    let checked = w.app.check_sharing_request(&w.reviewer, &filed.request.id, pass()).await.unwrap();
    assert_eq!(checked.request.state, SharingState::ProviderReview);
    assert!(w.app.decide_sharing_request(&w.statistics, &filed.request.id, pass()).await.is_err());

    // The provider's terms are checked against the resource: a mask that does not fit is named.
    let bad = SharingDecision {
        approve: true,
        terms: GrantTerms { masks: BTreeMap::from([("年龄".to_owned(), Mask::Year)]), ..GrantTerms::default() },
        ..SharingDecision::default()
    };
    let error = w.app.decide_sharing_request(&w.civil, &filed.request.id, bad).await.unwrap_err();
    assert!(format!("{error:?}").contains("terms.masks.年龄"), "{error:?}");

    let terms = GrantTerms {
        columns: Some(vec!["姓名".into(), "区县".into(), "年龄".into(), "补助金额".into()]),
        masks: BTreeMap::from([("姓名".to_owned(), Mask::KeepFirst { n: 1 })]),
        row_filter: vec![RowCondition { column: "区县".into(), op: RowOp::Eq, values: vec!["330106".into()] }],
        min_group_size: Some(3),
        ..GrantTerms::default()
    };
    let approved = w
        .app
        .decide_sharing_request(&w.civil, &filed.request.id, SharingDecision { approve: true, opinion: None, terms })
        .await
        .unwrap();
    assert_eq!(approved.request.state, SharingState::Granted);
    let grant_id = approved.request.grant_id.clone().unwrap();

    // The department sees exactly its shaped view.
    let page = w.app.query_data(&w.statistics, &resource_id, &[]).await.unwrap();
    assert_eq!(
        rows(&page),
        json!([
            {"姓名": "张*", "区县": "330106", "年龄": 34, "补助金额": 1200},
            {"姓名": "李*", "区县": "330106", "年龄": 39, "补助金额": 800},
            {"姓名": "王*", "区县": "330106", "年龄": 54, "补助金额": 1500},
            {"姓名": "赵*", "区县": "330106", "年龄": 24, "补助金额": 600},
            {"姓名": "钱*", "区县": "330106", "年龄": 56, "补助金额": 900},
        ])
    );
    assert_eq!(page.page.total, 5);

    // SQL sees the same view; a hidden column is as unknown as one that does not exist.
    let table = format!("\"{resource_id}\"");
    let sql =
        w.app.sql(&w.statistics, &format!("SELECT COUNT(*) AS n, SUM(补助金额) AS s FROM {table}")).await.unwrap();
    assert_eq!(records_json(&sql.batches).unwrap(), json!([{"n": 5, "s": 5000}]));
    let hidden = w.app.sql(&w.statistics, &format!("SELECT 身份证号 FROM {table}")).await.unwrap_err();
    let missing = w.app.sql(&w.statistics, &format!("SELECT 护照号 FROM {table}")).await.unwrap_err();
    assert_eq!(format!("{hidden:?}").replace("身份证号", "X"), format!("{missing:?}").replace("护照号", "X"));

    // The sandbox: aggregates only, small groups suppressed.
    let by_age = format!("SELECT 年龄 >= 50 AS older, COUNT(*) AS n FROM {table} GROUP BY 年龄 >= 50 ORDER BY older");
    let groups = w.app.sandbox_sql(&w.statistics, &by_age, None, None).await.unwrap();
    assert_eq!(
        records_json(&groups.batches).unwrap(),
        json!([{"older": false, "n": 3}]),
        "the group of 2 is suppressed"
    );
    let raw = w.app.sandbox_sql(&w.statistics, &format!("SELECT 姓名 FROM {table}"), None, None).await.unwrap_err();
    assert!(format!("{raw:?}").contains("only aggregates"), "{raw:?}");

    // What was read is recorded, allowed and denied alike.
    let usage = w
        .app
        .usage_events(&w.civil, UsageQuery { resource_id: Some(resource_id.clone()), ..UsageQuery::default() })
        .await
        .unwrap();
    let allowed: Vec<_> = usage.items.iter().filter(|e| e.allowed).collect();
    assert!(allowed.iter().all(|e| e.grant_id.as_deref() == Some(grant_id.as_str())));
    assert!(allowed.iter().any(|e| e.channel == "sandbox" && e.rows_out == Some(1)));
    assert!(usage.items.iter().any(|e| !e.allowed && e.reason.as_deref() == Some("no_grant")));

    // Revocation is immediate.
    assert!(w.app.change_grant(&w.statistics, &grant_id, GrantAction::Revoke, "测试").await.is_err());
    w.app.change_grant(&w.reviewer, &grant_id, GrantAction::Suspend, "安全检查").await.unwrap();
    assert!(matches!(w.app.query_data(&w.statistics, &resource_id, &[]).await, Err(AppError::Forbidden { .. })));
    w.app.change_grant(&w.reviewer, &grant_id, GrantAction::Resume, "检查完毕").await.unwrap();
    assert!(w.app.query_data(&w.statistics, &resource_id, &[]).await.is_ok());
    let (revoked, history) = {
        let _ = w.app.change_grant(&w.reviewer, &grant_id, GrantAction::Revoke, "用途变更").await.unwrap();
        w.app.grant(&w.statistics, &grant_id).await.unwrap()
    };
    assert_eq!(revoked.status, "revoked");
    assert!(revoked.grant.hash_key.is_empty(), "the key never leaves");
    assert_eq!(history.iter().map(|h| h.action.as_str()).collect::<Vec<_>>(), ["grant", "suspend", "resume", "revoke"]);
    assert!(matches!(w.app.query_data(&w.statistics, &resource_id, &[]).await, Err(AppError::Forbidden { .. })));
    assert!(w.app.sandbox_sql(&w.statistics, &by_age, None, None).await.is_err());
    let denied =
        w.app.usage_events(&w.reviewer, UsageQuery { allowed: Some(false), ..UsageQuery::default() }).await.unwrap();
    assert!(denied.items.iter().any(|e| e.reason.as_deref().is_some_and(|r| r.starts_with("revoked:"))));
});

both_backends!(unconditional_sharing_is_granted_at_the_check_and_ends_with_its_term, |store: SqlStore| async move {
    let w = World::new(store).await;
    let resource_id = residents(&w, ShareAttribute::Unconditional).await;
    let mut new = request(&resource_id, "2026-03-31");
    new.columns = vec!["区县".into(), "年龄".into()];
    let filed = w.app.submit_sharing_request(&w.statistics, new).await.unwrap();
    let granted = w
        .app
        .check_sharing_request(&w.reviewer, &filed.request.id, SharingDecision { approve: true, ..Default::default() })
        .await
        .unwrap();
    assert_eq!(granted.request.state, SharingState::Granted);
    let page = w.app.query_data(&w.statistics, &resource_id, &[]).await.unwrap();
    assert_eq!(rows(&page).as_array().unwrap()[0], json!({"区县": "330106", "年龄": 34}));

    // The term ends on the server's clock, with nobody acting.
    w.clock.set(w.clock.now() + Duration::days(31));
    let expired = w.app.query_data(&w.statistics, &resource_id, &[]).await;
    match expired {
        Err(AppError::Forbidden { en, .. }) => assert_eq!(en, "the grant's term has ended"),
        other => panic!("expected the grant to have expired, got {other:?}"),
    }
});

both_backends!(a_refusal_is_coordinated_by_the_bureau, |store: SqlStore| async move {
    let w = World::new(store).await;
    let resource_id = residents(&w, ShareAttribute::Conditional { conditions: "须说明履职依据".into() }).await;
    let filed = w.app.submit_sharing_request(&w.statistics, request(&resource_id, "2026-12-31")).await.unwrap();
    let id = filed.request.id.clone();
    w.app
        .check_sharing_request(&w.reviewer, &id, SharingDecision { approve: true, ..Default::default() })
        .await
        .unwrap();

    // The provider's deadline passes: the request shows overdue to everyone party to it.
    let waiting = w.app.sharing_request(&w.statistics, &id).await.unwrap().0;
    w.advance_past(waiting.request.due_date.unwrap());
    let received = w
        .app
        .sharing_requests(&w.civil, SharingQuery { role: Some("received".into()), ..Default::default() })
        .await
        .unwrap();
    assert!(received.items.iter().any(|v| v.request.id == id && v.overdue));

    // A refusal needs its reason.
    let silent = w.app.decide_sharing_request(&w.civil, &id, SharingDecision::default()).await.unwrap_err();
    assert!(format!("{silent:?}").contains("opinion"), "{silent:?}");
    let refusal =
        SharingDecision {
            approve: false, opinion: Some("申请用途超出统计职责".into()), ..Default::default()
        };
    let refused = w.app.decide_sharing_request(&w.civil, &id, refusal).await.unwrap();
    assert_eq!(refused.request.state, SharingState::Refused);
    assert!(!refused.overdue, "no one has to act on a refusal");

    w.app.escalate_sharing_request(&w.statistics, &id, "统计法规定的法定职责").await.unwrap();
    let uphold =
        SharingDecision { approve: false, opinion: Some("维持提供部门意见".into()), ..Default::default() };
    let upheld = w.app.coordinate_sharing_request(&w.reviewer, &id, uphold).await.unwrap();
    assert_eq!(upheld.request.state, SharingState::Upheld);
    assert!(w.app.escalate_sharing_request(&w.statistics, &id, "再次").await.is_err(), "coordination is final");
    let (_, history) = w.app.sharing_request(&w.reviewer, &id).await.unwrap();
    assert_eq!(
        history.iter().map(|h| h.action.as_str()).collect::<Vec<_>>(),
        ["submit", "pass_check", "refuse", "escalate", "uphold"]
    );
    // Nothing was granted.
    assert!(w.app.grants(&w.statistics, Some(&resource_id)).await.unwrap().is_empty());
});

both_backends!(resources_not_shared_cannot_be_requested, |store: SqlStore| async move {
    let w = World::new(store).await;
    let resource_id = residents(&w, ShareAttribute::NotShared { legal_basis: "法律禁止".into() }).await;
    let error = w.app.submit_sharing_request(&w.statistics, request(&resource_id, "2026-12-31")).await.unwrap_err();
    assert!(format!("{error:?}").contains("不予共享"), "{error:?}");
    let own = w.app.submit_sharing_request(&w.civil, request(&resource_id, "2026-12-31")).await.unwrap_err();
    assert!(format!("{own:?}").contains("本部门"), "{own:?}");
});

both_backends!(verification_answers_yes_or_no_and_nothing_else, |store: SqlStore| async move {
    let w = World::new(store).await;
    let resource_id = residents(&w, ShareAttribute::Unconditional).await;
    let mut new = request(&resource_id, "2026-12-31");
    new.columns = vec!["姓名".into(), "身份证号".into()];
    new.modes = vec!["verify".into()];
    let filed = w.app.submit_sharing_request(&w.statistics, new).await.unwrap();
    w.app
        .check_sharing_request(&w.reviewer, &filed.request.id, SharingDecision { approve: true, ..Default::default() })
        .await
        .unwrap();
    let pair =
        |name: &str, id: &str| vec![("姓名".to_owned(), name.to_owned()), ("身份证号".to_owned(), id.to_owned())];
    assert!(w.app.verify(&w.statistics, &resource_id, &pair("张三", "330106199001011234"), None).await.unwrap());
    assert!(!w.app.verify(&w.statistics, &resource_id, &pair("张三", "330106198505052345"), None).await.unwrap());
    let outside = w.app.verify(&w.statistics, &resource_id, &[("年龄".to_owned(), "34".to_owned())], None).await;
    assert!(format!("{outside:?}").contains("criteria.年龄"), "{outside:?}");
    // Verification reads no rows.
    assert!(matches!(w.app.query_data(&w.statistics, &resource_id, &[]).await, Err(AppError::Forbidden { .. })));
    let usage = w
        .app
        .usage_events(&w.statistics, UsageQuery { resource_id: Some(resource_id.clone()), ..UsageQuery::default() })
        .await
        .unwrap();
    let verified: Vec<_> = usage.items.iter().filter(|e| e.channel == "verify").collect();
    assert_eq!(verified.len(), 2, "both answers are on record");
    assert!(verified.iter().all(|e| e.allowed && e.rows_out == Some(0)));
});

both_backends!(a_privacy_budget_is_charged_before_and_refunded_after_a_failed_query, |store: SqlStore| async move {
    let w = World::new(store).await;
    let resource_id = residents(&w, ShareAttribute::Conditional { conditions: "仅统计".into() }).await;
    let mut new = request(&resource_id, "2026-12-31");
    new.modes = vec!["aggregate".into()];
    let filed = w.app.submit_sharing_request(&w.statistics, new).await.unwrap();
    w.app
        .check_sharing_request(&w.reviewer, &filed.request.id, SharingDecision { approve: true, ..Default::default() })
        .await
        .unwrap();
    let terms = GrantTerms { min_group_size: Some(2), epsilon_budget: Some(0.5), ..GrantTerms::default() };
    let granted = w
        .app
        .decide_sharing_request(&w.civil, &filed.request.id, SharingDecision { approve: true, opinion: None, terms })
        .await
        .unwrap();
    let grant_id = granted.request.grant_id.unwrap();
    let table = format!("\"{resource_id}\"");
    let count = format!("SELECT COUNT(*) AS n FROM {table}");

    // Sums need bounds the grant does not declare; the failed query costs nothing.
    let sum = w.app.sandbox_sql(&w.statistics, &format!("SELECT SUM(补助金额) FROM {table}"), None, Some(0.2)).await;
    assert!(format!("{sum:?}").contains("only COUNT"), "{sum:?}");
    let spent = |w: &crate::helpers::World| {
        let app = w.app.clone();
        let subject = w.statistics.clone();
        let id = grant_id.clone();
        async move { app.grant(&subject, &id).await.unwrap().0.grant.epsilon_spent_micros }
    };
    assert_eq!(spent(&w).await, 0);

    // Counts come back noisy, each query charged.
    let noisy = w.app.sandbox_sql(&w.statistics, &count, None, Some(0.2)).await.unwrap();
    let n = records_json(&noisy.batches).unwrap()[0]["n"].as_i64().unwrap();
    assert!((n - 7).abs() < 60, "a noisy count near 7: {n}");
    assert_eq!(spent(&w).await, 200_000);
    w.app.sandbox_sql(&w.statistics, &count, None, Some(0.2)).await.unwrap();
    assert_eq!(spent(&w).await, 400_000);
    // What is left does not cover another 0.2.
    let refused = w.app.sandbox_sql(&w.statistics, &count, None, Some(0.2)).await;
    assert!(matches!(refused, Err(AppError::Forbidden { en, .. }) if en.contains("budget")), "{refused:?}");
    assert_eq!(spent(&w).await, 400_000);
    let usage = w
        .app
        .usage_events(&w.statistics, UsageQuery { grant_id: Some(grant_id.clone()), ..UsageQuery::default() })
        .await
        .unwrap();
    assert_eq!(usage.items.iter().map(|e| e.privacy_cost_micros).sum::<i64>(), 400_000);
});
