//! Prices under the government-guided cap (发改价格〔2025〕65号), metering
//! and revenue, as plain functions.
//!
//! Three tiers: the bureau (with the price authority) sets each operator's
//! maximum allowed revenue for a year ([`RevenueCeiling`], 最高准许收入); the
//! implementing body sets a cap per product ([`PriceTier::Cap`], 上限收费标准),
//! as a trial price while the operator has not run a full year; the
//! operator sets its price at most the cap ([`PriceTier::Price`], 具体收费标准).
//! Every price is announced before it takes effect (收费公示) and none is
//! ever retroactive: [`check_price`] refuses one that would be, and
//! [`charge_on`] reads the price of a delivery off the day it happened.
//! Amounts are integer fen (分), so sums are exact.

use chrono::{DateTime, Months, NaiveDate, Utc};

use crate::codes::code_enum;
use crate::error::ValidationError;
use crate::product::{ProductForm, UseCategory};

code_enum! {
    /// How a delivery is counted (计费单位).
    pub enum ChargingUnit {
        /// 按产品数量: each version of the product delivered to a customer,
        /// once; fetching the same version again costs nothing.
        PerCopy = ("per_copy", "按产品数量（每版本一份）"),
        /// 按服务次数: each delivery.
        PerCall = ("per_call", "按服务次数（每次）"),
        /// 按服务时间: each local day on which the customer was served.
        PerDay = ("per_day", "按服务时间（每服务日）"),
        /// 按数据调用量: each thousand rows delivered, the last part rounded up.
        PerThousandRows = ("per_thousand_rows", "按数据调用量（每千条）"),
    }
}

impl ChargingUnit {
    /// Whether deliveries of a product of `form` can be counted this way:
    /// a copy is a dataset's version, and a verification leaves no rows.
    pub fn fits(self, form: ProductForm) -> bool {
        match self {
            ChargingUnit::PerCopy => form == ProductForm::Dataset,
            ChargingUnit::PerThousandRows => form != ProductForm::Verification,
            ChargingUnit::PerCall | ChargingUnit::PerDay => true,
        }
    }
}

code_enum! {
    /// Which tier set a price.
    pub enum PriceTier {
        /// 上限收费标准, set by the implementing body.
        Cap = ("cap", "上限收费标准"),
        /// 具体收费标准, set by the operator.
        Price = ("price", "具体收费标准"),
    }
}

/// One announced cap or price; never changed once written. A later record
/// of the same tier takes over from its own effective day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PriceRecord {
    /// Order of announcement; assigned by the store.
    pub seq: i64,
    /// The product.
    pub product_id: String,
    /// Cap or price.
    pub tier: PriceTier,
    /// How deliveries are counted.
    pub unit: ChargingUnit,
    /// Fen per unit.
    pub amount_fen: i64,
    /// First local day it applies.
    pub effective_from: NaiveDate,
    /// The local day it was announced (publicised).
    pub announced_on: NaiveDate,
    /// For a trial cap (试行收费标准): its last day.
    pub trial_until: Option<NaiveDate>,
    /// The basis: the cost survey, the written report to the price authority.
    pub basis: String,
    /// Who set it.
    pub set_by: String,
    /// When.
    pub set_at: DateTime<Utc>,
}

/// The record of `tier` in force on `day`: the latest announced of those
/// effective by then, unless it is a trial cap whose trial has ended (a
/// trial price lapses; the implementing body sets a formal cap).
pub fn in_force(records: &[PriceRecord], tier: PriceTier, day: NaiveDate) -> Option<&PriceRecord> {
    records
        .iter()
        .filter(|r| r.tier == tier && r.effective_from <= day)
        .max_by_key(|r| (r.effective_from, r.seq))
        .filter(|r| r.trial_until.is_none_or(|until| day <= until))
}

/// Every record of `tier` in force on some day from `first` to `last`, in
/// order: the one in force on `first`, then each that took over later.
pub fn in_force_during(
    records: &[PriceRecord],
    tier: PriceTier,
    first: NaiveDate,
    last: NaiveDate,
) -> Vec<&PriceRecord> {
    let later = records.iter().filter(|r| r.tier == tier && r.effective_from > first && r.effective_from <= last);
    let mut days: Vec<NaiveDate> = std::iter::once(first).chain(later.map(|r| r.effective_from)).collect();
    days.sort();
    days.dedup();
    let mut out: Vec<&PriceRecord> = Vec::new();
    for day in days {
        if let Some(record) = in_force(records, tier, day)
            && !out.iter().any(|seen| seen.seq == record.seq)
        {
            out.push(record);
        }
    }
    out
}

