//! The metadata store: organizations, users, tokens, catalog entries,
//! registrations, objections, 一数一源 flags and the history of every
//! workflow, and the ledger's entries, tree nodes and checkpoints. It is
//! ground state (with the data files).
//!
//! [`MetadataStore`] is the trait the rest of Gongshu sees. Work happens in a
//! [`Transaction`]: the application layer authorizes, changes entities and
//! appends their history in one transaction, and either all of it commits or
//! none of it does (dropping a transaction rolls it back).
//!
//! [`SqlStore`] implements it for both backends: SQLite, the embedded default,
//! and PostgreSQL for scale-out. The SQL is written once in the subset both
//! understand and runs through sqlx's `Any` driver; the backends differ only
//! in connection set-up, transaction start and one column type of the
//! migration (see `docs/adr/0002-one-sql-text-for-two-backends.md`).
//!
//! **Architecture Invariant:** nothing outside this crate writes SQL.

mod announcements;
mod error;
mod migrations;
mod sql;
pub mod testing;

use async_trait::async_trait;
use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use gongshu_domain::supervision::{Alert, Freeze, FreezeTarget, TrackerExemption};
use gongshu_domain::{Agreement, AgreementKind, AgreementState, Grant, SharingBundle, SharingDuty, UsageReport};
use gongshu_domain::{
    ApiToken, ApplicationKind, DatasetVersion, DuplicateFlag, DuplicateFlagState, HarvestRecord, HarvestSource,
    HistoryEntry, MembershipRecord, Objection, Organization, PublicRequest, Registration, RegistrationState,
    RequestKind, RequestState, Resource, ResourceState, Role, SharingRequest, SharingState, UsageEvent, User,
};
use gongshu_domain::{Delivery, Disclosure, PriceRecord, Product, RevenueCeiling, Subscription};

pub use announcements::{Announcement, Announcements};
pub use error::StoreError;
pub use gongshu_ledger::{Entry, Hash, NodeId};
pub use sql::{Backend, SqlStore};

/// Result of a store operation.
pub type StoreResult<T> = Result<T, StoreError>;

/// The metadata store.
#[async_trait]
pub trait MetadataStore: Send + Sync {
    /// Starts a transaction that will write. On SQLite it takes the write
    /// lock at once, so a read-then-write never fails half-way.
    async fn write(&self) -> StoreResult<Box<dyn Transaction>>;
    /// Starts a transaction that only reads.
    async fn read(&self) -> StoreResult<Box<dyn Transaction>>;
    /// Which database this is.
    fn backend(&self) -> Backend;
    /// Answers whether the database is reachable (for `/healthz`).
    async fn ping(&self) -> StoreResult<()>;
    /// Starts listening to what the servers on this database announce
    /// ([`Transaction::announce`]); `None` where a database serves one
    /// server (SQLite).
    async fn announcements(&self) -> StoreResult<Option<Announcements>>;
}

/// Which catalog entries a list returns.
#[derive(Debug, Clone, Default)]
pub struct ResourceFilter {
    /// Only these states; all when empty.
    pub states: Vec<ResourceState>,
    /// Only this provider.
    pub provider_org_id: Option<String>,
    /// Entries the caller may see: `None` for all, else published entries
    /// plus those provided by these organizations.
    pub visible_to_orgs: Option<Vec<String>>,
    /// With `visible_to_orgs`: registered entries of every provider are
    /// visible too (the sharing catalog, for departments and implementing bodies).
    pub registered_visible: bool,
    /// Case-insensitive text that the name, abstract, keywords or items contain.
    pub text: Option<String>,
    /// Page size.
    pub limit: i64,
    /// Rows to skip.
    pub offset: i64,
}

