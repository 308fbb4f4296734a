//! Catalog entries: drafting, submitting for registration, publishing, and
//! filing change, correction and cancellation registrations.

use gongshu_domain::error::{optional_text, required_text};
use gongshu_domain::{
    ApplicationKind, DuplicateFlag, HistoryEntry, OrgKind, Registration, RegistrationAction, RegistrationState,
    Resource, ResourceDraft, ResourceEvent, ResourceState, SecurityLevel, ValidationError,
};
use gongshu_metadata::{RegistrationFilter, ResourceFilter, StoreError, Transaction};
use gongshu_policy::{Action, Subject};

use crate::one_source::keep_designations;
use crate::registrations::may_see_registration;
use crate::{App, AppError, AppResult, Step, authorize, new_id};

/// A catalog entry with what is pending on it.
#[derive(Debug, Clone)]
pub struct ResourceView {
    /// The entry.
    pub resource: Resource,
    /// Its registration still under way, if any.
    pub pending_registration: Option<Registration>,
    /// 一数一源 flags that involve it.
    pub duplicate_flags: Vec<DuplicateFlag>,
}

/// What to list.
#[derive(Debug, Clone, Default)]
pub struct ResourceQuery {
    /// Only these state codes.
    pub states: Vec<String>,
    /// Only this provider.
    pub provider_org_id: Option<String>,
    /// Text to look for.
    pub text: Option<String>,
    /// Page size (1–100, default 20).
    pub limit: Option<i64>,
    /// Rows to skip.
    pub offset: Option<i64>,
}

/// A page of catalog entries.
#[derive(Debug, Clone)]
pub struct ResourceList {
    /// This page.
    pub items: Vec<Resource>,
    /// All matches.
    pub total: i64,
    /// Page size used.
    pub limit: i64,
    /// Offset used.
    pub offset: i64,
}

/// What a new registration record applies for.
struct NewFiling {
    application: ApplicationKind,
    reason: Option<String>,
    proposed: Option<ResourceDraft>,
}

/// A change, correction or cancellation to file against a registered entry.
#[derive(Debug, Clone)]
pub struct FileRegistration {
    /// `change`, `correction` or `cancellation`.
    pub application: String,
    /// Why.
    pub reason: String,
    /// The new content (change and correction only).
    pub proposed: Option<ResourceDraft>,
}

pub(crate) fn page_bounds(limit: Option<i64>, offset: Option<i64>) -> AppResult<(i64, i64)> {
    let limit = limit.unwrap_or(20);
    if !(1..=100).contains(&limit) {
        return Err(ValidationError::new("limit", "must be between 1 and 100", "应在 1 到 100 之间").into());
    }
    let offset = offset.unwrap_or(0);
    if offset < 0 {
        return Err(ValidationError::new("offset", "must not be negative", "不能为负数").into());
    }
    Ok((limit, offset))
}

/// The organizations whose pending work `subject` may see; `None` means all.
pub(crate) fn visible_orgs(subject: &Subject) -> Option<Vec<String>> {
    match subject {
        Subject::Anonymous => Some(vec![]),
        Subject::User { .. } if gongshu_policy::decide(subject, Action::ViewAll).is_allowed() => None,
        Subject::User { memberships, .. } => Some(memberships.iter().map(|m| m.org_id.clone()).collect()),
    }
}

impl App {
    /// Creates a draft entry provided by `provider_org_id`.
    pub async fn create_resource(
        &self,
        subject: &Subject,
        provider_org_id: &str,
        draft: ResourceDraft,
    ) -> AppResult<Resource> {
        self.create_resource_with_id(subject, provider_org_id, draft, None).await
    }

