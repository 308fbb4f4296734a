//! Sharing requests (共享申请) and the grants they make. A department files
//! a request for another's registered resource; the bureau checks its
//! conformity within `sharing_check_working_days`; an unconditionally
//! shared resource is granted at once, a conditional one goes to its
//! provider, who decides within `sharing_review_working_days`. A refusal
//! can be taken to the bureau for coordination. Each step is authorized,
//! applied and recorded in one transaction, and a grant is made in the same
//! transaction as the step that makes it.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use gongshu_domain::error::required_text;
use gongshu_domain::{
    AccessMode, Grant, GrantAction, GrantBasis, GrantState, GrantedResource, HistoryEntry, Mask, Resource,
    RowCondition, ShareAttribute, SharingAction, SharingRequest, SharingState, UsageEvent, ValidationError,
    Validations,
};
use gongshu_metadata::{GrantFilter, SharingFilter, Transaction, UsageFilter};
use gongshu_policy::{Action, Subject};

use crate::catalog::{page_bounds, visible_orgs};
use crate::{App, AppError, AppResult, Step, Stop, authorize, new_id};

/// A sharing request as filed.
#[derive(Debug, Clone, Default)]
pub struct NewSharingRequest {
    /// The resource asked for.
    pub resource_id: String,
    /// The requesting department; the caller's only department when `None`.
    pub requester_org_id: Option<String>,
    /// The data items asked for; all of them when empty.
    pub columns: Vec<String>,
    /// `query`, `download`, `aggregate`, `verify`; `query` when empty.
    pub modes: Vec<String>,
    /// 用途.
    pub purpose: String,
    /// 履职依据.
    pub legal_basis: String,
    /// 应用场景.
    pub scenario: String,
    /// Last day needed, `YYYY-MM-DD`.
    pub needed_until: String,
}

/// The terms a decision grants; each left `None` keeps what was asked.
#[derive(Debug, Clone, Default)]
pub struct GrantTerms {
    /// Columns granted (a subset of those asked).
    pub columns: Option<Vec<String>>,
    /// Masks on granted columns.
    pub masks: BTreeMap<String, Mask>,
    /// Rows granted.
    pub row_filter: Vec<RowCondition>,
    /// Modes granted (a subset of those asked).
    pub modes: Option<Vec<String>>,
    /// Minimum group size for aggregates (default 5; at least 1).
    pub min_group_size: Option<u32>,
    /// Last day of the grant, `YYYY-MM-DD`, no later than asked.
    pub valid_until: Option<String>,
    /// A privacy budget (total ε): aggregates are then released as noisy
    /// counts, each query charged against it.
    pub epsilon_budget: Option<f64>,
}

/// A decision on a sharing request.
#[derive(Debug, Clone, Default)]
pub struct SharingDecision {
    /// Grant (`true`) or not.
    pub approve: bool,
    /// The reason or opinion (required to refuse, return or uphold).
    pub opinion: Option<String>,
    /// What is granted, when granting.
    pub terms: GrantTerms,
}

/// A sharing request with its timing, as a caller sees it.
#[derive(Debug, Clone)]
pub struct SharingView {
    /// The request.
    pub request: SharingRequest,
    /// Whether it waits past its due date.
    pub overdue: bool,
    /// What the caller may do to it now.
    pub may: Vec<SharingAction>,
}

/// A page of sharing requests.
#[derive(Debug, Clone)]
pub struct SharingList {
    /// This page.
    pub items: Vec<SharingView>,
    /// All matches.
    pub total: i64,
    /// Page size used.
    pub limit: i64,
    /// Offset used.
    pub offset: i64,
}

/// What to list.
#[derive(Debug, Clone, Default)]
pub struct SharingQuery {
    /// `requested` (filed by the caller's departments), `received`
    /// (addressed to them) or all the caller may see.
    pub role: Option<String>,
    /// Only this state.
    pub state: Option<String>,
    /// Page size (1–100, default 20).
    pub limit: Option<i64>,
    /// Rows to skip.
    pub offset: Option<i64>,
}