/// Which registration records a list returns.
#[derive(Debug, Clone, Default)]
pub struct RegistrationFilter {
    /// Only these states; all when empty.
    pub states: Vec<RegistrationState>,
    /// Only for this catalog entry.
    pub resource_id: Option<String>,
    /// Only these application kinds; all when empty.
    pub applications: Vec<ApplicationKind>,
    /// Only records filed by these organizations; all when `None`.
    pub registrant_org_ids: Option<Vec<String>>,
    /// Page size.
    pub limit: i64,
    /// Rows to skip.
    pub offset: i64,
}

/// Which public requests a list returns.
#[derive(Debug, Clone, Default)]
pub struct RequestFilter {
    /// Only this kind.
    pub kind: Option<RequestKind>,
    /// Only this state.
    pub state: Option<RequestState>,
    /// Only requests addressed to these organizations; all when `None`.
    pub org_ids: Option<Vec<String>>,
    /// Only requests about this catalog entry.
    pub resource_id: Option<String>,
    /// Page size.
    pub limit: i64,
    /// Rows to skip.
    pub offset: i64,
}

/// Which sharing requests a list returns.
#[derive(Debug, Clone, Default)]
pub struct SharingFilter {
    /// Only these states; all when empty.
    pub states: Vec<SharingState>,
    /// Only requests filed by these organizations.
    pub requester_org_ids: Option<Vec<String>>,
    /// Only requests addressed to these organizations.
    pub provider_org_ids: Option<Vec<String>>,
    /// Only requests these organizations filed or were asked; all when `None`.
    pub involving_org_ids: Option<Vec<String>>,
    /// Only the parts of this scenario bundle.
    pub bundle_id: Option<String>,
    /// Page size.
    pub limit: i64,
    /// Rows to skip.
    pub offset: i64,
}

/// Which grants a list returns, oldest first.
#[derive(Debug, Clone, Default)]
pub struct GrantFilter {
    /// Only grants held by these organizations.
    pub grantee_org_ids: Option<Vec<String>>,
    /// Only grants these organizations hold or gave; all when `None`.
    pub involving_org_ids: Option<Vec<String>>,
    /// Only grants covering this resource.
    pub resource_id: Option<String>,
}

/// Which agreements a list returns, newest first.
#[derive(Debug, Clone, Default)]
pub struct AgreementFilter {
    /// Only this kind.
    pub kind: Option<AgreementKind>,
    /// Only these states; all when empty.
    pub states: Vec<AgreementState>,
    /// Only agreements these organizations give or hold; all when `None`.
    pub involving_org_ids: Option<Vec<String>>,
    /// Page size.
    pub limit: i64,
    /// Rows to skip.
    pub offset: i64,
}

/// Which usage events a list returns, newest first.
#[derive(Debug, Clone, Default)]
pub struct UsageFilter {
    /// Only under this grant.
    pub grant_id: Option<String>,
    /// Only of this resource.
    pub resource_id: Option<String>,
    /// Only events of reads made for these organizations or of their
    /// resources; all when `None`.
    pub visible_to_orgs: Option<Vec<String>>,
    /// Only allowed (or only denied) reads.
    pub allowed: Option<bool>,
    /// Page size.
    pub limit: i64,
    /// Rows to skip.
    pub offset: i64,
}

/// A page of results with the total count.
#[derive(Debug, Clone)]
pub struct Page<T> {
    /// The rows of this page.
    pub items: Vec<T>,
    /// How many rows match in all.
    pub total: i64,
}

/// An item key that another provider's entry holds too.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemMatch {
    /// The compared key.
    pub identity_key: String,
    /// The other provider's entry.
    pub existing_resource_id: String,
}

/// Work inside one transaction. Dropping it without [`Transaction::commit`]
/// rolls everything back.
#[async_trait]
pub trait Transaction: Send {
    /// Makes every change of this transaction durable.
    async fn commit(self: Box<Self>) -> StoreResult<()>;
    /// Tells every server on this database `message` when this transaction
    /// commits, and nobody if it does not (see [`Announcements`]).
    async fn announce(&mut self, message: &str) -> StoreResult<()>;

