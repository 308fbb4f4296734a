//! Supervision (ADR 0015): emergency freezes and their release, the
//! monitor that turns usage into alerts, exemptions from the data tracker,
//! the tracker itself and the bureau's overview. Every change is a history
//! step, so the ledger carries it.

use std::collections::{BTreeMap, HashMap};

use chrono::{Duration, NaiveDate};
use gongshu_domain::supervision::{
    self, Alert, AlertState, Finding, Freeze, FreezeTarget, MonitorRules, TrackerExemption,
};
use gongshu_domain::{UsageEvent, ValidationError};
use gongshu_metadata::{Announcement, DailyUsage, StoreError, Transaction, UsageDimension};
use gongshu_policy::{Action, Subject};

use crate::{App, AppError, AppResult, FREEZE_PREFIX, Step, Stop, actor_id, authorize, new_id, system_subject};

/// Day, grant, organization, resource, purpose, mode, allowed: one daily total.
type DailyKey = (NaiveDate, String, String, String, String, String, bool);

/// Usage events the monitor reads per pass.
const MONITOR_BATCH: i64 = 5_000;
/// Ledger entries before the cursor read again, so that a burst spanning
/// two passes is still seen whole (alerts are raised once per episode).
const MONITOR_OVERLAP: i64 = 200;

/// One row of the public data tracker: who used a resource, under which
/// grant and purpose, on which day, how often.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrackerRow {
    /// The local day.
    pub day: NaiveDate,
    /// The organization that used it.
    pub org_id: String,
    /// Its name.
    pub org_name: String,
    /// The grant.
    pub grant_id: String,
    /// The stated purpose.
    pub purpose: String,
    /// How (`query`, `download`, `aggregate`, `verify`).
    pub mode: String,
    /// Number of reads.
    pub reads: i64,
    /// Rows that left.
    pub rows_out: i64,
    /// A usage event of that day, whose ledger entry anyone can check.
    pub sample_seq: i64,
}

/// What the tracker shows for a resource.
#[derive(Debug, Clone)]
pub struct Tracker {
    /// Uses, newest day first.
    pub rows: Vec<TrackerRow>,
    /// Days a use waits before it is shown.
    pub delay_days: u32,
    /// Exemptions in force (the grant and until when; the reason is in the ledger).
    pub exemptions: Vec<TrackerExemption>,
}

/// The bureau's overview.
#[derive(Debug, Clone)]
pub struct Overview {
    /// Daily totals of the last `days` days.
    pub daily: Vec<DailyUsage>,
    /// Refused reads, newest first.
    pub denials: Vec<UsageEvent>,
    /// Alerts not closed, newest first.
    pub alerts: Vec<Alert>,
    /// Every freeze, newest first.
    pub freezes: Vec<Freeze>,
    /// Grants in force that end within 30 days: (grant id, grantee, end).
    pub expiring: Vec<(String, String, NaiveDate)>,
}

fn required(field: &str, value: &str) -> AppResult<()> {
    if value.trim().is_empty() {
        return Err(ValidationError {
            field: field.into(),
            message_en: format!("`{field}` is required: say why"),
            message_zh: format!("`{field}` 必填，请说明理由"),
        }
        .into());
    }
    Ok(())
}

