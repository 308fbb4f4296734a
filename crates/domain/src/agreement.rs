//! Agreements (协议) that make grants outside government sharing:
//!
//! - **conditional-open applications (有条件开放申请)**: an enterprise or
//!   institution applies for a conditionally open resource; its provider
//!   approves with the terms it grants; the applicant signs the restricted
//!   open agreement (受限开放协议: fields, application, scenario, term,
//!   destruction deadline, attribution), which makes the grant; the
//!   applicant reports its use;
//! - **authorized operation (授权运营)**: an implementing body drafts a plan
//!   (mode, resources, scenarios, permitted and prohibited uses, security
//!   duties, exit terms, term); the data bureau approves it on the
//!   government's behalf; the implementing body selects an operator, who
//!   signs the agreement, which makes the grant.
//!
//! Both then run the same course: active ⇄ suspended, then ended (expired
//! on the clock, or terminated early), a wind-down in which the holder
//! destroys the data and attests it, and closed. Like a grant's expiry, an
//! agreement's end of term needs nobody to act: [`Agreement::status`]
//! reads it off the clock.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::codes::code_enum;
use crate::error::InvalidTransition;
use crate::grant::{AccessMode, GrantBasis, GrantedResource};

code_enum! {
    /// Which workflow an agreement follows.
    pub enum AgreementKind {
        /// 有条件开放: an applicant's restricted open agreement.
        ConditionalOpen = ("conditional_open", "有条件开放"),
        /// 授权运营: an operator's authorized-operation agreement.
        Operation = ("operation", "授权运营"),
    }
}

code_enum! {
    /// How an authorized operation is scoped (授权模式).
    pub enum OperationMode {
        /// 整体授权: the public data of the whole jurisdiction.
        Whole = ("whole", "整体授权"),
        /// 分领域授权: one domain, such as health or transport.
        ByDomain = ("by_domain", "分领域授权"),
        /// 依场景授权: named application scenarios.
        ByScenario = ("by_scenario", "依场景授权"),
    }
}

code_enum! {
    /// Where an agreement is.
    pub enum AgreementState {
        /// 方案编制: an operation plan being drafted (or returned).
        Drafting = ("drafting", "方案编制"),
        /// 方案审批: the data bureau reviews the plan.
        PlanReview = ("plan_review", "方案审批中"),
        /// 待选定运营机构: approved; an operator is to be selected.
        Approved = ("approved", "待选定运营机构"),
        /// 待提供部门审核: an application waits for the provider.
        Applied = ("applied", "待提供部门审核"),
        /// 待签署协议: the terms are set; the other party is to sign.
        Offered = ("offered", "待签署协议"),
        /// 履行中: signed; its grant is in force within the term.
        Active = ("active", "履行中"),
        /// 已暂停: reads stop until it is resumed.
        Suspended = ("suspended", "已暂停"),
        /// 退出中: ended; the holder must destroy the data and attest it.
        WindDown = ("wind_down", "退出中（待销毁确认）"),
        /// 已关闭: destruction attested.
        Closed = ("closed", "已关闭"),
        /// 未获批准: refused, with the reason.
        Refused = ("refused", "未获批准"),
        /// 已撤回.
        Withdrawn = ("withdrawn", "已撤回"),
    }
}

code_enum! {
    /// What may be done to an agreement.
    pub enum AgreementAction {
        /// The implementing body submits its plan for approval.
        Submit = ("submit", "提交审批"),
        /// The bureau approves a plan, or the provider an application.
        Approve = ("approve", "批准"),
        /// The bureau returns a plan for changes.
        Return = ("return", "退回修改"),
        /// The bureau or the provider refuses, with a reason.
        Refuse = ("refuse", "不予批准"),
        /// The implementing body names the operator it selected.
        SelectOperator = ("select_operator", "选定运营机构"),
        /// The applicant or operator signs; the grant is made.
        Sign = ("sign", "签署协议"),
        /// Reads stop until resumed.
        Suspend = ("suspend", "暂停"),
        /// Reads may go on.
        Resume = ("resume", "恢复"),
        /// Ended early (违约, 退出); the grant is revoked.
        Terminate = ("terminate", "终止"),
        /// The holder attests that the data was destroyed.
        AttestDestruction = ("attest_destruction", "确认销毁"),
        /// Its author withdraws it before it is signed.
        Withdraw = ("withdraw", "撤回"),
    }
}