    /// Creates a draft entry under an id the caller chose (a UUID), as CKAN
    /// clients do when they copy datasets between portals; `None` makes one.
    pub async fn create_resource_with_id(
        &self,
        subject: &Subject,
        provider_org_id: &str,
        draft: ResourceDraft,
        id: Option<&str>,
    ) -> AppResult<Resource> {
        authorize(subject, Action::CreateResource { provider_org_id })?;
        let id = match id {
            None => new_id(),
            Some(id) => uuid::Uuid::parse_str(id.trim())
                .map_err(|_| {
                    ValidationError::new(
                        "id",
                        format!("`{id}` is not a UUID; leave the id out to have one made"),
                        format!("`{id}` 不是 UUID；不填写则自动生成"),
                    )
                })?
                .hyphenated()
                .to_string(),
        };
        draft.validate()?;
        let mut tx = self.store.write().await?;
        let provider = match tx.organization(provider_org_id).await {
            Ok(org) => org,
            Err(StoreError::NotFound { .. }) => {
                return Err(ValidationError::new(
                    "provider_org_id",
                    format!("no organization has id `{provider_org_id}`"),
                    format!("不存在 id 为 `{provider_org_id}` 的组织"),
                )
                .into());
            }
            Err(other) => return Err(other.into()),
        };
        if !matches!(provider.kind, OrgKind::Department | OrgKind::DataBureau | OrgKind::ImplementingBody) {
            return Err(ValidationError::new(
                "provider_org_id",
                format!(
                    "a {} cannot provide catalog entries; data providers are government departments",
                    provider.kind
                ),
                format!("{}不能作为数据资源提供单位，提供单位应为政务部门", provider.kind.label_zh()),
            )
            .into());
        }
        check_lead_collector(&mut tx, &draft).await?;
        let now = self.clock.now();
        let resource = Resource {
            id,
            provider_org_id: provider_org_id.to_owned(),
            state: ResourceState::Draft,
            registration_code: None,
            draft,
            created_at: now,
            updated_at: now,
            published_at: None,
            row_version: 0,
        };
        tx.insert_resource(&resource).await.map_err(|error| match error {
            StoreError::Duplicate(_) => AppError::conflict(
                format!("a catalog entry with id `{}` already exists", resource.id),
                format!("id 为 `{}` 的目录条目已存在", resource.id),
            ),
            other => other.into(),
        })?;
        let step = Step {
            entity_kind: "resource",
            entity_id: &resource.id,
            action: "create",
            from_state: None,
            to_state: Some(resource.state.code()),
            opinion: None,
        };
        self.record(&mut tx, subject, step).await?;
        tx.commit().await?;
        Ok(resource)
    }

    /// Replaces the content of a draft. Registered entries change only
    /// through a change or correction registration.
    pub async fn update_draft(
        &self,
        subject: &Subject,
        resource_id: &str,
        draft: ResourceDraft,
    ) -> AppResult<Resource> {
        let mut tx = self.store.write().await?;
        let resource = self.visible_resource(&mut tx, subject, resource_id).await?;
        authorize(subject, Action::ManageResource { provider_org_id: &resource.provider_org_id })?;
        if !resource.state.is_editable() {
            return Err(gongshu_domain::InvalidTransition {
                entity: "resource",
                action: "edit",
                current: resource.state.code(),
            }
            .into());
        }
        draft.validate()?;
        check_lead_collector(&mut tx, &draft).await?;
        let draft = keep_designations(&resource.draft, draft);
        let updated = Resource { draft, updated_at: self.clock.now(), ..resource };
        let updated = tx.update_resource(&updated).await?;
        let step = Step {
            entity_kind: "resource",
            entity_id: resource_id,
            action: "edit",
            from_state: Some(updated.state.code()),
            to_state: Some(updated.state.code()),
            opinion: None,
        };
        self.record(&mut tx, subject, step).await?;
        tx.commit().await?;
        Ok(updated)
    }

