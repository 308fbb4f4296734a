//! Supervision (监测预警, 应急处置): the bureau's overview, alerts and their
//! handling, freezes and their release, exemptions from the data tracker,
//! and the public data tracker of a resource.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use chrono::{DateTime, NaiveDate, Utc};
use gongshu_app::{DailyUsage, Overview, Tracker};
use gongshu_domain::ValidationError;
use gongshu_domain::supervision::{Alert, AlertState, Freeze, FreezeTarget};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::ApiState;
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{ApiJson, Caller};
use crate::routes::sharing::UsageEventDto;

pub(crate) fn router() -> OpenApiRouter<ApiState> {
    OpenApiRouter::new()
        .routes(routes!(overview))
        .routes(routes!(list_alerts))
        .routes(routes!(handle_alert))
        .routes(routes!(list_freezes, create_freeze))
        .routes(routes!(release_freeze))
        .routes(routes!(create_exemption))
        .routes(routes!(tracker))
}

/// An alert raised by a monitoring rule.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct AlertDto {
    id: String,
    /// `volume_spike`, `repeated_denials`, `small_group_probe`, `off_hours_bulk`, `after_term`.
    rule: &'static str,
    rule_zh: &'static str,
    grant_id: Option<String>,
    resource_id: Option<String>,
    user_id: Option<String>,
    org_id: Option<String>,
    summary: String,
    summary_zh: String,
    /// The usage events that are the evidence (`seq`).
    evidence: Vec<i64>,
    raised_at: DateTime<Utc>,
    /// `open`, `acknowledged`, `closed`.
    state: &'static str,
    handled_by: Option<String>,
    note: Option<String>,
}

impl From<&Alert> for AlertDto {
    fn from(a: &Alert) -> Self {
        AlertDto {
            id: a.id.clone(),
            rule: a.rule.code(),
            rule_zh: a.rule.label_zh(),
            grant_id: a.grant_id.clone(),
            resource_id: a.resource_id.clone(),
            user_id: a.user_id.clone(),
            org_id: a.org_id.clone(),
            summary: a.summary_en.clone(),
            summary_zh: a.summary_zh.clone(),
            evidence: a.evidence.clone(),
            raised_at: a.raised_at,
            state: a.state.code(),
            handled_by: a.handled_by.clone(),
            note: a.note.clone(),
        }
    }
}

/// An emergency freeze.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct FreezeDto {
    id: String,
    /// `resource`, `grant`, `user`, `organization`.
    target: &'static str,
    target_id: String,
    reason: String,
    frozen_by: String,
    frozen_at: DateTime<Utc>,
    alert_id: Option<String>,
    active: bool,
    released_by: Option<String>,
    released_at: Option<DateTime<Utc>>,
    release_decision: Option<String>,
}

impl From<&Freeze> for FreezeDto {
    fn from(f: &Freeze) -> Self {
        FreezeDto {
            id: f.id.clone(),
            target: f.target.code(),
            target_id: f.target_id.clone(),
            reason: f.reason.clone(),
            frozen_by: f.frozen_by.clone(),
            frozen_at: f.frozen_at,
            alert_id: f.alert_id.clone(),
            active: f.is_active(),
            released_by: f.released_by.clone(),
            released_at: f.released_at,
            release_decision: f.release_decision.clone(),
        }
    }
}

/// Reads of one day with one key.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct DailyDto {
    day: NaiveDate,
    grant_id: Option<String>,
    org_id: Option<String>,
    resource_id: String,
    purpose: Option<String>,
    mode: String,
    allowed: bool,
    reads: i64,
    rows_out: i64,
}

impl From<&DailyUsage> for DailyDto {
    fn from(d: &DailyUsage) -> Self {
        DailyDto {
            day: d.day,
            grant_id: d.grant_id.clone(),
            org_id: d.org_id.clone(),
            resource_id: d.resource_id.clone(),
            purpose: d.purpose.clone(),
            mode: d.mode.clone(),
            allowed: d.allowed,
            reads: d.reads,
            rows_out: d.rows_out,
        }
    }
}

/// A grant ending soon.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ExpiringDto {
    grant_id: String,
    grantee_org_id: String,
    ends_on: NaiveDate,
}

/// The bureau's overview.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct OverviewDto {
    /// Daily totals of the last 30 days, by grant, organization, resource, purpose and mode.
    daily: Vec<DailyDto>,
    /// The latest refused reads.
    denials: Vec<UsageEventDto>,
    /// Alerts not closed.
    alerts: Vec<AlertDto>,
    freezes: Vec<FreezeDto>,
    /// Grants in force that end within 30 days.
    expiring: Vec<ExpiringDto>,
}