/// Who acts on an agreement at a step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Party {
    /// The data bureau (plan approval).
    Bureau,
    /// The provider (applications) or the implementing body (operation).
    Grantor,
    /// The applicant or operator.
    Holder,
    /// The grantor or the bureau (suspension, resumption, termination).
    Supervisor,
}

impl AgreementAction {
    /// Who takes this action on an agreement of `kind`.
    pub fn party(self, kind: AgreementKind) -> Party {
        use AgreementAction as A;
        match (self, kind) {
            (A::Approve | A::Return | A::Refuse, AgreementKind::Operation) => Party::Bureau,
            (A::Approve | A::Refuse, AgreementKind::ConditionalOpen) => Party::Grantor,
            (A::Submit | A::SelectOperator | A::Return, _) => Party::Grantor,
            (A::Withdraw, AgreementKind::Operation) => Party::Grantor,
            (A::Withdraw | A::Sign | A::AttestDestruction, _) => Party::Holder,
            (A::Suspend | A::Resume | A::Terminate, _) => Party::Supervisor,
        }
    }
}

impl AgreementState {
    /// The state after `action` on an agreement of `kind`.
    pub fn apply(self, kind: AgreementKind, action: AgreementAction) -> Result<AgreementState, InvalidTransition> {
        use AgreementAction as A;
        use AgreementKind as K;
        use AgreementState as S;
        let next = match (kind, self, action) {
            (K::Operation, S::Drafting, A::Submit) => S::PlanReview,
            (K::Operation, S::PlanReview, A::Approve) => S::Approved,
            (K::Operation, S::PlanReview, A::Return) => S::Drafting,
            (K::Operation, S::PlanReview, A::Refuse) => S::Refused,
            (K::Operation, S::Approved, A::SelectOperator) => S::Offered,
            (K::Operation, S::Drafting | S::PlanReview | S::Approved | S::Offered, A::Withdraw) => S::Withdrawn,
            (K::ConditionalOpen, S::Applied, A::Approve) => S::Offered,
            (K::ConditionalOpen, S::Applied, A::Refuse) => S::Refused,
            (K::ConditionalOpen, S::Applied | S::Offered, A::Withdraw) => S::Withdrawn,
            (_, S::Offered, A::Sign) => S::Active,
            (_, S::Active, A::Suspend) => S::Suspended,
            (_, S::Suspended, A::Resume) => S::Active,
            (_, S::Active | S::Suspended, A::Terminate) => S::WindDown,
            (_, S::WindDown, A::AttestDestruction) => S::Closed,
            _ => {
                return Err(InvalidTransition { entity: "agreement", action: action.code(), current: self.code() });
            }
        };
        Ok(next)
    }

    /// Whether someone has to decide, so a deadline runs.
    pub fn awaits_decision(self) -> bool {
        matches!(self, AgreementState::PlanReview | AgreementState::Applied)
    }
}

