//! The behavioural suite of the catalog and registration workflow, run
//! through the use cases against SQLite and PostgreSQL alike.
//! Issue 2: every lifecycle transition, the forbidden ones, and 一数一源;
//! issue 4: the search index following the catalog; issue 5: sharing
//! requests, grants and the gateway (`sharing`).

mod agreements;
mod bundles;
mod duties;
mod helpers;
mod sharing;

use chrono::Duration;
use gongshu_app::{
    AnswerInput, AppError, Clock, DuplicateDecision, FacetKind, FileRegistration, LoadOptions, NewRequest, NewToken,
    ObjectionDecision, RequestQuery, ResourceQuery, SearchRequest, SyncReport,
};
use gongshu_domain::{RegistrationState, ResourceState};
use gongshu_metadata::{SqlStore, both_backends};
use gongshu_policy::Subject;

use helpers::{World, draft};

fn assert_transition_refused<T: std::fmt::Debug>(result: Result<T, AppError>, current: &str) {
    match result {
        Err(AppError::InvalidTransition(refused)) => assert_eq!(refused.current, current),
        other => panic!("expected an invalid transition from {current}, got {other:?}"),
    }
}

fn assert_forbidden<T: std::fmt::Debug>(result: Result<T, AppError>) {
    assert!(
        matches!(result, Err(AppError::Forbidden { .. }) | Err(AppError::Unauthenticated(_))),
        "expected forbidden, got {result:?}"
    );
}

both_backends!(initial_registration_from_draft_to_published, |store: SqlStore| async move {
    let w = World::new(store).await;
    let resource = w.app.create_resource(&w.civil, &w.civil_org, draft("行政区划代码", "区划代码")).await.unwrap();
    assert_eq!(resource.state, ResourceState::Draft);

    let registration = w.app.submit_resource(&w.civil, &resource.id).await.unwrap();
    assert_eq!(registration.state, RegistrationState::Submitted);
    assert!(registration.due_date.is_some());
    let r = w.app.act_on_registration(&w.reviewer, &registration.id, "accept", None).await.unwrap();
    assert_eq!(r.state, RegistrationState::FormalReview);
    let r = w.app.act_on_registration(&w.reviewer, &registration.id, "pass_review", None).await.unwrap();
    assert_eq!(r.state, RegistrationState::Publicity);
    let publicity_end = r.publicity_end.unwrap();
    assert_eq!(w.app.calendar().working_days_between(r.publicity_start.unwrap(), publicity_end), 5);

    // An objection during publicity stops coding until it is decided.
    let objection = w.app.object(&w.statistics, &registration.id, "区划代码与统计用区划代码重复").await.unwrap();
    let view = w.app.registration(&w.reviewer, &registration.id).await.unwrap();
    assert_eq!(view.registration.state, RegistrationState::ObjectionReview);
    w.app
        .decide_objection(&w.reviewer, &objection.id, ObjectionDecision::Dismiss, "用途不同，不构成重复")
        .await
        .unwrap();
    let view = w.app.registration(&w.reviewer, &registration.id).await.unwrap();
    assert_eq!(view.registration.state, RegistrationState::Publicity);

    // Coding waits for the publicity window to close.
    let early = w.app.act_on_registration(&w.reviewer, &registration.id, "assign_code", None).await;
    assert!(matches!(&early, Err(AppError::Conflict { en, .. }) if en.contains("publicity runs until")), "{early:?}");
    w.advance_past(publicity_end);
    let late = w.app.object(&w.statistics, &registration.id, "公示期后的异议").await;
    assert!(matches!(&late, Err(AppError::Conflict { zh, .. }) if zh.contains("公示期已于")), "{late:?}");
    let coded = w.app.act_on_registration(&w.reviewer, &registration.id, "assign_code", None).await.unwrap();
    assert_eq!(coded.state, RegistrationState::Active);
    let code = coded.code.unwrap();
    assert_eq!(code.as_str().len(), 22);
    assert!(code.as_str().starts_with("3301001"), "{code}");

    let view = w.app.resource(&w.civil, &resource.id).await.unwrap();
    assert_eq!(view.resource.state, ResourceState::Registered);
    assert_eq!(view.resource.registration_code.as_ref(), Some(&code));

    // Until published, the public does not see it; then it does.
    assert!(matches!(w.app.resource(&Subject::Anonymous, &resource.id).await, Err(AppError::NotFound { .. })));
    w.app.set_published(&w.reviewer, &resource.id, true, None).await.unwrap();
    assert_eq!(
        w.app.resource(&Subject::Anonymous, &resource.id).await.unwrap().resource.state,
        ResourceState::Published
    );
    let unpublish_without_reason = w.app.set_published(&w.reviewer, &resource.id, false, None).await;
    assert!(matches!(unpublish_without_reason, Err(AppError::Validation(_))));
    let r = w.app.set_published(&w.reviewer, &resource.id, false, Some("数据更新中")).await.unwrap();
    assert_eq!(r.state, ResourceState::Unpublished);
    let r = w.app.set_published(&w.reviewer, &resource.id, true, None).await.unwrap();
    assert_eq!(r.state, ResourceState::Published);

    let history = w.app.resource_history(&w.civil, &resource.id).await.unwrap();
    let steps: Vec<_> = history.iter().map(|h| (h.action.as_str(), h.to_state.as_deref().unwrap_or(""))).collect();
    assert_eq!(
        steps,
        [
            ("create", "draft"),
            ("submit", "pending_review"),
            ("register", "registered"),
            ("publish", "published"),
            ("unpublish", "unpublished"),
            ("publish", "published"),
        ]
    );
    assert!(history.iter().all(|h| h.actor_user_id.is_some()));
    let registration_history = w.app.registration_history(&w.civil, &registration.id).await.unwrap();
    let actions: Vec<_> = registration_history.iter().map(|h| h.action.as_str()).collect();
    assert_eq!(actions, ["submit", "accept", "pass_review", "object", "dismiss_objection", "assign_code"]);
    assert_eq!(registration_history[3].opinion.as_deref(), Some("区划代码与统计用区划代码重复"));
});

