//! Agreements that make grants outside government sharing: conditional-open
//! applications (有条件开放申请, 受限开放协议) and authorized operation
//! (授权运营: plan, approval, operator selection, agreement), their steps
//! and the holders' usage reports.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use gongshu_app::{
    AgreementDetail, AgreementQuery, AgreementStep, AgreementView, AppError, GrantTerms, NewUsageReport,
    OpenApplication, OpenTerms, OperationPlan, PlannedResource,
};
use gongshu_domain::{AgreementAction, PlanApproval, UsageReport, ValidationError, Validations};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::ApiState;
use crate::dto::{HistoryDto, PageDto};
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{ApiJson, ApiQuery, Caller};
use crate::routes::sharing::{GrantTermsInput, GrantedResourceDto};

pub(crate) fn router() -> OpenApiRouter<ApiState> {
    OpenApiRouter::new()
        .routes(routes!(list_agreements))
        .routes(routes!(apply_for_open_data))
        .routes(routes!(draft_operation))
        .routes(routes!(revise_operation))
        .routes(routes!(get_agreement))
        .routes(routes!(act_on_agreement))
        .routes(routes!(report_usage))
}

/// An agreement: a conditional-open application or an authorized operation.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct AgreementDto {
    id: String,
    /// `conditional_open` or `operation`.
    kind: &'static str,
    kind_zh: &'static str,
    /// The provider (conditional open) or implementing body (operation).
    grantor_org_id: String,
    /// The applicant or operator; absent until an operator is selected.
    holder_org_id: Option<String>,
    /// The resource applied for (conditional open).
    resource_id: Option<String>,
    title: String,
    /// `whole`, `by_domain`, `by_scenario` (operation).
    operation_mode: Option<&'static str>,
    domain: Option<String>,
    /// What of each resource the grant will expose.
    resources: Vec<GrantedResourceDto>,
    /// `download`, `query`, `aggregate`, `verify`.
    modes: Vec<&'static str>,
    purpose: String,
    /// The system or service the data is used in.
    application: String,
    scenarios: Vec<String>,
    permitted_uses: Vec<String>,
    prohibited_uses: Vec<String>,
    security_duties: String,
    exit_terms: String,
    attribution: String,
    valid_from: String,
    valid_until: String,
    /// Days after the end by which the data must be destroyed.
    destruction_days: u32,
    min_group_size: u32,
    epsilon_budget: Option<f64>,
    allow_joins: bool,
    /// Stored state.
    state: &'static str,
    /// State today: `drafting`, `plan_review`, `approved`, `applied`, `offered`, `active`, `suspended`, `wind_down`, `closed`, `refused`, `withdrawn`.
    status: &'static str,
    status_zh: &'static str,
    /// The day the pending decision is due.
    due_date: Option<String>,
    /// A decision waits past its due date.
    overdue: bool,
    /// The last opinion or reason.
    opinion: Option<String>,
    /// The grant made at signing.
    grant_id: Option<String>,
    /// SHA-256 of what a signature covers; pass it to `sign`.
    content_sha256: String,
    /// The plan's reviews and approval (operation).
    plan_approval: Option<PlanApprovalDto>,
    /// How the operator was selected.
    selection_method: Option<String>,
    /// The signature, once signed.
    signed_sha256: Option<String>,
    signed_at: Option<String>,
    /// Why it was terminated early.
    termination_reason: Option<String>,
    /// The destruction attestation.
    destruction_statement: Option<String>,
    destroyed_at: Option<String>,
    /// When the next usage report is due.
    report_due: Option<String>,
    /// When the destruction must be attested by.
    destruction_due: Option<String>,
    /// A report or the destruction is late.
    holder_late: bool,
    created_at: String,
    updated_at: String,
    /// What the caller may do now (`POST /api/v1/agreements/{id}/{action}`).
    may: Vec<&'static str>,
}

/// The reviews and approval of an operation plan.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct PlanApprovalDto {
    /// 风险评估.
    risk_assessment: String,
    /// 合规审查.
    compliance_review: String,
    /// 公平竞争审查.
    fair_competition_review: String,
    /// 批准文号 or meeting minute.
    approval_ref: String,
}