/// A grant as its parties see it: never its key.
#[derive(Debug, Clone)]
pub struct GrantView {
    /// The grant, with its hash key blanked.
    pub grant: Grant,
    /// `active`, `suspended`, `revoked`, `expired` or `pending`, now.
    pub status: &'static str,
    /// Whether the caller may suspend, resume or revoke it.
    pub may_manage: bool,
}

pub(crate) fn parse_modes(field: &str, codes: &[String]) -> Result<Vec<AccessMode>, ValidationError> {
    let mut modes = Vec::new();
    for (i, code) in codes.iter().enumerate() {
        let mode = AccessMode::parse(&format!("{field}[{i}]"), code.trim())?;
        if !modes.contains(&mode) {
            modes.push(mode);
        }
    }
    modes.sort();
    Ok(modes)
}

pub(crate) fn parse_day(field: &str, text: &str) -> Result<NaiveDate, ValidationError> {
    NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d").map_err(|_| {
        ValidationError::new(
            field,
            format!("`{text}` is not a date (YYYY-MM-DD)"),
            format!("`{text}` 不是日期（YYYY-MM-DD）"),
        )
    })
}

impl App {
    /// The end of `day` in the jurisdiction's local time.
    pub(crate) fn end_of_day(&self, day: NaiveDate) -> DateTime<Utc> {
        let local = day.and_time(NaiveTime::from_hms_opt(23, 59, 59).expect("valid time"));
        (local - self.rules.utc_offset).and_utc()
    }

    pub(crate) fn view_sharing(&self, subject: &Subject, request: SharingRequest) -> SharingView {
        let allowed = |action| gongshu_policy::decide(subject, action).is_allowed();
        let requester = allowed(Action::RequestSharing { org_id: &request.requester_org_id });
        let provider = allowed(Action::DecideAsProvider { provider_org_id: &request.provider_org_id });
        let bureau = allowed(Action::Review);
        let may = SharingAction::ALL
            .iter()
            .copied()
            .filter(|action| request.state.apply(*action, true).is_ok() || request.state.apply(*action, false).is_ok())
            .filter(|action| match action {
                SharingAction::PassCheck
                | SharingAction::Return
                | SharingAction::CoordinateGrant
                | SharingAction::Uphold => bureau,
                SharingAction::Approve | SharingAction::Refuse => provider,
                SharingAction::Escalate | SharingAction::Withdraw => requester,
            })
            .collect();
        let overdue = request.due_date.is_some_and(|due| request.state.awaits_decision() && self.today() > due);
        SharingView { request, overdue, may }
    }

    /// Files a sharing request.
    pub async fn submit_sharing_request(&self, subject: &Subject, new: NewSharingRequest) -> AppResult<SharingView> {
        let mut problems = Validations::default();
        let requester_org_id = requesting_department(subject, new.requester_org_id.as_deref(), &mut problems);
        let mut tx = self.store.write().await?;
        authorize(subject, Action::RequestSharing { org_id: &requester_org_id })?;
        let request = self.prepare_sharing_request(&mut tx, subject, &requester_org_id, &new, problems, None).await?;
        tx.insert_sharing_request(&request).await?;
        let step = Step {
            entity_kind: "sharing_request",
            entity_id: &request.id,
            action: "submit",
            from_state: None,
            to_state: Some(request.state.code()),
            opinion: None,
        };
        self.record(&mut tx, subject, step).await?;
        tx.commit().await?;
        Ok(self.view_sharing(subject, request))
    }