/// What a charged delivery costs per unit on `day`: the operator's price,
/// held to the cap in force that day (a cap lowered later lowers the fee
/// from its own day, never before). `None` when no price or cap is in
/// force, or when they count in different units (the price lapsed with the
/// cap it was set under).
pub fn charge_on(records: &[PriceRecord], day: NaiveDate) -> Option<(ChargingUnit, i64)> {
    let cap = in_force(records, PriceTier::Cap, day)?;
    let price = in_force(records, PriceTier::Price, day)?;
    (cap.unit == price.unit).then(|| (price.unit, price.amount_fen.min(cap.amount_fen)))
}

/// A price as text, `1.20 元`.
pub fn yuan(fen: i64) -> String {
    let sign = if fen < 0 { "-" } else { "" };
    format!("{sign}{}.{:02}", fen.unsigned_abs() / 100, fen.unsigned_abs() % 100)
}

/// Parses an amount in yuan (`12`, `1.2`, `0.05`) into fen.
pub fn parse_yuan(field: &str, text: &str) -> Result<i64, ValidationError> {
    let text = text.trim();
    let invalid = || {
        ValidationError::new(
            field,
            format!("`{text}` is not an amount in yuan with at most two decimals, such as 1.20"),
            format!("`{text}` 不是有效的金额（元，最多两位小数，如 1.20）"),
        )
    };
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    if whole.is_empty() || whole.len() > 12 || fraction.len() > 2 {
        return Err(invalid());
    }
    if !whole.chars().chain(fraction.chars()).all(|c| c.is_ascii_digit()) {
        return Err(invalid());
    }
    let whole: i64 = whole.parse().map_err(|_| invalid())?;
    let fraction: i64 =
        if fraction.is_empty() { 0 } else { format!("{fraction:0<2}").parse().map_err(|_| invalid())? };
    Ok(whole * 100 + fraction)
}

/// What a new cap or price says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewPrice {
    /// How deliveries are counted.
    pub unit: ChargingUnit,
    /// Fen per unit.
    pub amount_fen: i64,
    /// First day it applies.
    pub effective_from: NaiveDate,
    /// For a trial cap, its last day.
    pub trial_until: Option<NaiveDate>,
}

fn free_refused(field: &str, category: UseCategory) -> ValidationError {
    ValidationError::new(
        field,
        format!(
            "a product for {} is provided free of charge (public governance and public welfare are free); it takes no {}",
            category,
            if field == "cap" { "cap" } else { "price" }
        ),
        format!("用于{}的产品和服务免费提供，不设收费标准", category.label_zh()),
    )
}

fn amount_checked(amount_fen: i64) -> Result<(), ValidationError> {
    if amount_fen <= 0 {
        return Err(ValidationError::new(
            "amount",
            "the amount must be more than zero yuan (a free product takes no price)",
            "收费金额须大于零（免费产品不设收费标准）",
        ));
    }
    Ok(())
}

/// What a cap is checked against.
#[derive(Debug, Clone, Copy)]
pub struct CapContext<'a> {
    /// The product's use category: free products take no cap.
    pub category: UseCategory,
    /// The product's form, which the unit must fit.
    pub form: ProductForm,
    /// The product's caps and prices so far.
    pub records: &'a [PriceRecord],
    /// Today.
    pub today: NaiveDate,
    /// The last day of the publicity a change of cap needs.
    pub publicity_ends: NaiveDate,
    /// The operator's first day of operation.
    pub operating_since: NaiveDate,
}

