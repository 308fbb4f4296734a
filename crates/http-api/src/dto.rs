//! The wire format: request and response bodies, converted by hand from and
//! to domain types, so the domain never learns JSON.
//!
//! Requests reject unknown fields. Codes travel as text; [`ResourceInput`]
//! parses each through its domain type and reports every problem at once.

use chrono::{DateTime, NaiveDate, Utc};
use gongshu_app::{RegistrationView, ResourceView};
use gongshu_domain::error::{optional_text, required_text};
use gongshu_domain::resource::{parse_date, parse_keywords};
use gongshu_domain::{
    ApiToken, DataItem, DataType, DuplicateFlag, HistoryEntry, IdentifierKind, MembershipRecord, Objection,
    OpenAttribute, Organization, RegionCode, Registration, Resource, ResourceClass, ResourceDraft, SecurityLevel,
    ShareAttribute, UpdateCycle, User, Validations,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A share or open attribute.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AttributeDto {
    /// `unconditional`, `conditional` or `not`.
    #[schema(example = "conditional")]
    pub kind: String,
    /// Conditions, when `kind` is `conditional`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conditions: Option<String>,
    /// Legal basis, when `kind` is `not`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub legal_basis: Option<String>,
}

/// A data item (数据项).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ItemDto {
    /// Column name in the data.
    #[schema(example = "adcode")]
    pub name: String,
    /// Standard item name (标准数据项名称); 一数一源 compares it.
    #[schema(example = "行政区划代码")]
    pub title: String,
    /// Standard data element code (数据元标识符).
    #[serde(default)]
    pub standard_code: Option<String>,
    /// `text`, `integer`, `decimal`, `boolean`, `date`, `datetime`.
    pub data_type: String,
    /// Unit of measure.
    #[serde(default)]
    pub unit: Option<String>,
    /// Meaning.
    #[serde(default)]
    pub description: Option<String>,
    /// `direct`, `quasi`, `sensitive` or `none` (GB/T 37964).
    pub identifier_kind: String,
    /// `general-1` … `general-4`, `important`, `core` (GB/T 43697).
    pub level: String,
    /// Set by the bureau's 一数一源 decision; ignored on input.
    #[serde(default)]
    #[schema(read_only)]
    pub source_resource_id: Option<String>,
}

/// Time coverage.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TimeCoverageDto {
    /// First day, `YYYY-MM-DD`.
    #[serde(default)]
    pub start: Option<String>,
    /// Last day, `YYYY-MM-DD`.
    #[serde(default)]
    pub end: Option<String>,
}

/// The editable content of a catalog entry.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResourceInput {
    /// The providing organization: required when creating, absent when
    /// replacing a draft (the provider never changes).
    #[serde(default)]
    pub provider_org_id: Option<String>,
    /// 资源名称.
    pub name_zh: String,
    /// English name.
    #[serde(default)]
    pub name_en: Option<String>,
    /// 摘要.
    pub abstract_zh: String,
    /// English abstract.
    #[serde(default)]
    pub abstract_en: Option<String>,
    /// `basic`, `thematic` or `departmental`.
    pub resource_class: String,
    /// 主题.
    pub theme: String,
    /// Data items; a draft may leave them out and take them from the first
    /// file loaded into it.
    #[serde(default)]
    pub items: Vec<ItemDto>,
    /// 共享属性.
    pub share: AttributeDto,
    /// 开放属性.
    pub open: AttributeDto,
    /// `realtime`, `daily`, `weekly`, `monthly`, `quarterly`, `semiannual`, `annual`, `irregular`.
    pub update_cycle: String,
    /// Time coverage.
    #[serde(default)]
    pub time_coverage: TimeCoverageDto,
    /// GB/T 2260 division code the data covers.
    #[serde(default)]
    pub spatial_coverage: Option<String>,
    /// Licence, e.g. `CC-BY-4.0`.
    #[serde(default)]
    pub license: Option<String>,
    /// Keywords.
    #[serde(default)]
    pub keywords: Vec<String>,
    /// Why the level is what it is.
    #[serde(default)]
    pub classification_rationale: Option<String>,
}

