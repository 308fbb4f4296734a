//! CKAN's Action API over the demo catalog, in-process: the envelope, the
//! requests ckanapi and frictionless send (recorded in
//! ../shared/reference/clients.md), paging that ends, Solr-style queries,
//! the datastore, and what the gateway refuses. Issue 4.

use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use gongshu_app::testing::DemoApp;
use gongshu_app::{App, SearchRequest, demo};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;

struct Ckan {
    router: Router,
    app: App,
    _demo: DemoApp,
}

impl Ckan {
    async fn new() -> Ckan {
        let demo = DemoApp::new().await;
        Ckan { router: gongshu_ckan::router(demo.app.clone()), app: demo.app.clone(), _demo: demo }
    }

    async fn call(
        &self,
        method: Method,
        uri: &str,
        body: Option<&str>,
        headers: &[(&str, &str)],
    ) -> (StatusCode, Value) {
        let mut request = Request::builder().method(method).uri(uri).header("host", "ckan.example");
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let body = body.map_or_else(Body::empty, |b| Body::from(b.to_owned()));
        let response = self.router.clone().oneshot(request.body(body).unwrap()).await.unwrap();
        let status = response.status();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
    }

    /// As ckanapi calls: POST /api/action/<name> with an ASCII-escaped JSON body.
    async fn post(&self, action: &str, body: Value) -> (StatusCode, Value) {
        let ascii = serde_json::to_string(&body).unwrap().chars().fold(String::new(), |mut out, c| {
            if c.is_ascii() {
                out.push(c);
            } else {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    out.push_str(&format!("\\u{unit:04x}"));
                }
            }
            out
        });
        self.call(Method::POST, &format!("/api/action/{action}"), Some(&ascii), &[("content-type", "application/json")])
            .await
    }

    /// As frictionless calls: GET /api/3/action/<name>?…
    async fn get(&self, path_and_query: &str) -> (StatusCode, Value) {
        self.call(Method::GET, &format!("/api/3/action/{path_and_query}"), None, &[]).await
    }

    async fn id_of(&self, words: &str) -> String {
        let found = self
            .app
            .search_catalog(SearchRequest { text: words.into(), limit: 1, ..Default::default() })
            .await
            .unwrap();
        found.resources[0].id.clone()
    }
}

#[tokio::test]
async fn the_envelope_status_and_unknown_actions() {
    let ckan = Ckan::new().await;
    let (status, body) = ckan.post("status_show", json!({})).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!((body["success"].clone(), body["result"]["ckan_version"].clone()), (json!(true), json!("2.10.0")));
    assert!(body["help"].as_str().unwrap().contains("status_show"));
    let (status, body) = ckan.get("no_such_action").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["success"], false);
    assert!(body["error"]["message"].as_str().unwrap().contains("no_such_action"));
    let (status, body) = ckan.call(Method::POST, "/api/action/package_show", Some("[1, 2]"), &[]).await;
    assert_eq!((status, body["error"]["__type"].clone()), (StatusCode::CONFLICT, json!("Validation Error")));
}

