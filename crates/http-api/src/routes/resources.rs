//! Catalog entries.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use gongshu_app::{FileRegistration, ResourceQuery};
use gongshu_domain::ValidationError;
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::ApiState;
use crate::dto::{
    FilingInput, HistoryDto, OpinionInput, PageDto, RegistrationDto, ResourceDetailDto, ResourceDto, ResourceInput,
};
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{ApiJson, ApiJsonOrEmpty, ApiQuery, Caller};
use crate::routes::split_list;

pub(crate) fn router() -> OpenApiRouter<ApiState> {
    OpenApiRouter::new()
        .routes(routes!(list_resources, create_resource))
        .routes(routes!(get_resource, update_resource))
        .routes(routes!(resource_history))
        .routes(routes!(submit_resource))
        .routes(routes!(publish_resource))
        .routes(routes!(unpublish_resource))
        .routes(routes!(file_registration))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct ListQuery {
    /// States, comma-separated (e.g. `published,registered`).
    state: Option<String>,
    /// Provider organization id.
    provider: Option<String>,
    /// Text in the name, abstract, keywords or items.
    q: Option<String>,
    /// Page size, 1–100 (20).
    limit: Option<i64>,
    /// Rows to skip.
    offset: Option<i64>,
}

/// Catalog entries the caller may see: the public sees published ones.
#[utoipa::path(get, path = "/api/v1/resources", tag = "resources", params(ListQuery), security((), ("bearer" = [])),
    responses((status = 200, description = "Success", body = PageDto<ResourceDto>), (status = 400, description = "Malformed request: `bad_request`", body = ErrorBody), (status = 422, description = "Invalid input: `validation_failed`", body = ErrorBody)))]
async fn list_resources(
    State(state): State<ApiState>,
    Caller(subject): Caller,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> ApiResult<Json<PageDto<ResourceDto>>> {
    let query = ResourceQuery {
        states: split_list(query.state),
        provider_org_id: query.provider,
        text: query.q,
        limit: query.limit,
        offset: query.offset,
    };
    let list = state.app.resources(&subject, query).await?;
    Ok(Json(PageDto {
        items: list.items.iter().map(ResourceDto::from).collect(),
        total: list.total,
        limit: list.limit,
        offset: list.offset,
    }))
}

/// Creates a draft entry (the provider's cataloguers).
#[utoipa::path(post, path = "/api/v1/resources", tag = "resources", request_body = ResourceInput,
    responses((status = 201, description = "Created", body = ResourceDto), (status = 400, description = "Malformed request: `bad_request`", body = ErrorBody), (status = 403, description = "Not allowed: `forbidden`", body = ErrorBody), (status = 422, description = "Invalid input: `validation_failed`", body = ErrorBody)))]
async fn create_resource(
    State(state): State<ApiState>,
    Caller(subject): Caller,
    ApiJson(input): ApiJson<ResourceInput>,
) -> ApiResult<(StatusCode, Json<ResourceDto>)> {
    let Some(provider_org_id) = input.provider_org_id.clone() else {
        return Err(gongshu_app::AppError::from(ValidationError::required("provider_org_id")).into());
    };
    let draft = input.into_draft("").map_err(gongshu_app::AppError::from)?;
    let resource = state.app.create_resource(&subject, &provider_org_id, draft).await?;
    Ok((StatusCode::CREATED, Json(ResourceDto::from(&resource))))
}

/// One entry, with its pending registration and 一数一源 flags.
#[utoipa::path(get, path = "/api/v1/resources/{id}", tag = "resources", params(("id" = String, Path)), security((), ("bearer" = [])),
    responses((status = 200, description = "Success", body = ResourceDetailDto), (status = 404, description = "Not found or not visible: `not_found`", body = ErrorBody)))]
async fn get_resource(
    State(state): State<ApiState>,
    Caller(subject): Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<ResourceDetailDto>> {
    let view = state.app.resource(&subject, &id).await?;
    Ok(Json(ResourceDetailDto::new(&view, state.app.today())))
}

/// Replaces a draft's content. Registered entries answer 409: file a change registration.
#[utoipa::path(put, path = "/api/v1/resources/{id}", tag = "resources", params(("id" = String, Path)), request_body = ResourceInput,
    responses((status = 200, description = "Success", body = ResourceDto), (status = 409, description = "State or data conflict: `invalid_transition`, `conflict`", body = ErrorBody), (status = 422, description = "Invalid input: `validation_failed`", body = ErrorBody)))]