impl From<&AgreementView> for AgreementDto {
    fn from(view: &AgreementView) -> Self {
        let a = &view.agreement;
        let t = &a.terms;
        let r = &a.record;
        AgreementDto {
            id: a.id.clone(),
            kind: a.kind.code(),
            kind_zh: a.kind.label_zh(),
            grantor_org_id: a.grantor_org_id.clone(),
            holder_org_id: a.holder_org_id.clone(),
            resource_id: a.resource_id.clone(),
            title: t.title.clone(),
            operation_mode: t.operation_mode.map(|m| m.code()),
            domain: t.domain.clone(),
            resources: t.resources.iter().map(GrantedResourceDto::from).collect(),
            modes: t.modes.iter().map(|m| m.code()).collect(),
            purpose: t.purpose.clone(),
            application: t.application.clone(),
            scenarios: t.scenarios.clone(),
            permitted_uses: t.permitted_uses.clone(),
            prohibited_uses: t.prohibited_uses.clone(),
            security_duties: t.security_duties.clone(),
            exit_terms: t.exit_terms.clone(),
            attribution: t.attribution.clone(),
            valid_from: t.valid_from.to_string(),
            valid_until: t.valid_until.to_string(),
            destruction_days: t.destruction_days,
            min_group_size: t.min_group_size,
            epsilon_budget: t.epsilon_budget_micros.map(|m| m as f64 / 1e6),
            allow_joins: t.allow_joins,
            state: a.state.code(),
            status: view.status.code(),
            status_zh: view.status.label_zh(),
            due_date: a.due_date.map(|d| d.to_string()),
            overdue: view.overdue,
            opinion: a.opinion.clone(),
            grant_id: a.grant_id.clone(),
            content_sha256: view.content_sha256.clone(),
            plan_approval: r.plan_approval.as_ref().map(|p| PlanApprovalDto {
                risk_assessment: p.risk_assessment.clone(),
                compliance_review: p.compliance_review.clone(),
                fair_competition_review: p.fair_competition_review.clone(),
                approval_ref: p.approval_ref.clone(),
            }),
            selection_method: r.selection_method.clone(),
            signed_sha256: r.signature.as_ref().map(|s| s.content_sha256.clone()),
            signed_at: r.signature.as_ref().map(|s| s.signed_at.to_rfc3339()),
            termination_reason: r.termination.as_ref().map(|t| t.reason.clone()),
            destruction_statement: r.destruction.as_ref().map(|d| d.statement.clone()),
            destroyed_at: r.destruction.as_ref().map(|d| d.attested_at.to_rfc3339()),
            report_due: view.report_due.map(|d| d.to_string()),
            destruction_due: view.destruction_due.map(|d| d.to_string()),
            holder_late: view.holder_late,
            created_at: a.created_at.to_rfc3339(),
            updated_at: a.updated_at.to_rfc3339(),
            may: view.may.iter().map(|a| a.code()).collect(),
        }
    }
}

/// A holder's usage report (使用情况报告).
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct UsageReportDto {
    seq: i64,
    period_start: String,
    period_end: String,
    summary: String,
    outputs: String,
    incidents: String,
    submitted_by: String,
    created_at: String,
}

impl From<&UsageReport> for UsageReportDto {
    fn from(r: &UsageReport) -> Self {
        UsageReportDto {
            seq: r.seq,
            period_start: r.period_start.to_string(),
            period_end: r.period_end.to_string(),
            summary: r.summary.clone(),
            outputs: r.outputs.clone(),
            incidents: r.incidents.clone(),
            submitted_by: r.submitted_by.clone(),
            created_at: r.created_at.to_rfc3339(),
        }
    }
}

/// An agreement with its history and usage reports.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct AgreementDetailDto {
    #[serde(flatten)]
    agreement: AgreementDto,
    history: Vec<HistoryDto>,
    reports: Vec<UsageReportDto>,
}

impl From<&AgreementDetail> for AgreementDetailDto {
    fn from(detail: &AgreementDetail) -> Self {
        AgreementDetailDto {
            agreement: AgreementDto::from(&detail.view),
            history: detail.history.iter().map(HistoryDto::from).collect(),
            reports: detail.reports.iter().map(UsageReportDto::from).collect(),
        }
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct AgreementListQuery {
    /// `conditional_open` or `operation`.
    kind: Option<String>,
    /// Only this stored state.
    state: Option<String>,
    /// Page size, 1–100 (20).
    limit: Option<i64>,
    /// Rows to skip.
    offset: Option<i64>,
}

/// The agreements the caller gives, holds or oversees, newest first.
#[utoipa::path(get, path = "/api/v1/agreements", tag = "agreements", params(AgreementListQuery),
    responses((status = 200, description = "Success", body = PageDto<AgreementDto>), (status = 401, description = "Not signed in: `unauthenticated`", body = ErrorBody)))]
