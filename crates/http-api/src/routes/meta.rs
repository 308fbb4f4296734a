//! Health, vocabularies and the working-day calculator.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use gongshu_domain::resource::parse_date;
use gongshu_domain::{
    ApplicationKind, DataType, IdentifierKind, OrgKind, RegistrationState, ResourceClass, ResourceState, Role,
    SecurityLevel, UpdateCycle, ValidationError,
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::ApiState;
use crate::error::{ApiError, ApiResult};
use crate::extract::ApiQuery;

pub(crate) fn router() -> OpenApiRouter<ApiState> {
    OpenApiRouter::new().routes(routes!(vocabularies)).routes(routes!(working_days))
}

/// `GET /healthz`: 200 when the metadata store answers.
pub(crate) async fn healthz(State(state): State<ApiState>) -> impl IntoResponse {
    match state.app.healthy().await {
        Ok(()) => (StatusCode::OK, Json(serde_json::json!({"status": "ok"}))),
        Err(error) => {
            tracing::error!(%error, "health check failed");
            (StatusCode::SERVICE_UNAVAILABLE, Json(serde_json::json!({"status": "unavailable"})))
        }
    }
}

/// One code with its Chinese label.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Term {
    code: &'static str,
    label_zh: &'static str,
}

/// Every closed list of codes the API accepts.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Vocabularies {
    org_kinds: Vec<Term>,
    roles: Vec<Term>,
    levels: Vec<Term>,
    resource_classes: Vec<Term>,
    update_cycles: Vec<Term>,
    identifier_kinds: Vec<Term>,
    data_types: Vec<Term>,
    resource_states: Vec<Term>,
    registration_applications: Vec<Term>,
    registration_states: Vec<Term>,
}

macro_rules! terms {
    ($ty:ty) => {
        <$ty>::ALL.iter().map(|v| Term { code: v.code(), label_zh: v.label_zh() }).collect()
    };
}

/// The code lists, with Chinese labels.
#[utoipa::path(get, path = "/api/v1/vocabularies", tag = "meta", responses((status = 200, description = "Success", body = Vocabularies)))]
async fn vocabularies() -> Json<Vocabularies> {
    Json(Vocabularies {
        org_kinds: terms!(OrgKind),
        roles: terms!(Role),
        levels: terms!(SecurityLevel),
        resource_classes: terms!(ResourceClass),
        update_cycles: terms!(UpdateCycle),
        identifier_kinds: terms!(IdentifierKind),
        data_types: terms!(DataType),
        resource_states: terms!(ResourceState),
        registration_applications: terms!(ApplicationKind),
        registration_states: terms!(RegistrationState),
    })
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct WorkingDaysQuery {
    /// Start day, `YYYY-MM-DD` (not counted).
    from: String,
    /// Working days to add (0–366).
    days: u32,
}

#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Deadline {
    from: String,
    days: u32,
    deadline: String,
}

/// The deadline `days` working days after `from`, in this instance's calendar.
#[utoipa::path(get, path = "/api/v1/calendar/deadline", tag = "meta", params(WorkingDaysQuery), responses((status = 200, description = "Success", body = Deadline), (status = 422, description = "Invalid input: `validation_failed`", body = crate::error::ErrorBody)))]
async fn working_days(
    State(state): State<ApiState>,
    ApiQuery(query): ApiQuery<WorkingDaysQuery>,
) -> ApiResult<Json<Deadline>> {
    let from = parse_date("from", &query.from).map_err(|e| ApiError::from(gongshu_app::AppError::from(e)))?;
    if query.days > 366 {
        let error = ValidationError::new("days", "must be at most 366", "不能超过 366");
        return Err(gongshu_app::AppError::from(error).into());
    }
    let deadline = state.app.calendar().add_working_days(from, query.days);
    Ok(Json(Deadline { from: from.to_string(), days: query.days, deadline: deadline.to_string() }))
}
