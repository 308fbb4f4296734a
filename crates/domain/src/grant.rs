//! Grants (授权): the one object that says how a subject may touch data that
//! is not unconditionally open. Sharing approvals (政务共享), conditional-open
//! agreements (有条件开放) and authorized operation (授权运营) all produce
//! grants; the access gateway enforces them on every read.
//!
//! A grant names, per resource, the columns it exposes, the masks applied to
//! them and a row filter; for the grant as a whole the access modes, purpose,
//! term, minimum group size and privacy budget. [`Grant::permits`] is the
//! decision: deny by default, with the server's clock.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::codes::code_enum;
use crate::error::{InvalidTransition, ValidationError, Validations};
use crate::resource::{DataItem, DataType, IdentifierKind, SecurityLevel};

code_enum! {
    /// How a grant lets its holder touch the data.
    #[derive(PartialOrd, Ord)]
    pub enum AccessMode {
        /// 下载: files of the shaped view.
        Download = ("download", "下载"),
        /// 查询: rows of the shaped view, page by page or by SQL.
        Query = ("query", "查询"),
        /// 仅统计（可用不可见）: aggregates only, small groups suppressed.
        Aggregate = ("aggregate", "仅统计（可用不可见）"),
        /// 核验: yes or no to "does this record match?", never the record.
        Verify = ("verify", "核验"),
    }
}

code_enum! {
    /// Which workflow produced a grant.
    pub enum GrantBasis {
        /// 政务共享: a department's approved sharing request.
        Sharing = ("sharing", "政务共享"),
        /// 有条件开放: an approved conditional-open application.
        ConditionalOpen = ("conditional_open", "有条件开放"),
        /// 授权运营: an authorized-operation agreement.
        Operation = ("operation", "授权运营"),
    }
}

code_enum! {
    /// Whether a grant is in force. Expiry is not a state: it follows from
    /// the term and the clock, so it takes effect without anyone acting.
    pub enum GrantState {
        /// 生效.
        Active = ("active", "生效"),
        /// 暂停: reads stop until it is resumed.
        Suspended = ("suspended", "暂停"),
        /// 撤销: ended for good.
        Revoked = ("revoked", "已撤销"),
    }
}

code_enum! {
    /// What may be done to a grant.
    pub enum GrantAction {
        /// Stop reads for now.
        Suspend = ("suspend", "暂停"),
        /// Let reads go on.
        Resume = ("resume", "恢复"),
        /// End it.
        Revoke = ("revoke", "撤销"),
    }
}

impl GrantState {
    /// The state after `action`, or why it is not possible now.
    pub fn apply(self, action: GrantAction) -> Result<GrantState, InvalidTransition> {
        match (self, action) {
            (GrantState::Active, GrantAction::Suspend) => Ok(GrantState::Suspended),
            (GrantState::Suspended, GrantAction::Resume) => Ok(GrantState::Active),
            (GrantState::Active | GrantState::Suspended, GrantAction::Revoke) => Ok(GrantState::Revoked),
            _ => Err(InvalidTransition { entity: "grant", action: action.code(), current: self.code() }),
        }
    }
}

/// How a column's values are disguised before they leave.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Mask {
    /// A keyed hash (HMAC-SHA-256 with the grant's own key): equal values
    /// stay equal within the grant, so they can still be counted and
    /// joined, but cannot be compared with another grant's.
    Hash,
    /// Keep the first `n` characters, replace the rest with `*`.
    KeepFirst {
        /// Characters kept.
        n: u8,
    },
    /// Keep the last `n` characters, replace the rest with `*`.
    KeepLast {
        /// Characters kept.
        n: u8,
    },
    /// A date or time generalized to its year (`2024`).
    Year,
    /// A date or time generalized to its month (`2024-03`).
    Month,
    /// A region code (GB/T 2260) generalized to its first `digits` digits,
    /// the rest zero: `330106` with 4 digits is `330100`.
    RegionPrefix {
        /// Digits kept: 2 (province), 4 (city) or 6 (county).
        digits: u8,
    },
    /// Always null: the column is listed but its values are withheld.
    Null,
}