impl App {
    /// Freezes a resource, grant, user or organization at once: new reads
    /// are refused from the commit on, and reads under way on this server
    /// stop.
    pub async fn freeze(
        &self,
        subject: &Subject,
        target: FreezeTarget,
        target_id: &str,
        reason: &str,
        alert_id: Option<&str>,
    ) -> AppResult<Freeze> {
        authorize(subject, Action::Intervene)?;
        required("reason", reason)?;
        let mut tx = self.store.write().await?;
        // The target must exist: a freeze of a typo protects nothing.
        match target {
            FreezeTarget::Resource => drop(tx.resource(target_id).await?),
            FreezeTarget::Grant => drop(tx.grant(target_id).await?),
            FreezeTarget::User => drop(tx.user(target_id).await?),
            FreezeTarget::Organization => drop(tx.organization(target_id).await?),
        }
        if let Some(alert_id) = alert_id {
            tx.alert(alert_id).await?;
        }
        if !tx.active_freezes(&[(target, target_id.to_owned())]).await?.is_empty() {
            return Err(AppError::conflict(
                format!("{} `{target_id}` is frozen already", target.code()),
                format!("{}「{target_id}」已处于冻结状态", target.label_zh()),
            ));
        }
        let freeze = Freeze {
            id: new_id(),
            target,
            target_id: target_id.to_owned(),
            reason: reason.trim().to_owned(),
            frozen_by: actor_id(subject).unwrap_or_default(),
            frozen_at: self.clock.now(),
            alert_id: alert_id.map(str::to_owned),
            released_by: None,
            released_at: None,
            release_decision: None,
            row_version: 1,
        };
        match tx.insert_freeze(&freeze).await {
            Err(StoreError::Duplicate(_)) => {
                return Err(AppError::conflict(
                    format!("{} `{target_id}` is frozen already", target.code()),
                    format!("{}「{target_id}」已处于冻结状态", target.label_zh()),
                ));
            }
            other => other?,
        }
        // The ledger commits to what is frozen; a person only by pseudonym.
        let shown = if target == FreezeTarget::User { tx.pseudonym(target_id).await? } else { target_id.to_owned() };
        let state = format!("active:{}:{shown}", target.code());
        let step = Step {
            entity_kind: "freeze",
            entity_id: &freeze.id,
            action: "freeze",
            from_state: None,
            to_state: Some(&state),
            opinion: Some(&freeze.reason),
        };
        self.record(&mut tx, subject, step).await?;
        self.commit_with_stops(tx, &[Stop::Freeze { key: freeze_key(target, target_id) }]).await?;
        Ok(freeze)
    }

    /// Releases a freeze with the recorded decision.
    pub async fn release_freeze(&self, subject: &Subject, id: &str, decision: &str) -> AppResult<Freeze> {
        authorize(subject, Action::Intervene)?;
        required("decision", decision)?;
        let mut tx = self.store.write().await?;
        let mut freeze = tx.freeze(id).await?;
        if !freeze.is_active() {
            return Err(AppError::conflict("the freeze was released already", "该冻结已解除"));
        }
        freeze.released_by = actor_id(subject);
        freeze.released_at = Some(self.clock.now());
        freeze.release_decision = Some(decision.trim().to_owned());
        let freeze = tx.release_freeze(&freeze).await?;
        let step = Step {
            entity_kind: "freeze",
            entity_id: &freeze.id,
            action: "release",
            from_state: Some("active"),
            to_state: Some("released"),
            opinion: freeze.release_decision.as_deref(),
        };
        self.record(&mut tx, subject, step).await?;
        tx.commit().await?;
        Ok(freeze)
    }

    /// Every freeze, for the bureau and auditors.
    pub async fn freezes(&self, subject: &Subject) -> AppResult<Vec<Freeze>> {
        authorize(subject, Action::Supervise)?;
        let mut tx = self.store.read().await?;
        Ok(tx.freezes().await?)
    }

    /// The first active freeze that stops this read, if any.
    pub(crate) async fn freeze_stopping(
        &self,
        tx: &mut Box<dyn Transaction>,
        subject: &Subject,
        resource_id: &str,
        grant_id: Option<&str>,
    ) -> AppResult<Option<Freeze>> {
        let targets = read_targets(subject, resource_id, grant_id);
        Ok(tx.active_freezes(&targets).await?.into_iter().next())
    }