both_backends!(return_resubmit_reject_withdraw_and_refuse, |store: SqlStore| async move {
    let w = World::new(store).await;
    // Returned for correction: the draft is editable again and resubmits the same record.
    let resource = w.app.create_resource(&w.civil, &w.civil_org, draft("养老机构名录", "机构名称")).await.unwrap();
    let registration = w.app.submit_resource(&w.civil, &resource.id).await.unwrap();
    assert!(matches!(
        w.app.act_on_registration(&w.reviewer, &registration.id, "return", None).await,
        Err(AppError::Validation(_))
    ));
    w.app.act_on_registration(&w.reviewer, &registration.id, "return", Some("摘要过于简略")).await.unwrap();
    assert_eq!(w.app.resource(&w.civil, &resource.id).await.unwrap().resource.state, ResourceState::Draft);
    let mut fixed = draft("养老机构名录", "机构名称");
    fixed.abstract_zh = "全市已备案养老机构的名称、地址、床位数和等级。".into();
    w.app.update_draft(&w.civil, &resource.id, fixed).await.unwrap();
    let resubmitted = w.app.submit_resource(&w.civil, &resource.id).await.unwrap();
    assert_eq!(resubmitted.id, registration.id);
    assert_eq!(resubmitted.state, RegistrationState::Submitted);

    // Rejected after formal review.
    w.app.act_on_registration(&w.reviewer, &registration.id, "accept", None).await.unwrap();
    w.app.act_on_registration(&w.reviewer, &registration.id, "reject", Some("不属于公共数据资源")).await.unwrap();
    assert_eq!(w.app.resource(&w.civil, &resource.id).await.unwrap().resource.state, ResourceState::Rejected);
    assert_transition_refused(w.app.submit_resource(&w.civil, &resource.id).await, "rejected");

    // Withdrawn before acceptance: back to draft; a new submission is a new record.
    let second = w.app.create_resource(&w.civil, &w.civil_org, draft("婚姻登记机关", "机关名称")).await.unwrap();
    let first_try = w.app.submit_resource(&w.civil, &second.id).await.unwrap();
    w.app.act_on_registration(&w.civil, &first_try.id, "withdraw", None).await.unwrap();
    assert_eq!(w.app.resource(&w.civil, &second.id).await.unwrap().resource.state, ResourceState::Draft);
    let second_try = w.app.submit_resource(&w.civil, &second.id).await.unwrap();
    assert_ne!(second_try.id, first_try.id);

    // Not accepted (不予受理): the application ends, the draft can be fixed and filed anew.
    w.app.act_on_registration(&w.reviewer, &second_try.id, "refuse", Some("材料不全")).await.unwrap();
    assert_eq!(w.app.resource(&w.civil, &second.id).await.unwrap().resource.state, ResourceState::Draft);
    let third_try = w.app.submit_resource(&w.civil, &second.id).await.unwrap();
    assert_ne!(third_try.id, second_try.id);

    // A returned record can be withdrawn too; the entry stays a draft.
    w.app.act_on_registration(&w.reviewer, &third_try.id, "return", Some("请补充数据项说明")).await.unwrap();
    let withdrawn = w.app.act_on_registration(&w.civil, &third_try.id, "withdraw", None).await.unwrap();
    assert_eq!(withdrawn.state, RegistrationState::Withdrawn);
    assert_eq!(w.app.resource(&w.civil, &second.id).await.unwrap().resource.state, ResourceState::Draft);
    // Resubmitting goes through the draft, so it is validated and checked for duplicates again.
    let by_action = w.app.act_on_registration(&w.civil, &third_try.id, "resubmit", None).await;
    assert!(matches!(&by_action, Err(AppError::Validation(v)) if v.0[0].field == "action"), "{by_action:?}");
});

