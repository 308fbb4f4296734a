//! Sharing requests (共享申请), the grants they make, the aggregate-only
//! sandbox and the gateway's usage records.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use gongshu_app::{GrantTerms, GrantView, NewSharingRequest, SharingDecision, SharingQuery, SharingView, UsageQuery};
use gongshu_domain::{GrantAction, GrantedResource, Mask, RowCondition, RowOp, UsageEvent, Validations};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::ApiState;
use crate::dto::{HistoryDto, PageDto};
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{ApiJson, ApiQuery, Caller};
use crate::routes::data::{SqlDto, sql_dto};

pub(crate) fn router() -> OpenApiRouter<ApiState> {
    OpenApiRouter::new()
        .routes(routes!(list_sharing_requests, submit_sharing_request))
        .routes(routes!(get_sharing_request))
        .routes(routes!(check_sharing_request))
        .routes(routes!(decide_sharing_request))
        .routes(routes!(escalate_sharing_request))
        .routes(routes!(coordinate_sharing_request))
        .routes(routes!(withdraw_sharing_request))
        .routes(routes!(list_grants))
        .routes(routes!(get_grant))
        .routes(routes!(change_grant))
        .routes(routes!(sandbox_query))
        .routes(routes!(verify))
        .routes(routes!(list_usage))
}

/// A sharing request (共享申请).
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct SharingRequestDto {
    id: String,
    requester_org_id: String,
    provider_org_id: String,
    resource_id: String,
    /// Data items asked for.
    columns: Vec<String>,
    /// `query`, `download`, `aggregate`, `verify`.
    modes: Vec<&'static str>,
    purpose: String,
    /// 履职依据.
    legal_basis: String,
    scenario: String,
    /// Last day needed.
    needed_until: String,
    /// `submitted`, `provider_review`, `granted`, `returned`, `refused`, `coordination`, `upheld`, `withdrawn`.
    state: &'static str,
    state_zh: &'static str,
    /// The day by which the one who must act next has to.
    due_date: Option<String>,
    /// Waiting past its due date.
    overdue: bool,
    /// The last decision's reason or opinion.
    opinion: Option<String>,
    /// The grant made.
    grant_id: Option<String>,
    /// The scenario bundle (“一件事”) it is part of.
    bundle_id: Option<String>,
    created_at: String,
    updated_at: String,
    /// What the caller may do now: `pass_check`, `return`, `approve`, `refuse`, `escalate`, `coordinate_grant`, `uphold`, `withdraw`.
    may: Vec<&'static str>,
}

impl From<&SharingView> for SharingRequestDto {
    fn from(view: &SharingView) -> Self {
        let r = &view.request;
        SharingRequestDto {
            id: r.id.clone(),
            requester_org_id: r.requester_org_id.clone(),
            provider_org_id: r.provider_org_id.clone(),
            resource_id: r.resource_id.clone(),
            columns: r.columns.clone(),
            modes: r.modes.iter().map(|m| m.code()).collect(),
            purpose: r.purpose.clone(),
            legal_basis: r.legal_basis.clone(),
            scenario: r.scenario.clone(),
            needed_until: r.needed_until.to_string(),
            state: r.state.code(),
            state_zh: r.state.label_zh(),
            due_date: r.due_date.map(|d| d.to_string()),
            overdue: view.overdue,
            opinion: r.opinion.clone(),
            grant_id: r.grant_id.clone(),
            bundle_id: r.bundle_id.clone(),
            created_at: r.created_at.to_rfc3339(),
            updated_at: r.updated_at.to_rfc3339(),
            may: view.may.iter().map(|a| a.code()).collect(),
        }
    }
}

/// A sharing request with its history.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct SharingRequestDetailDto {
    #[serde(flatten)]
    request: SharingRequestDto,
    history: Vec<HistoryDto>,
}

/// A new sharing request.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct SharingRequestInput {
    resource_id: String,
    /// The requesting department; the caller's only department when absent.
    #[serde(default)]
    requester_org_id: Option<String>,
    /// Data items; all when absent.
    #[serde(default)]
    columns: Vec<String>,
    /// `query` (default), `download`, `aggregate`, `verify`.
    #[serde(default)]
    modes: Vec<String>,
    purpose: String,
    /// 履职依据.
    legal_basis: String,
    scenario: String,
    /// `YYYY-MM-DD`.
    needed_until: String,
}

