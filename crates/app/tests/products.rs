//! Operators' products over the real demo: registration stays within the
//! grant, prices stay under the cap and never reach back, deliveries go
//! through the gateway and are metered into statements and the ledger,
//! public-welfare uses are free, revenue above the maximum is flagged and
//! carried over, and the yearly disclosure matches the records.

use chrono::{Datelike, Duration};
use gongshu_app::testing::DemoApp;
use gongshu_app::{AppError, DeliveryAnswer, DeliveryRequest, NewProduct, PriceInput, UsageQuery};
use gongshu_domain::supervision::AlertRule;
use gongshu_domain::{ListingState, ProductResource, RegistrationState, SubscriptionState, UseCategory};
use gongshu_policy::Subject;

fn rows(filter: &[(&str, &str)]) -> DeliveryRequest {
    DeliveryRequest::Rows {
        resource_id: None,
        params: filter.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect(),
    }
}

fn fields(error: AppError) -> Vec<(String, String)> {
    match error {
        AppError::Validation(v) => v.0.into_iter().map(|e| (e.field, e.message_en)).collect(),
        other => panic!("expected a validation error, got {other:?}"),
    }
}

async fn org_of(demo: &DemoApp, username: &str) -> String {
    match demo.app.subject_of(username).await.unwrap() {
        Subject::User { memberships, .. } => memberships[0].org_id.clone(),
        Subject::Anonymous => unreachable!(),
    }
}

#[tokio::test]
async fn the_demo_delivers_meters_and_discloses_what_the_records_hold() {
    delivers_meters_and_discloses(DemoApp::new().await).await;
}

#[tokio::test]
async fn on_postgres_the_demo_delivers_meters_and_discloses_the_same() {
    if let Some(demo) = DemoApp::postgres().await {
        delivers_meters_and_discloses(demo).await;
    }
}