    /// Adds an organization.
    async fn insert_organization(&mut self, org: &Organization) -> StoreResult<()>;
    /// One organization.
    async fn organization(&mut self, id: &str) -> StoreResult<Organization>;
    /// Every organization, by Chinese name.
    async fn organizations(&mut self) -> StoreResult<Vec<Organization>>;

    /// Adds a user.
    async fn insert_user(&mut self, user: &User) -> StoreResult<()>;
    /// One user.
    async fn user(&mut self, id: &str) -> StoreResult<User>;
    /// One user, by sign-in name.
    async fn user_by_username(&mut self, username: &str) -> StoreResult<User>;
    /// Gives a user a role in an organization (idempotent).
    async fn insert_membership(
        &mut self,
        user_id: &str,
        org_id: &str,
        role: Role,
        at: DateTime<Utc>,
    ) -> StoreResult<()>;
    /// The roles a user holds.
    async fn memberships(&mut self, user_id: &str) -> StoreResult<Vec<MembershipRecord>>;

    /// Stores a new token's hash.
    async fn insert_token(&mut self, token: &ApiToken) -> StoreResult<()>;
    /// The token with this hash.
    async fn token_by_hash(&mut self, token_hash: &str) -> StoreResult<ApiToken>;
    /// One token.
    async fn token(&mut self, id: &str) -> StoreResult<ApiToken>;
    /// A user's tokens, newest first.
    async fn tokens_of(&mut self, user_id: &str) -> StoreResult<Vec<ApiToken>>;
    /// Marks a token revoked.
    async fn revoke_token(&mut self, id: &str, at: DateTime<Utc>) -> StoreResult<()>;

    /// Adds a catalog entry (and its item rows).
    async fn insert_resource(&mut self, resource: &Resource) -> StoreResult<()>;
    /// One catalog entry.
    async fn resource(&mut self, id: &str) -> StoreResult<Resource>;
    /// Writes a changed entry if nobody changed it since `resource.row_version`
    /// was read; bumps the version. Else [`StoreError::Stale`].
    async fn update_resource(&mut self, resource: &Resource) -> StoreResult<Resource>;
    /// The entries with these ids, in no particular order; ids that name
    /// nothing are left out.
    async fn resources_by_ids(&mut self, ids: &[String]) -> StoreResult<Vec<Resource>>;
    /// Entries matching the filter, newest first.
    async fn resources(&mut self, filter: &ResourceFilter) -> StoreResult<Page<Resource>>;
    /// Adds a public request.
    async fn insert_request(&mut self, request: &PublicRequest) -> StoreResult<()>;
    /// One public request.
    async fn request(&mut self, id: &str) -> StoreResult<PublicRequest>;
    /// Writes the answer to a request that is still open; else [`StoreError::Stale`].
    async fn answer_request(&mut self, request: &PublicRequest) -> StoreResult<()>;
    /// Requests matching the filter, newest first.
    async fn requests(&mut self, filter: &RequestFilter) -> StoreResult<Page<PublicRequest>>;
    /// Adds a harvest source; a second one with the same URL is [`StoreError::Duplicate`].
    async fn insert_harvest_source(&mut self, source: &HarvestSource) -> StoreResult<()>;
    /// One harvest source.
    async fn harvest_source(&mut self, id: &str) -> StoreResult<HarvestSource>;
    /// Every harvest source, oldest first.
    async fn harvest_sources(&mut self) -> StoreResult<Vec<HarvestSource>>;
    /// Records a harvest's time and report.
    async fn record_harvest_run(&mut self, source: &HarvestSource) -> StoreResult<()>;
    /// Adds or replaces where a harvested entry came from.
    async fn put_harvest_record(&mut self, record: &HarvestRecord) -> StoreResult<()>;
    /// Where the entries of one source came from.
    async fn harvest_records(&mut self, source_id: &str) -> StoreResult<Vec<HarvestRecord>>;
    /// Where one entry came from, if it was harvested.
    async fn harvest_record(&mut self, resource_id: &str) -> StoreResult<Option<HarvestRecord>>;
    /// The id and `row_version` of every entry in `state`: what a derived
    /// index compares with what it holds.
    async fn resource_row_versions(&mut self, state: ResourceState) -> StoreResult<Vec<(String, i64)>>;
    /// Which of `identity_keys` other providers' submitted or registered
    /// entries (other than `resource_id`) already hold.
    async fn items_held_elsewhere(
        &mut self,
        resource_id: &str,
        provider_org_id: &str,
        identity_keys: &[String],
    ) -> StoreResult<Vec<ItemMatch>>;

