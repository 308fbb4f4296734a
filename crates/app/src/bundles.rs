//! Scenario bundles (“高效办成一件事”): one public service's sharing
//! requests, filed together by the department that runs it. The bureau
//! checks the bundle as a whole; each provider decides its part as for any
//! request. Grants made for parts are held (suspended) until every part is
//! granted, and then all take effect in one transaction; withdrawing the
//! bundle withdraws its undecided parts and revokes what was granted.

use gongshu_domain::error::required_text;
use gongshu_domain::{
    BundleState, Grant, GrantState, HistoryEntry, SharingAction, SharingBundle, SharingRequest, SharingState,
    ValidationError, Validations,
};
use gongshu_metadata::{SharingFilter, Transaction};
use gongshu_policy::{Action, Subject};

use crate::catalog::visible_orgs;
use crate::sharing::requesting_department;
use crate::{
    App, AppError, AppResult, NewSharingRequest, SharingDecision, SharingView, Step, Stop, actor_id, authorize, new_id,
};

/// Why a part's grant waits: shown on the grant and in its history.
const HELD: &str = "“一件事”其他事项授权后一并生效 (takes effect when the rest of the bundle is granted)";
const MAX_PARTS: usize = 20;

/// One resource a bundle asks for.
#[derive(Debug, Clone, Default)]
pub struct BundlePart {
    /// The resource.
    pub resource_id: String,
    /// Its data items; all when empty.
    pub columns: Vec<String>,
    /// `query`, `download`, `aggregate`, `verify`; `query` when empty.
    pub modes: Vec<String>,
}

/// A scenario bundle as filed.
#[derive(Debug, Clone, Default)]
pub struct NewBundle {
    /// The requesting department; the caller's only department when `None`.
    pub requester_org_id: Option<String>,
    /// The service, e.g. 新生儿出生“一件事”.
    pub title: String,
    /// What the service does for the public and how the data serves it.
    pub service: String,
    /// 用途, for every part.
    pub purpose: String,
    /// 履职依据, for every part.
    pub legal_basis: String,
    /// Last day needed, `YYYY-MM-DD`, for every part.
    pub needed_until: String,
    /// At least two resources.
    pub parts: Vec<BundlePart>,
}

/// A bundle with its parts, as a caller sees it.
#[derive(Debug, Clone)]
pub struct BundleView {
    /// The bundle.
    pub bundle: SharingBundle,
    /// Its parts, in the order filed.
    pub parts: Vec<SharingView>,
    /// Whether a part was returned, refused, upheld or withdrawn, so the
    /// bundle cannot take effect as it stands.
    pub blocked: bool,
    /// Whether the caller may check its parts now (the bureau).
    pub may_check: bool,
    /// Whether the caller may withdraw it (the requester).
    pub may_withdraw: bool,
}

impl App {
    async fn bundle_parts(&self, tx: &mut Box<dyn Transaction>, bundle_id: &str) -> AppResult<Vec<SharingRequest>> {
        let filter = SharingFilter { bundle_id: Some(bundle_id.to_owned()), limit: 1000, ..SharingFilter::default() };
        let mut parts = tx.sharing_requests(&filter).await?.items;
        parts.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
        Ok(parts)
    }

    fn view_bundle(&self, subject: &Subject, bundle: SharingBundle, parts: Vec<SharingRequest>) -> BundleView {
        let allowed = |action| gongshu_policy::decide(subject, action).is_allowed();
        let blocked = parts.iter().any(|p| p.state.blocks_bundle() || p.state == SharingState::Refused);
        let open = bundle.state == BundleState::Open;
        let may_check = open && allowed(Action::Review) && parts.iter().any(|p| p.state == SharingState::Submitted);
        let may_withdraw = open && allowed(Action::RequestSharing { org_id: &bundle.requester_org_id });
        let parts = parts.into_iter().map(|part| self.view_sharing(subject, part)).collect();
        BundleView { bundle, parts, blocked, may_check, may_withdraw }
    }

