//! Extractors: the caller behind the request, and JSON bodies and query
//! strings that fail with our error body naming the offending field.

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::header;
use axum::http::request::Parts;
use gongshu_policy::Subject;
use serde::de::DeserializeOwned;

use crate::ApiState;
use crate::error::{ApiError, ErrorCode};

/// Who is calling: `Authorization: Bearer <token>`, or the public when the
/// header is absent. A header with a bad token is refused, not downgraded.
pub(crate) struct Caller(pub Subject);

impl FromRequestParts<ApiState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &ApiState) -> Result<Self, Self::Rejection> {
        let Some(value) = parts.headers.get(header::AUTHORIZATION) else {
            return Ok(Caller(Subject::Anonymous));
        };
        let value = value.to_str().map_err(|_| {
            ApiError::new(
                ErrorCode::Unauthenticated,
                "the Authorization header is not text",
                "Authorization 请求头不是文本",
            )
        })?;
        // CKAN clients send the bare token; everyone else sends `Bearer <token>`.
        let token = value.strip_prefix("Bearer ").or_else(|| value.strip_prefix("bearer ")).unwrap_or(value);
        Ok(Caller(state.app.authenticate(token).await?))
    }
}

/// A JSON body whose errors name the field (`items[2].level: unknown variant …`).
pub(crate) struct ApiJson<T>(pub T);

impl<T: DeserializeOwned> FromRequest<ApiState> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &ApiState) -> Result<Self, Self::Rejection> {
        let (is_json, bytes) = read_body(request, state).await?;
        parse_json(is_json, &bytes).map(ApiJson)
    }
}

/// Like [`ApiJson`], but an empty body means `T::default()` (for actions
/// whose body, an optional opinion, may be left out).
pub(crate) struct ApiJsonOrEmpty<T>(pub T);

impl<T: DeserializeOwned + Default> FromRequest<ApiState> for ApiJsonOrEmpty<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &ApiState) -> Result<Self, Self::Rejection> {
        let (is_json, bytes) = read_body(request, state).await?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(ApiJsonOrEmpty(T::default()));
        }
        parse_json(is_json, &bytes).map(ApiJsonOrEmpty)
    }
}

async fn read_body(request: Request, state: &ApiState) -> Result<(bool, axum::body::Bytes), ApiError> {
    let is_json = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json") || v.ends_with("+json"));
    let bytes = axum::body::Bytes::from_request(request, state)
        .await
        .map_err(|e| ApiError::new(ErrorCode::BadRequest, format!("cannot read the body: {e}"), "无法读取请求体"))?;
    Ok((is_json, bytes))
}

fn parse_json<T: DeserializeOwned>(is_json: bool, bytes: &[u8]) -> Result<T, ApiError> {
    if !is_json {
        return Err(ApiError::new(
            ErrorCode::BadRequest,
            "send the body as JSON with `Content-Type: application/json`",
            "请求体须为 JSON，并设置 `Content-Type: application/json`",
        ));
    }
    let deserializer = &mut serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(deserializer).map_err(|error| {
        let path = error.path().to_string();
        bad_input(if path == "." { None } else { Some(path) }, "body", &error.into_inner().to_string())
    })
}

/// Names a serde value kind (`a string`, `integer `42``) in Chinese.
fn kind_zh(kind: &str) -> String {
    let (head, value) = match kind.split_once(' ') {
        Some((head, value)) if !matches!(head, "a" | "an") => (head, Some(value)),
        _ => (kind.trim_start_matches("a ").trim_start_matches("an "), None),
    };
    let name = match head {
        "string" => "字符串",
        "sequence" => "数组",
        "map" | "struct" => "对象",
        "boolean" => "布尔值",
        "null" | "unit" => "null",
        "integer" | "u8" | "u16" | "u32" | "u64" | "i32" | "i64" | "usize" => "整数",
        "floating" | "f64" => "数字",
        other => other,
    };
    match value {
        Some(value) if !value.starts_with("point") => format!("{name} {value}"),
        _ => name.to_owned(),
    }
}

/// Turns a serde message into a field and a bilingual explanation. Unknown
/// and missing fields name the field itself rather than its parent.
fn bad_input(path: Option<String>, whole: &str, message: &str) -> ApiError {
    // serde_json appends the position, which means little to the person who sent it.
    let message = match message.find(" at line ") {
        Some(at) => &message[..at],
        None => message,
    };
    let quoted = |prefix: &str| message.strip_prefix(prefix).and_then(|rest| rest.split('`').next()).map(str::to_owned);
    // serde_path_to_error already ends the path of an unknown field with the
    // field; a missing field's path ends at its parent.
    let join = |name: &str| match &path {
        Some(path) if path == name || path.ends_with(&format!(".{name}")) => path.clone(),
        Some(parent) => format!("{parent}.{name}"),
        None => name.to_owned(),
    };
    let expected = message.split_once(", expected ").map(|(_, expected)| expected.replace("one of ", ""));
    let (field, zh) = if let Some(name) = quoted("unknown field `") {
        let hint = expected.map(|e| format!("，可用字段：{e}")).unwrap_or_default();
        (join(&name), format!("未知字段 `{name}`{hint}"))
    } else if let Some(name) = quoted("missing field `") {
        (join(&name), format!("缺少必填字段 `{name}`"))
    } else if let Some(rest) = message.strip_prefix("invalid type: ") {
        let (got, expected) = rest.split_once(", expected ").unwrap_or((rest, ""));
        (path.unwrap_or_else(|| whole.to_owned()), format!("类型错误：应为{}，收到{}", kind_zh(expected), kind_zh(got)))
    } else if message.contains("invalid digit") || message.contains("number too large") {
        (path.unwrap_or_else(|| whole.to_owned()), "不是有效的数字".to_owned())
    } else if let Some(value) = quoted("unknown variant `") {
        (path.unwrap_or_else(|| whole.to_owned()), format!("取值 `{value}` 无效"))
    } else {
        (path.unwrap_or_else(|| whole.to_owned()), "格式错误，详见英文说明".to_owned())
    };
    ApiError::bad_field(field, message, zh)
}

/// A query string whose errors name the parameter.
pub(crate) struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let query = parts.uri.query().unwrap_or("");
        let deserializer = serde_urlencoded::Deserializer::new(form_urlencoded::parse(query.as_bytes()));
        serde_path_to_error::deserialize(deserializer).map(ApiQuery).map_err(|error| {
            let path = error.path().to_string();
            bad_input(if path == "." { None } else { Some(path) }, "query", &error.into_inner().to_string())
        })
    }
}