/// Checks a cap the implementing body sets. The first cap may apply from
/// today; a change of cap is publicised like a price (so the operator can
/// follow it) and neither is ever retroactive. While the operator has run
/// less than a full year the cap must be a trial cap that ends within a
/// year. The unit must fit the product's form.
pub fn check_cap(context: CapContext<'_>, new: &NewPrice) -> Result<(), ValidationError> {
    let CapContext { category, form, records, today, publicity_ends, operating_since } = context;
    if category.is_free() {
        return Err(free_refused("cap", category));
    }
    amount_checked(new.amount_fen)?;
    if !new.unit.fits(form) {
        return Err(ValidationError::new(
            "unit",
            format!(
                "a product of form `{form}` cannot be charged `{}`: per copy is for datasets, and a verification delivers no rows",
                new.unit
            ),
            format!(
                "“{}”不适用于{}：按产品数量仅适用于数据集，核验服务不交付数据条目",
                new.unit.label_zh(),
                form.label_zh()
            ),
        ));
    }
    let first = !records.iter().any(|r| r.tier == PriceTier::Cap);
    if first && new.effective_from < today {
        return Err(ValidationError::new(
            "effective_from",
            format!("a cap takes effect today ({today}) at the earliest: it is never applied retroactively"),
            format!("上限收费标准最早自今日（{today}）起执行，不得追溯适用"),
        ));
    }
    if !first && new.effective_from <= publicity_ends {
        let earliest = publicity_ends.succ_opt().unwrap_or(publicity_ends);
        return Err(ValidationError::new(
            "effective_from",
            format!(
                "a change of cap is publicised until {publicity_ends} before it applies: on {earliest} at the earliest; it is never applied retroactively"
            ),
            format!("上限收费标准的调整须经公示，公示期至 {publicity_ends}，最早自 {earliest} 起执行，不得追溯适用"),
        ));
    }
    let full_year = operating_since.checked_add_months(Months::new(12)).unwrap_or(NaiveDate::MAX);
    match new.trial_until {
        None if new.effective_from < full_year => Err(ValidationError::new(
            "trial_until",
            format!(
                "the operator has not operated a full year (since {operating_since}); the cap must be a trial price (试行收费标准) with its last day"
            ),
            format!("运营机构运营未满一年（自 {operating_since} 起），应制定试行收费标准并注明试行截止日"),
        )),
        Some(until) if until < new.effective_from => {
            Err(ValidationError::new("trial_until", "a trial ends after it starts", "试行截止日不得早于执行日"))
        }
        Some(until) if until > new.effective_from.checked_add_months(Months::new(12)).unwrap_or(NaiveDate::MAX) => {
            Err(ValidationError::new("trial_until", "a trial lasts at most a year", "试行期不超过一年"))
        }
        _ => Ok(()),
    }
}

/// Checks a price the operator sets: the product must be charged, the price
/// announced at least until `publicity_ends` (收费公示) and so never
/// retroactive, and at most the cap in force on the day it takes effect, in
/// the cap's unit.
pub fn check_price(
    category: UseCategory,
    records: &[PriceRecord],
    new: &NewPrice,
    publicity_ends: NaiveDate,
) -> Result<(), ValidationError> {
    if category.is_free() {
        return Err(free_refused("price", category));
    }
    amount_checked(new.amount_fen)?;
    if new.trial_until.is_some() {
        return Err(ValidationError::new(
            "trial_until",
            "only a cap is set as a trial price; the operator's price applies until a new one takes over",
            "试行期仅适用于上限收费标准；运营机构的收费标准在新标准执行前持续有效",
        ));
    }
    if new.effective_from <= publicity_ends {
        let earliest = publicity_ends.succ_opt().unwrap_or(publicity_ends);
        return Err(ValidationError::new(
            "effective_from",
            format!(
                "a price takes effect only after its publicity (收费公示) ends on {publicity_ends}: on {earliest} at the earliest; it is never applied retroactively"
            ),
            format!("收费标准须经公示，公示期至 {publicity_ends}，最早自 {earliest} 起执行，不得追溯适用"),
        ));
    }
    let Some(cap) = in_force(records, PriceTier::Cap, new.effective_from) else {
        return Err(ValidationError::new(
            "effective_from",
            format!(
                "no cap (上限收费标准) is in force on {}; the implementing body sets the cap first",
                new.effective_from
            ),
            format!("{} 尚无生效的上限收费标准，须先由实施机构制定", new.effective_from),
        ));
    };
    if cap.unit != new.unit {
        return Err(ValidationError::new(
            "unit",
            format!("the cap counts {}, so the price must too (not {})", cap.unit, new.unit),
            format!(
                "上限收费标准的计费单位为“{}”，具体收费标准须一致（而非“{}”）",
                cap.unit.label_zh(),
                new.unit.label_zh()
            ),
        ));
    }
    if new.amount_fen > cap.amount_fen {
        return Err(ValidationError::new(
            "amount",
            format!(
                "the price {} yuan {} exceeds the cap of {} yuan set by the implementing body (in force from {})",
                yuan(new.amount_fen),
                new.unit,
                yuan(cap.amount_fen),
                cap.effective_from
            ),
            format!(
                "收费标准 {} 元（{}）超过实施机构制定的上限收费标准 {} 元（自 {} 起执行）",
                yuan(new.amount_fen),
                new.unit.label_zh(),
                yuan(cap.amount_fen),
                cap.effective_from
            ),
        ));
    }
    Ok(())
}