/// The negotiated content of an agreement: what its grant will allow and
/// what the holder undertakes. Stored as a versioned document, and what a
/// signature covers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AgreementTerms {
    /// A short name (协议名称).
    pub title: String,
    /// 授权模式, for operation.
    pub operation_mode: Option<OperationMode>,
    /// 授权领域, for a by-domain operation.
    pub domain: Option<String>,
    /// Per resource: columns, masks and row filter.
    pub resources: Vec<GrantedResource>,
    /// How the holder may touch the data.
    pub modes: Vec<AccessMode>,
    /// 用途.
    pub purpose: String,
    /// 应用系统或产品: where the data will be used.
    pub application: String,
    /// 应用场景.
    pub scenarios: Vec<String>,
    /// 允许的用途.
    pub permitted_uses: Vec<String>,
    /// 禁止的用途.
    pub prohibited_uses: Vec<String>,
    /// 安全管理责任.
    pub security_duties: String,
    /// 退出机制: what happens at the end.
    pub exit_terms: String,
    /// 署名要求: how outputs must credit the source.
    pub attribution: String,
    /// First day of the term.
    pub valid_from: NaiveDate,
    /// Last day of the term.
    pub valid_until: NaiveDate,
    /// Days after the end by which the data must be destroyed (销毁期限).
    pub destruction_days: u32,
    /// Groups smaller than this are suppressed in aggregates.
    pub min_group_size: u32,
    /// A privacy budget (millionths of ε), when aggregates carry noise.
    pub epsilon_budget_micros: Option<i64>,
    /// Whether sandbox queries may join the granted tables.
    pub allow_joins: bool,
}

/// A signature on an agreement's terms.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Signature {
    /// SHA-256 of the signed content (kind, parties and terms), hex.
    pub content_sha256: String,
    /// The user who signed.
    pub signed_by: String,
    /// When.
    pub signed_at: DateTime<Utc>,
}

/// How an agreement ended before its term ran out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Termination {
    /// Why.
    pub reason: String,
    /// When.
    pub at: DateTime<Utc>,
    /// The jurisdiction's local day it happened, from which the
    /// destruction deadline counts.
    pub on: NaiveDate,
}

/// The holder's attestation that the data was destroyed (销毁确认).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Destruction {
    /// How it was destroyed, and what (copies, derived tables, backups).
    pub statement: String,
    /// The user who attested.
    pub attested_by: String,
    /// When.
    pub attested_at: DateTime<Utc>,
}

/// The reviews an operation plan passed before the bureau approved it on
/// the government's behalf.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanApproval {
    /// 风险评估 conclusion.
    pub risk_assessment: String,
    /// 合规审查 conclusion.
    pub compliance_review: String,
    /// 公平竞争审查 conclusion.
    pub fair_competition_review: String,
    /// The government's approval (批准文号 or meeting minute).
    pub approval_ref: String,
}

/// What happened to an agreement beyond its state: the approval, the
/// selection, the signature, an early end, the destruction.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgreementRecord {
    /// The plan's reviews and approval, for operation.
    pub plan_approval: Option<PlanApproval>,
    /// 运营机构选择方式 (public tender, competitive negotiation …), for operation.
    pub selection_method: Option<String>,
    /// The holder's signature.
    pub signature: Option<Signature>,
    /// Set when it was terminated early.
    pub termination: Option<Termination>,
    /// Set when the destruction was attested.
    pub destruction: Option<Destruction>,
}

/// An agreement as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct Agreement {
    /// Stable id.
    pub id: String,
    /// Which workflow.
    pub kind: AgreementKind,
    /// The provider (conditional open) or implementing body (operation).
    pub grantor_org_id: String,
    /// The applicant or operator; `None` until an operator is selected.
    pub holder_org_id: Option<String>,
    /// For a conditional-open application, the resource applied for.
    pub resource_id: Option<String>,
    /// The content.
    pub terms: AgreementTerms,
    /// The selection, signature, end and destruction.
    pub record: AgreementRecord,
    /// Stored state; see [`Agreement::status`] for the state now.
    pub state: AgreementState,
    /// The day by which the one who must decide has to.
    pub due_date: Option<NaiveDate>,
    /// The last decision's reason or opinion.
    pub opinion: Option<String>,
    /// The grant made at signing.
    pub grant_id: Option<String>,
    /// Who filed it.
    pub submitted_by: String,
    /// Filed.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
    /// Optimistic-concurrency counter.
    pub row_version: i64,
}

