//! Agreements that make grants outside government sharing (see
//! [`gongshu_domain::agreement`]): conditional-open applications
//! (有条件开放申请 → 受限开放协议) and authorized operation (授权运营:
//! plan → approval → operator selection → agreement).
//!
//! The grant is made when the holder signs, in the same transaction, and
//! only over the exact terms it signed: the signer passes the SHA-256 of
//! the content it read ([`AgreementView::content_sha256`]), and a signature
//! over anything else is refused. Suspension, resumption and termination
//! change the agreement and its grant together and cut reads at once; an
//! ended agreement winds down until its holder attests the destruction.

use chrono::{Duration, NaiveDate, NaiveTime};
use gongshu_domain::error::required_text;
use gongshu_domain::{
    Agreement, AgreementAction, AgreementKind, AgreementRecord, AgreementState, AgreementTerms, Destruction, Grant,
    GrantBasis, GrantState, GrantedResource, HistoryEntry, OpenAttribute, OperationMode, OrgKind, Party, PlanApproval,
    Resource, ResourceState, ShareAttribute, Signature, Termination, UsageReport, ValidationError, Validations,
};
use gongshu_metadata::{AgreementFilter, StoreError, Transaction};
use gongshu_policy::{Action, Subject};
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::catalog::{page_bounds, visible_orgs};
use crate::sharing::{Asked, asked_for, epsilon_micros, parse_day, parse_modes, random_key};
use crate::{App, AppError, AppResult, GrantTerms, Step, Stop, actor_id, authorize, new_id};

/// A conditional-open application (有条件开放申请) as filed.
#[derive(Debug, Clone, Default)]
pub struct OpenApplication {
    /// The conditionally open resource applied for.
    pub resource_id: String,
    /// The applying enterprise or operator; the caller's only one when `None`.
    pub applicant_org_id: Option<String>,
    /// The data items asked for; all of them when empty.
    pub columns: Vec<String>,
    /// `query`, `download`, `aggregate`, `verify`; `query` when empty.
    pub modes: Vec<String>,
    /// 用途.
    pub purpose: String,
    /// 应用系统或产品: the system or service the data will be used in.
    pub application: String,
    /// 应用场景.
    pub scenario: String,
    /// Last day needed, `YYYY-MM-DD`.
    pub needed_until: String,
}

/// What a provider grants when approving an application.
#[derive(Debug, Clone, Default)]
pub struct OpenTerms {
    /// Columns, masks, rows, modes, term, group size and ε, narrowing the application.
    pub grant: GrantTerms,
    /// Days after the end by which the data must be destroyed (30).
    pub destruction_days: Option<u32>,
    /// How outputs must credit the source; a standard line when `None`.
    pub attribution: Option<String>,
}

/// One resource in an operation plan.
#[derive(Debug, Clone, Default)]
pub struct PlannedResource {
    /// The resource.
    pub resource_id: String,
    /// Its columns (`None`: all items), masks and row filter; the plan's
    /// modes, term, group size and ε apply to every resource, so those
    /// fields are not read here.
    pub terms: GrantTerms,
}

/// An authorized-operation plan (授权运营实施方案) as drafted.
#[derive(Debug, Clone, Default)]
pub struct OperationPlan {
    /// The implementing body; the caller's only one when `None`.
    pub implementing_org_id: Option<String>,
    /// Name of the authorization.
    pub title: String,
    /// `whole`, `by_domain` or `by_scenario`.
    pub mode: String,
    /// The domain, for `by_domain`.
    pub domain: Option<String>,
    /// The resources and what of each.
    pub resources: Vec<PlannedResource>,
    /// Access modes.
    pub modes: Vec<String>,
    /// 用途.
    pub purpose: String,
    /// 运营平台或产品: where the data is worked on.
    pub application: String,
    /// 应用场景.
    pub scenarios: Vec<String>,
    /// 允许的用途.
    pub permitted_uses: Vec<String>,
    /// 禁止的用途.
    pub prohibited_uses: Vec<String>,
    /// 安全管理责任.
    pub security_duties: String,
    /// 退出机制.
    pub exit_terms: String,
    /// 署名要求; a standard line when empty.
    pub attribution: String,
    /// First day, `YYYY-MM-DD`.
    pub valid_from: String,
    /// Last day, `YYYY-MM-DD`.
    pub valid_until: String,
    /// Days after the end to destroy the data (30).
    pub destruction_days: Option<u32>,
    /// Minimum group size for aggregates (5).
    pub min_group_size: Option<u32>,
    /// A privacy budget (total ε).
    pub epsilon_budget: Option<f64>,
    /// Whether sandbox queries may join the granted tables.
    pub allow_joins: bool,
}

/// One step on an agreement, with what that step needs.
#[derive(Debug, Clone)]
pub enum AgreementStep {
    /// The implementing body submits its plan.
    Submit,
    /// The bureau approves a plan (with its reviews), or the provider an
    /// application (with the terms it grants).
    Approve {
        /// Opinion.
        opinion: Option<String>,
        /// For an operation plan: the reviews and the government's approval.
        plan_approval: Option<PlanApproval>,
        /// For an application: what is granted (boxed: it is the largest step).
        terms: Box<OpenTerms>,
    },
    /// The bureau returns a plan for changes.
    Return {
        /// Why.
        opinion: String,
    },
    /// The bureau or the provider refuses.
    Refuse {
        /// Why.
        opinion: String,
    },
    /// The implementing body names the operator selected.
    SelectOperator {
        /// The operator.
        operator_org_id: String,
        /// 公开招标, 竞争性谈判 …
        selection_method: String,
    },
    /// The holder signs the content it read.
    Sign {
        /// [`AgreementView::content_sha256`] as the signer saw it.
        content_sha256: String,
    },
    /// Reads stop until resumed.
    Suspend {
        /// Why.
        reason: String,
    },
    /// Reads may go on.
    Resume {
        /// Why.
        reason: String,
    },
    /// Ended early; the grant is revoked and the wind-down starts.
    Terminate {
        /// Why.
        reason: String,
    },
    /// The holder attests the destruction.
    AttestDestruction {
        /// What was destroyed, and how.
        statement: String,
    },
    /// Withdrawn before signing.
    Withdraw,
}

