//! The open data portal (公共数据开放平台): server-rendered HTML pages in
//! Chinese and English over the same use cases as the JSON API. Every page
//! works without JavaScript: facets are links, the preview pages and
//! filters with forms, and charts are drawn on the server as SVG.
//!
//! Templates are embedded in the binary (minijinja, auto-escaped) and fail
//! loudly on a missing value, so a typo in a template is a failed test, not
//! a blank on a page.
//!
//! **Architecture Invariant:** pages read only through `App`, as the public
//! (`Subject::Anonymous`); data rows come from the access gateway, so the
//! portal can never show what the API would refuse.

// The agreement page's view is one large `json!` object.
#![recursion_limit = "256"]

mod agreements;
mod bundles;
mod chart;
mod duties;
mod i18n;
mod ledger;
mod pages;
mod products;
mod requests;
mod sharing;

use std::sync::Arc;

use axum::Router;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use gongshu_app::App;
use minijinja::{Environment, UndefinedBehavior};

pub use i18n::Lang;

/// What every handler shares.
#[derive(Clone)]
pub(crate) struct WebState {
    pub(crate) app: App,
    pub(crate) templates: Arc<Environment<'static>>,
}

const TEMPLATES: &[(&str, &str)] = &[
    ("base.html", include_str!("../templates/base.html")),
    ("macros.html", include_str!("../templates/macros.html")),
    ("home.html", include_str!("../templates/home.html")),
    ("search.html", include_str!("../templates/search.html")),
    ("dataset.html", include_str!("../templates/dataset.html")),
    ("organizations.html", include_str!("../templates/organizations.html")),
    ("organization.html", include_str!("../templates/organization.html")),
    ("harvest.html", include_str!("../templates/harvest.html")),
    ("whats_new.html", include_str!("../templates/whats_new.html")),
    ("feed.xml", include_str!("../templates/feed.xml")),
    ("error.html", include_str!("../templates/error.html")),
    ("requests.html", include_str!("../templates/requests.html")),
    ("request.html", include_str!("../templates/request.html")),
    ("request_form.html", include_str!("../templates/request_form.html")),
    ("sign_in.html", include_str!("../templates/sign_in.html")),
    ("console.html", include_str!("../templates/console.html")),
    ("sharing_form.html", include_str!("../templates/sharing_form.html")),
    ("sharing.html", include_str!("../templates/sharing.html")),
    ("grant.html", include_str!("../templates/grant.html")),
    ("answer.html", include_str!("../templates/answer.html")),
    ("open_form.html", include_str!("../templates/open_form.html")),
    ("operation_form.html", include_str!("../templates/operation_form.html")),
    ("operation_fields.html", include_str!("../templates/operation_fields.html")),
    ("agreement.html", include_str!("../templates/agreement.html")),
    ("bundle_form.html", include_str!("../templates/bundle_form.html")),
    ("ledger.html", include_str!("../templates/ledger.html")),
    ("supervision.html", include_str!("../templates/supervision.html")),
    ("bundle.html", include_str!("../templates/bundle.html")),
    ("products.html", include_str!("../templates/products.html")),
    ("product.html", include_str!("../templates/product.html")),
    ("disclosures.html", include_str!("../templates/disclosures.html")),
    ("disclosure.html", include_str!("../templates/disclosure.html")),
    ("statements.html", include_str!("../templates/statements.html")),
];

const STYLESHEET: &str = include_str!("../static/site.css");
/// Enhancements for readers with JavaScript; every page works without them.
const SCRIPT: &str = include_str!("../static/site.js");

fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_auto_escape_callback(|name| {
        if name.ends_with(".html") || name.ends_with(".xml") {
            minijinja::AutoEscape::Html
        } else {
            minijinja::AutoEscape::None
        }
    });
    // minijinja's HTML escaping also escapes `/`, which turns every URL in
    // an attribute into `&#x2f;` soup; the five characters that matter are enough.
    env.set_formatter(|out, state, value| match (state.auto_escape(), value.as_str()) {
        (minijinja::AutoEscape::Html, Some(text)) if !value.is_safe() => {
            out.write_str(&escape_html(text)).map_err(|_| minijinja::Error::from(minijinja::ErrorKind::WriteFailure))
        }
        _ => minijinja::escape_formatter(out, state, value),
    });
    for (name, source) in TEMPLATES {
        env.add_template(name, source).unwrap_or_else(|e| panic!("template {name}: {e}"));
    }
    env
}

/// Escapes text for HTML and XML: `&`, `<`, `>`, `"` and `'`.
fn escape_html(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            c => escaped.push(c),
        }
    }
    escaped
}