impl Mask {
    /// Short text for people, e.g. `keep_first(3)`.
    pub fn describe(self) -> String {
        match self {
            Mask::Hash => "hash".into(),
            Mask::KeepFirst { n } => format!("keep_first({n})"),
            Mask::KeepLast { n } => format!("keep_last({n})"),
            Mask::Year => "year".into(),
            Mask::Month => "month".into(),
            Mask::RegionPrefix { digits } => format!("region_prefix({digits})"),
            Mask::Null => "null".into(),
        }
    }

    /// Parses the text form [`Mask::describe`] writes (`keep_first(3)`),
    /// also accepting `keep_first:3`.
    pub fn parse(field: &str, text: &str) -> Result<Mask, ValidationError> {
        let text = text.trim();
        let (name, argument) = match text.split_once(['(', ':']) {
            Some((name, rest)) => (name.trim(), Some(rest.trim_end_matches(')').trim())),
            None => (text, None),
        };
        let number = |max: u8| -> Result<u8, ValidationError> {
            argument.and_then(|a| a.parse::<u8>().ok()).filter(|n| (1..=max).contains(n)).ok_or_else(|| {
                ValidationError::new(
                    field,
                    format!("`{text}` needs a number from 1 to {max}, as in {name}(3)"),
                    format!("`{text}` 需要 1 至 {max} 之间的数字，如 {name}(3)"),
                )
            })
        };
        match name {
            "hash" => Ok(Mask::Hash),
            "keep_first" => Ok(Mask::KeepFirst { n: number(64)? }),
            "keep_last" => Ok(Mask::KeepLast { n: number(64)? }),
            "year" => Ok(Mask::Year),
            "month" => Ok(Mask::Month),
            "region_prefix" => Ok(Mask::RegionPrefix { digits: number(12)? }),
            "null" => Ok(Mask::Null),
            _ => Err(ValidationError::unknown_code(
                field,
                text,
                &["hash", "keep_first(n)", "keep_last(n)", "year", "month", "region_prefix(n)", "null"],
            )),
        }
    }

    /// Whether the mask can apply to an item of type `data_type`.
    fn fits(self, data_type: DataType) -> bool {
        match self {
            Mask::Year | Mask::Month => matches!(data_type, DataType::Date | DataType::DateTime),
            Mask::RegionPrefix { digits } => {
                matches!(data_type, DataType::Text | DataType::Integer) && matches!(digits, 2 | 4 | 6 | 9)
            }
            Mask::KeepFirst { n } | Mask::KeepLast { n } => n > 0,
            Mask::Hash | Mask::Null => true,
        }
    }
}

code_enum! {
    /// How a row condition compares.
    pub enum RowOp {
        /// Equal to the one value.
        Eq = ("eq", "等于"),
        /// Equal to one of the values.
        In = ("in", "属于"),
        /// Starts with the value (a region code's prefix, say).
        Prefix = ("prefix", "前缀为"),
        /// At least the value.
        Gte = ("gte", "不小于"),
        /// At most the value.
        Lte = ("lte", "不大于"),
    }
}

/// One condition of a row filter; a row is granted when it meets them all.
/// It is structured, never SQL text, so nothing a grant says can change the
/// shape of the query it filters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RowCondition {
    /// The column compared (a data item's name).
    pub column: String,
    /// How.
    pub op: RowOp,
    /// With what: one value, or several for `in`.
    pub values: Vec<String>,
}

/// What a grant exposes of one resource.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GrantedResource {
    /// The catalog entry.
    pub resource_id: String,
    /// Columns exposed, in this order. Every other column is absent.
    pub columns: Vec<String>,
    /// Masks on exposed columns.
    #[serde(default)]
    pub masks: BTreeMap<String, Mask>,
    /// Rows exposed: those meeting every condition. Empty: all rows.
    #[serde(default)]
    pub row_filter: Vec<RowCondition>,
}

