//! Data versions of a resource: upload a file as a new version, list the
//! versions, read one's schema and quality profile.

use std::sync::Arc;

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use futures::StreamExt;
use gongshu_app::LoadOptions;
use gongshu_domain::{DatasetVersion, ValidationError};
use serde::{Deserialize, Serialize};
use tokio::io::AsyncWriteExt;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::ApiState;
use crate::error::{ApiError, ApiResult, ErrorBody, ErrorCode};
use crate::extract::{ApiQuery, Caller};

/// The largest upload accepted, so a runaway client cannot fill the disk.
const MAX_UPLOAD_BYTES: u64 = 16 * 1024 * 1024 * 1024;

pub(crate) fn router() -> OpenApiRouter<ApiState> {
    OpenApiRouter::new().routes(routes!(list_versions, upload_version)).routes(routes!(get_version))
}

/// A version of a resource's data.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct VersionDto {
    /// 1, 2, 3 … per resource.
    version: i64,
    /// Stable id.
    id: String,
    /// Data rows.
    row_count: i64,
    /// Size of the stored Parquet file.
    parquet_bytes: i64,
    /// Size of the uploaded file.
    source_bytes: i64,
    /// SHA-256 of the Parquet file.
    content_hash: String,
    /// Name of the uploaded file.
    source_name: String,
    /// Columns: `[{"name", "type", "scale"?}]`; types are `integer`, `decimal`, `float`, `boolean`, `date`, `date_time`, `text`.
    #[schema(value_type = Object)]
    columns: serde_json::Value,
    /// How the file was read: encoding, delimiter, header line, warnings with their lines.
    #[schema(value_type = Object)]
    load: serde_json::Value,
    /// Quality profile (detail only): per column nulls, distinct estimate, min, max, conformance; duplicate rows.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Object)]
    profile: Option<serde_json::Value>,
    /// Who loaded it (shown to the provider, the bureau and auditors).
    created_by: Option<String>,
    /// When.
    created_at: chrono::DateTime<chrono::Utc>,
}

/// Reads one of the stored JSON records, dropping its format version.
fn stored(json: &str, key: &str) -> serde_json::Value {
    let mut value: serde_json::Value = serde_json::from_str(json).unwrap_or(serde_json::Value::Null);
    match key {
        "" => {
            if let Some(object) = value.as_object_mut() {
                object.remove("version");
            }
            value
        }
        key => value.get_mut(key).map(serde_json::Value::take).unwrap_or(serde_json::Value::Null),
    }
}

impl VersionDto {
    fn new(v: &DatasetVersion, with_profile: bool) -> Self {
        VersionDto {
            version: v.version,
            id: v.id.clone(),
            row_count: v.row_count,
            parquet_bytes: v.parquet_bytes,
            source_bytes: v.source_bytes,
            content_hash: v.content_hash.clone(),
            source_name: v.source_name.clone(),
            columns: stored(&v.schema_json, "columns"),
            load: stored(&v.load_json, ""),
            profile: with_profile.then(|| stored(&v.profile_json, "profile")),
            created_by: v.created_by.clone(),
            created_at: v.created_at,
        }
    }
}

/// The versions of a resource, newest first.
#[utoipa::path(get, path = "/api/v1/resources/{id}/versions", tag = "versions", params(("id" = String, Path)), security((), ("bearer" = [])),
    responses((status = 200, description = "Success", body = Vec<VersionDto>), (status = 404, description = "Not found or not visible: `not_found`", body = ErrorBody)))]
async fn list_versions(
    State(state): State<ApiState>,
    Caller(subject): Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Vec<VersionDto>>> {
    let versions = state.app.versions(&subject, &id).await?;
    Ok(Json(versions.iter().map(|v| VersionDto::new(v, false)).collect()))
}

/// One version with its quality profile.
#[utoipa::path(get, path = "/api/v1/resources/{id}/versions/{version}", tag = "versions", params(("id" = String, Path), ("version" = i64, Path)), security((), ("bearer" = [])),
    responses((status = 200, description = "Success", body = VersionDto), (status = 404, description = "Not found or not visible: `not_found`", body = ErrorBody)))]
