//! Yearly disclosure of authorized operation (授权运营信息披露): reports
//! generated from the records, for each implementing body (its grants and
//! the caps it set) and each operator (its authorized resources, products
//! and prices, and its revenue against the maximum), due by the end of
//! March for the year before. Publishing one stores its exact bytes and
//! records their SHA-256 in the ledger (as the history step's opinion,
//! `sha256:<hex>`), so a downloaded report can be checked against the log;
//! a corrected report supersedes the earlier one and both stay readable.

use chrono::{Datelike, NaiveDate};
use gongshu_domain::disclosure::{
    DisclosedGrant, DisclosedOrg, DisclosedPrice, DisclosedProduct, DisclosedResource, DisclosedRevenue, due_date,
};
use gongshu_domain::pricing::in_force_during;
use gongshu_domain::supervision::{Alert, AlertRule, Finding};
use gongshu_domain::{
    Agreement, AgreementKind, Disclosure, DisclosureContent, DisclosureRole, DisclosureStatus, OrgKind, Organization,
    PriceRecord, PriceTier, RegistrationState, ValidationError,
};
use gongshu_ledger::sha256_hex;
use gongshu_metadata::{AgreementFilter, ProductFilter, Transaction};
use gongshu_policy::{Action, Subject};

use crate::pricing::year_bounds;
use crate::{App, AppError, AppResult, Step, actor_id, authorize, new_id};

/// A published report with its discloser.
#[derive(Debug, Clone)]
pub struct DisclosureView {
    /// The report as stored.
    pub disclosure: Disclosure,
    /// Its content, read back.
    pub content: DisclosureContent,
    /// Whether it reports on part of a year only (published before the
    /// year ended); it does not fulfil the year's duty.
    pub interim: bool,
}

/// Whether a report covers its whole year: it was published, in the
/// jurisdiction's local time, after the year ended.
fn is_final(disclosure: &Disclosure, offset: chrono::FixedOffset) -> bool {
    disclosure.published_at.with_timezone(&offset).year() > disclosure.year
}

/// The last day an agreement was in force: its early end, or its term's.
fn ended_on(agreement: &Agreement) -> NaiveDate {
    agreement.record.termination.as_ref().map_or(agreement.terms.valid_until, |t| t.on.min(agreement.terms.valid_until))
}

/// An agreement's state on `day`, from its record rather than its state now.
fn state_on(agreement: &Agreement, day: NaiveDate) -> &'static str {
    match &agreement.record.termination {
        Some(t) if t.on <= day => "已终止",
        _ if agreement.terms.valid_until < day => "已到期",
        _ => "履行中",
    }
}

/// Whether a discloser has published a year's report.
#[derive(Debug, Clone)]
pub struct DisclosureDue {
    /// The discloser.
    pub org: Organization,
    /// Its role.
    pub role: DisclosureRole,
    /// The year.
    pub year: i32,
    /// Due date.
    pub due: NaiveDate,
    /// Published, due or overdue.
    pub status: DisclosureStatus,
    /// The report in force, when published.
    pub published_id: Option<String>,
}

fn read_content(disclosure: &Disclosure) -> AppResult<DisclosureContent> {
    serde_json::from_str(&disclosure.content).map_err(|e| AppError::Internal(Box::new(e)))
}

/// The day a product was coded, which its registration code carries
/// (`RRRRRR K YYYYMMDD SSSSSSS`).
fn coded_on(product: &gongshu_domain::Product) -> Option<NaiveDate> {
    let code = product.code.as_ref()?.as_str();
    NaiveDate::parse_from_str(code.get(7..15)?, "%Y%m%d").ok()
}

fn role_of(org: &Organization) -> AppResult<DisclosureRole> {
    match org.kind {
        OrgKind::ImplementingBody => Ok(DisclosureRole::ImplementingBody),
        OrgKind::Operator => Ok(DisclosureRole::Operator),
        _ => Err(ValidationError::new(
            "org_id",
            format!("`{}` is neither an implementing body nor an operator, so it has nothing to disclose", org.name_zh),
            format!("“{}”不是实施机构或运营机构，无需披露", org.name_zh),
        )
        .into()),
    }
}

