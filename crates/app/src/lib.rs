//! The use cases of Gongshu. Every one that changes state follows the same
//! three steps inside one store transaction: **authorize** (a pure
//! [`gongshu_policy::decide`]), **act** (a pure state-machine step from
//! [`gongshu_domain`]), **record** (a history entry for every state that
//! changed). The transaction commits all of it or nothing.
//!
//! **API Boundary:** the HTTP API, the CLI and the demo loader call these
//! functions with domain arguments; none of them touches a store.

mod agreements;
mod auth;
mod bundles;
mod catalog;
pub mod clock;
pub mod demo;
mod disclosure;
mod duties;
mod error;
mod gateway;
mod harvest;
mod ledger;
mod one_source;
mod orgs;
mod pricing;
mod products;
mod registrations;
mod requests;
mod search;
mod sharing;
mod supervision;
pub mod testing;
mod versions;

use std::path::PathBuf;
use std::sync::Arc;

use chrono::{FixedOffset, NaiveDate};
use gongshu_datafiles::DataStore;
use gongshu_domain::{GrantState, HistoryEntry, RegionCode, WorkingCalendar};
use gongshu_metadata::{MetadataStore, Transaction};
use gongshu_policy::{Action, Decision, Subject};
use gongshu_query::{QueryEngine, QueryLimits};

pub use agreements::{
    AgreementDetail, AgreementList, AgreementQuery, AgreementStep, AgreementView, NewUsageReport, OpenApplication,
    OpenTerms, OperationPlan, PlannedResource, content_sha256,
};
pub use auth::{IssuedToken, NewToken};
pub use bundles::{BundlePart, BundleView, NewBundle};
pub use catalog::{FileRegistration, ResourceList, ResourceQuery, ResourceView};
pub use clock::{Clock, ManualClock, SystemClock};
pub use disclosure::{DisclosureDue, DisclosureView, disclosure_csv};
pub use duties::{DutyView, NewDuty};
pub use error::AppError;
pub use gateway::{Channel, DataPage, DeliveryAnswer, DeliveryReceipt, DeliveryRequest, Download};
pub use gongshu_harvest::{Fetched, RemoteDataset, RemoteDistribution, web_url};
pub use gongshu_ingest::Progress as LoadProgress;
pub use gongshu_metadata::{DailyUsage, LedgerHead, LedgerRecord, StoredCheckpoint};
pub use gongshu_query::{SqlResult, records_json};
pub use gongshu_search::{CatalogIndex, FacetKind, Hit, SearchError, SearchRequest, SearchResults, SortOrder};
pub use harvest::{HarvestReport, HarvestSourceView, NewHarvestSource, Provenance};
pub use ledger::{InclusionProof, LedgerKey, LedgerSettings};
pub use one_source::DuplicateDecision;
pub use orgs::{NewOrganization, NewUser};
pub use pricing::{PriceInput, Revenue, Statement};
pub use products::{NewProduct, ProductSource, ProductView, SubscriptionView};
pub use registrations::{ObjectionDecision, RegistrationList, RegistrationQuery, RegistrationView};
pub use requests::{AnswerInput, NewRequest, RequestList, RequestQuery, RequestStats, RequestView};
pub use search::{CatalogSearch, SyncReport, open_kind};
pub use sharing::{
    GrantTerms, GrantView, NewSharingRequest, SharingDecision, SharingList, SharingQuery, SharingView, UsageList,
    UsageQuery,
};
pub use supervision::{Overview, Tracker, TrackerRow};
pub use versions::LoadOptions;

/// Result of a use case.
pub type AppResult<T> = Result<T, AppError>;

/// The id recorded as the actor of what the platform itself does (CLI
/// bootstrap, demo loading).
pub const SYSTEM_ACTOR: &str = "system";

/// The ledger's origin when none is configured.
pub const DEFAULT_LEDGER_ORIGIN: &str = "gongshu.localhost/ledger";