both_backends!(objections_upheld_return_or_reject_the_registration, |store: SqlStore| async move {
    let w = World::new(store).await;
    let mut registrations = Vec::new();
    for name in ["公共厕所分布", "公交站点"] {
        let resource = w.app.create_resource(&w.civil, &w.civil_org, draft(name, "名称")).await.unwrap();
        let registration = w.app.submit_resource(&w.civil, &resource.id).await.unwrap();
        w.app.act_on_registration(&w.reviewer, &registration.id, "accept", None).await.unwrap();
        w.app.act_on_registration(&w.reviewer, &registration.id, "pass_review", None).await.unwrap();
        registrations.push((resource.id, registration.id));
    }
    let (returned_resource, returned) = &registrations[0];
    let first = w.app.object(&w.statistics, returned, "坐标有误").await.unwrap();
    let second = w.app.object(&w.reviewer, returned, "名称不规范").await.unwrap();
    w.app.decide_objection(&w.reviewer, &first.id, ObjectionDecision::UpholdAndReturn, "坐标需复核").await.unwrap();
    let view = w.app.registration(&w.reviewer, returned).await.unwrap();
    assert_eq!(view.registration.state, RegistrationState::Returned);
    assert!(
        view.objections.iter().all(|o| o.state == gongshu_domain::ObjectionState::Upheld),
        "the finding settles both"
    );
    assert_transition_refused(
        w.app.decide_objection(&w.reviewer, &second.id, ObjectionDecision::Dismiss, "again").await,
        "upheld",
    );
    assert_eq!(w.app.resource(&w.civil, returned_resource).await.unwrap().resource.state, ResourceState::Draft);

    let (rejected_resource, rejected) = &registrations[1];
    let objection = w.app.object(&w.statistics, rejected, "与既有资源重复").await.unwrap();
    w.app.decide_objection(&w.reviewer, &objection.id, ObjectionDecision::UpholdAndReject, "确属重复").await.unwrap();
    assert_eq!(
        w.app.registration(&w.reviewer, rejected).await.unwrap().registration.state,
        RegistrationState::Rejected
    );
    assert_eq!(w.app.resource(&w.civil, rejected_resource).await.unwrap().resource.state, ResourceState::Rejected);

    // Who objected is not public.
    let public = w.app.registration_history(&gongshu_policy::Subject::Anonymous, rejected).await;
    assert!(matches!(public, Err(AppError::NotFound { .. })), "a rejected record is not public");
});

both_backends!(invalid_transitions_name_the_current_state, |store: SqlStore| async move {
    let w = World::new(store).await;
    let resource = w.app.create_resource(&w.civil, &w.civil_org, draft("殡葬服务机构", "机构名称")).await.unwrap();
    assert_transition_refused(w.app.set_published(&w.reviewer, &resource.id, true, None).await, "draft");
    let reason = FileRegistration { application: "cancellation".into(), reason: "停止采集".into(), proposed: None };
    assert_transition_refused(w.app.file_registration(&w.civil, &resource.id, reason).await, "draft");
    let registration = w.app.submit_resource(&w.civil, &resource.id).await.unwrap();
    assert_transition_refused(w.app.submit_resource(&w.civil, &resource.id).await, "pending_review");
    assert_transition_refused(
        w.app.update_draft(&w.civil, &resource.id, draft("改名", "机构名称")).await,
        "pending_review",
    );
    assert_transition_refused(
        w.app.act_on_registration(&w.reviewer, &registration.id, "assign_code", None).await,
        "submitted",
    );
    assert_transition_refused(
        w.app.act_on_registration(&w.reviewer, &registration.id, "pass_review", None).await,
        "submitted",
    );
    w.app.act_on_registration(&w.reviewer, &registration.id, "accept", None).await.unwrap();
    assert_transition_refused(
        w.app.act_on_registration(&w.reviewer, &registration.id, "accept", None).await,
        "formal_review",
    );
    assert_transition_refused(
        w.app.act_on_registration(&w.civil, &registration.id, "withdraw", None).await,
        "formal_review",
    );
    let unknown = w.app.act_on_registration(&w.reviewer, &registration.id, "approve", None).await;
    assert!(matches!(&unknown, Err(AppError::Validation(v)) if v.0[0].field == "action"), "{unknown:?}");
});