impl App {
    /// Operation agreements signed by `as_of` whose term overlaps the year.
    async fn agreements_of_year(
        &self,
        tx: &mut Box<dyn Transaction>,
        org_id: Option<&str>,
        first: NaiveDate,
        as_of: NaiveDate,
    ) -> AppResult<Vec<Agreement>> {
        let filter = AgreementFilter {
            kind: Some(AgreementKind::Operation),
            involving_org_ids: org_id.map(|org| vec![org.to_owned()]),
            limit: 10_000,
            ..Default::default()
        };
        Ok(tx
            .agreements(&filter)
            .await?
            .items
            .into_iter()
            .filter(|a| a.grant_id.is_some())
            .filter(|a| a.record.signature.as_ref().is_some_and(|s| s.signed_at.date_naive() <= as_of))
            .filter(|a| a.terms.valid_from <= as_of && ended_on(a) >= first)
            .collect())
    }

    /// Generates a year's report for an implementing body or operator from
    /// the records, as of the year's end (or today, for the running year).
    async fn generate_disclosure(
        &self,
        tx: &mut Box<dyn Transaction>,
        org: &Organization,
        year: i32,
    ) -> AppResult<DisclosureContent> {
        let role = role_of(org)?;
        let today = self.today();
        let (first, last) = year_bounds(year)?;
        if year > today.year() {
            return Err(ValidationError::new(
                "year",
                format!("{year} has not begun; a report covers a past year, or the running one so far"),
                format!("{year} 年尚未开始；披露报告针对已结束的年度，或本年度截至今日"),
            )
            .into());
        }
        let as_of = last.min(today);
        let mut grants = Vec::new();
        let mut agreement_ids = Vec::new();
        for agreement in self.agreements_of_year(tx, Some(&org.id), first, as_of).await? {
            let ours = match role {
                DisclosureRole::ImplementingBody => agreement.grantor_org_id == org.id,
                DisclosureRole::Operator => agreement.holder_org_id.as_deref() == Some(&org.id),
            };
            if !ours {
                continue;
            }
            let operator = tx.organization(agreement.holder_org_id.as_deref().unwrap_or_default()).await?;
            let mut resources = Vec::new();
            for granted in &agreement.terms.resources {
                let resource = tx.resource(&granted.resource_id).await?;
                resources.push(DisclosedResource {
                    id: resource.id.clone(),
                    code: resource.registration_code.as_ref().map(|c| c.as_str().to_owned()),
                    name: resource.draft.name_zh.clone(),
                });
            }
            agreement_ids.push(agreement.id.clone());
            grants.push(DisclosedGrant {
                agreement_id: agreement.id.clone(),
                title: agreement.terms.title.clone(),
                operator: operator.name_zh.clone(),
                operator_code: operator.code.as_ref().map(|c| c.as_str().to_owned()).unwrap_or_default(),
                mode: agreement.terms.operation_mode.map(|m| m.label_zh().to_owned()).unwrap_or_default(),
                domain: agreement.terms.domain.clone(),
                resources,
                scenarios: agreement.terms.scenarios.clone(),
                modes: agreement.terms.modes.iter().map(|m| m.label_zh().to_owned()).collect(),
                valid_from: agreement.terms.valid_from,
                valid_until: agreement.terms.valid_until,
                state: state_on(&agreement, as_of).to_owned(),
            });
        }
        let filter = match role {
            DisclosureRole::ImplementingBody => {
                ProductFilter { implementing_org_id: Some(org.id.clone()), ..Default::default() }
            }
            DisclosureRole::Operator => ProductFilter { operator_org_id: Some(org.id.clone()), ..Default::default() },
        };
        let products: Vec<_> = tx
            .products(&filter)
            .await?
            .into_iter()
            .filter(|p| p.registration == RegistrationState::Active && coded_on(p).is_some_and(|day| day <= as_of))
            .collect();
        let ids: Vec<String> = products.iter().map(|p| p.id.clone()).collect();
        let records = tx.prices(&ids).await?;
        let tier = match role {
            DisclosureRole::ImplementingBody => PriceTier::Cap,
            DisclosureRole::Operator => PriceTier::Price,
        };
        let mut prices = Vec::new();
        for product in &products {
            let own: Vec<PriceRecord> = records.iter().filter(|r| r.product_id == product.id).cloned().collect();
            for record in in_force_during(&own, tier, first, as_of) {
                prices.push(DisclosedPrice {
                    product_code: product.code.as_ref().map(|c| c.as_str().to_owned()),
                    product_name: product.draft.name.clone(),
                    tier: record.tier.code().to_owned(),
                    unit: record.unit.label_zh().to_owned(),
                    amount_fen: record.amount_fen,
                    effective_from: record.effective_from,
                    trial_until: record.trial_until,
                });
            }
        }
        let revenue = match role {
            DisclosureRole::ImplementingBody => None,
            DisclosureRole::Operator => {
                let revenue = self.revenue_in(tx, &org.id, year).await?;
                Some(DisclosedRevenue {
                    allowed_fen: revenue.ceiling.as_ref().map(gongshu_domain::RevenueCeiling::allowed_fen),
                    revenue_fen: revenue.revenue_fen,
                    excess_fen: revenue.excess_fen,
                    deliveries: revenue.deliveries,
                    free_deliveries: revenue.free_deliveries,
                })
            }
        };
        let products = match role {
            DisclosureRole::ImplementingBody => Vec::new(),
            DisclosureRole::Operator => products
                .iter()
                .map(|p| DisclosedProduct {
                    id: p.id.clone(),
                    code: p.code.as_ref().map(|c| c.as_str().to_owned()),
                    name: p.draft.name.clone(),
                    form: p.draft.form.label_zh().to_owned(),
                    use_category: p.draft.use_category.label_zh().to_owned(),
                    scenario: p.draft.scenario.clone(),
                    listing: p.listing.label_zh().to_owned(),
                    agreement_id: p.agreement_id.clone(),
                })
                .collect(),
        };
        Ok(DisclosureContent {
            format: 1,
            year,
            as_of,
            role,
            discloser: DisclosedOrg {
                id: org.id.clone(),
                code: org.code.as_ref().map(|c| c.as_str().to_owned()).unwrap_or_default(),
                name: org.name_zh.clone(),
                region: org.region.as_str().to_owned(),
                kind: org.kind.label_zh().to_owned(),
            },
            grants,
            products,
            prices,
            revenue,
        })
    }