    /// Adds a registration record.
    async fn insert_registration(&mut self, registration: &Registration) -> StoreResult<()>;
    /// One registration record.
    async fn registration(&mut self, id: &str) -> StoreResult<Registration>;
    /// Writes a changed record under the same rule as [`Transaction::update_resource`].
    async fn update_registration(&mut self, registration: &Registration) -> StoreResult<Registration>;
    /// Records matching the filter, newest first.
    async fn registrations(&mut self, filter: &RegistrationFilter) -> StoreResult<Page<Registration>>;

    /// Adds an objection.
    async fn insert_objection(&mut self, objection: &Objection) -> StoreResult<()>;
    /// One objection.
    async fn objection(&mut self, id: &str) -> StoreResult<Objection>;
    /// Writes the decision on an objection that is still open; else
    /// [`StoreError::Stale`].
    async fn decide_objection(&mut self, objection: &Objection) -> StoreResult<()>;
    /// The objections to a registration, oldest first.
    async fn objections_of(&mut self, registration_id: &str) -> StoreResult<Vec<Objection>>;

    /// Raises a 一数一源 flag: adds it, or reopens the same item's flag on the
    /// same pair of entries if it was withdrawn. Answers the id of the flag
    /// raised, or `None` when the pair is already flagged or decided.
    async fn raise_duplicate_flag(&mut self, flag: &DuplicateFlag) -> StoreResult<Option<String>>;
    /// One flag.
    async fn duplicate_flag(&mut self, id: &str) -> StoreResult<DuplicateFlag>;
    /// Writes the decision on a flag that is still open; else
    /// [`StoreError::Stale`].
    async fn decide_duplicate_flag(&mut self, flag: &DuplicateFlag) -> StoreResult<()>;
    /// Flags in a state (all when `None`), optionally of one entry (on either side).
    async fn duplicate_flags(
        &mut self,
        state: Option<DuplicateFlagState>,
        resource_id: Option<&str>,
    ) -> StoreResult<Vec<DuplicateFlag>>;

    /// Records a version whose file is already in the data store, numbering
    /// it after the resource's last version; answers the number given.
    async fn insert_version(&mut self, version: &DatasetVersion) -> StoreResult<i64>;
    /// A resource's versions, newest first.
    async fn versions(&mut self, resource_id: &str) -> StoreResult<Vec<DatasetVersion>>;
    /// One version of a resource, by number.
    async fn version(&mut self, resource_id: &str, version: i64) -> StoreResult<DatasetVersion>;

    /// The next sequence number for registration codes with this prefix.
    async fn next_code_sequence(&mut self, prefix: &str) -> StoreResult<i64>;

    /// Appends a history entry; the store assigns `seq`.
    async fn append_history(&mut self, entry: &HistoryEntry) -> StoreResult<()>;
    /// The history of one entity, in order.
    async fn history(&mut self, entity_kind: &str, entity_id: &str) -> StoreResult<Vec<HistoryEntry>>;
    /// Every history step of one kind of entity, in order (for small kinds,
    /// such as the ledger's keys).
    async fn history_of_kind(&mut self, entity_kind: &str) -> StoreResult<Vec<HistoryEntry>>;

