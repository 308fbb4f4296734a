//! Registration records, objections and 一数一源 flags.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use gongshu_app::{DuplicateDecision, ObjectionDecision, RegistrationQuery};
use gongshu_domain::ValidationError;
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::ApiState;
use crate::dto::{
    DuplicateDecisionInput, DuplicateFlagDto, HistoryDto, ObjectionDecisionInput, ObjectionDto, ObjectionInput,
    OpinionInput, PageDto, RegistrationDetailDto, RegistrationDto,
};
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{ApiJson, ApiJsonOrEmpty, ApiQuery, Caller};
use crate::routes::split_list;

pub(crate) fn router() -> OpenApiRouter<ApiState> {
    OpenApiRouter::new()
        .routes(routes!(list_registrations))
        .routes(routes!(get_registration))
        .routes(routes!(registration_history))
        .routes(routes!(act))
        .routes(routes!(raise_objection))
        .routes(routes!(decide_objection))
        .routes(routes!(list_duplicate_flags))
        .routes(routes!(decide_duplicate))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct ListQuery {
    /// States, comma-separated; `publicity` lists what is in 公示 now.
    state: Option<String>,
    /// Only records of this catalog entry.
    resource: Option<String>,
    /// Page size, 1–100 (20).
    limit: Option<i64>,
    /// Rows to skip.
    offset: Option<i64>,
}

/// Registration records. The public sees those in publicity and in force.
#[utoipa::path(get, path = "/api/v1/registrations", tag = "registrations", params(ListQuery), security((), ("bearer" = [])),
    responses((status = 200, description = "Success", body = PageDto<RegistrationDto>), (status = 422, description = "Invalid input: `validation_failed`", body = ErrorBody)))]
async fn list_registrations(
    State(state): State<ApiState>,
    Caller(subject): Caller,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> ApiResult<Json<PageDto<RegistrationDto>>> {
    let query = RegistrationQuery {
        states: split_list(query.state),
        resource_id: query.resource,
        limit: query.limit,
        offset: query.offset,
    };
    let list = state.app.registrations(&subject, query).await?;
    let today = state.app.today();
    let items = list
        .items
        .iter()
        .map(|(r, overdue)| RegistrationDto { overdue: *overdue, ..RegistrationDto::new(r, today) })
        .collect();
    Ok(Json(PageDto { items, total: list.total, limit: list.limit, offset: list.offset }))
}

/// One record with its entry and objections.
#[utoipa::path(get, path = "/api/v1/registrations/{id}", tag = "registrations", params(("id" = String, Path)), security((), ("bearer" = [])),
    responses((status = 200, description = "Success", body = RegistrationDetailDto), (status = 404, description = "Not found or not visible: `not_found`", body = ErrorBody)))]
async fn get_registration(
    State(state): State<ApiState>,
    Caller(subject): Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<RegistrationDetailDto>> {
    let view = state.app.registration(&subject, &id).await?;
    Ok(Json(RegistrationDetailDto::new(&view, state.app.today())))
}

/// Every step of the record.
#[utoipa::path(get, path = "/api/v1/registrations/{id}/history", tag = "registrations", params(("id" = String, Path)), security((), ("bearer" = [])),
    responses((status = 200, description = "Success", body = Vec<HistoryDto>), (status = 404, description = "Not found or not visible: `not_found`", body = ErrorBody)))]
async fn registration_history(
    State(state): State<ApiState>,
    Caller(subject): Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Vec<HistoryDto>>> {
    Ok(Json(state.app.registration_history(&subject, &id).await?.iter().map(HistoryDto::from).collect()))
}

/// Moves a record on: `accept`, `refuse`, `return`, `pass_review`, `reject`,
/// `assign_code` (bureau reviewers); `withdraw`, `resubmit` (the registrant).
#[utoipa::path(post, path = "/api/v1/registrations/{id}/actions/{action}", tag = "registrations",
    params(("id" = String, Path), ("action" = String, Path, description = "accept | refuse | return | pass_review | reject | assign_code | withdraw | resubmit")),
    request_body(content = OpinionInput, description = "`opinion` is required for refuse, return and reject"),
    responses((status = 200, description = "Success", body = RegistrationDto), (status = 403, description = "Not allowed: `forbidden`", body = ErrorBody), (status = 409, description = "State or data conflict: `invalid_transition`, `conflict`", body = ErrorBody), (status = 422, description = "Invalid input: `validation_failed`", body = ErrorBody)))]
async fn act(
    State(state): State<ApiState>,
    Caller(subject): Caller,
    Path((id, action)): Path<(String, String)>,
    ApiJsonOrEmpty(body): ApiJsonOrEmpty<OpinionInput>,
) -> ApiResult<Json<RegistrationDto>> {
    let opinion = body.opinion;
    let registration = state.app.act_on_registration(&subject, &id, &action, opinion.as_deref()).await?;
    Ok(Json(RegistrationDto::new(&registration, state.app.today())))
}

