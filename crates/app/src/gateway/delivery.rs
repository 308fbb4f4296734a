//! Product delivery (产品交付): how an operator's customer receives a
//! product, through the gateway like every other read.
//!
//! The read runs under the operator's grant, narrowed to the product's
//! resources and output fields, so a product can never deliver more than
//! the grant allows; the customer's subscription, the product's listing,
//! the grant's term and state and every freeze are checked first, and a
//! refusal is recorded like any other. An allowed delivery is metered in
//! the same transaction as its usage event: units by the product's charging
//! unit, at the price in force on the local day (held to the cap), or free
//! for public governance and welfare. Its charge goes to the ledger beside
//! the usage decision.

use gongshu_domain::pricing::{Delivered, charge_on, units};
use gongshu_domain::supervision::FreezeTarget;
use gongshu_domain::{
    AccessMode, ChargingUnit, Delivery, Grant, Product, Subscription, SubscriptionState, ValidationError,
};
use gongshu_metadata::Transaction;
use gongshu_policy::{Action, Subject};
use gongshu_query::{SandboxRules, SqlResult, TableQuery};

use super::{
    Access, Ask, BUDGET_SPENT, Channel, DEFAULT_EPSILON, DataPage, Decided, answer_hash, frozen, params_text,
    query_error, refusal, rows_and_hash,
};
use crate::supervision::freeze_key;
use crate::{App, AppError, AppResult, Stops, authorize};

/// What a customer asks of a product.
#[derive(Debug, Clone)]
pub enum DeliveryRequest {
    /// A dataset or API product's rows: the data query's parameters
    /// (filters, `_q`, `_sort`, `_fields`, `_limit`, `_offset`). `resource_id`
    /// picks the source when the product has several.
    Rows {
        /// The source resource, when the product has several.
        resource_id: Option<String>,
        /// The query's parameters.
        params: Vec<(String, String)>,
    },
    /// A verification product: the values to compare, by input field.
    Verify {
        /// The source resource, when the product has several.
        resource_id: Option<String>,
        /// Field and value pairs.
        criteria: Vec<(String, String)>,
    },
    /// An aggregate product (report, index, model, privacy computing):
    /// sandbox SQL over the product's resources, named by resource id.
    Aggregate {
        /// The query.
        sql: String,
    },
}

/// What the customer received.
#[derive(Debug, Clone)]
pub enum DeliveryAnswer {
    /// Rows.
    Rows(DataPage),
    /// Whether a matching record exists.
    Verified(bool),
    /// Aggregates.
    Aggregate(SqlResult),
}

/// A delivery with its metered charge.
#[derive(Debug, Clone)]
pub struct DeliveryReceipt {
    /// The answer.
    pub answer: DeliveryAnswer,
    /// What it was charged.
    pub delivery: Delivery,
}

/// The price a delivery will be charged at: free, or a unit and amount.
#[derive(Debug, Clone, Copy)]
enum Pricing {
    Free,
    Charged(ChargingUnit, i64),
}

/// Who a delivery is between, and under which grant.
#[derive(Clone, Copy)]
struct Parties<'a> {
    subscription: &'a Subscription,
    product: &'a Product,
    grant: &'a Grant,
}

/// What a delivered read is charged on.
struct Charge {
    pricing: Pricing,
    rows: i64,
    hash: String,
    day: chrono::NaiveDate,
}

/// The grant as the product may use it: only the product's resources, and
/// of each only its output fields (with the grant's masks).
fn narrowed(grant: &Grant, product: &Product) -> Grant {
    let mut grant = grant.clone();
    grant.resources.retain_mut(|granted| {
        let Some(part) = product.draft.spec.resources.iter().find(|p| p.resource_id == granted.resource_id) else {
            return false;
        };
        granted.columns.retain(|column| part.columns.contains(column));
        granted.masks.retain(|column, _| part.columns.contains(column));
        true
    });
    grant
}

