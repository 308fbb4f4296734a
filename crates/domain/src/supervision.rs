//! Supervision on top of the usage record: emergency freezes (应急处置),
//! the monitoring rules that raise alerts (监测预警), and exemptions from
//! the public data tracker.
//!
//! The rules are plain functions over usage events, so each scenario is a
//! unit test; the application feeds them the events since its last scan
//! and stores what they raise.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Duration, FixedOffset, NaiveDate, Timelike, Utc};

use crate::codes::code_enum;
use crate::grant::{AccessMode, UsageEvent};

code_enum! {
    /// What a freeze stops.
    pub enum FreezeTarget {
        /// Every read of one resource, open data included.
        Resource = ("resource", "数据资源"),
        /// Every read under one grant.
        Grant = ("grant", "授权"),
        /// Every read by one user.
        User = ("user", "用户"),
        /// Every read by the members of one organization.
        Organization = ("organization", "单位"),
    }
}

/// An emergency freeze: reads of its target stop at once, until a recorded
/// decision releases it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Freeze {
    /// Stable id.
    pub id: String,
    /// What kind of thing is frozen.
    pub target: FreezeTarget,
    /// Its id.
    pub target_id: String,
    /// Why (required).
    pub reason: String,
    /// Who froze it.
    pub frozen_by: String,
    /// When.
    pub frozen_at: DateTime<Utc>,
    /// The alert that prompted it, if one did.
    pub alert_id: Option<String>,
    /// Who released it.
    pub released_by: Option<String>,
    /// When.
    pub released_at: Option<DateTime<Utc>>,
    /// The decision that released it (required to release).
    pub release_decision: Option<String>,
    /// Optimistic-concurrency counter.
    pub row_version: i64,
}

impl Freeze {
    /// Whether it still stops reads.
    pub fn is_active(&self) -> bool {
        self.released_at.is_none()
    }
}

code_enum! {
    /// The monitoring rules.
    pub enum AlertRule {
        /// 用量突增: a grant's reads in a day far above its usual days.
        VolumeSpike = ("volume_spike", "用量突增"),
        /// 反复被拒: one subject refused again and again.
        RepeatedDenials = ("repeated_denials", "反复被拒"),
        /// 小群体探查: many narrow aggregate queries that single out small groups.
        SmallGroupProbe = ("small_group_probe", "小群体探查"),
        /// 非工作时间批量下载: a large download at night.
        OffHoursBulk = ("off_hours_bulk", "非工作时间批量下载"),
        /// 授权期满后访问: reads tried under a grant whose term has ended.
        AfterTerm = ("after_term", "授权期满后访问"),
        /// 超最高准许收入: an operator's fees of a year above its maximum.
        RevenueOverCeiling = ("revenue_over_ceiling", "超最高准许收入"),
        /// 信息披露逾期: a yearly disclosure not published by the end of March.
        DisclosureOverdue = ("disclosure_overdue", "信息披露逾期"),
    }
}

code_enum! {
    /// Where an alert stands.
    pub enum AlertState {
        /// 待处置.
        Open = ("open", "待处置"),
        /// 已确认: someone is looking at it.
        Acknowledged = ("acknowledged", "已确认"),
        /// 已关闭: handled, with a note.
        Closed = ("closed", "已关闭"),
    }
}

/// A raised alert with its evidence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alert {
    /// Stable id.
    pub id: String,
    /// Which rule.
    pub rule: AlertRule,
    /// What it is about, so one episode raises one alert: the rule, the
    /// subject or grant, and the day.
    pub dedup_key: String,
    /// The grant concerned, if any.
    pub grant_id: Option<String>,
    /// The resource concerned, if any.
    pub resource_id: Option<String>,
    /// The user concerned, if any.
    pub user_id: Option<String>,
    /// The organization concerned, if any.
    pub org_id: Option<String>,
    /// What was seen, in English.
    pub summary_en: String,
    /// What was seen, in Chinese.
    pub summary_zh: String,
    /// The usage events that are the evidence.
    pub evidence: Vec<i64>,
    /// When it was raised.
    pub raised_at: DateTime<Utc>,
    /// Where it stands.
    pub state: AlertState,
    /// Who handled it last.
    pub handled_by: Option<String>,
    /// The handler's note.
    pub note: Option<String>,
    /// Optimistic-concurrency counter.
    pub row_version: i64,
}