async fn update_resource(
    State(state): State<ApiState>,
    Caller(subject): Caller,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<ResourceInput>,
) -> ApiResult<Json<ResourceDto>> {
    if input.provider_org_id.is_some() {
        let error = ValidationError::new(
            "provider_org_id",
            "the provider of an entry never changes; leave this field out",
            "数据资源的提供单位不可变更，请勿提交此字段",
        );
        return Err(gongshu_app::AppError::from(error).into());
    }
    let draft = input.into_draft("").map_err(gongshu_app::AppError::from)?;
    Ok(Json(ResourceDto::from(&state.app.update_draft(&subject, &id, draft).await?)))
}

/// Every step of the entry's lifecycle.
#[utoipa::path(get, path = "/api/v1/resources/{id}/history", tag = "resources", params(("id" = String, Path)), security((), ("bearer" = [])),
    responses((status = 200, description = "Success", body = Vec<HistoryDto>), (status = 404, description = "Not found or not visible: `not_found`", body = ErrorBody)))]
async fn resource_history(
    State(state): State<ApiState>,
    Caller(subject): Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Vec<HistoryDto>>> {
    Ok(Json(state.app.resource_history(&subject, &id).await?.iter().map(HistoryDto::from).collect()))
}

/// Submits a draft for its initial registration (首次登记).
#[utoipa::path(post, path = "/api/v1/resources/{id}/submit", tag = "resources", params(("id" = String, Path)),
    responses((status = 201, description = "Created", body = RegistrationDto), (status = 409, description = "State or data conflict: `invalid_transition`, `conflict`", body = ErrorBody)))]
async fn submit_resource(
    State(state): State<ApiState>,
    Caller(subject): Caller,
    Path(id): Path<String>,
) -> ApiResult<(StatusCode, Json<RegistrationDto>)> {
    let registration = state.app.submit_resource(&subject, &id).await?;
    Ok((StatusCode::CREATED, Json(RegistrationDto::new(&registration, state.app.today()))))
}

/// Publishes a registered entry in the catalog (bureau reviewers).
#[utoipa::path(post, path = "/api/v1/resources/{id}/publish", tag = "resources", params(("id" = String, Path)), request_body(content = OpinionInput, description = "optional"),
    responses((status = 200, description = "Success", body = ResourceDto), (status = 403, description = "Not allowed: `forbidden`", body = ErrorBody), (status = 409, description = "State or data conflict: `invalid_transition`, `conflict`", body = ErrorBody)))]
async fn publish_resource(
    State(state): State<ApiState>,
    Caller(subject): Caller,
    Path(id): Path<String>,
    ApiJsonOrEmpty(body): ApiJsonOrEmpty<OpinionInput>,
) -> ApiResult<Json<ResourceDto>> {
    let opinion = body.opinion;
    Ok(Json(ResourceDto::from(&state.app.set_published(&subject, &id, true, opinion.as_deref()).await?)))
}

/// Takes an entry out of the catalog; `opinion` says why.
#[utoipa::path(post, path = "/api/v1/resources/{id}/unpublish", tag = "resources", params(("id" = String, Path)), request_body = OpinionInput,
    responses((status = 200, description = "Success", body = ResourceDto), (status = 403, description = "Not allowed: `forbidden`", body = ErrorBody), (status = 409, description = "State or data conflict: `invalid_transition`, `conflict`", body = ErrorBody), (status = 422, description = "Invalid input: `validation_failed`", body = ErrorBody)))]
async fn unpublish_resource(
    State(state): State<ApiState>,
    Caller(subject): Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<OpinionInput>,
) -> ApiResult<Json<ResourceDto>> {
    Ok(Json(ResourceDto::from(&state.app.set_published(&subject, &id, false, body.opinion.as_deref()).await?)))
}

/// Files a change (变更), correction (更正) or cancellation (注销) registration.
#[utoipa::path(post, path = "/api/v1/resources/{id}/registrations", tag = "resources", params(("id" = String, Path)), request_body = FilingInput,
    responses((status = 201, description = "Created", body = RegistrationDto), (status = 409, description = "State or data conflict: `invalid_transition`, `conflict`", body = ErrorBody), (status = 422, description = "Invalid input: `validation_failed`", body = ErrorBody)))]
async fn file_registration(
    State(state): State<ApiState>,
    Caller(subject): Caller,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<FilingInput>,
) -> ApiResult<(StatusCode, Json<RegistrationDto>)> {
    let proposed =
        input.proposed.map(|p| p.into_draft("proposed.")).transpose().map_err(gongshu_app::AppError::from)?;
    let filing = FileRegistration { application: input.application, reason: input.reason, proposed };
    let registration = state.app.file_registration(&subject, &id, filing).await?;
    Ok((StatusCode::CREATED, Json(RegistrationDto::new(&registration, state.app.today()))))
}