    /// Deletes a draft that was never registered (or whose registration was
    /// rejected). The entry and its history stay on record as `discarded`;
    /// registered entries end through a cancellation registration instead.
    pub async fn discard_draft(&self, subject: &Subject, resource_id: &str) -> AppResult<Resource> {
        let mut tx = self.store.write().await?;
        let resource = self.visible_resource(&mut tx, subject, resource_id).await?;
        authorize(subject, Action::ManageResource { provider_org_id: &resource.provider_org_id })?;
        let from = resource.state;
        let state = from.apply(ResourceEvent::Discard)?;
        // A registration returned for correction would otherwise wait forever.
        let returned = tx
            .registrations(&RegistrationFilter {
                resource_id: Some(resource_id.to_owned()),
                states: vec![RegistrationState::Returned],
                limit: 10,
                ..Default::default()
            })
            .await?
            .items;
        for registration in returned {
            let to = registration.state.apply(RegistrationAction::Withdraw)?;
            let withdrawn = Registration {
                state: to,
                state_since: self.today(),
                updated_at: self.clock.now(),
                ..registration.clone()
            };
            tx.update_registration(&withdrawn).await?;
            let step = Step {
                entity_kind: "registration",
                entity_id: &registration.id,
                action: RegistrationAction::Withdraw.code(),
                from_state: Some(registration.state.code()),
                to_state: Some(to.code()),
                opinion: Some("the draft was deleted / 草稿已删除"),
            };
            self.record(&mut tx, subject, step).await?;
        }
        let updated = tx.update_resource(&Resource { state, updated_at: self.clock.now(), ..resource }).await?;
        let step = Step {
            entity_kind: "resource",
            entity_id: resource_id,
            action: ResourceEvent::Discard.code(),
            from_state: Some(from.code()),
            to_state: Some(state.code()),
            opinion: None,
        };
        self.record(&mut tx, subject, step).await?;
        tx.commit().await?;
        self.catalog_changed(resource_id).await;
        Ok(updated)
    }

    /// One entry with its pending registration and 一数一源 flags.
    pub async fn resource(&self, subject: &Subject, resource_id: &str) -> AppResult<ResourceView> {
        let mut tx = self.store.read().await?;
        let resource = self.visible_resource(&mut tx, subject, resource_id).await?;
        // A change or cancellation under way is the registrant's and the
        // bureau's business until it reaches publicity.
        let pending = pending_registration(&mut tx, resource_id).await?.filter(|r| may_see_registration(subject, r));
        let flags = tx.duplicate_flags(None, Some(resource_id)).await?;
        let duplicate_flags =
            if *subject == Subject::Anonymous { vec![] } else { self.visible_flags(&mut tx, subject, flags).await? };
        Ok(ResourceView { resource, pending_registration: pending, duplicate_flags })
    }

    /// Entries the subject may see.
    pub async fn resources(&self, subject: &Subject, query: ResourceQuery) -> AppResult<ResourceList> {
        let (limit, offset) = page_bounds(query.limit, query.offset)?;
        let mut states = Vec::new();
        for (i, state) in query.states.iter().enumerate() {
            states.push(ResourceState::parse(&format!("state[{i}]"), state)?);
        }
        let text = optional_text("q", query.text.as_deref(), 100)?;
        // Registered entries are the sharing catalog; the policy says who sees
        // another provider's (no organization has the empty id).
        let registered_visible = gongshu_policy::decide(
            subject,
            Action::ViewResource { provider_org_id: "", state: ResourceState::Registered },
        )
        .is_allowed();
        let filter = ResourceFilter {
            states,
            provider_org_id: query.provider_org_id,
            registered_visible,
            visible_to_orgs: visible_orgs(subject),
            text,
            limit,
            offset,
        };
        let mut tx = self.store.read().await?;
        let page = tx.resources(&filter).await?;
        Ok(ResourceList { items: page.items, total: page.total, limit, offset })
    }

    /// The history of an entry.
    pub async fn resource_history(&self, subject: &Subject, resource_id: &str) -> AppResult<Vec<HistoryEntry>> {
        let mut tx = self.store.read().await?;
        let resource = self.visible_resource(&mut tx, subject, resource_id).await?;
        let history = tx.history("resource", resource_id).await?;
        Ok(redact_actors(subject, &resource.provider_org_id, history))
    }