/// An exemption of a grant's uses from the public data tracker: for
/// investigations and security work, recorded in the ledger with its
/// reason and end, as Estonia's Data Tracker does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrackerExemption {
    /// Stable id.
    pub id: String,
    /// The grant whose uses are held back.
    pub grant_id: String,
    /// The legal ground.
    pub reason: String,
    /// The last day it holds; its uses appear after that.
    pub until: NaiveDate,
    /// Who granted it.
    pub created_by: String,
    /// When.
    pub created_at: DateTime<Utc>,
}

/// The thresholds of the monitoring rules.
#[derive(Debug, Clone)]
pub struct MonitorRules {
    /// Refusals of one subject within the window that raise an alert.
    pub denials: usize,
    /// The window for refusals and probes.
    pub window: Duration,
    /// Aggregate queries of one subject on one grant, each returning
    /// fewer than `probe_rows` groups, within the window.
    pub probe_queries: usize,
    /// "Narrow": at most this many groups returned.
    pub probe_rows: i64,
    /// Rows of one download that count as bulk.
    pub bulk_rows: i64,
    /// Bytes of one download that count as bulk.
    pub bulk_bytes: i64,
    /// Local night: from this hour …
    pub night_from: u32,
    /// … until this hour.
    pub night_until: u32,
    /// A day's reads above this multiple of the usual day's are a spike …
    pub spike_factor: i64,
    /// … when they are at least this many.
    pub spike_minimum: i64,
    /// Days of history that make "usual".
    pub baseline_days: i64,
}

impl Default for MonitorRules {
    fn default() -> Self {
        MonitorRules {
            denials: 5,
            window: Duration::minutes(10),
            probe_queries: 8,
            probe_rows: 3,
            bulk_rows: 10_000,
            bulk_bytes: 10 * 1024 * 1024,
            night_from: 22,
            night_until: 6,
            spike_factor: 5,
            spike_minimum: 20,
            baseline_days: 28,
        }
    }
}

/// An alert the rules found, before it is stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// The rule.
    pub rule: AlertRule,
    /// One episode, one alert.
    pub dedup_key: String,
    /// The grant, if any.
    pub grant_id: Option<String>,
    /// The resource, if any.
    pub resource_id: Option<String>,
    /// The user, if any.
    pub user_id: Option<String>,
    /// The organization, if any.
    pub org_id: Option<String>,
    /// English.
    pub summary_en: String,
    /// Chinese.
    pub summary_zh: String,
    /// Evidence.
    pub evidence: Vec<i64>,
}

/// Runs every rule except the spike over `events` (oldest first), in the
/// jurisdiction's `offset` for the night.
pub fn scan(events: &[UsageEvent], rules: &MonitorRules, offset: FixedOffset) -> Vec<Finding> {
    let mut found = Vec::new();
    found.extend(repeated_denials(events, rules));
    found.extend(small_group_probes(events, rules));
    found.extend(off_hours_bulk(events, rules, offset));
    found.extend(after_term(events, offset));
    found
}

fn day_of(at: DateTime<Utc>, offset: FixedOffset) -> NaiveDate {
    at.with_timezone(&offset).date_naive()
}