    /// A request checked and ready to file: every field, the resource (registered,
    /// another department's, not 不予共享) and the items asked for. `problems`
    /// carries what the caller found already, so all come back at once.
    pub(crate) async fn prepare_sharing_request(
        &self,
        tx: &mut Box<dyn Transaction>,
        subject: &Subject,
        requester_org_id: &str,
        new: &NewSharingRequest,
        mut problems: Validations,
        bundle_id: Option<&str>,
    ) -> AppResult<SharingRequest> {
        let purpose = problems.check(required_text("purpose", &new.purpose, 500));
        let legal_basis = problems.check(required_text("legal_basis", &new.legal_basis, 500));
        let scenario = problems.check(required_text("scenario", &new.scenario, 200));
        let needed_until = problems.check(parse_day("needed_until", &new.needed_until));
        let modes = problems.check(parse_modes("modes", &new.modes));
        if let Some(day) = needed_until
            && day < self.today()
        {
            problems.push(ValidationError::new("needed_until", "the date has passed", "日期已过"));
        }
        let resource = match self.visible_resource(tx, subject, &new.resource_id).await {
            Err(AppError::NotFound { .. }) => {
                return Err(ValidationError::new(
                    "resource_id",
                    format!("no registered resource has the id `{}`", new.resource_id),
                    format!("不存在 id 为 `{}` 的已登记数据资源", new.resource_id),
                )
                .into());
            }
            other => other?,
        };
        if !resource.state.is_registered() {
            problems.push(ValidationError::new(
                "resource_id",
                "only registered resources can be requested",
                "只能申请已登记的数据资源",
            ));
        }
        if resource.provider_org_id == requester_org_id {
            problems.push(ValidationError::new(
                "resource_id",
                "this resource is your own department's",
                "该数据资源属于本部门，无需申请",
            ));
        }
        if let ShareAttribute::NotShared { legal_basis } = &resource.draft.share {
            problems.push(ValidationError::new(
                "resource_id",
                format!("this resource is not shared (不予共享): {legal_basis}"),
                format!("该数据资源不予共享：{legal_basis}"),
            ));
        }
        let (columns, modes) = asked_for(&resource, &new.columns, modes, &mut problems);
        let (Some(purpose), Some(legal_basis), Some(scenario), Some(needed_until)) =
            (purpose, legal_basis, scenario, needed_until)
        else {
            return Err(problems.into());
        };
        if !problems.is_empty() {
            return Err(problems.into());
        }
        let now = self.clock.now();
        Ok(SharingRequest {
            id: new_id(),
            requester_org_id: requester_org_id.to_owned(),
            provider_org_id: resource.provider_org_id.clone(),
            resource_id: resource.id.clone(),
            columns,
            modes,
            purpose,
            legal_basis,
            scenario,
            needed_until,
            state: SharingState::Submitted,
            due_date: Some(self.due(self.rules.sharing_check_working_days)),
            opinion: None,
            grant_id: None,
            bundle_id: bundle_id.map(str::to_owned),
            submitted_by: crate::actor_id(subject).unwrap_or_default(),
            created_at: now,
            updated_at: now,
            row_version: 1,
        })
    }

    /// One sharing request, if the caller is party to it or oversees.
    pub async fn sharing_request(&self, subject: &Subject, id: &str) -> AppResult<(SharingView, Vec<HistoryEntry>)> {
        let mut tx = self.store.read().await?;
        let request = visible_sharing(&mut tx, subject, id).await?;
        let history = tx.history("sharing_request", id).await?;
        Ok((self.view_sharing(subject, request), history))
    }

    /// The sharing requests the caller may see.
    pub async fn sharing_requests(&self, subject: &Subject, query: SharingQuery) -> AppResult<SharingList> {
        let (limit, offset) = page_bounds(query.limit, query.offset)?;
        let states = match &query.state {
            Some(code) => vec![SharingState::parse("state", code)?],
            None => vec![],
        };
        let mine = match subject {
            Subject::Anonymous => return Err(AppError::Unauthenticated("this needs an API token")),
            Subject::User { memberships, .. } => memberships.iter().map(|m| m.org_id.clone()).collect::<Vec<_>>(),
        };
        let mut filter = SharingFilter { states, limit, offset, ..SharingFilter::default() };
        match query.role.as_deref() {
            Some("requested") => filter.requester_org_ids = Some(mine),
            Some("received") => filter.provider_org_ids = Some(mine),
            None | Some("") | Some("all") => filter.involving_org_ids = visible_orgs(subject),
            Some(other) => {
                return Err(ValidationError::unknown_code("role", other, &["requested", "received", "all"]).into());
            }
        }
        let mut tx = self.store.read().await?;
        let page = tx.sharing_requests(&filter).await?;
        let items = page.items.into_iter().map(|request| self.view_sharing(subject, request)).collect();
        Ok(SharingList { items, total: page.total, limit, offset })
    }