/// One condition of a row filter.
#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RowConditionDto {
    column: String,
    /// `eq`, `in`, `prefix`, `gte`, `lte`.
    op: String,
    values: Vec<String>,
}

/// What a decision grants; what is left out keeps what was asked.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct GrantTermsInput {
    /// Columns granted, a subset of those asked.
    #[serde(default)]
    columns: Option<Vec<String>>,
    /// Masks by column: `hash`, `keep_first(n)`, `keep_last(n)`, `year`, `month`, `region_prefix(n)`, `null`.
    #[serde(default)]
    masks: BTreeMap<String, String>,
    /// Rows granted: every condition must hold.
    #[serde(default)]
    row_filter: Vec<RowConditionDto>,
    /// Modes granted, a subset of those asked.
    #[serde(default)]
    modes: Option<Vec<String>>,
    /// Groups smaller than this are suppressed in aggregates (5).
    #[serde(default)]
    min_group_size: Option<u32>,
    /// Last day, no later than asked.
    #[serde(default)]
    valid_until: Option<String>,
    /// A privacy budget (total ε): aggregates are then released as noisy counts.
    #[serde(default)]
    epsilon_budget: Option<f64>,
}

impl GrantTermsInput {
    pub(crate) fn into_terms(self) -> Result<GrantTerms, Validations> {
        let mut problems = Validations::default();
        let mut masks = BTreeMap::new();
        for (column, text) in self.masks {
            if let Some(mask) = problems.check(Mask::parse(&format!("terms.masks.{column}"), &text)) {
                masks.insert(column, mask);
            }
        }
        let mut row_filter = Vec::new();
        for (i, condition) in self.row_filter.into_iter().enumerate() {
            if let Some(op) = problems.check(RowOp::parse(&format!("terms.row_filter[{i}].op"), &condition.op)) {
                row_filter.push(RowCondition { column: condition.column, op, values: condition.values });
            }
        }
        problems.finish(|| GrantTerms {
            columns: self.columns,
            masks,
            row_filter,
            modes: self.modes,
            min_group_size: self.min_group_size,
            valid_until: self.valid_until,
            epsilon_budget: self.epsilon_budget,
        })
    }
}

/// A decision on a sharing request.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct SharingDecisionInput {
    /// Grant (`true`), or return / refuse / uphold (`false`).
    approve: bool,
    /// Reason or opinion; required when not approving.
    #[serde(default)]
    opinion: Option<String>,
    /// What is granted, when approving.
    #[serde(default)]
    terms: Option<GrantTermsInput>,
}

impl SharingDecisionInput {
    pub(crate) fn into_decision(self) -> Result<SharingDecision, Validations> {
        Ok(SharingDecision {
            approve: self.approve,
            opinion: self.opinion,
            terms: self.terms.unwrap_or_default().into_terms()?,
        })
    }
}

/// A reason.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ReasonInput {
    pub(crate) reason: String,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct SharingListQuery {
    /// `requested` (filed by the caller's departments), `received` (addressed to them) or `all`.
    role: Option<String>,
    /// Only this state.
    state: Option<String>,
    /// Page size, 1–100 (20).
    limit: Option<i64>,
    /// Rows to skip.
    offset: Option<i64>,
}

/// The sharing requests the caller files, receives or oversees, newest first.
#[utoipa::path(get, path = "/api/v1/sharing-requests", tag = "sharing", params(SharingListQuery),
    responses((status = 200, description = "Success", body = PageDto<SharingRequestDto>), (status = 401, description = "Not signed in: `unauthenticated`", body = ErrorBody)))]
async fn list_sharing_requests(
    State(state): State<ApiState>,
    Caller(subject): Caller,
    ApiQuery(query): ApiQuery<SharingListQuery>,
) -> ApiResult<Json<PageDto<SharingRequestDto>>> {
    let query = SharingQuery { role: query.role, state: query.state, limit: query.limit, offset: query.offset };
    let list = state.app.sharing_requests(&subject, query).await?;
    Ok(Json(PageDto {
        items: list.items.iter().map(SharingRequestDto::from).collect(),
        total: list.total,
        limit: list.limit,
        offset: list.offset,
    }))
}

/// Files a sharing request for another department's registered resource.
#[utoipa::path(post, path = "/api/v1/sharing-requests", tag = "sharing", request_body = SharingRequestInput,
    responses((status = 201, description = "Created", body = SharingRequestDto), (status = 403, description = "Not allowed: `forbidden`", body = ErrorBody), (status = 422, description = "Invalid input: `validation_failed`", body = ErrorBody)))]
