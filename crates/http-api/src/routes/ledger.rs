//! The verifiable ledger (ADR 0015), readable by anyone: the latest signed
//! checkpoint and the key that checks it, entries by index, inclusion and
//! consistency proofs, and the whole ledger as an export for `gongshu
//! ledger verify`. Checkpoints are signed on a schedule; the bureau and
//! auditors may ask for one now.

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use gongshu_app::{LedgerRecord, StoredCheckpoint};
use gongshu_ledger::hex;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::ApiState;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{ApiQuery, Caller};

pub(crate) fn router() -> OpenApiRouter<ApiState> {
    OpenApiRouter::new()
        .routes(routes!(latest_checkpoint))
        .routes(routes!(list_checkpoints, issue_checkpoint))
        .routes(routes!(get_entry))
        .routes(routes!(entry_of))
        .routes(routes!(inclusion_proof))
        .routes(routes!(consistency_proof))
        .routes(routes!(export))
}

/// A signed checkpoint (C2SP tlog-checkpoint in a signed note).
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct CheckpointDto {
    /// Entries it commits to.
    size: u64,
    /// The RFC 6962 root, hex.
    root: String,
    issued_at: DateTime<Utc>,
    /// The signed note, verifiable with Go's `sumdb/note` or `gongshu ledger verify`.
    note: String,
}

impl From<&StoredCheckpoint> for CheckpointDto {
    fn from(c: &StoredCheckpoint) -> Self {
        CheckpointDto { size: c.size, root: hex(&c.root), issued_at: c.issued_at, note: c.note.clone() }
    }
}

/// The ledger's state and the key that checks it.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct LedgerDto {
    /// The log's origin (first line of every checkpoint).
    origin: String,
    /// The verifier key (`<name>+<id>+<base64>`) to pass to `gongshu ledger verify --key`.
    public_key: String,
    /// Entries integrated into the tree (a checkpoint may cover fewer).
    size: u64,
    /// The latest checkpoint, once one is signed.
    checkpoint: Option<CheckpointDto>,
}

/// The latest signed checkpoint and the public key.
#[utoipa::path(get, path = "/api/v1/ledger", tag = "ledger",
    responses((status = 200, description = "Success", body = LedgerDto)))]
async fn latest_checkpoint(State(state): State<ApiState>) -> ApiResult<Json<LedgerDto>> {
    let app = &state.app;
    let head = app.ledger_head().await?;
    let checkpoint = app.latest_checkpoint().await?;
    Ok(Json(LedgerDto {
        origin: app.ledger_origin().to_owned(),
        public_key: app.ledger_verifier().to_string(),
        size: head.size,
        checkpoint: checkpoint.as_ref().map(CheckpointDto::from),
    }))
}

/// Every checkpoint, by size.
#[utoipa::path(get, path = "/api/v1/ledger/checkpoints", tag = "ledger",
    responses((status = 200, description = "Success", body = Vec<CheckpointDto>)))]
async fn list_checkpoints(State(state): State<ApiState>) -> ApiResult<Json<Vec<CheckpointDto>>> {
    Ok(Json(state.app.checkpoints().await?.iter().map(CheckpointDto::from).collect()))
}

/// Integrates queued entries and signs a checkpoint now (the bureau and auditors).
#[utoipa::path(post, path = "/api/v1/ledger/checkpoints", tag = "ledger",
    responses((status = 201, description = "Signed (or the latest, when nothing arrived since)", body = CheckpointDto), (status = 403, description = "Not the bureau or an auditor: `forbidden`", body = ErrorBody)))]
async fn issue_checkpoint(
    State(state): State<ApiState>,
    Caller(subject): Caller,
) -> ApiResult<(StatusCode, Json<CheckpointDto>)> {
    let checkpoint = state.app.issue_checkpoint(&subject).await?;
    Ok((StatusCode::CREATED, Json(CheckpointDto::from(&checkpoint))))
}

/// One ledger entry.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct EntryDto {
    index: u64,
    /// `state`, `usage` or `usage_outcome`.
    kind: String,
    /// The entry's exact text: its leaf hash is SHA-256(0x00 ‖ these bytes).
    entry: String,
    /// The stored leaf hash, hex.
    leaf_hash: String,
    queued_at: DateTime<Utc>,
}

impl From<&LedgerRecord> for EntryDto {
    fn from(r: &LedgerRecord) -> Self {
        EntryDto {
            index: r.index,
            kind: r.kind.clone(),
            entry: r.body.clone(),
            leaf_hash: hex(&r.leaf_hash),
            queued_at: r.queued_at,
        }
    }
}