    /// The bureau's conformity check (符合性审核): pass (an unconditionally
    /// shared resource is granted now; a conditional one goes to its
    /// provider) or return with a reason.
    pub async fn check_sharing_request(
        &self,
        subject: &Subject,
        id: &str,
        decision: SharingDecision,
    ) -> AppResult<SharingView> {
        let action = if decision.approve { SharingAction::PassCheck } else { SharingAction::Return };
        self.advance_sharing(subject, id, action, decision).await
    }

    /// The provider's decision: approve with the terms granted, or refuse
    /// with a reason.
    pub async fn decide_sharing_request(
        &self,
        subject: &Subject,
        id: &str,
        decision: SharingDecision,
    ) -> AppResult<SharingView> {
        let action = if decision.approve { SharingAction::Approve } else { SharingAction::Refuse };
        self.advance_sharing(subject, id, action, decision).await
    }

    /// The requester takes a refusal to the bureau (申请协调).
    pub async fn escalate_sharing_request(&self, subject: &Subject, id: &str, reason: &str) -> AppResult<SharingView> {
        let decision =
            SharingDecision { approve: false, opinion: Some(reason.to_owned()), ..SharingDecision::default() };
        self.advance_sharing(subject, id, SharingAction::Escalate, decision).await
    }

    /// The bureau's coordination: grant, or uphold the refusal. Final.
    pub async fn coordinate_sharing_request(
        &self,
        subject: &Subject,
        id: &str,
        decision: SharingDecision,
    ) -> AppResult<SharingView> {
        let action = if decision.approve { SharingAction::CoordinateGrant } else { SharingAction::Uphold };
        self.advance_sharing(subject, id, action, decision).await
    }

    /// The requester withdraws a request no one has decided yet.
    pub async fn withdraw_sharing_request(&self, subject: &Subject, id: &str) -> AppResult<SharingView> {
        self.advance_sharing(subject, id, SharingAction::Withdraw, SharingDecision::default()).await
    }

    async fn advance_sharing(
        &self,
        subject: &Subject,
        id: &str,
        action: SharingAction,
        decision: SharingDecision,
    ) -> AppResult<SharingView> {
        let mut tx = self.store.write().await?;
        let request = visible_sharing(&mut tx, subject, id).await?;
        let updated = self.advance_sharing_in(&mut tx, subject, request, action, &decision).await?;
        tx.commit().await?;
        Ok(self.view_sharing(subject, updated))
    }