async fn submit_sharing_request(
    State(state): State<ApiState>,
    Caller(subject): Caller,
    ApiJson(input): ApiJson<SharingRequestInput>,
) -> ApiResult<(StatusCode, Json<SharingRequestDto>)> {
    let new = NewSharingRequest {
        resource_id: input.resource_id,
        requester_org_id: input.requester_org_id,
        columns: input.columns,
        modes: input.modes,
        purpose: input.purpose,
        legal_basis: input.legal_basis,
        scenario: input.scenario,
        needed_until: input.needed_until,
    };
    let view = state.app.submit_sharing_request(&subject, new).await?;
    Ok((StatusCode::CREATED, Json(SharingRequestDto::from(&view))))
}

/// One sharing request with its history.
#[utoipa::path(get, path = "/api/v1/sharing-requests/{id}", tag = "sharing", params(("id" = String, Path)),
    responses((status = 200, description = "Success", body = SharingRequestDetailDto), (status = 404, description = "Not found: `not_found`", body = ErrorBody)))]
async fn get_sharing_request(
    State(state): State<ApiState>,
    Caller(subject): Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<SharingRequestDetailDto>> {
    let (view, history) = state.app.sharing_request(&subject, &id).await?;
    Ok(Json(SharingRequestDetailDto {
        request: SharingRequestDto::from(&view),
        history: history.iter().map(HistoryDto::from).collect(),
    }))
}

/// The bureau's conformity check: `approve: true` passes it (an unconditionally shared
/// resource is granted now, a conditional one goes to its provider); `false` returns it.
#[utoipa::path(post, path = "/api/v1/sharing-requests/{id}/check", tag = "sharing", params(("id" = String, Path)), request_body = SharingDecisionInput,
    responses((status = 200, description = "Success", body = SharingRequestDto), (status = 403, description = "Not allowed: `forbidden`", body = ErrorBody), (status = 409, description = "Not in a state to check: `invalid_transition`", body = ErrorBody), (status = 422, description = "Invalid input: `validation_failed`", body = ErrorBody)))]
async fn check_sharing_request(
    State(state): State<ApiState>,
    Caller(subject): Caller,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<SharingDecisionInput>,
) -> ApiResult<Json<SharingRequestDto>> {
    let view = state
        .app
        .check_sharing_request(&subject, &id, input.into_decision().map_err(gongshu_app::AppError::from)?)
        .await?;
    Ok(Json(SharingRequestDto::from(&view)))
}

/// The provider's decision: approve with the terms granted, or refuse with a reason.
#[utoipa::path(post, path = "/api/v1/sharing-requests/{id}/decide", tag = "sharing", params(("id" = String, Path)), request_body = SharingDecisionInput,
    responses((status = 200, description = "Success", body = SharingRequestDto), (status = 403, description = "Not allowed: `forbidden`", body = ErrorBody), (status = 409, description = "Not in a state to decide: `invalid_transition`", body = ErrorBody), (status = 422, description = "Invalid input: `validation_failed`", body = ErrorBody)))]
async fn decide_sharing_request(
    State(state): State<ApiState>,
    Caller(subject): Caller,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<SharingDecisionInput>,
) -> ApiResult<Json<SharingRequestDto>> {
    let view = state
        .app
        .decide_sharing_request(&subject, &id, input.into_decision().map_err(gongshu_app::AppError::from)?)
        .await?;
    Ok(Json(SharingRequestDto::from(&view)))
}

/// The requester takes a refusal to the bureau for coordination (申请协调).
#[utoipa::path(post, path = "/api/v1/sharing-requests/{id}/escalate", tag = "sharing", params(("id" = String, Path)), request_body = ReasonInput,
    responses((status = 200, description = "Success", body = SharingRequestDto), (status = 409, description = "Not refused: `invalid_transition`", body = ErrorBody)))]
async fn escalate_sharing_request(
    State(state): State<ApiState>,
    Caller(subject): Caller,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<ReasonInput>,
) -> ApiResult<Json<SharingRequestDto>> {
    let view = state.app.escalate_sharing_request(&subject, &id, &input.reason).await?;
    Ok(Json(SharingRequestDto::from(&view)))
}