    /// Adds a sharing request.
    async fn insert_sharing_request(&mut self, request: &SharingRequest) -> StoreResult<()>;
    /// One sharing request.
    async fn sharing_request(&mut self, id: &str) -> StoreResult<SharingRequest>;
    /// Writes a changed request under the same rule as [`Transaction::update_resource`].
    async fn update_sharing_request(&mut self, request: &SharingRequest) -> StoreResult<SharingRequest>;
    /// Requests matching the filter, newest first.
    async fn sharing_requests(&mut self, filter: &SharingFilter) -> StoreResult<Page<SharingRequest>>;

    /// Adds a scenario bundle.
    async fn insert_bundle(&mut self, bundle: &SharingBundle) -> StoreResult<()>;
    /// One scenario bundle.
    async fn bundle(&mut self, id: &str) -> StoreResult<SharingBundle>;
    /// Writes a bundle's state if `row_version` still matches.
    async fn update_bundle(&mut self, bundle: &SharingBundle) -> StoreResult<SharingBundle>;
    /// The bundles filed by these organizations, or with a part addressed to
    /// them (all when `None`), newest first.
    async fn bundles(&mut self, involving_org_ids: Option<&[String]>) -> StoreResult<Vec<SharingBundle>>;

    /// Adds a grant and indexes the resources it covers.
    async fn insert_grant(&mut self, grant: &Grant) -> StoreResult<()>;
    /// One grant.
    async fn grant(&mut self, id: &str) -> StoreResult<Grant>;
    /// Writes a grant's state and term under the same rule as
    /// [`Transaction::update_resource`]; what it covers never changes, and
    /// its spent budget changes only by charges and refunds.
    async fn update_grant(&mut self, grant: &Grant) -> StoreResult<Grant>;
    /// Grants matching the filter, oldest first.
    async fn grants(&mut self, filter: &GrantFilter) -> StoreResult<Vec<Grant>>;
    /// Charges `micros` of ε to a grant's privacy budget if that much is
    /// left, in one statement, so concurrent queries cannot overspend;
    /// answers whether it was charged.
    async fn charge_privacy_budget(&mut self, grant_id: &str, micros: i64) -> StoreResult<bool>;
    /// Gives back what a query that failed was charged.
    async fn refund_privacy_budget(&mut self, grant_id: &str, micros: i64) -> StoreResult<()>;

    /// Adds an agreement.
    async fn insert_agreement(&mut self, agreement: &Agreement) -> StoreResult<()>;
    /// One agreement.
    async fn agreement(&mut self, id: &str) -> StoreResult<Agreement>;
    /// Writes an agreement's state, terms and record if `row_version`
    /// still matches; answers it with the new version.
    async fn update_agreement(&mut self, agreement: &Agreement) -> StoreResult<Agreement>;
    /// A page of agreements.
    async fn agreements(&mut self, filter: &AgreementFilter) -> StoreResult<Page<Agreement>>;
    /// Appends a holder's usage report; answers its `seq`.
    async fn insert_usage_report(&mut self, report: &UsageReport) -> StoreResult<i64>;
    /// An agreement's usage reports, oldest first.
    async fn usage_reports(&mut self, agreement_id: &str) -> StoreResult<Vec<UsageReport>>;

    /// Adds a duty to the sharing responsibility list.
    async fn insert_duty(&mut self, duty: &SharingDuty) -> StoreResult<()>;
    /// One duty.
    async fn duty(&mut self, id: &str) -> StoreResult<SharingDuty>;
    /// Writes a duty if `row_version` still matches; answers it with the new version.
    async fn update_duty(&mut self, duty: &SharingDuty) -> StoreResult<SharingDuty>;
    /// The duties of these organizations (all when `None`), by first deadline.
    async fn duties(&mut self, org_ids: Option<&[String]>) -> StoreResult<Vec<SharingDuty>>;