impl App {
    /// Delivers a product to a member of the subscribing customer.
    pub async fn deliver_product(
        &self,
        subject: &Subject,
        subscription_id: &str,
        request: DeliveryRequest,
    ) -> AppResult<DeliveryReceipt> {
        let mut tx = self.store.read().await?;
        let subscription = tx.subscription(subscription_id).await?;
        if authorize(subject, Action::UseProducts { customer_org_id: &subscription.customer_org_id }).is_err() {
            return Err(AppError::NotFound { entity: "subscription", id: subscription_id.to_owned() });
        }
        let product = tx.product(&subscription.product_id).await?;
        let grant = tx.grant(&product.grant_id).await?;
        let mode = product.draft.form.mode();
        let (resource_ids, what) = self.delivery_sources(&product, &request)?;
        let channel = Channel::Product;
        let ask = Ask { subject, mode, channel, grant_id: Some(&grant.id), what: &what, privacy_cost_micros: 0 };
        // The day decides the price; it is read once, so a delivery at
        // midnight is charged and dated on the same day.
        let day = self.today();
        let parties = Parties { subscription: &subscription, product: &product, grant: &grant };
        // Listening before the check (which reads the freezes), so one
        // recorded in between still stops the delivery.
        let sources = resource_ids.iter().map(String::as_str).collect::<Vec<_>>();
        let stops = Stops::all([
            self.subscribe_stops(subject, &sources, Some(&grant)),
            self.grant_watch.subscribe(&[freeze_key(FreezeTarget::Organization, &product.operator_org_id)]),
        ]);
        // A transaction begun after the subscription (see `readable`).
        drop(tx);
        let mut tx = self.store.read().await?;
        let checked = self.delivery_check(&mut tx, subject, parties, &resource_ids, day).await;
        let pricing = match checked {
            Ok(pricing) => pricing,
            Err((error, reason)) => {
                drop(tx);
                let now = self.clock.now();
                let mut event = refusal(&ask, now, &resource_ids[0], Some(grant.id.clone()), Some(reason));
                // Made for the operator, under its grant: it sees the refusals of its products.
                event.org_id = Some(product.operator_org_id.clone());
                self.append_usage(&event).await?;
                return Err(error);
            }
        };
        let narrowed = narrowed(&grant, &product);
        let mut decided = Vec::new();
        for resource_id in &resource_ids {
            let resource = tx.resource(resource_id).await?;
            let version = tx.versions(resource_id).await?.into_iter().next().ok_or_else(|| AppError::NotFound {
                entity: "version",
                id: format!("{resource_id} (no data has been loaded)"),
            })?;
            let access = Access::Granted(Box::new(narrowed.clone()));
            decided.push(Decided { resource, version, access, stops: stops.clone() });
        }
        drop(tx);
        let (answer, rows, hash, cost) = match request {
            DeliveryRequest::Rows { params, .. } => {
                let query = TableQuery::from_params(&params).map_err(query_error)?;
                let table = decided[0].table("data".into());
                let page = Box::pin(self.while_granted(stops.clone(), async {
                    self.query.table_query(&table, &query).await.map_err(query_error)
                }))
                .await;
                let page = self.failed_if_err(&ask, &decided[0], page).await?;
                let (rows, hash) = rows_and_hash(&page.batches)?;
                let answer = DeliveryAnswer::Rows(DataPage {
                    version: decided[0].version.version,
                    page,
                    limit: query.limit,
                    offset: query.offset,
                });
                (answer, rows, hash, 0)
            }
            DeliveryRequest::Verify { criteria, .. } => {
                if criteria.is_empty() {
                    return Err(ValidationError::required("criteria").into());
                }
                for (column, _) in &criteria {
                    if !product.draft.spec.input_fields.contains(column) {
                        return Err(ValidationError::new(
                            format!("criteria.{column}"),
                            format!(
                                "`{column}` is not an input field of this product (its input fields: {})",
                                product.draft.spec.input_fields.join(", ")
                            ),
                            format!(
                                "`{column}` 不是该产品的输入字段（输入字段：{}）",
                                product.draft.spec.input_fields.join("、")
                            ),
                        )
                        .into());
                    }
                }
                let table = decided[0].unmasked_table("data".into());
                let matched = Box::pin(self.while_granted(stops.clone(), async {
                    self.query.matches(&table, &criteria).await.map_err(query_error)
                }))
                .await;
                let matched = self.failed_if_err(&ask, &decided[0], matched).await?;
                (DeliveryAnswer::Verified(matched), 0, answer_hash(matched), 0)
            }
            DeliveryRequest::Aggregate { sql } => {
                let tables: Vec<_> = decided.iter().map(|d| d.table(d.resource.id.clone())).collect();
                let epsilon = narrowed.epsilon_budget_micros.map(|_| DEFAULT_EPSILON);
                let rules = SandboxRules {
                    min_group_size: u64::from(narrowed.min_group_size),
                    allow_joins: narrowed.allow_joins,
                    epsilon,
                };
                let prepared =
                    Box::pin(self.query.prepare_aggregate(&tables, &sql, rules)).await.map_err(query_error)?;
                let cost = epsilon.map_or(0, |e| (e * 1e6).ceil() as i64);
                if cost > 0
                    && let Err(error) = self.charge(&narrowed.id, cost).await
                {
                    for read in &decided {
                        self.record_read(&ask, read, None, None, Some(BUDGET_SPENT)).await?;
                    }
                    return Err(error);
                }
                let ask = Ask { privacy_cost_micros: cost, ..ask };
                let result = Box::pin(
                    self.while_granted(stops.clone(), async { self.query.run(prepared).await.map_err(query_error) }),
                )
                .await;
                let result = self.failed_if_err_all(&ask, &decided, result).await?;
                let (rows, hash) = rows_and_hash(&result.batches)?;
                for read in &decided[1..] {
                    self.record_read(&ask, read, Some(rows), Some(hash.clone()), None).await?;
                }
                (DeliveryAnswer::Aggregate(result), rows, hash, cost)
            }
        };
        // The ε spent is on the delivery's own usage event too.
        let ask = Ask { privacy_cost_micros: cost, ..ask };
        let charge = Charge { pricing, rows, hash, day };
        let delivery = self.record_delivery(&ask, &decided[0], &subscription, &product, charge).await?;
        Ok(DeliveryReceipt { answer, delivery })
    }