/// One entry by index.
#[utoipa::path(get, path = "/api/v1/ledger/entries/{index}", tag = "ledger", params(("index" = u64, Path)),
    responses((status = 200, description = "Success", body = EntryDto), (status = 404, description = "No such entry: `not_found`", body = ErrorBody)))]
async fn get_entry(State(state): State<ApiState>, Path(index): Path<u64>) -> ApiResult<Json<EntryDto>> {
    Ok(Json(EntryDto::from(&state.app.ledger_entry(index).await?)))
}

/// The entry that records a history step (`state`) or a usage event (`usage`, `usage_outcome`).
#[utoipa::path(get, path = "/api/v1/ledger/of/{kind}/{seq}", tag = "ledger", params(("kind" = String, Path), ("seq" = i64, Path)),
    responses((status = 200, description = "Success", body = EntryDto), (status = 404, description = "Not integrated yet, or no such record: `not_found`", body = ErrorBody)))]
async fn entry_of(State(state): State<ApiState>, Path((kind, seq)): Path<(String, i64)>) -> ApiResult<Json<EntryDto>> {
    let record = state
        .app
        .ledger_entry_of(&kind, seq)
        .await?
        .ok_or_else(|| gongshu_app::AppError::NotFound { entity: "ledger entry", id: format!("{kind}/{seq}") })?;
    Ok(Json(EntryDto::from(&record)))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct ProofQuery {
    /// The tree size (default: the latest checkpoint's).
    size: Option<u64>,
}

/// An inclusion proof (RFC 9162 §2.1.3).
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct InclusionDto {
    index: u64,
    size: u64,
    /// The entry's exact text.
    entry: String,
    leaf_hash: String,
    /// Sibling hashes, leaf side first, hex.
    hashes: Vec<String>,
    /// The checkpoint of that size, when one was signed.
    checkpoint: Option<CheckpointDto>,
}

/// The proof that an entry is in the tree of a given size.
#[utoipa::path(get, path = "/api/v1/ledger/entries/{index}/proof", tag = "ledger", params(("index" = u64, Path), ProofQuery),
    responses((status = 200, description = "Success", body = InclusionDto), (status = 422, description = "Index or size outside the ledger: `validation_failed`", body = ErrorBody)))]
async fn inclusion_proof(
    State(state): State<ApiState>,
    Path(index): Path<u64>,
    ApiQuery(query): ApiQuery<ProofQuery>,
) -> ApiResult<Json<InclusionDto>> {
    let proof = state.app.inclusion_proof(index, query.size).await?;
    Ok(Json(InclusionDto {
        index,
        size: proof.size,
        entry: proof.entry.body.clone(),
        leaf_hash: hex(&proof.entry.leaf_hash),
        hashes: proof.hashes.iter().map(|h| hex(h)).collect(),
        checkpoint: proof.checkpoint.as_ref().map(CheckpointDto::from),
    }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct ConsistencyQuery {
    first: u64,
    second: u64,
}

/// A consistency proof (RFC 9162 §2.1.4).
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ConsistencyDto {
    first: u64,
    second: u64,
    /// Hex.
    hashes: Vec<String>,
}

/// The proof that the tree of `first` entries is a prefix of the one of `second`.
#[utoipa::path(get, path = "/api/v1/ledger/consistency", tag = "ledger", params(ConsistencyQuery),
    responses((status = 200, description = "Success", body = ConsistencyDto), (status = 422, description = "Sizes outside the ledger: `validation_failed`", body = ErrorBody)))]
async fn consistency_proof(
    State(state): State<ApiState>,
    ApiQuery(query): ApiQuery<ConsistencyQuery>,
) -> ApiResult<Json<ConsistencyDto>> {
    let hashes = state.app.consistency_proof(query.first, query.second).await?;
    Ok(Json(ConsistencyDto {
        first: query.first,
        second: query.second,
        hashes: hashes.iter().map(|h| hex(h)).collect(),
    }))
}

/// The whole ledger as NDJSON: a header, every checkpoint, every entry.
#[utoipa::path(get, path = "/api/v1/ledger/export", tag = "ledger",
    responses((status = 200, description = "NDJSON export for `gongshu ledger verify --file`", content_type = "application/x-ndjson")))]
async fn export(State(state): State<ApiState>) -> Result<Response, ApiError> {
    let stream = state.app.export_ledger().await?;
    let body = Body::from_stream(futures::StreamExt::map(stream, |chunk| chunk.map_err(std::io::Error::other)));
    Ok((
        [
            (header::CONTENT_TYPE, "application/x-ndjson"),
            (header::CONTENT_DISPOSITION, "attachment; filename=\"gongshu-ledger.ndjson\""),
        ],
        body,
    )
        .into_response())
}
