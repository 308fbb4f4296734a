//! The registration workflow (申请 → 受理 → 形式审核 → 公示 → 赋码), objections
//! during publicity, and the bureau's 一数一源 decisions.

use gongshu_domain::error::optional_text;
use gongshu_domain::registration::{CodingBlocker, coding_blockers};
use gongshu_domain::{
    ApplicationKind, DuplicateFlagState, HistoryEntry, Objection, ObjectionState, Registration, RegistrationAction,
    RegistrationCode, RegistrationState, Resource, ResourceState, ValidationError, error::required_text,
};
use gongshu_metadata::{RegistrationFilter, Transaction};
use gongshu_policy::{Action, Subject};

use crate::catalog::{page_bounds, redact_actors, visible_orgs};
use crate::one_source::keep_designations;
use crate::{App, AppError, AppResult, Step, authorize, new_id};

/// A registration record with the entry it registers and its objections.
#[derive(Debug, Clone)]
pub struct RegistrationView {
    /// The record.
    pub registration: Registration,
    /// The catalog entry (as registered now; a change proposes new content),
    /// when the caller may see it: always during publicity, which exists to
    /// show it; otherwise as `GET /resources/{id}` would.
    pub resource: Option<Resource>,
    /// Objections raised during publicity.
    pub objections: Vec<Objection>,
    /// Whether the bureau is past its working-day deadline.
    pub overdue: bool,
}

/// What to list.
#[derive(Debug, Clone, Default)]
pub struct RegistrationQuery {
    /// Only these state codes.
    pub states: Vec<String>,
    /// Only for this entry.
    pub resource_id: Option<String>,
    /// Page size (1–100, default 20).
    pub limit: Option<i64>,
    /// Rows to skip.
    pub offset: Option<i64>,
}

/// A page of registration records.
#[derive(Debug, Clone)]
pub struct RegistrationList {
    /// This page, each with its overdue flag.
    pub items: Vec<(Registration, bool)>,
    /// All matches.
    pub total: i64,
    /// Page size used.
    pub limit: i64,
    /// Offset used.
    pub offset: i64,
}

/// The bureau's finding on an objection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ObjectionDecision {
    /// Groundless: publicity goes on.
    Dismiss,
    /// Right: the registration goes back to the registrant.
    UpholdAndReturn,
    /// Right: the registration is refused.
    UpholdAndReject,
}

/// States whose records anyone may read: publicity is public by definition,
/// and the register of records in force is disclosed.
const PUBLIC_STATES: [RegistrationState; 4] = [
    RegistrationState::Publicity,
    RegistrationState::ObjectionReview,
    RegistrationState::Active,
    RegistrationState::Superseded,
];

/// Whether `subject` may read `registration`: everyone may in the public
/// states, else only its registrant, the bureau and auditors.
pub(crate) fn may_see_registration(subject: &Subject, registration: &Registration) -> bool {
    if PUBLIC_STATES.contains(&registration.state) {
        return true;
    }
    match visible_orgs(subject) {
        None => true,
        Some(orgs) => orgs.contains(&registration.registrant_org_id),
    }
}

impl App {
    fn overdue(&self, registration: &Registration) -> bool {
        registration.state.awaits_bureau() && registration.due_date.is_some_and(|due| self.today() > due)
    }

    async fn visible_registration(
        &self,
        tx: &mut Box<dyn Transaction>,
        subject: &Subject,
        id: &str,
    ) -> AppResult<Registration> {
        let registration = tx.registration(id).await?;
        if may_see_registration(subject, &registration) {
            Ok(registration)
        } else {
            Err(AppError::NotFound { entity: "registration", id: id.to_owned() })
        }
    }