    /// Hears what the other servers on the same database stop (grants
    /// suspended, revoked or resumed, freezes) and stops the reads under way
    /// here too. Runs for the life of the server; where a database serves
    /// one server (SQLite) it returns at once. When the connection drops it
    /// listens anew, then reads from the records what it may have missed.
    pub async fn follow_other_servers(&self) {
        use std::time::{Duration, Instant};
        // A connection that lasted reconnects at once; one that keeps
        // dropping waits longer each time, so it cannot spin.
        const LASTED: Duration = Duration::from_secs(30);
        const QUIET: Duration = Duration::from_secs(60);
        let mut retry = Duration::ZERO;
        loop {
            let listening_since = Instant::now();
            let outcome: AppResult<()> = match self.store.announcements().await {
                Ok(None) => return,
                Ok(Some(mut heard)) => {
                    async {
                        // What was announced before this listened is in the
                        // records: read them only now, so nothing falls between.
                        self.recheck_reads_under_way().await?;
                        loop {
                            let Ok(next) = tokio::time::timeout(QUIET, heard.next()).await else {
                                // Quiet for a while: make sure someone is still there.
                                match tokio::time::timeout(Duration::from_secs(10), heard.ping()).await {
                                    Ok(Ok(())) => continue,
                                    _ => return Err(AppError::Internal("the connection stopped answering".into())),
                                }
                            };
                            match next? {
                                Announcement::Message(message) => {
                                    if let Some(stop) = Stop::parse(&message) {
                                        self.apply_stop(&stop).await?;
                                    }
                                }
                                Announcement::Gap => {
                                    return Err(AppError::Internal("the connection dropped".into()));
                                }
                            }
                        }
                    }
                    .await
                }
                Err(error) => Err(error.into()),
            };
            if let Err(error) = outcome {
                if listening_since.elapsed() >= LASTED {
                    retry = Duration::ZERO;
                }
                tracing::warn!(%error, "lost the other servers' announcements; listening again in {} s", retry.as_secs());
                tokio::time::sleep(retry).await;
                retry = (retry * 2).clamp(Duration::from_secs(1), Duration::from_secs(60));
            }
        }
    }

    /// Stops the reads under way whose grant is out of force or that a
    /// freeze now covers, and clears grants back in force, from the records.
    async fn recheck_reads_under_way(&self) -> AppResult<()> {
        let mut tx = self.store.read().await?;
        for key in self.grant_watch.to_recheck() {
            match key.strip_prefix(FREEZE_PREFIX).and_then(|rest| rest.split_once(':')) {
                Some((target, id)) => {
                    let Ok(target) = FreezeTarget::parse("target", target) else { continue };
                    if !tx.active_freezes(&[(target, id.to_owned())]).await?.is_empty() {
                        self.grant_watch.pulse(&key);
                    }
                }
                None => self.apply_stop(&Stop::Grant { id: key }).await?,
            }
        }
        Ok(())
    }

    /// The keys of the stop channels a read under way listens to.
    pub(crate) fn freeze_keys(subject: &Subject, resource_id: &str, grant_id: Option<&str>) -> Vec<String> {
        read_targets(subject, resource_id, grant_id).into_iter().map(|(t, id)| freeze_key(t, &id)).collect()
    }