#[tokio::test]
async fn package_search_pages_until_an_empty_page_and_reads_solr_queries() {
    let ckan = Ckan::new().await;
    // ckanapi search datasets: start advances by what came back, until nothing does.
    let mut seen = Vec::new();
    let mut start = 0;
    loop {
        let (status, body) = ckan.post("package_search", json!({"q": "区划", "start": start, "rows": 2})).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["result"]["count"], 3);
        let results = body["result"]["results"].as_array().unwrap().clone();
        if results.is_empty() {
            break;
        }
        start += results.len();
        seen.extend(results.into_iter().map(|r| r["id"].as_str().unwrap().to_owned()));
        assert!(seen.len() <= 3, "paging must end");
    }
    assert_eq!(seen.len(), 3);
    seen.dedup();
    assert_eq!(seen.len(), 3, "no dataset twice");

    // frictionless: q=*:* with rows, and q=organization:<name>.
    let (_, all) = ckan.get("package_search?q=*:*&rows=10").await;
    assert_eq!(all["result"]["count"], 10, "five of the city's own and five harvested from Ningbo");
    let owner = all["result"]["results"][0]["organization"]["name"].as_str().unwrap().to_owned();
    let (_, by_org) = ckan.get(&format!("package_search?q=organization:{owner}")).await;
    assert!(by_org["result"]["results"].as_array().unwrap().iter().all(|p| p["owner_org"] == owner.as_str()));
    let (_, filtered) = ckan.get("package_search?fq=res_format:CSV%20open_attribute:conditional").await;
    assert_eq!(filtered["result"]["count"], 1);
    let (status, bad) = ckan.get("package_search?q=colour:red").await;
    assert_eq!((status, bad["error"]["__type"].clone()), (StatusCode::CONFLICT, json!("Search Query Error")));

    let (_, faceted) = ckan
        .post("package_search", json!({"q": "*:*", "rows": 0, "facet.field": ["organization", "groups", "tags"]}))
        .await;
    let result = &faceted["result"];
    assert_eq!(result["results"], json!([]));
    assert_eq!(result["facets"]["groups"]["基础信息"], 3);
    let first_org = &result["search_facets"]["organization"]["items"][0];
    assert_eq!(
        (first_org["count"].clone(), first_org["display_name"].clone()),
        (json!(5), json!("宁波市公共数据开放平台（示例）"))
    );
    assert_eq!(result["search_facets"]["tags"]["items"], json!([]), "an unknown facet is empty, not an error");
}

#[tokio::test]
async fn packages_resources_organizations_groups_and_tags() {
    let ckan = Ckan::new().await;
    let (_, list) = ckan.post("package_list", json!({"include_private": false, "include_drafts": false})).await;
    let ids = list["result"].as_array().unwrap();
    assert_eq!(ids.len(), 10);
    let weather = ckan.id_of("天气").await;
    assert!(ids.contains(&json!(weather)));

    let (status, package) = ckan
        .post("package_show", json!({"id": weather, "include_datasets": false, "include_password_hash": true}))
        .await;
    assert_eq!(status, StatusCode::OK);
    let package = &package["result"];
    assert_eq!(package["title"], "逐日天气观测（西雅图，国际比对样例）");
    assert_eq!(package["private"], false);
    assert_eq!(package["num_resources"], 1);
    let resource = &package["resources"][0];
    assert_eq!((resource["format"].clone(), resource["datastore_active"].clone()), (json!("CSV"), json!(true)));
    assert_eq!(resource["url"], format!("http://ckan.example/api/v1/resources/{weather}/download?format=csv"));
    assert!(package["extras"].as_array().unwrap().iter().any(|e| e["key"] == "registration_code"));

    // A harvested dataset links to its files at the source and says where it came from.
    let air = ckan.id_of("空气质量日报").await;
    let (_, harvested) = ckan.post("package_show", json!({"id": air})).await;
    let harvested = &harvested["result"];
    assert_eq!(harvested["url"], "https://data.ningbo.example/dataset/air-quality-daily.html");
    assert_eq!(harvested["num_resources"], 2);
    let urls: Vec<&str> =
        harvested["resources"].as_array().unwrap().iter().map(|r| r["url"].as_str().unwrap()).collect();
    assert_eq!(
        urls,
        [
            "https://data.ningbo.example/api/air-quality-daily",
            "https://data.ningbo.example/files/air-quality-daily.csv"
        ]
    );
    let extras = harvested["extras"].as_array().unwrap();
    assert!(
        extras
            .iter()
            .any(|e| e["key"] == "harvest_source_url" && e["value"] == "https://data.ningbo.example/catalog.ttl")
    );

    let (_, shown) = ckan.get(&format!("resource_show?id={weather}")).await;
    assert_eq!(shown["result"]["package_id"], weather.as_str());
    let (status, missing) = ckan.post("package_show", json!({"id": "no-such-dataset"})).await;
    assert_eq!((status, missing["error"]["__type"].clone()), (StatusCode::NOT_FOUND, json!("Not Found Error")));
    let (status, no_id) = ckan.post("package_show", json!({})).await;
    assert_eq!((status, no_id["error"]["id"].clone()), (StatusCode::CONFLICT, json!(["Missing value"])));

    let (_, orgs) = ckan.post("organization_list", json!({"all_fields": true})).await;
    let civil = orgs["result"].as_array().unwrap().iter().find(|o| o["title"] == "杭州市民政局").unwrap().clone();
    assert_eq!(civil["package_count"], 3);
    let (_, org) = ckan.post("organization_show", json!({"id": civil["id"], "include_datasets": true})).await;
    assert_eq!(org["result"]["packages"].as_array().unwrap().len(), 3);
    let (_, groups) = ckan.get("group_list").await;
    assert!(groups["result"].as_array().unwrap().contains(&json!("气象服务")));
    let (_, group) = ckan.get("group_show?id=%E6%B0%94%E8%B1%A1%E6%9C%8D%E5%8A%A1").await;
    assert_eq!(group["result"]["package_count"], 1);
    let (_, tags) = ckan.get("tag_list?query=%E5%A4%A9").await;
    assert_eq!(tags["result"], json!(["天气"]));
}

