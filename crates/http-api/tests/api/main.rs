//! The JSON API, in-process: status codes, the error body, authorization,
//! and snapshots of what clients see. Issue 2.

mod helpers;

use axum::http::{Method, StatusCode};
use chrono::Duration;
use insta::assert_json_snapshot;
use serde_json::json;

use helpers::{TestApp, new_resource};

#[tokio::test]
async fn health_and_openapi() {
    let t = TestApp::with_demo().await;
    let health = t.get("/healthz", None).await;
    assert_eq!((health.status, health.body.clone()), (StatusCode::OK, json!({"status": "ok"})));
    let openapi = t.get("/api/v1/openapi.json", None).await;
    assert_eq!(openapi.status, StatusCode::OK);
    assert_eq!(openapi.body["openapi"].as_str().unwrap().chars().next(), Some('3'));
    let mut paths: Vec<String> = openapi.body["paths"]
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(path, item)| {
            item.as_object().unwrap().keys().map(move |method| format!("{} {path}", method.to_uppercase()))
        })
        .collect();
    paths.sort();
    assert_json_snapshot!("openapi_paths", paths);
}

#[tokio::test]
async fn the_public_sees_the_published_demo_catalog() {
    let t = TestApp::with_demo().await;
    let list = t.get("/api/v1/resources?limit=100", None).await;
    assert_eq!(list.status, StatusCode::OK);
    let names: Vec<&str> =
        list.body["items"].as_array().unwrap().iter().map(|r| r["name_zh"].as_str().unwrap()).collect();
    assert_eq!(list.body["total"], 10, "five of its own, five harvested: {names:?}");
    assert!(list.body["items"].as_array().unwrap().iter().all(|r| r["state"] == "published"));
    let first = &list.body["items"].as_array().unwrap().iter().find(|r| r["name_zh"] == "省级行政区划代码").unwrap();
    assert_json_snapshot!("published_resource", first, {
        ".id" => "[id]", ".provider_org_id" => "[id]", ".lead_collector_org_id" => "[id]",
        ".registration_code" => "[code]", ".created_at" => "[time]", ".updated_at" => "[time]", ".published_at" => "[time]",
    });
    // Search finds Chinese text.
    let found = t.get("/api/v1/resources?q=%E5%A4%A9%E6%B0%94", None).await;
    assert_eq!(found.body["total"], 1);
    // The admin sees every entry, in every state.
    let all = t.get("/api/v1/resources?limit=100", Some(&t.admin_token)).await;
    assert_eq!(all.body["total"], 18);
    let mut states: Vec<&str> =
        all.body["items"].as_array().unwrap().iter().map(|r| r["state"].as_str().unwrap()).collect();
    states.sort();
    states.dedup();
    assert_eq!(states, ["cancelled", "draft", "pending_review", "published", "registered", "rejected", "unpublished"]);
    // Publicity is public, and so is what is in it.
    let publicity = t.get("/api/v1/registrations?state=publicity,objection_review", None).await;
    assert_eq!(publicity.body["total"], 2, "{}", publicity.body);
    let private = t.get("/api/v1/registrations?state=submitted", None).await;
    assert_eq!(private.body["total"], 0);
}