impl ResourceInput {
    /// Parses every field, reporting every problem (prefixed with `prefix`).
    pub fn into_draft(self, prefix: &str) -> Result<ResourceDraft, Validations> {
        let field = |name: &str| format!("{prefix}{name}");
        let mut problems = Validations::default();
        let name_zh = problems.check(required_text(&field("name_zh"), &self.name_zh, 200));
        let name_en = problems.check(optional_text(&field("name_en"), self.name_en.as_deref(), 300)).flatten();
        let abstract_zh = problems.check(required_text(&field("abstract_zh"), &self.abstract_zh, 4000));
        let abstract_en =
            problems.check(optional_text(&field("abstract_en"), self.abstract_en.as_deref(), 8000)).flatten();
        let resource_class = problems.check(ResourceClass::parse(&field("resource_class"), &self.resource_class));
        let theme = problems.check(required_text(&field("theme"), &self.theme, 100));
        let mut items = Vec::new();
        for (i, item) in self.items.into_iter().enumerate() {
            let at = |name: &str| format!("{prefix}items[{i}].{name}");
            let parsed = (
                problems.check(required_text(&at("name"), &item.name, 64)),
                problems.check(required_text(&at("title"), &item.title, 100)),
                problems.check(optional_text(&at("standard_code"), item.standard_code.as_deref(), 64)),
                problems.check(DataType::parse(&at("data_type"), &item.data_type)),
                problems.check(optional_text(&at("unit"), item.unit.as_deref(), 32)),
                problems.check(optional_text(&at("description"), item.description.as_deref(), 1000)),
                problems.check(IdentifierKind::parse(&at("identifier_kind"), &item.identifier_kind)),
                problems.check(SecurityLevel::parse(&at("level"), &item.level)),
            );
            if let (
                Some(name),
                Some(title),
                Some(standard_code),
                Some(data_type),
                Some(unit),
                Some(description),
                Some(identifier_kind),
                Some(level),
            ) = parsed
            {
                items.push(DataItem {
                    name,
                    title,
                    standard_code,
                    data_type,
                    unit,
                    description,
                    identifier_kind,
                    level,
                    source_resource_id: None,
                });
            }
        }
        let share = problems.check(ShareAttribute::parse(
            &field("share"),
            &self.share.kind,
            self.share.conditions.as_deref().or(self.share.legal_basis.as_deref()),
        ));
        let open = problems.check(OpenAttribute::parse(
            &field("open"),
            &self.open.kind,
            self.open.conditions.as_deref().or(self.open.legal_basis.as_deref()),
        ));
        let update_cycle = problems.check(UpdateCycle::parse(&field("update_cycle"), &self.update_cycle));
        let start = self
            .time_coverage
            .start
            .as_deref()
            .filter(|s| !s.trim().is_empty())
            .and_then(|s| problems.check(parse_date(&field("time_coverage.start"), s)));
        let end = self
            .time_coverage
            .end
            .as_deref()
            .filter(|s| !s.trim().is_empty())
            .and_then(|s| problems.check(parse_date(&field("time_coverage.end"), s)));
        let spatial_coverage = self
            .spatial_coverage
            .as_deref()
            .filter(|s| !s.trim().is_empty())
            .and_then(|s| problems.check(RegionCode::parse(&field("spatial_coverage"), s)));
        let license = problems.check(optional_text(&field("license"), self.license.as_deref(), 100)).flatten();
        let keywords = problems.check(parse_keywords(&field("keywords"), &self.keywords));
        let rationale = problems
            .check(optional_text(&field("classification_rationale"), self.classification_rationale.as_deref(), 2000))
            .flatten();
        match (name_zh, abstract_zh, resource_class, theme, share, open, update_cycle, keywords) {
            (
                Some(name_zh),
                Some(abstract_zh),
                Some(resource_class),
                Some(theme),
                Some(share),
                Some(open),
                Some(update_cycle),
                Some(keywords),
            ) if problems.is_empty() => Ok(ResourceDraft {
                name_zh,
                name_en,
                abstract_zh,
                abstract_en,
                // Set only by the bureau's 一数一源 decision.
                lead_collector_org_id: None,
                resource_class,
                theme,
                items,
                share,
                open,
                update_cycle,
                time_coverage_start: start,
                time_coverage_end: end,
                spatial_coverage,
                license,
                keywords,
                classification_rationale: rationale,
            }),
            _ => Err(problems),
        }
    }
}