    /// One step on a request, authorized, applied and recorded inside `tx`;
    /// a step that grants makes the grant (held back until the rest of its
    /// bundle is granted, when it is part of one).
    pub(crate) async fn advance_sharing_in(
        &self,
        tx: &mut Box<dyn Transaction>,
        subject: &Subject,
        request: SharingRequest,
        action: SharingAction,
        decision: &SharingDecision,
    ) -> AppResult<SharingRequest> {
        let id = request.id.clone();
        match action {
            SharingAction::PassCheck
            | SharingAction::Return
            | SharingAction::CoordinateGrant
            | SharingAction::Uphold => authorize(subject, Action::Review)?,
            SharingAction::Approve | SharingAction::Refuse => {
                authorize(subject, Action::DecideAsProvider { provider_org_id: &request.provider_org_id })?
            }
            SharingAction::Escalate | SharingAction::Withdraw => {
                authorize(subject, Action::RequestSharing { org_id: &request.requester_org_id })?
            }
        }
        if let Some(bundle_id) = &request.bundle_id
            && action != SharingAction::Withdraw
            && tx.bundle(bundle_id).await?.state == gongshu_domain::BundleState::Withdrawn
        {
            return Err(AppError::conflict("its scenario bundle was withdrawn", "所属“一件事”申请已撤回"));
        }
        let resource = tx.resource(&request.resource_id).await?;
        let unconditional = resource.draft.share == ShareAttribute::Unconditional;
        let next = request.state.apply(action, unconditional)?;
        let needs_reason = matches!(
            action,
            SharingAction::Return | SharingAction::Refuse | SharingAction::Escalate | SharingAction::Uphold
        );
        let opinion = match decision.opinion.as_deref().map(str::trim).filter(|text| !text.is_empty()) {
            Some(text) => Some(required_text("opinion", text, 1000)?),
            None if needs_reason => return Err(ValidationError::required("opinion").into()),
            None => None,
        };
        let now = self.clock.now();
        let mut updated = SharingRequest {
            state: next,
            opinion: opinion.clone().or(request.opinion.clone()),
            due_date: match next {
                SharingState::ProviderReview => Some(self.due(self.rules.sharing_review_working_days)),
                SharingState::Coordination => Some(self.due(self.rules.sharing_review_working_days)),
                _ => None,
            },
            updated_at: now,
            ..request.clone()
        };
        if next.grants() {
            if !matches!(
                resource.state,
                gongshu_domain::ResourceState::Registered | gongshu_domain::ResourceState::Published
            ) {
                return Err(AppError::conflict(
                    format!("the resource is {} now; it cannot be granted", resource.state.code()),
                    format!("该数据资源当前为“{}”状态，不能授权", resource.state.label_zh()),
                ));
            }
            if let ShareAttribute::NotShared { legal_basis } = &resource.draft.share {
                return Err(AppError::conflict(
                    format!("the resource has since become not shared (不予共享): {legal_basis}"),
                    format!("该数据资源已变更为不予共享：{legal_basis}"),
                ));
            }
            let mut grant = self.sharing_grant(&request, &resource, &decision.terms)?;
            if let Some(bundle_id) = &request.bundle_id {
                self.hold_or_complete_bundle(tx, subject, bundle_id, &request.id, &mut grant).await?;
            }
            tx.insert_grant(&grant).await?;
            let step = Step {
                entity_kind: "grant",
                entity_id: &grant.id,
                action: "grant",
                from_state: None,
                to_state: Some(grant.state.code()),
                opinion: opinion.as_deref(),
            };
            self.record(tx, subject, step).await?;
            updated.grant_id = Some(grant.id);
        }
        let updated = tx.update_sharing_request(&updated).await?;
        let step = Step {
            entity_kind: "sharing_request",
            entity_id: &id,
            action: action.code(),
            from_state: Some(request.state.code()),
            to_state: Some(next.code()),
            opinion: opinion.as_deref(),
        };
        self.record(tx, subject, step).await?;
        Ok(updated)
    }

    /// The grant a sharing decision makes: what was asked, narrowed by the
    /// terms, validated against the resource.
    fn sharing_grant(&self, request: &SharingRequest, resource: &Resource, terms: &GrantTerms) -> AppResult<Grant> {
        let asked = Asked { columns: &request.columns, modes: &request.modes, until: request.needed_until };
        let narrowed = self.narrow(asked, resource, terms, GrantBasis::Sharing)?;
        let now = self.clock.now();
        Ok(Grant {
            id: new_id(),
            basis: GrantBasis::Sharing,
            source_id: request.id.clone(),
            grantee_org_id: request.requester_org_id.clone(),
            grantor_org_id: request.provider_org_id.clone(),
            resources: vec![narrowed.resource],
            modes: narrowed.modes,
            purpose: request.purpose.clone(),
            scenario: request.scenario.clone(),
            valid_from: now,
            valid_until: self.end_of_day(narrowed.valid_until),
            min_group_size: narrowed.min_group_size,
            epsilon_budget_micros: narrowed.epsilon_budget_micros,
            epsilon_spent_micros: 0,
            allow_joins: false,
            state: GrantState::Active,
            state_reason: None,
            hash_key: random_key(),
            created_at: now,
            updated_at: now,
            row_version: 1,
        })
    }

