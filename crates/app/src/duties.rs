//! The sharing responsibility list (共享责任清单, see
//! [`gongshu_domain::duty`]): the bureau lists what each department must
//! provide, the department links the catalog entry that fulfils each duty,
//! and every duty's next deadline follows from its update cycle and the
//! entry's latest loaded version, so a late update is flagged without
//! anyone having to mark it.

use chrono::NaiveDate;
use gongshu_domain::error::required_text;
use gongshu_domain::{DutyStatus, HistoryEntry, OrgKind, SharingDuty, UpdateCycle, ValidationError, Validations};
use gongshu_metadata::{StoreError, Transaction};
use gongshu_policy::{Action, Subject};

use crate::catalog::visible_orgs;
use crate::sharing::parse_day;
use crate::{App, AppError, AppResult, Step, actor_id, authorize, new_id};

/// A duty as the bureau lists it.
#[derive(Debug, Clone, Default)]
pub struct NewDuty {
    /// The department responsible.
    pub org_id: String,
    /// What it must provide.
    pub title: String,
    /// What the data must contain.
    pub description: String,
    /// The law, rule or decision behind the duty.
    pub basis: String,
    /// `daily`, `weekly`, `monthly`, `quarterly`, `semiannual`, `annual`, `realtime`, `irregular`.
    pub update_cycle: String,
    /// First deadline, `YYYY-MM-DD`.
    pub first_due: String,
}

/// A duty with where it stands today.
#[derive(Debug, Clone)]
pub struct DutyView {
    /// The duty.
    pub duty: SharingDuty,
    /// Pending or current, with what is next due.
    pub status: DutyStatus,
    /// Whether what is due is late.
    pub overdue: bool,
    /// The day the linked entry's latest version was loaded.
    pub last_version_on: Option<NaiveDate>,
    /// Whether the caller may link an entry to it.
    pub may_link: bool,
}

impl App {
    async fn view_duty(
        &self,
        tx: &mut Box<dyn Transaction>,
        subject: &Subject,
        duty: SharingDuty,
    ) -> AppResult<DutyView> {
        let last_version_on = match &duty.resource_id {
            Some(resource_id) => tx
                .versions(resource_id)
                .await?
                .iter()
                .map(|version| version.created_at.with_timezone(&self.rules.utc_offset).date_naive())
                .max(),
            None => None,
        };
        let status = duty.status(last_version_on);
        let may_link =
            gongshu_policy::decide(subject, Action::ManageResource { provider_org_id: &duty.org_id }).is_allowed();
        Ok(DutyView { overdue: status.overdue(self.today()), status, last_version_on, may_link, duty })
    }

    /// Lists a duty for a department.
    pub async fn create_duty(&self, subject: &Subject, new: NewDuty) -> AppResult<DutyView> {
        let mut problems = Validations::default();
        let title = problems.check(required_text("title", &new.title, 200));
        let description = problems.check(required_text("description", &new.description, 2000));
        let basis = problems.check(required_text("basis", &new.basis, 500));
        let update_cycle = problems.check(UpdateCycle::parse("update_cycle", new.update_cycle.trim()));
        let first_due = problems.check(parse_day("first_due", &new.first_due));
        let mut tx = self.store.write().await?;
        authorize(subject, Action::ManageSharingDuties)?;
        match tx.organization(&new.org_id).await {
            Ok(org) if org.kind == OrgKind::Department => {}
            Err(error) if !matches!(error, StoreError::NotFound { .. }) => return Err(error.into()),
            _ => problems.push(ValidationError::new(
                "org_id",
                format!("`{}` is not a government department", new.org_id),
                format!("`{}` 不是政务部门", new.org_id),
            )),
        }
        let (Some(title), Some(description), Some(basis), Some(update_cycle), Some(first_due)) =
            (title, description, basis, update_cycle, first_due)
        else {
            return Err(problems.into());
        };
        if !problems.is_empty() {
            return Err(problems.into());
        }
        let now = self.clock.now();
        let duty = SharingDuty {
            id: new_id(),
            org_id: new.org_id,
            title,
            description,
            basis,
            update_cycle,
            first_due,
            resource_id: None,
            created_by: actor_id(subject).unwrap_or_default(),
            created_at: now,
            updated_at: now,
            row_version: 1,
        };
        tx.insert_duty(&duty).await?;
        let step = Step {
            entity_kind: "sharing_duty",
            entity_id: &duty.id,
            action: "list",
            from_state: None,
            to_state: Some("pending"),
            opinion: None,
        };
        self.record(&mut tx, subject, step).await?;
        let view = self.view_duty(&mut tx, subject, duty).await?;
        tx.commit().await?;
        Ok(view)
    }