    /// What a year's report would say now, before it is published: for
    /// the discloser, the bureau and auditors.
    pub async fn preview_disclosure(&self, subject: &Subject, org_id: &str, year: i32) -> AppResult<DisclosureContent> {
        if authorize(subject, Action::Disclose { org_id }).is_err() {
            authorize(subject, Action::Supervise)?;
        }
        let mut tx = self.store.read().await?;
        let org = tx.organization(org_id).await?;
        self.generate_disclosure(&mut tx, &org, year).await
    }

    /// Publishes a year's report, generated from the records; a second
    /// publication of the same year corrects (supersedes) the first.
    pub async fn publish_disclosure(&self, subject: &Subject, org_id: &str, year: i32) -> AppResult<DisclosureView> {
        authorize(subject, Action::Disclose { org_id })?;
        let mut tx = self.store.write().await?;
        let org = tx.organization(org_id).await?;
        let content = self.generate_disclosure(&mut tx, &org, year).await?;
        let text = serde_json::to_string_pretty(&content).map_err(|e| AppError::Internal(Box::new(e)))?;
        let earlier = tx.disclosures(Some(year), Some(org_id)).await?.into_iter().find(|d| !d.superseded);
        let disclosure = Disclosure {
            id: new_id(),
            year,
            org_id: org_id.to_owned(),
            role: content.role,
            content_sha256: sha256_hex(text.as_bytes()),
            content: text,
            published_by: actor_id(subject).unwrap_or_default(),
            published_at: self.clock.now(),
            supersedes: earlier.map(|d| d.id),
            superseded: false,
        };
        tx.insert_disclosure(&disclosure).await?;
        let opinion = format!("sha256:{}", disclosure.content_sha256);
        let step = Step {
            entity_kind: "disclosure",
            entity_id: &disclosure.id,
            action: if disclosure.supersedes.is_some() { "amend" } else { "publish" },
            from_state: None,
            to_state: Some("published"),
            opinion: Some(&opinion),
        };
        self.record(&mut tx, subject, step).await?;
        tx.commit().await?;
        let interim = !is_final(&disclosure, self.rules.utc_offset);
        Ok(DisclosureView { disclosure, content, interim })
    }

