//! Full-text search over the published catalog, with facets and highlights.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::State;
use gongshu_app::{FacetKind, SearchRequest, SortOrder};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::ApiState;
use crate::dto::ResourceDto;
use crate::error::{ApiResult, ErrorBody};
use crate::extract::ApiQuery;
use crate::routes::split_list;

pub(crate) fn router() -> OpenApiRouter<ApiState> {
    OpenApiRouter::new().routes(routes!(search))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct SearchQuery {
    /// Words to look for, in Chinese or English; every word must match
    /// (entries with any of them are ranked when none has all).
    q: Option<String>,
    /// Providing organization ids, comma-separated.
    department: Option<String>,
    /// Themes, comma-separated.
    theme: Option<String>,
    /// Formats of the newest version (`CSV`, `XLSX`, …), comma-separated.
    format: Option<String>,
    /// Open attributes (`unconditional`, `conditional`, `not`), comma-separated.
    open: Option<String>,
    /// Update cycles, comma-separated.
    update_cycle: Option<String>,
    /// Levels, comma-separated.
    level: Option<String>,
    /// Division codes, comma-separated.
    region: Option<String>,
    /// `relevance` (default), `updated` or `published`.
    sort: Option<String>,
    /// Page size, 1–100 (20).
    limit: Option<usize>,
    /// Hits to skip.
    offset: Option<usize>,
}

/// One hit.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct SearchHitDto {
    /// The entry.
    pub resource: ResourceDto,
    /// Relevance (0 when sorted by date).
    pub score: f32,
    /// The Chinese name, HTML-escaped, matched words in `<b>`.
    pub title_html: String,
    /// A matching piece of the abstract, HTML-escaped, matched words in `<b>`; empty when none matched.
    pub abstract_html: String,
}

/// A facet value and how many matches have it.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct FacetValueDto {
    /// The value, as filters take it.
    pub value: String,
    /// Matches with it.
    pub count: u64,
}

/// A page of hits with facet counts over every match.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct SearchPageDto {
    /// Every entry that matches.
    pub total: usize,
    /// `false` when no entry had every word and entries with any are shown.
    pub matched_all_words: bool,
    /// Page size.
    pub limit: usize,
    /// Hits skipped.
    pub offset: usize,
    /// This page.
    pub items: Vec<SearchHitDto>,
    /// Per facet (`department`, `theme`, `format`, `open`, `update_cycle`, `level`, `region`), values with counts.
    pub facets: BTreeMap<String, Vec<FacetValueDto>>,
}

/// Searches the published catalog: ranked, faceted, highlighted.
#[utoipa::path(get, path = "/api/v1/search", tag = "resources", params(SearchQuery), security((), ("bearer" = [])),
    responses((status = 200, description = "Success", body = SearchPageDto), (status = 400, description = "Malformed request: `bad_request`", body = ErrorBody), (status = 422, description = "Invalid input: `validation_failed`", body = ErrorBody)))]
async fn search(
    State(state): State<ApiState>,
    ApiQuery(query): ApiQuery<SearchQuery>,
) -> ApiResult<Json<SearchPageDto>> {
    let mut filters = Vec::new();
    for (kind, values) in [
        (FacetKind::Department, query.department),
        (FacetKind::Theme, query.theme),
        (FacetKind::Format, query.format),
        (FacetKind::Open, query.open),
        (FacetKind::UpdateCycle, query.update_cycle),
        (FacetKind::Level, query.level),
        (FacetKind::Region, query.region),
    ] {
        filters.extend(split_list(values).into_iter().map(|value| (kind, value)));
    }
    let sort = SortOrder::parse(query.sort.as_deref().unwrap_or("")).map_err(gongshu_app::AppError::from)?;
    let request = SearchRequest {
        text: query.q.unwrap_or_default(),
        filters,
        sort,
        limit: query.limit.unwrap_or(20),
        offset: query.offset.unwrap_or(0),
    };
    let (limit, offset) = (request.limit, request.offset);
    let found = state.app.search_catalog(request).await?;
    let items = found
        .results
        .hits
        .into_iter()
        .zip(&found.resources)
        .map(|(hit, resource)| SearchHitDto {
            resource: ResourceDto::from(resource),
            score: hit.score,
            title_html: hit.title_html,
            abstract_html: hit.description_html,
        })
        .collect();
    let facets = found
        .results
        .facets
        .into_iter()
        .map(|(kind, values)| {
            (kind.name().to_owned(), values.into_iter().map(|(value, count)| FacetValueDto { value, count }).collect())
        })
        .collect();
    Ok(Json(SearchPageDto {
        total: found.results.total,
        matched_all_words: found.results.matched_all_words,
        limit,
        offset,
        items,
        facets,
    }))
}