/// The bureau's coordination, final: grant (`approve: true`, with terms) or uphold the refusal.
#[utoipa::path(post, path = "/api/v1/sharing-requests/{id}/coordinate", tag = "sharing", params(("id" = String, Path)), request_body = SharingDecisionInput,
    responses((status = 200, description = "Success", body = SharingRequestDto), (status = 409, description = "Not in coordination: `invalid_transition`", body = ErrorBody)))]
async fn coordinate_sharing_request(
    State(state): State<ApiState>,
    Caller(subject): Caller,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<SharingDecisionInput>,
) -> ApiResult<Json<SharingRequestDto>> {
    let view = state
        .app
        .coordinate_sharing_request(&subject, &id, input.into_decision().map_err(gongshu_app::AppError::from)?)
        .await?;
    Ok(Json(SharingRequestDto::from(&view)))
}

/// The requester withdraws a request not yet decided.
#[utoipa::path(post, path = "/api/v1/sharing-requests/{id}/withdraw", tag = "sharing", params(("id" = String, Path)),
    responses((status = 200, description = "Success", body = SharingRequestDto), (status = 409, description = "Already decided: `invalid_transition`", body = ErrorBody)))]
async fn withdraw_sharing_request(
    State(state): State<ApiState>,
    Caller(subject): Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<SharingRequestDto>> {
    let view = state.app.withdraw_sharing_request(&subject, &id).await?;
    Ok(Json(SharingRequestDto::from(&view)))
}

/// A grant: what of which resources its holder may read, how, and until when.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct GrantDto {
    id: String,
    /// `sharing`, `conditional_open` or `operation`.
    basis: &'static str,
    basis_zh: &'static str,
    /// The workflow record that made it.
    source_id: String,
    grantee_org_id: String,
    grantor_org_id: String,
    resources: Vec<GrantedResourceDto>,
    /// `download`, `query`, `aggregate`, `verify`.
    modes: Vec<&'static str>,
    purpose: String,
    scenario: String,
    valid_from: String,
    valid_until: String,
    /// Groups smaller than this are suppressed in aggregates.
    min_group_size: u32,
    /// The privacy budget (total ε), when aggregates are released with noise.
    epsilon_budget: Option<f64>,
    /// ε spent so far.
    epsilon_spent: f64,
    allow_joins: bool,
    /// Stored state: `active`, `suspended`, `revoked`.
    state: &'static str,
    /// Now: `active`, `suspended`, `revoked`, `expired`, `pending`.
    status: &'static str,
    /// Why it was last suspended or revoked.
    state_reason: Option<String>,
    /// Whether the caller may suspend, resume or revoke it.
    may_manage: bool,
}

/// What a grant exposes of one resource.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct GrantedResourceDto {
    resource_id: String,
    columns: Vec<String>,
    /// Masks by column.
    masks: BTreeMap<String, String>,
    row_filter: Vec<RowConditionDto>,
}

impl From<&GrantedResource> for GrantedResourceDto {
    fn from(r: &GrantedResource) -> Self {
        GrantedResourceDto {
            resource_id: r.resource_id.clone(),
            columns: r.columns.clone(),
            masks: r.masks.iter().map(|(column, mask)| (column.clone(), mask.describe())).collect(),
            row_filter: r
                .row_filter
                .iter()
                .map(|c| RowConditionDto {
                    column: c.column.clone(),
                    op: c.op.code().to_owned(),
                    values: c.values.clone(),
                })
                .collect(),
        }
    }
}

impl From<&GrantView> for GrantDto {
    fn from(view: &GrantView) -> Self {
        let g = &view.grant;
        GrantDto {
            id: g.id.clone(),
            basis: g.basis.code(),
            basis_zh: g.basis.label_zh(),
            source_id: g.source_id.clone(),
            grantee_org_id: g.grantee_org_id.clone(),
            grantor_org_id: g.grantor_org_id.clone(),
            resources: g.resources.iter().map(GrantedResourceDto::from).collect(),
            modes: g.modes.iter().map(|m| m.code()).collect(),
            purpose: g.purpose.clone(),
            scenario: g.scenario.clone(),
            valid_from: g.valid_from.to_rfc3339(),
            valid_until: g.valid_until.to_rfc3339(),
            min_group_size: g.min_group_size,
            epsilon_budget: g.epsilon_budget_micros.map(|m| m as f64 / 1e6),
            epsilon_spent: g.epsilon_spent_micros as f64 / 1e6,
            allow_joins: g.allow_joins,
            state: g.state.code(),
            status: view.status,
            state_reason: g.state_reason.clone(),
            may_manage: view.may_manage,
        }
    }
}