    /// Published reports, newest first; anyone may read them.
    pub async fn disclosures(&self, year: Option<i32>) -> AppResult<Vec<DisclosureView>> {
        let mut tx = self.store.read().await?;
        let mut views = Vec::new();
        for disclosure in tx.disclosures(year, None).await? {
            let content = read_content(&disclosure)?;
            let interim = !is_final(&disclosure, self.rules.utc_offset);
            views.push(DisclosureView { disclosure, content, interim });
        }
        Ok(views)
    }

    /// One published report.
    pub async fn disclosure(&self, id: &str) -> AppResult<DisclosureView> {
        let mut tx = self.store.read().await?;
        let disclosure = tx.disclosure(id).await?;
        let content = read_content(&disclosure)?;
        let interim = !is_final(&disclosure, self.rules.utc_offset);
        Ok(DisclosureView { disclosure, content, interim })
    }

    /// The ledger entry that recorded a report's publication (and its hash).
    pub async fn disclosure_ledger_entry(&self, id: &str) -> AppResult<Option<gongshu_metadata::LedgerRecord>> {
        let mut tx = self.store.read().await?;
        let Some(step) = tx.history("disclosure", id).await?.into_iter().next() else {
            return Ok(None);
        };
        Ok(tx.ledger_entry_of("state", step.seq).await?)
    }

    /// Who must disclose for a year and whether they have: every
    /// implementing body and operator party to an operation agreement in
    /// force during the year.
    pub async fn disclosure_status(&self, year: i32) -> AppResult<Vec<DisclosureDue>> {
        let mut tx = self.store.read().await?;
        self.disclosure_duties(&mut tx, year).await
    }

    async fn disclosure_duties(&self, tx: &mut Box<dyn Transaction>, year: i32) -> AppResult<Vec<DisclosureDue>> {
        let today = self.today();
        let (first, last) = year_bounds(year)?;
        let as_of = last.min(today);
        let mut org_ids: Vec<String> = Vec::new();
        for agreement in self.agreements_of_year(tx, None, first, as_of).await? {
            org_ids.push(agreement.grantor_org_id.clone());
            org_ids.extend(agreement.holder_org_id.clone());
        }
        org_ids.sort();
        org_ids.dedup();
        let published = tx.disclosures(Some(year), None).await?;
        let mut duties = Vec::new();
        for id in org_ids {
            let org = tx.organization(&id).await?;
            let Ok(role) = role_of(&org) else { continue };
            // Only a report on the whole year fulfils the duty.
            let offset = self.rules.utc_offset;
            let current = published.iter().find(|d| d.org_id == id && !d.superseded && is_final(d, offset));
            duties.push(DisclosureDue {
                role,
                year,
                due: due_date(year),
                status: DisclosureStatus::of(year, current.is_some(), today),
                published_id: current.map(|d| d.id.clone()),
                org,
            });
        }
        Ok(duties)
    }

    /// Raises an alert, once per discloser and year, for a report of last
    /// year not published by the end of March.
    pub(crate) async fn check_disclosures(&self) -> AppResult<Vec<Alert>> {
        let last_year = self.today().year() - 1;
        let mut tx = self.store.write().await?;
        let filter = AgreementFilter { kind: Some(AgreementKind::Operation), limit: 10_000, ..Default::default() };
        let agreements = tx.agreements(&filter).await?.items;
        let since = agreements.iter().filter(|a| a.grant_id.is_some()).map(|a| a.terms.valid_from.year()).min();
        let mut duties = Vec::new();
        for year in since.unwrap_or(last_year + 1).max(2000)..=last_year {
            duties.extend(self.disclosure_duties(&mut tx, year).await?);
        }
        let mut raised = Vec::new();
        for duty in duties {
            let year = duty.year;
            let dedup_key = format!("disclosure_overdue:{}:{year}", duty.org.id);
            if duty.status != DisclosureStatus::Overdue {
                continue;
            }
            let finding = Finding {
                rule: AlertRule::DisclosureOverdue,
                dedup_key,
                grant_id: None,
                resource_id: None,
                user_id: None,
                org_id: Some(duty.org.id.clone()),
                summary_en: format!(
                    "{} ({}) has not published its disclosure for {year}, due on {}",
                    duty.org.name_en.as_deref().unwrap_or(&duty.org.name_zh),
                    duty.role,
                    duty.due
                ),
                summary_zh: format!(
                    "{}（{}）未在 {} 前披露 {year} 年度授权运营信息",
                    duty.org.name_zh,
                    duty.role.label_zh(),
                    duty.due
                ),
                evidence: vec![],
            };
            raised.extend(self.raise_alert(&mut tx, finding).await?);
        }
        tx.commit().await?;
        Ok(raised)
    }
}

