//! Registration records (登记): the application kinds and the workflow
//! 申请 → 受理 → 形式审核 → 公示 (→ 异议 → 复核) → 赋码, as a pure state machine.

use chrono::NaiveDate;

use crate::codes::code_enum;
use crate::error::InvalidTransition;
use crate::resource::ResourceEvent;

code_enum! {
    /// 登记申请类型.
    pub enum ApplicationKind {
        /// 首次登记.
        Initial = ("initial", "首次登记"),
        /// 变更登记: the registered content changes.
        Change = ("change", "变更登记"),
        /// 更正登记: an error in the registered content is corrected.
        Correction = ("correction", "更正登记"),
        /// 注销登记: the resource leaves the register.
        Cancellation = ("cancellation", "注销登记"),
    }
}

code_enum! {
    /// Where a registration record is in the workflow.
    pub enum RegistrationState {
        /// 已提交, waiting to be accepted.
        Submitted = ("submitted", "已提交"),
        /// 形式审核: accepted (受理) and under formal review.
        FormalReview = ("formal_review", "形式审核中"),
        /// 公示中: anyone may object until the window closes.
        Publicity = ("publicity", "公示中"),
        /// 异议复核: an objection is being verified.
        ObjectionReview = ("objection_review", "异议复核中"),
        /// 已赋码, in force.
        Active = ("active", "已生效"),
        /// 已退回补正: the registrant may fix and resubmit.
        Returned = ("returned", "已退回"),
        /// 不予受理.
        NotAccepted = ("not_accepted", "不予受理"),
        /// 不予登记.
        Rejected = ("rejected", "不予登记"),
        /// 已撤回 by the registrant.
        Withdrawn = ("withdrawn", "已撤回"),
        /// 已被替代: a later change, correction or cancellation took its place.
        Superseded = ("superseded", "已被替代"),
    }
}

code_enum! {
    /// What can be done to a registration record.
    pub enum RegistrationAction {
        /// 受理.
        Accept = ("accept", "受理"),
        /// 不予受理.
        RefuseAcceptance = ("refuse", "不予受理"),
        /// 退回补正.
        Return = ("return", "退回补正"),
        /// 重新提交 after a return.
        Resubmit = ("resubmit", "重新提交"),
        /// 撤回.
        Withdraw = ("withdraw", "撤回"),
        /// 形式审核通过, publicity starts.
        PassReview = ("pass_review", "审核通过并公示"),
        /// 不予登记.
        Reject = ("reject", "不予登记"),
        /// 提出异议 during publicity.
        Object = ("object", "提出异议"),
        /// 异议不成立: back to publicity.
        DismissObjection = ("dismiss_objection", "异议不成立"),
        /// 异议成立, returned for correction.
        UpholdObjectionReturn = ("uphold_objection_return", "异议成立并退回"),
        /// 异议成立, rejected.
        UpholdObjectionReject = ("uphold_objection_reject", "异议成立不予登记"),
        /// 赋码: the registration takes effect.
        AssignCode = ("assign_code", "赋码"),
        /// A later registration of the same resource took effect.
        Supersede = ("supersede", "被替代"),
    }
}

impl RegistrationState {
    /// The state after `action`, or why `action` is not possible now.
    pub fn apply(self, action: RegistrationAction) -> Result<RegistrationState, InvalidTransition> {
        use RegistrationAction as A;
        use RegistrationState as S;
        let next = match (self, action) {
            (S::Submitted, A::Accept) => S::FormalReview,
            (S::Submitted, A::RefuseAcceptance) => S::NotAccepted,
            (S::Submitted | S::FormalReview, A::Return) => S::Returned,
            (S::Returned, A::Resubmit) => S::Submitted,
            (S::Submitted | S::Returned, A::Withdraw) => S::Withdrawn,
            (S::FormalReview, A::PassReview) => S::Publicity,
            (S::FormalReview, A::Reject) => S::Rejected,
            (S::Publicity | S::ObjectionReview, A::Object) => S::ObjectionReview,
            (S::ObjectionReview, A::DismissObjection) => S::Publicity,
            (S::ObjectionReview, A::UpholdObjectionReturn) => S::Returned,
            (S::ObjectionReview, A::UpholdObjectionReject) => S::Rejected,
            (S::Publicity, A::AssignCode) => S::Active,
            (S::Active, A::Supersede) => S::Superseded,
            _ => {
                return Err(InvalidTransition { entity: "registration", action: action.code(), current: self.code() });
            }
        };
        Ok(next)
    }

    /// Whether the record is still moving through the workflow; a resource
    /// has at most one such record at a time.
    pub fn is_pending(self) -> bool {
        matches!(
            self,
            RegistrationState::Submitted
                | RegistrationState::FormalReview
                | RegistrationState::Publicity
                | RegistrationState::ObjectionReview
                | RegistrationState::Returned
        )
    }

    /// Whether the bureau is the one who must act next (the deadline it
    /// is measured against is the bureau's).
    pub fn awaits_bureau(self) -> bool {
        matches!(
            self,
            RegistrationState::Submitted | RegistrationState::FormalReview | RegistrationState::ObjectionReview
        )
    }
}

