//! 一数一源 (one item, one authoritative source): flags raised when a
//! provider registers an item another provider already holds, withdrawn when
//! the flagged entry leaves registration, and decided by the bureau, whose
//! designation makes the follower's item reference the lead's entry.

use gongshu_domain::error::required_text;
use gongshu_domain::{DataItem, DuplicateFlag, DuplicateFlagState, ResourceDraft, ValidationError};
use gongshu_metadata::Transaction;
use gongshu_policy::{Action, Subject};

use crate::catalog::visible_orgs;
use crate::{App, AppError, AppResult, Step, authorize, new_id};

/// The bureau's decision on a 一数一源 flag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DuplicateDecision {
    /// This organization is the lead collector; the other entry references
    /// the lead's entry for the item.
    DesignateLead {
        /// The lead collector: the provider of one of the two entries.
        lead_org_id: String,
    },
    /// Not the same item after all.
    Dismiss,
}

/// Carries the bureau's 一数一源 designations over to new content: clients
/// can set neither `source_resource_id` nor the lead collector, and editing
/// must not drop them.
pub(crate) fn keep_designations(current: &ResourceDraft, mut proposed: ResourceDraft) -> ResourceDraft {
    for item in &mut proposed.items {
        item.source_resource_id = current
            .items
            .iter()
            .find(|old| old.identity_key() == item.identity_key())
            .and_then(|old| old.source_resource_id.clone());
    }
    proposed.lead_collector_org_id = current.lead_collector_org_id.clone();
    proposed
}

impl App {
    /// Raises a flag for every item of `items` that another provider's
    /// submitted or registered entry holds.
    pub(crate) async fn raise_flags(
        &self,
        tx: &mut Box<dyn Transaction>,
        subject: &Subject,
        resource_id: &str,
        provider_org_id: &str,
        items: &[DataItem],
    ) -> AppResult<()> {
        let keys: Vec<String> = items.iter().map(DataItem::identity_key).collect();
        for found in tx.items_held_elsewhere(resource_id, provider_org_id, &keys).await? {
            let title = items.iter().find(|i| i.identity_key() == found.identity_key).map(|i| i.title.clone());
            let flag = DuplicateFlag {
                id: new_id(),
                identity_key: found.identity_key,
                item_title: title.unwrap_or_default(),
                resource_id: resource_id.to_owned(),
                existing_resource_id: found.existing_resource_id,
                state: DuplicateFlagState::Open,
                lead_org_id: None,
                opinion: None,
                created_at: self.clock.now(),
                resolved_at: None,
            };
            if let Some(flag_id) = tx.raise_duplicate_flag(&flag).await? {
                tracing::info!(resource_id, item = %flag.item_title, existing = %flag.existing_resource_id, "一数一源 duplicate flagged");
                let step = Step {
                    entity_kind: "duplicate_flag",
                    entity_id: &flag_id,
                    action: "flag",
                    from_state: None,
                    to_state: Some(DuplicateFlagState::Open.code()),
                    opinion: Some(&flag.item_title),
                };
                self.record(tx, subject, step).await?;
            }
        }
        Ok(())
    }

    /// Withdraws the open flags on an entry that left registration; they
    /// are raised again if it is submitted again.
    pub(crate) async fn withdraw_flags(
        &self,
        tx: &mut Box<dyn Transaction>,
        subject: &Subject,
        resource_id: &str,
    ) -> AppResult<()> {
        for flag in tx.duplicate_flags(Some(DuplicateFlagState::Open), Some(resource_id)).await? {
            if flag.resource_id != resource_id {
                continue;
            }
            let note = "the flagged entry left registration";
            let withdrawn = DuplicateFlag {
                state: DuplicateFlagState::Withdrawn,
                opinion: Some(note.into()),
                resolved_at: Some(self.clock.now()),
                ..flag
            };
            tx.decide_duplicate_flag(&withdrawn).await?;
            let step = Step {
                entity_kind: "duplicate_flag",
                entity_id: &withdrawn.id,
                action: "withdraw",
                from_state: Some(DuplicateFlagState::Open.code()),
                to_state: Some(withdrawn.state.code()),
                opinion: Some(note),
            };
            self.record(tx, subject, step).await?;
        }
        Ok(())
    }

    /// The flags `subject` may see among `flags`: the bureau and auditors
    /// see all; a department sees those that involve one of its entries,
    /// since the two providers must settle the item between them.
    pub(crate) async fn visible_flags(
        &self,
        tx: &mut Box<dyn Transaction>,
        subject: &Subject,
        flags: Vec<DuplicateFlag>,
    ) -> AppResult<Vec<DuplicateFlag>> {
        let Some(orgs) = visible_orgs(subject) else { return Ok(flags) };
        let mut visible = Vec::new();
        for flag in flags {
            let flagged = tx.resource(&flag.resource_id).await?.provider_org_id;
            let existing = tx.resource(&flag.existing_resource_id).await?.provider_org_id;
            if orgs.contains(&flagged) || orgs.contains(&existing) {
                visible.push(flag);
            }
        }
        Ok(visible)
    }