    /// What a decision grants of one resource: what was asked, narrowed by
    /// the terms (never widened), validated against the resource.
    pub(crate) fn narrow(
        &self,
        asked: Asked<'_>,
        resource: &Resource,
        terms: &GrantTerms,
        basis: GrantBasis,
    ) -> AppResult<Narrowed> {
        let mut problems = Validations::default();
        let columns = match &terms.columns {
            Some(columns) => {
                for (i, column) in columns.iter().enumerate() {
                    if !asked.columns.contains(column) {
                        problems.push(ValidationError::new(
                            format!("terms.columns[{i}]"),
                            format!("`{column}` was not asked for"),
                            format!("申请中未包含数据项 `{column}`"),
                        ));
                    }
                }
                columns.clone()
            }
            None => asked.columns.to_vec(),
        };
        let modes = match &terms.modes {
            Some(codes) => {
                let modes = problems.check(parse_modes("terms.modes", codes)).unwrap_or_default();
                for mode in &modes {
                    if !asked.modes.contains(mode) {
                        problems.push(ValidationError::new(
                            "terms.modes",
                            format!("`{}` was not asked for", mode.code()),
                            format!("申请中未包含访问方式“{}”", mode.label_zh()),
                        ));
                    }
                }
                modes
            }
            None => asked.modes.to_vec(),
        };
        let valid_until = match &terms.valid_until {
            Some(text) => problems.check(parse_day("terms.valid_until", text)).unwrap_or(asked.until),
            None => asked.until,
        };
        if valid_until < self.today() {
            problems.push(ValidationError::new(
                "terms.valid_until",
                "the term would have ended already",
                "授权期限已过",
            ));
        }
        if valid_until > asked.until {
            problems.push(ValidationError::new(
                "terms.valid_until",
                "a grant cannot last longer than asked",
                "授权期限不能长于申请期限",
            ));
        }
        let epsilon_budget_micros = epsilon_micros("terms.epsilon_budget", terms.epsilon_budget, &mut problems);
        let min_group_size = terms.min_group_size.unwrap_or(5);
        if min_group_size == 0 {
            problems.push(ValidationError::new("terms.min_group_size", "must be at least 1", "至少为 1"));
        }
        let granted = GrantedResource {
            resource_id: resource.id.clone(),
            columns,
            masks: terms.masks.clone(),
            row_filter: terms.row_filter.clone(),
        };
        if let Err(errors) = granted.validate("terms", &resource.draft.items, resource.draft.level(), &modes, basis) {
            for error in errors.0 {
                problems.push(error);
            }
        }
        Ok(problems.finish(|| Narrowed {
            resource: granted,
            modes,
            valid_until,
            min_group_size,
            epsilon_budget_micros,
        })?)
    }

    fn view_grant(&self, subject: &Subject, mut grant: Grant) -> GrantView {
        grant.hash_key.clear();
        let status = grant.status(self.clock.now());
        // A grant an agreement made changes only with its agreement.
        let may_manage = grant.basis == GrantBasis::Sharing
            && gongshu_policy::decide(subject, Action::ManageGrant { grantor_org_id: &grant.grantor_org_id })
                .is_allowed();
        GrantView { grant, status, may_manage }
    }

    /// The grants the caller holds or gave (all, for the bureau and auditors).
    pub async fn grants(&self, subject: &Subject, resource_id: Option<&str>) -> AppResult<Vec<GrantView>> {
        if *subject == Subject::Anonymous {
            return Err(AppError::Unauthenticated("this needs an API token"));
        }
        let filter = GrantFilter {
            involving_org_ids: visible_orgs(subject),
            resource_id: resource_id.map(str::to_owned),
            ..GrantFilter::default()
        };
        let mut tx = self.store.read().await?;
        let grants = tx.grants(&filter).await?;
        Ok(grants.into_iter().map(|grant| self.view_grant(subject, grant)).collect())
    }

    /// One grant with its history.
    pub async fn grant(&self, subject: &Subject, id: &str) -> AppResult<(GrantView, Vec<HistoryEntry>)> {
        let mut tx = self.store.read().await?;
        let grant = visible_grant(&mut tx, subject, id).await?;
        let history = tx.history("grant", id).await?;
        Ok((self.view_grant(subject, grant), history))
    }