/// The entry's content as a [`ResourceInput`] would carry it (without the
/// provider), so clients can read it, change it and send it back.
pub fn resource_input_json(resource: &Resource) -> serde_json::Value {
    const INPUT_KEYS: [&str; 15] = [
        "name_zh",
        "name_en",
        "abstract_zh",
        "abstract_en",
        "resource_class",
        "theme",
        "items",
        "share",
        "open",
        "update_cycle",
        "time_coverage",
        "spatial_coverage",
        "license",
        "keywords",
        "classification_rationale",
    ];
    let mut dto = serde_json::to_value(ResourceDto::from(resource)).expect("a resource serializes");
    let object = dto.as_object_mut().expect("a resource is an object");
    object.retain(|key, _| INPUT_KEYS.contains(&key.as_str()));
    if let Some(serde_json::Value::Array(items)) = object.get_mut("items") {
        for item in items.iter_mut().filter_map(|i| i.as_object_mut()) {
            item.remove("source_resource_id");
        }
    }
    dto
}

fn attribute_dto(kind: &str, text: Option<&str>) -> AttributeDto {
    let text = text.map(str::to_owned);
    match kind {
        "conditional" => AttributeDto { kind: kind.into(), conditions: text, legal_basis: None },
        "not" => AttributeDto { kind: kind.into(), conditions: None, legal_basis: text },
        _ => AttributeDto { kind: kind.into(), conditions: None, legal_basis: None },
    }
}

/// A catalog entry.
#[derive(Debug, Serialize, ToSchema)]
pub struct ResourceDto {
    /// Id.
    pub id: String,
    /// Providing organization.
    pub provider_org_id: String,
    /// `draft`, `pending_review`, `registered`, `published`, `unpublished`, `rejected`, `cancelled`.
    pub state: &'static str,
    /// The state in Chinese.
    pub state_zh: &'static str,
    /// 22-digit registration code, once coded.
    pub registration_code: Option<String>,
    /// The strictest item level (就高从严).
    pub level: &'static str,
    /// The level in Chinese.
    pub level_zh: &'static str,
    /// 资源名称.
    pub name_zh: String,
    /// English name.
    pub name_en: Option<String>,
    /// 摘要.
    pub abstract_zh: String,
    /// English abstract.
    pub abstract_en: Option<String>,
    /// Lead collector (一数一源): the provider itself unless the bureau designated another.
    pub lead_collector_org_id: String,
    /// Resource class.
    pub resource_class: &'static str,
    /// Theme.
    pub theme: String,
    /// Data items; a draft may leave them out and take them from the first
    /// file loaded into it.
    #[serde(default)]
    pub items: Vec<ItemDto>,
    /// 共享属性.
    pub share: AttributeDto,
    /// 开放属性.
    pub open: AttributeDto,
    /// Update cycle.
    pub update_cycle: &'static str,
    /// Time coverage.
    pub time_coverage: TimeCoverageDto,
    /// Division covered.
    pub spatial_coverage: Option<String>,
    /// Licence.
    pub license: Option<String>,
    /// Keywords.
    pub keywords: Vec<String>,
    /// Why the level is what it is.
    pub classification_rationale: Option<String>,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
    /// Last published.
    pub published_at: Option<DateTime<Utc>>,
}

