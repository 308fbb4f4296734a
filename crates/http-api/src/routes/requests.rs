//! Requests from the public (开放需求, 纠错) and their answers.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use gongshu_app::{AnswerInput, NewRequest, RequestQuery, RequestView};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::ApiState;
use crate::dto::PageDto;
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{ApiJson, ApiQuery, Caller};

pub(crate) fn router() -> OpenApiRouter<ApiState> {
    OpenApiRouter::new()
        .routes(routes!(list_requests, submit_request))
        .routes(routes!(request_stats))
        .routes(routes!(get_request))
        .routes(routes!(answer_request))
}

/// A request from the public and its answer.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct RequestDto {
    id: String,
    /// `demand` (开放需求) or `feedback` (纠错).
    kind: &'static str,
    kind_zh: &'static str,
    /// The dataset it is about.
    resource_id: Option<String>,
    /// The organization that answers it.
    org_id: String,
    title: String,
    body: String,
    /// How the requester asked to be shown; absent when anonymous.
    requester_name: Option<String>,
    /// Only for those who may answer.
    requester_contact: Option<String>,
    /// `open` or `answered`.
    state: &'static str,
    state_zh: &'static str,
    /// `opened`, `planned`, `declined`, `fixed` or `rejected`.
    outcome: Option<&'static str>,
    outcome_zh: Option<&'static str>,
    answer: Option<String>,
    planned_date: Option<String>,
    submitted_at: String,
    /// The day by which it must be answered.
    due_date: String,
    /// Open past its due date.
    overdue: bool,
    answered_at: Option<String>,
    /// Working days it took to answer.
    response_working_days: Option<u32>,
    /// Whether the caller may answer it.
    may_answer: bool,
}

impl From<&RequestView> for RequestDto {
    fn from(view: &RequestView) -> Self {
        let r = &view.request;
        RequestDto {
            id: r.id.clone(),
            kind: r.kind.code(),
            kind_zh: r.kind.label_zh(),
            resource_id: r.resource_id.clone(),
            org_id: r.org_id.clone(),
            title: r.title.clone(),
            body: r.body.clone(),
            requester_name: r.requester_name.clone(),
            requester_contact: r.requester_contact.clone(),
            state: r.state.code(),
            state_zh: r.state.label_zh(),
            outcome: r.outcome.map(|o| o.code()),
            outcome_zh: r.outcome.map(|o| o.label_zh()),
            answer: r.answer.clone(),
            planned_date: r.planned_date.map(|d| d.to_string()),
            submitted_at: r.submitted_at.to_rfc3339(),
            due_date: r.due_date.to_string(),
            overdue: view.overdue,
            answered_at: r.answered_at.map(|at| at.to_rfc3339()),
            response_working_days: view.response_working_days,
            may_answer: view.may_answer,
        }
    }
}

/// A new request.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RequestInput {
    /// `demand` or `feedback`.
    kind: String,
    /// The dataset (required for feedback).
    #[serde(default)]
    resource_id: Option<String>,
    /// The organization asked (demand without a dataset; the data bureau when absent).
    #[serde(default)]
    org_id: Option<String>,
    title: String,
    body: String,
    #[serde(default)]
    requester_name: Option<String>,
    /// Seen only by those who answer.
    #[serde(default)]
    requester_contact: Option<String>,
}

/// An answer.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct AnswerBody {
    /// `opened`, `planned` or `declined` (demand); `fixed`, `planned` or `rejected` (feedback).
    outcome: String,
    /// The reply; the reason, for a refusal.
    answer: String,
    /// `YYYY-MM-DD`, for `planned`.
    #[serde(default)]
    planned_date: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct RequestListQuery {
    /// `demand` or `feedback`.
    kind: Option<String>,
    /// `open` or `answered`.
    state: Option<String>,
    /// The organization asked.
    org: Option<String>,
    /// The dataset.
    resource: Option<String>,
    /// Only requests the caller may answer.
    #[serde(default)]
    mine: bool,
    /// Page size, 1–100 (20).
    limit: Option<i64>,
    /// Rows to skip.
    offset: Option<i64>,
}