    /// Appends a usage event; answers its `seq`.
    async fn insert_usage_event(&mut self, event: &UsageEvent) -> StoreResult<i64>;
    /// Records what left once a streamed read ended.
    async fn complete_usage_event(&mut self, seq: i64, rows_out: Option<i64>, bytes_out: i64) -> StoreResult<()>;
    /// Usage events matching the filter, newest first.
    async fn usage_events(&mut self, filter: &UsageFilter) -> StoreResult<Page<UsageEvent>>;

    // The ledger. `append_history`, `insert_usage_event` and
    // `complete_usage_event` queue their own entries; nothing else needs to.

    /// Queues entries written elsewhere (each with the sequence number of
    /// the record it commits to): key rotations' companions, benchmarks.
    async fn queue_ledger_entries(&mut self, entries: &[(Entry, i64)], at: DateTime<Utc>) -> StoreResult<()>;
    /// The integrated size and root.
    async fn ledger_head(&mut self) -> StoreResult<LedgerHead>;
    /// Gives up to `max_entries` queued entries their place in the tree, in
    /// order of commit, and answers the new head. An entry that commits
    /// later with a lower queue id is taken by the next run.
    async fn integrate_ledger(&mut self, max_entries: usize, now: DateTime<Utc>) -> StoreResult<LedgerHead>;
    /// Entries queued and not yet integrated.
    async fn ledger_pending(&mut self) -> StoreResult<u64>;
    /// The stored hashes of these perfect nodes (missing ones are left out).
    async fn ledger_nodes(&mut self, ids: &[NodeId]) -> StoreResult<HashMap<NodeId, Hash>>;
    /// Integrated entries from index `from`, in order.
    async fn ledger_entries(&mut self, from: u64, limit: u64) -> StoreResult<Vec<LedgerRecord>>;
    /// The integrated entry of one record: `state` and a history `seq`, or
    /// `usage` / `usage_outcome` and a usage event's `seq`.
    async fn ledger_entry_of(&mut self, kind: &str, ref_seq: i64) -> StoreResult<Option<LedgerRecord>>;
    /// Stores a signed checkpoint (one per size).
    async fn insert_checkpoint(&mut self, checkpoint: &StoredCheckpoint) -> StoreResult<()>;
    /// Every checkpoint, by size.
    async fn checkpoints(&mut self) -> StoreResult<Vec<StoredCheckpoint>>;
    /// The largest checkpoint.
    async fn latest_checkpoint(&mut self) -> StoreResult<Option<StoredCheckpoint>>;
    /// The ledger's pseudonym of a person's account id.
    async fn pseudonym(&mut self, account_id: &str) -> StoreResult<String>;

    /// Stores a new freeze.
    async fn insert_freeze(&mut self, freeze: &Freeze) -> StoreResult<()>;
    /// One freeze.
    async fn freeze(&mut self, id: &str) -> StoreResult<Freeze>;
    /// Records a release if `row_version` still matches.
    async fn release_freeze(&mut self, freeze: &Freeze) -> StoreResult<Freeze>;
    /// Every freeze, newest first.
    async fn freezes(&mut self) -> StoreResult<Vec<Freeze>>;
    /// The active freezes on any of these targets.
    async fn active_freezes(&mut self, targets: &[(FreezeTarget, String)]) -> StoreResult<Vec<Freeze>>;
    /// Stores a raised alert.
    async fn insert_alert(&mut self, alert: &Alert) -> StoreResult<()>;
    /// Whether an alert for this episode was raised already.
    async fn alert_raised(&mut self, dedup_key: &str) -> StoreResult<bool>;
    /// One alert.
    async fn alert(&mut self, id: &str) -> StoreResult<Alert>;
    /// Records how an alert was handled if `row_version` still matches.
    async fn update_alert(&mut self, alert: &Alert) -> StoreResult<Alert>;
    /// Alerts, newest first (open and acknowledged only, when asked).
    async fn alerts(&mut self, open_only: bool, limit: i64) -> StoreResult<Vec<Alert>>;
    /// Stores an exemption from the data tracker.
    async fn insert_exemption(&mut self, exemption: &TrackerExemption) -> StoreResult<()>;
    /// Every exemption.
    async fn exemptions(&mut self) -> StoreResult<Vec<TrackerExemption>>;
    /// The ledger index of the last usage entry the monitor has seen (-1
    /// before the first), taking the monitor's lock.
    async fn monitor_cursor(&mut self) -> StoreResult<i64>;
    /// Moves the monitor's cursor from `from` to `to` (stale if another moved it).
    async fn advance_monitor(&mut self, from: i64, to: i64) -> StoreResult<()>;
    /// Usage decisions and outcomes integrated after ledger index `index`,
    /// in the ledger's order (commit order, without gaps), with their events.
    async fn usage_in_ledger_after(&mut self, index: i64, limit: i64) -> StoreResult<Vec<LedgeredUsage>>;
    /// Adds to the daily usage totals.
    async fn add_daily_usage(&mut self, rows: &[DailyUsage]) -> StoreResult<()>;
    /// Daily usage totals between two days (inclusive), by day.
    async fn daily_usage(
        &mut self,
        since: NaiveDate,
        until: NaiveDate,
        dimension: &UsageDimension,
    ) -> StoreResult<Vec<DailyUsage>>;

