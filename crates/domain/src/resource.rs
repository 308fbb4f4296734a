//! Catalog entries (数据资源目录条目): their content, GB/T 43697 levels,
//! share and open attributes, and the lifecycle state machine.

use std::collections::HashSet;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::codes::{RegionCode, code_enum};
use crate::error::{InvalidTransition, ValidationError, Validations, optional_text, required_text};

code_enum! {
    /// GB/T 43697-2024 level. The order of the variants is the order of
    /// severity, so the maximum of a set of levels is the strictest one.
    #[derive(PartialOrd, Ord)]
    pub enum SecurityLevel {
        /// 一般数据 1 级.
        General1 = ("general-1", "一般数据1级"),
        /// 一般数据 2 级.
        General2 = ("general-2", "一般数据2级"),
        /// 一般数据 3 级.
        General3 = ("general-3", "一般数据3级"),
        /// 一般数据 4 级.
        General4 = ("general-4", "一般数据4级"),
        /// 重要数据: sandbox-only by default, never open unconditionally.
        Important = ("important", "重要数据"),
        /// 核心数据: never open, never granted raw.
        Core = ("core", "核心数据"),
    }
}

/// The description given to data items that software described from a
/// file or a schema: software cannot classify data, so the provider must
/// confirm each item's identifier kind and level before registering.
pub const DESCRIBED_ITEM_NOTE: &str = "由上传文件或表结构推断：请确认标识类型与分级 \
     (described from the uploaded file or schema: confirm its identifier kind and level)";

code_enum! {
    /// 资源分类: base, thematic or departmental resource.
    pub enum ResourceClass {
        /// 基础资源.
        Basic = ("basic", "基础资源"),
        /// 主题资源.
        Thematic = ("thematic", "主题资源"),
        /// 部门资源.
        Departmental = ("departmental", "部门资源"),
    }
}

code_enum! {
    /// 更新周期.
    pub enum UpdateCycle {
        /// 实时.
        Realtime = ("realtime", "实时"),
        /// 每日.
        Daily = ("daily", "每日"),
        /// 每周.
        Weekly = ("weekly", "每周"),
        /// 每月.
        Monthly = ("monthly", "每月"),
        /// 每季度.
        Quarterly = ("quarterly", "每季度"),
        /// 每半年.
        SemiAnnual = ("semiannual", "每半年"),
        /// 每年.
        Annual = ("annual", "每年"),
        /// 不定期.
        Irregular = ("irregular", "不定期"),
    }
}

code_enum! {
    /// How directly a data item identifies a person (GB/T 37964).
    pub enum IdentifierKind {
        /// 直接标识符: name, ID number, phone number.
        Direct = ("direct", "直接标识符"),
        /// 准标识符: birth date, address, occupation.
        Quasi = ("quasi", "准标识符"),
        /// 敏感属性: health, income, religion.
        Sensitive = ("sensitive", "敏感属性"),
        /// 非标识: says nothing about a person.
        None = ("none", "非标识"),
    }
}

code_enum! {
    /// The declared type of a data item.
    pub enum DataType {
        /// Text, codes included (leading zeros kept).
        Text = ("text", "文本"),
        /// Whole numbers.
        Integer = ("integer", "整数"),
        /// Decimal numbers.
        Decimal = ("decimal", "小数"),
        /// True or false.
        Boolean = ("boolean", "布尔"),
        /// Calendar date.
        Date = ("date", "日期"),
        /// Date and time.
        DateTime = ("datetime", "日期时间"),
    }
}

/// 共享属性.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ShareAttribute {
    /// 无条件共享.
    Unconditional,
    /// 有条件共享, with the conditions.
    Conditional {
        /// The conditions a requester must meet.
        conditions: String,
    },
    /// 不予共享, with the law or rule that forbids it.
    NotShared {
        /// The legal basis.
        legal_basis: String,
    },
}

/// 开放属性.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum OpenAttribute {
    /// 无条件开放.
    Unconditional,
    /// 有条件开放, with the conditions.
    Conditional {
        /// The conditions an applicant must meet.
        conditions: String,
    },
    /// 不予开放, with the law or rule that forbids it.
    NotOpen {
        /// The legal basis.
        legal_basis: String,
    },
}

/// The text codes of the three attribute kinds, shared by both attributes.
pub const ATTRIBUTE_KINDS: [&str; 3] = ["unconditional", "conditional", "not"];