both_backends!(forbidden_actions_are_refused_and_leave_no_trace, |store: SqlStore| async move {
    let w = World::new(store).await;
    assert_forbidden(w.app.create_resource(&w.statistics, &w.civil_org, draft("冒名资源", "名称")).await);
    assert_forbidden(w.app.create_resource(&w.reviewer, &w.civil_org, draft("代建资源", "名称")).await);
    assert_forbidden(w.app.create_resource(&Subject::Anonymous, &w.civil_org, draft("匿名资源", "名称")).await);
    let resource = w.app.create_resource(&w.civil, &w.civil_org, draft("低保对象", "姓名")).await.unwrap();
    // Another department does not even learn that the draft exists.
    assert!(matches!(
        w.app.update_draft(&w.statistics, &resource.id, draft("x", "y")).await,
        Err(AppError::NotFound { .. })
    ));
    assert!(matches!(w.app.submit_resource(&w.statistics, &resource.id).await, Err(AppError::NotFound { .. })));
    let registration = w.app.submit_resource(&w.civil, &resource.id).await.unwrap();
    assert_forbidden(w.app.act_on_registration(&w.civil, &registration.id, "accept", None).await);
    // Another department does not see a registration that is not yet public.
    let other = w.app.act_on_registration(&w.statistics, &registration.id, "accept", None).await;
    assert!(matches!(other, Err(AppError::NotFound { .. })), "{other:?}");
    w.app.act_on_registration(&w.reviewer, &registration.id, "accept", None).await.unwrap();
    w.app.act_on_registration(&w.reviewer, &registration.id, "pass_review", None).await.unwrap();
    assert_forbidden(w.app.object(&Subject::Anonymous, &registration.id, "匿名异议").await);
    assert_forbidden(w.app.set_published(&w.civil, &resource.id, true, None).await);

    // Bad input writes nothing.
    let before = w.app.resources(&w.reviewer, ResourceQuery::default()).await.unwrap().total;
    let mut invalid = draft("核心数据", "名称");
    invalid.items[0].level = gongshu_domain::SecurityLevel::Core;
    let refused = w.app.create_resource(&w.civil, &w.civil_org, invalid).await;
    assert!(matches!(&refused, Err(AppError::Validation(v)) if v.0[0].field == "open.kind"), "{refused:?}");
    assert_eq!(w.app.resources(&w.reviewer, ResourceQuery::default()).await.unwrap().total, before);
});