async fn list_agreements(
    State(state): State<ApiState>,
    Caller(subject): Caller,
    ApiQuery(query): ApiQuery<AgreementListQuery>,
) -> ApiResult<Json<PageDto<AgreementDto>>> {
    let query = AgreementQuery { kind: query.kind, state: query.state, limit: query.limit, offset: query.offset };
    let list = state.app.agreements(&subject, query).await?;
    Ok(Json(PageDto {
        items: list.items.iter().map(AgreementDto::from).collect(),
        total: list.total,
        limit: list.limit,
        offset: list.offset,
    }))
}

/// A conditional-open application.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct OpenApplicationInput {
    /// A published, conditionally open resource.
    resource_id: String,
    /// The applying enterprise or operator; the caller's only one when absent.
    #[serde(default)]
    applicant_org_id: Option<String>,
    /// Data items; all when absent.
    #[serde(default)]
    columns: Vec<String>,
    /// `query` (default), `download`, `aggregate`, `verify`.
    #[serde(default)]
    modes: Vec<String>,
    purpose: String,
    /// The system or service the data will be used in.
    application: String,
    scenario: String,
    /// `YYYY-MM-DD`.
    needed_until: String,
}

/// Applies for conditionally open data (有条件开放申请); the provider decides.
#[utoipa::path(post, path = "/api/v1/open-applications", tag = "agreements", request_body = OpenApplicationInput,
    responses((status = 201, description = "Created", body = AgreementDto), (status = 403, description = "Not allowed: `forbidden`", body = ErrorBody), (status = 422, description = "Invalid input: `validation_failed`", body = ErrorBody)))]
async fn apply_for_open_data(
    State(state): State<ApiState>,
    Caller(subject): Caller,
    ApiJson(input): ApiJson<OpenApplicationInput>,
) -> ApiResult<(StatusCode, Json<AgreementDto>)> {
    let new = OpenApplication {
        resource_id: input.resource_id,
        applicant_org_id: input.applicant_org_id,
        columns: input.columns,
        modes: input.modes,
        purpose: input.purpose,
        application: input.application,
        scenario: input.scenario,
        needed_until: input.needed_until,
    };
    let view = state.app.apply_for_open_data(&subject, new).await?;
    Ok((StatusCode::CREATED, Json(AgreementDto::from(&view))))
}

/// One resource in an operation plan.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct PlannedResourceInput {
    resource_id: String,
    /// Columns (all when absent), masks and row filter.
    #[serde(default)]
    terms: Option<GrantTermsInput>,
}

/// An authorized-operation plan (授权运营实施方案).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct OperationPlanInput {
    /// The implementing body; the caller's only one when absent.
    #[serde(default)]
    implementing_org_id: Option<String>,
    title: String,
    /// `whole`, `by_domain` or `by_scenario`.
    mode: String,
    /// The domain, for `by_domain`.
    #[serde(default)]
    domain: Option<String>,
    resources: Vec<PlannedResourceInput>,
    /// `query`, `download`, `aggregate`, `verify`.
    modes: Vec<String>,
    purpose: String,
    /// The operating platform or product line.
    application: String,
    #[serde(default)]
    scenarios: Vec<String>,
    permitted_uses: Vec<String>,
    #[serde(default)]
    prohibited_uses: Vec<String>,
    security_duties: String,
    exit_terms: String,
    /// A standard line when absent.
    #[serde(default)]
    attribution: String,
    /// `YYYY-MM-DD`.
    valid_from: String,
    /// `YYYY-MM-DD`; at most five years after `valid_from`.
    valid_until: String,
    /// Days after the end to destroy the data (30).
    #[serde(default)]
    destruction_days: Option<u32>,
    /// Minimum group size for aggregates (5).
    #[serde(default)]
    min_group_size: Option<u32>,
    /// A privacy budget (total ε).
    #[serde(default)]
    epsilon_budget: Option<f64>,
    #[serde(default)]
    allow_joins: bool,
}