/// Objects to a registration in publicity (any signed-in user).
#[utoipa::path(post, path = "/api/v1/registrations/{id}/objections", tag = "registrations", params(("id" = String, Path)), request_body = ObjectionInput,
    responses((status = 201, description = "Created", body = ObjectionDto), (status = 401, description = "No valid token: `unauthenticated`", body = ErrorBody), (status = 409, description = "State or data conflict: `invalid_transition`, `conflict`", body = ErrorBody)))]
async fn raise_objection(
    State(state): State<ApiState>,
    Caller(subject): Caller,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<ObjectionInput>,
) -> ApiResult<(StatusCode, Json<ObjectionDto>)> {
    let objection = state.app.object(&subject, &id, &input.claim).await?;
    Ok((StatusCode::CREATED, Json(ObjectionDto::from(&objection))))
}

/// The bureau's finding on an objection.
#[utoipa::path(post, path = "/api/v1/objections/{id}/decision", tag = "registrations", params(("id" = String, Path)), request_body = ObjectionDecisionInput,
    responses((status = 200, description = "Success", body = ObjectionDto), (status = 403, description = "Not allowed: `forbidden`", body = ErrorBody), (status = 409, description = "State or data conflict: `invalid_transition`, `conflict`", body = ErrorBody), (status = 422, description = "Invalid input: `validation_failed`", body = ErrorBody)))]
async fn decide_objection(
    State(state): State<ApiState>,
    Caller(subject): Caller,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<ObjectionDecisionInput>,
) -> ApiResult<Json<ObjectionDto>> {
    let decision = match input.decision.as_str() {
        "dismiss" => ObjectionDecision::Dismiss,
        "uphold_return" => ObjectionDecision::UpholdAndReturn,
        "uphold_reject" => ObjectionDecision::UpholdAndReject,
        other => {
            return Err(gongshu_app::AppError::from(ValidationError::unknown_code(
                "decision",
                other,
                &["dismiss", "uphold_return", "uphold_reject"],
            ))
            .into());
        }
    };
    Ok(Json(ObjectionDto::from(&state.app.decide_objection(&subject, &id, decision, &input.opinion).await?)))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct FlagQuery {
    /// `open`, `lead_designated` or `dismissed`.
    state: Option<String>,
}

/// 一数一源 flags: the bureau sees all, a department those involving it.
#[utoipa::path(get, path = "/api/v1/duplicate-flags", tag = "registrations", params(FlagQuery),
    responses((status = 200, description = "Success", body = Vec<DuplicateFlagDto>), (status = 401, description = "No valid token: `unauthenticated`", body = ErrorBody)))]
async fn list_duplicate_flags(
    State(state): State<ApiState>,
    Caller(subject): Caller,
    ApiQuery(query): ApiQuery<FlagQuery>,
) -> ApiResult<Json<Vec<DuplicateFlagDto>>> {
    let flags = state.app.duplicate_flags(&subject, query.state.as_deref()).await?;
    Ok(Json(flags.iter().map(DuplicateFlagDto::from).collect()))
}

/// The bureau designates the lead collector (`designate_lead`) or finds the items different (`dismiss`).
#[utoipa::path(post, path = "/api/v1/duplicate-flags/{id}/decision", tag = "registrations", params(("id" = String, Path)), request_body = DuplicateDecisionInput,
    responses((status = 200, description = "Success", body = DuplicateFlagDto), (status = 403, description = "Not allowed: `forbidden`", body = ErrorBody), (status = 409, description = "State or data conflict: `invalid_transition`, `conflict`", body = ErrorBody), (status = 422, description = "Invalid input: `validation_failed`", body = ErrorBody)))]
async fn decide_duplicate(
    State(state): State<ApiState>,
    Caller(subject): Caller,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<DuplicateDecisionInput>,
) -> ApiResult<Json<DuplicateFlagDto>> {
    let decision = match (input.decision.as_str(), input.lead_org_id) {
        ("dismiss", _) => DuplicateDecision::Dismiss,
        ("designate_lead", Some(lead_org_id)) => DuplicateDecision::DesignateLead { lead_org_id },
        ("designate_lead", None) => {
            return Err(gongshu_app::AppError::from(ValidationError::new(
                "lead_org_id",
                "name the lead collector to designate",
                "请指定牵头采集单位",
            ))
            .into());
        }
        (other, _) => {
            return Err(gongshu_app::AppError::from(ValidationError::unknown_code(
                "decision",
                other,
                &["designate_lead", "dismiss"],
            ))
            .into());
        }
    };
    Ok(Json(DuplicateFlagDto::from(&state.app.decide_duplicate(&subject, &id, decision, &input.opinion).await?)))
}