    /// The resources a request reads, all of them the product's, and what
    /// was asked, for the fingerprint.
    fn delivery_sources(&self, product: &Product, request: &DeliveryRequest) -> AppResult<(Vec<String>, String)> {
        let own: Vec<&str> = product.draft.spec.resources.iter().map(|r| r.resource_id.as_str()).collect();
        let expected = match request {
            DeliveryRequest::Rows { .. } => AccessMode::Query,
            DeliveryRequest::Verify { .. } => AccessMode::Verify,
            DeliveryRequest::Aggregate { .. } => AccessMode::Aggregate,
        };
        let mode = product.draft.form.mode();
        if expected != mode {
            let request_kind = match mode {
                AccessMode::Verify => "verify",
                AccessMode::Aggregate => "aggregate",
                _ => "rows",
            };
            return Err(ValidationError::new(
                "request",
                format!("a product of form `{}` is asked for with `{request_kind}`", product.draft.form),
                format!("“{}”类产品须以 `{request_kind}` 方式获取", product.draft.form.label_zh()),
            )
            .into());
        }
        let pick = |resource_id: &Option<String>| -> AppResult<String> {
            match (resource_id, own.as_slice()) {
                (Some(id), _) if own.contains(&id.as_str()) => Ok(id.clone()),
                (Some(id), _) => Err(ValidationError::new(
                    "resource_id",
                    format!("`{id}` is not a source of this product"),
                    format!("`{id}` 不是该产品的数据来源"),
                )
                .into()),
                (None, [only]) => Ok((*only).to_owned()),
                (None, _) => Err(ValidationError::new(
                    "resource_id",
                    format!("this product has several sources; name one of: {}", own.join(", ")),
                    format!("该产品有多个数据来源，请指定其一：{}", own.join("、")),
                )
                .into()),
            }
        };
        match request {
            DeliveryRequest::Rows { resource_id, params } => {
                Ok((vec![pick(resource_id)?], format!("{}|{}", product.id, params_text(params))))
            }
            DeliveryRequest::Verify { resource_id, criteria } => {
                Ok((vec![pick(resource_id)?], format!("{}|{}", product.id, params_text(criteria))))
            }
            DeliveryRequest::Aggregate { sql } => {
                if sql.trim().is_empty() {
                    return Err(ValidationError::required("sql").into());
                }
                let mut ids = Vec::new();
                for name in self.query.referenced_tables(sql).map_err(query_error)? {
                    if !own.contains(&name.as_str()) {
                        return Err(ValidationError::new(
                            "sql",
                            format!("`{name}` is not a source of this product; its tables are: {}", own.join(", ")),
                            format!("`{name}` 不是该产品的数据来源；可用的表：{}", own.join("、")),
                        )
                        .into());
                    }
                    ids.push(name);
                }
                if ids.is_empty() {
                    return Err(ValidationError::new(
                        "sql",
                        "the query reads none of the product's tables",
                        "查询未使用该产品的任何数据表",
                    )
                    .into());
                }
                Ok((ids, format!("{}|{sql}", product.id)))
            }
        }
    }

