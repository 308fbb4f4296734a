//! Storage of operators' products: the products, their caps and prices,
//! subscriptions, metered deliveries (each queued to the ledger with its
//! charge), the maximum allowed revenue and the disclosure reports.

use chrono::NaiveDate;
use gongshu_domain::{
    ChargingUnit, Delivery, Disclosure, DisclosureRole, ListingState, PriceRecord, PriceTier, Product, ProductDraft,
    ProductForm, ProductSpec, RegistrationCode, RegistrationState, RevenueCeiling, Subscription, SubscriptionState,
    UseCategory,
};
use gongshu_ledger::{DeliveryCharge, Entry};
use serde_json::json;
use sqlx::Row;
use sqlx::any::AnyRow;

use super::{Bind, DynSql, SqlTransaction, day, ledger_time, opt_day, parse_day, parse_opt_day, parse_ts, stored, ts};
use crate::{DeliveryFilter, ProductFilter, StoreError, StoreResult, SubscriptionFilter};

fn encode_spec(spec: &ProductSpec) -> String {
    json!({ "version": 1, "spec": spec }).to_string()
}

fn decode_spec(text: &str) -> StoreResult<ProductSpec> {
    let mut value: serde_json::Value =
        serde_json::from_str(text).map_err(|e| StoreError::Corrupt(format!("product spec: {e}")))?;
    match value.get("version").and_then(|v| v.as_i64()) {
        Some(1) => serde_json::from_value(value["spec"].take())
            .map_err(|e| StoreError::Corrupt(format!("product spec v1: {e}"))),
        other => Err(StoreError::Corrupt(format!("product spec has unknown version {other:?}"))),
    }
}

fn product_from_row(row: &AnyRow) -> StoreResult<Product> {
    Ok(Product {
        id: row.try_get("id")?,
        code: row
            .try_get::<Option<String>, _>("code")?
            .map(|c| stored(RegistrationCode::parse("code", &c)))
            .transpose()?,
        operator_org_id: row.try_get("operator_org_id")?,
        agreement_id: row.try_get("agreement_id")?,
        grant_id: row.try_get("grant_id")?,
        implementing_org_id: row.try_get("implementing_org_id")?,
        draft: ProductDraft {
            name: row.try_get("name")?,
            form: stored(ProductForm::parse("form", &row.try_get::<String, _>("form")?))?,
            use_category: stored(UseCategory::parse("use_category", &row.try_get::<String, _>("use_category")?))?,
            scenario: row.try_get("scenario")?,
            spec: decode_spec(&row.try_get::<String, _>("spec")?)?,
        },
        registration: stored(RegistrationState::parse(
            "registration_state",
            &row.try_get::<String, _>("registration_state")?,
        ))?,
        listing: stored(ListingState::parse("listing", &row.try_get::<String, _>("listing")?))?,
        due_date: parse_opt_day(row.try_get("due_date")?)?,
        publicity_start: parse_opt_day(row.try_get("publicity_start")?)?,
        publicity_end: parse_opt_day(row.try_get("publicity_end")?)?,
        submitted_by: row.try_get("submitted_by")?,
        created_at: parse_ts(&row.try_get::<String, _>("created_at")?)?,
        updated_at: parse_ts(&row.try_get::<String, _>("updated_at")?)?,
        row_version: row.try_get("row_version")?,
    })
}

fn price_from_row(row: &AnyRow) -> StoreResult<PriceRecord> {
    Ok(PriceRecord {
        seq: row.try_get("seq")?,
        product_id: row.try_get("product_id")?,
        tier: stored(PriceTier::parse("tier", &row.try_get::<String, _>("tier")?))?,
        unit: stored(ChargingUnit::parse("unit", &row.try_get::<String, _>("unit")?))?,
        amount_fen: row.try_get("amount_fen")?,
        effective_from: parse_day(&row.try_get::<String, _>("effective_from")?)?,
        announced_on: parse_day(&row.try_get::<String, _>("announced_on")?)?,
        trial_until: parse_opt_day(row.try_get("trial_until")?)?,
        basis: row.try_get("basis")?,
        set_by: row.try_get("set_by")?,
        set_at: parse_ts(&row.try_get::<String, _>("set_at")?)?,
    })
}