/// Windows of at least `count` events of one key within `window`.
fn bursts<'a>(
    events: impl Iterator<Item = (&'a UsageEvent, String)>,
    count: usize,
    window: Duration,
) -> Vec<(String, Vec<&'a UsageEvent>)> {
    let mut by_key: BTreeMap<String, Vec<&UsageEvent>> = BTreeMap::new();
    for (event, key) in events {
        by_key.entry(key).or_default().push(event);
    }
    let mut out = Vec::new();
    for (key, list) in by_key {
        let mut start = 0;
        for end in 0..list.len() {
            while list[end].at - list[start].at > window {
                start += 1;
            }
            if end + 1 - start >= count {
                out.push((key, list[start..=end].to_vec()));
                break;
            }
        }
    }
    out
}

fn repeated_denials(events: &[UsageEvent], rules: &MonitorRules) -> Vec<Finding> {
    let denied = events.iter().filter(|e| !e.allowed).filter_map(|e| e.user_id.clone().map(|user| (e, user)));
    bursts(denied, rules.denials, rules.window)
        .into_iter()
        .map(|(user, list)| {
            let first = list[0];
            let minutes = rules.window.num_minutes();
            Finding {
                rule: AlertRule::RepeatedDenials,
                dedup_key: format!("repeated_denials:{user}:{}", first.at.format("%Y-%m-%dT%H")),
                grant_id: None,
                resource_id: Some(first.resource_id.clone()),
                user_id: Some(user),
                org_id: first.org_id.clone(),
                summary_en: format!("{} refused reads within {minutes} minutes by one user", list.len()),
                summary_zh: format!("同一用户 {minutes} 分钟内被拒绝 {} 次", list.len()),
                evidence: list.iter().map(|e| e.seq).collect(),
            }
        })
        .collect()
}

fn small_group_probes(events: &[UsageEvent], rules: &MonitorRules) -> Vec<Finding> {
    let narrow = events.iter().filter(|e| {
        e.allowed
            && e.mode == AccessMode::Aggregate
            && e.grant_id.is_some()
            && e.rows_out.is_some_and(|rows| rows <= rules.probe_rows)
    });
    // Distinct questions only: asking the same thing again reveals nothing new.
    let mut seen = BTreeSet::new();
    let distinct = narrow.filter(|e| seen.insert((e.user_id.clone(), e.grant_id.clone(), e.query_fingerprint.clone())));
    let keyed = distinct
        .map(|e| (e, format!("{}|{}", e.user_id.as_deref().unwrap_or("public"), e.grant_id.as_deref().unwrap_or(""))));
    bursts(keyed, rules.probe_queries, rules.window)
        .into_iter()
        .map(|(key, list)| {
            let first = list[0];
            Finding {
                rule: AlertRule::SmallGroupProbe,
                dedup_key: format!("small_group_probe:{key}:{}", first.at.format("%Y-%m-%dT%H")),
                grant_id: first.grant_id.clone(),
                resource_id: Some(first.resource_id.clone()),
                user_id: first.user_id.clone(),
                org_id: first.org_id.clone(),
                summary_en: format!(
                    "{} different aggregate queries, each returning at most {} groups, within {} minutes",
                    list.len(),
                    rules.probe_rows,
                    rules.window.num_minutes()
                ),
                summary_zh: format!(
                    "{} 分钟内 {} 次不同的统计查询，每次最多返回 {} 组，疑似针对小群体的探查",
                    rules.window.num_minutes(),
                    list.len(),
                    rules.probe_rows
                ),
                evidence: list.iter().map(|e| e.seq).collect(),
            }
        })
        .collect()
}