impl ShareAttribute {
    /// Parses `kind` (`unconditional`, `conditional`, `not`) with its text.
    pub fn parse(field: &str, kind: &str, text: Option<&str>) -> Result<Self, ValidationError> {
        match kind.trim() {
            "unconditional" => Ok(ShareAttribute::Unconditional),
            "conditional" => Ok(ShareAttribute::Conditional {
                conditions: required_text(&format!("{field}.conditions"), text.unwrap_or(""), 2000)?,
            }),
            "not" => Ok(ShareAttribute::NotShared {
                legal_basis: required_text(&format!("{field}.legal_basis"), text.unwrap_or(""), 2000)?,
            }),
            other => Err(ValidationError::unknown_code(format!("{field}.kind"), other, &ATTRIBUTE_KINDS)),
        }
    }

    /// The kind code and the conditions or legal basis.
    pub fn parts(&self) -> (&'static str, Option<&str>) {
        match self {
            ShareAttribute::Unconditional => ("unconditional", None),
            ShareAttribute::Conditional { conditions } => ("conditional", Some(conditions)),
            ShareAttribute::NotShared { legal_basis } => ("not", Some(legal_basis)),
        }
    }
}

impl OpenAttribute {
    /// Parses `kind` (`unconditional`, `conditional`, `not`) with its text.
    pub fn parse(field: &str, kind: &str, text: Option<&str>) -> Result<Self, ValidationError> {
        match kind.trim() {
            "unconditional" => Ok(OpenAttribute::Unconditional),
            "conditional" => Ok(OpenAttribute::Conditional {
                conditions: required_text(&format!("{field}.conditions"), text.unwrap_or(""), 2000)?,
            }),
            "not" => Ok(OpenAttribute::NotOpen {
                legal_basis: required_text(&format!("{field}.legal_basis"), text.unwrap_or(""), 2000)?,
            }),
            other => Err(ValidationError::unknown_code(format!("{field}.kind"), other, &ATTRIBUTE_KINDS)),
        }
    }

    /// The kind code and the conditions or legal basis.
    pub fn parts(&self) -> (&'static str, Option<&str>) {
        match self {
            OpenAttribute::Unconditional => ("unconditional", None),
            OpenAttribute::Conditional { conditions } => ("conditional", Some(conditions)),
            OpenAttribute::NotOpen { legal_basis } => ("not", Some(legal_basis)),
        }
    }
}

/// One data item (数据项) of a resource: a column of its data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DataItem {
    /// Column name in the data, e.g. `adcode` or `地区`.
    pub name: String,
    /// Standard item name (标准数据项名称), e.g. `行政区划代码`; 一数一源 compares it.
    pub title: String,
    /// Standard data element code (数据元标识符), when the item follows a standard.
    pub standard_code: Option<String>,
    /// Declared type.
    pub data_type: DataType,
    /// Unit of measure, e.g. `mm` or `元`.
    pub unit: Option<String>,
    /// What the item means.
    pub description: Option<String>,
    /// How directly it identifies a person.
    pub identifier_kind: IdentifierKind,
    /// Its GB/T 43697 level.
    pub level: SecurityLevel,
    /// Set when the bureau designated another resource as this item's
    /// authoritative source (一数一源): this entry references it instead of
    /// keeping its own copy.
    pub source_resource_id: Option<String>,
}

impl DataItem {
    /// The key 一数一源 compares across providers: the standard code when
    /// there is one, else the standard item name with blanks removed.
    pub fn identity_key(&self) -> String {
        match &self.standard_code {
            Some(code) => format!("code:{}", code.trim().to_uppercase()),
            None => format!("title:{}", self.title.split_whitespace().collect::<String>()),
        }
    }
}

/// The editable content of a catalog entry, validated.
///
/// It is also the persisted proposal of a change or correction registration,
/// hence the serde derives.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResourceDraft {
    /// 资源名称 (Chinese).
    pub name_zh: String,
    /// Resource name in English.
    pub name_en: Option<String>,
    /// 摘要 (Chinese).
    pub abstract_zh: String,
    /// Abstract in English.
    pub abstract_en: Option<String>,
    /// 一数一源 lead collector; `None` means the provider itself.
    pub lead_collector_org_id: Option<String>,
    /// 资源分类.
    pub resource_class: ResourceClass,
    /// 主题, e.g. `民生服务` or a GB/T 4754 code.
    pub theme: String,
    /// 数据项.
    pub items: Vec<DataItem>,
    /// 共享属性.
    pub share: ShareAttribute,
    /// 开放属性.
    pub open: OpenAttribute,
    /// 更新周期.
    pub update_cycle: UpdateCycle,
    /// First day the data covers.
    pub time_coverage_start: Option<NaiveDate>,
    /// Last day the data covers.
    pub time_coverage_end: Option<NaiveDate>,
    /// Division the data covers.
    pub spatial_coverage: Option<RegionCode>,
    /// Licence of open data, e.g. `CC-BY-4.0`.
    pub license: Option<String>,
    /// 关键词.
    pub keywords: Vec<String>,
    /// Why the level is what it is (定级依据).
    pub classification_rationale: Option<String>,
}