impl From<&Resource> for ResourceDto {
    fn from(resource: &Resource) -> Self {
        let draft = &resource.draft;
        let (share_kind, share_text) = draft.share.parts();
        let (open_kind, open_text) = draft.open.parts();
        ResourceDto {
            id: resource.id.clone(),
            provider_org_id: resource.provider_org_id.clone(),
            state: resource.state.code(),
            state_zh: resource.state.label_zh(),
            registration_code: resource.registration_code.as_ref().map(|c| c.as_str().to_owned()),
            level: draft.level().code(),
            level_zh: draft.level().label_zh(),
            name_zh: draft.name_zh.clone(),
            name_en: draft.name_en.clone(),
            abstract_zh: draft.abstract_zh.clone(),
            abstract_en: draft.abstract_en.clone(),
            lead_collector_org_id: draft
                .lead_collector_org_id
                .clone()
                .unwrap_or_else(|| resource.provider_org_id.clone()),
            resource_class: draft.resource_class.code(),
            theme: draft.theme.clone(),
            items: draft
                .items
                .iter()
                .map(|item| ItemDto {
                    name: item.name.clone(),
                    title: item.title.clone(),
                    standard_code: item.standard_code.clone(),
                    data_type: item.data_type.code().into(),
                    unit: item.unit.clone(),
                    description: item.description.clone(),
                    identifier_kind: item.identifier_kind.code().into(),
                    level: item.level.code().into(),
                    source_resource_id: item.source_resource_id.clone(),
                })
                .collect(),
            share: attribute_dto(share_kind, share_text),
            open: attribute_dto(open_kind, open_text),
            update_cycle: draft.update_cycle.code(),
            time_coverage: TimeCoverageDto {
                start: draft.time_coverage_start.map(|d| d.to_string()),
                end: draft.time_coverage_end.map(|d| d.to_string()),
            },
            spatial_coverage: draft.spatial_coverage.as_ref().map(|r| r.as_str().to_owned()),
            license: draft.license.clone(),
            keywords: draft.keywords.clone(),
            classification_rationale: draft.classification_rationale.clone(),
            created_at: resource.created_at,
            updated_at: resource.updated_at,
            published_at: resource.published_at,
        }
    }
}

/// A catalog entry with what is pending on it.
#[derive(Debug, Serialize, ToSchema)]
pub struct ResourceDetailDto {
    /// The entry.
    #[serde(flatten)]
    pub resource: ResourceDto,
    /// Its registration under way.
    pub pending_registration: Option<RegistrationDto>,
    /// 一数一源 flags involving it.
    pub duplicate_flags: Vec<DuplicateFlagDto>,
}

impl ResourceDetailDto {
    /// Builds the view for `today`.
    pub fn new(view: &ResourceView, today: NaiveDate) -> Self {
        ResourceDetailDto {
            resource: ResourceDto::from(&view.resource),
            pending_registration: view.pending_registration.as_ref().map(|r| RegistrationDto::new(r, today)),
            duplicate_flags: view.duplicate_flags.iter().map(DuplicateFlagDto::from).collect(),
        }
    }
}

/// A page of results.
#[derive(Debug, Serialize, ToSchema)]
pub struct PageDto<T> {
    /// This page.
    pub items: Vec<T>,
    /// All matches.
    pub total: i64,
    /// Page size.
    pub limit: i64,
    /// Rows skipped.
    pub offset: i64,
}

/// A registration record.
#[derive(Debug, Serialize, ToSchema)]
pub struct RegistrationDto {
    /// Id.
    pub id: String,
    /// The catalog entry.
    pub resource_id: String,
    /// `initial`, `change`, `correction`, `cancellation`.
    pub application: &'static str,
    /// The kind in Chinese.
    pub application_zh: &'static str,
    /// Workflow state.
    pub state: &'static str,
    /// The state in Chinese.
    pub state_zh: &'static str,
    /// 登记主体.
    pub registrant_org_id: String,
    /// Why it was filed.
    pub reason: Option<String>,
    /// Proposed content (change, correction).
    pub proposed: Option<ResourceInputEcho>,
    /// 22-digit code once coded.
    pub code: Option<String>,
    /// Last submitted.
    pub submitted_at: DateTime<Utc>,
    /// Day the current state began.
    pub state_since: NaiveDate,
    /// Day by which the bureau must act.
    pub due_date: Option<NaiveDate>,
    /// Whether that day has passed.
    pub overdue: bool,
    /// Publicity window.
    pub publicity_start: Option<NaiveDate>,
    /// Last day of publicity.
    pub publicity_end: Option<NaiveDate>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
}

