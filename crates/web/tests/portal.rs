//! The portal's pages over the demo catalog, rendered in-process: what a
//! citizen sees in Chinese and in English, the search facets and pages,
//! the dataset preview with its filters and chart, and what stays hidden.
//! Issue 4.

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use gongshu_app::testing::DemoApp;
use gongshu_app::{App, SearchRequest};
use http_body_util::BodyExt;
use tower::ServiceExt;

struct Portal {
    router: Router,
    /// (id, placeholder) pairs that make pages comparable between runs.
    ids: Vec<(String, String)>,
    app: App,
    _demo: DemoApp,
}

struct Page {
    status: StatusCode,
    headers: axum::http::HeaderMap,
    body: String,
}

impl Portal {
    async fn new() -> Portal {
        let demo = DemoApp::new().await;
        let app = demo.app.clone();
        let mut ids = Vec::new();
        let all = app.search_catalog(SearchRequest { limit: 100, ..SearchRequest::default() }).await.unwrap();
        for resource in &all.resources {
            ids.push((resource.id.clone(), format!("[{}]", resource.draft.name_zh)));
        }
        for org in app.organizations().await.unwrap() {
            ids.push((org.id.clone(), format!("[{}]", org.name_zh)));
        }
        Portal { router: gongshu_web::router(app.clone()), ids, app, _demo: demo }
    }

    async fn get_with(&self, path: &str, headers: &[(&str, &str)]) -> Page {
        let mut request = Request::builder().uri(path).header("host", "portal.example");
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let response = self.router.clone().oneshot(request.body(Body::empty()).unwrap()).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        let mut body = String::from_utf8(bytes.to_vec()).unwrap();
        for (id, placeholder) in &self.ids {
            body = body.replace(id, placeholder);
        }
        Page { status, headers, body }
    }

    async fn get(&self, path: &str) -> Page {
        self.get_with(path, &[]).await
    }

    fn id(&self, name_zh: &str) -> &str {
        &self.ids.iter().find(|(_, p)| p == &format!("[{name_zh}]")).unwrap().0
    }
}

fn text(html: &str) -> String {
    let mut out = String::new();
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' => {
                in_tag = false;
                out.push(' ');
            }
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

const WEATHER: &str = "逐日天气观测（西雅图，国际比对样例）";

#[tokio::test]
async fn the_home_page_in_chinese_and_english() {
    let portal = Portal::new().await;
    let home = portal.get("/").await;
    assert_eq!(home.status, StatusCode::OK);
    assert!(home.body.starts_with("<!doctype html>\n<html lang=\"zh-CN\">"));
    insta::assert_snapshot!("home_zh", home.body);

    let english = portal.get_with("/", &[("accept-language", "en-US,en;q=0.9")]).await;
    assert!(english.body.contains("<html lang=\"en\">"));
    assert!(text(&english.body).contains("Newly published"));
    assert!(english.headers.get("set-cookie").is_none(), "Accept-Language is followed, not remembered");

    let chosen = portal.get_with("/?lang=en", &[("accept-language", "zh-CN")]).await;
    assert!(chosen.body.contains("<html lang=\"en\">"));
    let cookie = chosen.headers.get("set-cookie").unwrap().to_str().unwrap();
    assert!(cookie.starts_with("lang=en;") && cookie.contains("Path=/"), "{cookie}");
    let remembered = portal.get_with("/datasets", &[("cookie", "lang=en"), ("accept-language", "zh-CN")]).await;
    assert!(remembered.body.contains("<html lang=\"en\">"));
    assert!(remembered.body.contains("href=\"/datasets?lang=zh\""), "the switch leads back to Chinese");
}

#[tokio::test]
async fn search_results_facets_and_filters() {
    let portal = Portal::new().await;
    let page = portal.get("/datasets?q=%E8%A1%8C%E6%94%BF%E5%8C%BA%E5%88%92").await; // 行政区划
    assert_eq!(page.status, StatusCode::OK);
    insta::assert_snapshot!("search_zh", page.body);
    let shown = text(&page.body);
    assert!(shown.contains("共找到 3 个数据资源"), "{shown}");
    assert!(page.body.contains("<b>行政区划</b>"), "matched words are highlighted");

    // Facet links add a filter, and the chosen one can be removed again.
    let open = portal.get("/datasets?open=conditional").await;
    let shown = text(&open.body);
    assert!(shown.contains("共找到 1 个数据资源") && shown.contains("吸烟"), "{shown}");
    assert!(open.body.contains("开放属性: 有条件开放 ✕"));
    assert!(open.body.contains("href=\"/datasets\" title=\"移除筛选\""), "removing the only filter lists everything");

    let none = portal.get("/datasets?q=%E7%81%AB%E6%98%9F%E5%9F%BA%E5%9C%B0").await; // 火星基地
    assert!(text(&none.body).contains("没有找到符合条件的数据"));
    let any = portal.get("/datasets?q=%E5%A4%A9%E6%B0%94+%E8%A1%8C%E6%94%BF").await; // 天气 行政
    assert!(text(&any.body).contains("以下结果至少包含其中之一"), "no dataset has both words");

    let bad_page = portal.get("/datasets?page=abc&sort=nonsense").await;
    assert_eq!(bad_page.status, StatusCode::OK, "a mangled link still shows the first page");
}