impl ResourceDraft {
    /// The resource's level: the strictest of its items' levels (就高从严).
    pub fn level(&self) -> SecurityLevel {
        self.items.iter().map(|item| item.level).max().unwrap_or(SecurityLevel::General1)
    }

    /// Checks what a registration needs: the draft's rules, and at least
    /// one data item.
    pub fn validate_for_registration(&self) -> Result<(), Validations> {
        let mut problems = match self.validate() {
            Ok(()) => Validations::default(),
            Err(problems) => problems,
        };
        if self.items.is_empty() {
            problems.0.insert(
                0,
                ValidationError::new(
                    "items",
                    "a resource needs at least one data item before it is registered",
                    "数据资源登记前至少需要一个数据项",
                ),
            );
        }
        problems.finish(|| ())
    }

    /// Checks the rules that tie fields together, reporting every problem.
    /// A draft may still lack data items: the first file loaded into it
    /// describes them (see `App::load_version`).
    pub fn validate(&self) -> Result<(), Validations> {
        let mut problems = Validations::default();
        let mut seen_names = HashSet::new();
        for (i, item) in self.items.iter().enumerate() {
            if !seen_names.insert(item.name.to_lowercase()) {
                problems.push(ValidationError::new(
                    format!("items[{i}].name"),
                    format!("data item `{}` appears twice", item.name),
                    format!("数据项 `{}` 重复", item.name),
                ));
            }
        }
        let level = self.level();
        if level == SecurityLevel::Core && !matches!(self.open, OpenAttribute::NotOpen { .. }) {
            problems.push(ValidationError::new(
                "open.kind",
                "core data (核心数据) is never open: the open attribute must be `not`",
                "核心数据不得开放，开放属性应为“不予开放”(not)",
            ));
        }
        if level == SecurityLevel::Important && self.open == OpenAttribute::Unconditional {
            problems.push(ValidationError::new(
                "open.kind",
                "important data (重要数据) cannot be opened unconditionally",
                "重要数据不得无条件开放",
            ));
        }
        if self.open == OpenAttribute::Unconditional {
            for (i, item) in self.items.iter().enumerate() {
                if matches!(item.identifier_kind, IdentifierKind::Direct | IdentifierKind::Sensitive) {
                    problems.push(ValidationError::new(
                        format!("items[{i}].identifier_kind"),
                        format!(
                            "item `{}` is a {} and cannot be opened unconditionally; remove it, de-identify it or make the open attribute conditional",
                            item.name,
                            if item.identifier_kind == IdentifierKind::Direct { "direct identifier" } else { "sensitive attribute" },
                        ),
                        format!(
                            "数据项 `{}` 为{}，不得无条件开放：请删除、去标识化或改为有条件开放",
                            item.name,
                            item.identifier_kind.label_zh(),
                        ),
                    ));
                }
            }
        }
        if let (Some(start), Some(end)) = (self.time_coverage_start, self.time_coverage_end)
            && start > end
        {
            problems.push(ValidationError::new(
                "time_coverage.end",
                format!("ends ({end}) before it starts ({start})"),
                format!("结束日期（{end}）早于开始日期（{start}）"),
            ));
        }
        problems.finish(|| ())
    }
}

/// Parses a keyword list: trimmed, blanks dropped, duplicates removed.
pub fn parse_keywords(field: &str, keywords: &[String]) -> Result<Vec<String>, ValidationError> {
    const MAX_KEYWORDS: usize = 20;
    let mut parsed: Vec<String> = Vec::new();
    for (i, keyword) in keywords.iter().enumerate() {
        let Some(keyword) = optional_text(&format!("{field}[{i}]"), Some(keyword), 32)? else {
            continue;
        };
        if !parsed.contains(&keyword) {
            parsed.push(keyword);
        }
    }
    if parsed.len() > MAX_KEYWORDS {
        return Err(ValidationError::new(
            field,
            format!("at most {MAX_KEYWORDS} keywords"),
            format!("关键词最多 {MAX_KEYWORDS} 个"),
        ));
    }
    Ok(parsed)
}