impl OperationPlanInput {
    fn into_plan(self) -> Result<OperationPlan, AppError> {
        let mut problems = Validations::default();
        let mut resources = Vec::new();
        for planned in self.resources {
            match planned.terms.map(GrantTermsInput::into_terms).transpose() {
                Ok(terms) => resources.push(PlannedResource {
                    resource_id: planned.resource_id,
                    terms: terms.unwrap_or_else(GrantTerms::default),
                }),
                Err(errors) => problems.0.extend(errors.0),
            }
        }
        let plan = OperationPlan {
            implementing_org_id: self.implementing_org_id,
            title: self.title,
            mode: self.mode,
            domain: self.domain,
            resources,
            modes: self.modes,
            purpose: self.purpose,
            application: self.application,
            scenarios: self.scenarios,
            permitted_uses: self.permitted_uses,
            prohibited_uses: self.prohibited_uses,
            security_duties: self.security_duties,
            exit_terms: self.exit_terms,
            attribution: self.attribution,
            valid_from: self.valid_from,
            valid_until: self.valid_until,
            destruction_days: self.destruction_days,
            min_group_size: self.min_group_size,
            epsilon_budget: self.epsilon_budget,
            allow_joins: self.allow_joins,
        };
        Ok(problems.finish(|| plan)?)
    }
}

/// Drafts an authorized-operation plan for an implementing body.
#[utoipa::path(post, path = "/api/v1/operation-plans", tag = "agreements", request_body = OperationPlanInput,
    responses((status = 201, description = "Created", body = AgreementDto), (status = 403, description = "Not allowed: `forbidden`", body = ErrorBody), (status = 422, description = "Invalid input: `validation_failed`", body = ErrorBody)))]
async fn draft_operation(
    State(state): State<ApiState>,
    Caller(subject): Caller,
    ApiJson(input): ApiJson<OperationPlanInput>,
) -> ApiResult<(StatusCode, Json<AgreementDto>)> {
    let view = state.app.draft_operation(&subject, input.into_plan()?).await?;
    Ok((StatusCode::CREATED, Json(AgreementDto::from(&view))))
}

/// Replaces a plan's content while it is drafted or returned.
#[utoipa::path(put, path = "/api/v1/operation-plans/{id}", tag = "agreements", params(("id" = String, Path)), request_body = OperationPlanInput,
    responses((status = 200, description = "Success", body = AgreementDto), (status = 409, description = "Not being drafted: `conflict`", body = ErrorBody), (status = 422, description = "Invalid input: `validation_failed`", body = ErrorBody)))]
async fn revise_operation(
    State(state): State<ApiState>,
    Caller(subject): Caller,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<OperationPlanInput>,
) -> ApiResult<Json<AgreementDto>> {
    let view = state.app.revise_operation(&subject, &id, input.into_plan()?).await?;
    Ok(Json(AgreementDto::from(&view)))
}

/// One agreement with its history and usage reports.
#[utoipa::path(get, path = "/api/v1/agreements/{id}", tag = "agreements", params(("id" = String, Path)),
    responses((status = 200, description = "Success", body = AgreementDetailDto), (status = 404, description = "Not found: `not_found`", body = ErrorBody)))]
async fn get_agreement(
    State(state): State<ApiState>,
    Caller(subject): Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<AgreementDetailDto>> {
    let detail = state.app.agreement(&subject, &id).await?;
    Ok(Json(AgreementDetailDto::from(&detail)))
}

/// What a step needs; each action reads its own fields.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct AgreementStepInput {
    /// `approve` (optional), `return`, `refuse`: the opinion.
    #[serde(default)]
    opinion: Option<String>,
    /// `approve` of an application: what is granted.
    #[serde(default)]
    terms: Option<GrantTermsInput>,
    /// `approve` of an application: days after the end to destroy the data (30).
    #[serde(default)]
    destruction_days: Option<u32>,
    /// `approve` of an application: how outputs must credit the source.
    #[serde(default)]
    attribution: Option<String>,
    /// `approve` of an operation plan: its reviews and the government's approval.
    #[serde(default)]
    plan_approval: Option<PlanApprovalDto>,
    /// `select_operator`: the operator.
    #[serde(default)]
    operator_org_id: Option<String>,
    /// `select_operator`: 公开招标, 竞争性谈判 …
    #[serde(default)]
    selection_method: Option<String>,
    /// `sign`: the `content_sha256` of the agreement as read.
    #[serde(default)]
    content_sha256: Option<String>,
    /// `suspend`, `resume`, `terminate`: why.
    #[serde(default)]
    reason: Option<String>,
    /// `attest_destruction`: what was destroyed, and how.
    #[serde(default)]
    statement: Option<String>,
}