    /// Submits a draft for its initial registration (首次登记), or resubmits
    /// the one that was returned. Items that another provider already
    /// registered are flagged for the bureau (一数一源).
    pub async fn submit_resource(&self, subject: &Subject, resource_id: &str) -> AppResult<Registration> {
        let mut tx = self.store.write().await?;
        let resource = self.visible_resource(&mut tx, subject, resource_id).await?;
        authorize(subject, Action::ManageResource { provider_org_id: &resource.provider_org_id })?;
        let next = resource.state.apply(ResourceEvent::Submit)?;
        resource.draft.validate_for_registration()?;
        let returned = tx
            .registrations(&RegistrationFilter {
                resource_id: Some(resource_id.to_owned()),
                states: vec![RegistrationState::Returned],
                applications: vec![ApplicationKind::Initial],
                limit: 1,
                ..Default::default()
            })
            .await?
            .items
            .pop();
        let now = self.clock.now();
        let today = self.today();
        let due_date = Some(self.due(self.rules.acceptance_working_days));
        let registration = match returned {
            Some(returned) => {
                let to = returned.state.apply(RegistrationAction::Resubmit)?;
                let resubmitted = Registration {
                    state: to,
                    submitted_at: now,
                    state_since: today,
                    due_date,
                    updated_at: now,
                    ..returned
                };
                let resubmitted = tx.update_registration(&resubmitted).await?;
                let step = Step {
                    entity_kind: "registration",
                    entity_id: &resubmitted.id,
                    action: RegistrationAction::Resubmit.code(),
                    from_state: Some(RegistrationState::Returned.code()),
                    to_state: Some(to.code()),
                    opinion: None,
                };
                self.record(&mut tx, subject, step).await?;
                resubmitted
            }
            None => {
                let filing = NewFiling { application: ApplicationKind::Initial, reason: None, proposed: None };
                self.insert_filing(&mut tx, subject, &resource, filing).await?
            }
        };
        let from = resource.state;
        let submitted = tx.update_resource(&Resource { state: next, updated_at: now, ..resource }).await?;
        let step = Step {
            entity_kind: "resource",
            entity_id: resource_id,
            action: ResourceEvent::Submit.code(),
            from_state: Some(from.code()),
            to_state: Some(next.code()),
            opinion: None,
        };
        self.record(&mut tx, subject, step).await?;
        self.raise_flags(&mut tx, subject, &submitted.id, &submitted.provider_org_id, &submitted.draft.items).await?;
        tx.commit().await?;
        Ok(registration)
    }

    /// Publishes a registered entry in the catalog, or takes it out.
    pub async fn set_published(
        &self,
        subject: &Subject,
        resource_id: &str,
        publish: bool,
        opinion: Option<&str>,
    ) -> AppResult<Resource> {
        authorize(subject, Action::Review)?;
        let opinion = optional_text("opinion", opinion, 2000)?;
        if !publish && opinion.is_none() {
            return Err(ValidationError::new(
                "opinion",
                "say why the entry is taken out of the catalog",
                "请说明下架原因",
            )
            .into());
        }
        let event = if publish { ResourceEvent::Publish } else { ResourceEvent::Unpublish };
        let mut tx = self.store.write().await?;
        let resource = tx.resource(resource_id).await?;
        let next = resource.state.apply(event)?;
        if publish && resource.draft.level() == SecurityLevel::Core {
            return Err(AppError::conflict(
                "core data (核心数据) is not listed in the public catalog",
                "核心数据目录不对外发布",
            ));
        }
        let now = self.clock.now();
        let from = resource.state;
        let published_at = if publish { Some(now) } else { resource.published_at };
        let updated = tx.update_resource(&Resource { state: next, updated_at: now, published_at, ..resource }).await?;
        let step = Step {
            entity_kind: "resource",
            entity_id: resource_id,
            action: event.code(),
            from_state: Some(from.code()),
            to_state: Some(next.code()),
            opinion: opinion.as_deref(),
        };
        self.record(&mut tx, subject, step).await?;
        tx.commit().await?;
        self.catalog_changed(resource_id).await;
        Ok(updated)
    }