fn ceiling_from_row(row: &AnyRow) -> StoreResult<RevenueCeiling> {
    Ok(RevenueCeiling {
        operator_org_id: row.try_get("operator_org_id")?,
        year: i32::try_from(row.try_get::<i64, _>("year")?).map_err(|e| StoreError::Corrupt(e.to_string()))?,
        amount_fen: row.try_get("amount_fen")?,
        deduction_fen: row.try_get("deduction_fen")?,
        basis: row.try_get("basis")?,
        set_by: row.try_get("set_by")?,
        set_at: parse_ts(&row.try_get::<String, _>("set_at")?)?,
    })
}

fn subscription_from_row(row: &AnyRow) -> StoreResult<Subscription> {
    Ok(Subscription {
        id: row.try_get("id")?,
        product_id: row.try_get("product_id")?,
        customer_org_id: row.try_get("customer_org_id")?,
        use_category: stored(UseCategory::parse("use_category", &row.try_get::<String, _>("use_category")?))?,
        purpose: row.try_get("purpose")?,
        state: stored(SubscriptionState::parse("state", &row.try_get::<String, _>("state")?))?,
        opinion: row.try_get("opinion")?,
        created_by: row.try_get("created_by")?,
        created_at: parse_ts(&row.try_get::<String, _>("created_at")?)?,
        updated_at: parse_ts(&row.try_get::<String, _>("updated_at")?)?,
        row_version: row.try_get("row_version")?,
    })
}

fn delivery_from_row(row: &AnyRow) -> StoreResult<Delivery> {
    Ok(Delivery {
        seq: row.try_get("seq")?,
        usage_seq: row.try_get("usage_seq")?,
        product_id: row.try_get("product_id")?,
        subscription_id: row.try_get("subscription_id")?,
        customer_org_id: row.try_get("customer_org_id")?,
        operator_org_id: row.try_get("operator_org_id")?,
        at: parse_ts(&row.try_get::<String, _>("at")?)?,
        day: parse_day(&row.try_get::<String, _>("day")?)?,
        version: row.try_get("version")?,
        rows: row.try_get("rows_out")?,
        unit: row.try_get::<Option<String>, _>("unit")?.map(|u| stored(ChargingUnit::parse("unit", &u))).transpose()?,
        units: row.try_get("units")?,
        unit_price_fen: row.try_get("unit_price_fen")?,
        fee_fen: row.try_get("fee_fen")?,
        free: row.try_get::<i64, _>("free")? != 0,
    })
}

fn disclosure_from_row(row: &AnyRow) -> StoreResult<Disclosure> {
    Ok(Disclosure {
        id: row.try_get("id")?,
        year: i32::try_from(row.try_get::<i64, _>("year")?).map_err(|e| StoreError::Corrupt(e.to_string()))?,
        org_id: row.try_get("org_id")?,
        role: stored(DisclosureRole::parse("role", &row.try_get::<String, _>("role")?))?,
        content: row.try_get("content")?,
        content_sha256: row.try_get("content_sha256")?,
        published_by: row.try_get("published_by")?,
        published_at: parse_ts(&row.try_get::<String, _>("published_at")?)?,
        supersedes: row.try_get("supersedes")?,
        superseded: row.try_get::<i64, _>("superseded")? != 0,
    })
}