/// A grant with its history.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct GrantDetailDto {
    #[serde(flatten)]
    grant: GrantDto,
    history: Vec<HistoryDto>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct GrantListQuery {
    /// Only grants covering this resource.
    resource: Option<String>,
}

/// The grants the caller holds or gave (all of them, for the bureau and auditors), oldest first.
#[utoipa::path(get, path = "/api/v1/grants", tag = "sharing", params(GrantListQuery),
    responses((status = 200, description = "Success", body = Vec<GrantDto>), (status = 401, description = "Not signed in: `unauthenticated`", body = ErrorBody)))]
async fn list_grants(
    State(state): State<ApiState>,
    Caller(subject): Caller,
    ApiQuery(query): ApiQuery<GrantListQuery>,
) -> ApiResult<Json<Vec<GrantDto>>> {
    let grants = state.app.grants(&subject, query.resource.as_deref()).await?;
    Ok(Json(grants.iter().map(GrantDto::from).collect()))
}

/// One grant with its history.
#[utoipa::path(get, path = "/api/v1/grants/{id}", tag = "sharing", params(("id" = String, Path)),
    responses((status = 200, description = "Success", body = GrantDetailDto), (status = 404, description = "Not found: `not_found`", body = ErrorBody)))]
async fn get_grant(
    State(state): State<ApiState>,
    Caller(subject): Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<GrantDetailDto>> {
    let (view, history) = state.app.grant(&subject, &id).await?;
    Ok(Json(GrantDetailDto { grant: GrantDto::from(&view), history: history.iter().map(HistoryDto::from).collect() }))
}

/// Suspends, resumes or revokes a grant, at once: reads under way stop too.
#[utoipa::path(post, path = "/api/v1/grants/{id}/{action}", tag = "sharing",
    params(("id" = String, Path), ("action" = String, Path, description = "`suspend`, `resume` or `revoke`")), request_body = ReasonInput,
    responses((status = 200, description = "Success", body = GrantDto), (status = 403, description = "Not allowed: `forbidden`", body = ErrorBody), (status = 409, description = "Not possible in its state: `invalid_transition`", body = ErrorBody)))]
async fn change_grant(
    State(state): State<ApiState>,
    Caller(subject): Caller,
    Path((id, action)): Path<(String, String)>,
    ApiJson(input): ApiJson<ReasonInput>,
) -> ApiResult<Json<GrantDto>> {
    let action = GrantAction::parse("action", &action).map_err(gongshu_app::AppError::from)?;
    let view = state.app.change_grant(&subject, &id, action, &input.reason).await?;
    Ok(Json(GrantDto::from(&view)))
}

/// A query for the aggregate-only sandbox.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct SandboxInput {
    /// One SELECT whose result is COUNT, SUM or AVG per group; tables are resource ids.
    sql: String,
    /// Which of the caller's grants to use; the first that allows aggregates when absent.
    #[serde(default)]
    grant_id: Option<String>,
    /// ε to spend, under a grant with a privacy budget (0.1 when absent).
    #[serde(default)]
    epsilon: Option<f64>,
}

/// The aggregate-only sandbox (可用不可见): only COUNT, SUM and AVG per group
/// leave, groups under the grant's minimum are suppressed, and no subquery,
/// window, set operation or (unless the grant allows) join is admitted.
#[utoipa::path(post, path = "/api/v1/sandbox/query", tag = "sharing", request_body = SandboxInput,
    responses((status = 200, description = "Success", body = SqlDto),
        (status = 403, description = "No grant allows it: `forbidden`", body = ErrorBody),
        (status = 422, description = "Not an admitted aggregate query: `validation_failed`", body = ErrorBody)))]
async fn sandbox_query(
    State(state): State<ApiState>,
    Caller(subject): Caller,
    ApiJson(input): ApiJson<SandboxInput>,
) -> ApiResult<Json<SqlDto>> {
    let result = state.app.sandbox_sql(&subject, &input.sql, input.grant_id.as_deref(), input.epsilon).await?;
    Ok(Json(sql_dto(&result)?))
}