/// Rules of the registration workflow that each jurisdiction sets.
#[derive(Debug, Clone)]
pub struct RegistrationRules {
    /// Working days the bureau has to accept (受理) a submission.
    pub acceptance_working_days: u32,
    /// Working days for formal review (形式审核).
    pub review_working_days: u32,
    /// Length of publicity (公示) in working days.
    pub publicity_working_days: u32,
    /// Working days to verify an objection.
    pub objection_working_days: u32,
    /// Working days a department has to answer a public request.
    pub request_working_days: u32,
    /// Working days the bureau has to check a sharing request's conformity.
    pub sharing_check_working_days: u32,
    /// Working days a provider (or the bureau, coordinating) has to decide
    /// on a conditional sharing request.
    pub sharing_review_working_days: u32,
    /// Working days a provider has to decide on a conditional-open application.
    pub open_review_working_days: u32,
    /// Working days the bureau has to decide on an authorized-operation plan.
    pub operation_review_working_days: u32,
    /// Days between a holder's usage reports under an agreement.
    pub usage_report_interval_days: u32,
    /// Days an operator's new price is publicised (收费公示) before it may
    /// take effect.
    pub price_publicity_days: u32,
    /// The registry's division; registration codes begin with it.
    pub registry_region: RegionCode,
    /// Offset of the jurisdiction's local time from UTC; days and deadlines
    /// are counted in local time.
    pub utc_offset: FixedOffset,
}

impl Default for RegistrationRules {
    fn default() -> Self {
        RegistrationRules {
            acceptance_working_days: 2,
            review_working_days: 5,
            publicity_working_days: 5,
            objection_working_days: 5,
            request_working_days: 10,
            sharing_check_working_days: 2,
            sharing_review_working_days: 5,
            open_review_working_days: 10,
            operation_review_working_days: 20,
            usage_report_interval_days: 90,
            price_publicity_days: 10,
            registry_region: RegionCode::parse("registry_region", "110000").expect("valid default"),
            utc_offset: FixedOffset::east_opt(8 * 3600).expect("valid offset"),
        }
    }
}

/// Where the application keeps things.
#[derive(Clone)]
pub struct Stores {
    /// Catalog, workflows and history.
    pub metadata: Arc<dyn MetadataStore>,
    /// The data files of versions.
    pub data: DataStore,
    /// A local directory for files being loaded (uploads, Parquet being
    /// written) before they go to the data store.
    pub scratch: PathBuf,
    /// The search index of the published catalog (derived; rebuilt at will).
    pub search: Arc<CatalogIndex>,
}

/// The application: the stores, the clock and the jurisdiction's rules.
#[derive(Clone)]
pub struct App {
    store: Arc<dyn MetadataStore>,
    data: DataStore,
    query: QueryEngine,
    scratch: PathBuf,
    search: Arc<CatalogIndex>,
    clock: Arc<dyn Clock>,
    calendar: WorkingCalendar,
    rules: RegistrationRules,
    grant_watch: Arc<GrantWatch>,
    ledger: Arc<LedgerSettings>,
}

/// Tells reads under way that their grant stopped being in force, or that
/// a freeze covers them. One channel per key, kept for the life of the
/// process: a grant's channel holds whether the grant is out of force, a
/// freeze's pulses when one is recorded. A read subscribes ([`Stops`])
/// before it checks the records, so a stop in between is still seen.
/// Other servers on the same database hear the same [`Stop`]s (see
/// `App::follow_other_servers`).
#[derive(Default)]
struct GrantWatch {
    channels: std::sync::Mutex<std::collections::HashMap<String, tokio::sync::watch::Sender<bool>>>,
    /// Held while a grant's state is read and set, so two refreshes cannot
    /// set what they read in the wrong order.
    refreshing: tokio::sync::Mutex<()>,
}

impl GrantWatch {
    fn sender(&self, key: &str) -> tokio::sync::watch::Sender<bool> {
        let mut channels = self.channels.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        channels.entry(key.to_owned()).or_insert_with(|| tokio::sync::watch::channel(false).0).clone()
    }

