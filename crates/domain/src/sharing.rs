//! Sharing requests (共享申请): a department asks another for a resource it
//! needs to do its duties. The bureau checks the request's conformity
//! first; a resource shared unconditionally (无条件共享) is granted then and
//! there, a conditional one (有条件共享) goes to its provider, who approves
//! or refuses with a reason. A refusal can be taken to the bureau for
//! coordination (协调), whose decision is final. Every step has a deadline
//! in working days.
//!
//! A scenario bundle (“高效办成一件事”) files one request per resource for
//! one public service. The bureau checks the bundle as a whole, each
//! provider decides its part, and the grants take effect together, only
//! once every part is granted.

use chrono::{DateTime, NaiveDate, Utc};

use crate::codes::code_enum;
use crate::error::InvalidTransition;
use crate::grant::AccessMode;

code_enum! {
    /// Where a sharing request is.
    pub enum SharingState {
        /// 待符合性审核: the bureau checks it.
        Submitted = ("submitted", "待符合性审核"),
        /// 待提供方审核: the provider decides.
        ProviderReview = ("provider_review", "待提供方审核"),
        /// 已授权: a grant was made.
        Granted = ("granted", "已授权"),
        /// 已退回: it did not pass the conformity check.
        Returned = ("returned", "已退回"),
        /// 已拒绝: the provider refused, with its reason.
        Refused = ("refused", "提供方拒绝"),
        /// 协调中: the requester asked the bureau to coordinate.
        Coordination = ("coordination", "协调中"),
        /// 维持拒绝: the bureau upheld the refusal.
        Upheld = ("upheld", "维持拒绝"),
        /// 已撤回: the requester withdrew it.
        Withdrawn = ("withdrawn", "已撤回"),
    }
}

code_enum! {
    /// What may be done to a sharing request.
    pub enum SharingAction {
        /// The bureau finds it conforms (符合性审核通过).
        PassCheck = ("pass_check", "符合性审核通过"),
        /// The bureau returns it (退回).
        Return = ("return", "退回"),
        /// The provider approves it.
        Approve = ("approve", "同意共享"),
        /// The provider refuses it, with a reason.
        Refuse = ("refuse", "拒绝共享"),
        /// The requester asks the bureau to coordinate a refusal.
        Escalate = ("escalate", "申请协调"),
        /// The bureau decides for sharing.
        CoordinateGrant = ("coordinate_grant", "协调同意"),
        /// The bureau upholds the refusal.
        Uphold = ("uphold", "维持拒绝"),
        /// The requester withdraws it.
        Withdraw = ("withdraw", "撤回"),
    }
}

impl SharingState {
    /// The state after `action`. `unconditional` says whether the resource
    /// is shared unconditionally, which decides where a passed check leads.
    pub fn apply(self, action: SharingAction, unconditional: bool) -> Result<SharingState, InvalidTransition> {
        use SharingAction as A;
        use SharingState as S;
        let next = match (self, action) {
            (S::Submitted, A::PassCheck) if unconditional => S::Granted,
            (S::Submitted, A::PassCheck) => S::ProviderReview,
            (S::Submitted, A::Return) => S::Returned,
            (S::ProviderReview, A::Approve) => S::Granted,
            (S::ProviderReview, A::Refuse) => S::Refused,
            (S::Refused, A::Escalate) => S::Coordination,
            (S::Coordination, A::CoordinateGrant) => S::Granted,
            (S::Coordination, A::Uphold) => S::Upheld,
            (S::Submitted | S::ProviderReview, A::Withdraw) => S::Withdrawn,
            _ => {
                return Err(InvalidTransition {
                    entity: "sharing_request",
                    action: action.code(),
                    current: self.code(),
                });
            }
        };
        Ok(next)
    }

    /// Whether someone still has to act, so a deadline runs.
    pub fn awaits_decision(self) -> bool {
        matches!(self, SharingState::Submitted | SharingState::ProviderReview | SharingState::Coordination)
    }

    /// Whether the grant's terms are decided in this step (a grant is made).
    pub fn grants(self) -> bool {
        self == SharingState::Granted
    }
}

/// A sharing request as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SharingRequest {
    /// Stable id.
    pub id: String,
    /// 需求部门.
    pub requester_org_id: String,
    /// 提供部门.
    pub provider_org_id: String,
    /// The resource asked for.
    pub resource_id: String,
    /// The data items asked for.
    pub columns: Vec<String>,
    /// How the requester wants to use them.
    pub modes: Vec<AccessMode>,
    /// 用途.
    pub purpose: String,
    /// 履职依据: the law or duty the use rests on.
    pub legal_basis: String,
    /// 应用场景.
    pub scenario: String,
    /// The last day it is needed.
    pub needed_until: NaiveDate,
    /// Where it is.
    pub state: SharingState,
    /// The day by which the one who must act next has to (when someone must).
    pub due_date: Option<NaiveDate>,
    /// The last decision's reason or opinion.
    pub opinion: Option<String>,
    /// The grant made, once granted.
    pub grant_id: Option<String>,
    /// The scenario bundle it is part of.
    pub bundle_id: Option<String>,
    /// Who filed it.
    pub submitted_by: String,
    /// Filed.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
    /// Optimistic-concurrency counter.
    pub row_version: i64,
}

code_enum! {
    /// Where a scenario bundle is as a whole.
    pub enum BundleState {
        /// 办理中: some part is still undecided.
        Open = ("open", "办理中"),
        /// 已生效: every part is granted and the grants are in force.
        Complete = ("complete", "已生效"),
        /// 已撤回: the requester withdrew it; its grants were revoked.
        Withdrawn = ("withdrawn", "已撤回"),
    }
}

/// A scenario bundle (“高效办成一件事”): the sharing requests one public
/// service needs, filed together and put in force together.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SharingBundle {
    /// Stable id.
    pub id: String,
    /// The department that runs the service.
    pub requester_org_id: String,
    /// The service, e.g. 新生儿出生“一件事”.
    pub title: String,
    /// What the service does for the public, and how the data serves it.
    pub service: String,
    /// Where it is.
    pub state: BundleState,
    /// Who filed it.
    pub submitted_by: String,
    /// Filed.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
    /// Optimistic-concurrency counter.
    pub row_version: i64,
}

impl SharingState {
    /// Whether a bundle part in this state keeps the bundle from taking
    /// effect for good (unless coordination or a new request changes it).
    pub fn blocks_bundle(self) -> bool {
        matches!(self, SharingState::Returned | SharingState::Upheld | SharingState::Withdrawn)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unconditional_resources_are_granted_at_the_check() {
        assert_eq!(SharingState::Submitted.apply(SharingAction::PassCheck, true), Ok(SharingState::Granted));
        assert_eq!(SharingState::Submitted.apply(SharingAction::PassCheck, false), Ok(SharingState::ProviderReview));
    }

    #[test]
    fn a_refusal_is_coordinated_once() {
        let refused = SharingState::ProviderReview.apply(SharingAction::Refuse, false).expect("refuse");
        let coordination = refused.apply(SharingAction::Escalate, false).expect("escalate");
        let upheld = coordination.apply(SharingAction::Uphold, false).expect("uphold");
        assert!(upheld.apply(SharingAction::Escalate, false).is_err());
        assert!(!upheld.awaits_decision());
        assert!(SharingState::Granted.apply(SharingAction::Withdraw, false).is_err());
    }
}
