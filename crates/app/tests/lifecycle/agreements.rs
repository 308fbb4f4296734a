//! Issue 5: conditional-open applications and authorized operation, end to
//! end: each makes its grant only when the holder signs the exact terms,
//! the gateway enforces it, and suspension, termination and expiry stop
//! reads at once and lead to an attested destruction.

use std::collections::BTreeMap;

use chrono::{Duration, NaiveDate};
use gongshu_app::{
    AgreementQuery, AgreementStep, AppError, GrantTerms, NewUsageReport, OpenApplication, OpenTerms, OperationPlan,
    PlannedResource,
};
use gongshu_domain::{AgreementState, GrantAction, GrantBasis, Mask, OpenAttribute, PlanApproval, ShareAttribute};
use gongshu_metadata::{SqlStore, both_backends};
use serde_json::json;

use crate::helpers::World;
use crate::sharing::{residents_with, rows};

fn application(resource_id: &str, until: NaiveDate) -> OpenApplication {
    OpenApplication {
        resource_id: resource_id.into(),
        columns: vec![],
        modes: vec!["query".into(), "aggregate".into()],
        purpose: "研究低保覆盖与年龄结构的关系".into(),
        application: "社会救助研究数据平台".into(),
        scenario: "学术研究".into(),
        needed_until: until.to_string(),
        ..OpenApplication::default()
    }
}

fn approve(terms: GrantTerms, destruction_days: u32) -> AgreementStep {
    AgreementStep::Approve {
        opinion: Some("同意".into()),
        plan_approval: None,
        terms: Box::new(OpenTerms { grant: terms, destruction_days: Some(destruction_days), attribution: None }),
    }
}

fn reason(text: &str) -> String {
    text.to_owned()
}