    /// Whether the delivery may happen, and at what price; a refusal comes
    /// with the reason code its usage event records.
    async fn delivery_check(
        &self,
        tx: &mut Box<dyn Transaction>,
        subject: &Subject,
        parties: Parties<'_>,
        resource_ids: &[String],
        day: chrono::NaiveDate,
    ) -> Result<Pricing, (AppError, String)> {
        let Parties { subscription, product, grant } = parties;
        let internal = |error: gongshu_metadata::StoreError| (AppError::from(error), "failed".to_owned());
        if subscription.state != SubscriptionState::Active {
            let error = AppError::Forbidden {
                en: "the subscription is not in force (it awaits the operator's confirmation, was refused or ended)",
                zh: "该订购未生效（待运营机构确认、未予确认或已终止）",
            };
            return Err((error, format!("subscription_{}", subscription.state)));
        }
        if !product.deliverable() {
            let error = AppError::Forbidden {
                en: "the product is not listed: it is not yet registered, or it is suspended or delisted",
                zh: "该产品未上架：尚未完成登记，或已暂停、已下架",
            };
            return Err((error, format!("product_{}", product.listing)));
        }
        let now = self.clock.now();
        for resource_id in resource_ids {
            if let Err(denial) = grant.permits(now, resource_id, product.draft.form.mode()) {
                let (en, zh) = denial.reason();
                return Err((AppError::Forbidden { en, zh }, format!("{}:{}", denial.code(), grant.id)));
            }
            if let Some(freeze) = self
                .freeze_stopping(tx, subject, resource_id, Some(&grant.id))
                .await
                .map_err(|e| (e, "failed".into()))?
            {
                return Err((frozen(), format!("frozen:{}", freeze.id)));
            }
        }
        let operator = [(FreezeTarget::Organization, product.operator_org_id.clone())];
        if let Some(freeze) = tx.active_freezes(&operator).await.map_err(internal)?.into_iter().next() {
            return Err((frozen(), format!("frozen:{}", freeze.id)));
        }
        if subscription.is_free(product.draft.use_category) {
            return Ok(Pricing::Free);
        }
        let prices = tx.prices(std::slice::from_ref(&product.id)).await.map_err(internal)?;
        match charge_on(&prices, day) {
            Some((unit, fen)) => Ok(Pricing::Charged(unit, fen)),
            None => Err((
                AppError::conflict(
                    "the product has no price in force today (a cap and a publicised price); it cannot be charged yet",
                    "该产品今日尚无生效的收费标准（上限收费标准及经公示的具体收费标准），暂不能收费交付",
                ),
                "no_price".to_owned(),
            )),
        }
    }

    /// Records the usage event of the delivered read and its charge in one
    /// transaction, before the answer leaves.
    async fn record_delivery(
        &self,
        ask: &Ask<'_>,
        decided: &Decided,
        subscription: &Subscription,
        product: &Product,
        charge: Charge,
    ) -> AppResult<Delivery> {
        let Charge { pricing, rows, hash, day } = charge;
        let event = self.read_event(ask, decided, Some(rows), Some(hash), None).ok_or_else(|| {
            AppError::Internal("a product delivery is always read under a grant, so it is always recorded".into())
        })?;
        let version = Some(decided.version.version);
        let mut tx = self.store.write().await?;
        let usage_seq = tx.insert_usage_event(&event).await?;
        let (unit, counted, unit_price_fen) = match pricing {
            Pricing::Free => (None, 0, 0),
            Pricing::Charged(unit, fen) => {
                let (copy_held, served_today) = tx.delivered_before(&subscription.id, version, day).await?;
                (Some(unit), units(unit, Delivered { rows, copy_held, served_today }), fen)
            }
        };
        let mut delivery = Delivery {
            seq: 0,
            usage_seq,
            product_id: product.id.clone(),
            subscription_id: subscription.id.clone(),
            customer_org_id: subscription.customer_org_id.clone(),
            operator_org_id: product.operator_org_id.clone(),
            at: event.at,
            day,
            version,
            rows,
            unit,
            units: counted,
            unit_price_fen,
            fee_fen: counted * unit_price_fen,
            free: matches!(pricing, Pricing::Free),
        };
        delivery.seq = tx.insert_delivery(&delivery).await?;
        tx.commit().await?;
        Ok(delivery)
    }
}
