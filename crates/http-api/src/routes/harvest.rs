//! Harvest sources (区域协作): other portals whose open catalogs are read
//! into this one, and their runs.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use gongshu_app::{HarvestReport, HarvestSourceView, NewHarvestSource};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::ApiState;
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{ApiJson, Caller};

pub(crate) fn router() -> OpenApiRouter<ApiState> {
    OpenApiRouter::new().routes(routes!(list_sources, add_source)).routes(routes!(run_source))
}

/// A harvest source.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct HarvestSourceDto {
    id: String,
    /// The organization that provides its entries here (kind `portal`).
    org_id: String,
    name_zh: String,
    name_en: Option<String>,
    /// `ckan` or `dcat`.
    kind: &'static str,
    url: String,
    /// Entries here that the source still lists.
    entries: usize,
    created_at: String,
    last_run_at: Option<String>,
    /// The last run's report.
    #[schema(value_type = Object)]
    last_report: Option<serde_json::Value>,
}

impl From<&HarvestSourceView> for HarvestSourceDto {
    fn from(view: &HarvestSourceView) -> Self {
        HarvestSourceDto {
            id: view.source.id.clone(),
            org_id: view.portal.id.clone(),
            name_zh: view.portal.name_zh.clone(),
            name_en: view.portal.name_en.clone(),
            kind: view.source.kind.code(),
            url: view.source.url.clone(),
            entries: view.entries,
            created_at: view.source.created_at.to_rfc3339(),
            last_run_at: view.source.last_run_at.map(|at| at.to_rfc3339()),
            last_report: view.source.last_report.as_deref().and_then(|r| serde_json::from_str(r).ok()),
        }
    }
}

/// A source to add.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct HarvestSourceInput {
    /// The portal's name.
    name_zh: String,
    #[serde(default)]
    name_en: Option<String>,
    /// `ckan` (the portal's root) or `dcat` (the catalog document).
    kind: String,
    url: String,
    /// GB/T 2260 code of the region the portal serves.
    region: String,
}

/// What a run did.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct HarvestReportDto {
    pages: usize,
    listed: usize,
    created: usize,
    updated: usize,
    unchanged: usize,
    withdrawn: usize,
}

impl From<HarvestReport> for HarvestReportDto {
    fn from(r: HarvestReport) -> Self {
        HarvestReportDto {
            pages: r.pages,
            listed: r.listed,
            created: r.created,
            updated: r.updated,
            unchanged: r.unchanged,
            withdrawn: r.withdrawn,
        }
    }
}

/// The harvest sources, with their last runs: public.
#[utoipa::path(get, path = "/api/v1/harvest/sources", tag = "harvest", security((), ("bearer" = [])),
    responses((status = 200, description = "Success", body = Vec<HarvestSourceDto>)))]
async fn list_sources(State(state): State<ApiState>) -> ApiResult<Json<Vec<HarvestSourceDto>>> {
    Ok(Json(state.app.harvest_sources().await?.iter().map(HarvestSourceDto::from).collect()))
}

/// Adds a source (the data bureau's administrators).
#[utoipa::path(post, path = "/api/v1/harvest/sources", tag = "harvest", request_body = HarvestSourceInput,
    responses((status = 201, description = "Created", body = HarvestSourceDto), (status = 403, description = "Not allowed: `forbidden`", body = ErrorBody),
        (status = 409, description = "A source with this name or address exists: `conflict`", body = ErrorBody), (status = 422, description = "Invalid input: `validation_failed`", body = ErrorBody)))]
async fn add_source(
    State(state): State<ApiState>,
    Caller(subject): Caller,
    ApiJson(input): ApiJson<HarvestSourceInput>,
) -> ApiResult<(StatusCode, Json<HarvestSourceDto>)> {
    let new = NewHarvestSource {
        name_zh: input.name_zh,
        name_en: input.name_en,
        kind: input.kind,
        url: input.url,
        region: input.region,
    };
    let view = state.app.create_harvest_source(&subject, new).await?;
    Ok((StatusCode::CREATED, Json(HarvestSourceDto::from(&view))))
}

/// Harvests a source now (the data bureau's administrators).
#[utoipa::path(post, path = "/api/v1/harvest/sources/{id}/run", tag = "harvest", params(("id" = String, Path)),
    responses((status = 200, description = "Success", body = HarvestReportDto), (status = 403, description = "Not allowed: `forbidden`", body = ErrorBody),
        (status = 404, description = "No such source: `not_found`", body = ErrorBody), (status = 409, description = "The source could not be read: `conflict`", body = ErrorBody)))]
async fn run_source(
    State(state): State<ApiState>,
    Caller(subject): Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<HarvestReportDto>> {
    Ok(Json(state.app.run_harvest(&subject, &id).await?.into()))
}
