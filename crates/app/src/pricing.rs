//! Prices under the government-guided cap, in three tiers (see
//! [`gongshu_domain::pricing`]): the bureau sets each operator's maximum
//! allowed revenue for a year, deducting what it took above the last one;
//! the implementing body sets each product's cap; the operator announces
//! its price, publicised before it takes effect. Each is a history step
//! and so a ledger entry. Statements and revenue are read from the
//! metered deliveries; revenue above the maximum raises an alert.

use chrono::{Datelike, Duration, NaiveDate};
use gongshu_domain::error::required_text;
use gongshu_domain::pricing::{CapContext, check_cap, check_price, parse_yuan, statement_lines, yuan};
use gongshu_domain::supervision::{Alert, AlertRule, Finding};
use gongshu_domain::{
    AgreementKind, ChargingUnit, NewPrice, PriceRecord, PriceTier, Product, RevenueCeiling, StatementLine,
    ValidationError, Validations,
};
use gongshu_metadata::{AgreementFilter, DeliveryFilter, Transaction};
use gongshu_policy::{Action, Subject};

use crate::sharing::parse_day;
use crate::{App, AppError, AppResult, Step, actor_id, authorize};

/// A cap or price as asked.
#[derive(Debug, Clone, Default)]
pub struct PriceInput {
    /// `per_copy`, `per_call`, `per_day`, `per_thousand_rows`.
    pub unit: String,
    /// Yuan per unit, as text (`1.20`).
    pub amount: String,
    /// First day, `YYYY-MM-DD`.
    pub effective_from: String,
    /// For a trial cap, its last day.
    pub trial_until: Option<String>,
    /// The basis: the cost survey, the written report to the price
    /// authority, the publicity notice.
    pub basis: String,
}

/// A statement: what a customer received in a period, and owes.
#[derive(Debug, Clone)]
pub struct Statement {
    /// The customer.
    pub customer_org_id: String,
    /// Only this operator's products, when asked.
    pub operator_org_id: Option<String>,
    /// First day.
    pub since: NaiveDate,
    /// Last day.
    pub until: NaiveDate,
    /// Lines with their products.
    pub lines: Vec<(StatementLine, Product)>,
    /// Total fee, in fen.
    pub total_fen: i64,
}

/// An operator's revenue in a year against its maximum.
#[derive(Debug, Clone)]
pub struct Revenue {
    /// The operator.
    pub operator_org_id: String,
    /// The year.
    pub year: i32,
    /// Its maximum, when set.
    pub ceiling: Option<RevenueCeiling>,
    /// Fees metered in the year, in fen.
    pub revenue_fen: i64,
    /// Above the maximum, carried into next year's deduction.
    pub excess_fen: i64,
    /// Deliveries.
    pub deliveries: i64,
    /// Of which free.
    pub free_deliveries: i64,
}

impl PriceInput {
    fn validate(&self) -> Result<(NewPrice, String), Validations> {
        let mut problems = Validations::default();
        let unit = problems.check(ChargingUnit::parse("unit", &self.unit));
        let amount = problems.check(parse_yuan("amount", &self.amount));
        let effective_from = problems.check(parse_day("effective_from", &self.effective_from));
        let trial_until = match self.trial_until.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
            Some(text) => problems.check(parse_day("trial_until", text)),
            None => None,
        };
        let basis = problems.check(required_text("basis", &self.basis, 2000));
        problems.finish(|| {
            let new = NewPrice {
                unit: unit.unwrap_or(ChargingUnit::PerCall),
                amount_fen: amount.unwrap_or_default(),
                effective_from: effective_from.unwrap_or_default(),
                trial_until,
            };
            (new, basis.unwrap_or_default())
        })
    }
}

/// The first and last day of a year from 2000 to 2200, or why not.
pub(crate) fn year_bounds(year: i32) -> Result<(NaiveDate, NaiveDate), ValidationError> {
    let out_of_range =
        || ValidationError::new("year", "the year must be from 2000 to 2200", "年度须在 2000 至 2200 之间");
    if !(2000..=2200).contains(&year) {
        return Err(out_of_range());
    }
    let first = NaiveDate::from_ymd_opt(year, 1, 1).ok_or_else(out_of_range)?;
    let last = NaiveDate::from_ymd_opt(year, 12, 31).ok_or_else(out_of_range)?;
    Ok((first, last))
}