impl GrantedResource {
    /// Checks this part of a grant against the resource's data items and
    /// the modes granted; `at` names the position in the grant for errors.
    pub fn validate(
        &self,
        at: &str,
        items: &[DataItem],
        level: SecurityLevel,
        modes: &[AccessMode],
        basis: GrantBasis,
    ) -> Result<(), Validations> {
        let mut problems = Validations::default();
        let item = |name: &str| items.iter().find(|item| item.name == name);
        if self.columns.is_empty() {
            problems.push(ValidationError::new(
                format!("{at}.columns"),
                "grant at least one column",
                "请至少授权一个数据项",
            ));
        }
        for (i, column) in self.columns.iter().enumerate() {
            if item(column).is_none() {
                problems.push(unknown_column(&format!("{at}.columns[{i}]"), column));
            }
            if self.columns[..i].contains(column) {
                problems.push(ValidationError::new(
                    format!("{at}.columns[{i}]"),
                    format!("column `{column}` is listed twice"),
                    format!("数据项 `{column}` 重复"),
                ));
            }
        }
        for (column, mask) in &self.masks {
            let field = format!("{at}.masks.{column}");
            match item(column) {
                None => problems.push(unknown_column(&field, column)),
                Some(_) if !self.columns.contains(column) => problems.push(ValidationError::new(
                    field,
                    format!("`{column}` is masked but not granted; add it to the columns or drop the mask"),
                    format!("数据项 `{column}` 设置了脱敏但未授权；请将其加入授权数据项或删除脱敏规则"),
                )),
                Some(item) if !mask.fits(item.data_type) => problems.push(ValidationError::new(
                    field,
                    format!("mask {} does not fit `{column}` of type {}", mask.describe(), item.data_type.code()),
                    format!(
                        "脱敏方式 {} 不适用于{}类型的数据项 `{column}`",
                        mask.describe(),
                        item.data_type.label_zh()
                    ),
                )),
                Some(_) => {}
            }
        }
        for (i, condition) in self.row_filter.iter().enumerate() {
            let field = format!("{at}.row_filter[{i}]");
            if item(&condition.column).is_none() {
                problems.push(unknown_column(&format!("{field}.column"), &condition.column));
            }
            let wanted = match condition.op {
                RowOp::In => 1..=1000,
                _ => 1..=1,
            };
            if !wanted.contains(&condition.values.len()) {
                problems.push(ValidationError::new(
                    format!("{field}.values"),
                    format!(
                        "`{}` takes {} value(s)",
                        condition.op.code(),
                        if condition.op == RowOp::In { "1 to 1000" } else { "exactly 1" }
                    ),
                    format!(
                        "“{}”条件需要{}个值",
                        condition.op.label_zh(),
                        if condition.op == RowOp::In { "1 至 1000" } else { "恰好 1" }
                    ),
                ));
            }
        }
        // 就高从严: core data is never granted raw; important data is
        // sandbox-only (aggregates and verification) by default.
        let raw = modes.iter().any(|mode| matches!(mode, AccessMode::Download | AccessMode::Query));
        if raw && level >= SecurityLevel::Important {
            problems.push(ValidationError::new(
                "modes",
                format!(
                    "this resource is {} data: it is granted for aggregates (aggregate) and verification (verify) only",
                    level.code()
                ),
                format!("该资源为{}，只能以“仅统计”或“核验”方式授权", level.label_zh()),
            ));
        }
        // Outside government sharing (where departments match people by
        // their identifiers to do their duties), direct identifiers leave as
        // rows only masked; checking one against the data is `verify`.
        if raw && basis != GrantBasis::Sharing {
            for column in &self.columns {
                if let Some(item) = item(column)
                    && item.identifier_kind == IdentifierKind::Direct
                    && !self.masks.contains_key(column)
                {
                    problems.push(ValidationError::new(
                        format!("{at}.masks.{column}"),
                        format!(
                            "`{column}` is a direct identifier: rows may carry it only masked (hash, keep_first, keep_last or null)"
                        ),
                        format!("`{column}` 为直接标识符，以数据行方式提供时必须脱敏（hash、keep_first、keep_last 或 null）"),
                    ));
                }
            }
        }
        problems.finish(|| ())
    }
}