    /// One registration record.
    pub async fn registration(&self, subject: &Subject, id: &str) -> AppResult<RegistrationView> {
        let mut tx = self.store.read().await?;
        let registration = self.visible_registration(&mut tx, subject, id).await?;
        let resource = tx.resource(&registration.resource_id).await?;
        let in_publicity =
            matches!(registration.state, RegistrationState::Publicity | RegistrationState::ObjectionReview);
        let action = Action::ViewResource { provider_org_id: &resource.provider_org_id, state: resource.state };
        let resource = (in_publicity || gongshu_policy::decide(subject, action).is_allowed()).then_some(resource);
        let objections = tx.objections_of(id).await?;
        let overdue = self.overdue(&registration);
        Ok(RegistrationView { registration, resource, objections, overdue })
    }

    /// Registration records the subject may see. The public sees those in
    /// publicity and those in force.
    pub async fn registrations(&self, subject: &Subject, query: RegistrationQuery) -> AppResult<RegistrationList> {
        let (limit, offset) = page_bounds(query.limit, query.offset)?;
        let mut states = Vec::new();
        for (i, state) in query.states.iter().enumerate() {
            states.push(RegistrationState::parse(&format!("state[{i}]"), state)?);
        }
        let mut filter =
            RegistrationFilter { states, resource_id: query.resource_id, limit, offset, ..Default::default() };
        if let Some(orgs) = visible_orgs(subject) {
            // Records in the public states are everyone's to read; the rest
            // only their registrant's (the public has no organization).
            let only_public = !filter.states.is_empty() && filter.states.iter().all(|s| PUBLIC_STATES.contains(s));
            if !only_public {
                if orgs.is_empty() && filter.states.is_empty() {
                    filter.states = PUBLIC_STATES.to_vec();
                } else {
                    filter.registrant_org_ids = Some(orgs);
                }
            }
        }
        let mut tx = self.store.read().await?;
        let page = tx.registrations(&filter).await?;
        let items = page
            .items
            .into_iter()
            .map(|r| {
                let overdue = self.overdue(&r);
                (r, overdue)
            })
            .collect();
        Ok(RegistrationList { items, total: page.total, limit, offset })
    }

    /// The history of a registration record.
    pub async fn registration_history(&self, subject: &Subject, id: &str) -> AppResult<Vec<HistoryEntry>> {
        let mut tx = self.store.read().await?;
        let registration = self.visible_registration(&mut tx, subject, id).await?;
        let history = tx.history("registration", id).await?;
        Ok(redact_actors(subject, &registration.registrant_org_id, history))
    }

    /// Moves a registration through its workflow. The registrant withdraws
    /// and resubmits; the bureau does the rest. Objections go through
    /// [`App::object`] and [`App::decide_objection`].
    pub async fn act_on_registration(
        &self,
        subject: &Subject,
        id: &str,
        action: &str,
        opinion: Option<&str>,
    ) -> AppResult<Registration> {
        let action = RegistrationAction::parse("action", action)?;
        if matches!(
            action,
            RegistrationAction::Object
                | RegistrationAction::DismissObjection
                | RegistrationAction::UpholdObjectionReturn
                | RegistrationAction::UpholdObjectionReject
                | RegistrationAction::Supersede
                | RegistrationAction::Resubmit
        ) {
            return Err(ValidationError::new(
                "action",
                format!(
                    "`{action}` is not done here: objections are raised and decided under /objections; a returned initial \
                     registration is resubmitted by submitting the edited draft (POST /api/v1/resources/{{id}}/submit); a \
                     returned change, correction or cancellation is withdrawn and filed again; superseding follows from \
                     coding a later registration"
                ),
                format!(
                    "“{}”不能在此执行：异议通过 /objections 提出和处理；退回的首次登记请修改草稿后重新提交\
                     （POST /api/v1/resources/{{id}}/submit）；退回的变更、更正或注销登记请撤回后重新申请；替代由后续登记赋码自动完成",
                    action.label_zh()
                ),
            )
            .into());
        }
        let opinion = opinion_for(action, opinion)?;
        let mut tx = self.store.write().await?;
        let registration = self.visible_registration(&mut tx, subject, id).await?;
        match action {
            RegistrationAction::Withdraw => {
                authorize(subject, Action::ManageResource { provider_org_id: &registration.registrant_org_id })?
            }
            _ => authorize(subject, Action::Review)?,
        }
        let updated = self.transition(&mut tx, subject, registration, action, opinion.as_deref()).await?;
        tx.commit().await?;
        self.catalog_changed(&updated.resource_id).await;
        Ok(updated)
    }

