//! Harvest (区域协作): another region's open catalog read into this one as
//! read-only, published entries that carry their provenance.
//!
//! A source is a CKAN Action API or a DCAT document. The bureau's
//! administrator adds it; each is provided here by an organization of kind
//! `portal` that has no members, so no one here edits its entries. A run
//! reads the whole catalog (outside any transaction), then in one
//! transaction creates what is new, updates what changed, withdraws
//! (下架) what the source no longer lists and republishes what returns,
//! with a history step for each. The data stays at the source: an entry's
//! distributions link there.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, NaiveTime, Utc};
use gongshu_domain::error::{optional_text, required_text};
use gongshu_domain::{
    HarvestKind, HarvestRecord, HarvestSource, OpenAttribute, OrgKind, Organization, RegionCode, Resource,
    ResourceClass, ResourceDraft, ResourceEvent, ResourceState, ShareAttribute, UpdateCycle, ValidationError,
    Validations,
};
use gongshu_harvest::{Fetched, RemoteDataset, RemoteDistribution, SourceKind};
use gongshu_metadata::StoreError;
use gongshu_policy::{Action, Subject};
use sha2::{Digest, Sha256};

use crate::{App, AppError, AppResult, Step, authorize, new_id};

/// A source to add, as typed by the bureau's administrator.
#[derive(Debug, Clone, Default)]
pub struct NewHarvestSource {
    /// The portal's name, e.g. `宁波市公共数据开放平台`.
    pub name_zh: String,
    /// Its English name.
    pub name_en: Option<String>,
    /// `ckan` or `dcat`.
    pub kind: String,
    /// The portal's root (CKAN) or the catalog document's address (DCAT).
    pub url: String,
    /// The GB/T 2260 code of the region the portal serves.
    pub region: String,
}

/// A source with the organization that stands for it.
#[derive(Debug, Clone)]
pub struct HarvestSourceView {
    /// The source.
    pub source: HarvestSource,
    /// The organization that provides its entries here.
    pub portal: Organization,
    /// Entries it has here that the source still lists.
    pub entries: usize,
}

/// What one harvest did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct HarvestReport {
    /// Documents or pages read.
    pub pages: usize,
    /// Datasets the source lists.
    pub listed: usize,
    /// New entries.
    pub created: usize,
    /// Entries whose metadata changed.
    pub updated: usize,
    /// Entries read again unchanged.
    pub unchanged: usize,
    /// Entries the source no longer lists (withdrawn here if they were published).
    pub withdrawn: usize,
    /// Set when the read was cut short by a limit: nothing was withdrawn then.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub partial: bool,
    /// Why the source could not be read, in English, when it could not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_en: Option<String>,
    /// The same in Chinese.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_zh: Option<String>,
}

/// Where a harvested entry came from.
#[derive(Debug, Clone)]
pub struct Provenance {
    /// The source.
    pub source: HarvestSource,
    /// The organization that stands for it.
    pub portal: Organization,
    /// The entry's record.
    pub record: HarvestRecord,
    /// Its files at the source.
    pub distributions: Vec<RemoteDistribution>,
}

/// The namespace of harvested entries' ids (UUID v5 of `gongshu:harvest` in the URL namespace).
const HARVEST_IDS: uuid::Uuid = uuid::Uuid::from_u128(0x2781_53ff_e135_50d8_a956_6695_474b_f1de);

/// The entry id of a remote dataset, from the source's address (unique
/// among sources) and the dataset's id there: the same on every run, and
/// again if the source is removed and added back.
fn entry_id(source_url: &str, remote_id: &str) -> String {
    uuid::Uuid::new_v5(&HARVEST_IDS, format!("{source_url}\n{remote_id}").as_bytes()).hyphenated().to_string()
}