fn off_hours_bulk(events: &[UsageEvent], rules: &MonitorRules, offset: FixedOffset) -> Vec<Finding> {
    events
        .iter()
        .filter(|e| e.allowed && e.mode == AccessMode::Download)
        .filter(|e| {
            e.rows_out.is_some_and(|r| r >= rules.bulk_rows) || e.bytes_out.is_some_and(|b| b >= rules.bulk_bytes)
        })
        .filter(|e| {
            let hour = e.at.with_timezone(&offset).hour();
            hour >= rules.night_from || hour < rules.night_until
        })
        .map(|e| {
            let local = e.at.with_timezone(&offset).format("%Y-%m-%d %H:%M");
            let amount = match (e.rows_out, e.bytes_out) {
                (Some(rows), _) => format!("{rows} rows"),
                (None, Some(bytes)) => format!("{bytes} bytes"),
                (None, None) => String::new(),
            };
            Finding {
                rule: AlertRule::OffHoursBulk,
                dedup_key: format!("off_hours_bulk:{}", e.seq),
                grant_id: e.grant_id.clone(),
                resource_id: Some(e.resource_id.clone()),
                user_id: e.user_id.clone(),
                org_id: e.org_id.clone(),
                summary_en: format!("a download of {amount} at {local}, outside working hours"),
                summary_zh: format!(
                    "非工作时间（{local}）批量下载：{}",
                    amount.replace(" rows", " 行").replace(" bytes", " 字节")
                ),
                evidence: vec![e.seq],
            }
        })
        .collect()
}

fn after_term(events: &[UsageEvent], offset: FixedOffset) -> Vec<Finding> {
    // The gateway records a refusal under an ended grant as `expired:<grant>`.
    let mut by_grant: BTreeMap<(String, NaiveDate), Vec<&UsageEvent>> = BTreeMap::new();
    for event in events.iter().filter(|e| !e.allowed) {
        if let Some(grant) = event.reason.as_deref().and_then(|r| r.strip_prefix("expired:")) {
            by_grant.entry((grant.to_owned(), day_of(event.at, offset))).or_default().push(event);
        }
    }
    by_grant
        .into_iter()
        .map(|((grant, day), list)| Finding {
            rule: AlertRule::AfterTerm,
            dedup_key: format!("after_term:{grant}:{day}"),
            grant_id: Some(grant),
            resource_id: Some(list[0].resource_id.clone()),
            user_id: list[0].user_id.clone(),
            org_id: list[0].org_id.clone(),
            summary_en: format!("{} reads tried after the grant's term ended", list.len()),
            summary_zh: format!("授权期满后仍尝试访问 {} 次", list.len()),
            evidence: list.iter().map(|e| e.seq).collect(),
        })
        .collect()
}