fn unknown_column(field: &str, column: &str) -> ValidationError {
    ValidationError::new(
        field,
        format!("the resource has no data item `{column}`"),
        format!("该资源没有数据项 `{column}`"),
    )
}

/// A grant as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct Grant {
    /// Stable id.
    pub id: String,
    /// Which workflow produced it.
    pub basis: GrantBasis,
    /// The record of that workflow (a sharing request's id, …).
    pub source_id: String,
    /// Who holds it.
    pub grantee_org_id: String,
    /// Who gave it (the provider, or the bureau for coordination).
    pub grantor_org_id: String,
    /// What it exposes, per resource.
    pub resources: Vec<GrantedResource>,
    /// How.
    pub modes: Vec<AccessMode>,
    /// 用途: what the data is used for.
    pub purpose: String,
    /// 应用场景.
    pub scenario: String,
    /// First moment it is in force.
    pub valid_from: DateTime<Utc>,
    /// Last moment it is in force.
    pub valid_until: DateTime<Utc>,
    /// Groups smaller than this are suppressed in aggregates (k ≥ 1).
    pub min_group_size: u32,
    /// Privacy budget (ε, in millionths), when the grant asks for noise.
    pub epsilon_budget_micros: Option<i64>,
    /// Budget spent so far (ε, in millionths).
    pub epsilon_spent_micros: i64,
    /// Whether its resources may be joined with each other.
    pub allow_joins: bool,
    /// In force, suspended or revoked.
    pub state: GrantState,
    /// Why it was last suspended or revoked.
    pub state_reason: Option<String>,
    /// The key of its hash masks (hex). Secret: never shown, never logged.
    pub hash_key: String,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
    /// Optimistic-concurrency counter.
    pub row_version: i64,
}

/// Why a grant does not let a read happen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GrantDenial {
    /// Suspended.
    Suspended,
    /// Revoked.
    Revoked,
    /// Its term has not begun.
    NotYetValid,
    /// Its term has ended.
    Expired,
    /// It does not cover the resource.
    ResourceNotGranted,
    /// It does not allow the access mode.
    ModeNotGranted,
}

impl GrantDenial {
    /// Why, in English and Chinese.
    pub fn reason(self) -> (&'static str, &'static str) {
        match self {
            GrantDenial::Suspended => ("the grant is suspended", "授权已暂停"),
            GrantDenial::Revoked => ("the grant is revoked", "授权已撤销"),
            GrantDenial::NotYetValid => ("the grant's term has not begun", "授权尚未生效"),
            GrantDenial::Expired => ("the grant's term has ended", "授权已到期"),
            GrantDenial::ResourceNotGranted => ("the grant does not cover this resource", "该授权不包含此数据资源"),
            GrantDenial::ModeNotGranted => ("the grant does not allow this kind of access", "该授权不允许此访问方式"),
        }
    }

    /// A stable code for usage records.
    pub fn code(self) -> &'static str {
        match self {
            GrantDenial::Suspended => "suspended",
            GrantDenial::Revoked => "revoked",
            GrantDenial::NotYetValid => "not_yet_valid",
            GrantDenial::Expired => "expired",
            GrantDenial::ResourceNotGranted => "resource_not_granted",
            GrantDenial::ModeNotGranted => "mode_not_granted",
        }
    }
}

impl Grant {
    /// Whether the grant is in force at `now`, ignoring what it covers.
    pub fn in_force(&self, now: DateTime<Utc>) -> Result<(), GrantDenial> {
        match self.state {
            GrantState::Suspended => return Err(GrantDenial::Suspended),
            GrantState::Revoked => return Err(GrantDenial::Revoked),
            GrantState::Active => {}
        }
        if now < self.valid_from {
            return Err(GrantDenial::NotYetValid);
        }
        if now > self.valid_until {
            return Err(GrantDenial::Expired);
        }
        Ok(())
    }