both_backends!(one_item_one_source_flags_the_second_provider, |store: SqlStore| async move {
    let w = World::new(store).await;
    let lead = w.register(&w.civil, &w.civil_org, draft("县级行政区划", "行政区划代码")).await;
    let second =
        w.app.create_resource(&w.statistics, &w.statistics_org, draft("统计用区划代码", "行政区划代码")).await.unwrap();
    // The same provider registering the item twice is not a duplicate of another source.
    let own = w.app.create_resource(&w.civil, &w.civil_org, draft("乡级行政区划", "行政区划代码")).await.unwrap();
    w.app.submit_resource(&w.civil, &own.id).await.unwrap();
    assert!(w.app.resource(&w.civil, &own.id).await.unwrap().duplicate_flags.is_empty());

    let registration = w.app.submit_resource(&w.statistics, &second.id).await.unwrap();
    // One flag per other entry that holds the item: the registered one and the pending one.
    let view = w.app.resource(&w.statistics, &second.id).await.unwrap();
    assert_eq!(view.duplicate_flags.len(), 2);
    let flag = view.duplicate_flags.iter().find(|f| f.existing_resource_id == lead).unwrap();
    let other_flag = view.duplicate_flags.iter().find(|f| f.existing_resource_id == own.id).unwrap();
    assert_eq!(flag.resource_id, second.id);
    assert_eq!(flag.item_title, "行政区划代码");
    assert_eq!(w.app.duplicate_flags(&w.reviewer, Some("open")).await.unwrap().len(), 2);
    // The public does not see flags, which name pending entries.
    assert!(matches!(w.app.duplicate_flags(&Subject::Anonymous, None).await, Err(AppError::Unauthenticated(_))));

    // Returned, the entry leaves registration and its flags are withdrawn; resubmitted, they are raised again.
    w.app.act_on_registration(&w.reviewer, &registration.id, "return", Some("请说明与民政数据的关系")).await.unwrap();
    assert!(w.app.duplicate_flags(&w.reviewer, Some("open")).await.unwrap().is_empty());
    assert_eq!(w.app.duplicate_flags(&w.reviewer, Some("withdrawn")).await.unwrap().len(), 2);
    w.app.submit_resource(&w.statistics, &second.id).await.unwrap();
    let reopened = w.app.duplicate_flags(&w.reviewer, Some("open")).await.unwrap();
    assert_eq!(reopened.len(), 2);
    assert!(reopened.iter().any(|f| f.id == flag.id), "the same flag is reopened, with its history");
    // Departments see the flags that involve them; the bureau sees all.
    assert_eq!(w.app.duplicate_flags(&w.statistics, None).await.unwrap().len(), 2);

    w.app.act_on_registration(&w.reviewer, &registration.id, "accept", None).await.unwrap();
    let r = w.app.act_on_registration(&w.reviewer, &registration.id, "pass_review", None).await.unwrap();
    w.advance_past(r.publicity_end.unwrap());
    let blocked = w.app.act_on_registration(&w.reviewer, &registration.id, "assign_code", None).await;
    assert!(matches!(&blocked, Err(AppError::Conflict { zh, .. }) if zh.contains("一数一源")), "{blocked:?}");

    assert_forbidden(w.app.decide_duplicate(&w.statistics, &flag.id, DuplicateDecision::Dismiss, "不是").await);
    let wrong_lead = DuplicateDecision::DesignateLead { lead_org_id: w.bureau_org.clone() };
    assert!(matches!(
        w.app.decide_duplicate(&w.reviewer, &flag.id, wrong_lead, "x").await,
        Err(AppError::Validation(_))
    ));
    let decision = DuplicateDecision::DesignateLead { lead_org_id: w.civil_org.clone() };
    let decided = w
        .app
        .decide_duplicate(&w.reviewer, &flag.id, decision.clone(), "民政部门为区划代码法定采集单位")
        .await
        .unwrap();
    assert_eq!(decided.lead_org_id.as_deref(), Some(w.civil_org.as_str()));
    assert_transition_refused(
        w.app.decide_duplicate(&w.reviewer, &flag.id, decision, "again").await,
        "lead_designated",
    );

    // Designating the lead settles the item's flag against the lead's other entry too.
    let settled = w.app.duplicate_flags(&w.reviewer, Some("lead_designated")).await.unwrap();
    assert_eq!(settled.iter().map(|f| f.id.as_str()).collect::<Vec<_>>().len(), 2, "{settled:?}");
    assert!(settled.iter().any(|f| f.id == other_flag.id));

    let follower = w.app.resource(&w.statistics, &second.id).await.unwrap().resource;
    assert_eq!(follower.draft.items[0].source_resource_id.as_deref(), Some(lead.as_str()));
    assert_eq!(follower.draft.lead_collector_org_id.as_deref(), Some(w.civil_org.as_str()));
    let coded = w.app.act_on_registration(&w.reviewer, &registration.id, "assign_code", None).await.unwrap();
    assert_eq!(coded.state, RegistrationState::Active);

    // A later change keeps the designation even though clients cannot send it.
    let filing = FileRegistration {
        application: "change".into(),
        reason: "补充英文名称".into(),
        proposed: Some(draft("统计用区划代码", "行政区划代码")),
    };
    let change = w.app.file_registration(&w.statistics, &second.id, filing).await.unwrap();
    assert_eq!(change.proposed.unwrap().items[0].source_resource_id.as_deref(), Some(lead.as_str()));
});

