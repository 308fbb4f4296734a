//! The sharing responsibility list (共享责任清单): what each department must
//! provide and how often, with late updates flagged.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use gongshu_app::{DutyView, NewDuty};
use gongshu_domain::DutyStatus;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::ApiState;
use crate::dto::HistoryDto;
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{ApiJson, ApiQuery, Caller};

pub(crate) fn router() -> OpenApiRouter<ApiState> {
    OpenApiRouter::new().routes(routes!(list_duties, create_duty)).routes(routes!(get_duty)).routes(routes!(link_duty))
}

/// A duty on the sharing responsibility list.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct DutyDto {
    id: String,
    /// The department responsible.
    org_id: String,
    title: String,
    description: String,
    /// The law, rule or decision behind it.
    basis: String,
    /// `daily`, `weekly`, `monthly`, `quarterly`, `semiannual`, `annual`, `realtime`, `irregular`.
    update_cycle: &'static str,
    /// First deadline.
    first_due: String,
    /// The entry that fulfils it.
    resource_id: Option<String>,
    /// `pending` (not yet provided) or `current`.
    status: &'static str,
    /// What is next due (absent for irregular and real-time cycles once provided).
    due: Option<String>,
    overdue: bool,
    /// The day the linked entry's latest version was loaded.
    last_version_on: Option<String>,
    /// Whether the caller may link an entry.
    may_link: bool,
}

impl From<&DutyView> for DutyDto {
    fn from(view: &DutyView) -> Self {
        let d = &view.duty;
        DutyDto {
            id: d.id.clone(),
            org_id: d.org_id.clone(),
            title: d.title.clone(),
            description: d.description.clone(),
            basis: d.basis.clone(),
            update_cycle: d.update_cycle.code(),
            first_due: d.first_due.to_string(),
            resource_id: d.resource_id.clone(),
            status: match view.status {
                DutyStatus::Pending { .. } => "pending",
                DutyStatus::Current { .. } => "current",
            },
            due: view.status.due().map(|d| d.to_string()),
            overdue: view.overdue,
            last_version_on: view.last_version_on.map(|d| d.to_string()),
            may_link: view.may_link,
        }
    }
}

/// A duty with its history.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct DutyDetailDto {
    #[serde(flatten)]
    duty: DutyDto,
    history: Vec<HistoryDto>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct DutyListQuery {
    /// Only late ones.
    #[serde(default)]
    overdue: bool,
}

/// The duties of the caller's departments (all, for the bureau and auditors), by first deadline.
#[utoipa::path(get, path = "/api/v1/sharing-duties", tag = "sharing", params(DutyListQuery),
    responses((status = 200, description = "Success", body = Vec<DutyDto>), (status = 401, description = "Not signed in: `unauthenticated`", body = ErrorBody)))]
async fn list_duties(
    State(state): State<ApiState>,
    Caller(subject): Caller,
    ApiQuery(query): ApiQuery<DutyListQuery>,
) -> ApiResult<Json<Vec<DutyDto>>> {
    let duties = state.app.duties(&subject, query.overdue).await?;
    Ok(Json(duties.iter().map(DutyDto::from).collect()))
}

/// A new duty.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct DutyInput {
    /// The department responsible.
    org_id: String,
    title: String,
    description: String,
    basis: String,
    /// `daily`, `weekly`, `monthly`, `quarterly`, `semiannual`, `annual`, `realtime`, `irregular`.
    update_cycle: String,
    /// `YYYY-MM-DD`.
    first_due: String,
}

/// The bureau lists what a department must provide.
#[utoipa::path(post, path = "/api/v1/sharing-duties", tag = "sharing", request_body = DutyInput,
    responses((status = 201, description = "Created", body = DutyDto), (status = 403, description = "Not the bureau: `forbidden`", body = ErrorBody), (status = 422, description = "Invalid input: `validation_failed`", body = ErrorBody)))]
async fn create_duty(
    State(state): State<ApiState>,
    Caller(subject): Caller,
    ApiJson(input): ApiJson<DutyInput>,
) -> ApiResult<(StatusCode, Json<DutyDto>)> {
    let new = NewDuty {
        org_id: input.org_id,
        title: input.title,
        description: input.description,
        basis: input.basis,
        update_cycle: input.update_cycle,
        first_due: input.first_due,
    };
    let view = state.app.create_duty(&subject, new).await?;
    Ok((StatusCode::CREATED, Json(DutyDto::from(&view))))
}

/// One duty with its history.
#[utoipa::path(get, path = "/api/v1/sharing-duties/{id}", tag = "sharing", params(("id" = String, Path)),
    responses((status = 200, description = "Success", body = DutyDetailDto), (status = 404, description = "Not found: `not_found`", body = ErrorBody)))]
async fn get_duty(
    State(state): State<ApiState>,
    Caller(subject): Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<DutyDetailDto>> {
    let (view, history) = state.app.duty(&subject, &id).await?;
    Ok(Json(DutyDetailDto { duty: DutyDto::from(&view), history: history.iter().map(HistoryDto::from).collect() }))
}

/// The entry that fulfils a duty.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct LinkInput {
    resource_id: String,
}

/// The department links the registered entry that fulfils the duty.
#[utoipa::path(post, path = "/api/v1/sharing-duties/{id}/link", tag = "sharing", params(("id" = String, Path)), request_body = LinkInput,
    responses((status = 200, description = "Success", body = DutyDto), (status = 403, description = "Not the department: `forbidden`", body = ErrorBody), (status = 422, description = "Not its registered entry: `validation_failed`", body = ErrorBody)))]
async fn link_duty(
    State(state): State<ApiState>,
    Caller(subject): Caller,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<LinkInput>,
) -> ApiResult<Json<DutyDto>> {
    let view = state.app.link_duty(&subject, &id, &input.resource_id).await?;
    Ok(Json(DutyDto::from(&view)))
}