impl AgreementStep {
    /// The action this step takes.
    pub fn action(&self) -> AgreementAction {
        match self {
            AgreementStep::Submit => AgreementAction::Submit,
            AgreementStep::Approve { .. } => AgreementAction::Approve,
            AgreementStep::Return { .. } => AgreementAction::Return,
            AgreementStep::Refuse { .. } => AgreementAction::Refuse,
            AgreementStep::SelectOperator { .. } => AgreementAction::SelectOperator,
            AgreementStep::Sign { .. } => AgreementAction::Sign,
            AgreementStep::Suspend { .. } => AgreementAction::Suspend,
            AgreementStep::Resume { .. } => AgreementAction::Resume,
            AgreementStep::Terminate { .. } => AgreementAction::Terminate,
            AgreementStep::AttestDestruction { .. } => AgreementAction::AttestDestruction,
            AgreementStep::Withdraw => AgreementAction::Withdraw,
        }
    }
}

/// A holder's usage report as filed.
#[derive(Debug, Clone, Default)]
pub struct NewUsageReport {
    /// First day covered, `YYYY-MM-DD`.
    pub period_start: String,
    /// Last day covered, `YYYY-MM-DD`.
    pub period_end: String,
    /// What the data was used for and what came of it.
    pub summary: String,
    /// Products, publications or services made with it.
    pub outputs: String,
    /// Security incidents, or "none".
    pub incidents: String,
}

/// An agreement as a caller sees it.
#[derive(Debug, Clone)]
pub struct AgreementView {
    /// The agreement.
    pub agreement: Agreement,
    /// Its state today (an ended term shows as winding down).
    pub status: AgreementState,
    /// Whether a decision waits past its due date.
    pub overdue: bool,
    /// SHA-256 of the content a signature covers: kind, parties and terms.
    pub content_sha256: String,
    /// When the next usage report is due, while it is in force.
    pub report_due: Option<NaiveDate>,
    /// The day the destruction must be attested by, while winding down.
    pub destruction_due: Option<NaiveDate>,
    /// Whether a report or the destruction is late.
    pub holder_late: bool,
    /// What the caller may do now.
    pub may: Vec<AgreementAction>,
}

/// An agreement with its history and reports.
#[derive(Debug, Clone)]
pub struct AgreementDetail {
    /// The agreement.
    pub view: AgreementView,
    /// Every step.
    pub history: Vec<HistoryEntry>,
    /// The holder's usage reports, oldest first.
    pub reports: Vec<UsageReport>,
}

/// What to list.
#[derive(Debug, Clone, Default)]
pub struct AgreementQuery {
    /// `conditional_open` or `operation`; both when `None`.
    pub kind: Option<String>,
    /// Only this state.
    pub state: Option<String>,
    /// Page size (1–100, default 20).
    pub limit: Option<i64>,
    /// Rows to skip.
    pub offset: Option<i64>,
}

/// A page of agreements.
#[derive(Debug, Clone)]
pub struct AgreementList {
    /// This page, newest first.
    pub items: Vec<AgreementView>,
    /// All matches.
    pub total: i64,
    /// Page size used.
    pub limit: i64,
    /// Offset used.
    pub offset: i64,
}

const DEFAULT_DESTRUCTION_DAYS: u32 = 30;
const STANDARD_ATTRIBUTION: &str =
    "使用本数据形成的论文、专利、产品和服务，须注明“数据来源：公共数据资源（经授权使用）”";

/// The policy action that allows `action` on `agreement`.
fn permission(agreement: &Agreement, action: AgreementAction) -> Action<'_> {
    let holder = agreement.holder_org_id.as_deref().unwrap_or_default();
    match action.party(agreement.kind) {
        Party::Bureau => Action::ApproveOperation,
        Party::Grantor => match agreement.kind {
            AgreementKind::ConditionalOpen => Action::DecideAsProvider { provider_org_id: &agreement.grantor_org_id },
            AgreementKind::Operation => Action::DraftOperation { implementing_org_id: &agreement.grantor_org_id },
        },
        Party::Holder if action == AgreementAction::Sign => Action::SignAgreement { holder_org_id: holder },
        Party::Holder => Action::ActUnderAgreement { holder_org_id: holder },
        Party::Supervisor => Action::ManageGrant { grantor_org_id: &agreement.grantor_org_id },
    }
}