/// The first and last day of a month given as `YYYY-MM`.
fn month_bounds(period: &str) -> Result<(NaiveDate, NaiveDate), ValidationError> {
    let first = NaiveDate::parse_from_str(&format!("{}-01", period.trim()), "%Y-%m-%d").map_err(|_| {
        ValidationError::new(
            "period",
            format!("`{period}` is not a month in the form YYYY-MM"),
            format!("`{period}` 不是 YYYY-MM 格式的月份"),
        )
    })?;
    year_bounds(first.year())?;
    let next = first.checked_add_months(chrono::Months::new(1)).ok_or_else(|| {
        ValidationError::new("period", format!("`{period}` is out of range"), format!("`{period}` 超出范围"))
    })?;
    Ok((first, next - Duration::days(1)))
}

impl App {
    /// The day an operator began operating: the first day of its earliest
    /// signed authorized-operation agreement.
    async fn operating_since(&self, tx: &mut Box<dyn Transaction>, operator: &str) -> AppResult<NaiveDate> {
        let filter = AgreementFilter {
            kind: Some(AgreementKind::Operation),
            involving_org_ids: Some(vec![operator.to_owned()]),
            limit: 1000,
            ..Default::default()
        };
        let agreements = tx.agreements(&filter).await?.items;
        Ok(agreements
            .iter()
            .filter(|a| a.holder_org_id.as_deref() == Some(operator) && a.grant_id.is_some())
            .map(|a| a.terms.valid_from)
            .min()
            .unwrap_or_else(|| self.today()))
    }

    async fn announce(
        &self,
        tx: &mut Box<dyn Transaction>,
        subject: &Subject,
        product: &Product,
        tier: PriceTier,
        new: NewPrice,
        basis: String,
    ) -> AppResult<PriceRecord> {
        let mut record = PriceRecord {
            seq: 0,
            product_id: product.id.clone(),
            tier,
            unit: new.unit,
            amount_fen: new.amount_fen,
            effective_from: new.effective_from,
            announced_on: self.today(),
            trial_until: new.trial_until,
            basis,
            set_by: actor_id(subject).unwrap_or_default(),
            set_at: self.clock.now(),
        };
        record.seq = tx.insert_price(&record).await?;
        let action = match tier {
            PriceTier::Cap => "set_cap",
            PriceTier::Price => "set_price",
        };
        let trial = record.trial_until.map(|d| format!("，试行至 {d}")).unwrap_or_default();
        let opinion = format!(
            "{}：{} 元/{}，自 {} 起执行{trial}；依据：{}",
            tier.label_zh(),
            yuan(record.amount_fen),
            record.unit.label_zh(),
            record.effective_from,
            record.basis
        );
        let step = Step {
            entity_kind: "product",
            entity_id: &product.id,
            action,
            from_state: None,
            to_state: None,
            opinion: Some(&opinion),
        };
        self.record(tx, subject, step).await?;
        Ok(record)
    }

    /// The implementing body sets a product's cap (上限收费标准), from today
    /// at the earliest; a trial cap while the operator has run less than a
    /// year.
    pub async fn set_price_cap(
        &self,
        subject: &Subject,
        product_id: &str,
        input: PriceInput,
    ) -> AppResult<PriceRecord> {
        let (new, basis) = input.validate()?;
        let mut tx = self.store.write().await?;
        let product = self.visible_product(&mut tx, subject, product_id).await?;
        authorize(subject, Action::SetPriceCap { implementing_org_id: &product.implementing_org_id })?;
        if !product.is_public() {
            return Err(AppError::conflict(
                "a cap is set once the product has passed review (from publicity on)",
                "产品通过形式审核（进入公示）后方可制定上限收费标准",
            ));
        }
        let since = self.operating_since(&mut tx, &product.operator_org_id).await?;
        let records = tx.prices(std::slice::from_ref(&product.id)).await?;
        let context = CapContext {
            category: product.draft.use_category,
            form: product.draft.form,
            records: &records,
            today: self.today(),
            publicity_ends: self.today() + Duration::days(i64::from(self.rules.price_publicity_days)),
            operating_since: since,
        };
        check_cap(context, &new)?;
        let record = self.announce(&mut tx, subject, &product, PriceTier::Cap, new, basis).await?;
        tx.commit().await?;
        Ok(record)
    }