    /// Applies one workflow step, with its effects on the catalog entry and
    /// the history of both.
    async fn transition(
        &self,
        tx: &mut Box<dyn Transaction>,
        subject: &Subject,
        registration: Registration,
        action: RegistrationAction,
        opinion: Option<&str>,
    ) -> AppResult<Registration> {
        let from = registration.state;
        let to = from.apply(action)?;
        let today = self.today();
        let now = self.clock.now();
        let mut next = Registration { state: to, state_since: today, updated_at: now, ..registration };
        next.due_date = match to {
            RegistrationState::Submitted => Some(self.due(self.rules.acceptance_working_days)),
            RegistrationState::FormalReview => Some(self.due(self.rules.review_working_days)),
            RegistrationState::ObjectionReview => Some(self.due(self.rules.objection_working_days)),
            RegistrationState::Publicity => next.publicity_end,
            _ => None,
        };
        let mut resource = tx.resource(&next.resource_id).await?;
        let resource_from = resource.state;
        match action {
            RegistrationAction::PassReview => {
                let end = self.due(self.rules.publicity_working_days);
                next.publicity_start = Some(today);
                next.publicity_end = Some(end);
                next.due_date = Some(end);
                // Look again: another provider may have submitted the same
                // item since this record was filed.
                let items = next.proposed.as_ref().map_or(&resource.draft.items, |p| &p.items).clone();
                self.raise_flags(tx, subject, &resource.id, &resource.provider_org_id, &items).await?;
            }
            RegistrationAction::Resubmit if next.application == ApplicationKind::Initial => {
                next.submitted_at = now;
            }
            RegistrationAction::AssignCode => {
                let open_objections =
                    tx.objections_of(&next.id).await?.iter().filter(|o| o.state == ObjectionState::Open).count();
                // Only flags raised on this entry wait for it; flags where it
                // is the earlier holder are the newer entry's to settle.
                let open_flags = tx
                    .duplicate_flags(Some(DuplicateFlagState::Open), Some(&next.resource_id))
                    .await?
                    .iter()
                    .filter(|flag| flag.resource_id == next.resource_id)
                    .count();
                let publicity_end = next.publicity_end.expect("a registration in publicity has its window");
                let blockers = coding_blockers(today, publicity_end, open_objections, open_flags);
                if !blockers.is_empty() {
                    return Err(blocked(&blockers));
                }
                let code = match (&next.application, &resource.registration_code) {
                    (ApplicationKind::Initial, _) | (_, None) => {
                        let prefix = RegistrationCode::prefix(&self.rules.registry_region, 1, today);
                        let sequence = tx.next_code_sequence(&prefix).await?;
                        RegistrationCode::from_parts(&prefix, sequence as u32)
                    }
                    (_, Some(existing)) => existing.clone(),
                };
                next.code = Some(code.clone());
                resource.registration_code = Some(code);
                if let Some(proposed) = next.proposed.clone() {
                    // Designations made while the change waited are kept.
                    resource.draft = keep_designations(&resource.draft, proposed);
                }
                self.supersede_earlier(tx, subject, &next).await?;
            }
            _ => {}
        }
        let resource_event = action.resource_event(next.application, from);
        if let Some(event) = resource_event {
            resource.state = resource.state.apply(event)?;
        }
        if resource_from == ResourceState::PendingReview
            && matches!(resource.state, ResourceState::Draft | ResourceState::Rejected)
        {
            self.withdraw_flags(tx, subject, &resource.id).await?;
        }
        let changed_resource = resource.state != resource_from || action == RegistrationAction::AssignCode;
        let next = tx.update_registration(&next).await?;
        let step = Step {
            entity_kind: "registration",
            entity_id: &next.id,
            action: action.code(),
            from_state: Some(from.code()),
            to_state: Some(to.code()),
            opinion,
        };
        self.record(tx, subject, step).await?;
        if changed_resource {
            resource.updated_at = now;
            let resource = tx.update_resource(&resource).await?;
            let resource_action = match resource_event {
                Some(event) => event.code(),
                None => next.application.code(),
            };
            let step = Step {
                entity_kind: "resource",
                entity_id: &resource.id,
                action: resource_action,
                from_state: Some(resource_from.code()),
                to_state: Some(resource.state.code()),
                opinion,
            };
            self.record(tx, subject, step).await?;
        }
        Ok(next)
    }