#[tokio::test]
async fn the_datastore_goes_through_the_gateway() {
    let ckan = Ckan::new().await;
    let weather = ckan.id_of("天气").await;
    let (status, page) = ckan
        .post(
            "datastore_search",
            json!({"resource_id": weather, "filters": {"weather": "snow"}, "sort": "temp_max desc", "limit": 5,
                   "fields": ["date", "temp_max", "weather"]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let result = &page["result"];
    assert_eq!(result["total"], 23);
    assert_eq!(result["records"].as_array().unwrap().len(), 5);
    assert_eq!(
        result["fields"],
        json!([{"id": "date", "type": "date"}, {"id": "temp_max", "type": "numeric"}, {"id": "weather", "type": "text"}])
    );
    assert_eq!(result["_links"]["next"], format!("/api/3/action/datastore_search?resource_id={weather}&offset=5"));

    // ckanapi dump -d asks for the fields alone.
    let (_, fields_only) = ckan.post("datastore_search", json!({"resource_id": weather, "limit": 0})).await;
    assert_eq!(fields_only["result"]["records"], json!([]));
    assert_eq!(fields_only["result"]["fields"].as_array().unwrap().len(), 6);
    let (_, text) = ckan.get(&format!("datastore_search?resource_id={weather}&q=fog&limit=1")).await;
    assert_eq!(text["result"]["total"], 411);
    let (_, any_of) = ckan
        .get(&format!(
            "datastore_search?resource_id={weather}&filters=%7B%22weather%22:[%22snow%22,%22fog%22]%7D&limit=1"
        ))
        .await;
    assert_eq!(any_of["result"]["total"], 434);
    let (status, bad) = ckan.post("datastore_search", json!({"resource_id": weather, "filters": {"nope": 1}})).await;
    assert_eq!((status, bad["error"]["__type"].clone()), (StatusCode::CONFLICT, json!("Validation Error")), "{bad}");

    let sql = format!("SELECT weather, count(*) AS n FROM \"{weather}\" GROUP BY weather ORDER BY n DESC LIMIT 1");
    let (_, by_sql) = ckan.post("datastore_search_sql", json!({"sql": sql})).await;
    assert_eq!(by_sql["result"]["records"], json!([{"weather": "sun", "n": 714}]));

    // Conditionally open rows need a grant; the provider reads its own.
    let smoking = ckan.id_of("吸烟").await;
    let (status, refused) = ckan.post("datastore_search", json!({"resource_id": smoking})).await;
    assert_eq!((status, refused["error"]["__type"].clone()), (StatusCode::FORBIDDEN, json!("Authorization Error")));
    let token = ckan
        .app
        .login(
            "wj-editor",
            demo::DEMO_PASSWORD,
            gongshu_app::NewToken { name: "ckanapi".into(), expires_in_days: None },
        )
        .await
        .unwrap()
        .secret;
    for header in ["authorization", "x-ckan-api-key"] {
        let (status, own) = ckan
            .call(
                Method::GET,
                &format!("/api/3/action/datastore_search?resource_id={smoking}&limit=1"),
                None,
                &[(header, token.as_str())],
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{header}: {own}");
        assert_eq!(own["result"]["total"], 8);
    }
    let (status, _) =
        ckan.call(Method::GET, "/api/3/action/status_show", None, &[("authorization", "gs_not_a_real_token")]).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

impl Ckan {
    async fn token(&self, username: &str) -> String {
        let new = gongshu_app::NewToken { name: "ckanapi".into(), expires_in_days: None };
        self.app.login(username, demo::DEMO_PASSWORD, new).await.unwrap().secret
    }

    /// As ckanapi sends an action with a token: `Authorization: <token>`.
    async fn post_as(&self, token: &str, action: &str, body: Value) -> (StatusCode, Value) {
        let body = serde_json::to_string(&body).unwrap();
        let headers = [("content-type", "application/json"), ("authorization", token)];
        self.call(Method::POST, &format!("/api/action/{action}"), Some(&body), &headers).await
    }

    /// As `ckanapi action resource_create … upload@file.csv`: multipart with the file in `upload`.
    async fn upload_as(
        &self,
        token: &str,
        action: &str,
        fields: &[(&str, &str)],
        file: (&str, &str),
    ) -> (StatusCode, Value) {
        let boundary = "gongshu-test-boundary";
        let mut body = String::new();
        for (name, value) in fields {
            body.push_str(&format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
            ));
        }
        body.push_str(&format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"upload\"; filename=\"{}\"\r\nContent-Type: text/csv\r\n\r\n{}\r\n--{boundary}--\r\n",
            file.0, file.1
        ));
        let content_type = format!("multipart/form-data; boundary={boundary}");
        let mut headers = vec![("content-type", content_type.as_str())];
        if !token.is_empty() {
            headers.push(("authorization", token));
        }
        self.call(Method::POST, &format!("/api/action/{action}"), Some(&body), &headers).await
    }
}

const TRANSPORT: &str = "杭州市交通运输局";

fn new_dataset() -> Value {
    json!({
        "name": "bus-stops",
        "title": "公交站点",
        "notes": "全市公交站点的名称、线路数和位置。",
        "owner_org": TRANSPORT,
        "groups": [{"name": "交通出行"}],
        "tags": [{"name": "公交"}, {"name": "站点"}],
        "license_id": "CC-BY-4.0",
        "extras": [{"key": "update_cycle", "value": "monthly"}],
    })
}

#[tokio::test]
async fn a_client_creates_a_draft_uploads_its_data_and_edits_it() {
    let ckan = Ckan::new().await;
    let (status, refused) = ckan.post("package_create", new_dataset()).await;
    assert_eq!((status, refused["error"]["__type"].clone()), (StatusCode::FORBIDDEN, json!("Authorization Error")));

    let token = ckan.token("jt-editor").await;
    let (status, created) = ckan.post_as(&token, "package_create", new_dataset()).await;
    assert_eq!(status, StatusCode::OK, "{created}");
    let package = &created["result"];
    let id = package["id"].as_str().unwrap().to_owned();
    assert_eq!(package["title"], "公交站点");
    assert_eq!((package["state"].clone(), package["private"].clone()), (json!("draft"), json!(true)));
    assert_eq!(package["num_resources"], 0);
    assert_eq!(package["gongshu"]["update_cycle"], "monthly");
    assert_eq!(package["gongshu"]["open"], json!({"kind": "unconditional"}));
    assert_eq!(package["gongshu"]["items"], json!([]));
    let (_, by_name) = ckan.post_as(&token, "package_show", json!({"id": "bus-stops"})).await;
    assert_eq!(by_name["result"]["id"], json!(id), "the CKAN name finds the dataset");
    let (status, twice) = ckan.post_as(&token, "package_create", new_dataset()).await;
    assert_eq!((status, twice["error"]["__type"].clone()), (StatusCode::CONFLICT, json!("Validation Error")));

    // The data arrives as the multipart field `upload` and describes the items.
    let csv = "站点编码,站点名称,线路数\n001,武林广场,12\n002,西湖文化广场,9\n";
    let (status, resource) =
        ckan.upload_as(&token, "resource_create", &[("package_id", &id), ("name", "站点")], ("stops.csv", csv)).await;
    assert_eq!(status, StatusCode::OK, "{resource}");
    assert_eq!(resource["result"]["datastore_active"], true);
    let (_, shown) = ckan.post_as(&token, "package_show", json!({"id": id})).await;
    let items = shown["result"]["gongshu"]["items"].as_array().unwrap().clone();
    assert_eq!(
        items.iter().map(|i| i["name"].as_str().unwrap()).collect::<Vec<_>>(),
        ["站点编码", "站点名称", "线路数"]
    );
    assert_eq!((items[0]["data_type"].clone(), items[2]["data_type"].clone()), (json!("text"), json!("integer")));
    assert!(items[0]["description"].as_str().unwrap().contains("confirm its identifier kind and level"));
    let (_, rows) = ckan.post_as(&token, "datastore_search", json!({"resource_id": id})).await;
    assert_eq!(rows["result"]["records"][1]["站点名称"], "西湖文化广场");

    // A patch changes what it names and keeps the rest.
    let (status, patched) =
        ckan.post_as(&token, "package_patch", json!({"id": id, "title": "公交站点（2026）", "tags": ["公交"]})).await;
    assert_eq!(status, StatusCode::OK, "{patched}");
    assert_eq!(patched["result"]["title"], "公交站点（2026）");
    assert_eq!(patched["result"]["num_tags"], 1);
    assert_eq!(patched["result"]["gongshu"]["items"].as_array().unwrap().len(), 3);

    // Nobody else sees the draft, through any action.
    let (status, _) = ckan.post("package_show", json!({"id": id})).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = ckan.post("datastore_search", json!({"resource_id": id})).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let other = ckan.token("wj-editor").await;
    let (status, _) = ckan.post_as(&other, "package_show", json!({"id": id})).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = ckan.post_as(&other, "package_patch", json!({"id": id, "title": "x"})).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // `include_private` shows the caller's own drafts first, to the caller only.
    let search = json!({"q": "公交站点", "include_private": true});
    let (_, own) = ckan.post_as(&token, "package_search", search.clone()).await;
    assert_eq!(own["result"]["results"][0]["id"], json!(id));
    let (_, public) = ckan.post("package_search", search.clone()).await;
    assert!(public["result"]["results"].as_array().unwrap().iter().all(|p| p["id"] != json!(id)));
    let (_, theirs) = ckan.post_as(&other, "package_search", search).await;
    assert!(theirs["result"]["results"].as_array().unwrap().iter().all(|p| p["id"] != json!(id)));

    // Deleting a draft keeps it on record as deleted.
    let (status, deleted) = ckan.post_as(&token, "package_delete", json!({"id": id})).await;
    assert_eq!(status, StatusCode::OK, "{deleted}");
    let (_, shown) = ckan.post_as(&token, "package_show", json!({"id": id})).await;
    assert_eq!(
        (shown["result"]["state"].clone(), shown["result"]["gongshu_state"].clone()),
        (json!("deleted"), json!("discarded"))
    );
}

#[tokio::test]
async fn writes_name_what_is_wrong_in_ckan_terms() {
    let ckan = Ckan::new().await;
    let token = ckan.token("jt-editor").await;
    let mut bare = new_dataset();
    bare.as_object_mut().unwrap().retain(|k, _| k == "name" || k == "owner_org");
    let (status, refused) = ckan.post_as(&token, "package_create", bare).await;
    assert_eq!(status, StatusCode::CONFLICT);
    let error = &refused["error"];
    assert_eq!(error["__type"], "Validation Error");
    assert!(error["notes"].is_array() && error["groups"].is_array(), "{error}");

    let mut private = new_dataset();
    private["private"] = json!(true);
    let (_, refused) = ckan.post_as(&token, "package_create", private.clone()).await;
    assert!(refused["error"]["open_attribute"].is_array(), "{refused}");
    private["extras"] = json!([{"key": "open_attribute", "value": "conditional"}, {"key": "open_conditions", "value": "经审核的科研机构"}]);
    let (status, created) = ckan.post_as(&token, "package_create", private).await;
    assert_eq!(status, StatusCode::OK, "{created}");
    assert_eq!(created["result"]["gongshu"]["open"]["conditions"], "经审核的科研机构");

    let mut elsewhere = new_dataset();
    elsewhere["owner_org"] = json!("杭州市卫生健康委员会");
    let (status, refused) = ckan.post_as(&token, "package_create", elsewhere).await;
    assert_eq!((status, refused["error"]["__type"].clone()), (StatusCode::FORBIDDEN, json!("Authorization Error")));
    let mut nowhere = new_dataset();
    nowhere["owner_org"] = json!("no-such-org");
    let (_, refused) = ckan.post_as(&token, "package_create", nowhere).await;
    assert!(refused["error"]["owner_org"].is_array(), "{refused}");

    let id = created["result"]["id"].as_str().unwrap();
    let (_, refused) =
        ckan.post_as(&token, "resource_create", json!({"package_id": id, "url": "http://example.com/a.csv"})).await;
    assert!(refused["error"]["url"][0].as_str().unwrap().contains("upload"), "{refused}");
    let (_, refused) =
        ckan.upload_as(&token, "resource_create", &[("package_id", id)], ("bad.xlsx", "a,b\n1,2\n")).await;
    assert_eq!(refused["error"]["__type"], "Validation Error", "{refused}");
    let (_, refused) = ckan.post_as(&token, "package_create", json!({"id": id, "gongshu": {"items": 3}})).await;
    assert_eq!(refused["error"]["__type"], "Validation Error", "{refused}");
}

#[tokio::test]
async fn dumped_datasets_load_whole_and_registered_ones_change_by_registration() {
    let ckan = Ckan::new().await;
    let token = ckan.token("qx-editor").await;
    let weather = ckan.id_of("天气").await;
    let (_, dumped) = ckan.post("package_show", json!({"id": weather})).await;
    let dumped = dumped["result"].clone();

    // Loading an unchanged dump into the same portal changes nothing.
    let (status, same) = ckan.post_as(&token, "package_update", dumped.clone()).await;
    assert_eq!(status, StatusCode::OK, "{same}");
    assert_eq!(same["result"]["metadata_modified"], dumped["metadata_modified"]);

    // A change to a registered entry is a change registration, with a reason.
    let mut changed = dumped.clone();
    changed["title"] = json!("西雅图逐日天气（更新）");
    let (status, refused) = ckan.post_as(&token, "package_update", changed.clone()).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(refused["error"]["change_reason"].is_array(), "{refused}");
    changed["change_reason"] = json!("名称更准确");
    let (status, filed) = ckan.post_as(&token, "package_update", changed).await;
    assert_eq!(status, StatusCode::OK, "{filed}");
    assert_eq!(filed["result"]["title"], dumped["title"], "the change waits for its registration");
    let view = ckan.app.resource(&ckan.app.subject_of("qx-editor").await.unwrap(), &weather).await.unwrap();
    let pending = view.pending_registration.expect("a change registration is under way");
    assert_eq!(pending.proposed.unwrap().name_zh, "西雅图逐日天气（更新）");

    // The dump, as a new dataset under a chosen id, keeps every registration field.
    let mut copy = dumped.clone();
    let new_id = "0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b";
    copy["id"] = json!(new_id);
    let (status, created) = ckan.post_as(&token, "package_create", copy.clone()).await;
    assert_eq!(status, StatusCode::OK, "{created}");
    assert_eq!(created["result"]["id"], new_id);
    assert_eq!(created["result"]["gongshu"], dumped["gongshu"]);
    let (status, again) = ckan.post_as(&token, "package_create", copy).await;
    assert_eq!((status, again["error"]["__type"].clone()), (StatusCode::CONFLICT, json!("Validation Error")));

    // A registered entry is deleted by cancellation registration.
    let (_, refused) = ckan.post_as(&token, "package_delete", json!({"id": weather})).await;
    assert!(refused["error"]["reason"].is_array(), "{refused}");
}

#[tokio::test]
async fn the_bureau_creates_organizations() {
    let ckan = Ckan::new().await;
    let editor = ckan.token("jt-editor").await;
    let (status, _) =
        ckan.post_as(&editor, "organization_create", json!({"name": "sw", "title": "杭州市商务局"})).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let admin = ckan._demo.admin_token.clone();
    let (status, created) = ckan
        .post_as(
            &admin,
            "organization_create",
            json!({"name": "sw", "title": "杭州市商务局", "title_en": "Commerce Bureau"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{created}");
    assert_eq!(
        (created["result"]["title"].clone(), created["result"]["region"].clone()),
        (json!("杭州市商务局"), json!("330100"))
    );
    let (_, listed) = ckan.get("organization_list").await;
    assert!(listed["result"].as_array().unwrap().contains(&created["result"]["id"]));
    let (status, again) = ckan.post_as(&admin, "organization_create", json!({"title": "杭州市商务局"})).await;
    assert_eq!((status, again["error"]["__type"].clone()), (StatusCode::CONFLICT, json!("Validation Error")));
}

#[tokio::test]
async fn uploads_are_large_signed_in_and_a_deleted_draft_ends_its_returned_registration() {
    let ckan = Ckan::new().await;
    let (status, refused) = ckan.upload_as("", "resource_create", &[("package_id", "x")], ("a.csv", "a\n1\n")).await;
    assert_eq!((status, refused["error"]["__type"].clone()), (StatusCode::FORBIDDEN, json!("Authorization Error")));

    let token = ckan.token("jt-editor").await;
    let (_, created) = ckan.post_as(&token, "package_create", new_dataset()).await;
    let id = created["result"]["id"].as_str().unwrap().to_owned();
    // Larger than axum's default body limit of 2 MiB.
    let mut csv = String::from("站点编码,站点名称,线路数\n");
    for n in 0..120_000 {
        csv.push_str(&format!("{n:06},站点{n},{}\n", n % 40));
    }
    assert!(csv.len() > 2 * 1024 * 1024);
    let (status, loaded) = ckan.upload_as(&token, "resource_create", &[("package_id", &id)], ("stops.csv", &csv)).await;
    assert_eq!(status, StatusCode::OK, "{loaded}");
    let (_, rows) = ckan.post_as(&token, "datastore_search", json!({"resource_id": id, "limit": 1})).await;
    assert_eq!(rows["result"]["total"], 120_000);

    let editor = ckan.app.subject_of("jt-editor").await.unwrap();
    let reviewer = ckan.app.subject_of("sjj-reviewer").await.unwrap();
    let registration = ckan.app.submit_resource(&editor, &id).await.unwrap();
    ckan.app.act_on_registration(&reviewer, &registration.id, "return", Some("请补充数据项说明")).await.unwrap();
    let (status, deleted) = ckan.post_as(&token, "package_delete", json!({"id": id})).await;
    assert_eq!(status, StatusCode::OK, "{deleted}");
    let after = ckan.app.registration(&reviewer, &registration.id).await.unwrap();
    assert_eq!(after.registration.state.code(), "withdrawn", "no registration is left waiting for a deleted draft");
}