    /// Suspends, resumes or revokes a grant. It takes effect at once: the
    /// next read is refused, and reads under way are cancelled.
    pub async fn change_grant(
        &self,
        subject: &Subject,
        id: &str,
        action: GrantAction,
        reason: &str,
    ) -> AppResult<GrantView> {
        let reason = required_text("reason", reason, 1000)?;
        let mut tx = self.store.write().await?;
        let grant = visible_grant(&mut tx, subject, id).await?;
        authorize(subject, Action::ManageGrant { grantor_org_id: &grant.grantor_org_id })?;
        if grant.basis != GrantBasis::Sharing {
            return Err(AppError::conflict(
                format!(
                    "this grant was made by agreement {}: suspend, resume or terminate the agreement",
                    grant.source_id
                ),
                format!("该授权由协议 {} 产生，请通过协议暂停、恢复或终止", grant.source_id),
            ));
        }
        if action == GrantAction::Resume {
            let request = tx.sharing_request(&grant.source_id).await?;
            if let Some(bundle_id) = &request.bundle_id
                && tx.bundle(bundle_id).await?.state != gongshu_domain::BundleState::Complete
            {
                return Err(AppError::conflict(
                    "this grant is held until every part of its scenario bundle is granted",
                    "该授权属于“一件事”，须待全部事项授权后一并生效，不能单独恢复",
                ));
            }
        }
        let next = grant.state.apply(action)?;
        let changed = self.set_grant_state(&mut tx, subject, grant, next, action.code(), &reason).await?;
        self.commit_with_stops(tx, &[Stop::Grant { id: id.to_owned() }]).await?;
        Ok(self.view_grant(subject, changed))
    }
}

/// The department a request is filed for: the one named, or the caller's
/// only department that may file; a missing choice is added to `problems`.
pub(crate) fn requesting_department(subject: &Subject, named: Option<&str>, problems: &mut Validations) -> String {
    match (named, subject) {
        (Some(org), _) => org.to_owned(),
        (None, Subject::User { memberships, .. }) => {
            let departments: Vec<_> = memberships
                .iter()
                .filter(|m| gongshu_policy::decide(subject, Action::RequestSharing { org_id: &m.org_id }).is_allowed())
                .map(|m| m.org_id.clone())
                .collect();
            // None: authorization refuses it. Several: the caller must choose.
            match departments.as_slice() {
                [] => String::new(),
                [one] => one.clone(),
                _ => {
                    problems.push(ValidationError::required("requester_org_id"));
                    String::new()
                }
            }
        }
        (None, Subject::Anonymous) => String::new(),
    }
}

pub(crate) async fn visible_sharing(
    tx: &mut Box<dyn Transaction>,
    subject: &Subject,
    id: &str,
) -> AppResult<SharingRequest> {
    let request = tx.sharing_request(id).await?;
    let action =
        Action::ViewGrant { grantee_org_id: &request.requester_org_id, grantor_org_id: &request.provider_org_id };
    if gongshu_policy::decide(subject, action).is_allowed() {
        Ok(request)
    } else {
        Err(AppError::NotFound { entity: "sharing_request", id: id.to_owned() })
    }
}

pub(crate) async fn visible_grant(tx: &mut Box<dyn Transaction>, subject: &Subject, id: &str) -> AppResult<Grant> {
    let grant = tx.grant(id).await?;
    let action = Action::ViewGrant { grantee_org_id: &grant.grantee_org_id, grantor_org_id: &grant.grantor_org_id };
    if gongshu_policy::decide(subject, action).is_allowed() {
        Ok(grant)
    } else {
        Err(AppError::NotFound { entity: "grant", id: id.to_owned() })
    }
}