    /// Files a scenario bundle: one sharing request per part, in one transaction.
    pub async fn submit_bundle(&self, subject: &Subject, new: NewBundle) -> AppResult<BundleView> {
        let mut problems = Validations::default();
        let requester = requesting_department(subject, new.requester_org_id.as_deref(), &mut problems);
        let title = problems.check(required_text("title", &new.title, 200));
        let service = problems.check(required_text("service", &new.service, 2000));
        if new.parts.len() < 2 {
            problems.push(ValidationError::new(
                "parts",
                "a bundle covers at least two resources; file a single sharing request for one",
                "“一件事”至少涉及两项数据资源；单项数据请直接提出共享申请",
            ));
        }
        if new.parts.len() > MAX_PARTS {
            problems.push(ValidationError::new(
                "parts",
                format!("a bundle covers at most {MAX_PARTS} resources"),
                format!("“一件事”最多涉及 {MAX_PARTS} 项数据资源"),
            ));
        }
        for (i, part) in new.parts.iter().enumerate() {
            if new.parts[..i].iter().any(|earlier| earlier.resource_id == part.resource_id) {
                problems.push(ValidationError::new(
                    format!("parts[{i}].resource_id"),
                    "this resource is listed twice",
                    "数据资源重复",
                ));
            }
        }
        let mut tx = self.store.write().await?;
        // Several departments to choose from: say so, rather than refuse.
        if problems.0.iter().any(|p| p.field == "requester_org_id") {
            return Err(problems.into());
        }
        authorize(subject, Action::RequestSharing { org_id: &requester })?;
        let now = self.clock.now();
        let bundle = SharingBundle {
            id: new_id(),
            requester_org_id: requester.clone(),
            title: title.clone().unwrap_or_default(),
            service: service.unwrap_or_default(),
            state: BundleState::Open,
            submitted_by: actor_id(subject).unwrap_or_default(),
            created_at: now,
            updated_at: now,
            row_version: 1,
        };
        let mut parts = Vec::new();
        for (i, part) in new.parts.iter().enumerate() {
            let request = NewSharingRequest {
                resource_id: part.resource_id.clone(),
                requester_org_id: Some(requester.clone()),
                columns: part.columns.clone(),
                modes: part.modes.clone(),
                purpose: new.purpose.clone(),
                legal_basis: new.legal_basis.clone(),
                scenario: title.clone().unwrap_or_else(|| "—".into()),
                needed_until: new.needed_until.clone(),
            };
            let prepared = self
                .prepare_sharing_request(
                    &mut tx,
                    subject,
                    &requester,
                    &request,
                    Validations::default(),
                    Some(&bundle.id),
                )
                .await;
            match prepared {
                Ok(request) => parts.push(request),
                Err(AppError::Validation(errors)) => {
                    for mut error in errors.0 {
                        // Fields shared by every part are named once, without the part.
                        if !matches!(error.field.as_str(), "purpose" | "legal_basis" | "needed_until" | "scenario") {
                            error.field = format!("parts[{i}].{}", error.field);
                        }
                        if !problems.0.contains(&error) {
                            problems.push(error);
                        }
                    }
                }
                Err(other) => return Err(other),
            }
        }
        if !problems.is_empty() {
            return Err(problems.into());
        }
        tx.insert_bundle(&bundle).await?;
        let step = Step {
            entity_kind: "sharing_bundle",
            entity_id: &bundle.id,
            action: "submit",
            from_state: None,
            to_state: Some(bundle.state.code()),
            opinion: None,
        };
        self.record(&mut tx, subject, step).await?;
        for request in &parts {
            tx.insert_sharing_request(request).await?;
            let step = Step {
                entity_kind: "sharing_request",
                entity_id: &request.id,
                action: "submit",
                from_state: None,
                to_state: Some(request.state.code()),
                opinion: Some(&bundle.title),
            };
            self.record(&mut tx, subject, step).await?;
        }
        tx.commit().await?;
        Ok(self.view_bundle(subject, bundle, parts))
    }