async fn delivers_meters_and_discloses(demo: DemoApp) {
    let app = &demo.app;
    let products = app.products(&Subject::Anonymous, None).await.unwrap();
    assert_eq!(products.len(), 3, "the operator's capability list");
    for view in &products {
        let product = &view.product;
        assert_eq!(product.registration, RegistrationState::Active);
        assert_eq!(product.listing, ListingState::Listed);
        let code = product.code.as_ref().expect("coded").as_str().to_owned();
        assert_eq!(&code[..7], "3301002", "region and kind 2 (产品和服务): {code}");
    }
    let api = products.iter().find(|v| v.product.draft.name == "机场基础信息查询接口").unwrap();
    assert_eq!(api.price_now.as_ref().map(|p| p.amount_fen), Some(30));
    assert_eq!(api.cap_now.as_ref().map(|p| p.amount_fen), Some(50));
    assert_eq!(api.upcoming.len(), 1, "the lower price is in its publicity period");

    // The company's statement: four API calls at 0.30 and one report at
    // 15.00; the public-welfare list is free.
    let company = app.subject_of("qy-admin").await.unwrap();
    let customer = org_of(&demo, "qy-admin").await;
    let period = app.today().format("%Y-%m").to_string();
    let statement = app.statement(&company, &customer, None, &period).await.unwrap();
    let summary: Vec<(String, i64, i64, i64)> = statement
        .lines
        .iter()
        .map(|(line, product)| (product.draft.name.clone(), line.deliveries, line.units, line.fee_fen))
        .collect();
    assert!(summary.contains(&("机场基础信息查询接口".into(), 4, 4, 120)), "{summary:?}");
    assert!(summary.contains(&("航班延误气象风险统计报告".into(), 1, 1, 1500)), "{summary:?}");
    assert!(summary.contains(&("机场出行信息公益查询".into(), 1, 0, 0)), "{summary:?}");
    assert_eq!(statement.total_fen, 1620);

    // The ecology bureau's public-governance use of the charged API is free.
    let ecology = app.subject_of("sthj-editor").await.unwrap();
    let ecology_org = org_of(&demo, "sthj-editor").await;
    let free = app.statement(&ecology, &ecology_org, None, &period).await.unwrap();
    assert_eq!((free.lines.len(), free.total_fen), (1, 0));

    // Another organization may not read the company's statement.
    let refused = app.statement(&ecology, &customer, None, &period).await.unwrap_err();
    assert!(matches!(refused, AppError::Forbidden { .. }), "{refused:?}");

    // The operator's published disclosure matches the records.
    let operator_org = org_of(&demo, "operator-admin").await;
    let year = app.today().year();
    let published = app.disclosures(Some(year)).await.unwrap();
    let report = published.iter().find(|d| d.disclosure.org_id == operator_org).expect("published");
    assert_eq!(report.content.products.len(), 3);
    assert_eq!(report.content.grants.len(), 1);
    let prices: Vec<i64> = report.content.prices.iter().map(|p| p.amount_fen).collect();
    assert_eq!(prices.len(), 2, "the prices in force this year, not the announced one: {prices:?}");
    let revenue = report.content.revenue.as_ref().expect("an operator's revenue");
    assert_eq!((revenue.revenue_fen, revenue.deliveries, revenue.free_deliveries), (1620, 7, 2));
    assert_eq!(revenue.allowed_fen, Some(50_000_000));
    assert_eq!(
        report.disclosure.content_sha256,
        gongshu_ledger::sha256_hex(report.disclosure.content.as_bytes()),
        "the hash is of the exact bytes served"
    );
    let status = app.disclosure_status(year).await.unwrap();
    let states: Vec<(&str, &str)> = status.iter().map(|d| (d.role.code(), d.status.code())).collect();
    assert!(report.interim, "published before the year ended");
    assert!(states.contains(&("operator", "due")) && states.contains(&("implementing_body", "due")), "{states:?}");
    let csv = gongshu_app::disclosure_csv(&report.content);
    assert!(csv.starts_with('\u{feff}') && csv.contains("revenue,,revenue_yuan,16.20"), "{csv}");

    // Each delivery's charge is in the ledger.
    app.integrate_ledger().await.unwrap();
    let size = app.ledger_head().await.unwrap().size;
    let entries = app.ledger_entries(0, size).await.unwrap();
    let charged: i64 = entries
        .iter()
        .filter_map(|e| match gongshu_ledger::Entry::parse(e.body.as_bytes()).unwrap() {
            gongshu_ledger::Entry::Delivery(d) => Some(d.fee_fen),
            _ => None,
        })
        .sum();
    assert_eq!(charged, 1620);
}

