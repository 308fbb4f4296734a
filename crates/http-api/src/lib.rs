//! The JSON API under `/api/v1`, its OpenAPI document at
//! `/api/v1/openapi.json`, and `/healthz`.
//!
//! **Architecture Invariant:** this is the only crate that knows the JSON wire
//! format of the native API. Handlers are thin: extract, call one
//! [`gongshu_app::App`] function, map the result. Wire types live in
//! [`dto`] and are converted by hand from domain types.

pub mod dto;
pub mod error;
mod extract;
mod routes;

use axum::Router;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use gongshu_app::App;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;

pub use error::{ApiError, ErrorCode};

/// What every handler receives.
#[derive(Clone)]
pub struct ApiState {
    /// The use cases.
    pub app: App,
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Gongshu (公数) API",
        description = "Public data resources: catalog, registration (登记), 一数一源.\n\nAuthenticate with `Authorization: Bearer <token>`; without it you act as the public.\n\nErrors share one body, `{\"error\": {\"code\", \"message\", \"message_zh\", \"details\", \"current_state\"}}`; `code` is stable:\n\n| code | status | meaning |\n|---|---|---|\n| bad_request | 400 | malformed JSON, unknown or mistyped fields, malformed query string |\n| validation_failed | 422 | input is invalid; `details` names every field and problem |\n| unauthenticated | 401 | missing, unknown, revoked or expired API token |\n| forbidden | 403 | the caller's roles do not allow the action |\n| not_found | 404 | no such entity, or not visible to the caller |\n| invalid_transition | 409 | the current state does not allow the action; see `current_state` |\n| conflict | 409 | conflicts with existing data or pending work |\n| route_not_found | 404 | no such route |\n| method_not_allowed | 405 | method not allowed on this route |\n| internal | 500 | internal error; details are in the server log |",
        license(name = "Apache-2.0")
    ),
    components(schemas(error::ErrorBody)),
    modifiers(&BearerAuth)
)]
struct ApiDoc;

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
        openapi.security =
            Some(vec![utoipa::openapi::security::SecurityRequirement::new("bearer", Vec::<String>::new())]);
    }
}

/// The routes of `/api/v1` with the OpenAPI document they describe.
fn api() -> (Router<ApiState>, utoipa::openapi::OpenApi) {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(routes::meta::router())
        .merge(routes::accounts::router())
        .merge(routes::resources::router())
        .merge(routes::search::router())
        .merge(routes::registrations::router())
        .merge(routes::requests::router())
        .merge(routes::harvest::router())
        .merge(routes::sharing::router())
        .merge(routes::agreements::router())
        .merge(routes::duties::router())
        .merge(routes::bundles::router())
        .merge(routes::ledger::router())
        .merge(routes::supervision::router())
        .merge(routes::products::router())
        .merge(routes::versions::router())
        .merge(routes::data::router())
        .split_for_parts()
}

/// The OpenAPI document of the API, as served at `/api/v1/openapi.json`.
pub fn openapi_json() -> String {
    api().1.to_pretty_json().expect("the OpenAPI document serializes")
}

/// The API router with its OpenAPI document; every unknown path answers
/// the API's JSON error.
pub fn router(app: App) -> Router {
    routes(app).fallback(route_not_found)
}

/// The API's routes without a fallback, for a binary that serves other
/// pages beside them: unknown paths under `/api/` still answer the API's
/// JSON error; other paths are the caller's.
pub fn routes(app: App) -> Router {
    let (api, openapi) = api();
    let openapi_json = openapi.to_pretty_json().expect("the OpenAPI document serializes");
    Router::new()
        .route("/healthz", axum::routing::get(routes::meta::healthz))
        .route(
            "/api/v1/openapi.json",
            axum::routing::get(move || async move { ([("content-type", "application/json")], openapi_json.clone()) }),
        )
        .merge(api)
        .route("/api/{*rest}", axum::routing::any(route_not_found))
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(ApiState { app })
}

async fn route_not_found(uri: axum::http::Uri) -> impl IntoResponse {
    ApiError::new(
        ErrorCode::RouteNotFound,
        format!("no route for {}", uri.path()),
        format!("不存在路径 {}", uri.path()),
    )
}

async fn method_not_allowed(method: axum::http::Method, uri: axum::http::Uri) -> impl IntoResponse {
    let _ = StatusCode::METHOD_NOT_ALLOWED;
    ApiError::new(
        ErrorCode::MethodNotAllowed,
        format!("{method} is not allowed on {}", uri.path()),
        format!("{} 不支持 {method} 方法", uri.path()),
    )
}
