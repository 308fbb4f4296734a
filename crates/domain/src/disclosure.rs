//! Yearly disclosure of authorized operation (授权运营信息披露, 2026 notice):
//! what an implementing body and an operator publish each year by the end
//! of March for the year before, generated from the records.
//!
//! The report's content is a versioned document ([`DisclosureContent`]);
//! its SHA-256 is what the ledger records when it is published, so anyone
//! can check a downloaded report against the log.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::codes::code_enum;

code_enum! {
    /// Who discloses.
    pub enum DisclosureRole {
        /// 实施机构: its information, its grants and the caps it set.
        ImplementingBody = ("implementing_body", "实施机构"),
        /// 运营机构: its information, its authorized resources, its
        /// products and services and their prices.
        Operator = ("operator", "运营机构"),
    }
}

/// The day a year's disclosure is due: the end of March of the next year.
pub fn due_date(year: i32) -> NaiveDate {
    NaiveDate::from_ymd_opt(year + 1, 3, 31).expect("31 March exists every year")
}

/// Where a discloser stands for a year, on `today`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DisclosureStatus {
    /// Published.
    Published,
    /// Not yet published, not yet due.
    Due,
    /// Not published, and the end of March has passed.
    Overdue,
}

impl DisclosureStatus {
    /// The status of a year's disclosure.
    pub fn of(year: i32, published: bool, today: NaiveDate) -> DisclosureStatus {
        match (published, today > due_date(year)) {
            (true, _) => DisclosureStatus::Published,
            (false, false) => DisclosureStatus::Due,
            (false, true) => DisclosureStatus::Overdue,
        }
    }

    /// The stable code.
    pub fn code(self) -> &'static str {
        match self {
            DisclosureStatus::Published => "published",
            DisclosureStatus::Due => "due",
            DisclosureStatus::Overdue => "overdue",
        }
    }

    /// The Chinese label.
    pub fn label_zh(self) -> &'static str {
        match self {
            DisclosureStatus::Published => "已披露",
            DisclosureStatus::Due => "待披露",
            DisclosureStatus::Overdue => "逾期未披露",
        }
    }
}

/// The organization that discloses (披露主体信息).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DisclosedOrg {
    /// Its id here.
    pub id: String,
    /// 统一社会信用代码.
    pub code: String,
    /// 名称.
    pub name: String,
    /// 行政区划.
    pub region: String,
    /// Its kind's label.
    pub kind: String,
}

/// A resource named in a grant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DisclosedResource {
    /// Its id.
    pub id: String,
    /// Its registration code, when coded.
    pub code: Option<String>,
    /// Its name.
    pub name: String,
}

/// One grant of authorized operation (授权对象、内容、范围、时限).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DisclosedGrant {
    /// The agreement.
    pub agreement_id: String,
    /// Its title.
    pub title: String,
    /// 授权对象: the operator.
    pub operator: String,
    /// The operator's unified social credit code.
    pub operator_code: String,
    /// 授权模式.
    pub mode: String,
    /// 授权领域, for a by-domain grant.
    pub domain: Option<String>,
    /// 授权内容: the resources.
    pub resources: Vec<DisclosedResource>,
    /// 授权范围: scenarios.
    pub scenarios: Vec<String>,
    /// 授权范围: access modes.
    pub modes: Vec<String>,
    /// 时限: first day.
    pub valid_from: NaiveDate,
    /// 时限: last day.
    pub valid_until: NaiveDate,
    /// Its state at the report's date.
    pub state: String,
}

/// One product or service (产品和服务清单).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DisclosedProduct {
    /// Its id.
    pub id: String,
    /// 登记编码.
    pub code: Option<String>,
    /// 名称.
    pub name: String,
    /// 形态.
    pub form: String,
    /// 使用类别.
    pub use_category: String,
    /// 应用场景.
    pub scenario: String,
    /// 上架状态.
    pub listing: String,
    /// The grant's agreement it is made under.
    pub agreement_id: String,
}

/// One cap or price in force during the year.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DisclosedPrice {
    /// The product's code, when coded.
    pub product_code: Option<String>,
    /// The product's name.
    pub product_name: String,
    /// `cap` or `price`.
    pub tier: String,
    /// 计费单位.
    pub unit: String,
    /// Fen per unit.
    pub amount_fen: i64,
    /// First day.
    pub effective_from: NaiveDate,
    /// The last day of a trial cap.
    pub trial_until: Option<NaiveDate>,
}

/// An operator's revenue against its maximum for the year.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DisclosedRevenue {
    /// 最高准许收入 after deduction, when set.
    pub allowed_fen: Option<i64>,
    /// Fees metered in the year.
    pub revenue_fen: i64,
    /// Above the maximum, carried into next year.
    pub excess_fen: i64,
    /// Deliveries metered.
    pub deliveries: i64,
    /// Of which free (public governance and welfare).
    pub free_deliveries: i64,
}

/// A yearly disclosure report's content, version 1.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DisclosureContent {
    /// Format version.
    pub format: u32,
    /// The year reported.
    pub year: i32,
    /// The last day the records were read to (the year's end, or earlier
    /// for a report on the running year).
    pub as_of: NaiveDate,
    /// Who discloses.
    pub role: DisclosureRole,
    /// 披露主体信息.
    pub discloser: DisclosedOrg,
    /// Grants made (implementing body) or held (operator).
    pub grants: Vec<DisclosedGrant>,
    /// The operator's products and services.
    pub products: Vec<DisclosedProduct>,
    /// Caps (implementing body) or prices (operator) in force during the year.
    pub prices: Vec<DisclosedPrice>,
    /// The operator's revenue against its maximum.
    pub revenue: Option<DisclosedRevenue>,
}

/// A published disclosure report.
#[derive(Debug, Clone, PartialEq)]
pub struct Disclosure {
    /// Stable id.
    pub id: String,
    /// The year reported.
    pub year: i32,
    /// The discloser.
    pub org_id: String,
    /// Its role.
    pub role: DisclosureRole,
    /// The content as published (JSON, exact bytes).
    pub content: String,
    /// SHA-256 of `content`, hex.
    pub content_sha256: String,
    /// Who published it.
    pub published_by: String,
    /// When.
    pub published_at: DateTime<Utc>,
    /// The report it corrects (更正), if any.
    pub supersedes: Option<String>,
    /// Whether a later report replaced it.
    pub superseded: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_year_is_due_by_the_end_of_next_march() {
        assert_eq!(due_date(2025).to_string(), "2026-03-31");
        let day = |s: &str| s.parse::<NaiveDate>().unwrap();
        assert_eq!(DisclosureStatus::of(2025, false, day("2026-03-31")), DisclosureStatus::Due);
        assert_eq!(DisclosureStatus::of(2025, false, day("2026-04-01")), DisclosureStatus::Overdue);
        assert_eq!(DisclosureStatus::of(2025, true, day("2026-04-01")), DisclosureStatus::Published);
    }
}
