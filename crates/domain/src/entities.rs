//! The stored entities: what the metadata store keeps and hands back. Each
//! carries its id, timestamps and workflow state around the validated
//! content types of the other modules.

use chrono::{DateTime, NaiveDate, Utc};

use crate::codes::{OrgCode, RegionCode, RegistrationCode};
use crate::org::{OrgKind, Role};
use crate::registration::{ApplicationKind, RegistrationState};
use crate::resource::{ResourceDraft, ResourceState};

/// An organization: bureau, department, operator, …
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Organization {
    /// Stable id.
    pub id: String,
    /// 统一社会信用代码, when known.
    pub code: Option<OrgCode>,
    /// Chinese name, unique.
    pub name_zh: String,
    /// English name.
    pub name_en: Option<String>,
    /// What kind of organization.
    pub kind: OrgKind,
    /// Division it belongs to.
    pub region: RegionCode,
    /// Parent organization.
    pub parent_id: Option<String>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
}

/// A person (or a machine account) who signs in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// Stable id.
    pub id: String,
    /// Unique sign-in name.
    pub username: String,
    /// Name shown to people.
    pub display_name: String,
    /// Argon2 PHC string; `None` for token-only accounts.
    pub password_hash: Option<String>,
    /// Platform operator.
    pub system_admin: bool,
    /// When it was created.
    pub created_at: DateTime<Utc>,
}

/// A role held by a user in an organization.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MembershipRecord {
    /// The user.
    pub user_id: String,
    /// The organization.
    pub org_id: String,
    /// The organization's kind, joined in for policy decisions.
    pub org_kind: OrgKind,
    /// The role.
    pub role: Role,
}

/// An API token as stored: only its hash, never the token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiToken {
    /// Stable id.
    pub id: String,
    /// Owner.
    pub user_id: String,
    /// What the owner called it.
    pub name: String,
    /// SHA-256 of the token, hex.
    pub token_hash: String,
    /// The first characters of the token, so people can tell tokens apart.
    pub prefix: String,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Stops working at this time.
    pub expires_at: Option<DateTime<Utc>>,
    /// Revoked at this time.
    pub revoked_at: Option<DateTime<Utc>>,
}

/// A catalog entry (目录条目).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resource {
    /// Stable id.
    pub id: String,
    /// 数据提供方.
    pub provider_org_id: String,
    /// Lifecycle state.
    pub state: ResourceState,
    /// Code assigned when its initial registration was coded.
    pub registration_code: Option<RegistrationCode>,
    /// The registered (or draft) content.
    pub draft: ResourceDraft,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
    /// Last published.
    pub published_at: Option<DateTime<Utc>>,
    /// Optimistic-concurrency counter, bumped by every write.
    pub row_version: i64,
}

/// A registration record (登记记录).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Registration {
    /// Stable id.
    pub id: String,
    /// The catalog entry it registers.
    pub resource_id: String,
    /// 首次 / 变更 / 更正 / 注销.
    pub application: ApplicationKind,
    /// Workflow state.
    pub state: RegistrationState,
    /// 登记主体.
    pub registrant_org_id: String,
    /// Why the registrant files it (required for change, correction, cancellation).
    pub reason: Option<String>,
    /// The content a change or correction proposes.
    pub proposed: Option<ResourceDraft>,
    /// Assigned on coding.
    pub code: Option<RegistrationCode>,
    /// When it was (last) submitted.
    pub submitted_at: DateTime<Utc>,
    /// Day its current state began.
    pub state_since: NaiveDate,
    /// The day by which the bureau must act in the current state.
    pub due_date: Option<NaiveDate>,
    /// First day of publicity.
    pub publicity_start: Option<NaiveDate>,
    /// Last day of publicity.
    pub publicity_end: Option<NaiveDate>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
    /// Optimistic-concurrency counter.
    pub row_version: i64,
}

/// An objection (异议) to a registration in publicity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Objection {
    /// Stable id.
    pub id: String,
    /// The registration objected to.
    pub registration_id: String,
    /// Who objected.
    pub objector_user_id: String,
    /// What they claim.
    pub claim: String,
    /// `open`, `dismissed` or `upheld`.
    pub state: ObjectionState,
    /// The bureau's finding.
    pub opinion: Option<String>,
    /// Raised.
    pub created_at: DateTime<Utc>,
    /// Decided.
    pub resolved_at: Option<DateTime<Utc>>,
}