    /// Reads the usage the ledger recorded since the last pass, in the
    /// ledger's order (so an event that committed late on PostgreSQL is not
    /// skipped): adds decisions to the daily totals and raises the alerts
    /// the rules find, each once, with its evidence and a history step.
    /// A read's outcome (the bytes of a download) is read when it arrives,
    /// so the night-time bulk rule sees it. Answers the alerts raised.
    pub async fn scan_usage(&self) -> AppResult<Vec<Alert>> {
        self.integrate_ledger().await?;
        let rules = MonitorRules::default();
        let offset = self.rules.utc_offset;
        // The operation rules read records, not usage events: revenue
        // against the maximum and disclosures past the end of March.
        let mut raised = self.check_revenue().await?;
        raised.extend(self.check_disclosures().await?);
        loop {
            let mut tx = self.store.write().await?;
            let cursor = tx.monitor_cursor().await?;
            let read = tx.usage_in_ledger_after(cursor - MONITOR_OVERLAP, MONITOR_BATCH + MONITOR_OVERLAP).await?;
            let Some(last) = read.last().map(|r| r.index).filter(|&last| last > cursor) else {
                return Ok(raised);
            };
            let fresh: Vec<&UsageEvent> =
                read.iter().filter(|r| r.index > cursor && !r.outcome).map(|r| &r.event).collect();
            // The rules see decisions and, for the bulk rule, outcomes: an
            // episode is raised once whichever of them shows it.
            let context: Vec<UsageEvent> = read.iter().map(|r| r.event.clone()).collect();
            let mut totals: BTreeMap<DailyKey, DailyUsage> = BTreeMap::new();
            for event in &fresh {
                let day = event.at.with_timezone(&offset).date_naive();
                let key = (
                    day,
                    event.grant_id.clone().unwrap_or_default(),
                    event.org_id.clone().unwrap_or_default(),
                    event.resource_id.clone(),
                    event.purpose.clone().unwrap_or_default(),
                    event.mode.code().to_owned(),
                    event.allowed,
                );
                let row = totals.entry(key).or_insert_with(|| DailyUsage {
                    day,
                    grant_id: event.grant_id.clone(),
                    org_id: event.org_id.clone(),
                    resource_id: event.resource_id.clone(),
                    purpose: event.purpose.clone(),
                    mode: event.mode.code().to_owned(),
                    allowed: event.allowed,
                    reads: 0,
                    rows_out: 0,
                    first_seq: event.seq,
                    last_seq: event.seq,
                });
                row.reads += 1;
                row.rows_out += event.rows_out.unwrap_or(0);
                row.first_seq = row.first_seq.min(event.seq);
                row.last_seq = row.last_seq.max(event.seq);
            }
            let totals: Vec<DailyUsage> = totals.into_values().collect();
            tx.add_daily_usage(&totals).await?;

            let mut findings = supervision::scan(&context, &rules, offset);
            let grant_days: std::collections::BTreeSet<(String, NaiveDate)> = totals
                .iter()
                .filter(|r| r.allowed)
                .filter_map(|r| r.grant_id.clone().map(|grant| (grant, r.day)))
                .collect();
            for (grant, day) in grant_days {
                let since = day - Duration::days(rules.baseline_days);
                let rows = tx.daily_usage(since, day, &UsageDimension::Grants(vec![grant.clone()])).await?;
                let mut per_day: BTreeMap<NaiveDate, i64> = BTreeMap::new();
                for row in rows.iter().filter(|r| r.allowed) {
                    *per_day.entry(row.day).or_default() += row.reads;
                }
                let today = per_day.remove(&day).unwrap_or(0);
                let baseline: Vec<i64> = per_day.into_values().collect();
                if let Some(mut finding) = supervision::volume_spike(&grant, day, today, &baseline, &rules) {
                    let grant_record = tx.grant(&grant).await?;
                    finding.org_id = Some(grant_record.grantee_org_id.clone());
                    finding.evidence = fresh
                        .iter()
                        .filter(|e| {
                            e.grant_id.as_deref() == Some(grant.as_str())
                                && e.at.with_timezone(&offset).date_naive() == day
                        })
                        .map(|e| e.seq)
                        .take(50)
                        .collect();
                    findings.push(finding);
                }
            }
            for finding in findings {
                raised.extend(self.raise_alert(&mut tx, finding).await?);
            }
            match tx.advance_monitor(cursor, last).await {
                Ok(()) => tx.commit().await?,
                // Another server scanned the same events; its pass stands.
                Err(StoreError::Stale { .. }) => return Ok(raised),
                Err(error) => return Err(error.into()),
            }
        }
    }

    /// Raises the alert of a finding, with its history step, unless the
    /// same episode raised one already.
    pub(crate) async fn raise_alert(
        &self,
        tx: &mut Box<dyn Transaction>,
        finding: Finding,
    ) -> AppResult<Option<Alert>> {
        if tx.alert_raised(&finding.dedup_key).await? {
            return Ok(None);
        }
        let alert = Alert {
            id: new_id(),
            rule: finding.rule,
            dedup_key: finding.dedup_key,
            grant_id: finding.grant_id,
            resource_id: finding.resource_id,
            user_id: finding.user_id,
            org_id: finding.org_id,
            summary_en: finding.summary_en,
            summary_zh: finding.summary_zh,
            evidence: finding.evidence,
            raised_at: self.clock.now(),
            state: AlertState::Open,
            handled_by: None,
            note: None,
            row_version: 1,
        };
        tx.insert_alert(&alert).await?;
        let step = Step {
            entity_kind: "alert",
            entity_id: &alert.id,
            action: alert.rule.code(),
            from_state: None,
            to_state: Some("open"),
            opinion: Some(&alert.summary_zh),
        };
        self.record(tx, &system_subject(), step).await?;
        Ok(Some(alert))
    }