/// SHA-256 over what a signature covers, as canonical JSON: the field
/// order of the serialized terms is fixed by their type.
pub fn content_sha256(agreement: &Agreement) -> String {
    let content = json!({
        "agreement_id": agreement.id,
        "kind": agreement.kind.code(),
        "grantor_org_id": agreement.grantor_org_id,
        "holder_org_id": agreement.holder_org_id,
        "terms": agreement.terms,
    });
    let digest = Sha256::digest(content.to_string().as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

fn text_list(field: &str, values: &[String], max: usize, problems: &mut Validations) -> Vec<String> {
    values
        .iter()
        .enumerate()
        .filter(|(_, value)| !value.trim().is_empty())
        .filter_map(|(i, value)| problems.check(required_text(&format!("{field}[{i}]"), value, max)))
        .collect()
}

impl App {
    fn view_agreement(&self, subject: &Subject, agreement: Agreement, reports: &[UsageReport]) -> AgreementView {
        let today = self.today();
        let status = agreement.status(today);
        let may = AgreementAction::ALL
            .iter()
            .copied()
            .filter(|action| status.apply(agreement.kind, *action).is_ok())
            .filter(|action| gongshu_policy::decide(subject, permission(&agreement, *action)).is_allowed())
            .collect();
        let overdue = agreement.due_date.is_some_and(|due| status.awaits_decision() && today > due);
        let report_due = match (status, &agreement.record.signature) {
            (AgreementState::Active | AgreementState::Suspended, Some(signature)) => {
                let since = reports.last().map_or(signature.signed_at.date_naive(), |report| report.period_end);
                Some(since + Duration::days(i64::from(self.rules.usage_report_interval_days)))
            }
            _ => None,
        };
        let destruction_due = agreement.destruction_due(today);
        let holder_late = report_due.is_some_and(|due| today > due) || destruction_due.is_some_and(|due| today > due);
        AgreementView {
            content_sha256: content_sha256(&agreement),
            agreement,
            status,
            overdue,
            report_due,
            destruction_due,
            holder_late,
            may,
        }
    }

    /// The caller's one organization of `kind` that `allowed` admits, when
    /// it did not name one.
    pub(crate) fn only_org(
        subject: &Subject,
        named: &Option<String>,
        field: &str,
        allowed: impl Fn(&str) -> bool,
    ) -> Result<String, ValidationError> {
        if let Some(org) = named {
            return Ok(org.clone());
        }
        let Subject::User { memberships, .. } = subject else {
            return Ok(String::new());
        };
        let mut orgs: Vec<_> = memberships.iter().map(|m| m.org_id.clone()).filter(|org| allowed(org)).collect();
        orgs.dedup();
        // None: authorization refuses it. Several: the caller must choose.
        match orgs.as_slice() {
            [] => Ok(String::new()),
            [one] => Ok(one.clone()),
            _ => Err(ValidationError::required(field)),
        }
    }

    /// Files a conditional-open application for a published, conditionally
    /// open resource. The provider decides within `open_review_working_days`.
    pub async fn apply_for_open_data(&self, subject: &Subject, new: OpenApplication) -> AppResult<AgreementView> {
        let mut problems = Validations::default();
        let purpose = problems.check(required_text("purpose", &new.purpose, 500));
        let application = problems.check(required_text("application", &new.application, 200));
        let scenario = problems.check(required_text("scenario", &new.scenario, 200));
        let needed_until = problems.check(parse_day("needed_until", &new.needed_until));
        let modes = problems.check(parse_modes("modes", &new.modes));
        if let Some(day) = needed_until
            && day < self.today()
        {
            problems.push(ValidationError::new("needed_until", "the date has passed", "日期已过"));
        }
        if let Some(day) = needed_until
            && day > self.today() + Duration::days(5 * 366)
        {
            problems.push(ValidationError::new(
                "needed_until",
                "a conditional-open term is at most five years",
                "有条件开放期限不超过5年",
            ));
        }
        let applicant = problems
            .check(Self::only_org(subject, &new.applicant_org_id, "applicant_org_id", |org| {
                gongshu_policy::decide(subject, Action::ApplyForOpenData { org_id: org }).is_allowed()
            }))
            .unwrap_or_default();
        let mut tx = self.store.write().await?;
        // Several organizations to choose from: say so, rather than refuse.
        if problems.0.iter().any(|p| p.field == "applicant_org_id") {
            return Err(problems.into());
        }
        authorize(subject, Action::ApplyForOpenData { org_id: &applicant })?;
        let resource = self.applied_resource(&mut tx, subject, &new.resource_id).await?;
        let OpenAttribute::Conditional { .. } = &resource.draft.open else {
            return Err(ValidationError::new(
                "resource_id",
                "only conditionally open resources (有条件开放) are applied for; open ones can be downloaded as they are",
                "只有“有条件开放”的数据资源需要申请；无条件开放的数据可直接下载",
            )
            .into());
        };
        let (columns, modes) = asked_for(&resource, &new.columns, modes, &mut problems);
        let (Some(purpose), Some(application), Some(scenario), Some(needed_until)) =
            (purpose, application, scenario, needed_until)
        else {
            return Err(problems.into());
        };
        if !problems.is_empty() {
            return Err(problems.into());
        }
        let now = self.clock.now();
        let agreement = Agreement {
            id: new_id(),
            kind: AgreementKind::ConditionalOpen,
            grantor_org_id: resource.provider_org_id.clone(),
            holder_org_id: Some(applicant),
            resource_id: Some(resource.id.clone()),
            terms: AgreementTerms {
                title: format!("{}（有条件开放）", resource.draft.name_zh),
                operation_mode: None,
                domain: None,
                resources: vec![GrantedResource {
                    resource_id: resource.id.clone(),
                    columns,
                    masks: Default::default(),
                    row_filter: vec![],
                }],
                modes,
                purpose,
                application,
                scenarios: vec![scenario],
                permitted_uses: vec![],
                prohibited_uses: vec![
                    "向未经授权的第三方提供原始数据".into(),
                    "超出申请的应用系统和场景使用".into(),
                    "重新识别个人身份".into(),
                ],
                security_duties: "按照数据安全法和网络数据安全管理条例履行数据安全保护义务".into(),
                exit_terms: "期限届满或违约终止后停止使用，并在销毁期限内删除全部数据及衍生副本".into(),
                attribution: STANDARD_ATTRIBUTION.into(),
                valid_from: self.today(),
                valid_until: needed_until,
                destruction_days: DEFAULT_DESTRUCTION_DAYS,
                min_group_size: 5,
                epsilon_budget_micros: None,
                allow_joins: false,
            },
            record: AgreementRecord::default(),
            state: AgreementState::Applied,
            due_date: Some(self.due(self.rules.open_review_working_days)),
            opinion: None,
            grant_id: None,
            submitted_by: actor_id(subject).unwrap_or_default(),
            created_at: now,
            updated_at: now,
            row_version: 1,
        };
        tx.insert_agreement(&agreement).await?;
        self.record_agreement(&mut tx, subject, &agreement, "apply", None, None).await?;
        tx.commit().await?;
        Ok(self.view_agreement(subject, agreement, &[]))
    }

    /// A resource named in an application or plan: visible to the caller
    /// and registered, or a validation error naming it.
    async fn applied_resource(
        &self,
        tx: &mut Box<dyn Transaction>,
        subject: &Subject,
        resource_id: &str,
    ) -> AppResult<Resource> {
        let resource = match self.visible_resource(tx, subject, resource_id).await {
            Err(AppError::NotFound { .. }) => None,
            other => Some(other?),
        };
        match resource {
            Some(resource) if matches!(resource.state, ResourceState::Registered | ResourceState::Published) => {
                Ok(resource)
            }
            _ => Err(ValidationError::new(
                "resource_id",
                format!("no registered resource you can see has the id `{resource_id}`"),
                format!("不存在 id 为 `{resource_id}` 的已登记数据资源"),
            )
            .into()),
        }
    }

    /// Drafts an authorized-operation plan for an implementing body.
    pub async fn draft_operation(&self, subject: &Subject, plan: OperationPlan) -> AppResult<AgreementView> {
        let implementing = Self::only_org(subject, &plan.implementing_org_id, "implementing_org_id", |org| {
            gongshu_policy::decide(subject, Action::DraftOperation { implementing_org_id: org }).is_allowed()
        })?;
        let mut tx = self.store.write().await?;
        authorize(subject, Action::DraftOperation { implementing_org_id: &implementing })?;
        let terms = self.plan_terms(&mut tx, subject, &plan).await?;
        let now = self.clock.now();
        let agreement = Agreement {
            id: new_id(),
            kind: AgreementKind::Operation,
            grantor_org_id: implementing,
            holder_org_id: None,
            resource_id: None,
            terms,
            record: AgreementRecord::default(),
            state: AgreementState::Drafting,
            due_date: None,
            opinion: None,
            grant_id: None,
            submitted_by: actor_id(subject).unwrap_or_default(),
            created_at: now,
            updated_at: now,
            row_version: 1,
        };
        tx.insert_agreement(&agreement).await?;
        self.record_agreement(&mut tx, subject, &agreement, "draft", None, None).await?;
        tx.commit().await?;
        Ok(self.view_agreement(subject, agreement, &[]))
    }

    /// Replaces a plan's content while it is being drafted (or was returned).
    pub async fn revise_operation(&self, subject: &Subject, id: &str, plan: OperationPlan) -> AppResult<AgreementView> {
        let mut tx = self.store.write().await?;
        let agreement = visible_agreement(&mut tx, subject, id).await?;
        authorize(subject, Action::DraftOperation { implementing_org_id: &agreement.grantor_org_id })?;
        if agreement.kind != AgreementKind::Operation || agreement.state != AgreementState::Drafting {
            return Err(AppError::conflict(
                format!("only a plan being drafted can be revised; this one is {}", agreement.state.code()),
                format!("只有编制中的方案可以修改，当前为“{}”", agreement.state.label_zh()),
            ));
        }
        let terms = self.plan_terms(&mut tx, subject, &plan).await?;
        let revised = Agreement { terms, updated_at: self.clock.now(), ..agreement.clone() };
        let revised = tx.update_agreement(&revised).await?;
        self.record_agreement(&mut tx, subject, &revised, "revise", Some(agreement.state), None).await?;
        tx.commit().await?;
        Ok(self.view_agreement(subject, revised, &[]))
    }

    /// A plan's terms, checked: each resource's columns, masks and rows
    /// against its items and level, the mode against its scope, the term.
    async fn plan_terms(
        &self,
        tx: &mut Box<dyn Transaction>,
        subject: &Subject,
        plan: &OperationPlan,
    ) -> AppResult<AgreementTerms> {
        let mut problems = Validations::default();
        let title = problems.check(required_text("title", &plan.title, 200));
        let mode = problems.check(OperationMode::parse("mode", plan.mode.trim()));
        let purpose = problems.check(required_text("purpose", &plan.purpose, 500));
        let application = problems.check(required_text("application", &plan.application, 200));
        let security_duties = problems.check(required_text("security_duties", &plan.security_duties, 2000));
        let exit_terms = problems.check(required_text("exit_terms", &plan.exit_terms, 2000));
        let valid_from = problems.check(parse_day("valid_from", &plan.valid_from));
        let valid_until = problems.check(parse_day("valid_until", &plan.valid_until));
        let modes = problems.check(parse_modes("modes", &plan.modes)).unwrap_or_default();
        let scenarios = text_list("scenarios", &plan.scenarios, 200, &mut problems);
        let permitted_uses = text_list("permitted_uses", &plan.permitted_uses, 500, &mut problems);
        let prohibited_uses = text_list("prohibited_uses", &plan.prohibited_uses, 500, &mut problems);
        let domain = plan.domain.as_deref().map(str::trim).filter(|d| !d.is_empty()).map(str::to_owned);
        match mode {
            Some(OperationMode::ByDomain) if domain.is_none() => problems.push(ValidationError::new(
                "domain",
                "a by-domain grant names its domain",
                "分领域授权须写明授权领域",
            )),
            Some(OperationMode::ByScenario) if scenarios.is_empty() => problems.push(ValidationError::new(
                "scenarios",
                "a by-scenario grant names at least one scenario",
                "依场景授权须至少写明一个应用场景",
            )),
            _ => {}
        }
        if modes.is_empty() {
            problems.push(ValidationError::required("modes"));
        }
        if permitted_uses.is_empty() {
            problems.push(ValidationError::required("permitted_uses"));
        }
        if let (Some(from), Some(until)) = (valid_from, valid_until) {
            if until < from {
                problems.push(ValidationError::new(
                    "valid_until",
                    "the term ends before it starts",
                    "期限结束早于开始",
                ));
            }
            if until < self.today() {
                problems.push(ValidationError::new("valid_until", "the term has already ended", "期限已过"));
            }
            // 授权运营期限一般不超过5年 (implementing norms).
            if until > from + Duration::days(5 * 366) {
                problems.push(ValidationError::new(
                    "valid_until",
                    "an authorized-operation term is at most five years",
                    "授权运营期限不超过5年",
                ));
            }
        }
        let destruction_days = plan.destruction_days.unwrap_or(DEFAULT_DESTRUCTION_DAYS);
        if !(1..=365).contains(&destruction_days) {
            problems.push(ValidationError::new("destruction_days", "between 1 and 365 days", "须在 1 至 365 天之间"));
        }
        let min_group_size = plan.min_group_size.unwrap_or(5);
        if min_group_size == 0 {
            problems.push(ValidationError::new("min_group_size", "must be at least 1", "至少为 1"));
        }
        let epsilon_budget_micros = epsilon_micros("epsilon_budget", plan.epsilon_budget, &mut problems);
        if plan.resources.is_empty() {
            problems.push(ValidationError::new("resources", "name at least one resource", "请至少列明一项数据资源"));
        }
        let mut resources = Vec::new();
        for (i, planned) in plan.resources.iter().enumerate() {
            let at = format!("resources[{i}]");
            if plan.resources[..i].iter().any(|earlier| earlier.resource_id == planned.resource_id) {
                problems.push(ValidationError::new(
                    format!("{at}.resource_id"),
                    "this resource is listed twice",
                    "数据资源重复",
                ));
                continue;
            }
            let resource = match self.applied_resource(tx, subject, &planned.resource_id).await {
                Ok(resource) => resource,
                Err(AppError::Validation(errors)) => {
                    for mut error in errors.0 {
                        error.field = format!("{at}.resource_id");
                        problems.push(error);
                    }
                    continue;
                }
                Err(other) => return Err(other),
            };
            // Data a law keeps from other departments is not operated on either.
            if let ShareAttribute::NotShared { legal_basis } = &resource.draft.share {
                problems.push(ValidationError::new(
                    format!("{at}.resource_id"),
                    format!("this resource is not shared (不予共享): {legal_basis}"),
                    format!("该数据资源不予共享：{legal_basis}"),
                ));
                continue;
            }
            let granted = GrantedResource {
                resource_id: resource.id.clone(),
                columns: planned
                    .terms
                    .columns
                    .clone()
                    .unwrap_or_else(|| resource.draft.items.iter().map(|item| item.name.clone()).collect()),
                masks: planned.terms.masks.clone(),
                row_filter: planned.terms.row_filter.clone(),
            };
            if let Err(errors) =
                granted.validate(&at, &resource.draft.items, resource.draft.level(), &modes, GrantBasis::Operation)
            {
                for error in errors.0 {
                    problems.push(error);
                }
            }
            resources.push(granted);
        }
        let attribution = match plan.attribution.trim() {
            "" => STANDARD_ATTRIBUTION.to_owned(),
            text => problems.check(required_text("attribution", text, 500)).unwrap_or_default(),
        };
        let (
            Some(title),
            Some(mode),
            Some(purpose),
            Some(application),
            Some(security_duties),
            Some(exit_terms),
            Some(valid_from),
            Some(valid_until),
        ) = (title, mode, purpose, application, security_duties, exit_terms, valid_from, valid_until)
        else {
            return Err(problems.into());
        };
        Ok(problems.finish(|| AgreementTerms {
            title,
            operation_mode: Some(mode),
            domain,
            resources,
            modes,
            purpose,
            application,
            scenarios,
            permitted_uses,
            prohibited_uses,
            security_duties,
            exit_terms,
            attribution,
            valid_from,
            valid_until,
            destruction_days,
            min_group_size,
            epsilon_budget_micros,
            allow_joins: plan.allow_joins,
        })?)
    }

    /// One agreement with its history and reports, if the caller is party
    /// to it or oversees.
    pub async fn agreement(&self, subject: &Subject, id: &str) -> AppResult<AgreementDetail> {
        let mut tx = self.store.read().await?;
        let agreement = visible_agreement(&mut tx, subject, id).await?;
        let history = tx.history("agreement", id).await?;
        let reports = tx.usage_reports(id).await?;
        Ok(AgreementDetail { view: self.view_agreement(subject, agreement, &reports), history, reports })
    }

    /// The agreements the caller gives, holds or oversees.
    pub async fn agreements(&self, subject: &Subject, query: AgreementQuery) -> AppResult<AgreementList> {
        if *subject == Subject::Anonymous {
            return Err(AppError::Unauthenticated("this needs an API token"));
        }
        let (limit, offset) = page_bounds(query.limit, query.offset)?;
        let kind = match query.kind.as_deref() {
            None | Some("") => None,
            Some(code) => Some(AgreementKind::parse("kind", code)?),
        };
        let states = match query.state.as_deref() {
            None | Some("") => vec![],
            Some(code) => vec![AgreementState::parse("state", code)?],
        };
        let filter = AgreementFilter { kind, states, involving_org_ids: visible_orgs(subject), limit, offset };
        let mut tx = self.store.read().await?;
        let page = tx.agreements(&filter).await?;
        let mut items = Vec::with_capacity(page.items.len());
        for agreement in page.items {
            let reports = tx.usage_reports(&agreement.id).await?;
            items.push(self.view_agreement(subject, agreement, &reports));
        }
        Ok(AgreementList { items, total: page.total, limit, offset })
    }

    /// Takes one step on an agreement: authorized for the party whose turn
    /// it is, applied with its grant (when it makes or changes one) and
    /// recorded, in one transaction.
    pub async fn act_on_agreement(&self, subject: &Subject, id: &str, step: AgreementStep) -> AppResult<AgreementView> {
        let action = step.action();
        let mut tx = self.store.write().await?;
        let agreement = visible_agreement(&mut tx, subject, id).await?;
        authorize(subject, permission(&agreement, action))?;
        let today = self.today();
        let current = agreement.status(today);
        let next = current.apply(agreement.kind, action)?;
        let now = self.clock.now();
        let mut changed = Agreement { state: next, updated_at: now, due_date: None, ..agreement.clone() };
        let mut opinion: Option<String> = None;
        // What the history says beyond the opinion (a signature's digest).
        let mut note: Option<String> = None;
        let mut grant_change: Option<GrantState> = None;
        match step {
            AgreementStep::Submit => {
                changed.due_date = Some(self.due(self.rules.operation_review_working_days));
            }
            AgreementStep::Approve { opinion: text, plan_approval, terms } => {
                opinion = optional_text("opinion", text.as_deref())?;
                match agreement.kind {
                    AgreementKind::Operation => {
                        let approval = plan_approval.ok_or_else(|| ValidationError::required("plan_approval"))?;
                        changed.record.plan_approval = Some(checked_approval(approval)?);
                    }
                    AgreementKind::ConditionalOpen => {
                        changed.terms = self.approved_terms(&mut tx, &agreement, *terms).await?;
                    }
                }
            }
            AgreementStep::Return { opinion: text } | AgreementStep::Refuse { opinion: text } => {
                opinion = Some(required_text("opinion", &text, 1000)?);
            }
            AgreementStep::SelectOperator { operator_org_id, selection_method } => {
                let method = required_text("selection_method", &selection_method, 200)?;
                let operator = match tx.organization(&operator_org_id).await {
                    Ok(org) if org.kind == OrgKind::Operator => org,
                    // A store failure is not "not an operator".
                    Err(error) if !matches!(error, StoreError::NotFound { .. }) => return Err(error.into()),
                    _ => {
                        return Err(ValidationError::new(
                            "operator_org_id",
                            format!("`{operator_org_id}` is not an operator (运营机构)"),
                            format!("`{operator_org_id}` 不是运营机构"),
                        )
                        .into());
                    }
                };
                changed.holder_org_id = Some(operator.id);
                changed.record.selection_method = Some(method.clone());
                opinion = Some(method);
            }
            AgreementStep::Sign { content_sha256: signed } => {
                let current_hash = content_sha256(&agreement);
                if !signed.trim().eq_ignore_ascii_case(&current_hash) {
                    return Err(AppError::conflict(
                        "the terms changed since you read them (content_sha256 differs): read the agreement again and sign what it says now",
                        "协议内容在您阅读后已变更（content_sha256 不一致），请重新阅读后签署",
                    ));
                }
                if agreement.terms.valid_until < today {
                    return Err(AppError::conflict("the term has already ended", "协议期限已过，无法签署"));
                }
                let grant = self.agreement_grant(&mut tx, &agreement).await?;
                tx.insert_grant(&grant).await?;
                let step = Step {
                    entity_kind: "grant",
                    entity_id: &grant.id,
                    action: "grant",
                    from_state: None,
                    to_state: Some(grant.state.code()),
                    opinion: None,
                };
                self.record(&mut tx, subject, step).await?;
                changed.grant_id = Some(grant.id);
                changed.record.signature = Some(Signature {
                    content_sha256: current_hash.clone(),
                    signed_by: actor_id(subject).unwrap_or_default(),
                    signed_at: now,
                });
                note = Some(format!("content_sha256 {current_hash}"));
            }
            AgreementStep::Suspend { reason } => {
                opinion = Some(required_text("reason", &reason, 1000)?);
                grant_change = Some(GrantState::Suspended);
            }
            AgreementStep::Resume { reason } => {
                opinion = Some(required_text("reason", &reason, 1000)?);
                grant_change = Some(GrantState::Active);
            }
            AgreementStep::Terminate { reason } => {
                let reason = required_text("reason", &reason, 1000)?;
                changed.record.termination = Some(Termination { reason: reason.clone(), at: now, on: today });
                opinion = Some(reason);
                grant_change = Some(GrantState::Revoked);
            }
            AgreementStep::AttestDestruction { statement } => {
                let statement = required_text("statement", &statement, 2000)?;
                changed.record.destruction = Some(Destruction {
                    statement: statement.clone(),
                    attested_by: actor_id(subject).unwrap_or_default(),
                    attested_at: now,
                });
                opinion = Some(statement);
                // An expired grant is already out of force; revoking it too
                // keeps it so whatever its term says later.
                grant_change = Some(GrantState::Revoked);
            }
            AgreementStep::Withdraw => {}
        }
        if let Some(text) = &opinion {
            changed.opinion = Some(text.clone());
        }
        // Reads under way learn the grant's state from the records.
        let changed_grant = match (grant_change, &agreement.grant_id) {
            (Some(state), Some(grant_id)) => {
                let grant = tx.grant(grant_id).await?;
                if grant.state != state && grant.state != GrantState::Revoked {
                    let reason = opinion.clone().unwrap_or_default();
                    self.set_grant_state(&mut tx, subject, grant, state, action.code(), &reason).await?;
                }
                Some(grant_id.clone())
            }
            _ => None,
        };
        let changed = tx.update_agreement(&changed).await?;
        let note = note.or(opinion);
        self.record_agreement(&mut tx, subject, &changed, action.code(), Some(current), note.as_deref()).await?;
        let reports = tx.usage_reports(id).await?;
        let stops = changed_grant.map(|id| Stop::Grant { id });
        self.commit_with_stops(tx, stops.as_slice()).await?;
        Ok(self.view_agreement(subject, changed, &reports))
    }

    /// The terms an approval of an application sets: the application,
    /// narrowed by what the provider grants, with the destruction deadline
    /// and attribution.
    async fn approved_terms(
        &self,
        tx: &mut Box<dyn Transaction>,
        agreement: &Agreement,
        terms: OpenTerms,
    ) -> AppResult<AgreementTerms> {
        let [asked] = agreement.terms.resources.as_slice() else {
            return Err(AppError::conflict("an application covers one resource", "有条件开放申请只涉及一项数据资源"));
        };
        let resource = tx.resource(&asked.resource_id).await?;
        let ask = Asked { columns: &asked.columns, modes: &agreement.terms.modes, until: agreement.terms.valid_until };
        let narrowed = self.narrow(ask, &resource, &terms.grant, GrantBasis::ConditionalOpen)?;
        let destruction_days = terms.destruction_days.unwrap_or(DEFAULT_DESTRUCTION_DAYS);
        if !(1..=365).contains(&destruction_days) {
            return Err(ValidationError::new(
                "terms.destruction_days",
                "between 1 and 365 days",
                "须在 1 至 365 天之间",
            )
            .into());
        }
        let attribution = match terms.attribution.as_deref().map(str::trim) {
            None | Some("") => agreement.terms.attribution.clone(),
            Some(text) => required_text("terms.attribution", text, 500)?,
        };
        Ok(AgreementTerms {
            resources: vec![narrowed.resource],
            modes: narrowed.modes,
            valid_until: narrowed.valid_until,
            min_group_size: narrowed.min_group_size,
            epsilon_budget_micros: narrowed.epsilon_budget_micros,
            destruction_days,
            attribution,
            ..agreement.terms.clone()
        })
    }

    /// The grant a signature makes: the terms as signed, re-checked
    /// against each resource as it is now.
    async fn agreement_grant(&self, tx: &mut Box<dyn Transaction>, agreement: &Agreement) -> AppResult<Grant> {
        let terms = &agreement.terms;
        let basis = agreement.grant_basis();
        for granted in &terms.resources {
            let resource = tx.resource(&granted.resource_id).await?;
            if !matches!(resource.state, ResourceState::Registered | ResourceState::Published) {
                return Err(AppError::conflict(
                    format!("resource {} is {} now; it cannot be granted", resource.id, resource.state.code()),
                    format!("数据资源 {} 当前为“{}”状态，不能授权", resource.id, resource.state.label_zh()),
                ));
            }
            if basis == GrantBasis::ConditionalOpen && !matches!(resource.draft.open, OpenAttribute::Conditional { .. })
            {
                return Err(AppError::conflict(
                    "the resource is no longer conditionally open",
                    "该数据资源已不再是“有条件开放”",
                ));
            }
            if let ShareAttribute::NotShared { legal_basis } = &resource.draft.share {
                return Err(AppError::conflict(
                    format!("resource {} has since become not shared (不予共享): {legal_basis}", resource.id),
                    format!("数据资源 {} 已变更为不予共享：{legal_basis}", resource.id),
                ));
            }
            granted.validate("terms", &resource.draft.items, resource.draft.level(), &terms.modes, basis)?;
        }
        let holder = agreement
            .holder_org_id
            .clone()
            .ok_or_else(|| AppError::conflict("no operator was selected", "尚未选定运营机构"))?;
        let now = self.clock.now();
        let start = terms.valid_from.and_time(NaiveTime::MIN);
        let valid_from = ((start - self.rules.utc_offset).and_utc()).max(now);
        Ok(Grant {
            id: new_id(),
            basis,
            source_id: agreement.id.clone(),
            grantee_org_id: holder,
            grantor_org_id: agreement.grantor_org_id.clone(),
            resources: terms.resources.clone(),
            modes: terms.modes.clone(),
            purpose: terms.purpose.clone(),
            scenario: terms.scenarios.join("；"),
            valid_from,
            valid_until: self.end_of_day(terms.valid_until),
            min_group_size: terms.min_group_size,
            epsilon_budget_micros: terms.epsilon_budget_micros,
            epsilon_spent_micros: 0,
            allow_joins: terms.allow_joins,
            state: GrantState::Active,
            state_reason: None,
            hash_key: random_key(),
            created_at: now,
            updated_at: now,
            row_version: 1,
        })
    }

    /// Files the holder's usage report (使用情况报告) while the agreement
    /// is in force or winding down.
    pub async fn report_usage(&self, subject: &Subject, id: &str, new: NewUsageReport) -> AppResult<UsageReport> {
        let mut problems = Validations::default();
        let period_start = problems.check(parse_day("period_start", &new.period_start));
        let period_end = problems.check(parse_day("period_end", &new.period_end));
        let summary = problems.check(required_text("summary", &new.summary, 4000));
        let outputs = problems.check(required_text("outputs", &new.outputs, 2000));
        let incidents = problems.check(required_text("incidents", &new.incidents, 2000));
        let mut tx = self.store.write().await?;
        let agreement = visible_agreement(&mut tx, subject, id).await?;
        let holder = agreement.holder_org_id.as_deref().unwrap_or_default();
        authorize(subject, Action::ActUnderAgreement { holder_org_id: holder })?;
        let status = agreement.status(self.today());
        if !matches!(status, AgreementState::Active | AgreementState::Suspended | AgreementState::WindDown) {
            return Err(AppError::conflict(
                format!("reports are filed once the agreement is signed; it is {}", status.code()),
                format!("协议签署后才能报告使用情况，当前为“{}”", status.label_zh()),
            ));
        }
        if let (Some(start), Some(end)) = (period_start, period_end) {
            if end < start {
                problems.push(ValidationError::new(
                    "period_end",
                    "the period ends before it starts",
                    "报告期结束早于开始",
                ));
            }
            if end > self.today() {
                problems.push(ValidationError::new(
                    "period_end",
                    "a report covers days that have passed",
                    "报告期不能晚于今天",
                ));
            }
        }
        let (Some(period_start), Some(period_end), Some(summary), Some(outputs), Some(incidents)) =
            (period_start, period_end, summary, outputs, incidents)
        else {
            return Err(problems.into());
        };
        if !problems.is_empty() {
            return Err(problems.into());
        }
        let mut report = UsageReport {
            seq: 0,
            agreement_id: id.to_owned(),
            period_start,
            period_end,
            summary,
            outputs,
            incidents,
            submitted_by: actor_id(subject).unwrap_or_default(),
            created_at: self.clock.now(),
        };
        report.seq = tx.insert_usage_report(&report).await?;
        let opinion = format!("{period_start} – {period_end}");
        let step = Step {
            entity_kind: "agreement",
            entity_id: id,
            action: "report_usage",
            from_state: None,
            to_state: None,
            opinion: Some(&opinion),
        };
        self.record(&mut tx, subject, step).await?;
        tx.commit().await?;
        Ok(report)
    }

    async fn record_agreement(
        &self,
        tx: &mut Box<dyn Transaction>,
        subject: &Subject,
        agreement: &Agreement,
        action: &str,
        from: Option<AgreementState>,
        opinion: Option<&str>,
    ) -> AppResult<()> {
        let step = Step {
            entity_kind: "agreement",
            entity_id: &agreement.id,
            action,
            from_state: from.map(|state| state.code()),
            to_state: Some(agreement.state.code()),
            opinion,
        };
        self.record(tx, subject, step).await
    }
}

fn optional_text(field: &str, text: Option<&str>) -> Result<Option<String>, ValidationError> {
    match text.map(str::trim).filter(|text| !text.is_empty()) {
        Some(text) => Ok(Some(required_text(field, text, 1000)?)),
        None => Ok(None),
    }
}

fn checked_approval(approval: PlanApproval) -> Result<PlanApproval, Validations> {
    let mut problems = Validations::default();
    let risk_assessment =
        problems.check(required_text("plan_approval.risk_assessment", &approval.risk_assessment, 1000));
    let compliance_review =
        problems.check(required_text("plan_approval.compliance_review", &approval.compliance_review, 1000));
    let fair_competition_review =
        problems.check(required_text("plan_approval.fair_competition_review", &approval.fair_competition_review, 1000));
    let approval_ref = problems.check(required_text("plan_approval.approval_ref", &approval.approval_ref, 200));
    problems.finish(|| PlanApproval {
        risk_assessment: risk_assessment.unwrap_or_default(),
        compliance_review: compliance_review.unwrap_or_default(),
        fair_competition_review: fair_competition_review.unwrap_or_default(),
        approval_ref: approval_ref.unwrap_or_default(),
    })
}

async fn visible_agreement(tx: &mut Box<dyn Transaction>, subject: &Subject, id: &str) -> AppResult<Agreement> {
    let agreement = tx.agreement(id).await?;
    let action = Action::ViewGrant {
        grantee_org_id: agreement.holder_org_id.as_deref().unwrap_or_default(),
        grantor_org_id: &agreement.grantor_org_id,
    };
    if gongshu_policy::decide(subject, action).is_allowed() {
        Ok(agreement)
    } else {
        Err(AppError::NotFound { entity: "agreement", id: id.to_owned() })
    }
}