impl AgreementStepInput {
    fn into_step(self, action: AgreementAction) -> Result<AgreementStep, AppError> {
        let needed = |field: &str, value: Option<String>| value.ok_or_else(|| ValidationError::required(field));
        Ok(match action {
            AgreementAction::Submit => AgreementStep::Submit,
            AgreementAction::Approve => AgreementStep::Approve {
                opinion: self.opinion,
                plan_approval: self.plan_approval.map(|p| PlanApproval {
                    risk_assessment: p.risk_assessment,
                    compliance_review: p.compliance_review,
                    fair_competition_review: p.fair_competition_review,
                    approval_ref: p.approval_ref,
                }),
                terms: Box::new(OpenTerms {
                    grant: self.terms.unwrap_or_default().into_terms()?,
                    destruction_days: self.destruction_days,
                    attribution: self.attribution,
                }),
            },
            AgreementAction::Return => AgreementStep::Return { opinion: needed("opinion", self.opinion)? },
            AgreementAction::Refuse => AgreementStep::Refuse { opinion: needed("opinion", self.opinion)? },
            AgreementAction::SelectOperator => AgreementStep::SelectOperator {
                operator_org_id: needed("operator_org_id", self.operator_org_id)?,
                selection_method: needed("selection_method", self.selection_method)?,
            },
            AgreementAction::Sign => {
                AgreementStep::Sign { content_sha256: needed("content_sha256", self.content_sha256)? }
            }
            AgreementAction::Suspend => AgreementStep::Suspend { reason: needed("reason", self.reason)? },
            AgreementAction::Resume => AgreementStep::Resume { reason: needed("reason", self.reason)? },
            AgreementAction::Terminate => AgreementStep::Terminate { reason: needed("reason", self.reason)? },
            AgreementAction::AttestDestruction => {
                AgreementStep::AttestDestruction { statement: needed("statement", self.statement)? }
            }
            AgreementAction::Withdraw => AgreementStep::Withdraw,
        })
    }
}

/// One step on an agreement, by the party whose turn it is: `submit`, `approve`, `return`,
/// `refuse`, `select_operator`, `sign` (makes the grant), `suspend`, `resume`, `terminate`
/// (revokes it), `attest_destruction`, `withdraw`.
#[utoipa::path(post, path = "/api/v1/agreements/{id}/{action}", tag = "agreements",
    params(("id" = String, Path), ("action" = String, Path)), request_body = AgreementStepInput,
    responses((status = 200, description = "Success", body = AgreementDto), (status = 403, description = "Not allowed: `forbidden`", body = ErrorBody),
        (status = 409, description = "Not possible now, or the terms changed since read: `invalid_transition`, `conflict`", body = ErrorBody),
        (status = 422, description = "Invalid input: `validation_failed`", body = ErrorBody)))]
async fn act_on_agreement(
    State(state): State<ApiState>,
    Caller(subject): Caller,
    Path((id, action)): Path<(String, String)>,
    ApiJson(input): ApiJson<AgreementStepInput>,
) -> ApiResult<Json<AgreementDto>> {
    let action = AgreementAction::parse("action", &action).map_err(AppError::from)?;
    let view = state.app.act_on_agreement(&subject, &id, input.into_step(action)?).await?;
    Ok(Json(AgreementDto::from(&view)))
}

/// A usage report.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct UsageReportInput {
    /// `YYYY-MM-DD`.
    period_start: String,
    /// `YYYY-MM-DD`.
    period_end: String,
    summary: String,
    outputs: String,
    /// Security incidents, or "无" / "none".
    incidents: String,
}

/// The holder reports how it used the data (使用情况报告).
#[utoipa::path(post, path = "/api/v1/agreements/{id}/reports", tag = "agreements", params(("id" = String, Path)), request_body = UsageReportInput,
    responses((status = 201, description = "Created", body = UsageReportDto), (status = 403, description = "Not the holder: `forbidden`", body = ErrorBody), (status = 422, description = "Invalid input: `validation_failed`", body = ErrorBody)))]
async fn report_usage(
    State(state): State<ApiState>,
    Caller(subject): Caller,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<UsageReportInput>,
) -> ApiResult<(StatusCode, Json<UsageReportDto>)> {
    let new = NewUsageReport {
        period_start: input.period_start,
        period_end: input.period_end,
        summary: input.summary,
        outputs: input.outputs,
        incidents: input.incidents,
    };
    let report = state.app.report_usage(&subject, &id, new).await?;
    Ok((StatusCode::CREATED, Json(UsageReportDto::from(&report))))
}
