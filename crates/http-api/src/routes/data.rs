//! Reading data through the access gateway: table queries, downloads and
//! read-only SQL.

use arrow_array::RecordBatch;
use axum::Json;
use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::ApiState;
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{ApiJson, Caller};

pub(crate) fn router() -> OpenApiRouter<ApiState> {
    OpenApiRouter::new().routes(routes!(query_data)).routes(routes!(download)).routes(routes!(sql))
}

/// A column of a result.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ColumnDto {
    name: String,
    /// `text`, `integer`, `decimal`, `float`, `boolean`, `date` or `datetime`.
    #[serde(rename = "type")]
    data_type: &'static str,
}

/// A page of data.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct DataDto {
    resource_id: String,
    /// The version read.
    version: i64,
    /// Rows (or groups) matching in all.
    total: u64,
    limit: usize,
    offset: usize,
    columns: Vec<ColumnDto>,
    /// One object per row; decimals keep their exact digits.
    #[schema(value_type = Vec<Object>)]
    records: serde_json::Value,
}

fn columns(schema: &arrow_schema::Schema) -> Vec<ColumnDto> {
    schema.fields().iter().map(|f| ColumnDto { name: f.name().clone(), data_type: type_name(f.data_type()) }).collect()
}

/// The platform's names for column types, the same as in version schemas.
fn type_name(data_type: &arrow_schema::DataType) -> &'static str {
    use arrow_schema::DataType as T;
    match data_type {
        T::Utf8 | T::Utf8View | T::LargeUtf8 => "text",
        T::Int8 | T::Int16 | T::Int32 | T::Int64 | T::UInt8 | T::UInt16 | T::UInt32 | T::UInt64 => "integer",
        T::Decimal32(..) | T::Decimal64(..) | T::Decimal128(..) | T::Decimal256(..) => "decimal",
        T::Float16 | T::Float32 | T::Float64 => "float",
        T::Boolean => "boolean",
        T::Date32 | T::Date64 => "date",
        T::Timestamp(..) => "datetime",
        _ => "other",
    }
}

fn records(batches: &[RecordBatch]) -> Result<serde_json::Value, gongshu_app::AppError> {
    gongshu_app::records_json(batches).map_err(|e| gongshu_app::AppError::Internal(Box::new(e)))
}

fn pairs(query: Option<String>) -> Vec<(String, String)> {
    form_urlencoded::parse(query.unwrap_or_default().as_bytes()).into_owned().collect()
}

/// Rows of a resource's data, through the access gateway. Filters are
/// `column=value` or `column__op=value` (ops: eq, ne, lt, lte, gt, gte, in,
/// contains, prefix, isnull); options are `_q` (words that must each appear
/// in some text column), `_sort` (`-column` descends), `_fields`, `_limit`
/// (≤ 10000), `_offset`, `_group_by`, `_aggregate` (`count`, `sum:col`,
/// `avg:col`, `min:col`, `max:col`) and `_version`.
#[utoipa::path(get, path = "/api/v1/resources/{id}/data", tag = "data", params(("id" = String, Path)), security((), ("bearer" = [])),
    responses((status = 200, description = "Success", body = DataDto),
        (status = 403, description = "The data is not open to the caller: `forbidden`", body = ErrorBody),
        (status = 404, description = "Not found, not visible, or no data loaded: `not_found`", body = ErrorBody),
        (status = 422, description = "A parameter is wrong: `validation_failed`, naming it", body = ErrorBody)))]
async fn query_data(
    State(state): State<ApiState>,
    Caller(subject): Caller,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
) -> ApiResult<Json<DataDto>> {
    let data = state.app.query_data(&subject, &id, &pairs(query)).await?;
    Ok(Json(DataDto {
        resource_id: id,
        version: data.version,
        total: data.page.total,
        limit: data.limit,
        offset: data.offset,
        columns: columns(&data.page.schema),
        records: records(&data.page.batches)?,
    }))
}

/// Downloads a resource's data, streamed: the whole version, or what a data
/// query selects (same parameters as `/data`, without paging). `format`:
/// `csv` (UTF-8), `csv-bom` (UTF-8 with BOM, for Excel), `csv-gb18030`
/// (for Excel on Chinese Windows), `xlsx` (typed cells; codes keep their
/// leading zeros), `json`, `ndjson`, or `parquet` (whole versions).
#[utoipa::path(get, path = "/api/v1/resources/{id}/download", tag = "data", params(("id" = String, Path), ("format" = String, Query, description = "csv | csv-bom | csv-gb18030 | xlsx | json | ndjson | parquet")),
    security((), ("bearer" = [])),
    responses((status = 200, description = "The file", content_type = "application/octet-stream"),
        (status = 403, description = "The data is not open to the caller: `forbidden`", body = ErrorBody),
        (status = 422, description = "A parameter is wrong: `validation_failed`", body = ErrorBody)))]
async fn download(
    State(state): State<ApiState>,
    Caller(subject): Caller,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
) -> ApiResult<Response> {
    let mut params = pairs(query);
    let format = match params.iter().position(|(key, _)| key == "format") {
        Some(index) => params.remove(index).1,
        None => "csv".to_owned(),
    };
    let download = state.app.download_data(&subject, &id, &params, &format).await?;
    // A failure mid-stream can no longer change the status; the connection
    // is cut, so the client sees an incomplete download rather than a wrong one.
    let body = Body::from_stream(futures::StreamExt::map(download.body, |chunk| chunk.map_err(std::io::Error::other)));
    let disposition = format!("attachment; filename=\"{}\"", download.filename);
    Ok(([(header::CONTENT_TYPE, download.content_type.to_owned()), (header::CONTENT_DISPOSITION, disposition)], body)
        .into_response())
}

/// A read-only SQL query.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct SqlInput {
    /// One SELECT. Tables are resource ids: `SELECT * FROM "0190…"`.
    sql: String,
}

/// The result of an SQL query.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct SqlDto {
    columns: Vec<ColumnDto>,
    #[schema(value_type = Vec<Object>)]
    records: serde_json::Value,
    /// Whether rows beyond the cap (10,000) were left out.
    truncated: bool,
}

/// Runs one read-only SELECT over resources' newest versions, each of
/// which the caller must be allowed to read. Statements that change
/// anything are refused; queries stop after 30 s or 512 MiB.
#[utoipa::path(post, path = "/api/v1/sql", tag = "data", request_body = SqlInput, security((), ("bearer" = [])),
    responses((status = 200, description = "Success", body = SqlDto),
        (status = 403, description = "A table's data is not open to the caller: `forbidden`", body = ErrorBody),
        (status = 422, description = "The SQL is wrong, not read-only, too slow or too large: `validation_failed`", body = ErrorBody)))]
async fn sql(
    State(state): State<ApiState>,
    Caller(subject): Caller,
    ApiJson(input): ApiJson<SqlInput>,
) -> ApiResult<Json<SqlDto>> {
    let result = state.app.sql(&subject, &input.sql).await?;
    Ok(Json(sql_dto(&result)?))
}

/// The wire form of an SQL result.
pub(crate) fn sql_dto(result: &gongshu_app::SqlResult) -> Result<SqlDto, gongshu_app::AppError> {
    Ok(SqlDto { columns: columns(&result.schema), records: records(&result.batches)?, truncated: result.truncated })
}