    /// Files a change (变更), correction (更正) or cancellation (注销)
    /// registration against a registered entry.
    pub async fn file_registration(
        &self,
        subject: &Subject,
        resource_id: &str,
        filing: FileRegistration,
    ) -> AppResult<Registration> {
        // Said first: no proposal could make a harvested entry editable here.
        refuse_harvested(&mut self.store.read().await?, resource_id).await?;
        let application = ApplicationKind::parse("application", &filing.application)?;
        if application == ApplicationKind::Initial {
            return Err(ValidationError::new(
                "application",
                "an initial registration is filed by submitting the draft (POST /api/v1/resources/{id}/submit)",
                "首次登记请通过提交草稿发起（POST /api/v1/resources/{id}/submit）",
            )
            .into());
        }
        let reason = required_text("reason", &filing.reason, 2000)?;
        let proposed = match (application, filing.proposed) {
            (ApplicationKind::Cancellation, None) => None,
            (ApplicationKind::Cancellation, Some(_)) => {
                return Err(ValidationError::new(
                    "proposed",
                    "a cancellation proposes no content",
                    "注销登记不应包含变更内容",
                )
                .into());
            }
            (_, None) => {
                return Err(ValidationError::new(
                    "proposed",
                    "a change or correction needs the proposed content",
                    "变更或更正登记须提供变更后的内容",
                )
                .into());
            }
            (_, Some(proposed)) => {
                proposed.validate_for_registration().map_err(|problems| {
                    let prefixed =
                        problems.0.into_iter().map(|p| ValidationError { field: format!("proposed.{}", p.field), ..p });
                    AppError::Validation(gongshu_domain::Validations(prefixed.collect()))
                })?;
                Some(proposed)
            }
        };
        let mut tx = self.store.write().await?;
        let resource = self.visible_resource(&mut tx, subject, resource_id).await?;
        authorize(subject, Action::ManageResource { provider_org_id: &resource.provider_org_id })?;
        if !resource.state.is_registered() {
            return Err(gongshu_domain::InvalidTransition {
                entity: "resource",
                action: application.code(),
                current: resource.state.code(),
            }
            .into());
        }
        if let Some(pending) = pending_registration(&mut tx, resource_id).await? {
            return Err(AppError::conflict(
                format!(
                    "registration {} ({}) of this entry is still {}; finish or withdraw it first",
                    pending.id, pending.application, pending.state
                ),
                format!(
                    "该资源的{}（{}）仍处于“{}”，请先办结或撤回",
                    pending.application.label_zh(),
                    pending.id,
                    pending.state.label_zh()
                ),
            ));
        }
        if let Some(proposed) = &proposed {
            check_lead_collector(&mut tx, proposed).await?;
        }
        let proposed = proposed.map(|proposed| keep_designations(&resource.draft, proposed));
        if let Some(proposed) = &proposed {
            self.raise_flags(&mut tx, subject, &resource.id, &resource.provider_org_id, &proposed.items).await?;
        }
        // Touching the entry serializes filings: of two at once, one fails
        // as stale instead of both passing the "one at a time" check.
        let touched = tx.update_resource(&Resource { updated_at: self.clock.now(), ..resource }).await?;
        let filing = NewFiling { application, reason: Some(reason), proposed };
        let registration = self.insert_filing(&mut tx, subject, &touched, filing).await?;
        tx.commit().await?;
        self.catalog_changed(&touched.id).await;
        Ok(registration)
    }