/// The columns and modes a request asks for: all items when it names none
/// (each named one must exist), `query` when it names no mode (`None` when
/// the modes did not parse; the problem is already recorded).
pub(crate) fn asked_for(
    resource: &Resource,
    columns: &[String],
    modes: Option<Vec<AccessMode>>,
    problems: &mut Validations,
) -> (Vec<String>, Vec<AccessMode>) {
    let columns = if columns.is_empty() {
        resource.draft.items.iter().map(|item| item.name.clone()).collect()
    } else {
        for (i, column) in columns.iter().enumerate() {
            if !resource.draft.items.iter().any(|item| &item.name == column) {
                problems.push(ValidationError::new(
                    format!("columns[{i}]"),
                    format!("the resource has no data item `{column}`"),
                    format!("该资源没有数据项 `{column}`"),
                ));
            }
        }
        columns.to_vec()
    };
    let modes = match modes {
        Some(modes) if modes.is_empty() => vec![AccessMode::Query],
        Some(modes) => modes,
        None => vec![],
    };
    (columns, modes)
}

/// What an applicant asked for, which a decision may only narrow.
pub(crate) struct Asked<'a> {
    /// The data items asked for.
    pub(crate) columns: &'a [String],
    /// The modes asked for.
    pub(crate) modes: &'a [AccessMode],
    /// The last day asked for.
    pub(crate) until: NaiveDate,
}

/// What a decision grants of one resource, checked.
pub(crate) struct Narrowed {
    /// Columns, masks and row filter.
    pub(crate) resource: GrantedResource,
    /// Modes granted.
    pub(crate) modes: Vec<AccessMode>,
    /// Last day of the term.
    pub(crate) valid_until: NaiveDate,
    /// Minimum group size.
    pub(crate) min_group_size: u32,
    /// Privacy budget in millionths of ε.
    pub(crate) epsilon_budget_micros: Option<i64>,
}

/// A privacy budget in millionths of ε, if it is one (above 0, at most 100).
pub(crate) fn epsilon_micros(field: &str, budget: Option<f64>, problems: &mut Validations) -> Option<i64> {
    match budget {
        None => None,
        Some(budget) if budget.is_finite() && budget > 0.0 && budget <= 100.0 => Some((budget * 1e6).round() as i64),
        Some(_) => {
            problems.push(ValidationError::new(
                field,
                "a privacy budget is a number above 0 and at most 100",
                "隐私预算必须大于 0 且不超过 100",
            ));
            None
        }
    }
}

/// A fresh key for a grant's hash masks.
pub(crate) fn random_key() -> String {
    let mut key = [0u8; 32];
    getrandom::fill(&mut key).expect("the operating system's random source works");
    key.iter().map(|b| format!("{b:02x}")).collect()
}

/// A page of usage events.
#[derive(Debug, Clone)]
pub struct UsageList {
    /// This page, newest first.
    pub items: Vec<UsageEvent>,
    /// All matches.
    pub total: i64,
    /// Page size used.
    pub limit: i64,
    /// Offset used.
    pub offset: i64,
}

/// Which usage events to list.
#[derive(Debug, Clone, Default)]
pub struct UsageQuery {
    /// Only under this grant.
    pub grant_id: Option<String>,
    /// Only of this resource.
    pub resource_id: Option<String>,
    /// Only allowed (`true`) or only denied (`false`) reads.
    pub allowed: Option<bool>,
    /// Page size (1–100, default 20).
    pub limit: Option<i64>,
    /// Rows to skip.
    pub offset: Option<i64>,
}

impl App {
    /// The gateway's decisions the caller may see: reads made for its
    /// organizations and reads of its organizations' resources (all, for
    /// the bureau and auditors).
    pub async fn usage_events(&self, subject: &Subject, query: UsageQuery) -> AppResult<UsageList> {
        if *subject == Subject::Anonymous {
            return Err(AppError::Unauthenticated("this needs an API token"));
        }
        let (limit, offset) = page_bounds(query.limit, query.offset)?;
        let mut tx = self.store.read().await?;
        if let Some(id) = &query.grant_id {
            visible_grant(&mut tx, subject, id).await?;
        }
        let filter = UsageFilter {
            grant_id: query.grant_id,
            resource_id: query.resource_id,
            visible_to_orgs: visible_orgs(subject),
            allowed: query.allowed,
            limit,
            offset,
        };
        let page = tx.usage_events(&filter).await?;
        Ok(UsageList { items: page.items, total: page.total, limit, offset })
    }
}