    /// 一数一源 flags in a state (all when `None`) that `subject` may see.
    pub async fn duplicate_flags(&self, subject: &Subject, state: Option<&str>) -> AppResult<Vec<DuplicateFlag>> {
        let state = state.map(|s| DuplicateFlagState::parse("state", s)).transpose()?;
        if *subject == Subject::Anonymous {
            return Err(AppError::Unauthenticated("this needs an API token"));
        }
        let mut tx = self.store.read().await?;
        let flags = tx.duplicate_flags(state, None).await?;
        self.visible_flags(&mut tx, subject, flags).await
    }

    /// The bureau decides a 一数一源 flag: designates the lead collector, or
    /// finds the items different. With a lead designated, the other entry's
    /// item references the lead's entry and the other entry records the
    /// lead collector; the item's flags against the lead's other entries
    /// are settled by the same decision.
    pub async fn decide_duplicate(
        &self,
        subject: &Subject,
        flag_id: &str,
        decision: DuplicateDecision,
        opinion: &str,
    ) -> AppResult<DuplicateFlag> {
        authorize(subject, Action::Review)?;
        let opinion = required_text("opinion", opinion, 2000)?;
        let mut tx = self.store.write().await?;
        let flag = tx.duplicate_flag(flag_id).await?;
        if flag.state != DuplicateFlagState::Open {
            return Err(gongshu_domain::InvalidTransition {
                entity: "duplicate_flag",
                action: "decide",
                current: flag.state.code(),
            }
            .into());
        }
        let now = self.clock.now();
        let (state, lead_org_id) = match decision {
            DuplicateDecision::Dismiss => (DuplicateFlagState::Dismissed, None),
            DuplicateDecision::DesignateLead { lead_org_id } => {
                self.designate_lead(&mut tx, subject, &flag, &lead_org_id).await?;
                (DuplicateFlagState::LeadDesignated, Some(lead_org_id))
            }
        };
        let mut settled = vec![flag.clone()];
        if let Some(lead_org) = &lead_org_id {
            for other in tx.duplicate_flags(Some(DuplicateFlagState::Open), Some(&flag.resource_id)).await? {
                let same_item = other.id != flag.id
                    && other.identity_key == flag.identity_key
                    && other.resource_id == flag.resource_id;
                if same_item && tx.resource(&other.existing_resource_id).await?.provider_org_id == *lead_org {
                    settled.push(other);
                }
            }
        }
        for open in settled {
            let decided = DuplicateFlag {
                state,
                lead_org_id: lead_org_id.clone(),
                opinion: Some(opinion.clone()),
                resolved_at: Some(now),
                ..open
            };
            tx.decide_duplicate_flag(&decided).await?;
            let step = Step {
                entity_kind: "duplicate_flag",
                entity_id: &decided.id,
                action: "decide",
                from_state: Some(DuplicateFlagState::Open.code()),
                to_state: Some(decided.state.code()),
                opinion: Some(&opinion),
            };
            self.record(&mut tx, subject, step).await?;
        }
        let decided = tx.duplicate_flag(flag_id).await?;
        tx.commit().await?;
        self.catalog_changed(&decided.resource_id).await;
        self.catalog_changed(&decided.existing_resource_id).await;
        Ok(decided)
    }

    /// Points the follower's item at the lead's entry and records the lead
    /// collector on the follower. When the follower is already registered,
    /// this is the bureau's designation, recorded in its history; a change
    /// registration pending on it keeps the designation when coded.
    async fn designate_lead(
        &self,
        tx: &mut Box<dyn Transaction>,
        subject: &Subject,
        flag: &DuplicateFlag,
        lead_org_id: &str,
    ) -> AppResult<()> {
        let flagged = tx.resource(&flag.resource_id).await?;
        let existing = tx.resource(&flag.existing_resource_id).await?;
        let (lead, mut follower) = if existing.provider_org_id == lead_org_id {
            (existing, flagged)
        } else if flagged.provider_org_id == lead_org_id {
            (flagged, existing)
        } else {
            return Err(ValidationError::new(
                "lead_org_id",
                "the lead collector must be the provider of one of the two entries",
                "牵头采集单位须为两个资源之一的提供单位",
            )
            .into());
        };
        for item in &mut follower.draft.items {
            if item.identity_key() == flag.identity_key {
                item.source_resource_id = Some(lead.id.clone());
            }
        }
        follower.draft.lead_collector_org_id = Some(lead.provider_org_id.clone());
        follower.updated_at = self.clock.now();
        let follower = tx.update_resource(&follower).await?;
        let note = format!("一数一源: `{}` is sourced from {}", flag.item_title, lead.id);
        let step = Step {
            entity_kind: "resource",
            entity_id: &follower.id,
            action: "designate_lead",
            from_state: Some(follower.state.code()),
            to_state: Some(follower.state.code()),
            opinion: Some(&note),
        };
        self.record(tx, subject, step).await
    }
}