    async fn supersede_earlier(
        &self,
        tx: &mut Box<dyn Transaction>,
        subject: &Subject,
        current: &Registration,
    ) -> AppResult<()> {
        let filter = RegistrationFilter {
            resource_id: Some(current.resource_id.clone()),
            states: vec![RegistrationState::Active],
            limit: 100,
            ..Default::default()
        };
        for earlier in tx.registrations(&filter).await?.items {
            if earlier.id == current.id {
                continue;
            }
            let to = earlier.state.apply(RegistrationAction::Supersede)?;
            let superseded = Registration { state: to, updated_at: self.clock.now(), ..earlier };
            let superseded = tx.update_registration(&superseded).await?;
            let opinion = format!("superseded by {}", current.id);
            let step = Step {
                entity_kind: "registration",
                entity_id: &superseded.id,
                action: RegistrationAction::Supersede.code(),
                from_state: Some(RegistrationState::Active.code()),
                to_state: Some(to.code()),
                opinion: Some(&opinion),
            };
            self.record(tx, subject, step).await?;
        }
        Ok(())
    }

    /// Raises an objection (异议) to a registration in publicity. Anyone
    /// signed in may object while the window is open.
    pub async fn object(&self, subject: &Subject, registration_id: &str, claim: &str) -> AppResult<Objection> {
        authorize(subject, Action::Object)?;
        let claim = required_text("claim", claim, 4000)?;
        let Subject::User { user_id, .. } = subject else { unreachable!("authorize refused the public") };
        let mut tx = self.store.write().await?;
        let registration = self.visible_registration(&mut tx, subject, registration_id).await?;
        // Objections are heard during publicity only; the state machine
        // refuses the other states with their name.
        if let Some(end) = registration.publicity_end
            && self.today() > end
        {
            return Err(AppError::conflict(
                format!("publicity closed on {end}; objections are no longer accepted"),
                format!("公示期已于 {end} 结束，不再受理异议"),
            ));
        }
        let objection = Objection {
            id: new_id(),
            registration_id: registration_id.to_owned(),
            objector_user_id: user_id.clone(),
            claim,
            state: ObjectionState::Open,
            opinion: None,
            created_at: self.clock.now(),
            resolved_at: None,
        };
        self.transition(&mut tx, subject, registration, RegistrationAction::Object, Some(&objection.claim)).await?;
        tx.insert_objection(&objection).await?;
        let step = Step {
            entity_kind: "objection",
            entity_id: &objection.id,
            action: "raise",
            from_state: None,
            to_state: Some(objection.state.code()),
            opinion: Some(&objection.claim),
        };
        self.record(&mut tx, subject, step).await?;
        tx.commit().await?;
        Ok(objection)
    }