both_backends!(a_conditional_open_application_runs_from_application_to_destruction, |store: SqlStore| async move {
    let w = World::new(store).await;
    let resource_id = residents_with(
        &w,
        ShareAttribute::Conditional { conditions: "仅用于统计分析".into() },
        OpenAttribute::Conditional { conditions: "仅限科研用途".into() },
    )
    .await;
    // Its catalog entry is public; its data is not.
    w.app.set_published(&w.reviewer, &resource_id, true, None).await.unwrap();
    let (_, applicant) = w.organization_with("杭州某研究院有限公司", "enterprise", "admin").await;
    let (_, stranger) = w.organization_with("另一家企业", "enterprise", "admin").await;
    let until = w.app.today() + Duration::days(200);

    // Departments share; they do not apply for open data.
    let refused = w.app.apply_for_open_data(&w.statistics, application(&resource_id, until)).await;
    assert!(matches!(refused, Err(AppError::Forbidden { .. })), "{refused:?}");
    // An open resource is downloaded, not applied for.
    let mut open = crate::helpers::draft("公开名录", "名称");
    open.open = OpenAttribute::Unconditional;
    let open_id = w.register(&w.civil, &w.civil_org, open).await;
    w.app.set_published(&w.reviewer, &open_id, true, None).await.unwrap();
    let error = w.app.apply_for_open_data(&applicant, application(&open_id, until)).await.unwrap_err();
    assert!(format!("{error:?}").contains("只有“有条件开放”"), "{error:?}");

    let applied = w.app.apply_for_open_data(&applicant, application(&resource_id, until)).await.unwrap();
    assert_eq!(applied.status, AgreementState::Applied);
    let due = applied.agreement.due_date.unwrap();
    assert_eq!(w.app.calendar().working_days_between(w.app.today(), due), 10);
    let id = applied.agreement.id.clone();
    assert!(matches!(w.app.agreement(&stranger, &id).await, Err(AppError::NotFound { .. })), "others cannot see it");

    // Only the provider decides; outside government sharing a direct identifier leaves as rows only masked.
    let forbidden = w.app.act_on_agreement(&w.statistics, &id, approve(GrantTerms::default(), 10)).await;
    assert!(matches!(forbidden, Err(AppError::NotFound { .. } | AppError::Forbidden { .. })), "{forbidden:?}");
    let error = w.app.act_on_agreement(&w.civil, &id, approve(GrantTerms::default(), 10)).await.unwrap_err();
    assert!(format!("{error:?}").contains("terms.masks.姓名"), "{error:?}");
    let terms = GrantTerms {
        columns: Some(vec!["姓名".into(), "区县".into(), "年龄".into()]),
        masks: BTreeMap::from([("姓名".to_owned(), Mask::KeepFirst { n: 1 })]),
        min_group_size: Some(3),
        ..GrantTerms::default()
    };
    let offered = w.app.act_on_agreement(&w.civil, &id, approve(terms, 10)).await.unwrap();
    assert_eq!(offered.status, AgreementState::Offered);
    assert_eq!(offered.agreement.terms.destruction_days, 10);
    assert!(w.app.query_data(&applicant, &resource_id, &[]).await.is_err(), "no grant before signing");

    // A signature covers exactly the terms read.
    let stale = AgreementStep::Sign { content_sha256: applied.content_sha256.clone() };
    let error = w.app.act_on_agreement(&applicant, &id, stale).await.unwrap_err();
    assert!(matches!(error, AppError::Conflict { .. }), "{error:?}");
    let sign = AgreementStep::Sign { content_sha256: offered.content_sha256.clone() };
    assert!(w.app.act_on_agreement(&w.civil, &id, sign.clone()).await.is_err(), "the provider does not sign");
    let signed = w.app.act_on_agreement(&applicant, &id, sign).await.unwrap();
    assert_eq!(signed.status, AgreementState::Active);
    assert_eq!(signed.agreement.record.signature.as_ref().unwrap().content_sha256, offered.content_sha256);
    let grant_id = signed.agreement.grant_id.clone().unwrap();
    let (grant, _) = w.app.grant(&applicant, &grant_id).await.unwrap();
    assert_eq!(grant.grant.basis, GrantBasis::ConditionalOpen);
    assert!(!grant.may_manage, "an agreement's grant changes only with its agreement");

    // The applicant sees exactly what it signed for.
    let page = w.app.query_data(&applicant, &resource_id, &[]).await.unwrap();
    let first = &rows(&page)[0];
    assert_eq!(first, &json!({"姓名": "张*", "区县": "330106", "年龄": 34}));
    assert_eq!(page.page.total, 7);
    let change = w.app.change_grant(&w.reviewer, &grant_id, GrantAction::Suspend, "直接暂停").await;
    assert!(matches!(change, Err(AppError::Conflict { .. })), "{change:?}");

    // Usage reports.
    let today = w.app.today();
    let report = |end: NaiveDate| NewUsageReport {
        period_start: (today - Duration::days(1)).to_string(),
        period_end: end.to_string(),
        summary: "按区县统计年龄分布".into(),
        outputs: "研究报告初稿".into(),
        incidents: "无".into(),
    };
    let error = w.app.report_usage(&applicant, &id, report(today + Duration::days(5))).await.unwrap_err();
    assert!(format!("{error:?}").contains("period_end"), "{error:?}");
    assert!(w.app.report_usage(&w.statistics, &id, report(today)).await.is_err());
    w.app.report_usage(&applicant, &id, report(today)).await.unwrap();
    let detail = w.app.agreement(&applicant, &id).await.unwrap();
    assert_eq!(detail.reports.len(), 1);
    assert_eq!(detail.view.report_due, Some(today + Duration::days(90)));

    // Suspension and resumption (by the bureau, or the provider's administrator) take effect at once.
    let suspend = AgreementStep::Suspend { reason: reason("核查使用情况") };
    let cataloguer = w.app.act_on_agreement(&w.civil, &id, suspend.clone()).await;
    assert!(matches!(cataloguer, Err(AppError::Forbidden { .. })), "{cataloguer:?}");
    w.app.act_on_agreement(&w.reviewer, &id, suspend).await.unwrap();
    assert!(matches!(w.app.query_data(&applicant, &resource_id, &[]).await, Err(AppError::Forbidden { .. })));
    w.app.act_on_agreement(&w.reviewer, &id, AgreementStep::Resume { reason: reason("核查完毕") }).await.unwrap();
    assert!(w.app.query_data(&applicant, &resource_id, &[]).await.is_ok());

    // Termination revokes the grant and starts the wind-down.
    let terminated = w
        .app
        .act_on_agreement(&w.reviewer, &id, AgreementStep::Terminate { reason: reason("超范围使用") })
        .await
        .unwrap();
    assert_eq!(terminated.status, AgreementState::WindDown);
    assert_eq!(terminated.destruction_due, Some(today + Duration::days(10)));
    assert!(matches!(w.app.query_data(&applicant, &resource_id, &[]).await, Err(AppError::Forbidden { .. })));
    let (grant, _) = w.app.grant(&applicant, &grant_id).await.unwrap();
    assert_eq!(grant.status, "revoked");
    let attest = AgreementStep::AttestDestruction { statement: "已删除全部数据及两份备份".into() };
    assert!(w.app.act_on_agreement(&w.civil, &id, attest.clone()).await.is_err(), "the holder attests");
    let closed = w.app.act_on_agreement(&applicant, &id, attest).await.unwrap();
    assert_eq!(closed.status, AgreementState::Closed);
    let actions: Vec<_> = w.app.agreement(&w.civil, &id).await.unwrap().history.into_iter().map(|h| h.action).collect();
    assert_eq!(
        actions,
        ["apply", "approve", "sign", "report_usage", "suspend", "resume", "terminate", "attest_destruction"]
    );
});