impl SqlTransaction {
    pub(super) async fn put_product(&mut self, p: &Product) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO product (id, code, operator_org_id, agreement_id, grant_id, implementing_org_id, name, form, \
             use_category, scenario, spec, registration_state, listing, due_date, publicity_start, publicity_end, \
             submitted_by, created_at, updated_at, row_version) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20)",
        )
        .bind(p.id.clone())
        .bind(p.code.as_ref().map(|c| c.as_str().to_owned()))
        .bind(p.operator_org_id.clone())
        .bind(p.agreement_id.clone())
        .bind(p.grant_id.clone())
        .bind(p.implementing_org_id.clone())
        .bind(p.draft.name.clone())
        .bind(p.draft.form.code())
        .bind(p.draft.use_category.code())
        .bind(p.draft.scenario.clone())
        .bind(encode_spec(&p.draft.spec))
        .bind(p.registration.code())
        .bind(p.listing.code())
        .bind(opt_day(p.due_date))
        .bind(opt_day(p.publicity_start))
        .bind(opt_day(p.publicity_end))
        .bind(p.submitted_by.clone())
        .bind(ts(p.created_at))
        .bind(ts(p.updated_at))
        .bind(p.row_version)
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    pub(super) async fn write_product(&mut self, p: &Product) -> StoreResult<Product> {
        let done = sqlx::query(
            "UPDATE product SET code = $1, name = $2, form = $3, use_category = $4, scenario = $5, spec = $6, \
             registration_state = $7, listing = $8, due_date = $9, publicity_start = $10, publicity_end = $11, \
             updated_at = $12, row_version = $13 WHERE id = $14 AND row_version = $15",
        )
        .bind(p.code.as_ref().map(|c| c.as_str().to_owned()))
        .bind(p.draft.name.clone())
        .bind(p.draft.form.code())
        .bind(p.draft.use_category.code())
        .bind(p.draft.scenario.clone())
        .bind(encode_spec(&p.draft.spec))
        .bind(p.registration.code())
        .bind(p.listing.code())
        .bind(opt_day(p.due_date))
        .bind(opt_day(p.publicity_start))
        .bind(opt_day(p.publicity_end))
        .bind(ts(p.updated_at))
        .bind(p.row_version + 1)
        .bind(p.id.clone())
        .bind(p.row_version)
        .execute(&mut *self.tx)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::Stale { entity: "product", id: p.id.clone() });
        }
        Ok(Product { row_version: p.row_version + 1, ..p.clone() })
    }

    pub(super) async fn get_product(&mut self, id: &str) -> StoreResult<Product> {
        let row = sqlx::query("SELECT * FROM product WHERE id = $1")
            .bind(id.to_owned())
            .fetch_optional(&mut *self.tx)
            .await?
            .ok_or_else(|| StoreError::NotFound { entity: "product", id: id.to_owned() })?;
        product_from_row(&row)
    }

    pub(super) async fn list_products(&mut self, f: &ProductFilter) -> StoreResult<Vec<Product>> {
        let mut sql = DynSql::default();
        sql.push("SELECT * FROM product WHERE 1 = 1");
        if let Some(org) = &f.operator_org_id {
            sql.push(" AND operator_org_id = ").bind(Bind::Text(org.clone()));
        }
        if let Some(org) = &f.implementing_org_id {
            sql.push(" AND implementing_org_id = ").bind(Bind::Text(org.clone()));
        }
        if let Some(agreement) = &f.agreement_id {
            sql.push(" AND agreement_id = ").bind(Bind::Text(agreement.clone()));
        }
        if !f.registration_states.is_empty() {
            sql.push(" AND registration_state IN ")
                .bind_list(f.registration_states.iter().map(|s| s.code().to_owned()));
        }
        sql.push(" ORDER BY created_at DESC, id");
        let rows = sql.query().fetch_all(&mut *self.tx).await?;
        rows.iter().map(product_from_row).collect()
    }

    pub(super) async fn put_price(&mut self, p: &PriceRecord) -> StoreResult<i64> {
        let row = sqlx::query(
            "INSERT INTO product_price (product_id, tier, unit, amount_fen, effective_from, announced_on, trial_until, \
             basis, set_by, set_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING seq",
        )
        .bind(p.product_id.clone())
        .bind(p.tier.code())
        .bind(p.unit.code())
        .bind(p.amount_fen)
        .bind(day(p.effective_from))
        .bind(day(p.announced_on))
        .bind(opt_day(p.trial_until))
        .bind(p.basis.clone())
        .bind(p.set_by.clone())
        .bind(ts(p.set_at))
        .fetch_one(&mut *self.tx)
        .await?;
        Ok(row.try_get::<i64, _>(0)?)
    }

    pub(super) async fn list_prices(&mut self, product_ids: &[String]) -> StoreResult<Vec<PriceRecord>> {
        if product_ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut sql = DynSql::default();
        sql.push("SELECT * FROM product_price WHERE product_id IN ").bind_list(product_ids.iter().cloned());
        sql.push(" ORDER BY seq");
        let rows = sql.query().fetch_all(&mut *self.tx).await?;
        rows.iter().map(price_from_row).collect()
    }

    pub(super) async fn upsert_ceiling(&mut self, c: &RevenueCeiling) -> StoreResult<()> {
        sqlx::query("DELETE FROM revenue_ceiling WHERE operator_org_id = $1 AND year = $2")
            .bind(c.operator_org_id.clone())
            .bind(i64::from(c.year))
            .execute(&mut *self.tx)
            .await?;
        sqlx::query(
            "INSERT INTO revenue_ceiling (operator_org_id, year, amount_fen, deduction_fen, basis, set_by, set_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(c.operator_org_id.clone())
        .bind(i64::from(c.year))
        .bind(c.amount_fen)
        .bind(c.deduction_fen)
        .bind(c.basis.clone())
        .bind(c.set_by.clone())
        .bind(ts(c.set_at))
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    pub(super) async fn list_ceilings(
        &mut self,
        operator: Option<&str>,
        year: Option<i32>,
    ) -> StoreResult<Vec<RevenueCeiling>> {
        let mut sql = DynSql::default();
        sql.push("SELECT * FROM revenue_ceiling WHERE 1 = 1");
        if let Some(org) = operator {
            sql.push(" AND operator_org_id = ").bind(Bind::Text(org.to_owned()));
        }
        if let Some(year) = year {
            sql.push(" AND year = ").bind(Bind::Int(i64::from(year)));
        }
        sql.push(" ORDER BY year DESC, operator_org_id");
        let rows = sql.query().fetch_all(&mut *self.tx).await?;
        rows.iter().map(ceiling_from_row).collect()
    }

    pub(super) async fn put_subscription(&mut self, s: &Subscription) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO product_subscription (id, product_id, customer_org_id, use_category, purpose, state, opinion, \
             created_by, created_at, updated_at, row_version) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        )
        .bind(s.id.clone())
        .bind(s.product_id.clone())
        .bind(s.customer_org_id.clone())
        .bind(s.use_category.code())
        .bind(s.purpose.clone())
        .bind(s.state.code())
        .bind(s.opinion.clone())
        .bind(s.created_by.clone())
        .bind(ts(s.created_at))
        .bind(ts(s.updated_at))
        .bind(s.row_version)
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    pub(super) async fn write_subscription(&mut self, s: &Subscription) -> StoreResult<Subscription> {
        let done = sqlx::query(
            "UPDATE product_subscription SET state = $1, opinion = $2, updated_at = $3, row_version = $4 \
             WHERE id = $5 AND row_version = $6",
        )
        .bind(s.state.code())
        .bind(s.opinion.clone())
        .bind(ts(s.updated_at))
        .bind(s.row_version + 1)
        .bind(s.id.clone())
        .bind(s.row_version)
        .execute(&mut *self.tx)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::Stale { entity: "subscription", id: s.id.clone() });
        }
        Ok(Subscription { row_version: s.row_version + 1, ..s.clone() })
    }

    pub(super) async fn get_subscription(&mut self, id: &str) -> StoreResult<Subscription> {
        let row = sqlx::query("SELECT * FROM product_subscription WHERE id = $1")
            .bind(id.to_owned())
            .fetch_optional(&mut *self.tx)
            .await?
            .ok_or_else(|| StoreError::NotFound { entity: "subscription", id: id.to_owned() })?;
        subscription_from_row(&row)
    }

    pub(super) async fn list_subscriptions(&mut self, f: &SubscriptionFilter) -> StoreResult<Vec<Subscription>> {
        let mut sql = DynSql::default();
        sql.push("SELECT * FROM product_subscription WHERE 1 = 1");
        if let Some(product) = &f.product_id {
            sql.push(" AND product_id = ").bind(Bind::Text(product.clone()));
        }
        match &f.customer_org_ids {
            Some(orgs) if orgs.is_empty() => return Ok(Vec::new()),
            Some(orgs) => {
                sql.push(" AND customer_org_id IN ").bind_list(orgs.iter().cloned());
            }
            None => {}
        }
        sql.push(" ORDER BY created_at DESC, id");
        let rows = sql.query().fetch_all(&mut *self.tx).await?;
        rows.iter().map(subscription_from_row).collect()
    }

    pub(super) async fn put_delivery(&mut self, d: &Delivery) -> StoreResult<i64> {
        let row = sqlx::query(
            "INSERT INTO product_delivery (usage_seq, product_id, subscription_id, customer_org_id, operator_org_id, \
             at, day, version, rows_out, unit, units, unit_price_fen, fee_fen, free) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) RETURNING seq",
        )
        .bind(d.usage_seq)
        .bind(d.product_id.clone())
        .bind(d.subscription_id.clone())
        .bind(d.customer_org_id.clone())
        .bind(d.operator_org_id.clone())
        .bind(ts(d.at))
        .bind(day(d.day))
        .bind(d.version)
        .bind(d.rows)
        .bind(d.unit.map(|u| u.code().to_owned()))
        .bind(d.units)
        .bind(d.unit_price_fen)
        .bind(d.fee_fen)
        .bind(i64::from(d.free))
        .fetch_one(&mut *self.tx)
        .await?;
        let seq = row.try_get::<i64, _>(0)?;
        let entry = Entry::Delivery(DeliveryCharge {
            v: gongshu_ledger::entry::FORMAT_VERSION,
            seq,
            usage_seq: d.usage_seq,
            at: ledger_time(d.at),
            product: d.product_id.clone(),
            // Who bought what is the parties' business: the customer appears as
            // a keyed commitment (the same for all its purchases), which the
            // instance can open to an auditor.
            customer: self.pseudonymizer().await?.commit(&d.customer_org_id),
            unit: d.unit.map(|u| u.code().to_owned()),
            units: d.units,
            unit_price_fen: d.unit_price_fen,
            fee_fen: d.fee_fen,
        });
        self.queue_ledger(&[(entry, seq)], d.at).await?;
        Ok(seq)
    }

    pub(super) async fn delivered(
        &mut self,
        subscription_id: &str,
        version: Option<i64>,
        on: NaiveDate,
    ) -> StoreResult<(bool, bool)> {
        // Locks the subscription's row (a no-op write), so that two first
        // deliveries at once on PostgreSQL cannot both count as first; on
        // SQLite the write transaction is exclusive already.
        sqlx::query("UPDATE product_subscription SET row_version = row_version WHERE id = $1")
            .bind(subscription_id.to_owned())
            .execute(&mut *self.tx)
            .await?;
        let row = sqlx::query(
            "SELECT \
             COALESCE(SUM(CASE WHEN version = $2 THEN 1 ELSE 0 END), 0) AS copies, \
             COALESCE(SUM(CASE WHEN day = $3 THEN 1 ELSE 0 END), 0) AS today \
             FROM product_delivery WHERE subscription_id = $1",
        )
        .bind(subscription_id.to_owned())
        .bind(version.unwrap_or(-1))
        .bind(day(on))
        .fetch_one(&mut *self.tx)
        .await?;
        Ok((row.try_get::<i64, _>("copies")? > 0, row.try_get::<i64, _>("today")? > 0))
    }

    pub(super) async fn list_deliveries(&mut self, f: &DeliveryFilter) -> StoreResult<Vec<Delivery>> {
        let mut sql = delivery_query("SELECT * FROM product_delivery", f);
        sql.push(" ORDER BY seq");
        let rows = sql.query().fetch_all(&mut *self.tx).await?;
        rows.iter().map(delivery_from_row).collect()
    }

    pub(super) async fn sum_deliveries(&mut self, f: &DeliveryFilter) -> StoreResult<(i64, i64, i64)> {
        // PostgreSQL sums BIGINT as NUMERIC; the casts keep one integer type on both.
        let sql = delivery_query(
            "SELECT CAST(COALESCE(SUM(fee_fen), 0) AS BIGINT) AS fees, COUNT(*) AS deliveries, \
             CAST(COALESCE(SUM(free), 0) AS BIGINT) AS free FROM product_delivery",
            f,
        );
        let row = sql.query().fetch_one(&mut *self.tx).await?;
        Ok((row.try_get("fees")?, row.try_get("deliveries")?, row.try_get("free")?))
    }
}