    /// The bureau's finding on an objection.
    pub async fn decide_objection(
        &self,
        subject: &Subject,
        objection_id: &str,
        decision: ObjectionDecision,
        opinion: &str,
    ) -> AppResult<Objection> {
        authorize(subject, Action::Review)?;
        let opinion = required_text("opinion", opinion, 2000)?;
        let mut tx = self.store.write().await?;
        let objection = tx.objection(objection_id).await?;
        if objection.state != ObjectionState::Open {
            return Err(gongshu_domain::InvalidTransition {
                entity: "objection",
                action: "decide",
                current: objection.state.code(),
            }
            .into());
        }
        let registration = tx.registration(&objection.registration_id).await?;
        let now = self.clock.now();
        let others_open = tx
            .objections_of(&registration.id)
            .await?
            .into_iter()
            .filter(|o| o.state == ObjectionState::Open && o.id != objection.id)
            .collect::<Vec<_>>();
        let (state, action) = match decision {
            ObjectionDecision::Dismiss => {
                (ObjectionState::Dismissed, (others_open.is_empty()).then_some(RegistrationAction::DismissObjection))
            }
            ObjectionDecision::UpholdAndReturn => {
                (ObjectionState::Upheld, Some(RegistrationAction::UpholdObjectionReturn))
            }
            ObjectionDecision::UpholdAndReject => {
                (ObjectionState::Upheld, Some(RegistrationAction::UpholdObjectionReject))
            }
        };
        let decided = Objection { state, opinion: Some(opinion.clone()), resolved_at: Some(now), ..objection };
        tx.decide_objection(&decided).await?;
        let step = Step {
            entity_kind: "objection",
            entity_id: &decided.id,
            action: "decide",
            from_state: Some(ObjectionState::Open.code()),
            to_state: Some(state.code()),
            opinion: Some(&opinion),
        };
        self.record(&mut tx, subject, step).await?;
        if let Some(action) = action {
            if state == ObjectionState::Upheld {
                // The record leaves publicity; the other objections are settled by this finding.
                for other in others_open {
                    let settled = Objection {
                        state: ObjectionState::Upheld,
                        opinion: Some(opinion.clone()),
                        resolved_at: Some(now),
                        ..other
                    };
                    tx.decide_objection(&settled).await?;
                    let step = Step {
                        entity_kind: "objection",
                        entity_id: &settled.id,
                        action: "decide",
                        from_state: Some(ObjectionState::Open.code()),
                        to_state: Some(ObjectionState::Upheld.code()),
                        opinion: Some(&opinion),
                    };
                    self.record(&mut tx, subject, step).await?;
                }
            }
            self.transition(&mut tx, subject, registration, action, Some(&opinion)).await?;
        } else {
            // Touch the record so that two reviewers deciding its last two
            // objections at once cannot both leave it in objection review.
            tx.update_registration(&Registration { updated_at: now, ..registration }).await?;
        }
        tx.commit().await?;
        Ok(decided)
    }
}

/// The opinion written with a registration step: checked, and required
/// where the step must say why.
pub(crate) fn opinion_for(action: RegistrationAction, opinion: Option<&str>) -> AppResult<Option<String>> {
    let opinion = optional_text("opinion", opinion, 2000)?;
    if action.needs_opinion() && opinion.is_none() {
        return Err(ValidationError::new(
            "opinion",
            format!("`{action}` needs an opinion saying why"),
            format!("“{}”须填写意见", action.label_zh()),
        )
        .into());
    }
    Ok(opinion)
}

pub(crate) fn blocked(blockers: &[CodingBlocker]) -> AppError {
    let mut en = Vec::new();
    let mut zh = Vec::new();
    for blocker in blockers {
        match blocker {
            CodingBlocker::PublicityOpen { until } => {
                en.push(format!("publicity runs until {until}"));
                zh.push(format!("公示期至 {until} 尚未届满"));
            }
            CodingBlocker::OpenObjections(n) => {
                en.push(format!("{n} objection(s) are being verified"));
                zh.push(format!("有 {n} 项异议尚在核实"));
            }
            CodingBlocker::OpenDuplicateFlags(n) => {
                en.push(format!("{n} 一数一源 duplicate flag(s) await the bureau's decision"));
                zh.push(format!("有 {n} 项一数一源重复待认定"));
            }
        }
    }
    AppError::conflict(format!("cannot assign a code yet: {}", en.join("; ")), format!("暂不能赋码：{}", zh.join("；")))
}
