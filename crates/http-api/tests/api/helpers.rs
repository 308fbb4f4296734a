//! `TestApp`: the API router over a fresh SQLite store holding the demo, with
//! a clock the tests move, and typed request helpers.

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use gongshu_app::testing::DemoApp;
use gongshu_app::{ManualClock, demo};
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;

pub(crate) struct TestApp {
    pub(crate) router: Router,
    pub(crate) clock: Arc<ManualClock>,
    pub(crate) admin_token: String,
    _demo: DemoApp,
}

pub(crate) struct Response {
    pub(crate) status: StatusCode,
    pub(crate) body: Value,
}

impl TestApp {
    /// A fresh instance with the demo loaded, on Friday 27 November 2026.
    pub(crate) async fn with_demo() -> TestApp {
        let demo = DemoApp::new().await;
        TestApp {
            router: gongshu_http_api::router(demo.app.clone()),
            clock: demo.clock.clone(),
            admin_token: demo.admin_token.clone(),
            _demo: demo,
        }
    }

    pub(crate) async fn request(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Response {
        let mut request = Request::builder().method(method).uri(path);
        if let Some(token) = token {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        let request = match body {
            Some(body) => request.header("content-type", "application/json").body(Body::from(body.to_string())),
            None => request.body(Body::empty()),
        }
        .unwrap();
        let response = self.router.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()))
        };
        Response { status, body }
    }

    /// Sends a raw body (a file upload).
    pub(crate) async fn upload(&self, path: &str, token: Option<&str>, bytes: Vec<u8>) -> Response {
        let mut request = Request::builder().method(Method::POST).uri(path).header("content-type", "text/csv");
        if let Some(token) = token {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        let response = self.router.clone().oneshot(request.body(Body::from(bytes)).unwrap()).await.unwrap();
        let status = response.status();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        Response { status, body: serde_json::from_slice(&bytes).unwrap_or(Value::Null) }
    }

    /// Fetches a file: its status, content type and bytes.
    pub(crate) async fn download(&self, path: &str, token: Option<&str>) -> (StatusCode, String, Vec<u8>) {
        let mut request = Request::builder().method(Method::GET).uri(path);
        if let Some(token) = token {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        let response = self.router.clone().oneshot(request.body(Body::empty()).unwrap()).await.unwrap();
        let status = response.status();
        let content_type =
            response.headers().get("content-type").map_or_else(String::new, |v| v.to_str().unwrap().to_owned());
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        (status, content_type, bytes.to_vec())
    }

    pub(crate) async fn get(&self, path: &str, token: Option<&str>) -> Response {
        self.request(Method::GET, path, token, None).await
    }

    pub(crate) async fn post(&self, path: &str, token: Option<&str>, body: Value) -> Response {
        self.request(Method::POST, path, token, Some(body)).await
    }

    /// Signs a demo user in and answers their token.
    pub(crate) async fn login(&self, username: &str) -> String {
        let response = self
            .post(
                "/api/v1/auth/tokens",
                None,
                serde_json::json!({"username": username, "password": demo::DEMO_PASSWORD}),
            )
            .await;
        assert_eq!(response.status, StatusCode::CREATED, "{}", response.body);
        response.body["token"].as_str().unwrap().to_owned()
    }

    /// The id of the demo organization with this Chinese name.
    pub(crate) async fn org_id(&self, name_zh: &str) -> String {
        let orgs = self.get("/api/v1/organizations", None).await.body;
        orgs.as_array().unwrap().iter().find(|o| o["name_zh"] == name_zh).unwrap()["id"].as_str().unwrap().to_owned()
    }
}

/// A valid new catalog entry for `provider`.
pub(crate) fn new_resource(provider: &str) -> Value {
    serde_json::json!({
        "provider_org_id": provider,
        "name_zh": "养老机构名录",
        "name_en": "Registered elderly care institutions",
        "abstract_zh": "全市已备案养老机构的名称、地址和床位数。",
        "resource_class": "departmental",
        "theme": "社会救助",
        "items": [
            {"name": "name", "title": "机构名称", "data_type": "text", "identifier_kind": "none", "level": "general-1"},
            {"name": "beds", "title": "床位数", "data_type": "integer", "unit": "张", "identifier_kind": "none", "level": "general-1"}
        ],
        "share": {"kind": "unconditional"},
        "open": {"kind": "unconditional"},
        "update_cycle": "quarterly",
        "time_coverage": {"start": "2026-01-01"},
        "spatial_coverage": "330100",
        "license": "CC-BY-4.0",
        "keywords": ["养老", "机构"]
    })
}