/// The spike rule over one grant's reads per local day: `days` holds the
/// counts of the baseline days before `today` (missing days are zero).
pub fn volume_spike(
    grant_id: &str,
    today: NaiveDate,
    today_reads: i64,
    days: &[i64],
    rules: &MonitorRules,
) -> Option<Finding> {
    let mut baseline: Vec<i64> = days.to_vec();
    baseline.resize(rules.baseline_days.max(1) as usize, 0);
    baseline.sort_unstable();
    let median = baseline[baseline.len() / 2];
    let usual = median.max(1);
    if today_reads < rules.spike_minimum || today_reads <= usual * rules.spike_factor {
        return None;
    }
    Some(Finding {
        rule: AlertRule::VolumeSpike,
        dedup_key: format!("volume_spike:{grant_id}:{today}"),
        grant_id: Some(grant_id.to_owned()),
        resource_id: None,
        user_id: None,
        org_id: None,
        summary_en: format!("{today_reads} reads on {today} under this grant; a usual day has {median}"),
        summary_zh: format!("{today} 该授权下访问 {today_reads} 次，平日中位数为 {median} 次"),
        evidence: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn beijing() -> FixedOffset {
        FixedOffset::east_opt(8 * 3600).unwrap()
    }

    fn event(seq: i64, at: DateTime<Utc>, allowed: bool) -> UsageEvent {
        UsageEvent {
            seq,
            at,
            user_id: Some("u-1".into()),
            org_id: Some("org".into()),
            grant_id: Some("g-1".into()),
            resource_id: "r-1".into(),
            version: Some(1),
            mode: AccessMode::Query,
            channel: "api".into(),
            purpose: Some("p".into()),
            allowed,
            reason: None,
            query_fingerprint: format!("q{seq}"),
            rows_out: Some(10),
            bytes_out: None,
            privacy_cost_micros: 0,
            result_hash: None,
        }
    }

    fn noon() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 27, 4, 0, 0).unwrap()
    }

    #[test]
    fn five_refusals_in_ten_minutes_raise_one_alert_and_four_do_not() {
        let rules = MonitorRules::default();
        let denied: Vec<_> = (0..5).map(|i| event(i, noon() + Duration::minutes(2 * i), false)).collect();
        let found = scan(&denied, &rules, beijing());
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].rule, AlertRule::RepeatedDenials);
        assert_eq!(found[0].evidence, vec![0, 1, 2, 3, 4]);
        assert!(scan(&denied[..4], &rules, beijing()).is_empty());
        // Spread over an hour, they are not a burst.
        let spread: Vec<_> = (0..5).map(|i| event(i, noon() + Duration::minutes(15 * i), false)).collect();
        assert!(scan(&spread, &rules, beijing()).is_empty());
    }

    #[test]
    fn many_distinct_narrow_aggregates_are_a_probe_and_repeats_are_not() {
        let rules = MonitorRules::default();
        let probe: Vec<_> = (0..8)
            .map(|i| UsageEvent {
                mode: AccessMode::Aggregate,
                rows_out: Some(1),
                ..event(i, noon() + Duration::seconds(30 * i), true)
            })
            .collect();
        let found = scan(&probe, &rules, beijing());
        assert_eq!(found.iter().map(|f| f.rule).collect::<Vec<_>>(), vec![AlertRule::SmallGroupProbe]);
        let same: Vec<_> = probe.iter().map(|e| UsageEvent { query_fingerprint: "same".into(), ..e.clone() }).collect();
        assert!(scan(&same, &rules, beijing()).is_empty());
        let wide: Vec<_> = probe.iter().map(|e| UsageEvent { rows_out: Some(40), ..e.clone() }).collect();
        assert!(scan(&wide, &rules, beijing()).is_empty());
    }

    #[test]
    fn a_bulk_download_at_night_is_flagged_and_by_day_it_is_not() {
        let rules = MonitorRules::default();
        let night = Utc.with_ymd_and_hms(2026, 11, 27, 16, 30, 0).unwrap(); // 00:30 in Beijing
        let bulk = UsageEvent { mode: AccessMode::Download, rows_out: Some(50_000), ..event(9, night, true) };
        let found = scan(std::slice::from_ref(&bulk), &rules, beijing());
        assert_eq!(found[0].rule, AlertRule::OffHoursBulk);
        assert!(found[0].summary_zh.contains("00:30"));
        assert!(scan(&[UsageEvent { at: noon(), ..bulk.clone() }], &rules, beijing()).is_empty());
        assert!(scan(&[UsageEvent { rows_out: Some(100), ..bulk }], &rules, beijing()).is_empty());
    }

    #[test]
    fn reads_after_the_term_are_flagged_per_grant_and_day() {
        let rules = MonitorRules::default();
        let late = UsageEvent { reason: Some("expired:g-9".into()), ..event(3, noon(), false) };
        let found = scan(&[late.clone(), UsageEvent { seq: 4, ..late }], &rules, beijing());
        assert_eq!(found.len(), 1);
        assert_eq!(
            (found[0].rule, found[0].grant_id.as_deref(), found[0].evidence.len()),
            (AlertRule::AfterTerm, Some("g-9"), 2)
        );
    }

    #[test]
    fn a_spike_is_measured_against_the_usual_day() {
        let rules = MonitorRules::default();
        let today = NaiveDate::from_ymd_opt(2026, 11, 27).unwrap();
        let usual = vec![10; 28];
        assert!(volume_spike("g", today, 49, &usual, &rules).is_none());
        assert_eq!(volume_spike("g", today, 51, &usual, &rules).unwrap().rule, AlertRule::VolumeSpike);
        // A new grant with no history needs the minimum, not one read.
        assert!(volume_spike("g", today, 19, &[], &rules).is_none());
        assert!(volume_spike("g", today, 20, &[], &rules).is_some());
    }
}