#[tokio::test]
async fn bad_input_names_the_field_in_both_languages() {
    let t = TestApp::with_demo().await;
    let editor = t.login("mz-editor").await;
    let civil = t.org_id("杭州市民政局").await;

    let mut unknown = new_resource(&civil);
    unknown["colour"] = json!("red");
    let response = t.post("/api/v1/resources", Some(&editor), unknown).await;
    assert_eq!(response.status, StatusCode::BAD_REQUEST);
    assert_json_snapshot!("unknown_field", response.body);

    let mut invalid = new_resource(&civil);
    invalid["name_zh"] = json!("  ");
    invalid["items"][1]["level"] = json!("high");
    invalid["spatial_coverage"] = json!("3301");
    invalid["open"] = json!({"kind": "conditional"});
    let response = t.post("/api/v1/resources", Some(&editor), invalid).await;
    assert_eq!(response.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_json_snapshot!("invalid_fields", response.body);

    let mut wrong_type = new_resource(&civil);
    wrong_type["items"][0]["name"] = json!(42);
    let response = t.post("/api/v1/resources", Some(&editor), wrong_type).await;
    assert_eq!(response.status, StatusCode::BAD_REQUEST);
    assert_eq!(response.body["error"]["details"][0]["field"], "items[0].name");
    assert_eq!(response.body["error"]["details"][0]["message_zh"], "类型错误：应为字符串，收到整数 `42`");

    let not_json = t.request(Method::POST, "/api/v1/resources", Some(&editor), None).await;
    assert_eq!(not_json.status, StatusCode::BAD_REQUEST);
    let bad_query = t.get("/api/v1/resources?limit=many", None).await;
    assert_eq!(
        (bad_query.status, bad_query.body["error"]["details"][0]["field"].clone()),
        (StatusCode::BAD_REQUEST, json!("limit"))
    );
    let out_of_range = t.get("/api/v1/resources?limit=1000", None).await;
    assert_eq!(out_of_range.status, StatusCode::UNPROCESSABLE_ENTITY);

    // Nothing was written by any of these.
    let mine = t.get(&format!("/api/v1/resources?provider={civil}&q=%E5%85%BB%E8%80%81"), Some(&editor)).await;
    assert_eq!(mine.body["total"], 0);
}

#[tokio::test]
async fn registration_over_http_from_draft_to_published() {
    let t = TestApp::with_demo().await;
    let editor = t.login("mz-editor").await;
    let reviewer = t.login("sjj-reviewer").await;
    let civil = t.org_id("杭州市民政局").await;

    let created = t.post("/api/v1/resources", Some(&editor), new_resource(&civil)).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let id = created.body["id"].as_str().unwrap().to_owned();
    assert_eq!(created.body["state"], "draft");

    // Publishing a draft is refused with its current state.
    let refused = t.post(&format!("/api/v1/resources/{id}/publish"), Some(&reviewer), json!({})).await;
    assert_eq!(refused.status, StatusCode::CONFLICT);
    assert_json_snapshot!("invalid_transition", refused.body);

    let submitted = t.post(&format!("/api/v1/resources/{id}/submit"), Some(&editor), json!({})).await;
    assert_eq!(submitted.status, StatusCode::CREATED);
    let registration = submitted.body["id"].as_str().unwrap().to_owned();
    // Departments cannot review.
    let forbidden =
        t.post(&format!("/api/v1/registrations/{registration}/actions/accept"), Some(&editor), json!({})).await;
    assert_eq!(
        (forbidden.status, forbidden.body["error"]["code"].clone()),
        (StatusCode::FORBIDDEN, json!("forbidden"))
    );
    for action in ["accept", "pass_review"] {
        let response = t
            .request(
                Method::POST,
                &format!("/api/v1/registrations/{registration}/actions/{action}"),
                Some(&reviewer),
                None,
            )
            .await;
        assert_eq!(response.status, StatusCode::OK, "{action}: {}", response.body);
    }
    let missing_opinion =
        t.post(&format!("/api/v1/registrations/{registration}/actions/return"), Some(&reviewer), json!({})).await;
    assert_eq!(missing_opinion.status, StatusCode::UNPROCESSABLE_ENTITY);
    let early =
        t.post(&format!("/api/v1/registrations/{registration}/actions/assign_code"), Some(&reviewer), json!({})).await;
    assert_eq!(early.status, StatusCode::CONFLICT);
    assert!(early.body["error"]["message_zh"].as_str().unwrap().contains("公示期"), "{}", early.body);

    t.clock.advance(Duration::days(10));
    let coded =
        t.post(&format!("/api/v1/registrations/{registration}/actions/assign_code"), Some(&reviewer), json!({})).await;
    assert_eq!(coded.status, StatusCode::OK, "{}", coded.body);
    assert_eq!(coded.body["code"].as_str().unwrap().len(), 22);
    let published = t.post(&format!("/api/v1/resources/{id}/publish"), Some(&reviewer), json!({})).await;
    assert_eq!(published.body["state"], "published");

    let public = t.get(&format!("/api/v1/resources/{id}"), None).await;
    assert_eq!(public.status, StatusCode::OK);
    let history = t.get(&format!("/api/v1/resources/{id}/history"), None).await;
    let actions: Vec<&str> = history.body.as_array().unwrap().iter().map(|h| h["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["create", "submit", "register", "publish"]);

    // Registered content changes only through a change registration.
    let edit = t
        .request(
            Method::PUT,
            &format!("/api/v1/resources/{id}"),
            Some(&editor),
            Some(new_resource(&civil)["items"].clone()),
        )
        .await;
    assert_eq!(edit.status, StatusCode::BAD_REQUEST);
    let mut content = new_resource(&civil);
    content.as_object_mut().unwrap().remove("provider_org_id");
    let edit = t.request(Method::PUT, &format!("/api/v1/resources/{id}"), Some(&editor), Some(content.clone())).await;
    assert_eq!((edit.status, edit.body["error"]["current_state"].clone()), (StatusCode::CONFLICT, json!("published")));
    let change = t
        .post(
            &format!("/api/v1/resources/{id}/registrations"),
            Some(&editor),
            json!({"application": "change", "reason": "更新摘要", "proposed": content}),
        )
        .await;
    assert_eq!(change.status, StatusCode::CREATED, "{}", change.body);
    assert_eq!(change.body["application_zh"], "变更登记");
}

#[tokio::test]
async fn tokens_authentication_and_visibility() {
    let t = TestApp::with_demo().await;
    let bad = t.get("/api/v1/me", Some("gs_0000")).await;
    assert_eq!(bad.status, StatusCode::UNAUTHORIZED);
    assert_json_snapshot!("unauthenticated", bad.body);
    let anonymous = t.get("/api/v1/me", None).await;
    assert_eq!(anonymous.body, json!({"user": null}));

    let token = t.login("tj-editor").await;
    let me = t.get("/api/v1/me", Some(&token)).await;
    assert_eq!(me.body["user"]["username"], "tj-editor");
    let wrong =
        t.post("/api/v1/auth/tokens", None, json!({"username": "tj-editor", "password": "not the password"})).await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);

    // Tokens: listed without secrets, revocable, then refused.
    let second = t.post("/api/v1/me/tokens", Some(&token), json!({"name": "script", "expires_in_days": 30})).await;
    assert_eq!(second.status, StatusCode::CREATED);
    let second_token = second.body["token"].as_str().unwrap().to_owned();
    let listed = t.get("/api/v1/me/tokens", Some(&token)).await;
    assert!(listed.body.as_array().unwrap().iter().all(|t| t.get("token").is_none() && t.get("token_hash").is_none()));
    let id = second.body["id"].as_str().unwrap();
    let revoked = t.request(Method::DELETE, &format!("/api/v1/tokens/{id}"), Some(&token), None).await;
    assert_eq!(revoked.status, StatusCode::OK);
    assert_eq!(t.get("/api/v1/me", Some(&second_token)).await.status, StatusCode::UNAUTHORIZED);

    // Another department's draft is not found; the provider's own is.
    let drafts = t.get("/api/v1/resources?state=draft", Some(&t.admin_token)).await;
    let draft_id = drafts.body["items"][0]["id"].as_str().unwrap().to_owned();
    assert_eq!(t.get(&format!("/api/v1/resources/{draft_id}"), Some(&token)).await.status, StatusCode::NOT_FOUND);
    assert_eq!(t.get(&format!("/api/v1/resources/{draft_id}"), None).await.status, StatusCode::NOT_FOUND);

    // The 一数一源 flags of the demo wait for the bureau.
    let flags = t.get("/api/v1/duplicate-flags?state=open", Some(&token)).await;
    assert!(!flags.body.as_array().unwrap().is_empty());
    assert_eq!(t.get("/api/v1/duplicate-flags", None).await.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn unknown_routes_and_methods_answer_the_error_body() {
    let t = TestApp::with_demo().await;
    let missing = t.get("/api/v1/nothing", None).await;
    assert_eq!(
        (missing.status, missing.body["error"]["code"].clone()),
        (StatusCode::NOT_FOUND, json!("route_not_found"))
    );
    let method = t.request(Method::DELETE, "/api/v1/organizations", None, None).await;
    assert_eq!(
        (method.status, method.body["error"]["code"].clone()),
        (StatusCode::METHOD_NOT_ALLOWED, json!("method_not_allowed"))
    );
    let deadline = t.get("/api/v1/calendar/deadline?from=2026-09-30&days=2", None).await;
    assert_eq!(deadline.body["deadline"], "2026-10-02", "an empty calendar counts only weekends");
}

#[tokio::test]
async fn uploading_a_file_makes_a_version() {
    let t = TestApp::with_demo().await;
    let editor = t.login("qx-editor").await;
    let weather =
        t.get("/api/v1/resources?q=%E5%A4%A9%E6%B0%94", None).await.body["items"][0]["id"].as_str().unwrap().to_owned();
    let versions = t.get(&format!("/api/v1/resources/{weather}/versions"), None).await;
    assert_eq!(versions.body.as_array().unwrap().len(), 1, "the demo loaded its file as version 1");
    assert_eq!(versions.body[0]["row_count"], 1461);
    assert_eq!(versions.body[0]["created_by"], serde_json::Value::Null, "the public does not see who loaded it");

    let gbk = encoding_rs::GB18030
        .encode("日期,降水量,天气\r\n2024年1月2日,0.5,小雨\r\n2024年1月3日,-,晴\r\n")
        .0
        .into_owned();
    let path = format!("/api/v1/resources/{weather}/versions?filename=daily.csv");
    assert_eq!(t.upload(&path, None, gbk.clone()).await.status, StatusCode::UNAUTHORIZED);
    let created = t.upload(&path, Some(&editor), gbk).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    assert_eq!(created.body["version"], 2);
    assert_eq!(created.body["load"]["encoding"], "gb18030");
    let columns: Vec<(String, String)> = created.body["columns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["name"].as_str().unwrap().to_owned(), c["type"].as_str().unwrap().to_owned()))
        .collect();
    assert_eq!(
        columns,
        [("日期".into(), "date".into()), ("降水量".into(), "decimal".into()), ("天气".into(), "text".into())]
    );
    assert_eq!(created.body["profile"]["columns"][1]["null_count"], 1);

    let bad = t
        .upload(
            &format!("/api/v1/resources/{weather}/versions?filename=bad.csv"),
            Some(&editor),
            b"a,b\n1,2,3\n".to_vec(),
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_json_snapshot!("bad_upload", bad.body);
    let no_name = t.upload(&format!("/api/v1/resources/{weather}/versions"), Some(&editor), b"a\n1\n".to_vec()).await;
    assert_eq!(
        (no_name.status, no_name.body["error"]["details"][0]["field"].clone()),
        (StatusCode::BAD_REQUEST, json!("filename"))
    );
    let detail = t.get(&format!("/api/v1/resources/{weather}/versions/2"), Some(&editor)).await;
    assert_eq!(detail.body["source_name"], "daily.csv");
    assert!(detail.body["created_by"].is_string(), "the provider sees who loaded it");
    assert_eq!(t.get(&format!("/api/v1/resources/{weather}/versions/9"), None).await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn parquet_and_xlsx_downloads_load_back_as_the_same_data() {
    let t = TestApp::with_demo().await;
    let editor = t.login("qx-editor").await;
    let weather =
        t.get("/api/v1/resources?q=%E5%A4%A9%E6%B0%94", None).await.body["items"][0]["id"].as_str().unwrap().to_owned();
    let columns = |body: &serde_json::Value| body["columns"].clone();
    let original = t.get(&format!("/api/v1/resources/{weather}/versions/1"), None).await.body;

    let (status, content_type, parquet) =
        t.download(&format!("/api/v1/resources/{weather}/download?format=parquet"), None).await;
    assert_eq!((status, content_type.as_str()), (StatusCode::OK, "application/vnd.apache.parquet"));
    let reloaded = t
        .upload(&format!("/api/v1/resources/{weather}/versions?filename=weather.parquet"), Some(&editor), parquet)
        .await;
    assert_eq!(reloaded.status, StatusCode::CREATED, "{}", reloaded.body);
    assert_eq!(reloaded.body["load"]["format"], "parquet");
    assert_eq!((reloaded.body["row_count"].clone(), columns(&reloaded.body)), (json!(1461), columns(&original)));

    let (status, content_type, xlsx) =
        t.download(&format!("/api/v1/resources/{weather}/download?format=xlsx&_sort=date"), None).await;
    assert_eq!(
        (status, content_type.as_str()),
        (StatusCode::OK, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    );
    assert!(xlsx.starts_with(b"PK"), "an XLSX is a zip archive");
    let from_excel =
        t.upload(&format!("/api/v1/resources/{weather}/versions?filename=weather.xlsx"), Some(&editor), xlsx).await;
    assert_eq!(from_excel.status, StatusCode::CREATED, "{}", from_excel.body);
    assert_eq!(from_excel.body["load"]["format"], "spreadsheet");
    assert_eq!((from_excel.body["row_count"].clone(), columns(&from_excel.body)), (json!(1461), columns(&original)));

    let (_, _, from_excel_rows) =
        t.download(&format!("/api/v1/resources/{weather}/download?format=csv&_sort=date&_version=3"), None).await;
    let (_, _, original_rows) =
        t.download(&format!("/api/v1/resources/{weather}/download?format=csv&_sort=date&_version=1"), None).await;
    let (from_excel_rows, original_rows) =
        (String::from_utf8(from_excel_rows).unwrap(), String::from_utf8(original_rows).unwrap());
    assert_eq!(original_rows.lines().count(), 1462, "a header and every row");
    assert_eq!(from_excel_rows, original_rows, "XLSX round-trips every value");
}

#[tokio::test]
async fn data_is_read_through_the_gateway() {
    let t = TestApp::with_demo().await;
    let find = |q: &'static str| {
        let t = &t;
        async move {
            t.get(&format!("/api/v1/resources?q={q}&limit=100"), Some(&t.admin_token)).await.body["items"][0]["id"]
                .as_str()
                .unwrap()
                .to_owned()
        }
    };
    let weather = find("%E5%A4%A9%E6%B0%94").await;
    let page = t
        .get(
            &format!(
                "/api/v1/resources/{weather}/data?weather=snow&_sort=-precipitation&_limit=2&_fields=date,precipitation"
            ),
            None,
        )
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert_json_snapshot!("data_page", page.body, { ".resource_id" => "[id]" });

    let grouped = t.get(&format!("/api/v1/resources/{weather}/data?_group_by=weather&_sort=weather"), None).await;
    assert_eq!(grouped.body["total"], 5);
    assert_eq!(grouped.body["records"][0], json!({"weather": "drizzle", "count": 54}));
    let by_year = t.get(&format!("/api/v1/resources/{weather}/data?_group_by=date:year&_sort=date"), None).await;
    assert_eq!(by_year.status, StatusCode::OK, "{}", by_year.body);
    assert_eq!(
        by_year.body["records"],
        json!([
            {"date": "2012", "count": 366}, {"date": "2013", "count": 365},
            {"date": "2014", "count": 365}, {"date": "2015", "count": 365}
        ])
    );
    let by_month =
        t.get(&format!("/api/v1/resources/{weather}/data?_group_by=date:month&_limit=1&_sort=date"), None).await;
    assert_eq!(
        (by_month.body["total"].clone(), by_month.body["records"][0].clone()),
        (json!(48), json!({"date": "2012-01", "count": 31}))
    );
    let not_a_date = t.get(&format!("/api/v1/resources/{weather}/data?_group_by=weather:month"), None).await;
    assert_eq!(not_a_date.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", not_a_date.body);
    let not_a_period = t.get(&format!("/api/v1/resources/{weather}/data?_group_by=date:week"), None).await;
    assert_eq!(not_a_period.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", not_a_period.body);

    let gb = t
        .request(
            Method::GET,
            &format!("/api/v1/resources/{weather}/download?format=csv-gb18030&weather=snow"),
            None,
            None,
        )
        .await;
    assert_eq!(gb.status, StatusCode::OK);

    let sql = format!("SELECT weather, count(*) AS n FROM \"{weather}\" GROUP BY weather ORDER BY n DESC LIMIT 1");
    let result = t.post("/api/v1/sql", None, json!({ "sql": sql })).await;
    assert_eq!(result.body["records"], json!([{"weather": "sun", "n": 714}]), "{}", result.body);
    let write = t.post("/api/v1/sql", None, json!({ "sql": format!("DROP TABLE \"{weather}\"") })).await;
    assert_eq!(write.status, StatusCode::UNPROCESSABLE_ENTITY);

    // Conditionally open data is refused to the public, even by SQL.
    let smoking = find("%E5%90%B8%E7%83%9F").await;
    let refused = t.get(&format!("/api/v1/resources/{smoking}/data"), None).await;
    assert_eq!((refused.status, refused.body["error"]["code"].clone()), (StatusCode::FORBIDDEN, json!("forbidden")));
    let by_sql = t.post("/api/v1/sql", None, json!({ "sql": format!("SELECT * FROM \"{smoking}\"") })).await;
    assert_eq!(by_sql.status, StatusCode::FORBIDDEN);
    // Its profile does not reveal values either.
    let profile = t.get(&format!("/api/v1/resources/{smoking}/versions/1"), None).await;
    assert!(
        profile.body["profile"]["columns"].as_array().unwrap().iter().all(|c| c["min"].is_null() && c["max"].is_null())
    );
    // The provider reads its own data.
    let health = t.login("wj-editor").await;
    let own = t.get(&format!("/api/v1/resources/{smoking}/data?_limit=1"), Some(&health)).await;
    assert_eq!(own.status, StatusCode::OK, "{}", own.body);
    assert_eq!(own.body["total"], 8);

    // An unpublished entry's data is not served to others.
    let villages = find("%E6%9D%91%E7%BA%A7").await;
    let hidden = t.get(&format!("/api/v1/resources/{villages}/data"), None).await;
    assert_eq!(hidden.status, StatusCode::NOT_FOUND, "unpublished entries are not even visible");
    let unknown_table = t.post("/api/v1/sql", None, json!({ "sql": "SELECT * FROM \"no-such-resource\"" })).await;
    assert_eq!(unknown_table.status, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn catalog_search_ranks_facets_and_highlights() {
    let t = TestApp::with_demo().await;
    let all = t.get("/api/v1/search?limit=100", None).await;
    assert_eq!(all.status, StatusCode::OK, "{}", all.body);
    let published = t.get("/api/v1/resources?state=published&limit=100", None).await.body["total"].clone();
    assert_eq!(all.body["total"], published, "the index holds exactly the published catalog");

    let weather = t.get("/api/v1/search?q=%E5%A4%A9%E6%B0%94", None).await; // 天气
    assert_eq!(weather.body["matched_all_words"], true);
    assert!(weather.body["items"][0]["title_html"].as_str().unwrap().contains("<b>天气</b>"), "{}", weather.body);

    let conditional = t.get("/api/v1/search?open=conditional&limit=100", None).await;
    let items = conditional.body["items"].as_array().unwrap();
    assert!(!items.is_empty());
    assert!(items.iter().all(|i| i["resource"]["open"]["kind"] == "conditional"), "{}", conditional.body);
    let open_facet = &all.body["facets"]["open"];
    let conditional_count = open_facet.as_array().unwrap().iter().find(|v| v["value"] == "conditional").unwrap();
    assert_eq!(conditional_count["count"], items.len());

    let bad = t.get("/api/v1/search?sort=popular", None).await;
    assert_eq!(
        (bad.status, bad.body["error"]["details"][0]["field"].clone()),
        (StatusCode::UNPROCESSABLE_ENTITY, json!("sort"))
    );
    let unknown = t.get("/api/v1/search?color=red", None).await;
    assert_eq!(unknown.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn sharing_requests_grants_and_the_sandbox_over_http() {
    let t = TestApp::with_demo().await;
    let statistics = t.login("tj-editor").await;
    let transport = t.login("jt-editor").await;
    let health = t.login("wj-editor").await;
    let reviewer = t.login("sjj-reviewer").await;
    let market = t.login("scjg-editor").await;

    // The demo's grant: the statistics bureau reads the health commission's counts, less one city.
    let grants = t.get("/api/v1/grants", Some(&statistics)).await;
    assert_eq!(grants.status, StatusCode::OK, "{}", grants.body);
    assert_json_snapshot!("demo_grant", grants.body, {
        "[].id" => "[id]", "[].source_id" => "[id]", "[].grantee_org_id" => "[id]", "[].grantor_org_id" => "[id]",
        "[].resources[].resource_id" => "[id]", "[].valid_from" => "[at]", "[].valid_until" => "[at]",
    });
    let smoking = grants.body[0]["resources"][0]["resource_id"].as_str().unwrap().to_owned();
    let grant_id = grants.body[0]["id"].as_str().unwrap().to_owned();
    let rows = t.get(&format!("/api/v1/resources/{smoking}/data"), Some(&statistics)).await;
    assert_eq!((rows.status, rows.body["total"].clone()), (StatusCode::OK, json!(7)), "{}", rows.body);
    let table = format!("\"{smoking}\"");
    let total = t
        .post(
            "/api/v1/sandbox/query",
            Some(&statistics),
            json!({"sql": format!("SELECT COUNT(*) AS cities, SUM(smoking_no_cancer_no) AS n FROM {table}")}),
        )
        .await;
    assert_eq!(total.body["records"], json!([{"cities": 7, "n": 1943}]), "{}", total.body);
    let max = t
        .post(
            "/api/v1/sandbox/query",
            Some(&statistics),
            json!({"sql": format!("SELECT MAX(smoking_no_cancer_no) FROM {table}")}),
        )
        .await;
    assert_eq!(max.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_json_snapshot!("sandbox_refusal", max.body["error"]);

    // The market regulator has no grant yet: refused, and the refusal is on record.
    let refused = t.get(&format!("/api/v1/resources/{smoking}/data"), Some(&market)).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    let denials = t.get(&format!("/api/v1/usage?resource={smoking}&allowed=false"), Some(&health)).await;
    assert!(denials.body["total"].as_i64().unwrap() >= 2, "{}", denials.body);

    // The bureau sees every request and which are overdue (three are the parts of the demo's bundle).
    let all = t.get("/api/v1/sharing-requests", Some(&reviewer)).await;
    let states: Vec<(String, bool)> = all.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["state"].as_str().unwrap().to_owned(), r["overdue"].as_bool().unwrap()))
        .collect();
    assert_eq!(
        states,
        [
            ("submitted".to_owned(), false),
            ("granted".to_owned(), false),
            ("granted".to_owned(), false),
            ("provider_review".to_owned(), false),
            ("granted".to_owned(), false),
            ("provider_review".to_owned(), true),
            ("granted".to_owned(), false)
        ]
    );

    // A new request over HTTP, end to end.
    let filed = t
        .post(
            "/api/v1/sharing-requests",
            Some(&transport),
            json!({
                "resource_id": smoking, "modes": ["aggregate"], "purpose": "评估公共交通场所控烟效果",
                "legal_basis": "《杭州市公共场所控制吸烟条例》", "scenario": "交通场所控烟评估", "needed_until": "2027-06-30"
            }),
        )
        .await;
    assert_eq!(filed.status, StatusCode::CREATED, "{}", filed.body);
    assert_json_snapshot!("sharing_request_filed", filed.body, {
        ".id" => "[id]", ".requester_org_id" => "[id]", ".provider_org_id" => "[id]", ".resource_id" => "[id]",
        ".created_at" => "[at]", ".updated_at" => "[at]",
    });
    let id = filed.body["id"].as_str().unwrap();
    let checked =
        t.post(&format!("/api/v1/sharing-requests/{id}/check"), Some(&reviewer), json!({"approve": true})).await;
    assert_eq!(checked.body["state"], "provider_review", "{}", checked.body);
    let bad_mask = t
        .post(
            &format!("/api/v1/sharing-requests/{id}/decide"),
            Some(&health),
            json!({"approve": true, "terms": {"masks": {"Location": "scramble"}}}),
        )
        .await;
    assert_eq!(bad_mask.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(bad_mask.body["error"]["details"][0]["field"], "terms.masks.Location", "{}", bad_mask.body);
    let decided = t
        .post(
            &format!("/api/v1/sharing-requests/{id}/decide"),
            Some(&health),
            json!({"approve": true, "opinion": "同意", "terms": {"masks": {"Location": "hash"}, "min_group_size": 8}}),
        )
        .await;
    assert_eq!(decided.body["state"], "granted", "{}", decided.body);
    let history = t.get(&format!("/api/v1/sharing-requests/{id}"), Some(&transport)).await;
    let actions: Vec<&str> =
        history.body["history"].as_array().unwrap().iter().map(|h| h["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["submit", "pass_check", "approve"]);
    // Aggregates only: all 8 cities make one group, which meets the minimum of 8.
    // The transport bureau also holds the demo's counting grant under a privacy budget; this one is named.
    let whole = json!({"sql": format!("SELECT COUNT(*) AS n FROM {table}"), "grant_id": decided.body["grant_id"]});
    assert_eq!(
        t.post("/api/v1/sandbox/query", Some(&transport), whole.clone()).await.body["records"],
        json!([{"n": 8}])
    );
    let rows = t.get(&format!("/api/v1/resources/{smoking}/data"), Some(&transport)).await;
    assert_eq!(rows.status, StatusCode::FORBIDDEN, "an aggregate-only grant reads no rows");

    // Revocation is immediate.
    let revoked = t
        .post(&format!("/api/v1/grants/{grant_id}/revoke"), Some(&reviewer), json!({"reason": "统计公报已编制完成"}))
        .await;
    assert_eq!(revoked.body["status"], "revoked", "{}", revoked.body);
    let after = t.get(&format!("/api/v1/resources/{smoking}/data"), Some(&statistics)).await;
    assert_eq!(after.status, StatusCode::FORBIDDEN);
    assert_eq!(after.body["error"]["message_zh"], "授权已撤销");
}

#[tokio::test]
async fn conditional_opening_and_authorized_operation_over_http() {
    let t = TestApp::with_demo().await;
    let company = t.login("qy-admin").await;
    let health = t.login("wj-editor").await;
    let operator = t.login("operator-admin").await;
    let analyst = t.login("operator-analyst").await;
    let bureau = t.login("sjj-admin").await;

    // The demo's signed conditional-open agreement, as its holder sees it.
    let mine = t.get("/api/v1/agreements", Some(&company)).await;
    assert_eq!(mine.status, StatusCode::OK, "{}", mine.body);
    assert_json_snapshot!("demo_open_agreement", mine.body, {
        ".items[].id" => "[id]", ".items[].grantor_org_id" => "[id]", ".items[].holder_org_id" => "[id]",
        ".items[].resource_id" => "[id]", ".items[].resources[].resource_id" => "[id]", ".items[].grant_id" => "[id]",
        ".items[].content_sha256" => "[sha256]", ".items[].signed_sha256" => "[sha256]",
        ".items[].valid_from" => "[day]", ".items[].valid_until" => "[day]", ".items[].report_due" => "[day]",
        ".items[].signed_at" => "[at]", ".items[].created_at" => "[at]", ".items[].updated_at" => "[at]",
    });
    let smoking = mine.body["items"][0]["resource_id"].as_str().unwrap().to_owned();

    // The operator holds an operation agreement and has an application pending; its analyst reads through the grant.
    let operator_list = t.get("/api/v1/agreements", Some(&operator)).await;
    let kinds: Vec<(String, String)> = operator_list.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| (a["kind"].as_str().unwrap().to_owned(), a["status"].as_str().unwrap().to_owned()))
        .collect();
    assert_eq!(
        kinds,
        [("conditional_open".to_owned(), "applied".to_owned()), ("operation".to_owned(), "active".to_owned())]
    );
    let airports = operator_list.body["items"][1]["resources"][0]["resource_id"].as_str().unwrap().to_owned();
    let rows = t.get(&format!("/api/v1/resources/{airports}/data?_limit=1"), Some(&analyst)).await;
    assert_eq!(rows.status, StatusCode::OK, "{}", rows.body);

    // A new application, end to end.
    let filed = t
        .post(
            "/api/v1/open-applications",
            Some(&company),
            json!({
                "resource_id": smoking, "columns": ["Location", "smoking_yes_cancer_yes"], "modes": ["aggregate"],
                "purpose": "评估控烟干预效果", "application": "明鉴控烟评估工具", "scenario": "控烟效果评估",
                "needed_until": "2027-06-30"
            }),
        )
        .await;
    assert_eq!(filed.status, StatusCode::CREATED, "{}", filed.body);
    let id = filed.body["id"].as_str().unwrap().to_owned();
    let act = |action: &str| format!("/api/v1/agreements/{id}/{action}");
    let offered = t.post(&act("approve"), Some(&health), json!({"terms": {"min_group_size": 3}})).await;
    assert_eq!(offered.body["status"], "offered", "{}", offered.body);
    let stale = t.post(&act("sign"), Some(&company), json!({"content_sha256": filed.body["content_sha256"]})).await;
    assert_eq!(stale.status, StatusCode::CONFLICT, "{}", stale.body);
    let signed = t.post(&act("sign"), Some(&company), json!({"content_sha256": offered.body["content_sha256"]})).await;
    assert_eq!(signed.body["status"], "active", "{}", signed.body);
    let sql = json!({
        "sql": format!("SELECT COUNT(*) AS cities FROM \"{smoking}\""), "grant_id": signed.body["grant_id"]
    });
    let counted = t.post("/api/v1/sandbox/query", Some(&company), sql.clone()).await;
    assert_eq!(counted.body["records"], json!([{"cities": 8}]), "{}", counted.body);
    let report = t
        .post(
            &format!("/api/v1/agreements/{id}/reports"),
            Some(&company),
            json!({"period_start": "2020-01-01", "period_end": "2020-01-31", "summary": "测试", "outputs": "无", "incidents": "无"}),
        )
        .await;
    assert_eq!(report.status, StatusCode::CREATED, "{}", report.body);
    let missing = t.post(&act("terminate"), Some(&bureau), json!({})).await;
    assert_eq!(missing.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(missing.body["error"]["details"][0]["field"], "reason", "{}", missing.body);
    let ended = t.post(&act("terminate"), Some(&bureau), json!({"reason": "超出申请场景使用"})).await;
    assert_eq!(ended.body["status"], "wind_down", "{}", ended.body);
    assert_eq!(t.post("/api/v1/sandbox/query", Some(&company), sql).await.status, StatusCode::FORBIDDEN);
    let closed = t.post(&act("attest_destruction"), Some(&company), json!({"statement": "已删除全部数据"})).await;
    assert_eq!(closed.body["status"], "closed", "{}", closed.body);
    let detail = t.get(&format!("/api/v1/agreements/{id}"), Some(&health)).await;
    let actions: Vec<&str> =
        detail.body["history"].as_array().unwrap().iter().map(|h| h["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["apply", "approve", "sign", "report_usage", "terminate", "attest_destruction"]);
    assert_eq!(detail.body["reports"].as_array().unwrap().len(), 1);

    // The bureau approves the operation plan waiting for it, with its reviews.
    let plans = t.get("/api/v1/agreements?kind=operation&state=plan_review", Some(&bureau)).await;
    let plan = plans.body["items"][0]["id"].as_str().unwrap().to_owned();
    let approved = t
        .post(
            &format!("/api/v1/agreements/{plan}/approve"),
            Some(&bureau),
            json!({"plan_approval": {
                "risk_assessment": "可控", "compliance_review": "合规", "fair_competition_review": "通过", "approval_ref": "杭政函〔2026〕2号"
            }}),
        )
        .await;
    assert_eq!(approved.body["status"], "approved", "{}", approved.body);
    assert_eq!(approved.body["may"], json!([]), "the bureau approves; the implementing body selects");
}

#[tokio::test]
async fn the_sharing_responsibility_list_over_http() {
    let t = TestApp::with_demo().await;
    let reviewer = t.login("sjj-reviewer").await;
    let transport = t.login("jt-editor").await;

    let all = t.get("/api/v1/sharing-duties", Some(&reviewer)).await;
    assert_eq!(all.status, StatusCode::OK, "{}", all.body);
    assert_json_snapshot!("demo_duties", all.body, {
        "[].id" => "[id]", "[].org_id" => "[id]", "[].resource_id" => unless_null("[id]"),
        "[].first_due" => "[day]", "[].due" => unless_null("[day]"), "[].last_version_on" => unless_null("[day]"),
    });
    let late = t.get("/api/v1/sharing-duties?overdue=true", Some(&reviewer)).await;
    let titles: Vec<&str> = late.body.as_array().unwrap().iter().map(|d| d["title"].as_str().unwrap()).collect();
    assert_eq!(titles, ["村（社区）名录", "市场主体登记基本信息"]);

    // The transport bureau sees its own duty only, and links its airports entry to it.
    let mine = t.get("/api/v1/sharing-duties", Some(&transport)).await;
    assert_eq!(mine.body.as_array().unwrap().len(), 1, "{}", mine.body);
    let duty = mine.body[0]["id"].as_str().unwrap().to_owned();
    let org = mine.body[0]["org_id"].as_str().unwrap();
    let own = t.get(&format!("/api/v1/resources?provider={org}&limit=100"), Some(&transport)).await;
    let entry = own.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name_zh"].as_str().unwrap_or_default().starts_with("机场名录"))
        .map(|r| r["id"].as_str().unwrap().to_owned())
        .unwrap_or_else(|| panic!("{}", own.body));
    let linked =
        t.post(&format!("/api/v1/sharing-duties/{duty}/link"), Some(&transport), json!({"resource_id": entry})).await;
    assert_eq!(linked.body["status"], "current", "{}", linked.body);
    assert_eq!(linked.body["overdue"], false);
    let refused = t
        .post(
            "/api/v1/sharing-duties",
            Some(&transport),
            json!({"org_id": "x", "title": "t", "description": "d", "basis": "b", "update_cycle": "daily", "first_due": "2027-01-01"}),
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn a_scenario_bundle_over_http() {
    let t = TestApp::with_demo().await;
    let ecology = t.login("sthj-editor").await;
    let health = t.login("wj-editor").await;

    let bundles = t.get("/api/v1/sharing-bundles", Some(&ecology)).await;
    assert_eq!(bundles.status, StatusCode::OK, "{}", bundles.body);
    assert_json_snapshot!("demo_bundle", bundles.body, {
        "[].id" => "[id]", "[].requester_org_id" => "[id]", "[].created_at" => "[at]",
        "[].parts[].id" => "[id]", "[].parts[].requester_org_id" => "[id]", "[].parts[].provider_org_id" => "[id]",
        "[].parts[].resource_id" => "[id]", "[].parts[].grant_id" => unless_null("[id]"), "[].parts[].bundle_id" => "[id]",
        "[].parts[].needed_until" => "[day]", "[].parts[].due_date" => unless_null("[day]"),
        "[].parts[].created_at" => "[at]", "[].parts[].updated_at" => "[at]",
    });
    let id = bundles.body[0]["id"].as_str().unwrap().to_owned();

    // The health commission decides its part; the whole bundle then takes effect.
    let mine = t.get("/api/v1/sharing-bundles", Some(&health)).await;
    assert_eq!(mine.body.as_array().unwrap().len(), 1, "a provider of a part sees the bundle");
    let waiting = mine.body[0]["parts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["state"] == "provider_review")
        .map(|p| p["id"].as_str().unwrap().to_owned())
        .unwrap();
    let decided = t
        .post(
            &format!("/api/v1/sharing-requests/{waiting}/decide"),
            Some(&health),
            json!({"approve": true, "terms": {"modes": ["query"]}}),
        )
        .await;
    assert_eq!(decided.body["state"], "granted", "{}", decided.body);
    let complete = t.get(&format!("/api/v1/sharing-bundles/{id}"), Some(&ecology)).await;
    assert_eq!(complete.body["state"], "complete", "{}", complete.body);
    let actions: Vec<&str> =
        complete.body["history"].as_array().unwrap().iter().map(|h| h["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["submit", "pass_check", "complete"]);
    let smoking = decided.body["resource_id"].as_str().unwrap();
    let rows = t.get(&format!("/api/v1/resources/{smoking}/data"), Some(&ecology)).await;
    assert_eq!(rows.status, StatusCode::OK, "{}", rows.body);
    let again = t.post(&format!("/api/v1/sharing-bundles/{id}/withdraw"), Some(&ecology), json!({"reason": "x"})).await;
    assert_eq!(again.status, StatusCode::CONFLICT, "a bundle in force is not withdrawn: {}", again.body);
}

/// A redaction that keeps `null`, so a snapshot still shows which values are absent.
fn unless_null(placeholder: &'static str) -> insta::internals::Redaction {
    insta::dynamic_redaction(move |value, _| if value.is_nil() { value } else { placeholder.into() })
}

#[tokio::test]
async fn products_prices_deliveries_and_disclosure_over_http() {
    let t = TestApp::with_demo().await;
    let operator = t.login("operator-admin").await;
    let company = t.login("qy-admin").await;

    // The public capability list, with caps and prices.
    let list = t.get("/api/v1/products", None).await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.body);
    assert_json_snapshot!("demo_products", list.body, {
        "[].id" => "[id]", "[].code" => "[code]", "[].operator_org_id" => "[id]", "[].agreement_id" => "[id]",
        "[].grant_id" => "[id]", "[].implementing_org_id" => "[id]", "[].resources[].resource_id" => "[id]",
        "[].created_at" => "[at]", "[].publicity_start" => "[day]", "[].publicity_end" => "[day]",
        "[].due_date" => "[day]",
        "[].cap.effective_from" => "[day]", "[].cap.announced_on" => "[day]", "[].cap.trial_until" => unless_null("[day]"),
        "[].price.effective_from" => "[day]", "[].price.announced_on" => "[day]",
        "[].upcoming[].effective_from" => "[day]", "[].upcoming[].announced_on" => "[day]",
        "[].price_history[].effective_from" => "[day]", "[].price_history[].announced_on" => "[day]",
        "[].price_history[].trial_until" => unless_null("[day]"), "[].price.trial_until" => unless_null("[day]"),
        "[].upcoming[].trial_until" => unless_null("[day]"),
    });
    let api = list.body.as_array().unwrap().iter().find(|p| p["form"] == "api").unwrap().clone();
    let id = api["id"].as_str().unwrap();

    // A price above the cap is refused, naming the field, in both languages.
    let above = t
        .post(
            &format!("/api/v1/products/{id}/price"),
            Some(&operator),
            json!({"unit": "per_call", "amount": "0.80", "effective_from": "2027-01-01", "basis": "公示"}),
        )
        .await;
    assert_eq!(above.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", above.body);
    assert_eq!(above.body["error"]["details"][0]["field"], "amount");
    assert!(
        above.body["error"]["details"][0]["message_zh"].as_str().unwrap().contains("超过实施机构制定的上限收费标准")
    );

    // The company receives the API through the gateway and sees the charge.
    let subscriptions = t.get("/api/v1/subscriptions", Some(&company)).await;
    let mine = subscriptions.body.as_array().unwrap().iter().find(|s| s["product_id"] == api["id"]).unwrap().clone();
    let delivered = t
        .post(
            &format!("/api/v1/subscriptions/{}/deliveries", mine["id"].as_str().unwrap()),
            Some(&company),
            json!({"rows": {"params": {"state": "WA", "_limit": "5"}}}),
        )
        .await;
    assert_eq!(delivered.status, StatusCode::OK, "{}", delivered.body);
    assert_eq!(delivered.body["charge"]["fee_yuan"], "0.30");
    assert!(delivered.body["result"]["records"].as_array().unwrap().iter().all(|r| r["state"] == "WA"));
    let both = t
        .post(
            &format!("/api/v1/subscriptions/{}/deliveries", mine["id"].as_str().unwrap()),
            Some(&company),
            json!({"rows": {}, "aggregate": {"sql": "SELECT 1"}}),
        )
        .await;
    assert_eq!(both.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", both.body);
    let customer = mine["customer_org_id"].as_str().unwrap();
    let statement = t.get(&format!("/api/v1/statements?customer={customer}&period=2026-11"), Some(&company)).await;
    assert_eq!(statement.body["total_yuan"], "16.50", "{}", statement.body);
    let outsider = t.login("sthj-editor").await;
    let hidden = t.get(&format!("/api/v1/statements?customer={customer}&period=2026-11"), Some(&outsider)).await;
    assert_eq!(hidden.status, StatusCode::FORBIDDEN);

    // The operator's disclosure: its exact bytes hash to what the ledger holds.
    let disclosures = t.get("/api/v1/disclosures?year=2026", None).await;
    let report = &disclosures.body[0];
    assert_eq!(report["role"], "operator", "{}", disclosures.body);
    let report_id = report["id"].as_str().unwrap();
    let (status, content_type, bytes) =
        t.download(&format!("/api/v1/disclosures/{report_id}/content.json"), None).await;
    assert_eq!((status, content_type.as_str()), (StatusCode::OK, "application/json"));
    assert_eq!(gongshu_ledger::sha256_hex(&bytes), report["content_sha256"].as_str().unwrap());
    let (_, csv_type, csv) = t.download(&format!("/api/v1/disclosures/{report_id}/report.csv"), None).await;
    assert!(csv_type.starts_with("text/csv"));
    assert!(String::from_utf8(csv).unwrap().contains("product,"));
    let status = t.get("/api/v1/disclosures/status/2026", None).await;
    assert_eq!(status.body.as_array().unwrap().len(), 2, "{}", status.body);
}