    /// Listens, from now, to the channels of `keys`.
    fn subscribe(&self, keys: &[String]) -> Stops {
        Stops {
            channels: keys.iter().map(|key| (key.starts_with(FREEZE_PREFIX), self.sender(key).subscribe())).collect(),
            term_left: None,
        }
    }

    /// Wakes the reads a freeze covers: a pulse, not a state, so a release
    /// recorded on another server leaves nothing stale behind here.
    fn pulse(&self, key: &str) {
        self.sender(key).send_modify(|value| *value = !*value);
    }

    /// Whether this server holds the grant out of force.
    fn is_out_of_force(&self, grant_id: &str) -> bool {
        let channels = self.channels.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        channels.get(grant_id).is_some_and(|sender| *sender.borrow())
    }

    fn set_in_force(&self, grant_id: &str, in_force: bool) {
        self.sender(grant_id).send_replace(!in_force);
    }

    /// The keys worth reading again after messages may have been missed:
    /// those a read under way listens to, and grants held out of force
    /// (a missed resumption would cut every new read under them).
    fn to_recheck(&self) -> Vec<String> {
        let channels = self.channels.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        channels
            .iter()
            .filter(|(key, sender)| {
                sender.receiver_count() > 0 || (!key.starts_with(FREEZE_PREFIX) && *sender.borrow())
            })
            .map(|(key, _)| key.clone())
            .collect()
    }
}

/// The stop channels one or more reads listen to, and how long until the
/// first of their grants' terms ends.
#[derive(Clone, Default)]
struct Stops {
    channels: Vec<(bool, tokio::sync::watch::Receiver<bool>)>,
    term_left: Option<std::time::Duration>,
}

impl Stops {
    /// The channels of all of `reads`, ending with the first term.
    fn all(reads: impl IntoIterator<Item = Stops>) -> Stops {
        reads.into_iter().fold(Stops::default(), |mut all, read| {
            all.channels.extend(read.channels);
            all.until(read.term_left)
        })
    }

    /// The same, also ending when `left` has passed (a grant's term).
    fn until(mut self, left: Option<std::time::Duration>) -> Stops {
        self.term_left = match (self.term_left, left) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        self
    }

    /// Ends when one of the channels says stop (a grant's when it is set,
    /// at once if it already is; a freeze's when it pulses after the
    /// subscription) or a term ends. Never, without either.
    async fn fired(self) {
        let term_ends = async move {
            match self.term_left {
                Some(left) => tokio::time::sleep(left).await,
                None => std::future::pending().await,
            }
        };
        let any_channel = async move {
            if self.channels.is_empty() {
                return std::future::pending().await;
            }
            futures::future::select_all(self.channels.into_iter().map(|(pulse, mut channel)| {
                Box::pin(async move {
                    if pulse {
                        let _ = channel.changed().await;
                    } else {
                        let _ = channel.wait_for(|stopped| *stopped).await;
                    }
                })
            }))
            .await;
        };
        tokio::select! {
            () = term_ends => {}
            () = any_channel => {}
        }
    }
}

/// How a freeze's stop key begins (`freeze:<target>:<id>`).
const FREEZE_PREFIX: &str = "freeze:";

/// A change that stops reads under way (or lets them start again), as the
/// servers on one database announce it to each other.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Stop {
    /// A grant's state changed: whether it is in force is read from the
    /// records, so messages heard out of order cannot leave it wrong.
    Grant { id: String },
    /// A freeze was recorded; `key` is its stop key.
    Freeze { key: String },
}

impl Stop {
    /// The announcement: `grant:<id>`, or the freeze's key.
    fn message(&self) -> String {
        match self {
            Stop::Grant { id } => format!("grant:{id}"),
            Stop::Freeze { key } => key.clone(),
        }
    }