impl From<&Overview> for OverviewDto {
    fn from(o: &Overview) -> Self {
        OverviewDto {
            daily: o.daily.iter().map(DailyDto::from).collect(),
            denials: o.denials.iter().map(UsageEventDto::from).collect(),
            alerts: o.alerts.iter().map(AlertDto::from).collect(),
            freezes: o.freezes.iter().map(FreezeDto::from).collect(),
            expiring: o
                .expiring
                .iter()
                .map(|(grant_id, grantee_org_id, ends_on)| ExpiringDto {
                    grant_id: grant_id.clone(),
                    grantee_org_id: grantee_org_id.clone(),
                    ends_on: *ends_on,
                })
                .collect(),
        }
    }
}

/// Usage, denials, alerts, freezes and expiring grants (the bureau and auditors).
#[utoipa::path(get, path = "/api/v1/supervision", tag = "supervision",
    responses((status = 200, description = "Success", body = OverviewDto), (status = 403, description = "Not the bureau or an auditor: `forbidden`", body = ErrorBody)))]
async fn overview(State(state): State<ApiState>, Caller(subject): Caller) -> ApiResult<Json<OverviewDto>> {
    Ok(Json(OverviewDto::from(&state.app.supervision(&subject, 30).await?)))
}

/// Alerts, newest first.
#[utoipa::path(get, path = "/api/v1/alerts", tag = "supervision",
    responses((status = 200, description = "Success", body = Vec<AlertDto>), (status = 403, description = "Not the bureau or an auditor: `forbidden`", body = ErrorBody)))]
async fn list_alerts(State(state): State<ApiState>, Caller(subject): Caller) -> ApiResult<Json<Vec<AlertDto>>> {
    Ok(Json(state.app.alerts(&subject, false).await?.iter().map(AlertDto::from).collect()))
}

/// How an alert was handled.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct HandleInput {
    /// Required to close.
    #[serde(default)]
    note: String,
}

/// Acknowledges (`acknowledge`) or closes (`close`) an alert.
#[utoipa::path(post, path = "/api/v1/alerts/{id}/{action}", tag = "supervision", params(("id" = String, Path), ("action" = String, Path)), request_body = HandleInput,
    responses((status = 200, description = "Success", body = AlertDto), (status = 409, description = "Closed already: `conflict`", body = ErrorBody), (status = 422, description = "No note: `validation_failed`", body = ErrorBody)))]
async fn handle_alert(
    State(state): State<ApiState>,
    Caller(subject): Caller,
    Path((id, action)): Path<(String, String)>,
    ApiJson(input): ApiJson<HandleInput>,
) -> ApiResult<Json<AlertDto>> {
    let to = match action.as_str() {
        "acknowledge" => AlertState::Acknowledged,
        "close" => AlertState::Closed,
        other => {
            return Err(gongshu_app::AppError::from(ValidationError::new(
                "action",
                format!("`{other}` is not an action on an alert: acknowledge or close"),
                format!("「{other}」不是预警的处置动作，可用 acknowledge 或 close"),
            ))
            .into());
        }
    };
    Ok(Json(AlertDto::from(&state.app.handle_alert(&subject, &id, to, &input.note).await?)))
}

/// Every freeze, newest first.
#[utoipa::path(get, path = "/api/v1/freezes", tag = "supervision",
    responses((status = 200, description = "Success", body = Vec<FreezeDto>), (status = 403, description = "Not the bureau or an auditor: `forbidden`", body = ErrorBody)))]
async fn list_freezes(State(state): State<ApiState>, Caller(subject): Caller) -> ApiResult<Json<Vec<FreezeDto>>> {
    Ok(Json(state.app.freezes(&subject).await?.iter().map(FreezeDto::from).collect()))
}

/// What to freeze and why.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct FreezeInput {
    /// `resource`, `grant`, `user` or `organization`.
    target: String,
    target_id: String,
    reason: String,
    /// The alert that prompted it.
    alert_id: Option<String>,
}

/// Freezes a resource, grant, user or organization at once (应急处置).
#[utoipa::path(post, path = "/api/v1/freezes", tag = "supervision", request_body = FreezeInput,
    responses((status = 201, description = "Frozen", body = FreezeDto), (status = 403, description = "Not the bureau's reviewers or administrators: `forbidden`", body = ErrorBody), (status = 409, description = "Frozen already: `conflict`", body = ErrorBody)))]