    /// The operator announces its price (具体收费标准): at most the cap in
    /// force on its first day, in the cap's unit, and publicised for
    /// `price_publicity_days` before it takes effect.
    pub async fn set_price(&self, subject: &Subject, product_id: &str, input: PriceInput) -> AppResult<PriceRecord> {
        let (new, basis) = input.validate()?;
        let mut tx = self.store.write().await?;
        let product = self.visible_product(&mut tx, subject, product_id).await?;
        authorize(subject, Action::ManageProducts { operator_org_id: &product.operator_org_id })?;
        if !product.is_public() {
            return Err(AppError::conflict(
                "a price is announced once the product has passed review (from publicity on)",
                "产品通过形式审核（进入公示）后方可公示收费标准",
            ));
        }
        let records = tx.prices(std::slice::from_ref(&product.id)).await?;
        let publicity_ends = self.today() + Duration::days(i64::from(self.rules.price_publicity_days));
        check_price(product.draft.use_category, &records, &new, publicity_ends)?;
        let record = self.announce(&mut tx, subject, &product, PriceTier::Price, new, basis).await?;
        tx.commit().await?;
        Ok(record)
    }

    /// The bureau sets an operator's maximum allowed revenue for a year;
    /// what the operator took above the previous year's maximum is
    /// deducted (超收部分在下一周期扣减).
    pub async fn set_revenue_ceiling(
        &self,
        subject: &Subject,
        operator_org_id: &str,
        year: i32,
        amount: &str,
        basis: &str,
    ) -> AppResult<RevenueCeiling> {
        authorize(subject, Action::SetRevenueCeiling)?;
        let mut problems = Validations::default();
        let amount_fen = problems.check(parse_yuan("amount", amount));
        let basis = problems.check(required_text("basis", basis, 2000));
        problems.check(year_bounds(year));
        if year < self.today().year() {
            problems.push(ValidationError::new(
                "year",
                format!("{year} has closed; its maximum allowed revenue is no longer set or changed"),
                format!("{year} 年度已结束，不再核定或调整其最高准许收入"),
            ));
        }
        problems.finish(|| ())?;
        let mut tx = self.store.write().await?;
        let operator = tx.organization(operator_org_id).await?;
        if operator.kind != gongshu_domain::OrgKind::Operator {
            return Err(ValidationError::new(
                "operator_org_id",
                format!("`{}` is not an operator", operator.name_zh),
                format!("“{}”不是运营机构", operator.name_zh),
            )
            .into());
        }
        let previous = self.revenue_in(&mut tx, operator_org_id, year - 1).await?;
        let ceiling = RevenueCeiling {
            operator_org_id: operator_org_id.to_owned(),
            year,
            amount_fen: amount_fen.unwrap_or_default(),
            // What is known now; reads recompute it from the records.
            deduction_fen: previous.excess_fen,
            basis: basis.unwrap_or_default(),
            set_by: actor_id(subject).unwrap_or_default(),
            set_at: self.clock.now(),
        };
        tx.put_ceiling(&ceiling).await?;
        let id = format!("{operator_org_id}/{year}");
        let opinion = format!(
            "{year} 年最高准许收入 {} 元，扣减上一年度超收 {} 元，准许 {} 元；依据：{}",
            yuan(ceiling.amount_fen),
            yuan(ceiling.deduction_fen),
            yuan(ceiling.allowed_fen()),
            ceiling.basis
        );
        let step = Step {
            entity_kind: "revenue_ceiling",
            entity_id: &id,
            action: "set",
            from_state: None,
            to_state: None,
            opinion: Some(&opinion),
        };
        self.record(&mut tx, subject, step).await?;
        tx.commit().await?;
        Ok(ceiling)
    }

    /// An operator's revenue in a year against its maximum. The deduction
    /// for the year before's excess is read from the records now, not kept
    /// from when the maximum was set, so fees taken after that still carry.
    pub(crate) async fn revenue_in(
        &self,
        tx: &mut Box<dyn Transaction>,
        operator: &str,
        year: i32,
    ) -> AppResult<Revenue> {
        let ceilings = tx.ceilings(Some(operator)).await?;
        let first = ceilings.iter().map(|c| c.year).min().unwrap_or(year).min(year);
        let mut carried = 0;
        let mut revenue = None;
        for y in first..=year {
            let (since, until) = year_bounds(y)?;
            let filter = DeliveryFilter {
                operator_org_id: Some(operator.to_owned()),
                since: Some(since),
                until: Some(until),
                ..Default::default()
            };
            let (revenue_fen, deliveries, free_deliveries) = tx.delivery_totals(&filter).await?;
            let ceiling =
                ceilings.iter().find(|c| c.year == y).map(|c| RevenueCeiling { deduction_fen: carried, ..c.clone() });
            let excess_fen = ceiling.as_ref().map_or(0, |c| c.excess_fen(revenue_fen));
            carried = excess_fen;
            revenue = Some(Revenue {
                operator_org_id: operator.to_owned(),
                year: y,
                ceiling,
                revenue_fen,
                excess_fen,
                deliveries,
                free_deliveries,
            });
        }
        Ok(revenue.expect("the range holds `year`"))
    }