/// Proposed content, as a catalog entry would show it.
#[derive(Debug, Serialize, ToSchema)]
pub struct ResourceInputEcho {
    /// Name.
    pub name_zh: String,
    /// Level.
    pub level: &'static str,
    /// Share attribute kind.
    pub share: AttributeDto,
    /// Open attribute kind.
    pub open: AttributeDto,
    /// Item names.
    pub items: Vec<String>,
}

impl RegistrationDto {
    /// Builds the view for `today`.
    pub fn new(r: &Registration, today: NaiveDate) -> Self {
        RegistrationDto {
            id: r.id.clone(),
            resource_id: r.resource_id.clone(),
            application: r.application.code(),
            application_zh: r.application.label_zh(),
            state: r.state.code(),
            state_zh: r.state.label_zh(),
            registrant_org_id: r.registrant_org_id.clone(),
            reason: r.reason.clone(),
            proposed: r.proposed.as_ref().map(|p| {
                let (share_kind, share_text) = p.share.parts();
                let (open_kind, open_text) = p.open.parts();
                ResourceInputEcho {
                    name_zh: p.name_zh.clone(),
                    level: p.level().code(),
                    share: attribute_dto(share_kind, share_text),
                    open: attribute_dto(open_kind, open_text),
                    items: p.items.iter().map(|i| i.name.clone()).collect(),
                }
            }),
            code: r.code.as_ref().map(|c| c.as_str().to_owned()),
            submitted_at: r.submitted_at,
            state_since: r.state_since,
            due_date: r.due_date,
            overdue: r.state.awaits_bureau() && r.due_date.is_some_and(|due| today > due),
            publicity_start: r.publicity_start,
            publicity_end: r.publicity_end,
            updated_at: r.updated_at,
        }
    }
}

/// A registration with its entry and objections.
#[derive(Debug, Serialize, ToSchema)]
pub struct RegistrationDetailDto {
    /// The record.
    #[serde(flatten)]
    pub registration: RegistrationDto,
    /// The entry as registered now; absent when the caller may not see it
    /// (it is always shown during publicity).
    pub resource: Option<ResourceDto>,
    /// Objections.
    pub objections: Vec<ObjectionDto>,
}

impl RegistrationDetailDto {
    /// Builds the view for `today`.
    pub fn new(view: &RegistrationView, today: NaiveDate) -> Self {
        let mut registration = RegistrationDto::new(&view.registration, today);
        registration.overdue = view.overdue;
        RegistrationDetailDto {
            registration,
            resource: view.resource.as_ref().map(ResourceDto::from),
            objections: view.objections.iter().map(ObjectionDto::from).collect(),
        }
    }
}

/// An objection.
#[derive(Debug, Serialize, ToSchema)]
pub struct ObjectionDto {
    /// Id.
    pub id: String,
    /// The registration.
    pub registration_id: String,
    /// What is claimed.
    pub claim: String,
    /// `open`, `dismissed`, `upheld`.
    pub state: &'static str,
    /// The bureau's finding.
    pub opinion: Option<String>,
    /// Raised.
    pub created_at: DateTime<Utc>,
    /// Decided.
    pub resolved_at: Option<DateTime<Utc>>,
}

impl From<&Objection> for ObjectionDto {
    fn from(o: &Objection) -> Self {
        ObjectionDto {
            id: o.id.clone(),
            registration_id: o.registration_id.clone(),
            claim: o.claim.clone(),
            state: o.state.code(),
            opinion: o.opinion.clone(),
            created_at: o.created_at,
            resolved_at: o.resolved_at,
        }
    }
}