    fn parse(message: &str) -> Option<Stop> {
        if message.starts_with(FREEZE_PREFIX) {
            return Some(Stop::Freeze { key: message.to_owned() });
        }
        let id = message.strip_prefix("grant:").filter(|id| !id.is_empty() && !id.contains(':'))?;
        Some(Stop::Grant { id: id.to_owned() })
    }
}

impl App {
    /// Wires the application.
    pub fn new(stores: Stores, clock: Arc<dyn Clock>, calendar: WorkingCalendar, rules: RegistrationRules) -> Self {
        let query = QueryEngine::new(stores.data.object_store(), QueryLimits::default());
        App {
            store: stores.metadata,
            data: stores.data,
            query,
            scratch: stores.scratch,
            search: stores.search,
            clock,
            calendar,
            rules,
            grant_watch: Arc::default(),
            // The binary configures a lasting key (`with_ledger`); this one
            // serves tests and throw-away instances.
            ledger: Arc::new(LedgerSettings::ephemeral(DEFAULT_LEDGER_ORIGIN)),
        }
    }

    /// The same application with another clock (the demo replays the past).
    pub fn with_clock(&self, clock: Arc<dyn Clock>) -> Self {
        App { clock, ..self.clone() }
    }

    /// Whether the metadata store answers.
    pub async fn healthy(&self) -> AppResult<()> {
        Ok(self.store.ping().await?)
    }

    /// The working-day calendar in force.
    pub fn calendar(&self) -> &WorkingCalendar {
        &self.calendar
    }

    /// Today in the jurisdiction's local time.
    pub fn today(&self) -> NaiveDate {
        self.clock.now().with_timezone(&self.rules.utc_offset).date_naive()
    }

    fn due(&self, working_days: u32) -> NaiveDate {
        self.calendar.add_working_days(self.today(), working_days)
    }
}

/// Checks the policy; a denial becomes [`AppError::Forbidden`] (or
/// [`AppError::Unauthenticated`] for the public).
fn authorize(subject: &Subject, action: Action<'_>) -> AppResult<()> {
    match gongshu_policy::decide(subject, action) {
        Decision::Allow => Ok(()),
        Decision::Deny { .. } if *subject == Subject::Anonymous => {
            Err(AppError::Unauthenticated("this needs an API token"))
        }
        Decision::Deny { reason_en, reason_zh } => Err(AppError::Forbidden { en: reason_en, zh: reason_zh }),
    }
}

/// The user id to record as the actor.
fn actor_id(subject: &Subject) -> Option<String> {
    match subject {
        Subject::User { user_id, .. } => Some(user_id.clone()),
        Subject::Anonymous => None,
    }
}

/// The subject of the platform itself: allowed everything, recorded as
/// [`SYSTEM_ACTOR`].
pub fn system_subject() -> Subject {
    Subject::User { user_id: SYSTEM_ACTOR.into(), system_admin: true, memberships: vec![] }
}

/// One step to write into the history, built by the use cases.
struct Step<'a> {
    entity_kind: &'static str,
    entity_id: &'a str,
    action: &'a str,
    from_state: Option<&'a str>,
    to_state: Option<&'a str>,
    opinion: Option<&'a str>,
}

impl App {
    async fn record(&self, tx: &mut Box<dyn Transaction>, subject: &Subject, step: Step<'_>) -> AppResult<()> {
        let entry = HistoryEntry {
            seq: 0,
            entity_kind: step.entity_kind,
            entity_id: step.entity_id.to_owned(),
            actor_user_id: actor_id(subject),
            action: step.action.to_owned(),
            from_state: step.from_state.map(str::to_owned),
            to_state: step.to_state.map(str::to_owned),
            opinion: step.opinion.map(str::to_owned),
            at: self.clock.now(),
        };
        tx.append_history(&entry).await?;
        Ok(())
    }