    /// An operator's revenue in a year against its maximum: for the
    /// operator, the bureau and auditors.
    pub async fn revenue(&self, subject: &Subject, operator_org_id: &str, year: i32) -> AppResult<Revenue> {
        authorize(subject, Action::ViewStatement { operator_org_id, customer_org_id: operator_org_id })?;
        year_bounds(year)?;
        let mut tx = self.store.read().await?;
        self.revenue_in(&mut tx, operator_org_id, year).await
    }

    /// A customer's statement for a month (`YYYY-MM`), of one operator's
    /// products or of all it subscribed to.
    pub async fn statement(
        &self,
        subject: &Subject,
        customer_org_id: &str,
        operator_org_id: Option<&str>,
        period: &str,
    ) -> AppResult<Statement> {
        let (since, until) = month_bounds(period)?;
        // Without an operator named, only the customer (or those who
        // oversee) may read across all its operators.
        let operator = operator_org_id.unwrap_or(customer_org_id);
        authorize(subject, Action::ViewStatement { operator_org_id: operator, customer_org_id })?;
        let mut tx = self.store.read().await?;
        let filter = DeliveryFilter {
            customer_org_id: Some(customer_org_id.to_owned()),
            operator_org_id: operator_org_id.map(str::to_owned),
            since: Some(since),
            until: Some(until),
            ..Default::default()
        };
        let deliveries = tx.deliveries(&filter).await?;
        let mut lines = Vec::new();
        for line in statement_lines(&deliveries) {
            let product = tx.product(&line.product_id).await?;
            lines.push((line, product));
        }
        let total_fen = lines.iter().map(|(line, _)| line.fee_fen).sum();
        Ok(Statement {
            customer_org_id: customer_org_id.to_owned(),
            operator_org_id: operator_org_id.map(str::to_owned),
            since,
            until,
            lines,
            total_fen,
        })
    }

    /// Raises an alert, once a year per operator, when an operator's fees
    /// pass its maximum allowed revenue.
    pub(crate) async fn check_revenue(&self) -> AppResult<Vec<Alert>> {
        let this_year = self.today().year();
        let mut tx = self.store.write().await?;
        let mut raised = Vec::new();
        // Last year too: fees of its last minutes are seen after New Year.
        for ceiling in tx.ceilings(None).await?.into_iter().filter(|c| c.year + 1 >= this_year && c.year <= this_year) {
            let year = ceiling.year;
            let revenue = self.revenue_in(&mut tx, &ceiling.operator_org_id, year).await?;
            let dedup_key = format!("revenue_over_ceiling:{}:{year}", ceiling.operator_org_id);
            if revenue.excess_fen == 0 {
                continue;
            }
            let finding = Finding {
                rule: AlertRule::RevenueOverCeiling,
                dedup_key,
                grant_id: None,
                resource_id: None,
                user_id: None,
                org_id: Some(ceiling.operator_org_id.clone()),
                summary_en: format!(
                    "fees of {year} reached {} yuan, {} above the maximum allowed revenue of {}; the excess is deducted from next year's",
                    yuan(revenue.revenue_fen),
                    yuan(revenue.excess_fen),
                    yuan(revenue.ceiling.as_ref().map_or(0, RevenueCeiling::allowed_fen))
                ),
                summary_zh: format!(
                    "{year} 年收费已达 {} 元，超出最高准许收入 {} 元共 {} 元，超收部分在下一年度扣减",
                    yuan(revenue.revenue_fen),
                    yuan(revenue.ceiling.as_ref().map_or(0, RevenueCeiling::allowed_fen)),
                    yuan(revenue.excess_fen)
                ),
                evidence: vec![],
            };
            raised.extend(self.raise_alert(&mut tx, finding).await?);
        }
        tx.commit().await?;
        Ok(raised)
    }
}