/// What came out of one delivery, for metering.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Delivered {
    /// Rows that left.
    pub rows: i64,
    /// Whether this customer already received this version of the product.
    pub copy_held: bool,
    /// Whether this customer was already served today.
    pub served_today: bool,
}

/// The units a delivery counts.
pub fn units(unit: ChargingUnit, delivered: Delivered) -> i64 {
    match unit {
        ChargingUnit::PerCopy => i64::from(!delivered.copy_held),
        ChargingUnit::PerCall => 1,
        ChargingUnit::PerDay => i64::from(!delivered.served_today),
        ChargingUnit::PerThousandRows => (delivered.rows.max(0) + 999) / 1000,
    }
}

/// The maximum allowed revenue of an operator for a year (最高准许收入),
/// less what it took above the previous year's (超收部分在下一周期扣减).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RevenueCeiling {
    /// The operator.
    pub operator_org_id: String,
    /// The calendar year.
    pub year: i32,
    /// The maximum set, in fen.
    pub amount_fen: i64,
    /// Revenue above the previous year's maximum, deducted, in fen.
    pub deduction_fen: i64,
    /// The basis (准许成本, 合理收益).
    pub basis: String,
    /// Who set it.
    pub set_by: String,
    /// When.
    pub set_at: DateTime<Utc>,
}

impl RevenueCeiling {
    /// What the operator may take this year.
    pub fn allowed_fen(&self) -> i64 {
        (self.amount_fen - self.deduction_fen).max(0)
    }

    /// Revenue above what is allowed, carried into next year's deduction.
    pub fn excess_fen(&self, revenue_fen: i64) -> i64 {
        (revenue_fen - self.allowed_fen()).max(0)
    }
}

/// One metered delivery of a product: what a usage event of the product
/// channel was charged. Written with its usage event, in one transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    /// Order of writing; assigned by the store.
    pub seq: i64,
    /// The usage event the gateway recorded for it.
    pub usage_seq: i64,
    /// The product.
    pub product_id: String,
    /// The customer's subscription.
    pub subscription_id: String,
    /// The customer.
    pub customer_org_id: String,
    /// The operator.
    pub operator_org_id: String,
    /// When.
    pub at: DateTime<Utc>,
    /// The jurisdiction's local day, which decides the price.
    pub day: NaiveDate,
    /// The version delivered (of the first source resource).
    pub version: Option<i64>,
    /// Rows that left.
    pub rows: i64,
    /// How it was counted; `None` when free.
    pub unit: Option<ChargingUnit>,
    /// Units counted.
    pub units: i64,
    /// Fen per unit charged (the price held to the cap).
    pub unit_price_fen: i64,
    /// `units × unit_price_fen`.
    pub fee_fen: i64,
    /// Whether it was free (public governance or welfare).
    pub free: bool,
}

/// One line of a statement: a product's deliveries at one unit price.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatementLine {
    /// The product.
    pub product_id: String,
    /// The customer.
    pub customer_org_id: String,
    /// How it was counted; `None` for free deliveries.
    pub unit: Option<ChargingUnit>,
    /// Fen per unit.
    pub unit_price_fen: i64,
    /// Deliveries.
    pub deliveries: i64,
    /// Units counted.
    pub units: i64,
    /// Rows delivered.
    pub rows: i64,
    /// Fee, in fen.
    pub fee_fen: i64,
}