    /// The bundles the caller's departments filed or are asked for (all,
    /// for the bureau and auditors), newest first.
    pub async fn bundles(&self, subject: &Subject) -> AppResult<Vec<BundleView>> {
        if *subject == Subject::Anonymous {
            return Err(AppError::Unauthenticated("this needs an API token"));
        }
        let orgs = visible_orgs(subject);
        let mut tx = self.store.read().await?;
        let bundles = tx.bundles(orgs.as_deref()).await?;
        let mut views = Vec::with_capacity(bundles.len());
        for bundle in bundles {
            let parts = self.bundle_parts(&mut tx, &bundle.id).await?;
            views.push(self.view_bundle(subject, bundle, parts));
        }
        Ok(views)
    }

    /// One bundle with its parts and history.
    pub async fn bundle(&self, subject: &Subject, id: &str) -> AppResult<(BundleView, Vec<HistoryEntry>)> {
        let mut tx = self.store.read().await?;
        let (bundle, parts) = self.visible_bundle(&mut tx, subject, id).await?;
        let history = tx.history("sharing_bundle", id).await?;
        Ok((self.view_bundle(subject, bundle, parts), history))
    }

    async fn visible_bundle(
        &self,
        tx: &mut Box<dyn Transaction>,
        subject: &Subject,
        id: &str,
    ) -> AppResult<(SharingBundle, Vec<SharingRequest>)> {
        let bundle = tx.bundle(id).await?;
        let parts = self.bundle_parts(tx, id).await?;
        let visible = match visible_orgs(subject) {
            None => true,
            Some(orgs) => {
                orgs.contains(&bundle.requester_org_id) || parts.iter().any(|p| orgs.contains(&p.provider_org_id))
            }
        };
        if visible {
            Ok((bundle, parts))
        } else {
            Err(AppError::NotFound { entity: "sharing_bundle", id: id.to_owned() })
        }
    }

    /// The bureau's conformity check of every part still waiting for it, as
    /// a whole: all pass (unconditionally shared parts are granted now) or
    /// all are returned with the reason.
    pub async fn check_bundle(&self, subject: &Subject, id: &str, decision: SharingDecision) -> AppResult<BundleView> {
        let mut tx = self.store.write().await?;
        let (bundle, parts) = self.visible_bundle(&mut tx, subject, id).await?;
        authorize(subject, Action::Review)?;
        if bundle.state != BundleState::Open || !parts.iter().any(|p| p.state == SharingState::Submitted) {
            return Err(AppError::conflict(
                "no part of this bundle waits for the conformity check",
                "该“一件事”没有待符合性审核的事项",
            ));
        }
        let action = if decision.approve { SharingAction::PassCheck } else { SharingAction::Return };
        for part in parts.into_iter().filter(|p| p.state == SharingState::Submitted) {
            self.advance_sharing_in(&mut tx, subject, part, action, &decision).await?;
        }
        let bundle = tx.bundle(id).await?;
        let step = Step {
            entity_kind: "sharing_bundle",
            entity_id: id,
            action: action.code(),
            from_state: None,
            to_state: Some(bundle.state.code()),
            opinion: decision.opinion.as_deref(),
        };
        self.record(&mut tx, subject, step).await?;
        let parts = self.bundle_parts(&mut tx, id).await?;
        tx.commit().await?;
        Ok(self.view_bundle(subject, bundle, parts))
    }

