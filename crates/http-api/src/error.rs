//! The one error body of the API and its table of stable error codes.
//!
//! Every error answers `{"error": {"code", "message", "message_zh", …}}`.
//! `code` never changes once released; clients branch on it. Internal errors
//! say nothing about their cause to the client; the cause is logged.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use gongshu_app::AppError;
use gongshu_domain::{
    ApplicationKind, DuplicateFlagState, ObjectionState, RegistrationAction, RegistrationState, ResourceEvent,
    ResourceState,
};
use serde::Serialize;
use utoipa::ToSchema;

/// Every error code the API answers with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    /// The body is not JSON, has unknown fields or the wrong types, or the
    /// query string is malformed.
    BadRequest,
    /// The input is well-formed but invalid; `details` lists every problem.
    ValidationFailed,
    /// No valid API token was presented.
    Unauthenticated,
    /// The token's user may not do this.
    Forbidden,
    /// No such thing, or it is not visible to the caller.
    NotFound,
    /// The entity's current state does not allow the action; `current_state` says which it is.
    InvalidTransition,
    /// The action conflicts with existing data or pending work.
    Conflict,
    /// No such route.
    RouteNotFound,
    /// The route exists but not with this method.
    MethodNotAllowed,
    /// Something failed on our side.
    Internal,
}

/// The table: code, HTTP status, meaning. Served in the OpenAPI document.
pub const ERROR_CODES: &[(ErrorCode, u16, &str)] = &[
    (ErrorCode::BadRequest, 400, "malformed JSON, unknown or mistyped fields, malformed query string"),
    (ErrorCode::ValidationFailed, 422, "input is invalid; `details` names every field and problem"),
    (ErrorCode::Unauthenticated, 401, "missing, unknown, revoked or expired API token"),
    (ErrorCode::Forbidden, 403, "the caller's roles do not allow the action"),
    (ErrorCode::NotFound, 404, "no such entity, or not visible to the caller"),
    (ErrorCode::InvalidTransition, 409, "the current state does not allow the action; see `current_state`"),
    (ErrorCode::Conflict, 409, "conflicts with existing data or pending work"),
    (ErrorCode::RouteNotFound, 404, "no such route"),
    (ErrorCode::MethodNotAllowed, 405, "method not allowed on this route"),
    (ErrorCode::Internal, 500, "internal error; details are in the server log"),
];

impl ErrorCode {
    /// The stable snake_case code.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::BadRequest => "bad_request",
            ErrorCode::ValidationFailed => "validation_failed",
            ErrorCode::Unauthenticated => "unauthenticated",
            ErrorCode::Forbidden => "forbidden",
            ErrorCode::NotFound => "not_found",
            ErrorCode::InvalidTransition => "invalid_transition",
            ErrorCode::Conflict => "conflict",
            ErrorCode::RouteNotFound => "route_not_found",
            ErrorCode::MethodNotAllowed => "method_not_allowed",
            ErrorCode::Internal => "internal",
        }
    }

    fn status(self) -> StatusCode {
        let status = ERROR_CODES.iter().find(|(code, _, _)| *code == self).map(|(_, status, _)| *status).unwrap_or(500);
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }
}

/// The error body.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// The error.
    pub error: ErrorDetail,
}

/// What went wrong.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorDetail {
    /// Stable code; see the table in the API description.
    pub code: &'static str,
    /// What went wrong, in English.
    pub message: String,
    /// What went wrong, in Chinese.
    pub message_zh: String,
    /// Every invalid field (`validation_failed`, sometimes `bad_request`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub details: Vec<FieldProblem>,
    /// The entity's state (`invalid_transition`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub current_state: Option<&'static str>,
}

/// One invalid field.
#[derive(Debug, Serialize, ToSchema)]
pub struct FieldProblem {
    /// Path of the field, e.g. `items[2].level`.
    pub field: String,
    /// The problem, in English.
    pub message: String,
    /// The problem, in Chinese.
    pub message_zh: String,
}

/// An error on its way to becoming a response.
#[derive(Debug)]
pub struct ApiError {
    code: ErrorCode,
    message: String,
    message_zh: String,
    details: Vec<FieldProblem>,
    current_state: Option<&'static str>,
}

impl ApiError {
    /// An error with a message in both languages.
    pub fn new(code: ErrorCode, message: impl Into<String>, message_zh: impl Into<String>) -> Self {
        ApiError { code, message: message.into(), message_zh: message_zh.into(), details: vec![], current_state: None }
    }

    /// A malformed request naming one field.
    pub fn bad_field(field: impl Into<String>, message: impl Into<String>, message_zh: impl Into<String>) -> Self {
        let field = field.into();
        let message = message.into();
        let message_zh = message_zh.into();
        let mut error = ApiError::new(
            ErrorCode::BadRequest,
            format!("invalid request: {field}: {message}"),
            format!("请求格式错误：{field}：{message_zh}"),
        );
        error.details.push(FieldProblem { field, message, message_zh });
        error
    }
}