/// A 一数一源 flag.
#[derive(Debug, Serialize, ToSchema)]
pub struct DuplicateFlagDto {
    /// Id.
    pub id: String,
    /// Standard item name.
    pub item_title: String,
    /// Compared key.
    pub identity_key: String,
    /// The entry that registered the item second.
    pub resource_id: String,
    /// The entry that had it first.
    pub existing_resource_id: String,
    /// `open`, `lead_designated`, `dismissed`.
    pub state: &'static str,
    /// The designated lead collector.
    pub lead_org_id: Option<String>,
    /// The bureau's opinion.
    pub opinion: Option<String>,
    /// Raised.
    pub created_at: DateTime<Utc>,
}

impl From<&DuplicateFlag> for DuplicateFlagDto {
    fn from(f: &DuplicateFlag) -> Self {
        DuplicateFlagDto {
            id: f.id.clone(),
            item_title: f.item_title.clone(),
            identity_key: f.identity_key.clone(),
            resource_id: f.resource_id.clone(),
            existing_resource_id: f.existing_resource_id.clone(),
            state: f.state.code(),
            lead_org_id: f.lead_org_id.clone(),
            opinion: f.opinion.clone(),
            created_at: f.created_at,
        }
    }
}

/// A history step.
#[derive(Debug, Serialize, ToSchema)]
pub struct HistoryDto {
    /// Order.
    pub seq: i64,
    /// Who (user id, or `system`).
    pub actor: Option<String>,
    /// What.
    pub action: String,
    /// State before.
    pub from_state: Option<String>,
    /// State after.
    pub to_state: Option<String>,
    /// Opinion given.
    pub opinion: Option<String>,
    /// When.
    pub at: DateTime<Utc>,
}

impl From<&HistoryEntry> for HistoryDto {
    fn from(h: &HistoryEntry) -> Self {
        HistoryDto {
            seq: h.seq,
            actor: h.actor_user_id.clone(),
            action: h.action.clone(),
            from_state: h.from_state.clone(),
            to_state: h.to_state.clone(),
            opinion: h.opinion.clone(),
            at: h.at,
        }
    }
}

/// An organization.
#[derive(Debug, Serialize, ToSchema)]
pub struct OrganizationDto {
    /// Id.
    pub id: String,
    /// 统一社会信用代码.
    pub code: Option<String>,
    /// Chinese name.
    pub name_zh: String,
    /// English name.
    pub name_en: Option<String>,
    /// Kind code.
    pub kind: &'static str,
    /// Kind in Chinese.
    pub kind_zh: &'static str,
    /// Division code.
    pub region: String,
    /// Parent.
    pub parent_id: Option<String>,
    /// Created.
    pub created_at: DateTime<Utc>,
}

impl From<&Organization> for OrganizationDto {
    fn from(o: &Organization) -> Self {
        OrganizationDto {
            id: o.id.clone(),
            code: o.code.as_ref().map(|c| c.as_str().to_owned()),
            name_zh: o.name_zh.clone(),
            name_en: o.name_en.clone(),
            kind: o.kind.code(),
            kind_zh: o.kind.label_zh(),
            region: o.region.as_str().to_owned(),
            parent_id: o.parent_id.clone(),
            created_at: o.created_at,
        }
    }
}

/// A new organization.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OrganizationInput {
    /// 统一社会信用代码 (18 characters, check character verified).
    #[serde(default)]
    pub code: Option<String>,
    /// Chinese name.
    pub name_zh: String,
    /// English name.
    #[serde(default)]
    pub name_en: Option<String>,
    /// `data_bureau`, `implementing_body`, `department`, `operator`, `enterprise`, `auditor`.
    pub kind: String,
    /// GB/T 2260 code.
    pub region: String,
    /// Parent organization.
    #[serde(default)]
    pub parent_id: Option<String>,
}

/// A role in an organization.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RoleDto {
    /// Organization.
    pub org_id: String,
    /// `admin`, `cataloguer`, `reviewer`, `viewer`.
    pub role: String,
}