#[tokio::test]
async fn prices_stay_under_the_cap_and_never_reach_back() {
    let demo = DemoApp::new().await;
    let app = &demo.app;
    let operator = app.subject_of("operator-admin").await.unwrap();
    let implementing = app.subject_of("ss-editor").await.unwrap();
    let products = app.products(&Subject::Anonymous, None).await.unwrap();
    let id = |name: &str| products.iter().find(|v| v.product.draft.name == name).unwrap().product.id.clone();
    let (api, welfare) = (id("机场基础信息查询接口"), id("机场出行信息公益查询"));
    let today = app.today();
    let price = |amount: &str, days: i64| PriceInput {
        unit: "per_call".into(),
        amount: amount.into(),
        effective_from: (today + Duration::days(days)).to_string(),
        trial_until: None,
        basis: "公示".into(),
    };
    let above = fields(app.set_price(&operator, &api, price("0.60", 30)).await.unwrap_err());
    assert_eq!(above[0].0, "amount");
    assert!(above[0].1.contains("0.60") && above[0].1.contains("exceeds the cap of 0.50"), "{above:?}");
    let early = fields(app.set_price(&operator, &api, price("0.40", 1)).await.unwrap_err());
    assert_eq!(early[0].0, "effective_from", "a price waits for its publicity");
    let free = fields(app.set_price(&operator, &welfare, price("0.10", 30)).await.unwrap_err());
    assert!(free[0].1.contains("free of charge"), "{free:?}");
    let wrong_unit = PriceInput { unit: "per_day".into(), ..price("0.40", 30) };
    assert_eq!(fields(app.set_price(&operator, &api, wrong_unit).await.unwrap_err())[0].0, "unit");
    // Only the implementing body sets caps; a change of cap is publicised
    // like a price, and never reaches back.
    let lowered = today + Duration::days(11);
    let cap = PriceInput { trial_until: Some((today + Duration::days(200)).to_string()), ..price("0.20", 11) };
    assert!(matches!(app.set_price_cap(&operator, &api, cap.clone()).await, Err(AppError::Forbidden { .. })));
    let soon = PriceInput { effective_from: today.to_string(), ..cap.clone() };
    assert_eq!(fields(app.set_price_cap(&implementing, &api, soon).await.unwrap_err())[0].0, "effective_from");
    let copies = PriceInput { unit: "per_copy".into(), ..cap.clone() };
    assert_eq!(fields(app.set_price_cap(&implementing, &api, copies).await.unwrap_err())[0].0, "unit");
    app.set_price_cap(&implementing, &api, cap).await.unwrap();
    let view = app.product(&Subject::Anonymous, &api).await.unwrap();
    assert_eq!(view.charge_now.map(|(_, fen)| fen), Some(30), "today is still charged at the price");

    // From the cap's day, deliveries are held to it (the 0.25 price in
    // publicity is above it), and the month already charged stays as it was.
    let customer = org_of(&demo, "qy-admin").await;
    let company = app.subject_of("qy-admin").await.unwrap();
    let period = today.format("%Y-%m").to_string();
    let before = app.statement(&company, &customer, None, &period).await.unwrap().total_fen;
    demo.clock.set(lowered.and_hms_opt(2, 0, 0).unwrap().and_utc());
    let subscription =
        app.subscriptions(&company).await.unwrap().into_iter().find(|s| s.product.id == api).unwrap().subscription;
    let receipt = app.deliver_product(&company, &subscription.id, rows(&[("city", "Chicago")])).await.unwrap();
    assert_eq!((receipt.delivery.unit_price_fen, receipt.delivery.fee_fen, receipt.delivery.day), (20, 20, lowered));
    let DeliveryAnswer::Rows(page) = &receipt.answer else { panic!("rows") };
    let names: Vec<&str> = page.page.schema.fields().iter().map(|f| f.name().as_str()).collect();
    assert_eq!(names, ["iata", "name", "city", "state", "country"], "only the product's output fields");
    assert!(page.page.total > 0);
    assert_eq!(app.statement(&company, &customer, None, &period).await.unwrap().total_fen, before);
    let next = lowered.format("%Y-%m").to_string();
    if next != period {
        assert_eq!(app.statement(&company, &customer, None, &next).await.unwrap().total_fen, 20);
    }
    // The same customer cannot subscribe twice.
    let again = app.subscribe(&company, &api, None, "industry", "再次订购").await.unwrap_err();
    assert!(matches!(again, AppError::Conflict { .. }), "{again:?}");
}