    /// Commits `tx` and stops (or lets go on) the reads under way that
    /// `stops` name: here at once, and on every other server on the
    /// database when it commits.
    async fn commit_with_stops(&self, mut tx: Box<dyn Transaction>, stops: &[Stop]) -> AppResult<()> {
        for stop in stops {
            tx.announce(&stop.message()).await?;
        }
        tx.commit().await?;
        // The change is made: a failure to act on it here must not answer
        // as if it were not. Other servers heard it; a read here that finds
        // its grant held out of force against the records rechecks it.
        for stop in stops {
            if let Err(error) = self.apply_stop(stop).await {
                tracing::error!(%error, ?stop, "cannot stop the reads under way here");
            }
        }
        Ok(())
    }

    /// Acts on a stop made here or heard from another server.
    async fn apply_stop(&self, stop: &Stop) -> AppResult<()> {
        match stop {
            Stop::Freeze { key } => self.grant_watch.pulse(key),
            Stop::Grant { id } => {
                let _turn = self.grant_watch.refreshing.lock().await;
                let mut tx = self.store.read().await?;
                match tx.grant(id).await {
                    Ok(grant) => self.grant_watch.set_in_force(id, grant.state == GrantState::Active),
                    Err(gongshu_metadata::StoreError::NotFound { .. }) => {}
                    Err(error) => return Err(error.into()),
                }
            }
        }
        Ok(())
    }
}

fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stops_read_back_as_announced() {
        for stop in [
            Stop::Grant { id: "0195c8a1-7b2e-7c3d-9e4f-000000000001".into() },
            Stop::Freeze { key: "freeze:user:u-1".into() },
        ] {
            assert_eq!(Stop::parse(&stop.message()), Some(stop));
        }
        assert_eq!(Stop::parse("grant:"), None);
        assert_eq!(Stop::parse("grant:g-1:stopped"), None);
        assert_eq!(Stop::parse("something else"), None);
    }

    #[tokio::test]
    async fn a_stop_between_subscribing_and_waiting_is_not_missed() {
        let watch = GrantWatch::default();
        let keys = ["g-1".to_owned(), "freeze:resource:r-1".to_owned()];
        let stops = watch.subscribe(&keys);
        watch.pulse(&keys[1]);
        tokio::time::timeout(std::time::Duration::from_secs(5), stops.fired()).await.expect("the freeze is seen");
        let stops = watch.subscribe(&keys);
        watch.set_in_force("g-1", false);
        tokio::time::timeout(std::time::Duration::from_secs(5), stops.fired()).await.expect("the grant's stop is seen");
        // A grant out of force stops a new read at once; one back in force does not.
        tokio::time::timeout(std::time::Duration::from_secs(5), watch.subscribe(&keys[..1]).fired()).await.unwrap();
        watch.set_in_force("g-1", true);
        let stops = watch.subscribe(&keys[..1]);
        assert!(tokio::time::timeout(std::time::Duration::from_millis(50), stops.fired()).await.is_err());
    }

    #[tokio::test]
    async fn reads_stop_when_the_first_term_ends() {
        let watch = GrantWatch::default();
        let short = watch.subscribe(&["g-1".to_owned()]).until(Some(std::time::Duration::from_millis(20)));
        let long = watch.subscribe(&["g-2".to_owned()]).until(Some(std::time::Duration::from_secs(3600)));
        tokio::time::timeout(std::time::Duration::from_secs(5), Stops::all([long.clone(), short]).fired())
            .await
            .expect("the first term ends the reads");
        assert!(tokio::time::timeout(std::time::Duration::from_millis(50), long.fired()).await.is_err());
    }

    #[test]
    fn rechecks_cover_reads_under_way_and_grants_held_out_of_force() {
        let watch = GrantWatch::default();
        let _listening = watch.subscribe(&["freeze:grant:g-1".to_owned(), "g-1".to_owned()]);
        watch.set_in_force("g-2", false);
        watch.set_in_force("g-3", true);
        watch.pulse("freeze:resource:r-1");
        let mut keys = watch.to_recheck();
        keys.sort();
        assert_eq!(keys, ["freeze:grant:g-1", "g-1", "g-2"]);
    }
}
