//! Scenario bundles (“高效办成一件事”): one public service's sharing requests,
//! filed together, checked as a whole and put in force together.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use gongshu_app::{AppError, BundlePart, BundleView, NewBundle};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::ApiState;
use crate::dto::HistoryDto;
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{ApiJson, Caller};
use crate::routes::sharing::{ReasonInput, SharingDecisionInput, SharingRequestDto};

pub(crate) fn router() -> OpenApiRouter<ApiState> {
    OpenApiRouter::new()
        .routes(routes!(list_bundles, submit_bundle))
        .routes(routes!(get_bundle))
        .routes(routes!(check_bundle))
        .routes(routes!(withdraw_bundle))
}

/// A scenario bundle with its parts.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct BundleDto {
    id: String,
    requester_org_id: String,
    /// The service, e.g. 新生儿出生“一件事”.
    title: String,
    service: String,
    /// `open`, `complete` (every part granted, grants in force) or `withdrawn`.
    state: &'static str,
    state_zh: &'static str,
    /// A part was returned, refused, upheld or withdrawn.
    blocked: bool,
    /// The caller may check the parts waiting for the bureau.
    may_check: bool,
    /// The caller may withdraw the bundle.
    may_withdraw: bool,
    /// One sharing request per resource; their grants are held until all are granted.
    parts: Vec<SharingRequestDto>,
    created_at: String,
}

impl From<&BundleView> for BundleDto {
    fn from(view: &BundleView) -> Self {
        let b = &view.bundle;
        BundleDto {
            id: b.id.clone(),
            requester_org_id: b.requester_org_id.clone(),
            title: b.title.clone(),
            service: b.service.clone(),
            state: b.state.code(),
            state_zh: b.state.label_zh(),
            blocked: view.blocked,
            may_check: view.may_check,
            may_withdraw: view.may_withdraw,
            parts: view.parts.iter().map(SharingRequestDto::from).collect(),
            created_at: b.created_at.to_rfc3339(),
        }
    }
}

/// A bundle with its history.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct BundleDetailDto {
    #[serde(flatten)]
    bundle: BundleDto,
    history: Vec<HistoryDto>,
}

/// The bundles the caller's departments filed or are asked for (all, for the bureau), newest first.
#[utoipa::path(get, path = "/api/v1/sharing-bundles", tag = "sharing",
    responses((status = 200, description = "Success", body = Vec<BundleDto>), (status = 401, description = "Not signed in: `unauthenticated`", body = ErrorBody)))]
async fn list_bundles(State(state): State<ApiState>, Caller(subject): Caller) -> ApiResult<Json<Vec<BundleDto>>> {
    let bundles = state.app.bundles(&subject).await?;
    Ok(Json(bundles.iter().map(BundleDto::from).collect()))
}

/// One resource of a bundle.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct BundlePartInput {
    resource_id: String,
    /// Data items; all when absent.
    #[serde(default)]
    columns: Vec<String>,
    /// `query` (default), `download`, `aggregate`, `verify`.
    #[serde(default)]
    modes: Vec<String>,
}

/// A new scenario bundle.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct BundleInput {
    /// The requesting department; the caller's only department when absent.
    #[serde(default)]
    requester_org_id: Option<String>,
    /// The service, e.g. 新生儿出生“一件事”.
    title: String,
    /// What the service does for the public, and how the data serves it.
    service: String,
    purpose: String,
    /// 履职依据.
    legal_basis: String,
    /// `YYYY-MM-DD`.
    needed_until: String,
    /// Two to twenty resources.
    parts: Vec<BundlePartInput>,
}

/// Files a scenario bundle: one sharing request per resource, in one step.
#[utoipa::path(post, path = "/api/v1/sharing-bundles", tag = "sharing", request_body = BundleInput,
    responses((status = 201, description = "Created", body = BundleDto), (status = 403, description = "Not allowed: `forbidden`", body = ErrorBody), (status = 422, description = "Invalid input: `validation_failed`", body = ErrorBody)))]
async fn submit_bundle(
    State(state): State<ApiState>,
    Caller(subject): Caller,
    ApiJson(input): ApiJson<BundleInput>,
) -> ApiResult<(StatusCode, Json<BundleDto>)> {
    let new = NewBundle {
        requester_org_id: input.requester_org_id,
        title: input.title,
        service: input.service,
        purpose: input.purpose,
        legal_basis: input.legal_basis,
        needed_until: input.needed_until,
        parts: input
            .parts
            .into_iter()
            .map(|p| BundlePart { resource_id: p.resource_id, columns: p.columns, modes: p.modes })
            .collect(),
    };
    let view = state.app.submit_bundle(&subject, new).await?;
    Ok((StatusCode::CREATED, Json(BundleDto::from(&view))))
}

/// One bundle with its parts and history.
#[utoipa::path(get, path = "/api/v1/sharing-bundles/{id}", tag = "sharing", params(("id" = String, Path)),
    responses((status = 200, description = "Success", body = BundleDetailDto), (status = 404, description = "Not found: `not_found`", body = ErrorBody)))]
async fn get_bundle(
    State(state): State<ApiState>,
    Caller(subject): Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<BundleDetailDto>> {
    let (view, history) = state.app.bundle(&subject, &id).await?;
    Ok(Json(BundleDetailDto {
        bundle: BundleDto::from(&view),
        history: history.iter().map(HistoryDto::from).collect(),
    }))
}

/// The bureau's conformity check of every part waiting for it, as a whole: `approve: true`
/// passes them all, `false` returns them all with the opinion.
#[utoipa::path(post, path = "/api/v1/sharing-bundles/{id}/check", tag = "sharing", params(("id" = String, Path)), request_body = SharingDecisionInput,
    responses((status = 200, description = "Success", body = BundleDto), (status = 403, description = "Not the bureau: `forbidden`", body = ErrorBody), (status = 409, description = "Nothing waits for the check: `conflict`", body = ErrorBody)))]
async fn check_bundle(
    State(state): State<ApiState>,
    Caller(subject): Caller,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<SharingDecisionInput>,
) -> ApiResult<Json<BundleDto>> {
    let view = state.app.check_bundle(&subject, &id, input.into_decision().map_err(AppError::from)?).await?;
    Ok(Json(BundleDto::from(&view)))
}

/// The requester withdraws the bundle: undecided parts are withdrawn, grants made are revoked.
#[utoipa::path(post, path = "/api/v1/sharing-bundles/{id}/withdraw", tag = "sharing", params(("id" = String, Path)), request_body = ReasonInput,
    responses((status = 200, description = "Success", body = BundleDto), (status = 409, description = "Not under way: `conflict`", body = ErrorBody)))]
async fn withdraw_bundle(
    State(state): State<ApiState>,
    Caller(subject): Caller,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<ReasonInput>,
) -> ApiResult<Json<BundleDto>> {
    let view = state.app.withdraw_bundle(&subject, &id, &input.reason).await?;
    Ok(Json(BundleDto::from(&view)))
}