both_backends!(change_correction_and_cancellation_registrations, |store: SqlStore| async move {
    let w = World::new(store).await;
    let resource_id = w.register(&w.civil, &w.civil_org, draft("社区居委会名录", "居委会名称")).await;
    let code = w.app.resource(&w.civil, &resource_id).await.unwrap().resource.registration_code.unwrap();
    w.app.set_published(&w.reviewer, &resource_id, true, None).await.unwrap();

    let mut changed = draft("社区居委会名录", "居委会名称");
    changed.open = gongshu_domain::OpenAttribute::Conditional { conditions: "仅限科研用途".into() };
    let filing = FileRegistration {
        application: "change".into(),
        reason: "开放属性调整".into(),
        proposed: Some(changed.clone()),
    };
    let change = w.app.file_registration(&w.civil, &resource_id, filing.clone()).await.unwrap();
    // One registration at a time per entry.
    assert!(matches!(w.app.file_registration(&w.civil, &resource_id, filing).await, Err(AppError::Conflict { .. })));
    // The change is the provider's and the bureau's business until publicity.
    assert!(w.app.resource(&Subject::Anonymous, &resource_id).await.unwrap().pending_registration.is_none());
    assert!(w.app.resource(&w.statistics, &resource_id).await.unwrap().pending_registration.is_none());
    assert_eq!(w.app.resource(&w.civil, &resource_id).await.unwrap().pending_registration.unwrap().id, change.id);
    // The registered content stays until the change is coded.
    assert_eq!(
        w.app.resource(&w.civil, &resource_id).await.unwrap().resource.draft.open,
        gongshu_domain::OpenAttribute::Unconditional
    );
    w.complete(&change.id).await;
    let after = w.app.resource(&w.civil, &resource_id).await.unwrap().resource;
    assert_eq!(after.draft.open, changed.open);
    assert_eq!(after.registration_code.as_ref(), Some(&code));
    let initial = w
        .app
        .registrations(
            &w.reviewer,
            gongshu_app::RegistrationQuery { resource_id: Some(resource_id.clone()), ..Default::default() },
        )
        .await
        .unwrap();
    let states: Vec<_> = initial.items.iter().map(|(r, _)| (r.application.code(), r.state.code())).collect();
    assert_eq!(states, [("change", "active"), ("initial", "superseded")]);

    let correction = FileRegistration {
        application: "correction".into(),
        reason: "英文名称有误".into(),
        proposed: Some(draft("社区居委会名录", "居委会名称")),
    };
    let correction = w.app.file_registration(&w.civil, &resource_id, correction).await.unwrap();
    w.complete(&correction.id).await;

    let missing = FileRegistration { application: "change".into(), reason: "x".into(), proposed: None };
    assert!(matches!(w.app.file_registration(&w.civil, &resource_id, missing).await, Err(AppError::Validation(_))));
    let cancel =
        FileRegistration { application: "cancellation".into(), reason: "数据已停止采集".into(), proposed: None };
    let cancel = w.app.file_registration(&w.civil, &resource_id, cancel).await.unwrap();
    w.complete(&cancel.id).await;
    assert_eq!(w.app.resource(&w.civil, &resource_id).await.unwrap().resource.state, ResourceState::Cancelled);
});

both_backends!(core_data_stays_out_of_the_public_catalog, |store: SqlStore| async move {
    let w = World::new(store).await;
    let mut core = draft("重要基础设施布点", "设施位置");
    core.items[0].level = gongshu_domain::SecurityLevel::Core;
    core.open = gongshu_domain::OpenAttribute::NotOpen { legal_basis: "《数据安全法》第二十一条".into() };
    core.share =
        gongshu_domain::ShareAttribute::NotShared { legal_basis: "《数据安全法》第二十一条".into() };
    let id = w.register(&w.civil, &w.civil_org, core).await;
    let refused = w.app.set_published(&w.reviewer, &id, true, None).await;
    assert!(matches!(&refused, Err(AppError::Conflict { zh, .. }) if zh.contains("核心数据")), "{refused:?}");
    assert_eq!(w.app.resource(&w.reviewer, &id).await.unwrap().resource.state, ResourceState::Registered);
});

both_backends!(tokens_are_shown_once_revocable_and_expire, |store: SqlStore| async move {
    let w = World::new(store).await;
    let user = w.app.user_by_username("mz-editor").await.unwrap();
    let issued = w
        .app
        .login("mz-editor", helpers::PASSWORD, NewToken { name: "laptop".into(), expires_in_days: Some(1) })
        .await
        .unwrap();
    assert!(issued.secret.starts_with("gs_"));
    assert_ne!(issued.token.token_hash, issued.secret);
    assert!(matches!(
        w.app.login("mz-editor", "wrong password!", NewToken { name: "x".into(), expires_in_days: None }).await,
        Err(AppError::Unauthenticated(_))
    ));
    let subject = w.app.authenticate(&issued.secret).await.unwrap();
    assert!(matches!(subject, Subject::User { ref user_id, .. } if *user_id == user.id));
    w.clock.advance(Duration::days(2));
    assert!(matches!(
        w.app.authenticate(&issued.secret).await,
        Err(AppError::Unauthenticated("this API token has expired"))
    ));

    let lasting =
        w.app.issue_token(&w.civil, &user.id, NewToken { name: "ci".into(), expires_in_days: None }).await.unwrap();
    assert_forbidden(w.app.revoke_token(&w.statistics, &lasting.token.id).await);
    w.app.revoke_token(&w.civil, &lasting.token.id).await.unwrap();
    assert!(matches!(
        w.app.authenticate(&lasting.secret).await,
        Err(AppError::Unauthenticated("this API token was revoked"))
    ));
    assert!(matches!(w.app.authenticate("gs_not-a-token").await, Err(AppError::Unauthenticated(_))));
});