impl Agreement {
    /// Its state at `today`: an active or suspended agreement whose term
    /// has run out is winding down.
    pub fn status(&self, today: NaiveDate) -> AgreementState {
        match self.state {
            AgreementState::Active | AgreementState::Suspended if today > self.terms.valid_until => {
                AgreementState::WindDown
            }
            state => state,
        }
    }

    /// Whether its term ran out (rather than being ended early).
    pub fn expired(&self, today: NaiveDate) -> bool {
        self.record.termination.is_none() && today > self.terms.valid_until
    }

    /// The day by which a winding-down holder must have destroyed the data.
    pub fn destruction_due(&self, today: NaiveDate) -> Option<NaiveDate> {
        if self.status(today) != AgreementState::WindDown {
            return None;
        }
        let ended = match &self.record.termination {
            Some(termination) => termination.on,
            None => self.terms.valid_until,
        };
        Some(ended + Duration::days(i64::from(self.terms.destruction_days)))
    }

    /// Which basis its grant has.
    pub fn grant_basis(&self) -> GrantBasis {
        match self.kind {
            AgreementKind::ConditionalOpen => GrantBasis::ConditionalOpen,
            AgreementKind::Operation => GrantBasis::Operation,
        }
    }
}

/// A holder's report on how it used the data (使用情况报告).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageReport {
    /// Order of filing; assigned by the store.
    pub seq: i64,
    /// The agreement reported on.
    pub agreement_id: String,
    /// First day covered.
    pub period_start: NaiveDate,
    /// Last day covered.
    pub period_end: NaiveDate,
    /// What the data was used for and what came of it.
    pub summary: String,
    /// Products, publications or services made with it.
    pub outputs: String,
    /// Security incidents, or none.
    pub incidents: String,
    /// The user who filed it.
    pub submitted_by: String,
    /// Filed.
    pub created_at: DateTime<Utc>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use AgreementAction as A;
    use AgreementState as S;

    #[test]
    fn an_operation_runs_from_plan_to_closure() {
        let k = AgreementKind::Operation;
        let mut state = S::Drafting;
        for action in [A::Submit, A::Return, A::Submit, A::Approve, A::SelectOperator, A::Sign] {
            state = state.apply(k, action).expect("allowed");
        }
        assert_eq!(state, S::Active);
        state = state.apply(k, A::Suspend).and_then(|s| s.apply(k, A::Resume)).expect("suspend, resume");
        state = state.apply(k, A::Terminate).expect("terminate");
        assert_eq!(state.apply(k, A::AttestDestruction), Ok(S::Closed));
        assert!(S::Active.apply(k, A::AttestDestruction).is_err(), "only after it ends");
    }

    #[test]
    fn an_application_is_decided_by_its_provider_and_signed_by_its_applicant() {
        let k = AgreementKind::ConditionalOpen;
        assert_eq!(S::Applied.apply(k, A::Approve), Ok(S::Offered));
        assert_eq!(S::Offered.apply(k, A::Sign), Ok(S::Active));
        assert!(S::Applied.apply(k, A::SelectOperator).is_err());
        assert!(S::Applied.apply(k, A::Submit).is_err());
        assert_eq!(A::Approve.party(k), Party::Grantor);
        assert_eq!(A::Approve.party(AgreementKind::Operation), Party::Bureau);
        assert_eq!(A::Withdraw.party(k), Party::Holder);
        assert_eq!(A::Withdraw.party(AgreementKind::Operation), Party::Grantor);
    }

    #[test]
    fn a_signed_agreement_cannot_be_withdrawn() {
        for kind in AgreementKind::ALL {
            assert!(S::Active.apply(*kind, A::Withdraw).is_err());
            assert!(S::Closed.apply(*kind, A::Terminate).is_err());
        }
    }
}