fn plan(resource_id: &str, from: NaiveDate, until: NaiveDate) -> OperationPlan {
    OperationPlan {
        title: "救助数据授权运营".into(),
        mode: "by_scenario".into(),
        resources: vec![PlannedResource {
            resource_id: resource_id.into(),
            terms: GrantTerms {
                columns: Some(vec!["姓名".into(), "区县".into(), "补助金额".into()]),
                masks: BTreeMap::from([("姓名".to_owned(), Mask::Hash)]),
                ..GrantTerms::default()
            },
        }],
        modes: vec!["query".into(), "aggregate".into()],
        purpose: "开发救助资金绩效评估产品".into(),
        application: "公共数据运营平台".into(),
        scenarios: vec!["救助资金绩效评估".into()],
        permitted_uses: vec!["平台内加工".into()],
        prohibited_uses: vec!["导出原始数据".into()],
        security_duties: "等保三级".into(),
        exit_terms: "期满后30日内销毁".into(),
        valid_from: from.to_string(),
        valid_until: until.to_string(),
        destruction_days: Some(30),
        min_group_size: Some(2),
        ..OperationPlan::default()
    }
}

both_backends!(an_authorized_operation_runs_from_plan_to_closure, |store: SqlStore| async move {
    let w = World::new(store).await;
    let resource_id = residents_with(
        &w,
        ShareAttribute::Conditional { conditions: "仅用于统计分析".into() },
        OpenAttribute::NotOpen { legal_basis: "涉及个人信息".into() },
    )
    .await;
    let (_, planner) = w.organization_with("杭州市大数据发展中心", "implementing_body", "cataloguer").await;
    let (operator_org, operator) = w.organization_with("杭州数据运营有限公司", "operator", "admin").await;
    let analyst = w.member(&operator_org, "viewer").await;
    let bureau_admin = w.member(&w.bureau_org, "admin").await;
    let today = w.app.today();
    let until = today + Duration::days(365);

    // The plan is checked as a whole: a by-scenario grant names a scenario, and a term is at most five years.
    let mut bad = plan(&resource_id, today, today + Duration::days(6 * 365));
    bad.scenarios.clear();
    let error = w.app.draft_operation(&planner, bad).await.unwrap_err();
    let text = format!("{error:?}");
    assert!(text.contains("scenarios") && text.contains("valid_until"), "{text}");
    assert!(
        w.app.draft_operation(&w.civil, plan(&resource_id, today, until)).await.is_err(),
        "departments do not plan"
    );

    let drafted = w.app.draft_operation(&planner, plan(&resource_id, today, until)).await.unwrap();
    let id = drafted.agreement.id.clone();
    assert_eq!(drafted.status, AgreementState::Drafting);
    let mut revised = plan(&resource_id, today, until);
    revised.title = "救助资金绩效评估数据授权运营".into();
    w.app.revise_operation(&planner, &id, revised).await.unwrap();
    let submitted = w.app.act_on_agreement(&planner, &id, AgreementStep::Submit).await.unwrap();
    assert_eq!(submitted.status, AgreementState::PlanReview);
    assert_eq!(w.app.calendar().working_days_between(today, submitted.agreement.due_date.unwrap()), 20);

    // The government's approval, through the bureau's administrator, records the three reviews.
    let reviews = PlanApproval {
        risk_assessment: "风险可控".into(),
        compliance_review: "合规".into(),
        fair_competition_review: "未排除限制竞争".into(),
        approval_ref: "杭政函〔2026〕1号".into(),
    };
    let approve_plan = |approval: Option<PlanApproval>| AgreementStep::Approve {
        opinion: None,
        plan_approval: approval,
        terms: Box::default(),
    };
    let forbidden = w.app.act_on_agreement(&w.reviewer, &id, approve_plan(Some(reviews.clone()))).await;
    assert!(matches!(forbidden, Err(AppError::Forbidden { .. })), "{forbidden:?}");
    let error = w.app.act_on_agreement(&bureau_admin, &id, approve_plan(None)).await.unwrap_err();
    assert!(format!("{error:?}").contains("plan_approval"), "{error:?}");
    let approved = w.app.act_on_agreement(&bureau_admin, &id, approve_plan(Some(reviews))).await.unwrap();
    assert_eq!(approved.status, AgreementState::Approved);

    // Only an operator can be selected; once selected, the plan is fixed.
    let wrong = AgreementStep::SelectOperator {
        operator_org_id: w.statistics_org.clone(),
        selection_method: "公开招标".into(),
    };
    let error = w.app.act_on_agreement(&planner, &id, wrong).await.unwrap_err();
    assert!(format!("{error:?}").contains("operator_org_id"), "{error:?}");
    let select = AgreementStep::SelectOperator {
        operator_org_id: operator_org.clone(),
        selection_method: "公开招标".into(),
    };
    let offered = w.app.act_on_agreement(&planner, &id, select).await.unwrap();
    assert_eq!(offered.status, AgreementState::Offered);
    let late = w.app.revise_operation(&planner, &id, plan(&resource_id, today, until)).await;
    assert!(matches!(late, Err(AppError::Conflict { .. })), "{late:?}");
    assert!(w.app.query_data(&analyst, &resource_id, &[]).await.is_err(), "no grant before signing");

    let sign = AgreementStep::Sign { content_sha256: offered.content_sha256.clone() };
    assert!(w.app.act_on_agreement(&analyst, &id, sign.clone()).await.is_err(), "an administrator signs");
    let active = w.app.act_on_agreement(&operator, &id, sign).await.unwrap();
    assert_eq!(active.status, AgreementState::Active);

    // The operator's analyst reads only the granted columns, the name hashed.
    let page = w.app.query_data(&analyst, &resource_id, &[]).await.unwrap();
    let first = rows(&page)[0].clone();
    let mut columns: Vec<_> = first.as_object().unwrap().keys().cloned().collect();
    columns.sort();
    assert_eq!(columns, ["区县", "姓名", "补助金额"]);
    let hashed = first["姓名"].as_str().unwrap();
    assert!(hashed != "张三" && hashed.len() >= 16, "{hashed}");
    let listed = w.app.agreements(&operator, AgreementQuery::default()).await.unwrap();
    assert_eq!(listed.total, 1);

    // The term runs out on the clock: reads stop, nothing can be suspended, the destruction is due.
    w.advance_past(until);
    assert!(matches!(w.app.query_data(&analyst, &resource_id, &[]).await, Err(AppError::Forbidden { .. })));
    let detail = w.app.agreement(&operator, &id).await.unwrap();
    assert_eq!(detail.view.status, AgreementState::WindDown);
    assert_eq!(detail.view.destruction_due, Some(until + Duration::days(30)));
    let suspend = w.app.act_on_agreement(&w.reviewer, &id, AgreementStep::Suspend { reason: reason("x") }).await;
    assert!(matches!(suspend, Err(AppError::InvalidTransition(_))), "{suspend:?}");
    let attest = AgreementStep::AttestDestruction { statement: "平台内数据及衍生表已删除".into() };
    let closed = w.app.act_on_agreement(&operator, &id, attest).await.unwrap();
    assert_eq!(closed.status, AgreementState::Closed);
});