both_backends!(data_versions_load_whole_or_not_at_all, |store: SqlStore| async move {
    let w = World::new(store).await;
    let resource = w.app.create_resource(&w.civil, &w.civil_org, draft("社区名录", "社区名称")).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("communities.csv");
    let gbk = encoding_rs::GB18030.encode("社区名称,邮编,户数\n多福巷社区,010010,\"1,234\"\n草厂社区,010020,987\n").0;
    std::fs::write(&file, &gbk).unwrap();
    let no_progress = std::sync::Arc::new(|_| {});
    let options = LoadOptions::default();
    let first = w
        .app
        .load_version(&w.civil, &resource.id, &file, "communities.csv", &options, no_progress.clone())
        .await
        .unwrap();
    let second = w
        .app
        .load_version(&w.civil, &resource.id, &file, "communities.csv", &options, no_progress.clone())
        .await
        .unwrap();
    assert_eq!((first.version, second.version), (1, 2));
    assert_eq!(first.row_count, 2);
    assert_eq!(first.content_hash, second.content_hash, "the same file gives the same content");
    assert!(first.schema_json.contains("\"name\":\"邮编\",\"type\":\"text\""), "{}", first.schema_json);

    // Only the provider loads; another department does not even see the draft.
    let stranger = w.app.load_version(&w.statistics, &resource.id, &file, "x.csv", &options, no_progress.clone()).await;
    assert!(matches!(stranger, Err(AppError::NotFound { .. })), "{stranger:?}");
    let reviewer = w.app.load_version(&w.reviewer, &resource.id, &file, "x.csv", &options, no_progress.clone()).await;
    assert!(matches!(reviewer, Err(AppError::Forbidden { .. })), "{reviewer:?}");

    // A bad file names the line, in both languages, and leaves no version behind.
    let bad = dir.path().join("bad.csv");
    std::fs::write(&bad, "a,b\n1,2\n3,4,5\n").unwrap();
    let refused = w.app.load_version(&w.civil, &resource.id, &bad, "bad.csv", &options, no_progress.clone()).await;
    match refused {
        Err(AppError::Validation(problems)) => {
            assert_eq!(problems.0[0].field, "file");
            assert!(problems.0[0].message_en.contains("line 3"));
            assert!(problems.0[0].message_zh.contains("第 3 行"));
        }
        other => panic!("expected a validation error, got {other:?}"),
    }
    let bad_options = LoadOptions { delimiter: Some("::".into()), ..Default::default() };
    assert!(matches!(
        w.app.load_version(&w.civil, &resource.id, &file, "x.csv", &bad_options, no_progress.clone()).await,
        Err(AppError::Validation(_))
    ));
    let versions = w.app.versions(&w.civil, &resource.id).await.unwrap();
    assert_eq!(versions.iter().map(|v| v.version).collect::<Vec<_>>(), [2, 1]);

    // The stored file is the Parquet ingest wrote, readable by any engine.
    let copy = dir.path().join("v1.parquet");
    w.data().get_to_file(&first.location, &copy).await.unwrap();
    let reader =
        parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(std::fs::File::open(&copy).unwrap())
            .unwrap()
            .build()
            .unwrap();
    let batch = reader.into_iter().next().unwrap().unwrap();
    use arrow_array::cast::AsArray;
    assert_eq!(batch.column(1).as_string::<i32>().value(0), "010010", "codes keep their leading zeros");

    let history = w.app.resource_history(&w.civil, &resource.id).await.unwrap();
    let actions: Vec<&str> = history.iter().map(|h| h.action.as_str()).collect();
    assert_eq!(actions, ["create", "load_version", "load_version"]);
    assert!(history[2].opinion.as_deref().unwrap().starts_with("version 2"));
});

both_backends!(the_search_index_follows_the_catalog, |store: SqlStore| async move {
    let w = World::new(store).await;
    let search = |app: &gongshu_app::App, text: &str| {
        let app = app.clone();
        let request = SearchRequest { text: text.into(), limit: 10, ..SearchRequest::default() };
        async move { app.search_catalog(request).await.unwrap() }
    };
    let id = w.register(&w.civil, &w.civil_org, draft("婚姻登记统计", "登记机关")).await;
    assert_eq!(search(&w.app, "婚姻").await.results.total, 0, "registered is not yet published");
    w.app.set_published(&w.reviewer, &id, true, None).await.unwrap();
    let found = search(&w.app, "婚姻登记").await;
    assert_eq!(found.resources.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(), [id.as_str()]);
    assert_eq!(found.results.facets[&FacetKind::Department][0], (w.civil_org.clone(), 1));
    assert_eq!(found.results.facets[&FacetKind::Open][0].0, "unconditional");

    // A change made by another process reaches this index at its next sync.
    let other = w.other_process();
    other.set_published(&w.reviewer, &id, false, Some("数据核查中")).await.unwrap();
    assert_eq!(search(&w.app, "婚姻").await.results.total, 1, "this index has not heard yet");
    assert_eq!(search(&w.app, "婚姻").await.resources.len(), 0, "but an unpublished entry is never shown");
    let report = w.app.sync_search().await.unwrap();
    assert_eq!((report.removed, report.total), (1, 0));
    assert_eq!(search(&w.app, "婚姻").await.results.total, 0);
    other.set_published(&w.reviewer, &id, true, None).await.unwrap();
    assert_eq!(w.app.sync_search().await.unwrap().indexed, 1);
    assert_eq!(
        w.app.sync_search().await.unwrap(),
        SyncReport { indexed: 0, removed: 0, total: 1 },
        "nothing left to do"
    );

    let rebuilt = w.app.rebuild_search().await.unwrap();
    assert_eq!((rebuilt.indexed, rebuilt.total), (1, 1));
    let bad = w.app.search_catalog(SearchRequest { limit: 0, ..SearchRequest::default() }).await;
    assert!(matches!(bad, Err(AppError::Validation(_))), "{bad:?}");
});