/// A user.
#[derive(Debug, Serialize, ToSchema)]
pub struct UserDto {
    /// Id.
    pub id: String,
    /// Sign-in name.
    pub username: String,
    /// Display name.
    pub display_name: String,
    /// Platform operator.
    pub system_admin: bool,
    /// Roles held.
    pub roles: Vec<RoleDto>,
    /// Created.
    pub created_at: DateTime<Utc>,
}

impl UserDto {
    /// A user with roles.
    pub fn new(user: &User, roles: &[MembershipRecord]) -> Self {
        UserDto {
            id: user.id.clone(),
            username: user.username.clone(),
            display_name: user.display_name.clone(),
            system_admin: user.system_admin,
            roles: roles.iter().map(|m| RoleDto { org_id: m.org_id.clone(), role: m.role.code().into() }).collect(),
            created_at: user.created_at,
        }
    }
}

/// A new user.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserInput {
    /// Sign-in name.
    pub username: String,
    /// Display name.
    pub display_name: String,
    /// Password (≥ 10 characters); omit for token-only accounts.
    #[serde(default)]
    pub password: Option<String>,
    /// Platform operator (system administrators only).
    #[serde(default)]
    pub system_admin: bool,
    /// Roles.
    #[serde(default)]
    pub roles: Vec<RoleDto>,
}

/// An API token (never its secret, except once on creation).
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenDto {
    /// Id.
    pub id: String,
    /// Name.
    pub name: String,
    /// First characters, to tell tokens apart.
    pub prefix: String,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Expiry.
    pub expires_at: Option<DateTime<Utc>>,
    /// Revocation.
    pub revoked_at: Option<DateTime<Utc>>,
    /// The token itself: present only in the answer that created it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
}

impl From<&ApiToken> for TokenDto {
    fn from(t: &ApiToken) -> Self {
        TokenDto {
            id: t.id.clone(),
            name: t.name.clone(),
            prefix: t.prefix.clone(),
            created_at: t.created_at,
            expires_at: t.expires_at,
            revoked_at: t.revoked_at,
            token: None,
        }
    }
}

/// A new token.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenInput {
    /// Name.
    pub name: String,
    /// Days until expiry (1–3650); none for no expiry.
    #[serde(default)]
    pub expires_in_days: Option<u32>,
}

/// Signing in.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginInput {
    /// Sign-in name.
    pub username: String,
    /// Password.
    pub password: String,
    /// Name for the token issued.
    #[serde(default = "default_token_name")]
    pub token_name: String,
    /// Days until expiry.
    #[serde(default)]
    pub expires_in_days: Option<u32>,
}

fn default_token_name() -> String {
    "signed in".into()
}

/// An opinion (意见) accompanying a decision.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OpinionInput {
    /// The opinion; required for returns, rejections and unpublishing.
    #[serde(default)]
    pub opinion: Option<String>,
}

/// A change, correction or cancellation registration.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FilingInput {
    /// `change`, `correction` or `cancellation`.
    pub application: String,
    /// Why.
    pub reason: String,
    /// New content (change, correction).
    #[serde(default)]
    pub proposed: Option<ResourceInput>,
}

/// An objection.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ObjectionInput {
    /// What is wrong with the registration, and the evidence.
    pub claim: String,
}

/// The bureau's finding on an objection.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ObjectionDecisionInput {
    /// `dismiss`, `uphold_return` or `uphold_reject`.
    pub decision: String,
    /// The finding.
    pub opinion: String,
}

/// The bureau's decision on a 一数一源 flag.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DuplicateDecisionInput {
    /// `designate_lead` or `dismiss`.
    pub decision: String,
    /// The lead collector (`designate_lead`).
    #[serde(default)]
    pub lead_org_id: Option<String>,
    /// The reasoning.
    pub opinion: String,
}

/// The caller.
#[derive(Debug, Serialize, ToSchema)]
pub struct MeDto {
    /// The user, or none for the public.
    pub user: Option<UserDto>,
}