async fn create_freeze(
    State(state): State<ApiState>,
    Caller(subject): Caller,
    ApiJson(input): ApiJson<FreezeInput>,
) -> ApiResult<(StatusCode, Json<FreezeDto>)> {
    let target = FreezeTarget::parse("target", &input.target).map_err(gongshu_app::AppError::from)?;
    let freeze = state.app.freeze(&subject, target, &input.target_id, &input.reason, input.alert_id.as_deref()).await?;
    Ok((StatusCode::CREATED, Json(FreezeDto::from(&freeze))))
}

/// The decision that releases a freeze.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ReleaseInput {
    decision: String,
}

/// Releases a freeze with a recorded decision.
#[utoipa::path(post, path = "/api/v1/freezes/{id}/release", tag = "supervision", params(("id" = String, Path)), request_body = ReleaseInput,
    responses((status = 200, description = "Released", body = FreezeDto), (status = 409, description = "Released already: `conflict`", body = ErrorBody)))]
async fn release_freeze(
    State(state): State<ApiState>,
    Caller(subject): Caller,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<ReleaseInput>,
) -> ApiResult<Json<FreezeDto>> {
    Ok(Json(FreezeDto::from(&state.app.release_freeze(&subject, &id, &input.decision).await?)))
}

/// A grant to hold back from the data tracker.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ExemptionInput {
    grant_id: String,
    /// The legal ground.
    reason: String,
    /// The last day it holds, `YYYY-MM-DD`.
    until: NaiveDate,
}

/// An exemption from the data tracker.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ExemptionDto {
    id: String,
    grant_id: String,
    reason: String,
    until: NaiveDate,
    created_at: DateTime<Utc>,
}

/// Holds a grant's uses back from the public data tracker until a day (recorded in the ledger).
#[utoipa::path(post, path = "/api/v1/tracker-exemptions", tag = "supervision", request_body = ExemptionInput,
    responses((status = 201, description = "Created", body = ExemptionDto), (status = 422, description = "No reason, or a past day: `validation_failed`", body = ErrorBody)))]
async fn create_exemption(
    State(state): State<ApiState>,
    Caller(subject): Caller,
    ApiJson(input): ApiJson<ExemptionInput>,
) -> ApiResult<(StatusCode, Json<ExemptionDto>)> {
    let e = state.app.exempt_from_tracker(&subject, &input.grant_id, &input.reason, input.until).await?;
    Ok((
        StatusCode::CREATED,
        Json(ExemptionDto {
            id: e.id,
            grant_id: e.grant_id,
            reason: e.reason,
            until: e.until,
            created_at: e.created_at,
        }),
    ))
}

/// One row of the data tracker.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct TrackerRowDto {
    day: NaiveDate,
    org_id: String,
    org_name: String,
    grant_id: String,
    purpose: String,
    mode: String,
    reads: i64,
    rows_out: i64,
    /// A usage event of that day; `GET /api/v1/ledger/of/usage/{seq}` finds its ledger entry.
    sample_seq: i64,
}

/// The public data tracker of a resource.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct TrackerDto {
    /// Days a use waits before it is shown.
    delay_days: u32,
    /// How many grants on this resource have uses held back by a recorded exemption.
    exempt_grants: usize,
    rows: Vec<TrackerRowDto>,
}

impl From<Tracker> for TrackerDto {
    fn from(t: Tracker) -> Self {
        TrackerDto {
            delay_days: t.delay_days,
            exempt_grants: t.exemptions.len(),
            rows: t
                .rows
                .into_iter()
                .map(|r| TrackerRowDto {
                    day: r.day,
                    org_id: r.org_id,
                    org_name: r.org_name,
                    grant_id: r.grant_id,
                    purpose: r.purpose,
                    mode: r.mode,
                    reads: r.reads,
                    rows_out: r.rows_out,
                    sample_seq: r.sample_seq,
                })
                .collect(),
        }
    }
}

/// Who used a resource, under which grant and purpose, and when (数据使用追踪).
#[utoipa::path(get, path = "/api/v1/resources/{id}/tracker", tag = "supervision", params(("id" = String, Path)),
    responses((status = 200, description = "Success", body = TrackerDto), (status = 404, description = "Not found: `not_found`", body = ErrorBody)))]
async fn tracker(
    State(state): State<ApiState>,
    Caller(subject): Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<TrackerDto>> {
    Ok(Json(TrackerDto::from(state.app.data_tracker(&subject, &id).await?)))
}