    /// The department links the registered entry that fulfils a duty.
    pub async fn link_duty(&self, subject: &Subject, id: &str, resource_id: &str) -> AppResult<DutyView> {
        let mut tx = self.store.write().await?;
        let duty = visible_duty(&mut tx, subject, id).await?;
        authorize(subject, Action::ManageResource { provider_org_id: &duty.org_id })?;
        let resource = match tx.resource(resource_id).await {
            Ok(resource) if resource.provider_org_id == duty.org_id && resource.state.is_registered() => resource,
            Err(error) if !matches!(error, StoreError::NotFound { .. }) => return Err(error.into()),
            _ => {
                return Err(ValidationError::new(
                    "resource_id",
                    format!("`{resource_id}` is not a registered entry of the department responsible"),
                    format!("`{resource_id}` 不是责任部门已登记的数据资源"),
                )
                .into());
            }
        };
        let linked =
            SharingDuty { resource_id: Some(resource.id.clone()), updated_at: self.clock.now(), ..duty.clone() };
        let linked = tx.update_duty(&linked).await?;
        let opinion = format!("{} {}", resource.id, resource.draft.name_zh);
        let step = Step {
            entity_kind: "sharing_duty",
            entity_id: id,
            action: "link",
            from_state: None,
            to_state: None,
            opinion: Some(&opinion),
        };
        self.record(&mut tx, subject, step).await?;
        let view = self.view_duty(&mut tx, subject, linked).await?;
        tx.commit().await?;
        Ok(view)
    }

    /// The duties the caller's departments carry (all, for the bureau and
    /// auditors), by first deadline; only the late ones when `overdue`.
    pub async fn duties(&self, subject: &Subject, overdue: bool) -> AppResult<Vec<DutyView>> {
        if *subject == Subject::Anonymous {
            return Err(AppError::Unauthenticated("this needs an API token"));
        }
        let orgs = visible_orgs(subject);
        let mut tx = self.store.read().await?;
        let duties = tx.duties(orgs.as_deref()).await?;
        let mut views = Vec::with_capacity(duties.len());
        for duty in duties {
            let view = self.view_duty(&mut tx, subject, duty).await?;
            if !overdue || view.overdue {
                views.push(view);
            }
        }
        Ok(views)
    }

    /// One duty with its history.
    pub async fn duty(&self, subject: &Subject, id: &str) -> AppResult<(DutyView, Vec<HistoryEntry>)> {
        let mut tx = self.store.read().await?;
        let duty = visible_duty(&mut tx, subject, id).await?;
        let history = tx.history("sharing_duty", id).await?;
        Ok((self.view_duty(&mut tx, subject, duty).await?, history))
    }
}

async fn visible_duty(tx: &mut Box<dyn Transaction>, subject: &Subject, id: &str) -> AppResult<SharingDuty> {
    let duty = tx.duty(id).await?;
    match visible_orgs(subject) {
        None => Ok(duty),
        Some(orgs) if orgs.contains(&duty.org_id) => Ok(duty),
        Some(_) => Err(AppError::NotFound { entity: "sharing_duty", id: id.to_owned() }),
    }
}