    /// Acknowledges or closes an alert with a note.
    pub async fn handle_alert(&self, subject: &Subject, id: &str, state: AlertState, note: &str) -> AppResult<Alert> {
        authorize(subject, Action::Intervene)?;
        if state == AlertState::Closed {
            required("note", note)?;
        }
        let mut tx = self.store.write().await?;
        let mut alert = tx.alert(id).await?;
        let allowed = matches!(
            (alert.state, state),
            (AlertState::Open, AlertState::Acknowledged)
                | (AlertState::Open | AlertState::Acknowledged, AlertState::Closed)
        );
        if !allowed {
            return Err(AppError::conflict(
                format!("an alert that is {} cannot become {}", alert.state.code(), state.code()),
                format!("预警当前为「{}」，不能改为「{}」", alert.state.label_zh(), state.label_zh()),
            ));
        }
        let from = alert.state;
        alert.state = state;
        alert.handled_by = actor_id(subject);
        alert.note = (!note.trim().is_empty()).then(|| note.trim().to_owned()).or(alert.note);
        let alert = tx.update_alert(&alert).await?;
        let step = Step {
            entity_kind: "alert",
            entity_id: &alert.id,
            action: if state == AlertState::Closed { "close" } else { "acknowledge" },
            from_state: Some(from.code()),
            to_state: Some(state.code()),
            opinion: alert.note.as_deref(),
        };
        self.record(&mut tx, subject, step).await?;
        tx.commit().await?;
        Ok(alert)
    }

    /// Alerts, newest first.
    pub async fn alerts(&self, subject: &Subject, open_only: bool) -> AppResult<Vec<Alert>> {
        authorize(subject, Action::Supervise)?;
        self.scan_usage().await?;
        let mut tx = self.store.read().await?;
        Ok(tx.alerts(open_only, 200).await?)
    }

    /// One alert.
    pub async fn alert(&self, subject: &Subject, id: &str) -> AppResult<Alert> {
        authorize(subject, Action::Supervise)?;
        let mut tx = self.store.read().await?;
        Ok(tx.alert(id).await?)
    }

    /// Holds a grant's uses back from the public tracker until `until`.
    pub async fn exempt_from_tracker(
        &self,
        subject: &Subject,
        grant_id: &str,
        reason: &str,
        until: NaiveDate,
    ) -> AppResult<TrackerExemption> {
        authorize(subject, Action::Intervene)?;
        required("reason", reason)?;
        if until < self.today() {
            return Err(ValidationError {
                field: "until".into(),
                message_en: "an exemption ends today or later".into(),
                message_zh: "豁免截止日期不能早于今天".into(),
            }
            .into());
        }
        let mut tx = self.store.write().await?;
        tx.grant(grant_id).await?;
        let exemption = TrackerExemption {
            id: new_id(),
            grant_id: grant_id.to_owned(),
            reason: reason.trim().to_owned(),
            until,
            created_by: actor_id(subject).unwrap_or_default(),
            created_at: self.clock.now(),
        };
        tx.insert_exemption(&exemption).await?;
        let until_text = format!("{grant_id} until {until}");
        let step = Step {
            entity_kind: "tracker_exemption",
            entity_id: &exemption.id,
            action: "exempt",
            from_state: None,
            to_state: Some(&until_text),
            opinion: Some(&exemption.reason),
        };
        self.record(&mut tx, subject, step).await?;
        tx.commit().await?;
        Ok(exemption)
    }