/// A verification: does a record with these values exist?
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct VerifyInput {
    /// Column → value; every one must match the same record.
    criteria: BTreeMap<String, String>,
    /// Which of the caller's grants to use; the first that allows verification when absent.
    #[serde(default)]
    grant_id: Option<String>,
}

/// The answer to a verification: yes or no, never the record.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct VerifyDto {
    matched: bool,
}

/// Verification (数据核验): whether a record with all these values exists among the
/// rows the caller's grant covers. Only yes or no leaves; every answer is recorded.
#[utoipa::path(post, path = "/api/v1/resources/{id}/verify", tag = "sharing", params(("id" = String, Path)), request_body = VerifyInput,
    responses((status = 200, description = "Success", body = VerifyDto),
        (status = 403, description = "No grant allows verification: `forbidden`", body = ErrorBody),
        (status = 422, description = "A column outside the grant, or a value of the wrong type: `validation_failed`", body = ErrorBody)))]
async fn verify(
    State(state): State<ApiState>,
    Caller(subject): Caller,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<VerifyInput>,
) -> ApiResult<Json<VerifyDto>> {
    let criteria: Vec<(String, String)> = input.criteria.into_iter().collect();
    let matched = state.app.verify(&subject, &id, &criteria, input.grant_id.as_deref()).await?;
    Ok(Json(VerifyDto { matched }))
}

/// One decision of the access gateway.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct UsageEventDto {
    seq: i64,
    at: String,
    user_id: Option<String>,
    /// The grant's holder.
    org_id: Option<String>,
    grant_id: Option<String>,
    resource_id: String,
    version: Option<i64>,
    /// `download`, `query`, `aggregate`, `verify`.
    mode: &'static str,
    /// `api`, `download`, `sql`, `sandbox`, `verify`.
    channel: String,
    purpose: Option<String>,
    allowed: bool,
    /// Why it was denied.
    reason: Option<String>,
    /// SHA-256 of what was asked.
    query_fingerprint: String,
    rows_out: Option<i64>,
    bytes_out: Option<i64>,
    /// SHA-256 of the result.
    result_hash: Option<String>,
    /// ε charged.
    privacy_cost: f64,
}

impl From<&UsageEvent> for UsageEventDto {
    fn from(e: &UsageEvent) -> Self {
        UsageEventDto {
            seq: e.seq,
            at: e.at.to_rfc3339(),
            user_id: e.user_id.clone(),
            org_id: e.org_id.clone(),
            grant_id: e.grant_id.clone(),
            resource_id: e.resource_id.clone(),
            version: e.version,
            mode: e.mode.code(),
            channel: e.channel.clone(),
            purpose: e.purpose.clone(),
            allowed: e.allowed,
            reason: e.reason.clone(),
            query_fingerprint: e.query_fingerprint.clone(),
            rows_out: e.rows_out,
            bytes_out: e.bytes_out,
            result_hash: e.result_hash.clone(),
            privacy_cost: e.privacy_cost_micros as f64 / 1e6,
        }
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct UsageListQuery {
    /// Only under this grant.
    grant: Option<String>,
    /// Only of this resource.
    resource: Option<String>,
    /// Only allowed (`true`) or denied (`false`) reads.
    allowed: Option<bool>,
    /// Page size, 1–100 (20).
    limit: Option<i64>,
    /// Rows to skip.
    offset: Option<i64>,
}

/// The gateway's decisions on data not open to all, newest first: reads made for the
/// caller's organizations and reads of their resources (all, for the bureau and auditors).
#[utoipa::path(get, path = "/api/v1/usage", tag = "sharing", params(UsageListQuery),
    responses((status = 200, description = "Success", body = PageDto<UsageEventDto>), (status = 401, description = "Not signed in: `unauthenticated`", body = ErrorBody)))]
async fn list_usage(
    State(state): State<ApiState>,
    Caller(subject): Caller,
    ApiQuery(query): ApiQuery<UsageListQuery>,
) -> ApiResult<Json<PageDto<UsageEventDto>>> {
    let query = UsageQuery {
        grant_id: query.grant,
        resource_id: query.resource,
        allowed: query.allowed,
        limit: query.limit,
        offset: query.offset,
    };
    let list = state.app.usage_events(&subject, query).await?;
    Ok(Json(PageDto {
        items: list.items.iter().map(UsageEventDto::from).collect(),
        total: list.total,
        limit: list.limit,
        offset: list.offset,
    }))
}
