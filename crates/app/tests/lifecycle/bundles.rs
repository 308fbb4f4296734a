//! Issue 5: scenario bundles (“高效办成一件事”): checked as a whole, their
//! grants held until every part is granted, then in force together;
//! withdrawing a bundle revokes what was granted.

use gongshu_app::{AppError, BundlePart, NewBundle, SharingDecision};
use gongshu_domain::{BundleState, GrantAction, OpenAttribute, ShareAttribute, SharingState};
use gongshu_metadata::{SqlStore, both_backends};

use crate::helpers::{World, draft};
use crate::sharing::residents_with;

fn bundle(parts: &[&str]) -> NewBundle {
    NewBundle {
        title: "困难群众救助“一件事”".into(),
        service: "一次申请，同时核对户籍、收入和健康状况".into(),
        purpose: "救助资格联审".into(),
        legal_basis: "《社会救助暂行办法》".into(),
        needed_until: "2026-12-31".into(),
        parts: parts.iter().map(|id| BundlePart { resource_id: (*id).into(), ..BundlePart::default() }).collect(),
        ..NewBundle::default()
    }
}

both_backends!(a_bundle_takes_effect_only_when_every_part_is_granted, |store: SqlStore| async move {
    let w = World::new(store).await;
    let residents = residents_with(
        &w,
        ShareAttribute::Conditional { conditions: "仅用于救助审核".into() },
        OpenAttribute::NotOpen { legal_basis: "涉及个人信息".into() },
    )
    .await;
    let (health_org, health) = w.organization_with("杭州市卫生健康委员会", "department", "cataloguer").await;
    let records = w.register(&health, &health_org, draft("重大疾病救治记录", "病种")).await;

    let one = w.app.submit_bundle(&w.statistics, bundle(&[&residents])).await.unwrap_err();
    assert!(format!("{one:?}").contains("parts"), "{one:?}");
    let twice = w.app.submit_bundle(&w.statistics, bundle(&[&residents, &residents])).await.unwrap_err();
    assert!(format!("{twice:?}").contains("parts[1].resource_id"), "{twice:?}");

    let filed = w.app.submit_bundle(&w.statistics, bundle(&[&residents, &records])).await.unwrap();
    let id = filed.bundle.id.clone();
    assert_eq!(filed.parts.len(), 2);
    assert!(filed.parts.iter().all(|p| p.request.bundle_id.as_deref() == Some(id.as_str())));

    // The bureau checks the bundle as a whole. The unconditionally shared part is granted, but held.
    let pass = || SharingDecision { approve: true, ..SharingDecision::default() };
    assert!(matches!(w.app.check_bundle(&w.civil, &id, pass()).await, Err(AppError::Forbidden { .. })));
    let checked = w.app.check_bundle(&w.reviewer, &id, pass()).await.unwrap();
    let part_for = |view: &gongshu_app::BundleView, resource: &str| {
        view.parts.iter().find(|p| p.request.resource_id == resource).unwrap().request.clone()
    };
    assert_eq!(part_for(&checked, &residents).state, SharingState::ProviderReview);
    assert_eq!(part_for(&checked, &records).state, SharingState::Granted);
    assert_eq!(checked.bundle.state, BundleState::Open);
    let held = part_for(&checked, &records).grant_id.unwrap();
    assert_eq!(w.app.grant(&w.statistics, &held).await.unwrap().0.status, "suspended");
    assert!(matches!(w.app.check_bundle(&w.reviewer, &id, pass()).await, Err(AppError::Conflict { .. })));
    let early = w.app.change_grant(&w.reviewer, &held, GrantAction::Resume, "提前启用").await;
    assert!(matches!(early, Err(AppError::Conflict { .. })), "a held grant waits for the bundle: {early:?}");

    // The last part's approval puts every grant in force at once.
    let part = part_for(&checked, &residents).id;
    w.app.decide_sharing_request(&w.civil, &part, pass()).await.unwrap();
    let (complete, history) = w.app.bundle(&w.statistics, &id).await.unwrap();
    assert_eq!(complete.bundle.state, BundleState::Complete);
    for part in &complete.parts {
        let grant = part.request.grant_id.clone().unwrap();
        assert_eq!(w.app.grant(&w.statistics, &grant).await.unwrap().0.status, "active");
    }
    assert!(w.app.query_data(&w.statistics, &residents, &[]).await.is_ok());
    assert_eq!(history.iter().map(|h| h.action.as_str()).collect::<Vec<_>>(), ["submit", "pass_check", "complete"]);
    // Others see nothing of it.
    let (_, stranger) = w.organization_with("杭州市体育局", "department", "cataloguer").await;
    assert!(matches!(w.app.bundle(&stranger, &id).await, Err(AppError::NotFound { .. })));

    // Withdrawing an unfinished bundle revokes what it was granted.
    let again = w.app.submit_bundle(&w.statistics, bundle(&[&residents, &records])).await.unwrap();
    let again_id = again.bundle.id.clone();
    let checked = w.app.check_bundle(&w.reviewer, &again_id, pass()).await.unwrap();
    let held = part_for(&checked, &records).grant_id.unwrap();
    assert!(w.app.withdraw_bundle(&w.civil, &again_id, "不再需要").await.is_err(), "only the requester withdraws");
    let withdrawn = w.app.withdraw_bundle(&w.statistics, &again_id, "服务方案调整").await.unwrap();
    assert_eq!(withdrawn.bundle.state, BundleState::Withdrawn);
    assert_eq!(part_for(&withdrawn, &residents).state, SharingState::Withdrawn);
    assert_eq!(w.app.grant(&w.statistics, &held).await.unwrap().0.status, "revoked");
});