#[tokio::test]
async fn a_product_stays_inside_its_grant_and_stops_with_its_listing() {
    let demo = DemoApp::new().await;
    let app = &demo.app;
    let operator = app.subject_of("operator-admin").await.unwrap();
    let products = app.products(&Subject::Anonymous, None).await.unwrap();
    let api = products.iter().find(|v| v.product.draft.name == "机场基础信息查询接口").unwrap();
    let smoking = app
        .resources(&Subject::Anonymous, Default::default())
        .await
        .unwrap()
        .items
        .into_iter()
        .find(|r| r.draft.name_zh.contains("吸烟"))
        .unwrap()
        .id;
    let beyond = NewProduct {
        agreement_id: api.product.agreement_id.clone(),
        name: "吸烟与肺癌查询".into(),
        form: "api".into(),
        use_category: "industry".into(),
        scenario: "出行规划".into(),
        description: "越权".into(),
        resources: vec![ProductResource { resource_id: smoking, columns: vec!["city".into()] }],
        usage_conditions: "无".into(),
        compliance: "无".into(),
        ..NewProduct::default()
    };
    let refused = fields(app.register_product(&operator, beyond.clone()).await.unwrap_err());
    assert!(refused.iter().any(|(field, _)| field == "resources[0].resource_id"), "{refused:?}");
    let scenario =
        NewProduct { scenario: "保险定价".into(), resources: api.product.draft.spec.resources.clone(), ..beyond };
    let refused = fields(app.register_product(&operator, scenario).await.unwrap_err());
    assert!(refused.iter().any(|(field, _)| field == "scenario"), "{refused:?}");

    // A customer cannot claim a free use of a charged product without the operator.
    let civil = app.subject_of("mz-editor").await.unwrap();
    let claimed = app.subscribe(&civil, &api.product.id, None, "public_welfare", "公益").await.unwrap();
    assert_eq!(claimed.subscription.state, SubscriptionState::Pending);
    let pending = app.deliver_product(&civil, &claimed.subscription.id, rows(&[])).await.unwrap_err();
    assert!(matches!(pending, AppError::Forbidden { .. }), "{pending:?}");

    let company = app.subject_of("qy-admin").await.unwrap();
    // Suspended: deliveries stop, and the refusal is recorded.
    app.change_listing(&operator, &api.product.id, "suspend", "接口升级").await.unwrap();
    let subscription = app
        .subscriptions(&company)
        .await
        .unwrap()
        .into_iter()
        .find(|s| s.product.id == api.product.id && s.subscription.use_category == UseCategory::Industry)
        .unwrap()
        .subscription;
    let stopped = app.deliver_product(&company, &subscription.id, rows(&[])).await.unwrap_err();
    assert!(matches!(stopped, AppError::Forbidden { .. }), "{stopped:?}");
    let query = UsageQuery { grant_id: Some(api.product.grant_id.clone()), allowed: Some(false), ..Default::default() };
    let events = app.usage_events(&operator, query).await.unwrap().items;
    assert!(events.iter().any(|e| !e.allowed && e.reason.as_deref() == Some("product_suspended")), "{events:?}");

    // A suspension the bureau imposed only the bureau lifts.
    let bureau = app.subject_of("sjj-reviewer").await.unwrap();
    let report = products.iter().find(|v| v.product.draft.name == "航班延误气象风险统计报告").unwrap();
    let halted = app.change_listing(&bureau, &report.product.id, "suspend", "核查交付内容").await.unwrap();
    assert_eq!(halted.listing, ListingState::Halted);
    let refused = app.change_listing(&operator, &report.product.id, "resume", "已整改").await.unwrap_err();
    assert!(matches!(refused, AppError::Forbidden { .. }), "{refused:?}");
    let resumed = app.change_listing(&bureau, &report.product.id, "resume", "核查完毕").await.unwrap();
    assert_eq!(resumed.listing, ListingState::Listed);
    // The operator's own pause is the operator's to end.
    app.change_listing(&operator, &report.product.id, "suspend", "升级").await.unwrap();
    let forced = app.change_listing(&bureau, &report.product.id, "resume", "恢复").await.unwrap_err();
    assert!(matches!(forced, AppError::Forbidden { .. }), "{forced:?}");
}

