//! The sharing responsibility list (共享责任清单): what each department
//! must provide to the platform and how often. The bureau lists a duty
//! with its basis, first deadline and update cycle; the department links
//! the catalog entry that fulfils it; from then on every loaded version
//! restarts the clock, and a duty whose next update is late is flagged.

use chrono::{DateTime, Duration, NaiveDate, Utc};

use crate::resource::UpdateCycle;

/// One duty on the list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SharingDuty {
    /// Stable id.
    pub id: String,
    /// The department responsible.
    pub org_id: String,
    /// What it must provide (数据名称).
    pub title: String,
    /// What the data must contain, at what granularity.
    pub description: String,
    /// The law, rule or decision that puts the duty on the department.
    pub basis: String,
    /// How often it must be updated once provided.
    pub update_cycle: UpdateCycle,
    /// The day by which it must first be provided.
    pub first_due: NaiveDate,
    /// The catalog entry that fulfils it, once linked.
    pub resource_id: Option<String>,
    /// Who listed it.
    pub created_by: String,
    /// Listed.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
    /// Optimistic-concurrency counter.
    pub row_version: i64,
}

/// Where a duty stands on a given day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DutyStatus {
    /// Not yet provided (no entry linked, or no data loaded).
    Pending {
        /// The first deadline.
        due: NaiveDate,
    },
    /// Provided; the next update is due then (`None`: irregular or real-time).
    Current {
        /// The day the next version is due.
        next_due: Option<NaiveDate>,
    },
}

impl DutyStatus {
    /// The day something is next due, if any.
    pub fn due(self) -> Option<NaiveDate> {
        match self {
            DutyStatus::Pending { due } => Some(due),
            DutyStatus::Current { next_due } => next_due,
        }
    }

    /// Whether what is due is late on `today`.
    pub fn overdue(self, today: NaiveDate) -> bool {
        self.due().is_some_and(|due| today > due)
    }
}

/// The longest a cycle may run between two versions, in days; `None` for
/// cycles no calendar can check (real-time feeds are watched, not dated;
/// irregular ones have no schedule). Months and years take their longest
/// length so that a version on time is never flagged.
pub fn cycle_days(cycle: UpdateCycle) -> Option<i64> {
    match cycle {
        UpdateCycle::Daily => Some(1),
        UpdateCycle::Weekly => Some(7),
        UpdateCycle::Monthly => Some(31),
        UpdateCycle::Quarterly => Some(92),
        UpdateCycle::SemiAnnual => Some(184),
        UpdateCycle::Annual => Some(366),
        UpdateCycle::Realtime | UpdateCycle::Irregular => None,
    }
}

impl SharingDuty {
    /// Its status, given the day the linked entry's latest version was
    /// loaded (if one was).
    pub fn status(&self, last_version_on: Option<NaiveDate>) -> DutyStatus {
        match (&self.resource_id, last_version_on) {
            (Some(_), Some(last)) => {
                DutyStatus::Current { next_due: cycle_days(self.update_cycle).map(|days| last + Duration::days(days)) }
            }
            _ => DutyStatus::Pending { due: self.first_due },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn duty(cycle: UpdateCycle, linked: bool) -> SharingDuty {
        let at = DateTime::<Utc>::from_timestamp(0, 0).expect("valid");
        SharingDuty {
            id: "d".into(),
            org_id: "mz".into(),
            title: "村（社区）名录".into(),
            description: String::new(),
            basis: "共享责任清单".into(),
            update_cycle: cycle,
            first_due: NaiveDate::from_ymd_opt(2026, 3, 31).expect("valid"),
            resource_id: linked.then(|| "r".into()),
            created_by: "u".into(),
            created_at: at,
            updated_at: at,
            row_version: 1,
        }
    }

    #[test]
    fn a_duty_is_late_when_its_data_is_not_provided_or_not_updated_in_its_cycle() {
        let day = |d| NaiveDate::from_ymd_opt(2026, 4, d).expect("valid");
        let pending = duty(UpdateCycle::Monthly, false).status(None);
        assert!(pending.overdue(day(1)));
        let linked_but_empty = duty(UpdateCycle::Monthly, true).status(None);
        assert_eq!(linked_but_empty, DutyStatus::Pending { due: day(1).pred_opt().expect("valid") });
        let monthly = duty(UpdateCycle::Monthly, true).status(Some(day(1)));
        assert_eq!(monthly.due(), NaiveDate::from_ymd_opt(2026, 5, 2));
        assert!(!monthly.overdue(NaiveDate::from_ymd_opt(2026, 5, 2).expect("valid")));
        assert!(monthly.overdue(NaiveDate::from_ymd_opt(2026, 5, 3).expect("valid")));
        assert!(!duty(UpdateCycle::Irregular, true).status(Some(day(1))).overdue(day(30)));
    }
}