    /// Stores a new product.
    async fn insert_product(&mut self, product: &Product) -> StoreResult<()>;
    /// Writes a product if `row_version` still matches; answers it with the
    /// new version.
    async fn update_product(&mut self, product: &Product) -> StoreResult<Product>;
    /// One product.
    async fn product(&mut self, id: &str) -> StoreResult<Product>;
    /// Products matching `filter`, newest first.
    async fn products(&mut self, filter: &ProductFilter) -> StoreResult<Vec<Product>>;
    /// Appends a cap or price; answers its sequence number.
    async fn insert_price(&mut self, price: &PriceRecord) -> StoreResult<i64>;
    /// The caps and prices of these products, in order of announcement.
    async fn prices(&mut self, product_ids: &[String]) -> StoreResult<Vec<PriceRecord>>;
    /// Stores (or replaces) an operator's maximum allowed revenue for a year.
    async fn put_ceiling(&mut self, ceiling: &RevenueCeiling) -> StoreResult<()>;
    /// An operator's maximum for a year, if set.
    async fn ceiling(&mut self, operator_org_id: &str, year: i32) -> StoreResult<Option<RevenueCeiling>>;
    /// Every maximum set, by year, newest first.
    async fn ceilings(&mut self, operator_org_id: Option<&str>) -> StoreResult<Vec<RevenueCeiling>>;
    /// Stores a new subscription.
    async fn insert_subscription(&mut self, subscription: &Subscription) -> StoreResult<()>;
    /// Writes a subscription if `row_version` still matches.
    async fn update_subscription(&mut self, subscription: &Subscription) -> StoreResult<Subscription>;
    /// One subscription.
    async fn subscription(&mut self, id: &str) -> StoreResult<Subscription>;
    /// Subscriptions to a product, or of customers, newest first.
    async fn subscriptions(&mut self, filter: &SubscriptionFilter) -> StoreResult<Vec<Subscription>>;
    /// Records a delivery's charge and queues its ledger entry; answers its
    /// sequence number.
    async fn insert_delivery(&mut self, delivery: &Delivery) -> StoreResult<i64>;
    /// Whether a subscription already received a version, and whether it
    /// was served on a day (for per-copy and per-day units).
    async fn delivered_before(
        &mut self,
        subscription_id: &str,
        version: Option<i64>,
        day: NaiveDate,
    ) -> StoreResult<(bool, bool)>;
    /// Deliveries matching `filter`, in order.
    async fn deliveries(&mut self, filter: &DeliveryFilter) -> StoreResult<Vec<Delivery>>;
    /// Totals of the deliveries matching `filter`: fees (fen), deliveries,
    /// free deliveries; summed in the database.
    async fn delivery_totals(&mut self, filter: &DeliveryFilter) -> StoreResult<(i64, i64, i64)>;
    /// Stores a published disclosure report, marking the one it supersedes.
    async fn insert_disclosure(&mut self, disclosure: &Disclosure) -> StoreResult<()>;
    /// One disclosure report.
    async fn disclosure(&mut self, id: &str) -> StoreResult<Disclosure>;
    /// Reports of a year (all years when `None`), newest first.
    async fn disclosures(&mut self, year: Option<i32>, org_id: Option<&str>) -> StoreResult<Vec<Disclosure>>;
}