#[tokio::test]
async fn revenue_above_the_maximum_is_flagged_and_carried_into_next_year() {
    let demo = DemoApp::new().await;
    let app = &demo.app;
    let bureau = app.subject_of("sjj-admin").await.unwrap();
    let operator_org = org_of(&demo, "operator-admin").await;
    let year = app.today().year();
    app.set_revenue_ceiling(&bureau, &operator_org, year, "10", "示例").await.unwrap();
    let raised = app.scan_usage().await.unwrap();
    let alert = raised.iter().find(|a| a.rule == AlertRule::RevenueOverCeiling).expect("flagged");
    assert!(alert.summary_zh.contains("6.20"), "{}", alert.summary_zh);
    assert!(app.scan_usage().await.unwrap().iter().all(|a| a.rule != AlertRule::RevenueOverCeiling), "raised once");
    let next = app.set_revenue_ceiling(&bureau, &operator_org, year + 1, "500000", "示例").await.unwrap();
    assert_eq!((next.deduction_fen, next.allowed_fen()), (620, 50_000_000 - 620));
    // Fees taken after next year's maximum was set still carry into it.
    let company = app.subject_of("qy-admin").await.unwrap();
    let api = app.subscriptions(&company).await.unwrap();
    let api = api.iter().find(|s| s.product.draft.name == "机场基础信息查询接口").unwrap();
    app.deliver_product(&company, &api.subscription.id, rows(&[("city", "Boston")])).await.unwrap();
    let carried = app.revenue(&bureau, &operator_org, year + 1).await.unwrap().ceiling.unwrap();
    assert_eq!(carried.deduction_fen, 650);
    let closed = app.set_revenue_ceiling(&bureau, &operator_org, year - 1, "1", "x").await.unwrap_err();
    assert_eq!(fields(closed)[0].0, "year", "a closed year's maximum stays as it was");
    let operator = app.subject_of("operator-admin").await.unwrap();
    assert!(matches!(
        app.set_revenue_ceiling(&operator, &operator_org, year, "1", "x").await,
        Err(AppError::Forbidden { .. })
    ));
}

#[tokio::test]
async fn a_disclosure_missing_after_march_raises_one_alert() {
    let demo = DemoApp::new().await;
    let app = &demo.app;
    let year = app.today().year();
    assert!(app.scan_usage().await.unwrap().iter().all(|a| a.rule != AlertRule::DisclosureOverdue), "not due yet");
    // In January the operator publishes its report on the whole year.
    let operator = app.subject_of("operator-admin").await.unwrap();
    let operator_org = org_of(&demo, "operator-admin").await;
    demo.clock.set(chrono::NaiveDate::from_ymd_opt(year + 1, 1, 5).unwrap().and_hms_opt(2, 0, 0).unwrap().and_utc());
    let report = app.publish_disclosure(&operator, &operator_org, year).await.unwrap();
    assert!(!report.interim && report.disclosure.supersedes.is_some(), "the full year corrects the interim report");
    demo.clock.set(chrono::NaiveDate::from_ymd_opt(year + 1, 4, 1).unwrap().and_hms_opt(2, 0, 0).unwrap().and_utc());
    let raised = app.scan_usage().await.unwrap();
    let overdue: Vec<_> = raised.iter().filter(|a| a.rule == AlertRule::DisclosureOverdue).collect();
    assert_eq!(overdue.len(), 1, "the implementing body's; the operator published: {overdue:?}");
    assert!(overdue[0].summary_zh.contains("杭州市大数据发展中心"), "{}", overdue[0].summary_zh);
    assert!(app.scan_usage().await.unwrap().iter().all(|a| a.rule != AlertRule::DisclosureOverdue), "raised once");
    // Publishing late settles it.
    let planner = app.subject_of("ss-editor").await.unwrap();
    let implementing = org_of(&demo, "ss-editor").await;
    assert!(matches!(app.publish_disclosure(&planner, &implementing, year).await, Err(AppError::Forbidden { .. })));
    let status = app.disclosure_status(year).await.unwrap();
    assert!(status.iter().any(|d| d.status.code() == "overdue"));
}