    /// The public data tracker of one published resource: uses under
    /// grants older than the delay, without the exempted grants' uses
    /// until their exemption ends.
    pub async fn data_tracker(&self, subject: &Subject, resource_id: &str) -> AppResult<Tracker> {
        // Read-only: the monitor's pass (every minute in `serve`) keeps the
        // daily totals this reads; a public page never writes.
        let mut tx = self.store.read().await?;
        self.visible_resource(&mut tx, subject, resource_id).await?;
        let today = self.today();
        let delay = self.ledger.tracker_delay_days;
        let newest = today - Duration::days(i64::from(delay));
        // Only the exemptions of grants on this resource: the others are
        // none of this page's business.
        let mut exemptions: Vec<TrackerExemption> = Vec::new();
        for exemption in tx.exemptions().await?.into_iter().filter(|e| e.until >= today) {
            let grant = tx.grant(&exemption.grant_id).await?;
            if grant.resources.iter().any(|r| r.resource_id == resource_id) {
                exemptions.push(exemption);
            }
        }
        let rows = tx.daily_usage(NaiveDate::MIN, newest, &UsageDimension::Resource(resource_id.to_owned())).await?;
        let orgs: HashMap<String, String> =
            tx.organizations().await?.into_iter().map(|org| (org.id, org.name_zh)).collect();
        let mut shown: Vec<TrackerRow> = rows
            .into_iter()
            .filter(|r| r.allowed)
            .filter_map(|r| {
                let grant_id = r.grant_id?;
                if exemptions.iter().any(|e| e.grant_id == grant_id) {
                    return None;
                }
                let org_id = r.org_id.unwrap_or_default();
                Some(TrackerRow {
                    day: r.day,
                    org_name: orgs.get(&org_id).cloned().unwrap_or_else(|| org_id.clone()),
                    org_id,
                    grant_id,
                    purpose: r.purpose.unwrap_or_default(),
                    mode: r.mode,
                    reads: r.reads,
                    rows_out: r.rows_out,
                    sample_seq: r.first_seq,
                })
            })
            .collect();
        shown.sort_by(|a, b| b.day.cmp(&a.day).then_with(|| a.org_name.cmp(&b.org_name)));
        Ok(Tracker { rows: shown, delay_days: delay, exemptions })
    }

    /// The bureau's overview of the last `days` days.
    pub async fn supervision(&self, subject: &Subject, days: i64) -> AppResult<Overview> {
        authorize(subject, Action::Supervise)?;
        self.scan_usage().await?;
        let mut tx = self.store.read().await?;
        let today = self.today();
        let daily = tx.daily_usage(today - Duration::days(days - 1), today, &UsageDimension::All).await?;
        let filter = gongshu_metadata::UsageFilter { allowed: Some(false), limit: 50, ..Default::default() };
        let denials = tx.usage_events(&filter).await?.items;
        let alerts = tx.alerts(true, 200).await?;
        let freezes = tx.freezes().await?;
        let soon = today + Duration::days(30);
        let expiring = tx
            .grants(&gongshu_metadata::GrantFilter::default())
            .await?
            .into_iter()
            .filter(|g| g.in_force(self.clock.now()).is_ok())
            .filter_map(|g| {
                let end = g.valid_until.with_timezone(&self.rules.utc_offset).date_naive();
                (end <= soon).then_some((g.id, g.grantee_org_id, end))
            })
            .collect();
        Ok(Overview { daily, denials, alerts, freezes, expiring })
    }
}

fn read_targets(subject: &Subject, resource_id: &str, grant_id: Option<&str>) -> Vec<(FreezeTarget, String)> {
    let mut targets = vec![(FreezeTarget::Resource, resource_id.to_owned())];
    if let Some(grant_id) = grant_id {
        targets.push((FreezeTarget::Grant, grant_id.to_owned()));
    }
    if let Subject::User { user_id, memberships, .. } = subject {
        targets.push((FreezeTarget::User, user_id.clone()));
        targets.extend(memberships.iter().map(|m| (FreezeTarget::Organization, m.org_id.clone())));
    }
    targets
}

/// The stop channel of a frozen target (beside the grants' own channels).
pub(crate) fn freeze_key(target: FreezeTarget, id: &str) -> String {
    format!("{FREEZE_PREFIX}{}:{id}", target.code())
}