/// Parses an ISO date (`2024-01-31`).
pub fn parse_date(field: &str, value: &str) -> Result<NaiveDate, ValidationError> {
    NaiveDate::parse_from_str(value.trim(), "%Y-%m-%d").map_err(|_| {
        ValidationError::new(
            field,
            format!("`{value}` is not a date in the form YYYY-MM-DD"),
            format!("`{value}` 不是 YYYY-MM-DD 格式的日期"),
        )
    })
}

code_enum! {
    /// Lifecycle state of a catalog entry.
    pub enum ResourceState {
        /// 草稿: editable by its provider.
        Draft = ("draft", "草稿"),
        /// 待审核: its initial registration is under way.
        PendingReview = ("pending_review", "待审核"),
        /// 已登记: registered and coded, not yet in the public catalog.
        Registered = ("registered", "已登记"),
        /// 已发布: in the catalog.
        Published = ("published", "已发布"),
        /// 已下架: taken out of the catalog.
        Unpublished = ("unpublished", "已下架"),
        /// 不予登记: its registration was rejected.
        Rejected = ("rejected", "不予登记"),
        /// 已注销: its registration was cancelled.
        Cancelled = ("cancelled", "已注销"),
        /// 已删除: a draft its provider deleted before it was ever
        /// registered; kept, with its history, but no longer worked on.
        Discarded = ("discarded", "已删除"),
    }
}

code_enum! {
    /// What can happen to a catalog entry.
    pub enum ResourceEvent {
        /// The provider submits it for registration.
        Submit = ("submit", "提交登记"),
        /// The provider withdraws a submission not yet accepted.
        Withdraw = ("withdraw", "撤回"),
        /// The registration was returned for correction.
        Return = ("return", "退回"),
        /// The registration was rejected.
        Reject = ("reject", "不予登记"),
        /// The initial registration was coded.
        Register = ("register", "登记生效"),
        /// The bureau publishes it in the catalog.
        Publish = ("publish", "发布"),
        /// The bureau takes it out of the catalog.
        Unpublish = ("unpublish", "下架"),
        /// A cancellation registration was coded.
        Cancel = ("cancel", "注销"),
        /// The provider deletes a draft that was never registered.
        Discard = ("discard", "删除草稿"),
    }
}

impl ResourceState {
    /// The state after `event`, or why `event` is not possible now.
    pub fn apply(self, event: ResourceEvent) -> Result<ResourceState, InvalidTransition> {
        use ResourceEvent as E;
        use ResourceState as S;
        let next = match (self, event) {
            (S::Draft, E::Submit) => S::PendingReview,
            (S::PendingReview, E::Withdraw | E::Return) => S::Draft,
            (S::PendingReview, E::Reject) => S::Rejected,
            (S::PendingReview, E::Register) => S::Registered,
            (S::Registered | S::Unpublished, E::Publish) => S::Published,
            (S::Published, E::Unpublish) => S::Unpublished,
            (S::Registered | S::Published | S::Unpublished, E::Cancel) => S::Cancelled,
            (S::Draft | S::Rejected, E::Discard) => S::Discarded,
            _ => {
                return Err(InvalidTransition { entity: "resource", action: event.code(), current: self.code() });
            }
        };
        Ok(next)
    }

    /// Whether the provider may edit the entry in place. Once registered,
    /// content changes go through a change or correction registration.
    pub fn is_editable(self) -> bool {
        self == ResourceState::Draft
    }