/// When the source last changed a dataset, if it says so readably and not
/// in the future: `2026-11-02`, RFC 3339, or CKAN's zoneless UTC timestamps.
fn remote_modified(text: Option<&str>, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let text = text?.trim();
    let at = DateTime::parse_from_rfc3339(text)
        .map(|at| at.with_timezone(&Utc))
        .ok()
        .or_else(|| chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f").ok().map(|at| at.and_utc()))
        .or_else(|| {
            chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d").ok().map(|d| d.and_time(NaiveTime::MIN).and_utc())
        })?;
    (at <= now).then_some(at)
}

/// At most `max_chars` characters, the last an ellipsis when cut, so the
/// result passes the same limits as typed input.
fn truncated(text: &str, max_chars: usize) -> String {
    let text = text.trim();
    if text.chars().count() <= max_chars {
        return text.to_owned();
    }
    let end = text.char_indices().nth(max_chars.saturating_sub(1)).map_or(text.len(), |(i, _)| i);
    format!("{}…", &text[..end])
}

/// The update cycle a source's frequency names: an EU frequency IRI's last
/// segment, a CKAN extra, or Gongshu's own code.
fn update_cycle(frequency: Option<&str>) -> UpdateCycle {
    let Some(frequency) = frequency else { return UpdateCycle::Irregular };
    if let Ok(cycle) = UpdateCycle::parse("frequency", &frequency.to_ascii_lowercase()) {
        return cycle;
    }
    match frequency.to_ascii_uppercase().as_str() {
        "CONT" | "UPDATE_CONT" | "CONTINUOUS" | "HOURLY" | "REALTIME" => UpdateCycle::Realtime,
        "DAILY" | "DAILY_2" => UpdateCycle::Daily,
        "WEEKLY" | "WEEKLY_2" | "WEEKLY_3" => UpdateCycle::Weekly,
        "MONTHLY" | "MONTHLY_2" | "MONTHLY_3" => UpdateCycle::Monthly,
        "QUARTERLY" => UpdateCycle::Quarterly,
        "ANNUAL_2" | "SEMIANNUAL" => UpdateCycle::SemiAnnual,
        "ANNUAL" | "YEARLY" => UpdateCycle::Annual,
        _ => UpdateCycle::Irregular,
    }
}

/// The catalog content of a remote dataset. It comes from an open catalog,
/// so it is open and shared unconditionally; its columns are not described
/// there, so it has no data items.
fn draft_of(dataset: &RemoteDataset, portal: &Organization) -> ResourceDraft {
    let title = truncated(&dataset.title, 200);
    let description =
        dataset.description.as_deref().filter(|d| !d.trim().is_empty()).map(|d| truncated(d, 4000)).unwrap_or_else(
            || format!("{title}（{}的目录未提供摘要 / the source gives no description）", portal.name_zh),
        );
    let mut keywords: Vec<String> = Vec::new();
    for keyword in &dataset.keywords {
        let keyword = truncated(keyword, 32);
        if !keyword.is_empty() && !keywords.contains(&keyword) && keywords.len() < 20 {
            keywords.push(keyword);
        }
    }
    let theme = dataset.themes.iter().map(|t| truncated(t, 100)).find(|t| !t.is_empty());
    ResourceDraft {
        name_zh: title,
        name_en: dataset.title_en.as_deref().map(|t| truncated(t, 300)),
        abstract_zh: description,
        abstract_en: dataset.description_en.as_deref().map(|d| truncated(d, 8000)),
        lead_collector_org_id: None,
        resource_class: ResourceClass::Departmental,
        theme: theme.unwrap_or_else(|| "未分类".into()),
        items: vec![],
        share: ShareAttribute::Unconditional,
        open: OpenAttribute::Unconditional,
        update_cycle: update_cycle(dataset.frequency.as_deref()),
        time_coverage_start: None,
        time_coverage_end: None,
        spatial_coverage: Some(portal.region.clone()),
        license: dataset.license.as_deref().map(|l| truncated(l, 100)),
        keywords,
        classification_rationale: None,
    }
}

fn content_hash(dataset: &RemoteDataset) -> String {
    let json = serde_json::to_vec(dataset).expect("a dataset serializes");
    Sha256::digest(&json).iter().map(|b| format!("{b:02x}")).collect()
}

fn source_kind(kind: HarvestKind) -> SourceKind {
    match kind {
        HarvestKind::Ckan => SourceKind::Ckan,
        HarvestKind::Dcat => SourceKind::Dcat,
    }
}

impl App {
    /// Adds a source, with the organization that will provide its entries.
    pub async fn create_harvest_source(
        &self,
        subject: &Subject,
        new: NewHarvestSource,
    ) -> AppResult<HarvestSourceView> {
        authorize(subject, Action::ManageHarvest)?;
        let mut problems = Validations::default();
        let name_zh = problems.check(required_text("name_zh", &new.name_zh, 100));
        let name_en = problems.check(optional_text("name_en", new.name_en.as_deref(), 200)).flatten();
        let kind = problems.check(HarvestKind::parse("kind", &new.kind));
        let region = problems.check(RegionCode::parse("region", &new.region));
        let url = match url::Url::parse(new.url.trim()) {
            Ok(url) if matches!(url.scheme(), "http" | "https") => Some(url.to_string()),
            _ => {
                problems.push(ValidationError::new(
                    "url",
                    format!("`{}` is not an http(s) address", new.url.trim()),
                    format!("`{}` 不是 http(s) 地址", new.url.trim()),
                ));
                None
            }
        };
        let (Some(name_zh), Some(kind), Some(region), Some(url)) = (name_zh, kind, region, url) else {
            return Err(problems.into());
        };
        let now = self.clock.now();
        let portal = Organization {
            id: new_id(),
            code: None,
            name_zh,
            name_en,
            kind: OrgKind::Portal,
            region,
            parent_id: None,
            created_at: now,
        };
        let source = HarvestSource {
            id: new_id(),
            org_id: portal.id.clone(),
            kind,
            url,
            created_at: now,
            last_run_at: None,
            last_report: None,
        };
        let mut tx = self.store.write().await?;
        let duplicate = |error: StoreError| match error {
            StoreError::Duplicate(_) => AppError::conflict(
                format!("a source named `{}` or reading `{}` already exists", portal.name_zh, source.url),
                format!("名称为“{}”或地址为 `{}` 的采集来源已存在", portal.name_zh, source.url),
            ),
            other => other.into(),
        };
        tx.insert_organization(&portal).await.map_err(duplicate)?;
        tx.insert_harvest_source(&source).await.map_err(duplicate)?;
        let step = Step {
            entity_kind: "harvest_source",
            entity_id: &source.id,
            action: "create",
            from_state: None,
            to_state: Some(source.kind.code()),
            opinion: Some(&source.url),
        };
        self.record(&mut tx, subject, step).await?;
        tx.commit().await?;
        Ok(HarvestSourceView { source, portal, entries: 0 })
    }

    /// Every source, with what it has here. Public: where entries come from is public.
    pub async fn harvest_sources(&self) -> AppResult<Vec<HarvestSourceView>> {
        let mut tx = self.store.read().await?;
        let mut views = Vec::new();
        for source in tx.harvest_sources().await? {
            let portal = tx.organization(&source.org_id).await?;
            let entries = tx.harvest_records(&source.id).await?.iter().filter(|r| r.present).count();
            views.push(HarvestSourceView { source, portal, entries });
        }
        Ok(views)
    }

    /// Reads a source's catalog and applies it. A source that cannot be
    /// read leaves the catalog as it was; the failure is kept as the
    /// source's last report and returned.
    pub async fn run_harvest(&self, subject: &Subject, source_id: &str) -> AppResult<HarvestReport> {
        authorize(subject, Action::ManageHarvest)?;
        let source = self.store.read().await?.harvest_source(source_id).await?;
        match gongshu_harvest::fetch(source_kind(source.kind), &source.url).await {
            Ok(fetched) => self.apply_harvest(subject, source_id, fetched).await,
            Err(error) => {
                let report = HarvestReport {
                    error_en: Some(error.to_string()),
                    error_zh: Some(error.message_zh()),
                    ..Default::default()
                };
                let mut tx = self.store.write().await?;
                let failed = HarvestSource {
                    last_run_at: Some(self.clock.now()),
                    last_report: Some(serde_json::to_string(&report).expect("a report serializes")),
                    ..source
                };
                tx.record_harvest_run(&failed).await?;
                tx.commit().await?;
                Err(AppError::conflict(error.to_string(), error.message_zh()))
            }
        }
    }

    /// Applies a catalog read from a source, in one transaction.
    pub async fn apply_harvest(
        &self,
        subject: &Subject,
        source_id: &str,
        fetched: Fetched,
    ) -> AppResult<HarvestReport> {
        authorize(subject, Action::ManageHarvest)?;
        let now = self.clock.now();
        let mut report = HarvestReport {
            pages: fetched.pages,
            listed: fetched.datasets.len(),
            partial: !fetched.complete,
            ..Default::default()
        };
        let mut touched = Vec::new();
        let mut tx = self.store.write().await?;
        let source = tx.harvest_source(source_id).await?;
        let portal = tx.organization(&source.org_id).await?;
        let mut known: HashMap<String, HarvestRecord> =
            tx.harvest_records(source_id).await?.into_iter().map(|r| (r.remote_id.clone(), r)).collect();
        let mut listed = HashSet::new();
        for dataset in &fetched.datasets {
            if !listed.insert(dataset.remote_id.as_str()) {
                continue;
            }
            let hash = content_hash(dataset);
            let record = HarvestRecord {
                resource_id: entry_id(&source.url, &dataset.remote_id),
                source_id: source_id.to_owned(),
                remote_id: dataset.remote_id.clone(),
                landing_page: dataset.landing_page.clone(),
                publisher: dataset.publisher.clone(),
                distributions_json: serde_json::to_string(&dataset.distributions).expect("distributions serialize"),
                remote_modified: dataset.modified.clone(),
                content_hash: hash.clone(),
                harvested_at: now,
                present: true,
            };
            let draft = draft_of(dataset, &portal);
            let note = format!("harvested from {} as {} / 采集自{}", source.url, dataset.remote_id, portal.name_zh);
            let (from, to, action) = match known.remove(&dataset.remote_id) {
                None => {
                    let resource = Resource {
                        id: record.resource_id.clone(),
                        provider_org_id: portal.id.clone(),
                        state: ResourceState::Published,
                        registration_code: None,
                        draft,
                        created_at: now,
                        updated_at: remote_modified(dataset.modified.as_deref(), now).unwrap_or(now),
                        published_at: Some(now),
                        row_version: 0,
                    };
                    tx.insert_resource(&resource).await?;
                    report.created += 1;
                    (None, ResourceState::Published, "harvest_create")
                }
                Some(previous) => {
                    let resource = tx.resource(&record.resource_id).await?;
                    let returns = !previous.present && resource.state == ResourceState::Unpublished;
                    if previous.content_hash == hash && !returns {
                        report.unchanged += 1;
                        tx.put_harvest_record(&HarvestRecord { harvested_at: now, present: true, ..previous }).await?;
                        continue;
                    }
                    let from = resource.state;
                    let state = if returns { from.apply(ResourceEvent::Publish)? } else { from };
                    let published_at = if returns { Some(now) } else { resource.published_at };
                    let updated_at = remote_modified(dataset.modified.as_deref(), now).unwrap_or(now);
                    tx.update_resource(&Resource { draft, state, updated_at, published_at, ..resource }).await?;
                    report.updated += 1;
                    (Some(from), state, "harvest_update")
                }
            };
            tx.put_harvest_record(&record).await?;
            let step = Step {
                entity_kind: "resource",
                entity_id: &record.resource_id,
                action,
                from_state: from.map(ResourceState::code),
                to_state: Some(to.code()),
                opinion: Some(&note),
            };
            self.record(&mut tx, subject, step).await?;
            touched.push(record.resource_id);
        }
        // What the source no longer lists is withdrawn, and kept; after a
        // partial read nothing can be said about what was not reached.
        let gone_ones = if fetched.complete { known.into_values().filter(|r| r.present).collect() } else { vec![] };
        for gone in gone_ones {
            let resource = tx.resource(&gone.resource_id).await?;
            let from = resource.state;
            if from == ResourceState::Published {
                let state = from.apply(ResourceEvent::Unpublish)?;
                tx.update_resource(&Resource { state, updated_at: now, ..resource }).await?;
                let note = format!("no longer listed by {} / 来源目录已不再列出", source.url);
                let step = Step {
                    entity_kind: "resource",
                    entity_id: &gone.resource_id,
                    action: "harvest_withdraw",
                    from_state: Some(from.code()),
                    to_state: Some(state.code()),
                    opinion: Some(&note),
                };
                self.record(&mut tx, subject, step).await?;
                touched.push(gone.resource_id.clone());
            }
            report.withdrawn += 1;
            tx.put_harvest_record(&HarvestRecord { present: false, harvested_at: now, ..gone }).await?;
        }
        let summary = serde_json::to_string(&report).expect("a report serializes");
        tx.record_harvest_run(&HarvestSource { last_run_at: Some(now), last_report: Some(summary.clone()), ..source })
            .await?;
        let step = Step {
            entity_kind: "harvest_source",
            entity_id: source_id,
            action: "harvest",
            from_state: None,
            to_state: None,
            opinion: Some(&summary),
        };
        self.record(&mut tx, subject, step).await?;
        tx.commit().await?;
        for id in touched {
            self.catalog_changed(&id).await;
        }
        Ok(report)
    }

    /// Where an entry came from, when it was harvested. Public, like the entry.
    pub async fn provenance(&self, resource_id: &str) -> AppResult<Option<Provenance>> {
        let mut tx = self.store.read().await?;
        let Some(record) = tx.harvest_record(resource_id).await? else { return Ok(None) };
        let source = tx.harvest_source(&record.source_id).await?;
        let portal = tx.organization(&source.org_id).await?;
        let distributions = serde_json::from_str(&record.distributions_json).unwrap_or_default();
        Ok(Some(Provenance { source, portal, record, distributions }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frequencies_map_onto_update_cycles() {
        assert_eq!(update_cycle(Some("MONTHLY")), UpdateCycle::Monthly);
        assert_eq!(update_cycle(Some("daily")), UpdateCycle::Daily);
        assert_eq!(update_cycle(Some("ANNUAL_2")), UpdateCycle::SemiAnnual);
        assert_eq!(update_cycle(Some("semiannual")), UpdateCycle::SemiAnnual);
        assert_eq!(update_cycle(Some("UPDATE_CONT")), UpdateCycle::Realtime);
        assert_eq!(update_cycle(Some("someday")), UpdateCycle::Irregular);
        assert_eq!(update_cycle(None), UpdateCycle::Irregular);
    }

    #[test]
    fn the_sources_modification_time_is_read_in_its_common_forms() {
        let now = chrono::Utc::now();
        let day = remote_modified(Some("2026-11-02"), now).unwrap();
        assert_eq!(day.to_rfc3339(), "2026-11-02T00:00:00+00:00");
        assert!(remote_modified(Some("2026-01-02T03:04:05.123456"), now).is_some());
        assert!(remote_modified(Some("2026-01-02T03:04:05+08:00"), now).is_some());
        assert!(remote_modified(Some("soon"), now).is_none());
        assert!(remote_modified(Some("2999-01-01"), now).is_none(), "never in the future");
    }

    #[test]
    fn ids_are_stable_per_source_and_dataset() {
        assert_eq!(entry_id("s", "https://p/d/1"), entry_id("s", "https://p/d/1"));
        assert_ne!(entry_id("s", "https://p/d/1"), entry_id("t", "https://p/d/1"));
    }

    #[test]
    fn long_text_is_cut_on_a_character() {
        assert_eq!(truncated("数据开放", 3), "数据…");
        assert_eq!(truncated("数据开放", 4), "数据开放");
        assert_eq!(truncated(" 数据 ", 2), "数据");
    }
}