/// Requests, newest first: public, with the requester's contact only for those who answer.
#[utoipa::path(get, path = "/api/v1/requests", tag = "requests", params(RequestListQuery), security((), ("bearer" = [])),
    responses((status = 200, description = "Success", body = PageDto<RequestDto>), (status = 422, description = "Invalid input: `validation_failed`", body = ErrorBody)))]
async fn list_requests(
    State(state): State<ApiState>,
    Caller(subject): Caller,
    ApiQuery(query): ApiQuery<RequestListQuery>,
) -> ApiResult<Json<PageDto<RequestDto>>> {
    let query = RequestQuery {
        kind: query.kind,
        state: query.state,
        org_id: query.org,
        resource_id: query.resource,
        mine: query.mine,
        limit: query.limit,
        offset: query.offset,
    };
    let list = state.app.requests(&subject, query).await?;
    Ok(Json(PageDto {
        items: list.items.iter().map(RequestDto::from).collect(),
        total: list.total,
        limit: list.limit,
        offset: list.offset,
    }))
}

/// Files a request; anyone may, without signing in.
#[utoipa::path(post, path = "/api/v1/requests", tag = "requests", request_body = RequestInput, security((), ("bearer" = [])),
    responses((status = 201, description = "Created", body = RequestDto), (status = 422, description = "Invalid input: `validation_failed`", body = ErrorBody)))]
async fn submit_request(
    State(state): State<ApiState>,
    Caller(subject): Caller,
    ApiJson(input): ApiJson<RequestInput>,
) -> ApiResult<(StatusCode, Json<RequestDto>)> {
    let new = NewRequest {
        kind: input.kind,
        resource_id: input.resource_id,
        org_id: input.org_id,
        title: input.title,
        body: input.body,
        requester_name: input.requester_name,
        requester_contact: input.requester_contact,
    };
    let view = state.app.submit_request(&subject, new).await?;
    Ok((StatusCode::CREATED, Json(RequestDto::from(&view))))
}

/// How requests are answered, over all of them.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct RequestStatsDto {
    total: u64,
    answered: u64,
    overdue: u64,
    median_response_working_days: Option<f64>,
}

/// Response figures: received, answered, overdue, median working days to answer.
#[utoipa::path(get, path = "/api/v1/requests/stats", tag = "requests", security((), ("bearer" = [])),
    responses((status = 200, description = "Success", body = RequestStatsDto)))]
async fn request_stats(State(state): State<ApiState>) -> ApiResult<Json<RequestStatsDto>> {
    let stats = state.app.request_stats().await?;
    Ok(Json(RequestStatsDto {
        total: stats.total,
        answered: stats.answered,
        overdue: stats.overdue,
        median_response_working_days: stats.median_response_working_days,
    }))
}

/// One request.
#[utoipa::path(get, path = "/api/v1/requests/{id}", tag = "requests", params(("id" = String, Path)), security((), ("bearer" = [])),
    responses((status = 200, description = "Success", body = RequestDto), (status = 404, description = "Not found: `not_found`", body = ErrorBody)))]
async fn get_request(
    State(state): State<ApiState>,
    Caller(subject): Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<RequestDto>> {
    Ok(Json(RequestDto::from(&state.app.request(&subject, &id).await?)))
}

/// Answers a request: its department's cataloguers or the bureau's reviewers.
#[utoipa::path(post, path = "/api/v1/requests/{id}/answer", tag = "requests", params(("id" = String, Path)), request_body = AnswerBody,
    responses((status = 200, description = "Success", body = RequestDto), (status = 403, description = "Not allowed: `forbidden`", body = ErrorBody), (status = 422, description = "Invalid input: `validation_failed`", body = ErrorBody)))]
async fn answer_request(
    State(state): State<ApiState>,
    Caller(subject): Caller,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<AnswerBody>,
) -> ApiResult<Json<RequestDto>> {
    let answer = AnswerInput { outcome: input.outcome, text: input.answer, planned_date: input.planned_date };
    Ok(Json(RequestDto::from(&state.app.answer_request(&subject, &id, answer).await?)))
}