impl RegistrationAction {
    /// What this action does to the catalog entry the record registers,
    /// when the record leaves state `from`.
    pub fn resource_event(self, kind: ApplicationKind, from: RegistrationState) -> Option<ResourceEvent> {
        use RegistrationAction as A;
        match (kind, self) {
            // 不予受理 ends the application, not the entry: the department
            // fixes the draft and applies again.
            (ApplicationKind::Initial, A::Return | A::UpholdObjectionReturn | A::RefuseAcceptance) => {
                Some(ResourceEvent::Return)
            }
            (ApplicationKind::Initial, A::Reject | A::UpholdObjectionReject) => Some(ResourceEvent::Reject),
            // A returned record's entry is already a draft again.
            (ApplicationKind::Initial, A::Withdraw) if from == RegistrationState::Submitted => {
                Some(ResourceEvent::Withdraw)
            }
            (ApplicationKind::Initial, A::Resubmit) => Some(ResourceEvent::Submit),
            (ApplicationKind::Initial, A::AssignCode) => Some(ResourceEvent::Register),
            (ApplicationKind::Cancellation, A::AssignCode) => Some(ResourceEvent::Cancel),
            _ => None,
        }
    }

    /// Whether a person must give an opinion (意见) for this action.
    pub fn needs_opinion(self) -> bool {
        use RegistrationAction as A;
        matches!(
            self,
            A::RefuseAcceptance
                | A::Return
                | A::Reject
                | A::Object
                | A::DismissObjection
                | A::UpholdObjectionReturn
                | A::UpholdObjectionReject
        )
    }
}

/// Why a registration in publicity cannot be coded yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CodingBlocker {
    /// The publicity window is still open until this day (inclusive).
    PublicityOpen {
        /// Last day of publicity.
        until: NaiveDate,
    },
    /// Objections are still being verified.
    OpenObjections(usize),
    /// 一数一源 duplicates wait for the bureau to designate the lead collector.
    OpenDuplicateFlags(usize),
}

/// Everything that stops a registration in publicity from being coded today.
pub fn coding_blockers(
    today: NaiveDate,
    publicity_end: NaiveDate,
    open_objections: usize,
    open_duplicate_flags: usize,
) -> Vec<CodingBlocker> {
    let mut blockers = Vec::new();
    if today <= publicity_end {
        blockers.push(CodingBlocker::PublicityOpen { until: publicity_end });
    }
    if open_objections > 0 {
        blockers.push(CodingBlocker::OpenObjections(open_objections));
    }
    if open_duplicate_flags > 0 {
        blockers.push(CodingBlocker::OpenDuplicateFlags(open_duplicate_flags));
    }
    blockers
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_registration_transition_is_allowed_or_refused_as_specified() {
        use RegistrationAction as A;
        use RegistrationState as S;
        let allowed = [
            (S::Submitted, A::Accept, S::FormalReview),
            (S::Submitted, A::RefuseAcceptance, S::NotAccepted),
            (S::Submitted, A::Return, S::Returned),
            (S::FormalReview, A::Return, S::Returned),
            (S::Returned, A::Resubmit, S::Submitted),
            (S::Submitted, A::Withdraw, S::Withdrawn),
            (S::Returned, A::Withdraw, S::Withdrawn),
            (S::FormalReview, A::PassReview, S::Publicity),
            (S::FormalReview, A::Reject, S::Rejected),
            (S::Publicity, A::Object, S::ObjectionReview),
            (S::ObjectionReview, A::Object, S::ObjectionReview),
            (S::ObjectionReview, A::DismissObjection, S::Publicity),
            (S::ObjectionReview, A::UpholdObjectionReturn, S::Returned),
            (S::ObjectionReview, A::UpholdObjectionReject, S::Rejected),
            (S::Publicity, A::AssignCode, S::Active),
            (S::Active, A::Supersede, S::Superseded),
        ];
        for &state in S::ALL {
            for &action in A::ALL {
                let expected = allowed.iter().find(|(s, a, _)| *s == state && *a == action).map(|(_, _, to)| *to);
                match (state.apply(action), expected) {
                    (Ok(to), Some(expected)) => assert_eq!(to, expected, "{state} {action}"),
                    (Err(refused), None) => assert_eq!(refused.current, state.code()),
                    (got, expected) => {
                        panic!("{state} --{action}--> {got:?}, expected {expected:?}")
                    }
                }
            }
        }
    }

    proptest::proptest! {
        /// Whatever is tried in whatever order, a record ends in force only
        /// through publicity and coding, terminal states stay terminal, and
        /// a refused action leaves the state as it was.
        #[test]
        fn random_walks_respect_the_workflow(actions in proptest::collection::vec(0..RegistrationAction::ALL.len(), 0..40)) {
            use RegistrationState as S;
            let terminal = [S::NotAccepted, S::Rejected, S::Withdrawn, S::Superseded];
            let mut state = S::Submitted;
            let mut went_through_publicity = false;
            for index in actions {
                let action = RegistrationAction::ALL[index];
                match state.apply(action) {
                    Ok(next) => {
                        proptest::prop_assert!(!terminal.contains(&state), "{state} is terminal but allowed {action}");
                        if next == S::Active {
                            proptest::prop_assert_eq!(state, S::Publicity);
                            proptest::prop_assert!(went_through_publicity);
                        }
                        went_through_publicity |= next == S::Publicity;
                        if next == S::Submitted {
                            went_through_publicity = false;
                        }
                        state = next;
                    }
                    Err(refused) => proptest::prop_assert_eq!(refused.current, state.code()),
                }
            }
        }
    }

    #[test]
    fn coding_waits_for_the_window_objections_and_duplicates() {
        let end = NaiveDate::from_ymd_opt(2026, 3, 10).unwrap();
        let on_last_day = coding_blockers(end, end, 0, 0);
        assert_eq!(on_last_day, vec![CodingBlocker::PublicityOpen { until: end }]);
        let next_day = end.succ_opt().unwrap();
        assert!(coding_blockers(next_day, end, 0, 0).is_empty());
        assert_eq!(coding_blockers(next_day, end, 1, 2).len(), 2);
    }
}