async fn get_version(
    State(state): State<ApiState>,
    Caller(subject): Caller,
    Path((id, version)): Path<(String, i64)>,
) -> ApiResult<Json<VersionDto>> {
    Ok(Json(VersionDto::new(&state.app.version(&subject, &id, version).await?, true)))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct UploadQuery {
    /// The file's name; its extension picks the format (`.csv`, `.tsv`, `.psv`, `.txt`, `.xlsx`, `.xls`, `.ods`, `.json`, `.ndjson`).
    filename: String,
    /// Encoding (`utf-8`, `gbk`, `gb18030`, `big5`, `utf-16le` …); detected when absent.
    encoding: Option<String>,
    /// Delimiter, one character or `tab`; sniffed when absent.
    delimiter: Option<String>,
    /// Non-blank rows above the header; detected when absent.
    skip_rows: Option<usize>,
    /// A Frictionless Table Schema (JSON) whose field types override inference.
    schema: Option<String>,
    /// A spreadsheet's sheet, by name or 1-based number; the one with the most rows when absent.
    sheet: Option<String>,
}

/// Uploads a file as the next version (the provider's cataloguers). The
/// body is the file itself, streamed: send it as it is, with any content type.
#[utoipa::path(post, path = "/api/v1/resources/{id}/versions", tag = "versions", params(("id" = String, Path), UploadQuery),
    request_body(content = Vec<u8>, content_type = "application/octet-stream", description = "the file"),
    responses((status = 201, description = "Created", body = VersionDto), (status = 403, description = "Not allowed: `forbidden`", body = ErrorBody),
        (status = 409, description = "State or data conflict: `invalid_transition`, `conflict`", body = ErrorBody),
        (status = 422, description = "The file cannot be read: `validation_failed`, naming the line and column", body = ErrorBody)))]
async fn upload_version(
    State(state): State<ApiState>,
    Caller(subject): Caller,
    Path(id): Path<String>,
    ApiQuery(query): ApiQuery<UploadQuery>,
    body: Body,
) -> ApiResult<(StatusCode, Json<VersionDto>)> {
    let name = query.filename.trim();
    if name.is_empty() || name.contains(['/', '\\']) {
        let error =
            ValidationError::new("filename", "give the file's name, without folders", "请给出文件名（不含路径）");
        return Err(gongshu_app::AppError::from(error).into());
    }
    // Stream the body to disk: memory stays flat however large the file.
    let scratch = state.app.scratch_file()?;
    let mut file = tokio::fs::File::create(scratch.path()).await.map_err(internal)?;
    let mut received = 0u64;
    let mut stream = body.into_data_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk
            .map_err(|e| ApiError::new(ErrorCode::BadRequest, format!("the upload broke off: {e}"), "上传中断"))?;
        received += chunk.len() as u64;
        if received > MAX_UPLOAD_BYTES {
            return Err(ApiError::new(
                ErrorCode::BadRequest,
                format!("the file is larger than {} GiB", MAX_UPLOAD_BYTES >> 30),
                format!("文件超过 {} GiB", MAX_UPLOAD_BYTES >> 30),
            ));
        }
        file.write_all(&chunk).await.map_err(internal)?;
    }
    file.flush().await.map_err(internal)?;
    drop(file);
    // The scratch name has no extension; ingest picks the format by it.
    let named = scratch
        .path()
        .with_file_name(format!("{}-{name}", scratch.path().file_name().and_then(|n| n.to_str()).unwrap_or("upload")));
    tokio::fs::rename(scratch.path(), &named).await.map_err(internal)?;
    let _cleanup = RemoveOnDrop(named.clone());
    let options = LoadOptions {
        encoding: query.encoding,
        delimiter: query.delimiter,
        skip_rows: query.skip_rows,
        schema_json: query.schema,
        sheet: query.sheet,
    };
    let version = state.app.load_version(&subject, &id, &named, name, &options, Arc::new(|_| {})).await?;
    Ok((StatusCode::CREATED, Json(VersionDto::new(&version, true))))
}

fn internal(error: std::io::Error) -> ApiError {
    gongshu_app::AppError::Internal(Box::new(error)).into()
}

/// Deletes an uploaded file when the request ends, however it ends.
struct RemoveOnDrop(std::path::PathBuf);

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        std::fs::remove_file(&self.0).ok();
    }
}