impl From<AppError> for ApiError {
    fn from(error: AppError) -> Self {
        match error {
            AppError::Validation(problems) => {
                let first = problems.0.first().map(|p| (p.field.clone(), p.message_en.clone(), p.message_zh.clone()));
                let (message, message_zh) = match (first, problems.0.len()) {
                    (Some((field, en, zh)), 1) => (format!("{field}: {en}"), format!("{field}：{zh}")),
                    (_, n) => (format!("{n} fields are invalid; see details"), format!("{n} 个字段无效，详见 details")),
                };
                let details = problems
                    .0
                    .into_iter()
                    .map(|p| FieldProblem { field: p.field, message: p.message_en, message_zh: p.message_zh })
                    .collect();
                ApiError { details, ..ApiError::new(ErrorCode::ValidationFailed, message, message_zh) }
            }
            AppError::Unauthenticated(why) => ApiError::new(ErrorCode::Unauthenticated, why, unauthenticated_zh(why)),
            AppError::Forbidden { en, zh } => ApiError::new(ErrorCode::Forbidden, en, zh),
            AppError::NotFound { entity, id } => ApiError::new(
                ErrorCode::NotFound,
                format!("{entity} `{id}` not found"),
                format!("未找到{} `{id}`", entity_zh(entity)),
            ),
            AppError::InvalidTransition(refused) => ApiError {
                current_state: Some(refused.current),
                ..ApiError::new(
                    ErrorCode::InvalidTransition,
                    format!("cannot {} this {} in state `{}`", refused.action, refused.entity, refused.current),
                    format!(
                        "{}当前为“{}”（{}），不能执行“{}”（{}）",
                        entity_zh(refused.entity),
                        state_zh(refused.entity, refused.current),
                        refused.current,
                        action_zh(refused.entity, refused.action),
                        refused.action,
                    ),
                )
            },
            AppError::Conflict { en, zh } => ApiError::new(ErrorCode::Conflict, en, zh),
            AppError::Internal(cause) => {
                tracing::error!(error = %cause, "internal error");
                ApiError::new(ErrorCode::Internal, "internal error", "服务器内部错误")
            }
        }
    }
}

/// The Chinese name of an entity kind.
fn entity_zh(entity: &str) -> &'static str {
    match entity {
        "resource" => "数据资源",
        "registration" => "登记记录",
        "objection" => "异议",
        "duplicate_flag" | "duplicate flag" => "一数一源标记",
        "organization" => "组织",
        "user" => "用户",
        "token" => "令牌",
        "version" => "数据版本",
        "grant" => "授权",
        "agreement" => "协议",
        "ledger entry" => "账本条目",
        "checkpoint" => "检查点",
        "freeze" => "冻结记录",
        "alert" => "预警",
        "usage event" => "使用记录",
        "product" => "产品和服务",
        "subscription" => "订购",
        "disclosure" => "信息披露报告",
        _ => "记录",
    }
}

/// The Chinese label of a state code.
fn state_zh(entity: &str, code: &str) -> &'static str {
    let label = match entity {
        "resource" => ResourceState::parse("", code).map(ResourceState::label_zh).ok(),
        "registration" => RegistrationState::parse("", code).map(RegistrationState::label_zh).ok(),
        "subscription" => {
            gongshu_domain::SubscriptionState::parse("", code).map(gongshu_domain::SubscriptionState::label_zh).ok()
        }
        "product" => RegistrationState::parse("", code)
            .map(RegistrationState::label_zh)
            .or_else(|_| gongshu_domain::ListingState::parse("", code).map(gongshu_domain::ListingState::label_zh))
            .ok(),
        "objection" => ObjectionState::parse("", code).map(ObjectionState::label_zh).ok(),
        "duplicate_flag" => DuplicateFlagState::parse("", code).map(DuplicateFlagState::label_zh).ok(),
        _ => None,
    };
    label.unwrap_or("未知状态")
}

/// The Chinese label of an action code.
fn action_zh(entity: &str, code: &str) -> &'static str {
    let label = match (entity, code) {
        (_, "edit") => Some("编辑"),
        (_, "decide") => Some("处理"),
        ("resource", _) => ResourceEvent::parse("", code)
            .map(ResourceEvent::label_zh)
            .or_else(|_| ApplicationKind::parse("", code).map(ApplicationKind::label_zh))
            .ok(),
        ("registration", _) => RegistrationAction::parse("", code).map(RegistrationAction::label_zh).ok(),
        _ => None,
    };
    label.unwrap_or("该操作")
}

fn unauthenticated_zh(why: &str) -> &'static str {
    match why {
        "this API token was revoked" => "该 API 令牌已被吊销",
        "this API token has expired" => "该 API 令牌已过期",
        "unknown API token" => "API 令牌无效",
        "wrong user name or password" => "用户名或密码错误",
        _ => "此操作需要有效的 API 令牌",
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.code.status();
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.code.as_str(),
                message: self.message,
                message_zh: self.message_zh,
                details: self.details,
                current_state: self.current_state,
            },
        };
        let mut response = (status, Json(body)).into_response();
        if status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert("www-authenticate", axum::http::HeaderValue::from_static("Bearer"));
        }
        response
    }
}

/// Result of a handler.
pub type ApiResult<T> = Result<T, ApiError>;