#[tokio::test]
async fn a_dataset_page_previews_filters_pages_and_charts_its_data() {
    let portal = Portal::new().await;
    let weather = portal.id(WEATHER).to_owned();
    let page = portal.get(&format!("/datasets/{weather}")).await;
    assert_eq!(page.status, StatusCode::OK);
    insta::assert_snapshot!("dataset_zh", page.body);
    let shown = text(&page.body);
    assert!(shown.contains("显示第 1 至 20 行，共 1461 行"), "{shown}");
    assert!(page.body.contains("<svg") && page.body.contains("记录数，按 weather"), "a bar chart over the category");
    assert!(page.body.contains(r#"<option value="date">date</option>"#), "another column may be chosen");
    let by_date = portal.get(&format!("/datasets/{weather}?chart=date")).await;
    assert!(by_date.body.contains("记录数，按 date") && by_date.body.contains(r#"<option value="date" selected>"#));
    let unknown = portal.get(&format!("/datasets/{weather}?chart=no_such_column")).await;
    assert!(unknown.body.contains("记录数，按 weather"), "an unknown column falls back to the first");
    let script = portal.get("/static/site.js").await;
    assert_eq!(script.headers["content-type"], "text/javascript; charset=utf-8");
    assert!(page.body.contains(&format!("/api/v1/resources/[{WEATHER}]/download?format=xlsx")));

    let filtered = portal.get(&format!("/datasets/{weather}?f.weather=snow&page=2")).await;
    let shown = text(&filtered.body);
    assert!(shown.contains("显示第 21 至 23 行，共 23 行"), "{shown}");
    assert!(filtered.body.contains("value=\"snow\""), "the filter form keeps what was typed");

    let bad = portal.get(&format!("/datasets/{weather}?f.precipitation=lots")).await;
    assert_eq!(bad.status, StatusCode::OK);
    assert!(bad.body.contains("role=\"alert\""), "a filter value of the wrong type is explained");
}

#[tokio::test]
async fn what_is_not_open_is_not_shown() {
    let portal = Portal::new().await;
    let smoking = portal.ids.iter().find(|(_, p)| p.contains("吸烟")).unwrap().0.clone();
    let page = portal.get(&format!("/datasets/{smoking}")).await;
    assert_eq!(page.status, StatusCode::OK);
    let shown = text(&page.body);
    assert!(shown.contains("该数据不在无条件开放范围内"), "{shown}");
    assert!(!page.body.contains("id=\"downloads\""), "no download links");
    assert!(!page.body.contains("<table class=\"data\""), "no rows");

    // Entries that are not published do not exist for the public.
    let drafts = portal
        .app
        .resources(
            &gongshu_policy::Subject::User { user_id: "x".into(), system_admin: true, memberships: vec![] },
            gongshu_app::ResourceQuery { states: vec!["draft".into()], ..Default::default() },
        )
        .await
        .unwrap();
    let draft = &drafts.items[0].id;
    let hidden = portal.get(&format!("/datasets/{draft}")).await;
    assert_eq!(hidden.status, StatusCode::NOT_FOUND);
    assert!(text(&hidden.body).contains("页面不存在"));
    let unknown = portal.get("/no/such/page").await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn organizations_whats_new_and_the_atom_feed() {
    let portal = Portal::new().await;
    let orgs = portal.get("/organizations").await;
    assert!(text(&orgs.body).contains("杭州市民政局 3"), "{}", text(&orgs.body));
    let civil = portal.id("杭州市民政局").to_owned();
    let org = portal.get(&format!("/organizations/{civil}")).await;
    assert!(text(&org.body).contains("该部门开放的数据资源 (3)"));
    let new = portal.get("/whats-new").await;
    assert_eq!(new.status, StatusCode::OK);
    let feed = portal.get("/feed.atom").await;
    assert_eq!(feed.headers["content-type"], "application/atom+xml; charset=utf-8");
    insta::assert_snapshot!("feed", feed.body);
    assert_eq!(feed.body.matches("<entry>").count(), 10);
}

#[tokio::test]
async fn a_harvested_dataset_says_where_it_came_from() {
    let portal = Portal::new().await;
    let air = portal.id("宁波市环境空气质量日报").to_owned();
    let page = portal.get(&format!("/datasets/{air}")).await;
    assert_eq!(page.status, StatusCode::OK);
    let shown = text(&page.body);
    assert!(shown.contains("本条目采集自 宁波市公共数据开放平台（示例） · 来源发布方：宁波市生态环境局"), "{shown}");
    assert!(page.body.contains(r#"<a href="https://data.ningbo.example/dataset/air-quality-daily.html" rel="external noopener">在来源平台查看</a>"#));
    assert!(page.body.contains("https://data.ningbo.example/files/air-quality-daily.csv"));
    assert!(shown.contains("数据保存在来源平台"));
    assert!(
        !page.body.contains("id=\"downloads\"") && !page.body.contains("id=\"api\""),
        "no downloads of data that is not here"
    );

    let sources = portal.get("/harvest?lang=en").await;
    let shown = text(&sources.body);
    assert!(shown.contains("Ningbo Open Data (example)"), "{shown}");
    assert!(shown.contains("5 listed: 5 new, 0 updated, 0 unchanged, 0 withdrawn"), "{shown}");

    // An error reported on it goes to the data bureau: nobody here speaks for the source.
    let report = gongshu_app::NewRequest {
        kind: "feedback".into(),
        resource_id: Some(air.clone()),
        title: "监测站点缺少经纬度".into(),
        body: "部分站点没有坐标。".into(),
        ..Default::default()
    };
    let filed = portal.app.submit_request(&gongshu_policy::Subject::Anonymous, report).await.unwrap();
    assert_eq!(filed.request.org_id, portal.id("杭州市数据资源管理局"));

    // CKAN's dataset address, which harvesters link to, leads to the page.
    let moved = portal.get(&format!("/dataset/{air}")).await;
    assert_eq!(moved.status, StatusCode::PERMANENT_REDIRECT);
    assert_eq!(moved.headers["location"], format!("/datasets/{air}").as_str());
}

impl Portal {
    async fn post_form(
        &self,
        path: &str,
        form: &[(&str, &str)],
        cookie: Option<&str>,
    ) -> (StatusCode, axum::http::HeaderMap, String) {
        let body = url::form_urlencoded::Serializer::new(String::new()).extend_pairs(form).finish();
        let mut request = Request::builder()
            .method("POST")
            .uri(path)
            .header("host", "portal.example")
            .header("content-type", "application/x-www-form-urlencoded");
        if let Some(cookie) = cookie {
            request = request.header("cookie", cookie);
        }
        let response = self.router.clone().oneshot(request.body(Body::from(body)).unwrap()).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        (status, headers, String::from_utf8(bytes.to_vec()).unwrap())
    }
}

#[tokio::test]
async fn a_citizen_asks_and_a_department_answers_in_its_console() {
    let portal = Portal::new().await;
    let list = portal.get("/requests").await;
    assert_eq!(list.status, StatusCode::OK);
    let shown = text(&list.body);
    assert!(shown.contains("收到诉求 5") && shown.contains("超期未答复 1"), "{shown}");
    assert!(!list.body.contains("demo-requester@example.com"), "contacts are never public");

    // A form with a mistake comes back with the mistake named and the text kept.
    let transport = portal.id("杭州市交通运输局").to_owned();
    let (status, _, body) = portal
        .post_form(
            "/requests",
            &[("kind", "demand"), ("org_id", &transport), ("title", ""), ("body", "希望开放出租车轨迹")],
            None,
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(alert(&body), "请修改以下内容： 标题：为必填项，不能为空", "the problem names the form's label");
    assert!(body.contains("希望开放出租车轨迹"), "what was typed is kept");
    let (status, headers, _) = portal
        .post_form(
            "/requests",
            &[
                ("kind", "demand"),
                ("org_id", &transport),
                ("title", "出租车轨迹"),
                ("body", "希望开放脱敏后的出租车轨迹"),
                ("requester_contact", "me@example.com"),
            ],
            None,
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let location = headers["location"].to_str().unwrap().to_owned();
    let filed = portal.get(&location).await;
    assert!(text(&filed.body).contains("已收到您的诉求"));
    assert!(!filed.body.contains("me@example.com"));

    // The department signs in, sees it, and answers it.
    let (status, _, _) =
        portal.post_form("/console/sign-in", &[("username", "jt-editor"), ("password", "wrong")], None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, headers, _) = portal
        .post_form(
            "/console/sign-in",
            &[("username", "jt-editor"), ("password", gongshu_app::demo::DEMO_PASSWORD)],
            None,
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let set_cookie = headers["set-cookie"].to_str().unwrap();
    assert!(set_cookie.contains("HttpOnly") && set_cookie.contains("SameSite=Lax"), "{set_cookie}");
    let cookie = set_cookie.split(';').next().unwrap().to_owned();
    let console = portal.get_with("/console", &[("cookie", &cookie)]).await;
    assert!(text(&console.body).contains("出租车轨迹"), "{}", text(&console.body));
    assert!(text(&console.body).contains("办理中的登记"), "{}", text(&console.body));
    let id = location.trim_start_matches("/requests/").split('?').next().unwrap().to_owned();
    let form = portal.get_with(&format!("/console/requests/{id}"), &[("cookie", &cookie)]).await;
    assert!(form.body.contains("me@example.com"), "those who answer see the contact");
    let (status, _, body) = portal
        .post_form(&format!("/console/requests/{id}"), &[("outcome", "planned"), ("answer", "明年开放")], Some(&cookie))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "a planned answer needs its date");
    assert!(alert(&body).contains("计划日期："), "{}", alert(&body));
    let (status, _, _) = portal
        .post_form(
            &format!("/console/requests/{id}"),
            &[("outcome", "planned"), ("answer", "明年开放"), ("planned_date", "2027-06-30")],
            Some(&cookie),
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let answered = text(&portal.get(&location).await.body);
    assert!(answered.contains("答复：已列入计划") && answered.contains("2027-06-30"), "{answered}");

    // The bureau's reviewers see every registration under way, with deadlines.
    let (_, headers, _) = portal
        .post_form(
            "/console/sign-in",
            &[("username", "sjj-reviewer"), ("password", gongshu_app::demo::DEMO_PASSWORD)],
            None,
        )
        .await;
    let reviewer = headers["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_owned();
    let bureau = text(&portal.get_with("/console", &[("cookie", &reviewer)]).await.body);
    assert!(bureau.contains("公示中") && bureau.contains("已超期"), "{bureau}");

    // Another department may not answer; a cross-site post is refused.
    let (_, headers, _) = portal
        .post_form(
            "/console/sign-in",
            &[("username", "qx-editor"), ("password", gongshu_app::demo::DEMO_PASSWORD)],
            None,
        )
        .await;
    let other = headers["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_owned();
    let smoking_request = portal
        .app
        .requests(
            &gongshu_policy::Subject::Anonymous,
            gongshu_app::RequestQuery { state: Some("open".into()), ..Default::default() },
        )
        .await
        .unwrap()
        .items
        .into_iter()
        .find(|v| v.request.title.contains("港澳台"))
        .unwrap()
        .request
        .id;
    let (status, _, _) = portal
        .post_form(
            &format!("/console/requests/{smoking_request}"),
            &[("outcome", "fixed"), ("answer", "x")],
            Some(&other),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let request = Request::builder()
        .method("POST")
        .uri("/console/sign-out")
        .header("host", "portal.example")
        .header("origin", "https://evil.example")
        .body(Body::empty())
        .unwrap();
    assert_eq!(portal.router.clone().oneshot(request).await.unwrap().status(), StatusCode::FORBIDDEN);

    // Signing out ends the session: the token behind the cookie is revoked.
    let (status, headers, _) = portal.post_form("/console/sign-out", &[], Some(&cookie)).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(headers["set-cookie"].to_str().unwrap().contains("Max-Age=0"));
    let after = portal.get_with("/console", &[("cookie", &cookie)]).await;
    assert_eq!(after.status, StatusCode::SEE_OTHER, "the old cookie no longer signs in");
}

/// The text of a page's alert box.
fn alert(html: &str) -> String {
    let start = html.find("role=\"alert\"").expect("the page shows an alert");
    let open = start + html[start..].find('>').expect("the tag closes") + 1;
    let end = open + html[open..].find("</div>").expect("the alert closes");
    text(&html[open..end])
}

/// The grant pages a console links to, in order.
fn grant_links(html: &str) -> Vec<String> {
    html.split("/console/grants/").skip(1).map(|rest| rest.split('"').next().unwrap().to_owned()).collect()
}

impl Portal {
    async fn sign_in(&self, username: &str) -> String {
        let (status, headers, _) = self
            .post_form(
                "/console/sign-in",
                &[("username", username), ("password", gongshu_app::demo::DEMO_PASSWORD)],
                None,
            )
            .await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        headers["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_owned()
    }
}

#[tokio::test]
async fn a_department_requests_data_and_the_provider_grants_it_in_the_console() {
    let portal = Portal::new().await;
    let smoking = portal.id("吸烟与肺癌病例对照研究汇总数据").to_owned();

    // The dataset page leads a department to the request form.
    let page = portal.get(&format!("/datasets/{smoking}")).await;
    assert!(page.body.contains("/console/sharing/new?resource=[吸烟与肺癌病例对照研究汇总数据]"), "{}", page.body);

    // The statistics bureau's console holds its grant; its page previews the shaped rows and runs the sandbox.
    let statistics = portal.sign_in("tj-editor").await;
    let console = portal.get_with("/console", &[("cookie", &statistics)]).await;
    let shown = text(&console.body);
    assert!(shown.contains("共享申请") && shown.contains("已授权") && shown.contains("生效中"), "{shown}");
    let grant_id = grant_links(&console.body)[0].clone();
    let grant = portal.get_with(&format!("/console/grants/{grant_id}"), &[("cookie", &statistics)]).await;
    assert_eq!(grant.status, StatusCode::OK, "{}", grant.body);
    let shown = text(&grant.body);
    assert!(shown.contains("Shanghai") && !shown.contains("Nanchang"), "the row filter holds back one city: {shown}");
    assert!(shown.contains("仅统计沙箱"), "{shown}");
    let sql = format!("SELECT COUNT(*) AS cities FROM \"{smoking}\"");
    let (status, _, body) = portal
        .post_form(&format!("/console/grants/{grant_id}"), &[("action", "sandbox"), ("sql", &sql)], Some(&statistics))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(text(&body).contains("cities 7"), "{}", text(&body));
    let (_, _, body) = portal
        .post_form(
            &format!("/console/grants/{grant_id}"),
            &[("action", "sandbox"), ("sql", &format!("SELECT \"Location\" FROM \"{smoking}\""))],
            Some(&statistics),
        )
        .await;
    assert!(text(&body).contains("仅统计沙箱只输出统计结果"), "{}", text(&body));

    // The transport bureau files a request through the form; a missing purpose is named.
    let transport = portal.sign_in("jt-editor").await;
    let form = portal.get_with(&format!("/console/sharing/new?resource={smoking}"), &[("cookie", &transport)]).await;
    assert!(form.body.contains("name=\"columns\" value=\"Location\""), "{}", form.body);
    let mut fields = vec![
        ("resource_id", smoking.as_str()),
        ("columns", "Location"),
        ("columns", "smoking_yes_cancer_yes"),
        ("modes", "query"),
        ("legal_basis", "《杭州市公共场所控制吸烟条例》"),
        ("scenario", "交通场所控烟评估"),
        ("needed_until", "2027-06-30"),
    ];
    let (status, _, body) = portal.post_form("/console/sharing", &fields, Some(&transport)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(text(&body).contains("purpose"), "{}", text(&body));
    fields.push(("purpose", "评估公共交通场所控烟效果"));
    let (status, headers, _) = portal.post_form("/console/sharing", &fields, Some(&transport)).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let request_page = headers["location"].to_str().unwrap().to_owned();

    // The bureau passes the check; the provider grants it with a mask.
    let reviewer = portal.sign_in("sjj-reviewer").await;
    let (status, _, _) =
        portal.post_form(&request_page, &[("action", "pass_check"), ("opinion", "")], Some(&reviewer)).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let health = portal.sign_in("wj-editor").await;
    let decide = portal.get_with(&request_page, &[("cookie", &health)]).await;
    assert!(decide.body.contains("name=\"mask.Location\""), "{}", decide.body);
    let (status, _, body) = portal
        .post_form(
            &request_page,
            &[
                ("action", "approve"),
                ("mask.Location", "keep_first(1)"),
                ("min_group_size", "3"),
                ("valid_until", "2027-01-31"),
            ],
            Some(&health),
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    let granted = text(&portal.get_with(&request_page, &[("cookie", &transport)]).await.body);
    assert!(granted.contains("已授权") && granted.contains("同意共享"), "{granted}");

    // The requester's grant page shows the masked rows only.
    let console = portal.get_with("/console", &[("cookie", &transport)]).await;
    let new_grant = grant_links(&console.body).pop().unwrap();
    let shown = text(&portal.get_with(&format!("/console/grants/{new_grant}"), &[("cookie", &transport)]).await.body);
    assert!(shown.contains("S******* 908") && !shown.contains("Shanghai"), "{shown}");
}

/// The value of the first `name="<name>" value="…"` input on a page.
fn input_value(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker).unwrap_or_else(|| panic!("no input {name}")) + marker.len();
    html[start..].split('"').next().unwrap().to_owned()
}

#[tokio::test]
async fn an_enterprise_applies_signs_and_reports_and_an_operator_works_under_its_agreement_in_the_console() {
    let portal = Portal::new().await;
    let smoking = portal.id("吸烟与肺癌病例对照研究汇总数据").to_owned();

    // A conditionally open dataset leads an enterprise to the application form.
    let page = portal.get(&format!("/datasets/{smoking}")).await;
    assert!(page.body.contains("/console/open-applications/new?resource=[吸烟与肺癌病例对照研究汇总数据]"));
    let company = portal.sign_in("qy-admin").await;
    let form =
        portal.get_with(&format!("/console/open-applications/new?resource={smoking}"), &[("cookie", &company)]).await;
    assert!(text(&form.body).contains("仅限科研和公共卫生研究用途"), "the open conditions are shown");
    let mut fields = vec![
        ("resource_id", smoking.as_str()),
        ("columns", "Location"),
        ("columns", "smoking_no_cancer_yes"),
        ("modes", "aggregate"),
        ("purpose", "评估非吸烟人群肺癌负担"),
        ("scenario", "肺癌早筛"),
        ("needed_until", "2027-06-30"),
    ];
    let (status, _, body) = portal.post_form("/console/open-applications", &fields, Some(&company)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(text(&body).contains("application"), "{}", text(&body));
    fields.push(("application", "明鉴肺癌风险评估系统 V3"));
    let (status, headers, _) = portal.post_form("/console/open-applications", &fields, Some(&company)).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let agreement = headers["location"].to_str().unwrap().to_owned();

    // The provider approves it with a mask and a destruction deadline.
    let health = portal.sign_in("wj-editor").await;
    let review = portal.get_with(&agreement, &[("cookie", &health)]).await;
    assert!(review.body.contains("name=\"mask.Location\""), "{}", review.body);
    let form = [
        ("action", "approve"),
        ("shown.columns", "1"),
        ("include", "Location"),
        ("include", "smoking_no_cancer_yes"),
        ("mask.Location", "keep_first(1)"),
        ("min_group_size", "3"),
        ("destruction_days", "20"),
    ];
    let (status, _, body) = portal.post_form(&agreement, &form, Some(&health)).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");

    // The applicant reads the full text and its digest, and signs it.
    let offered = portal.get_with(&agreement, &[("cookie", &company)]).await;
    let shown = text(&offered.body);
    assert!(shown.contains("待签署协议") && shown.contains("keep_first(1)") && shown.contains("20"), "{shown}");
    let digest = input_value(&offered.body, "content_sha256");
    assert!(shown.contains(&digest), "the digest signed is the one shown");
    let (status, _, body) =
        portal.post_form(&agreement, &[("action", "sign"), ("content_sha256", &digest)], Some(&company)).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    let signed = portal.get_with(&agreement, &[("cookie", &company)]).await;
    let shown = text(&signed.body);
    assert!(shown.contains("履行中") && shown.contains("提交报告"), "{shown}");
    let grant = grant_links(&signed.body)[0].clone();
    let grant_page = text(&portal.get_with(&format!("/console/grants/{grant}"), &[("cookie", &company)]).await.body);
    assert!(grant_page.contains("有条件开放") && grant_page.contains("仅统计沙箱"), "{grant_page}");
    assert!(!grant_page.contains("暂停、恢复或撤销"), "managed through its agreement");

    // A usage report.
    let report = [
        ("action", "report"),
        ("period_start", "2026-01-01"),
        ("period_end", "2026-01-31"),
        ("summary", "按城市汇总非吸烟人群肺癌病例"),
        ("outputs", "内部评估报告"),
        ("incidents", "无"),
    ];
    let (status, _, body) = portal.post_form(&agreement, &report, Some(&company)).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    let shown = text(&portal.get_with(&agreement, &[("cookie", &health)]).await.body);
    assert!(shown.contains("按城市汇总非吸烟人群肺癌病例"), "the provider sees the report: {shown}");

    // The operator's console lists its operation agreement; the bureau sees the plan awaiting it.
    let operator = portal.sign_in("operator-admin").await;
    let console = text(&portal.get_with("/console", &[("cookie", &operator)]).await.body);
    assert!(console.contains("杭州市交通出行与气象数据授权运营") && console.contains("履行中"), "{console}");
    let bureau = portal.sign_in("sjj-admin").await;
    let console = portal.get_with("/console", &[("cookie", &bureau)]).await;
    let shown = text(&console.body);
    assert!(shown.contains("普惠金融场景县级行政区划数据授权运营") && shown.contains("方案审批中"), "{shown}");
}

#[tokio::test]
async fn the_bureau_lists_duties_and_a_department_links_its_entry_in_the_console() {
    let portal = Portal::new().await;

    // The bureau sees every duty, the late ones flagged, and the form to list another.
    let reviewer = portal.sign_in("sjj-reviewer").await;
    let console = portal.get_with("/console", &[("cookie", &reviewer)]).await;
    let shown = text(&console.body);
    assert!(shown.contains("共享责任清单 (4)") && shown.contains("市场主体登记基本信息"), "{shown}");
    assert!(console.body.contains("id=\"duty-form\""), "{}", console.body);
    let (status, _, body) = portal
        .post_form(
            "/console/duties",
            &[
                ("org_id", portal.id("杭州市气象局")),
                ("title", ""),
                ("update_cycle", "daily"),
                ("first_due", "2027-01-01"),
            ],
            Some(&reviewer),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(text(&body).contains("title") && text(&body).contains("basis"), "{}", text(&body));

    // The transport bureau links its airports entry to its duty.
    let transport = portal.sign_in("jt-editor").await;
    let console = portal.get_with("/console", &[("cookie", &transport)]).await;
    let shown = text(&console.body);
    assert!(shown.contains("机场及交通枢纽名录") && shown.contains("未提供"), "{shown}");
    let duty = console.body.split("/console/duties/").nth(1).unwrap().split('"').next().unwrap().to_owned();
    let option = console.body.split("<option value=\"").find(|chunk| chunk.contains("\">机场名录")).unwrap();
    let airports = option.split('"').next().unwrap().to_owned();
    let (status, _, body) =
        portal.post_form(&format!("/console/duties/{duty}"), &[("resource_id", &airports)], Some(&transport)).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    let shown = text(&portal.get_with("/console", &[("cookie", &transport)]).await.body);
    assert!(shown.contains("已提供") && shown.contains("最近更新"), "{shown}");
}

#[tokio::test]
async fn a_department_files_a_scenario_bundle_and_the_bureau_checks_it_as_a_whole() {
    let portal = Portal::new().await;
    let transport = portal.sign_in("jt-editor").await;
    let form = portal.get_with("/console/bundles/new", &[("cookie", &transport)]).await;
    assert_eq!(form.status, StatusCode::OK, "{}", form.body);
    let weather = portal.id(WEATHER).to_owned();
    let smoking = portal.id("吸烟与肺癌病例对照研究汇总数据").to_owned();
    let mut fields = vec![
        ("service", "恶劣天气时为航班旅客和呼吸道疾病患者提供出行提示"),
        ("resources", weather.as_str()),
        ("resources", smoking.as_str()),
        ("purpose", "出行健康提示"),
        ("legal_basis", "《杭州市公共数据条例》（示例）"),
        ("needed_until", "2027-06-30"),
    ];
    let (status, _, body) = portal.post_form("/console/bundles", &fields, Some(&transport)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(text(&body).contains("title"), "{}", text(&body));
    fields.push(("title", "恶劣天气出行提示“一件事”"));
    let (status, headers, body) = portal.post_form("/console/bundles", &fields, Some(&transport)).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    let page = headers["location"].to_str().unwrap().to_owned();

    let reviewer = portal.sign_in("sjj-reviewer").await;
    let shown = portal.get_with(&page, &[("cookie", &reviewer)]).await;
    assert!(text(&shown.body).contains("整体通过符合性审核"), "{}", text(&shown.body));
    let (status, _, _) = portal.post_form(&page, &[("action", "pass_check"), ("opinion", "")], Some(&reviewer)).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let shown = text(&portal.get_with(&page, &[("cookie", &transport)]).await.body);
    assert!(shown.contains("已授权 1/2") && shown.contains("待提供方审核"), "{shown}");
}

#[tokio::test]
async fn anyone_checks_a_ledger_entry_and_sees_who_used_a_dataset() {
    let portal = Portal::new().await;
    let page = portal.get("/ledger").await;
    assert_eq!(page.status, StatusCode::OK);
    let shown = text(&page.body);
    assert!(
        shown.contains("可验证账本") && shown.contains("gongshu ledger verify --url http://portal.example --key"),
        "{shown}"
    );
    assert!(page.body.contains("\u{2014} gongshu.localhost/ledger "), "the signed note is shown");

    let checked = portal.get("/ledger?entry=3").await;
    let shown = text(&checked.body);
    assert!(shown.contains("已验证：该条目包含在最新检查点所承诺的账本中"), "{shown}");
    assert!(checked.body.contains("id=\"inclusion-check\"") && checked.body.contains("data-hashes=\""));
    let missing = text(&portal.get("/ledger?entry=999999").await.body);
    assert!(missing.contains("没有这个序号的已签发条目"), "{missing}");
    let english = text(&portal.get("/ledger?entry=3&lang=en").await.body);
    assert!(english.contains("Verified: this entry is in the ledger"), "{english}");

    // The smoking counts' tracker shows the enterprise's use, linked to the ledger,
    // and holds back the transport bureau's exempted grant.
    let dataset = portal.get(&format!("/datasets/{}", portal.id("吸烟与肺癌病例对照研究汇总数据"))).await;
    let shown = text(&dataset.body);
    assert!(shown.contains("数据使用追踪") && shown.contains("杭州明鉴健康科技有限公司"), "{shown}");
    assert!(shown.contains("依法暂缓公示的授权数： 1"), "{shown}");
    assert!(dataset.body.contains("href=\"/ledger?entry="), "rows link to their entries");
}

#[tokio::test]
async fn the_bureau_supervises_freezes_and_releases_in_the_console() {
    let portal = Portal::new().await;
    assert_eq!(portal.get("/console/supervision").await.status, StatusCode::SEE_OTHER);
    let department = portal.sign_in("jt-editor").await;
    assert_eq!(portal.get_with("/console/supervision", &[("cookie", &department)]).await.status, StatusCode::FORBIDDEN);

    let reviewer = portal.sign_in("sjj-reviewer").await;
    let console = portal.get_with("/console", &[("cookie", &reviewer)]).await;
    assert!(console.body.contains("href=\"/console/supervision\""));
    let page = portal.get_with("/console/supervision", &[("cookie", &reviewer)]).await;
    assert_eq!(page.status, StatusCode::OK);
    let shown = text(&page.body);
    assert!(shown.contains("近 30 天访问量") && shown.contains("被拒绝的访问"), "{shown}");
    assert!(shown.contains("核查确认系测试脚本误操作"), "the demo's released freeze and its decision: {shown}");

    // A freeze without a reason is refused with the reason named; with one, it stops reads.
    let analyst = portal.app.subject_of("operator-analyst").await.unwrap();
    let airports = portal.app.grants(&analyst, None).await.unwrap()[0].grant.resources[0].resource_id.clone();
    let airports = airports.as_str();
    let (status, _, body) = portal
        .post_form(
            "/console/supervision",
            &[("action", "freeze"), ("target", "resource"), ("target_id", airports), ("reason", " ")],
            Some(&reviewer),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(text(&body).contains("reason"), "{}", text(&body));
    let (status, _, _) = portal
        .post_form(
            "/console/supervision",
            &[
                ("action", "freeze"),
                ("target", "resource"),
                ("target_id", airports),
                ("reason", "疑似含个人信息，紧急核查"),
            ],
            Some(&reviewer),
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(portal.app.query_data(&analyst, airports, &[]).await.is_err(), "a frozen resource is not read");
    let shown = text(&portal.get_with("/console/supervision", &[("cookie", &reviewer)]).await.body);
    assert!(shown.contains("疑似含个人信息，紧急核查") && shown.contains("解除决定"), "{shown}");
}

#[tokio::test]
async fn the_public_reads_product_lists_prices_and_disclosures_and_a_customer_its_statement() {
    let portal = Portal::new().await;
    let page = portal.get("/products").await;
    assert_eq!(page.status, StatusCode::OK);
    let shown = text(&page.body);
    assert!(shown.contains("产品和服务能力清单") && shown.contains("杭州数据运营有限公司"), "{shown}");
    assert!(shown.contains("机场基础信息查询接口") && shown.contains("0.30 元/按服务次数（每次）"), "{shown}");
    assert!(shown.contains("收费公示：具体收费标准 0.25 元"), "the announced price: {shown}");
    assert!(shown.contains("机场出行信息公益查询") && shown.contains("免费"), "{shown}");
    let english = text(&portal.get("/products?lang=en").await.body);
    assert!(english.contains("Products and services of operators") && english.contains("public welfare"), "{english}");

    let api = portal.app.products(&gongshu_policy::Subject::Anonymous, None).await.unwrap();
    let api = api.iter().find(|v| v.product.draft.name == "机场基础信息查询接口").unwrap();
    let sheet = text(&portal.get(&format!("/products/{}", api.product.id)).await.body);
    assert!(
        sheet.contains("上限收费标准") && sheet.contains("试行") && sheet.contains("公示收费标准：具体收费标准"),
        "{sheet}"
    );
    assert!(sheet.contains("iata、name、city、state、country"), "the output fields: {sheet}");

    assert_eq!(portal.get("/disclosures?year=1999").await.status, StatusCode::OK, "out of range shows the last year");
    let list = portal.get("/disclosures?year=2026").await;
    let shown = text(&list.body);
    assert!(
        shown.contains("待披露") && !shown.contains("已披露"),
        "an interim report does not fulfil the duty: {shown}"
    );
    assert!(shown.contains("年度中期"), "{shown}");
    let report = portal.app.disclosures(Some(2026)).await.unwrap().remove(0);
    let page = portal.get(&format!("/disclosures/{}", report.disclosure.id)).await;
    let shown = text(&page.body);
    assert!(shown.contains("2026 年度授权运营信息披露报告") && shown.contains("16.20 元"), "{shown}");
    assert!(shown.contains("本报告为年度中期报告"), "{shown}");
    assert!(shown.contains(&report.disclosure.content_sha256) && page.body.contains("/ledger?entry="), "{shown}");
    assert!(page.body.contains("<article class=\"report\">"), "the report is the printed part");
    let css = portal.get("/static/site.css").await.body;
    assert!(css.contains("@media print") && css.contains("article.report"), "print-ready");

    assert_eq!(portal.get("/console/statements").await.status, StatusCode::SEE_OTHER);
    let company = portal.sign_in("qy-admin").await;
    let statements = text(&portal.get_with("/console/statements?period=2026-11", &[("cookie", &company)]).await.body);
    assert!(statements.contains("合计 16.20 元") && statements.contains("机场出行信息公益查询"), "{statements}");
}

#[tokio::test]
async fn each_party_acts_on_a_product_from_its_page_in_the_console() {
    let portal = Portal::new().await;
    let products = portal.app.products(&gongshu_policy::Subject::Anonymous, None).await.unwrap();
    let id = |name: &str| products.iter().find(|v| v.product.draft.name == name).unwrap().product.id.clone();
    let (api, report, welfare) =
        (id("机场基础信息查询接口"), id("航班延误气象风险统计报告"), id("机场出行信息公益查询"));
    let path = |id: &str| format!("/console/products/{id}");
    assert_eq!(portal.get(&path(&api)).await.status, StatusCode::SEE_OTHER);
    assert!(portal.get(&format!("/products/{api}")).await.body.contains(&path(&api)), "the public page links to it");

    let implementing = portal.sign_in("ss-editor").await;
    let page = text(&portal.get_with(&path(&api), &[("cookie", &implementing)]).await.body);
    assert!(page.contains("制定上限收费标准") && !page.contains("公示收费标准 单位"), "{page}");

    // A price above the cap comes back with the reason, in Chinese.
    let operator = portal.sign_in("operator-admin").await;
    let form = [
        ("action", "price"),
        ("unit", "per_call"),
        ("amount", "0.80"),
        ("effective_from", "2027-01-10"),
        ("basis", "公示"),
    ];
    let (status, _, body) = portal.post_form(&path(&api), &form, Some(&operator)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(text(&body).contains("超过实施机构制定的上限收费标准"), "{}", text(&body));

    // The civil affairs bureau subscribes to the free list.
    let civil = portal.sign_in("mz-editor").await;
    let form = [("action", "subscribe"), ("use_category", "public_welfare"), ("purpose", "社区出行服务指引")];
    let (status, _, _) = portal.post_form(&path(&welfare), &form, Some(&civil)).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let civil_subject = portal.app.subject_of("mz-editor").await.unwrap();
    assert_eq!(portal.app.subscriptions(&civil_subject).await.unwrap().len(), 1);

    // The bureau suspends the report; the operator is not offered to resume it.
    let bureau = portal.sign_in("sjj-reviewer").await;
    let form = [("action", "listing"), ("step", "suspend"), ("reason", "核查交付内容")];
    let (status, _, _) = portal.post_form(&path(&report), &form, Some(&bureau)).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let page = portal.get_with(&path(&report), &[("cookie", &operator)]).await.body;
    assert!(text(&page).contains("监管暂停") && !page.contains("value=\"resume\""), "{}", text(&page));
}