    /// The requester withdraws the whole bundle: undecided parts are
    /// withdrawn and grants made for the others are revoked.
    pub async fn withdraw_bundle(&self, subject: &Subject, id: &str, reason: &str) -> AppResult<BundleView> {
        let reason = required_text("reason", reason, 1000)?;
        let mut tx = self.store.write().await?;
        let (bundle, parts) = self.visible_bundle(&mut tx, subject, id).await?;
        authorize(subject, Action::RequestSharing { org_id: &bundle.requester_org_id })?;
        if bundle.state != BundleState::Open {
            return Err(AppError::conflict(
                format!("the bundle is {}; only one under way can be withdrawn", bundle.state.code()),
                format!("该“一件事”当前为“{}”，只有办理中的可以撤回", bundle.state.label_zh()),
            ));
        }
        let mut revoked = Vec::new();
        let decision = SharingDecision { opinion: Some(reason.clone()), ..SharingDecision::default() };
        for part in parts {
            match part.state {
                SharingState::Submitted | SharingState::ProviderReview => {
                    self.advance_sharing_in(&mut tx, subject, part, SharingAction::Withdraw, &decision).await?;
                }
                SharingState::Granted => {
                    let Some(grant_id) = part.grant_id else { continue };
                    let grant = tx.grant(&grant_id).await?;
                    self.set_grant_state(&mut tx, subject, grant, GrantState::Revoked, "withdraw_bundle", &reason)
                        .await?;
                    revoked.push(grant_id);
                }
                _ => {}
            }
        }
        let withdrawn = SharingBundle { state: BundleState::Withdrawn, updated_at: self.clock.now(), ..bundle.clone() };
        let withdrawn = tx.update_bundle(&withdrawn).await?;
        let step = Step {
            entity_kind: "sharing_bundle",
            entity_id: id,
            action: "withdraw",
            from_state: Some(bundle.state.code()),
            to_state: Some(withdrawn.state.code()),
            opinion: Some(&reason),
        };
        self.record(&mut tx, subject, step).await?;
        let parts = self.bundle_parts(&mut tx, id).await?;
        let stops = revoked.into_iter().map(|id| Stop::Grant { id }).collect::<Vec<_>>();
        self.commit_with_stops(tx, &stops).await?;
        Ok(self.view_bundle(subject, withdrawn, parts))
    }

    /// Called as a part's grant is made: when every other part is granted,
    /// the held grants take effect and the bundle is complete; otherwise
    /// this grant is held too.
    pub(crate) async fn hold_or_complete_bundle(
        &self,
        tx: &mut Box<dyn Transaction>,
        subject: &Subject,
        bundle_id: &str,
        part_id: &str,
        grant: &mut Grant,
    ) -> AppResult<()> {
        let bundle = tx.bundle(bundle_id).await?;
        // Writing the bundle in every case makes two parts granted at once
        // conflict (the second fails as stale) instead of both holding for ever.
        let bundle = tx.update_bundle(&SharingBundle { updated_at: self.clock.now(), ..bundle }).await?;
        let others: Vec<_> = self.bundle_parts(tx, bundle_id).await?.into_iter().filter(|p| p.id != part_id).collect();
        let mut all_granted = bundle.state == BundleState::Open;
        for other in &others {
            all_granted &= match (&other.state, &other.grant_id) {
                (SharingState::Granted, Some(grant_id)) => tx.grant(grant_id).await?.state != GrantState::Revoked,
                _ => false,
            };
        }
        if !all_granted {
            grant.state = GrantState::Suspended;
            grant.state_reason = Some(HELD.to_owned());
            return Ok(());
        }
        for other in &others {
            let Some(grant_id) = &other.grant_id else { continue };
            let held = tx.grant(grant_id).await?;
            if held.state == GrantState::Suspended {
                let opinion = format!("“{}”全部事项已授权", bundle.title);
                self.set_grant_state(tx, subject, held, GrantState::Active, "complete_bundle", &opinion).await?;
            }
        }
        let complete = SharingBundle { state: BundleState::Complete, updated_at: self.clock.now(), ..bundle.clone() };
        tx.update_bundle(&complete).await?;
        let step = Step {
            entity_kind: "sharing_bundle",
            entity_id: bundle_id,
            action: "complete",
            from_state: Some(bundle.state.code()),
            to_state: Some(complete.state.code()),
            opinion: None,
        };
        self.record(tx, subject, step).await
    }

    /// Writes a grant's new state with its history entry.
    pub(crate) async fn set_grant_state(
        &self,
        tx: &mut Box<dyn Transaction>,
        subject: &Subject,
        grant: Grant,
        state: GrantState,
        action: &str,
        reason: &str,
    ) -> AppResult<Grant> {
        let changed =
            Grant { state, state_reason: Some(reason.to_owned()), updated_at: self.clock.now(), ..grant.clone() };
        let changed = tx.update_grant(&changed).await?;
        let step = Step {
            entity_kind: "grant",
            entity_id: &grant.id,
            action,
            from_state: Some(grant.state.code()),
            to_state: Some(state.code()),
            opinion: Some(reason),
        };
        self.record(tx, subject, step).await?;
        Ok(changed)
    }
}