/// A query over deliveries with `filter`'s conditions appended.
fn delivery_query(select: &str, f: &DeliveryFilter) -> DynSql {
    let mut sql = DynSql::default();
    sql.push(select).push(" WHERE 1 = 1");
    if let Some(org) = &f.customer_org_id {
        sql.push(" AND customer_org_id = ").bind(Bind::Text(org.clone()));
    }
    if let Some(org) = &f.operator_org_id {
        sql.push(" AND operator_org_id = ").bind(Bind::Text(org.clone()));
    }
    if let Some(product) = &f.product_id {
        sql.push(" AND product_id = ").bind(Bind::Text(product.clone()));
    }
    if let Some(since) = f.since {
        sql.push(" AND day >= ").bind(Bind::Text(day(since)));
    }
    if let Some(until) = f.until {
        sql.push(" AND day <= ").bind(Bind::Text(day(until)));
    }
    sql
}

impl SqlTransaction {
    pub(super) async fn put_disclosure(&mut self, d: &Disclosure) -> StoreResult<()> {
        if let Some(earlier) = &d.supersedes {
            sqlx::query("UPDATE disclosure SET superseded = 1 WHERE id = $1")
                .bind(earlier.clone())
                .execute(&mut *self.tx)
                .await?;
        }
        sqlx::query(
            "INSERT INTO disclosure (id, year, org_id, role, content, content_sha256, published_by, published_at, \
             supersedes, superseded) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(d.id.clone())
        .bind(i64::from(d.year))
        .bind(d.org_id.clone())
        .bind(d.role.code())
        .bind(d.content.clone())
        .bind(d.content_sha256.clone())
        .bind(d.published_by.clone())
        .bind(ts(d.published_at))
        .bind(d.supersedes.clone())
        .bind(i64::from(d.superseded))
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    pub(super) async fn get_disclosure(&mut self, id: &str) -> StoreResult<Disclosure> {
        let row = sqlx::query("SELECT * FROM disclosure WHERE id = $1")
            .bind(id.to_owned())
            .fetch_optional(&mut *self.tx)
            .await?
            .ok_or_else(|| StoreError::NotFound { entity: "disclosure", id: id.to_owned() })?;
        disclosure_from_row(&row)
    }

    pub(super) async fn list_disclosures(
        &mut self,
        year: Option<i32>,
        org: Option<&str>,
    ) -> StoreResult<Vec<Disclosure>> {
        let mut sql = DynSql::default();
        sql.push("SELECT * FROM disclosure WHERE 1 = 1");
        if let Some(year) = year {
            sql.push(" AND year = ").bind(Bind::Int(i64::from(year)));
        }
        if let Some(org) = org {
            sql.push(" AND org_id = ").bind(Bind::Text(org.to_owned()));
        }
        sql.push(" ORDER BY published_at DESC, id");
        let rows = sql.query().fetch_all(&mut *self.tx).await?;
        rows.iter().map(disclosure_from_row).collect()
    }
}