/// A report as CSV (UTF-8 with a byte-order mark, so spreadsheet programs
/// read the Chinese right): one row per fact, `section, item, field, value`.
pub fn disclosure_csv(content: &DisclosureContent) -> String {
    use gongshu_domain::pricing::yuan;
    let mut rows: Vec<[String; 4]> = Vec::new();
    let mut row = |section: &str, item: &str, field: &str, value: String| {
        rows.push([section.to_owned(), item.to_owned(), field.to_owned(), value]);
    };
    let d = &content.discloser;
    row("report", "", "year", content.year.to_string());
    row("report", "", "as_of", content.as_of.to_string());
    row("report", "", "role", content.role.label_zh().to_owned());
    row("discloser", &d.code, "name", d.name.clone());
    row("discloser", &d.code, "region", d.region.clone());
    row("discloser", &d.code, "kind", d.kind.clone());
    for g in &content.grants {
        row("grant", &g.agreement_id, "title", g.title.clone());
        row("grant", &g.agreement_id, "operator", format!("{}（{}）", g.operator, g.operator_code));
        row("grant", &g.agreement_id, "mode", g.mode.clone());
        if let Some(domain) = &g.domain {
            row("grant", &g.agreement_id, "domain", domain.clone());
        }
        for r in &g.resources {
            row("grant", &g.agreement_id, "resource", format!("{} {}", r.code.as_deref().unwrap_or(&r.id), r.name));
        }
        row("grant", &g.agreement_id, "scenarios", g.scenarios.join("；"));
        row("grant", &g.agreement_id, "modes", g.modes.join("；"));
        row("grant", &g.agreement_id, "term", format!("{} — {}", g.valid_from, g.valid_until));
        row("grant", &g.agreement_id, "state", g.state.clone());
    }
    for p in &content.products {
        let item = p.code.as_deref().unwrap_or(&p.id);
        row("product", item, "name", p.name.clone());
        row("product", item, "form", p.form.clone());
        row("product", item, "use_category", p.use_category.clone());
        row("product", item, "scenario", p.scenario.clone());
        row("product", item, "listing", p.listing.clone());
    }
    for p in &content.prices {
        let item = p.product_code.clone().unwrap_or_default();
        let trial = p.trial_until.map(|d| format!("，试行至 {d}")).unwrap_or_default();
        row(
            &p.tier,
            &item,
            &p.product_name,
            format!("{} 元/{}，自 {} 起{trial}", yuan(p.amount_fen), p.unit, p.effective_from),
        );
    }
    if let Some(r) = &content.revenue {
        row("revenue", "", "allowed_yuan", r.allowed_fen.map(yuan).unwrap_or_default());
        row("revenue", "", "revenue_yuan", yuan(r.revenue_fen));
        row("revenue", "", "excess_yuan", yuan(r.excess_fen));
        row("revenue", "", "deliveries", r.deliveries.to_string());
        row("revenue", "", "free_deliveries", r.free_deliveries.to_string());
    }
    let quote = |field: &str| {
        if field.contains([',', '"', '\n', '\r']) {
            format!("\"{}\"", field.replace('"', "\"\""))
        } else {
            field.to_owned()
        }
    };
    let mut out = String::from("\u{feff}section,item,field,value\r\n");
    for r in rows {
        out.push_str(&r.iter().map(|f| quote(f)).collect::<Vec<_>>().join(","));
        out.push_str("\r\n");
    }
    out
}
