//! Issue 5: the sharing responsibility list (共享责任清单): a duty is flagged
//! until its data is provided, and again whenever an update is late.

use chrono::Duration;
use gongshu_app::{AppError, LoadOptions, NewDuty};
use gongshu_domain::DutyStatus;
use gongshu_metadata::{SqlStore, both_backends};

use crate::helpers::{World, draft};

both_backends!(a_duty_is_flagged_until_provided_and_again_when_an_update_is_late, |store: SqlStore| async move {
    let w = World::new(store).await;
    let today = w.app.today();
    let new = NewDuty {
        org_id: w.civil_org.clone(),
        title: "村（社区）名录".into(),
        description: "村级行政区划代码与名称".into(),
        basis: "共享责任清单（2026年版）".into(),
        update_cycle: "monthly".into(),
        first_due: (today + Duration::days(3)).to_string(),
    };

    // Only the bureau lists duties, for departments, on known cycles.
    assert!(matches!(w.app.create_duty(&w.civil, new.clone()).await, Err(AppError::Forbidden { .. })));
    let bad = NewDuty { org_id: w.bureau_org.clone(), update_cycle: "hourly".into(), ..new.clone() };
    let error = format!("{:?}", w.app.create_duty(&w.reviewer, bad).await.unwrap_err());
    assert!(error.contains("org_id") && error.contains("update_cycle"), "{error}");

    let listed = w.app.create_duty(&w.reviewer, new).await.unwrap();
    let id = listed.duty.id.clone();
    assert_eq!(listed.status, DutyStatus::Pending { due: today + Duration::days(3) });
    assert!(!listed.overdue && !listed.may_link, "the bureau lists; the department links");
    assert!(matches!(w.app.duty(&w.statistics, &id).await, Err(AppError::NotFound { .. })), "other departments");
    assert_eq!(w.app.duties(&w.civil, false).await.unwrap().len(), 1);

    // Not provided by its deadline: late.
    w.advance_past(today + Duration::days(3));
    assert_eq!(w.app.duties(&w.civil, true).await.unwrap().len(), 1);

    // Only the department's own registered entry can be linked; linking alone provides nothing.
    let other = w.register(&w.statistics, &w.statistics_org, draft("统计用区划代码", "代码")).await;
    let error = format!("{:?}", w.app.link_duty(&w.civil, &id, &other).await.unwrap_err());
    assert!(error.contains("resource_id"), "{error}");
    let entry = w.register(&w.civil, &w.civil_org, draft("村（社区）名录", "名称")).await;
    let linked = w.app.link_duty(&w.civil, &id, &entry).await.unwrap();
    assert!(linked.overdue && matches!(linked.status, DutyStatus::Pending { .. }), "{linked:?}");

    // A version provides it; the next is due a cycle later.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("villages.csv");
    std::fs::write(&file, "item\n西湖村\n").unwrap();
    let options = LoadOptions::default();
    w.app.load_version(&w.civil, &entry, &file, "villages.csv", &options, std::sync::Arc::new(|_| {})).await.unwrap();
    let loaded_on = w.app.today();
    let (current, history) = w.app.duty(&w.civil, &id).await.unwrap();
    assert_eq!(current.status, DutyStatus::Current { next_due: Some(loaded_on + Duration::days(31)) });
    assert!(!current.overdue);
    assert_eq!(history.iter().map(|h| h.action.as_str()).collect::<Vec<_>>(), ["list", "link"]);

    // No update within the cycle: late again, on the bureau's list of late duties too.
    w.advance_past(loaded_on + Duration::days(31));
    let late = w.app.duties(&w.reviewer, true).await.unwrap();
    assert_eq!(late.iter().map(|v| v.duty.id.as_str()).collect::<Vec<_>>(), [id.as_str()]);
});