    /// The decision: whether the grant lets its holder read `resource_id`
    /// in `mode` at `now` (the server's clock), and if so, what of it.
    pub fn permits(
        &self,
        now: DateTime<Utc>,
        resource_id: &str,
        mode: AccessMode,
    ) -> Result<&GrantedResource, GrantDenial> {
        self.in_force(now)?;
        let granted = self
            .resources
            .iter()
            .find(|granted| granted.resource_id == resource_id)
            .ok_or(GrantDenial::ResourceNotGranted)?;
        if !self.modes.contains(&mode) {
            return Err(GrantDenial::ModeNotGranted);
        }
        Ok(granted)
    }

    /// What people see of its status at `now`: its state, or `expired` /
    /// `pending` when the term says so.
    pub fn status(&self, now: DateTime<Utc>) -> &'static str {
        match self.in_force(now) {
            Ok(()) => "active",
            Err(GrantDenial::Expired) => "expired",
            Err(GrantDenial::NotYetValid) => "pending",
            Err(_) => self.state.code(),
        }
    }
}

/// One decision of the access gateway on data that is not open to all,
/// allowed or denied, with what left when it was allowed. Appended with the
/// access it records; the ledger will carry it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageEvent {
    /// Order of writing; assigned by the store.
    pub seq: i64,
    /// When.
    pub at: DateTime<Utc>,
    /// The user who asked; `None` for the public.
    pub user_id: Option<String>,
    /// The grant's holder the read was made for, when a grant applied.
    pub org_id: Option<String>,
    /// The grant applied, when one did.
    pub grant_id: Option<String>,
    /// The resource read.
    pub resource_id: String,
    /// The version read, once chosen.
    pub version: Option<i64>,
    /// How.
    pub mode: AccessMode,
    /// Through which door: `api`, `sql`, `download`, `sandbox`, `ckan`, `portal`.
    pub channel: String,
    /// The grant's purpose.
    pub purpose: Option<String>,
    /// Whether the read was allowed.
    pub allowed: bool,
    /// Why it was denied (a stable code), when it was.
    pub reason: Option<String>,
    /// SHA-256 of the query as asked (parameters or SQL).
    pub query_fingerprint: String,
    /// Rows that left.
    pub rows_out: Option<i64>,
    /// Bytes that left, for downloads.
    pub bytes_out: Option<i64>,
    /// Privacy budget charged (ε, in millionths).
    pub privacy_cost_micros: i64,
    /// SHA-256 of the result, when it was computed whole.
    pub result_hash: Option<String>,
}

#[cfg(test)]
mod tests {
    use chrono::Duration;

    use super::*;

    fn item(name: &str, data_type: DataType, identifier_kind: IdentifierKind) -> DataItem {
        DataItem {
            name: name.into(),
            title: name.into(),
            standard_code: None,
            data_type,
            unit: None,
            description: None,
            identifier_kind,
            level: SecurityLevel::General2,
            source_resource_id: None,
        }
    }

    fn grant(now: DateTime<Utc>) -> Grant {
        Grant {
            id: "g".into(),
            basis: GrantBasis::Sharing,
            source_id: "s".into(),
            grantee_org_id: "a".into(),
            grantor_org_id: "b".into(),
            resources: vec![GrantedResource {
                resource_id: "r".into(),
                columns: vec!["x".into()],
                masks: BTreeMap::new(),
                row_filter: vec![],
            }],
            modes: vec![AccessMode::Query],
            purpose: "p".into(),
            scenario: "s".into(),
            valid_from: now - Duration::days(1),
            valid_until: now + Duration::days(1),
            min_group_size: 5,
            epsilon_budget_micros: None,
            epsilon_spent_micros: 0,
            allow_joins: false,
            state: GrantState::Active,
            state_reason: None,
            hash_key: "00".into(),
            created_at: now,
            updated_at: now,
            row_version: 1,
        }
    }