    /// Whether the entry holds a registration that is in force, so change,
    /// correction and cancellation registrations can be filed against it.
    pub fn is_registered(self) -> bool {
        matches!(self, ResourceState::Registered | ResourceState::Published | ResourceState::Unpublished)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(name: &str, level: SecurityLevel, identifier_kind: IdentifierKind) -> DataItem {
        DataItem {
            name: name.into(),
            title: name.into(),
            standard_code: None,
            data_type: DataType::Text,
            unit: None,
            description: None,
            identifier_kind,
            level,
            source_resource_id: None,
        }
    }

    fn draft(items: Vec<DataItem>, open: OpenAttribute) -> ResourceDraft {
        ResourceDraft {
            name_zh: "测试".into(),
            name_en: None,
            abstract_zh: "测试".into(),
            abstract_en: None,
            lead_collector_org_id: None,
            resource_class: ResourceClass::Basic,
            theme: "民生服务".into(),
            items,
            share: ShareAttribute::Unconditional,
            open,
            update_cycle: UpdateCycle::Annual,
            time_coverage_start: None,
            time_coverage_end: None,
            spatial_coverage: None,
            license: None,
            keywords: vec![],
            classification_rationale: None,
        }
    }

    #[test]
    fn level_is_the_strictest_item_level() {
        let d = draft(
            vec![
                item("a", SecurityLevel::General2, IdentifierKind::None),
                item("b", SecurityLevel::Important, IdentifierKind::None),
                item("c", SecurityLevel::General4, IdentifierKind::None),
            ],
            OpenAttribute::NotOpen { legal_basis: "x".into() },
        );
        assert_eq!(d.level(), SecurityLevel::Important);
    }

    #[test]
    fn core_and_important_data_and_identifiers_are_not_opened_unconditionally() {
        let core = draft(vec![item("a", SecurityLevel::Core, IdentifierKind::None)], OpenAttribute::Unconditional);
        assert_eq!(core.validate().unwrap_err().0[0].field, "open.kind");
        let important = draft(
            vec![item("a", SecurityLevel::Important, IdentifierKind::None)],
            OpenAttribute::Conditional { conditions: "c".into() },
        );
        assert!(important.validate().is_ok());
        let named = draft(
            vec![
                item("ok", SecurityLevel::General1, IdentifierKind::None),
                item("姓名", SecurityLevel::General3, IdentifierKind::Direct),
            ],
            OpenAttribute::Unconditional,
        );
        let problems = named.validate().unwrap_err();
        assert_eq!(problems.0[0].field, "items[1].identifier_kind");
        assert!(problems.0[0].message_zh.contains("直接标识符"));
    }

    #[test]
    fn duplicate_item_names_and_empty_items_are_reported_together() {
        let d = draft(
            vec![
                item("Code", SecurityLevel::General1, IdentifierKind::None),
                item("code", SecurityLevel::General1, IdentifierKind::None),
            ],
            OpenAttribute::Unconditional,
        );
        assert_eq!(d.validate().unwrap_err().0[0].field, "items[1].name");
        let empty = draft(vec![], OpenAttribute::Unconditional);
        assert!(empty.validate().is_ok(), "a draft may lack items");
        assert_eq!(empty.validate_for_registration().unwrap_err().0[0].field, "items");
    }

    #[test]
    fn every_resource_transition_is_allowed_or_refused_as_specified() {
        use ResourceEvent as E;
        use ResourceState as S;
        let allowed = [
            (S::Draft, E::Submit, S::PendingReview),
            (S::PendingReview, E::Withdraw, S::Draft),
            (S::PendingReview, E::Return, S::Draft),
            (S::PendingReview, E::Reject, S::Rejected),
            (S::PendingReview, E::Register, S::Registered),
            (S::Registered, E::Publish, S::Published),
            (S::Unpublished, E::Publish, S::Published),
            (S::Published, E::Unpublish, S::Unpublished),
            (S::Registered, E::Cancel, S::Cancelled),
            (S::Published, E::Cancel, S::Cancelled),
            (S::Unpublished, E::Cancel, S::Cancelled),
            (S::Draft, E::Discard, S::Discarded),
            (S::Rejected, E::Discard, S::Discarded),
        ];
        for &state in S::ALL {
            for &event in E::ALL {
                let expected = allowed.iter().find(|(s, e, _)| *s == state && *e == event).map(|(_, _, to)| *to);
                match (state.apply(event), expected) {
                    (Ok(to), Some(expected)) => assert_eq!(to, expected, "{state} {event}"),
                    (Err(refused), None) => assert_eq!(refused.current, state.code()),
                    (got, expected) => {
                        panic!("{state} --{event}--> {got:?}, expected {expected:?}")
                    }
                }
            }
        }
    }

    #[test]
    fn identity_key_prefers_the_standard_code() {
        let mut a = item("adcode", SecurityLevel::General1, IdentifierKind::None);
        a.title = "行政区划 代码".into();
        assert_eq!(a.identity_key(), "title:行政区划代码");
        a.standard_code = Some("de00071".into());
        assert_eq!(a.identity_key(), "code:DE00071");
    }
}