    /// Files a new registration record for `resource`, submitted today, and
    /// records the submission.
    async fn insert_filing(
        &self,
        tx: &mut Box<dyn Transaction>,
        subject: &Subject,
        resource: &Resource,
        filing: NewFiling,
    ) -> AppResult<Registration> {
        let now = self.clock.now();
        let registration = Registration {
            id: new_id(),
            resource_id: resource.id.clone(),
            application: filing.application,
            state: RegistrationState::Submitted,
            registrant_org_id: resource.provider_org_id.clone(),
            reason: filing.reason,
            proposed: filing.proposed,
            code: None,
            submitted_at: now,
            state_since: self.today(),
            due_date: Some(self.due(self.rules.acceptance_working_days)),
            publicity_start: None,
            publicity_end: None,
            updated_at: now,
            row_version: 0,
        };
        tx.insert_registration(&registration).await?;
        let step = Step {
            entity_kind: "registration",
            entity_id: &registration.id,
            action: "submit",
            from_state: None,
            to_state: Some(registration.state.code()),
            opinion: registration.reason.as_deref(),
        };
        self.record(tx, subject, step).await?;
        Ok(registration)
    }

    /// Reads an entry if the subject may see it; otherwise answers "not
    /// found", so that drafts of others do not leak even their existence.
    pub(crate) async fn visible_resource(
        &self,
        tx: &mut Box<dyn Transaction>,
        subject: &Subject,
        resource_id: &str,
    ) -> AppResult<Resource> {
        let resource = tx.resource(resource_id).await?;
        let action = Action::ViewResource { provider_org_id: &resource.provider_org_id, state: resource.state };
        if gongshu_policy::decide(subject, action).is_allowed() {
            Ok(resource)
        } else {
            Err(AppError::NotFound { entity: "resource", id: resource_id.to_owned() })
        }
    }
}

async fn check_lead_collector(tx: &mut Box<dyn Transaction>, draft: &ResourceDraft) -> AppResult<()> {
    let Some(lead) = &draft.lead_collector_org_id else {
        return Ok(());
    };
    match tx.organization(lead).await {
        Ok(_) => Ok(()),
        Err(StoreError::NotFound { .. }) => Err(ValidationError::new(
            "lead_collector_org_id",
            format!("no organization has id `{lead}`"),
            format!("不存在 id 为 `{lead}` 的组织"),
        )
        .into()),
        Err(other) => Err(other.into()),
    }
}

pub(crate) async fn pending_registration(
    tx: &mut Box<dyn Transaction>,
    resource_id: &str,
) -> AppResult<Option<Registration>> {
    let pending_states = gongshu_domain::RegistrationState::ALL.iter().copied().filter(|s| s.is_pending()).collect();
    let filter = RegistrationFilter {
        resource_id: Some(resource_id.to_owned()),
        states: pending_states,
        limit: 1,
        ..Default::default()
    };
    Ok(tx.registrations(&filter).await?.items.pop())
}

/// Whether `subject` may see who acted on something `owner_org_id` owns:
/// the bureau, auditors and the owner may; the public and other departments
/// see what happened and when, not who did it (objectors stay anonymous).
pub(crate) fn actor_may_see(subject: &Subject, owner_org_id: &str) -> bool {
    match visible_orgs(subject) {
        None => true,
        Some(orgs) => orgs.iter().any(|org| org == owner_org_id),
    }
}

/// History as `subject` may read it (see [`actor_may_see`]).
pub(crate) fn redact_actors(
    subject: &Subject,
    owner_org_id: &str,
    mut history: Vec<HistoryEntry>,
) -> Vec<HistoryEntry> {
    if !actor_may_see(subject, owner_org_id) {
        for entry in &mut history {
            entry.actor_user_id = None;
        }
    }
    history
}

/// Harvested entries change only at their source (区域协作).
pub(crate) async fn refuse_harvested(tx: &mut Box<dyn Transaction>, resource_id: &str) -> AppResult<()> {
    if tx.harvest_record(resource_id).await?.is_some() {
        return Err(AppError::conflict(
            "a harvested entry is read-only: it changes at its source portal",
            "采集的目录条目为只读，须在来源平台修改",
        ));
    }
    Ok(())
}