/// Which products to list.
#[derive(Debug, Clone, Default)]
pub struct ProductFilter {
    /// Only this operator's.
    pub operator_org_id: Option<String>,
    /// Only those under grants of this implementing body.
    pub implementing_org_id: Option<String>,
    /// Only under this agreement.
    pub agreement_id: Option<String>,
    /// Only in these registration states (any when empty).
    pub registration_states: Vec<RegistrationState>,
}

/// Which subscriptions to list.
#[derive(Debug, Clone, Default)]
pub struct SubscriptionFilter {
    /// Only to this product.
    pub product_id: Option<String>,
    /// Only of these customers.
    pub customer_org_ids: Option<Vec<String>>,
}

/// Which deliveries to read.
#[derive(Debug, Clone, Default)]
pub struct DeliveryFilter {
    /// Only to this customer.
    pub customer_org_id: Option<String>,
    /// Only by this operator.
    pub operator_org_id: Option<String>,
    /// Only of this product.
    pub product_id: Option<String>,
    /// From this local day (inclusive).
    pub since: Option<NaiveDate>,
    /// Until this local day (inclusive).
    pub until: Option<NaiveDate>,
}

/// A usage event as the ledger ordered it.
#[derive(Debug, Clone)]
pub struct LedgeredUsage {
    /// The ledger index of its entry.
    pub index: i64,
    /// Whether the entry is the read's outcome (its bytes), not its decision.
    pub outcome: bool,
    /// The event as stored now.
    pub event: UsageEvent,
}

/// Reads of one local day with one key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DailyUsage {
    /// The local day.
    pub day: NaiveDate,
    /// The grant, if one applied.
    pub grant_id: Option<String>,
    /// The organization the read was for.
    pub org_id: Option<String>,
    /// The resource.
    pub resource_id: String,
    /// The stated purpose.
    pub purpose: Option<String>,
    /// The access mode's code.
    pub mode: String,
    /// Allowed or refused.
    pub allowed: bool,
    /// Number of reads.
    pub reads: i64,
    /// Rows that left.
    pub rows_out: i64,
    /// The first usage event counted.
    pub first_seq: i64,
    /// The last.
    pub last_seq: i64,
}

/// Which daily totals to read.
#[derive(Debug, Clone)]
pub enum UsageDimension {
    /// Everything.
    All,
    /// One resource's.
    Resource(String),
    /// These grants'.
    Grants(Vec<String>),
}

/// The integrated part of the ledger.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LedgerHead {
    /// Entries in the tree.
    pub size: u64,
    /// Its root.
    pub root: Hash,
}

/// One integrated ledger entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerRecord {
    /// Its place in the tree.
    pub index: u64,
    /// `state`, `usage` or `usage_outcome`.
    pub kind: String,
    /// The sequence number of the record it commits to.
    pub ref_seq: i64,
    /// The entry's exact text (the leaf's input).
    pub body: String,
    /// The leaf hash stored with it.
    pub leaf_hash: Hash,
    /// When it was written.
    pub queued_at: DateTime<Utc>,
}

/// A signed checkpoint as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredCheckpoint {
    /// Tree size.
    pub size: u64,
    /// Root.
    pub root: Hash,
    /// When it was signed.
    pub issued_at: DateTime<Utc>,
    /// The signed note.
    pub note: String,
}