/// A statement's lines: deliveries grouped by customer, product, unit and
/// unit price, in that order; free deliveries form their own line.
pub fn statement_lines(deliveries: &[Delivery]) -> Vec<StatementLine> {
    let mut lines: Vec<StatementLine> = Vec::new();
    for d in deliveries {
        let key = (&d.customer_org_id, &d.product_id, d.unit, d.unit_price_fen);
        match lines.iter_mut().find(|l| (&l.customer_org_id, &l.product_id, l.unit, l.unit_price_fen) == key) {
            Some(line) => {
                line.deliveries += 1;
                line.units += d.units;
                line.rows += d.rows;
                line.fee_fen += d.fee_fen;
            }
            None => lines.push(StatementLine {
                product_id: d.product_id.clone(),
                customer_org_id: d.customer_org_id.clone(),
                unit: d.unit,
                unit_price_fen: d.unit_price_fen,
                deliveries: 1,
                units: d.units,
                rows: d.rows,
                fee_fen: d.fee_fen,
            }),
        }
    }
    lines.sort_by(|a, b| {
        (&a.customer_org_id, &a.product_id, a.unit.map(ChargingUnit::code), a.unit_price_fen).cmp(&(
            &b.customer_org_id,
            &b.product_id,
            b.unit.map(ChargingUnit::code),
            b.unit_price_fen,
        ))
    });
    lines
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn day(text: &str) -> NaiveDate {
        text.parse().unwrap()
    }

    fn record(seq: i64, tier: PriceTier, unit: ChargingUnit, fen: i64, from: &str) -> PriceRecord {
        PriceRecord {
            seq,
            product_id: "p".into(),
            tier,
            unit,
            amount_fen: fen,
            effective_from: day(from),
            announced_on: day(from),
            trial_until: None,
            basis: String::new(),
            set_by: "u".into(),
            set_at: Utc::now(),
        }
    }

    fn price(unit: ChargingUnit, fen: i64, from: &str) -> NewPrice {
        NewPrice { unit, amount_fen: fen, effective_from: day(from), trial_until: None }
    }

    #[test]
    fn public_governance_and_welfare_take_no_price() {
        for category in [UseCategory::PublicGovernance, UseCategory::PublicWelfare] {
            let error = check_price(category, &[], &price(ChargingUnit::PerCall, 100, "2026-12-10"), day("2026-12-01"))
                .unwrap_err();
            assert!(error.message_zh.contains("免费提供"), "{error:?}");
            let cap = check_cap(context(category, &[], "2020-01-01"), &price(ChargingUnit::PerCall, 100, "2026-12-10"));
            assert!(cap.is_err());
        }
    }

    #[test]
    fn a_price_above_the_cap_is_refused_with_both_amounts() {
        let caps = [record(1, PriceTier::Cap, ChargingUnit::PerCall, 100, "2026-11-01")];
        let error = check_price(
            UseCategory::Industry,
            &caps,
            &price(ChargingUnit::PerCall, 120, "2026-12-10"),
            day("2026-12-01"),
        )
        .unwrap_err();
        assert_eq!(error.field, "amount");
        assert!(error.message_en.contains("1.20") && error.message_en.contains("1.00"), "{}", error.message_en);
        assert!(
            check_price(
                UseCategory::Industry,
                &caps,
                &price(ChargingUnit::PerCall, 100, "2026-12-10"),
                day("2026-12-01")
            )
            .is_ok()
        );
        let unit = check_price(
            UseCategory::Industry,
            &caps,
            &price(ChargingUnit::PerDay, 50, "2026-12-10"),
            day("2026-12-01"),
        );
        assert_eq!(unit.unwrap_err().field, "unit");
        let trial = NewPrice { trial_until: Some(day("2027-01-01")), ..price(ChargingUnit::PerCall, 90, "2026-12-10") };
        assert_eq!(
            check_price(UseCategory::Industry, &caps, &trial, day("2026-12-01")).unwrap_err().field,
            "trial_until"
        );
    }

    #[test]
    fn a_price_waits_for_its_publicity_and_its_cap() {
        let caps = [record(1, PriceTier::Cap, ChargingUnit::PerCall, 100, "2026-12-20")];
        let early =
            check_price(UseCategory::Sector, &caps, &price(ChargingUnit::PerCall, 80, "2026-12-01"), day("2026-12-01"));
        assert_eq!(early.unwrap_err().field, "effective_from");
        let before_cap =
            check_price(UseCategory::Sector, &caps, &price(ChargingUnit::PerCall, 80, "2026-12-10"), day("2026-12-01"));
        assert!(before_cap.unwrap_err().message_en.contains("no cap"));
    }

    fn context<'a>(category: UseCategory, records: &'a [PriceRecord], since: &str) -> CapContext<'a> {
        CapContext {
            category,
            form: ProductForm::Api,
            records,
            today: day("2026-11-28"),
            publicity_ends: day("2026-12-08"),
            operating_since: day(since),
        }
    }

    #[test]
    fn a_new_operator_gets_a_trial_cap_of_at_most_a_year() {
        let new = |trial: Option<&str>| NewPrice {
            trial_until: trial.map(day),
            ..price(ChargingUnit::PerCall, 100, "2026-12-01")
        };
        let since = "2026-10-20";
        let checked = |new: NewPrice, since: &str| check_cap(context(UseCategory::Industry, &[], since), &new);
        assert_eq!(checked(new(None), since).unwrap_err().field, "trial_until");
        assert!(checked(new(Some("2027-06-30")), since).is_ok());
        assert!(checked(new(Some("2028-06-30")), since).is_err());
        assert!(checked(new(None), "2024-01-01").is_ok(), "a full year run");
        let retro = NewPrice { effective_from: day("2026-11-01"), ..new(Some("2027-06-30")) };
        assert_eq!(checked(retro, since).unwrap_err().field, "effective_from");
    }

    #[test]
    fn a_change_of_cap_is_publicised_and_its_unit_fits_the_form() {
        let caps = [record(1, PriceTier::Cap, ChargingUnit::PerCall, 100, "2026-11-01")];
        let checked = |new: NewPrice| check_cap(context(UseCategory::Industry, &caps, "2024-01-01"), &new);
        assert_eq!(checked(price(ChargingUnit::PerCall, 80, "2026-12-01")).unwrap_err().field, "effective_from");
        assert!(checked(price(ChargingUnit::PerCall, 80, "2026-12-09")).is_ok());
        assert_eq!(checked(price(ChargingUnit::PerCopy, 80, "2026-12-09")).unwrap_err().field, "unit");
        assert!(ChargingUnit::PerCopy.fits(ProductForm::Dataset));
        assert!(!ChargingUnit::PerThousandRows.fits(ProductForm::Verification));
    }

    #[test]
    fn a_trial_cap_lapses_after_its_last_day() {
        let trial = PriceRecord {
            trial_until: Some(day("2026-12-31")),
            ..record(1, PriceTier::Cap, ChargingUnit::PerCall, 100, "2026-11-01")
        };
        let records = [trial, record(2, PriceTier::Price, ChargingUnit::PerCall, 80, "2026-11-10")];
        assert_eq!(charge_on(&records, day("2026-12-31")), Some((ChargingUnit::PerCall, 80)));
        assert_eq!(charge_on(&records, day("2027-01-01")), None, "no formal cap yet: nothing is charged");
        let overtaken = record(3, PriceTier::Price, ChargingUnit::PerCall, 70, "2026-11-10");
        let records = [records[0].clone(), records[1].clone(), overtaken];
        let during = in_force_during(&records, PriceTier::Price, day("2026-01-01"), day("2026-12-31"));
        assert_eq!(during.iter().map(|r| r.seq).collect::<Vec<_>>(), [3], "one overtaken before its day");
    }

    #[test]
    fn the_fee_of_a_day_is_the_price_held_to_the_cap_of_that_day() {
        let records = [
            record(1, PriceTier::Cap, ChargingUnit::PerCall, 100, "2026-11-01"),
            record(2, PriceTier::Price, ChargingUnit::PerCall, 90, "2026-11-10"),
            record(3, PriceTier::Price, ChargingUnit::PerCall, 80, "2026-12-10"),
            record(4, PriceTier::Cap, ChargingUnit::PerCall, 70, "2027-01-01"),
        ];
        assert_eq!(charge_on(&records, day("2026-11-09")), None, "no price yet");
        assert_eq!(charge_on(&records, day("2026-11-10")), Some((ChargingUnit::PerCall, 90)));
        assert_eq!(charge_on(&records, day("2026-12-09")), Some((ChargingUnit::PerCall, 90)), "not before its day");
        assert_eq!(charge_on(&records, day("2026-12-10")), Some((ChargingUnit::PerCall, 80)));
        assert_eq!(charge_on(&records, day("2027-01-01")), Some((ChargingUnit::PerCall, 70)), "held to the new cap");
    }

    #[test]
    fn units_count_as_the_unit_says() {
        let d = |rows, copy_held, served_today| Delivered { rows, copy_held, served_today };
        assert_eq!(units(ChargingUnit::PerCall, d(0, true, true)), 1);
        assert_eq!(units(ChargingUnit::PerCopy, d(10, false, true)), 1);
        assert_eq!(units(ChargingUnit::PerCopy, d(10, true, false)), 0);
        assert_eq!(units(ChargingUnit::PerDay, d(10, true, false)), 1);
        assert_eq!(units(ChargingUnit::PerDay, d(10, false, true)), 0);
        assert_eq!(units(ChargingUnit::PerThousandRows, d(0, false, false)), 0);
        assert_eq!(units(ChargingUnit::PerThousandRows, d(1, false, false)), 1);
        assert_eq!(units(ChargingUnit::PerThousandRows, d(2001, false, false)), 3);
    }

    #[test]
    fn revenue_above_the_maximum_is_carried_over() {
        let ceiling = RevenueCeiling {
            operator_org_id: "op".into(),
            year: 2026,
            amount_fen: 1_000_000,
            deduction_fen: 200_000,
            basis: String::new(),
            set_by: "u".into(),
            set_at: Utc::now(),
        };
        assert_eq!(ceiling.allowed_fen(), 800_000);
        assert_eq!(ceiling.excess_fen(750_000), 0);
        assert_eq!(ceiling.excess_fen(900_000), 100_000);
        assert_eq!(yuan(123_456), "1234.56");
        assert_eq!(yuan(5), "0.05");
        assert_eq!(parse_yuan("a", "1.2"), Ok(120));
        assert_eq!(parse_yuan("a", "12"), Ok(1200));
        assert_eq!(parse_yuan("a", "0.05"), Ok(5));
        for bad in ["", "-1", "1.234", "1,00", "一元", ".5"] {
            assert!(parse_yuan("a", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_statement_groups_by_customer_product_and_unit_price() {
        let delivery = |product: &str, unit: Option<ChargingUnit>, price: i64, units: i64| Delivery {
            seq: 0,
            usage_seq: 0,
            product_id: product.into(),
            subscription_id: "s".into(),
            customer_org_id: "c".into(),
            operator_org_id: "o".into(),
            at: Utc::now(),
            day: day("2026-11-02"),
            version: Some(1),
            rows: 10,
            unit,
            units,
            unit_price_fen: price,
            fee_fen: units * price,
            free: unit.is_none(),
        };
        let lines = statement_lines(&[
            delivery("b", Some(ChargingUnit::PerCall), 30, 1),
            delivery("a", None, 0, 0),
            delivery("b", Some(ChargingUnit::PerCall), 30, 1),
            delivery("b", Some(ChargingUnit::PerCall), 20, 1),
        ]);
        let summary: Vec<(&str, i64, i64, i64)> =
            lines.iter().map(|l| (l.product_id.as_str(), l.unit_price_fen, l.deliveries, l.fee_fen)).collect();
        assert_eq!(summary, [("a", 0, 1, 0), ("b", 20, 1, 20), ("b", 30, 2, 60)]);
        assert_eq!(lines[2].rows, 20);
    }

    proptest! {
        /// Whatever was announced, the fee of a day never exceeds the cap
        /// in force that day, and records announced after a day never
        /// change that day's fee.
        #[test]
        fn fees_never_exceed_the_cap_and_never_change_the_past(
            entries in proptest::collection::vec((any::<bool>(), 1i64..500, 0i64..60), 1..12),
            probe in 0i64..70,
        ) {
            let start = day("2026-11-01");
            let mut records = Vec::new();
            for (i, (is_cap, fen, offset)) in entries.iter().enumerate() {
                let tier = if *is_cap { PriceTier::Cap } else { PriceTier::Price };
                let from = start + chrono::Duration::days(*offset);
                records.push(PriceRecord { effective_from: from, ..record(i as i64, tier, ChargingUnit::PerCall, *fen, "2026-11-01") });
            }
            let on = start + chrono::Duration::days(probe);
            if let Some((_, fen)) = charge_on(&records, on) {
                let cap = in_force(&records, PriceTier::Cap, on).unwrap();
                prop_assert!(fen <= cap.amount_fen);
            }
            let before = charge_on(&records, on);
            records.push(PriceRecord { effective_from: on + chrono::Duration::days(1), ..record(99, PriceTier::Price, ChargingUnit::PerCall, 1, "2026-11-01") });
            records.push(PriceRecord { effective_from: on + chrono::Duration::days(1), ..record(100, PriceTier::Cap, ChargingUnit::PerCall, 1, "2026-11-01") });
            prop_assert_eq!(charge_on(&records, on), before);
        }
    }
}