crate::codes::code_enum! {
    /// Where an objection stands.
    pub enum ObjectionState {
        /// Being verified.
        Open = ("open", "核实中"),
        /// Found groundless.
        Dismissed = ("dismissed", "异议不成立"),
        /// Found right.
        Upheld = ("upheld", "异议成立"),
    }
}

/// A 一数一源 flag: two providers registered the same data item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DuplicateFlag {
    /// Stable id.
    pub id: String,
    /// The compared key ([`crate::DataItem::identity_key`]).
    pub identity_key: String,
    /// The item's standard name, for people.
    pub item_title: String,
    /// The entry that registered the item second.
    pub resource_id: String,
    /// The entry that had it first.
    pub existing_resource_id: String,
    /// Where the flag stands.
    pub state: DuplicateFlagState,
    /// The lead collector the bureau designated.
    pub lead_org_id: Option<String>,
    /// The bureau's opinion.
    pub opinion: Option<String>,
    /// Raised.
    pub created_at: DateTime<Utc>,
    /// Decided.
    pub resolved_at: Option<DateTime<Utc>>,
}

crate::codes::code_enum! {
    /// Where a 一数一源 flag stands.
    pub enum DuplicateFlagState {
        /// Waiting for the bureau.
        Open = ("open", "待认定"),
        /// The bureau designated the lead collector.
        LeadDesignated = ("lead_designated", "已认定牵头采集单位"),
        /// Not the same item after all.
        Dismissed = ("dismissed", "非重复"),
        /// The flagged entry left registration (returned, withdrawn,
        /// rejected); raised again if it comes back.
        Withdrawn = ("withdrawn", "已撤销"),
    }
}

/// One step in the history of anything with a workflow: who did what, from
/// which state to which, with which opinion, when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryEntry {
    /// Order of writing; assigned by the store.
    pub seq: i64,
    /// `organization`, `user`, `token`, `resource`, `registration`,
    /// `objection` or `duplicate_flag`.
    pub entity_kind: &'static str,
    /// The entity's id.
    pub entity_id: String,
    /// The acting user; `None` for the system itself.
    pub actor_user_id: Option<String>,
    /// The action's code.
    pub action: String,
    /// State before.
    pub from_state: Option<String>,
    /// State after.
    pub to_state: Option<String>,
    /// 意见.
    pub opinion: Option<String>,
    /// When.
    pub at: DateTime<Utc>,
}

/// Entity kinds a [`HistoryEntry`] may name.
pub const ENTITY_KINDS: &[&str] = &[
    "organization",
    "user",
    "token",
    "resource",
    "registration",
    "objection",
    "duplicate_flag",
    "request",
    "harvest_source",
    "sharing_request",
    "grant",
    "agreement",
    "sharing_duty",
    "sharing_bundle",
    "ledger_key",
    "freeze",
    "alert",
    "tracker_exemption",
    "product",
    "subscription",
    "revenue_ceiling",
    "disclosure",
];

/// One immutable version of a resource's data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatasetVersion {
    /// Stable id (also names its folder in the data store).
    pub id: String,
    /// The resource.
    pub resource_id: String,
    /// 1, 2, 3 … per resource.
    pub version: i64,
    /// Where its Parquet file is in the data store.
    pub location: String,
    /// Data rows.
    pub row_count: i64,
    /// Size of the Parquet file.
    pub parquet_bytes: i64,
    /// Size of the file it was loaded from.
    pub source_bytes: i64,
    /// SHA-256 of the Parquet file, hex.
    pub content_hash: String,
    /// Name of the file it was loaded from.
    pub source_name: String,
    /// Columns and types, as JSON (written by ingest).
    pub schema_json: String,
    /// How it was read (encoding, delimiter, header line, warnings), as JSON.
    pub load_json: String,
    /// Quality profile, as JSON.
    pub profile_json: String,
    /// Who loaded it.
    pub created_by: Option<String>,
    /// When.
    pub created_at: DateTime<Utc>,
}
