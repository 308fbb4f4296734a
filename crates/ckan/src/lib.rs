//! CKAN's Action API over Gongshu's catalog, so that the open-data world's
//! tools (ckanapi, frictionless' CKAN adapter, harvesters, notebooks) work
//! against a Gongshu portal unchanged.
//!
//! `/api/3/action/{name}` and `/api/action/{name}` accept GET (query
//! parameters, whose values may be JSON) and POST (a JSON object), and
//! answer CKAN's envelope: `{"help", "success": true, "result"}`, or
//! `{"success": false, "error": {"__type", "message"}}` with CKAN's status
//! codes. Tokens are accepted raw in `Authorization` (as ckanapi sends them)
//! or in `X-CKAN-API-Key`.
//!
//! Mapping: a published catalog entry is a CKAN dataset (`id` and `name`
//! are the entry's id); its data is one CKAN resource with the same id,
//! `datastore_active`, whose `url` downloads the newest version as CSV;
//! providers are organizations; themes are groups; keywords are tags.
//!
//! **Architecture Invariant:** every action calls `App` as the caller's
//! subject; rows come from the access gateway, as through the native API.

mod actions;
mod write;

use axum::Router;
use axum::extract::{FromRequest, Path, RawQuery, Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use gongshu_app::{App, AppError};
use gongshu_policy::Subject;
use serde_json::{Map, Value, json};

/// What handlers share.
#[derive(Clone)]
pub(crate) struct CkanState {
    pub(crate) app: App,
}

/// The CKAN routes.
pub fn router(app: App) -> Router {
    Router::new()
        .route("/api/3/action/{name}", axum::routing::get(action).post(action))
        .route("/api/action/{name}", axum::routing::get(action).post(action))
        // Uploads may be large; the limits are applied while reading (JSON
        // bodies: MAX_JSON_BYTES; files: MAX_UPLOAD_BYTES, streamed to disk).
        .layer(axum::extract::DefaultBodyLimit::disable())
        .with_state(CkanState { app })
}

/// A CKAN error: its `__type`, HTTP status and message.
#[derive(Debug)]
pub(crate) struct CkanError {
    status: StatusCode,
    kind: &'static str,
    message: String,
    fields: Option<Map<String, Value>>,
}

impl CkanError {
    pub(crate) fn validation(field: &str, message: impl Into<String>) -> CkanError {
        let message = message.into();
        let mut fields = Map::new();
        fields.insert(field.to_owned(), json!([message.clone()]));
        CkanError { status: StatusCode::CONFLICT, kind: "Validation Error", message, fields: Some(fields) }
    }

    pub(crate) fn not_found(message: impl Into<String>) -> CkanError {
        CkanError { status: StatusCode::NOT_FOUND, kind: "Not Found Error", message: message.into(), fields: None }
    }

    pub(crate) fn search(message: impl Into<String>) -> CkanError {
        CkanError { status: StatusCode::CONFLICT, kind: "Search Query Error", message: message.into(), fields: None }
    }
}

impl From<AppError> for CkanError {
    fn from(error: AppError) -> CkanError {
        match error {
            AppError::NotFound { entity, id } => CkanError::not_found(format!("{entity} not found: {id}")),
            AppError::Validation(problems) => {
                let mut fields = Map::new();
                for problem in &problems.0 {
                    fields.insert(
                        problem.field.clone(),
                        json!([format!("{} ({})", problem.message_en, problem.message_zh)]),
                    );
                }
                let message =
                    problems.0.iter().map(|p| format!("{}: {}", p.field, p.message_en)).collect::<Vec<_>>().join("; ");
                CkanError { status: StatusCode::CONFLICT, kind: "Validation Error", message, fields: Some(fields) }
            }
            AppError::Unauthenticated(why) => CkanError {
                status: StatusCode::FORBIDDEN,
                kind: "Authorization Error",
                message: why.to_owned(),
                fields: None,
            },
            AppError::Forbidden { en, zh } => CkanError {
                status: StatusCode::FORBIDDEN,
                kind: "Authorization Error",
                message: format!("{en} ({zh})"),
                fields: None,
            },
            AppError::InvalidTransition(transition) => CkanError {
                status: StatusCode::CONFLICT,
                kind: "Validation Error",
                message: transition.to_string(),
                fields: None,
            },
            AppError::Conflict { en, zh } => CkanError {
                status: StatusCode::CONFLICT,
                kind: "Validation Error",
                message: format!("{en} ({zh})"),
                fields: None,
            },
            AppError::Internal(error) => {
                tracing::error!(%error, "a CKAN action failed");
                CkanError {
                    status: StatusCode::INTERNAL_SERVER_ERROR,
                    kind: "Internal Server Error",
                    message: "internal error".into(),
                    fields: None,
                }
            }
        }
    }
}

fn help_url(name: &str) -> String {
    format!("/api/3/action/help_show?name={name}")
}

fn envelope(name: &str, result: Result<Value, CkanError>) -> Response {
    match result {
        Ok(result) => {
            (StatusCode::OK, axum::Json(json!({ "help": help_url(name), "success": true, "result": result })))
                .into_response()
        }
        Err(error) => {
            let mut body = Map::new();
            body.insert("__type".into(), json!(error.kind));
            body.insert("message".into(), json!(error.message));
            if let Some(fields) = error.fields {
                body.extend(fields);
            }
            (error.status, axum::Json(json!({ "help": help_url(name), "success": false, "error": body })))
                .into_response()
        }
    }
}

/// The caller: a raw token in `Authorization` (ckanapi), `Bearer <token>`,
/// or `X-CKAN-API-Key`; the public without one.
async fn caller(app: &App, headers: &HeaderMap) -> Result<Subject, CkanError> {
    let token = headers
        .get(header::AUTHORIZATION)
        .or_else(|| headers.get("x-ckan-api-key"))
        .and_then(|v| v.to_str().ok())
        .map(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")).unwrap_or(v).trim().to_owned())
        .filter(|v| !v.is_empty());
    match token {
        None => Ok(Subject::Anonymous),
        Some(token) => app.authenticate(&token).await.map_err(|error| match error {
            AppError::Unauthenticated(_) => CkanError {
                status: StatusCode::FORBIDDEN,
                kind: "Authorization Error",
                message: "the API key is not valid or has been revoked".into(),
                fields: None,
            },
            other => other.into(),
        }),
    }
}

/// A file sent as the multipart field `upload`, kept on disk until the
/// action ends.
pub(crate) struct Upload {
    /// Where it was received; removed when dropped.
    pub(crate) path: tempfile::TempPath,
    /// The name the client gave it; its extension picks the format.
    pub(crate) file_name: String,
}

/// The largest upload accepted, as on the native API.
const MAX_UPLOAD_BYTES: u64 = 16 * 1024 * 1024 * 1024;
/// The largest JSON body accepted (a dataset dict with many resources).
const MAX_JSON_BYTES: usize = 16 * 1024 * 1024;

/// The action's parameters: the query string (values that parse as JSON
/// are JSON, as CKAN reads them), then a JSON body's keys or a multipart
/// form's fields, with its `upload` file streamed to disk.
async fn parameters(
    app: &App,
    subject: &Subject,
    method: &Method,
    query: Option<String>,
    request: Request,
) -> Result<(Map<String, Value>, Option<Upload>), CkanError> {
    let mut params = Map::new();
    for (key, value) in url::form_urlencoded::parse(query.unwrap_or_default().as_bytes()).into_owned() {
        let parsed = match serde_json::from_str::<Value>(&value) {
            Ok(json @ (Value::Object(_) | Value::Array(_) | Value::Bool(_) | Value::Number(_))) => json,
            _ => Value::String(value),
        };
        // Repeated keys (`facet.field=a&facet.field=b`) become a list.
        match params.get_mut(&key) {
            Some(Value::Array(items)) if !parsed.is_array() => items.push(parsed),
            Some(existing) => *existing = json!([existing.clone(), parsed]),
            None => {
                params.insert(key, parsed);
            }
        }
    }
    let multipart = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().starts_with("multipart/form-data"));
    if method == Method::POST && multipart {
        // Nothing reaches the disk before the caller is known to be signed in.
        if *subject == Subject::Anonymous {
            return Err(CkanError {
                status: StatusCode::FORBIDDEN,
                kind: "Authorization Error",
                message: "uploads require an authenticated user: send an API token (上传需要 API 令牌)".into(),
                fields: None,
            });
        }
        let upload = multipart_fields(app, request, &mut params).await?;
        return Ok((params, upload));
    }
    if method == Method::POST {
        let bytes = axum::body::to_bytes(request.into_body(), MAX_JSON_BYTES).await.map_err(|e| {
            CkanError::validation("body", format!("cannot read the request body (at most 16 MiB): {e}"))
        })?;
        if !bytes.iter().all(u8::is_ascii_whitespace) {
            match serde_json::from_slice::<Value>(&bytes) {
                Ok(Value::Object(body)) => params.extend(body),
                Ok(_) => return Err(CkanError::validation("body", "the body must be a JSON object")),
                Err(e) => return Err(CkanError::validation("body", format!("the body is not valid JSON: {e}"))),
            }
        }
    }
    Ok((params, None))
}

async fn multipart_fields(
    app: &App,
    request: Request,
    params: &mut Map<String, Value>,
) -> Result<Option<Upload>, CkanError> {
    use tokio::io::AsyncWriteExt;
    let bad =
        |e: &dyn std::fmt::Display| CkanError::validation("upload", format!("cannot read the multipart form: {e}"));
    let mut form = axum::extract::Multipart::from_request(request, &()).await.map_err(|e| bad(&e))?;
    let mut upload = None;
    while let Some(mut field) = form.next_field().await.map_err(|e| bad(&e))? {
        let name = field.name().unwrap_or_default().to_owned();
        if name != "upload" {
            let text = field.text().await.map_err(|e| bad(&e))?;
            params.insert(name, Value::String(text));
            continue;
        }
        let file_name = field
            .file_name()
            .map(|n| n.rsplit(['/', '\\']).next().unwrap_or(n).trim().to_owned())
            .filter(|n| !n.is_empty())
            .ok_or_else(|| CkanError::validation("upload", "the file has no name; its extension tells its format"))?;
        let scratch = app.scratch_file()?;
        // The scratch name has no extension; ingest picks the format by it.
        let named = scratch.path().with_file_name(format!(
            "{}-{file_name}",
            scratch.path().file_name().and_then(|n| n.to_str()).unwrap_or("upload")
        ));
        let path = tempfile::TempPath::try_from_path(named).map_err(internal)?;
        let mut file = tokio::fs::File::create(&path).await.map_err(internal)?;
        let mut received = 0u64;
        while let Some(chunk) = field.chunk().await.map_err(|e| bad(&e))? {
            received += chunk.len() as u64;
            if received > MAX_UPLOAD_BYTES {
                return Err(CkanError::validation(
                    "upload",
                    format!("the file is larger than {} GiB (文件过大)", MAX_UPLOAD_BYTES >> 30),
                ));
            }
            file.write_all(&chunk).await.map_err(internal)?;
        }
        file.flush().await.map_err(internal)?;
        upload = Some(Upload { path, file_name });
    }
    Ok(upload)
}

fn internal(error: std::io::Error) -> CkanError {
    AppError::Internal(Box::new(error)).into()
}

async fn action(
    State(state): State<CkanState>,
    Path(name): Path<String>,
    method: Method,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    request: Request,
) -> Response {
    let result = async {
        let subject = caller(&state.app, &headers).await?;
        let (params, upload) = parameters(&state.app, &subject, &method, query, request).await?;
        let base_url = headers
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .map_or_else(|| "http://127.0.0.1:8080".to_owned(), |host| format!("http://{host}"));
        let context = actions::Context { app: &state.app, subject, params, upload, base_url };
        actions::run(&name, context).await
    }
    .await;
    envelope(&name, result)
}