/// The portal's routes; the caller adds the API's beside them. Unknown
/// paths answer the portal's own 404 page.
pub fn router(app: App) -> Router {
    let state = WebState { app, templates: Arc::new(environment()) };
    Router::new()
        .route("/", axum::routing::get(pages::home))
        .route("/datasets", axum::routing::get(pages::search))
        .route("/datasets/{id}", axum::routing::get(pages::dataset))
        .route("/organizations", axum::routing::get(pages::organizations))
        .route("/organizations/{id}", axum::routing::get(pages::organization))
        .route("/harvest", axum::routing::get(pages::harvest_sources))
        .route("/ledger", axum::routing::get(ledger::page))
        .route("/products", axum::routing::get(products::list))
        .route("/products/{id}", axum::routing::get(products::detail))
        .route("/disclosures", axum::routing::get(products::disclosures))
        .route("/disclosures/{id}", axum::routing::get(products::disclosure))
        .route("/console/statements", axum::routing::get(products::statements))
        .route("/console/products/{id}", axum::routing::get(products::console).post(products::act))
        .route("/console/supervision", axum::routing::get(ledger::console).post(ledger::act))
        .route("/dataset/{id}", axum::routing::get(pages::ckan_dataset_page))
        .route("/whats-new", axum::routing::get(pages::whats_new))
        .route("/feed.atom", axum::routing::get(pages::feed))
        .route("/requests", axum::routing::get(requests::list).post(requests::submit))
        .route("/requests/new", axum::routing::get(requests::new_form))
        .route("/requests/{id}", axum::routing::get(requests::detail))
        .route("/console", axum::routing::get(requests::console))
        .route("/console/sign-in", axum::routing::get(requests::sign_in_form).post(requests::sign_in))
        .route("/console/sign-out", axum::routing::post(requests::sign_out))
        .route("/console/requests/{id}", axum::routing::get(requests::answer_form).post(requests::answer))
        .route("/console/sharing", axum::routing::post(sharing::submit))
        .route("/console/sharing/new", axum::routing::get(sharing::new_form))
        .route("/console/sharing/{id}", axum::routing::get(sharing::detail).post(sharing::act))
        .route("/console/grants/{id}", axum::routing::get(sharing::grant).post(sharing::grant_act))
        .route("/console/open-applications", axum::routing::post(agreements::open_submit))
        .route("/console/open-applications/new", axum::routing::get(agreements::open_form))
        .route("/console/operation-plans", axum::routing::post(agreements::plan_submit))
        .route("/console/operation-plans/new", axum::routing::get(agreements::plan_form))
        .route("/console/agreements/{id}", axum::routing::get(agreements::detail).post(agreements::act))
        .route("/console/duties", axum::routing::post(duties::create))
        .route("/console/bundles", axum::routing::post(bundles::submit))
        .route("/console/bundles/new", axum::routing::get(bundles::new_form))
        .route("/console/bundles/{id}", axum::routing::get(bundles::detail).post(bundles::act))
        .route("/console/duties/{id}", axum::routing::post(duties::link))
        .route(
            "/static/site.js",
            axum::routing::get(|| async {
                (
                    [
                        (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
                        (header::CACHE_CONTROL, "public, max-age=3600"),
                    ],
                    SCRIPT,
                )
            }),
        )
        .route(
            "/static/site.css",
            axum::routing::get(|| async {
                (
                    [
                        (header::CONTENT_TYPE, "text/css; charset=utf-8"),
                        (header::CACHE_CONTROL, "public, max-age=3600"),
                    ],
                    STYLESHEET,
                )
            }),
        )
        .fallback(pages::not_found)
        .layer(axum::middleware::from_fn(refuse_cross_site_posts))
        .with_state(state)
}

/// Refuses a form post whose `Origin` names another host: a second line of
/// defence behind the session cookie's `SameSite=Lax`, for every form the
/// portal has or will have.
async fn refuse_cross_site_posts(request: axum::extract::Request, next: axum::middleware::Next) -> Response {
    if request.method() == axum::http::Method::POST {
        let headers = request.headers();
        let origin_host = headers
            .get(header::ORIGIN)
            .and_then(|v| v.to_str().ok())
            .map(|origin| origin.split("://").nth(1).unwrap_or(origin).to_owned());
        let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
        if let (Some(origin_host), Some(host)) = (origin_host, host)
            && origin_host != host
        {
            return (StatusCode::FORBIDDEN, "cross-site form posts are refused (拒绝跨站提交)").into_response();
        }
    }
    next.run(request).await
}

/// A rendered page, remembering the language when `?lang=` chose it.
pub(crate) struct Page {
    pub(crate) status: StatusCode,
    pub(crate) body: String,
    pub(crate) content_type: &'static str,
    pub(crate) remember: Option<Lang>,
}

impl IntoResponse for Page {
    fn into_response(self) -> Response {
        let mut headers = HeaderMap::new();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(self.content_type));
        headers.insert(header::VARY, HeaderValue::from_static("Accept-Language, Cookie"));
        if let Some(lang) = self.remember {
            let cookie = format!("lang={}; Path=/; Max-Age=31536000; SameSite=Lax", lang.code());
            if let Ok(value) = HeaderValue::from_str(&cookie) {
                headers.insert(header::SET_COOKIE, value);
            }
        }
        (self.status, headers, self.body).into_response()
    }
}