both_backends!(public_requests_are_answered_once_by_their_department, |store: SqlStore| async move {
    let w = World::new(store).await;
    let id = w.register(&w.civil, &w.civil_org, draft("婚姻登记统计", "登记机关")).await;
    w.app.set_published(&w.reviewer, &id, true, None).await.unwrap();

    // Anyone may ask; a report of an error names a published dataset.
    let feedback = NewRequest {
        kind: "feedback".into(),
        resource_id: Some(id.clone()),
        title: "登记机关名称有误".into(),
        body: "部分记录的登记机关仍为撤并前的名称。".into(),
        requester_contact: Some("13800000000".into()),
        ..NewRequest::default()
    };
    let filed = w.app.submit_request(&Subject::Anonymous, feedback.clone()).await.unwrap();
    assert_eq!(filed.request.org_id, w.civil_org, "it goes to the provider");
    assert_eq!(filed.request.requester_contact, None, "the public never sees the contact, not even its own");
    assert_eq!(w.app.calendar().working_days_between(w.app.today(), filed.request.due_date), 10);
    let no_dataset = NewRequest { resource_id: None, ..feedback.clone() };
    assert!(matches!(w.app.submit_request(&Subject::Anonymous, no_dataset).await, Err(AppError::Validation(_))));
    let demand = NewRequest { kind: "demand".into(), resource_id: None, org_id: None, ..feedback.clone() };
    let routed = w.app.submit_request(&Subject::Anonymous, demand).await.unwrap();
    assert_eq!(routed.request.org_id, w.bureau_org, "without a department, the bureau routes it");

    // Only the department (or the bureau's reviewers) answers, once, with an outcome that fits.
    let answer =
        |outcome: &str| AnswerInput {
            outcome: outcome.into(), text: "已按最新区划更正。".into(), planned_date: None
        };
    assert_forbidden(w.app.answer_request(&w.statistics, &filed.request.id, answer("fixed")).await);
    let seen = w.app.request(&w.civil, &filed.request.id).await.unwrap();
    assert_eq!(
        seen.request.requester_contact.as_deref(),
        Some("13800000000"),
        "those who answer may reach the requester"
    );
    assert!(matches!(
        w.app.answer_request(&w.civil, &filed.request.id, answer("opened")).await,
        Err(AppError::Validation(_))
    ));
    w.clock.set(w.clock.now() + Duration::days(3));
    let answered = w.app.answer_request(&w.civil, &filed.request.id, answer("fixed")).await.unwrap();
    assert_eq!(answered.request.state.code(), "answered");
    assert!(answered.response_working_days.unwrap() <= 3);
    assert!(matches!(
        w.app.answer_request(&w.civil, &filed.request.id, answer("fixed")).await,
        Err(AppError::Validation(_))
    ));

    // The public list shows both; "mine" is the department's own work.
    let all = w.app.requests(&Subject::Anonymous, RequestQuery::default()).await.unwrap();
    assert_eq!(all.total, 2);
    let mine = w.app.requests(&w.civil, RequestQuery { mine: true, ..RequestQuery::default() }).await.unwrap();
    assert_eq!(mine.items.iter().map(|v| v.request.id.as_str()).collect::<Vec<_>>(), [filed.request.id.as_str()]);
    let open = w
        .app
        .requests(&Subject::Anonymous, RequestQuery { state: Some("open".into()), ..RequestQuery::default() })
        .await
        .unwrap();
    assert_eq!(open.total, 1);
    // The bureau's request becomes overdue after ten working days.
    w.clock.set(w.clock.now() + Duration::days(20));
    let stats = w.app.request_stats().await.unwrap();
    assert_eq!((stats.total, stats.answered, stats.overdue), (2, 1, 1));
});