    #[test]
    fn permits_only_what_is_granted_while_in_force() {
        let now = Utc::now();
        let mut g = grant(now);
        assert!(g.permits(now, "r", AccessMode::Query).is_ok());
        assert_eq!(g.permits(now, "other", AccessMode::Query), Err(GrantDenial::ResourceNotGranted));
        assert_eq!(g.permits(now, "r", AccessMode::Download), Err(GrantDenial::ModeNotGranted));
        assert_eq!(g.permits(now + Duration::days(2), "r", AccessMode::Query), Err(GrantDenial::Expired));
        assert_eq!(g.permits(now - Duration::days(2), "r", AccessMode::Query), Err(GrantDenial::NotYetValid));
        g.state = GrantState::Suspended;
        assert_eq!(g.permits(now, "r", AccessMode::Query), Err(GrantDenial::Suspended));
        g.state = GrantState::Revoked;
        assert_eq!(g.permits(now, "r", AccessMode::Query), Err(GrantDenial::Revoked));
        assert_eq!(g.status(now), "revoked");
    }

    #[test]
    fn masks_read_back_what_they_write() {
        for mask in [
            Mask::Hash,
            Mask::KeepFirst { n: 3 },
            Mask::KeepLast { n: 4 },
            Mask::Year,
            Mask::Month,
            Mask::RegionPrefix { digits: 4 },
            Mask::Null,
        ] {
            assert_eq!(Mask::parse("m", &mask.describe()), Ok(mask));
        }
        assert_eq!(Mask::parse("m", "keep_first:2"), Ok(Mask::KeepFirst { n: 2 }));
        assert_eq!(Mask::parse("m", "keep_first").expect_err("no n").field, "m");
        assert!(Mask::parse("m", "reverse").is_err());
    }

    #[test]
    fn revoked_is_final() {
        assert!(GrantState::Revoked.apply(GrantAction::Resume).is_err());
        assert_eq!(GrantState::Suspended.apply(GrantAction::Resume), Ok(GrantState::Active));
        assert_eq!(GrantState::Suspended.apply(GrantAction::Revoke), Ok(GrantState::Revoked));
    }

    #[test]
    fn validation_names_each_problem() {
        let items = [
            item("name", DataType::Text, IdentifierKind::Direct),
            item("born", DataType::Date, IdentifierKind::Quasi),
            item("n", DataType::Integer, IdentifierKind::None),
        ];
        let mut granted = GrantedResource {
            resource_id: "r".into(),
            columns: vec!["name".into(), "nope".into()],
            masks: BTreeMap::from([("n".to_owned(), Mask::Year)]),
            row_filter: vec![RowCondition { column: "n".into(), op: RowOp::Eq, values: vec![] }],
        };
        let error = granted
            .validate(
                "resources[0]",
                &items,
                SecurityLevel::General2,
                &[AccessMode::Query],
                GrantBasis::ConditionalOpen,
            )
            .expect_err("invalid");
        let fields: Vec<_> = error.0.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "resources[0].columns[1]",
                "resources[0].masks.n",
                "resources[0].row_filter[0].values",
                "resources[0].masks.name"
            ]
        );
        granted.columns = vec!["name".into(), "born".into()];
        granted.masks = BTreeMap::from([("name".to_owned(), Mask::Hash), ("born".to_owned(), Mask::Year)]);
        granted.row_filter.clear();
        assert!(
            granted.validate("r", &items, SecurityLevel::General2, &[AccessMode::Query], GrantBasis::Operation).is_ok()
        );
        let important =
            granted.validate("r", &items, SecurityLevel::Important, &[AccessMode::Download], GrantBasis::Sharing);
        assert_eq!(important.expect_err("raw important").0[0].field, "modes");
        assert!(
            granted.validate("r", &items, SecurityLevel::Core, &[AccessMode::Aggregate], GrantBasis::Sharing).is_ok()
        );
    }
}
