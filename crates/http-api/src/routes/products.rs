//! Operators' products and services (产品和服务): registration and listing,
//! caps and prices, subscriptions, delivery through the gateway, metered
//! statements, the maximum allowed revenue, and the yearly disclosure.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use chrono::{DateTime, NaiveDate, Utc};
use gongshu_app::{
    DeliveryAnswer, DeliveryReceipt, DeliveryRequest, DisclosureDue, DisclosureView, NewProduct, PriceInput,
    ProductView, Revenue, Statement, SubscriptionView,
};
use gongshu_domain::pricing::yuan;
use gongshu_domain::{Delivery, PriceRecord, ProductResource};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::ApiState;
use crate::dto::HistoryDto;
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{ApiJson, Caller};
use crate::routes::data::{SqlDto, sql_dto};

pub(crate) fn router() -> OpenApiRouter<ApiState> {
    OpenApiRouter::new()
        .routes(routes!(list_products, register_product))
        .routes(routes!(get_product, resubmit_product))
        .routes(routes!(act_on_registration))
        .routes(routes!(change_listing))
        .routes(routes!(product_history))
        .routes(routes!(set_cap))
        .routes(routes!(set_price))
        .routes(routes!(subscribe))
        .routes(routes!(list_subscriptions))
        .routes(routes!(act_on_subscription))
        .routes(routes!(deliver))
        .routes(routes!(statement))
        .routes(routes!(set_ceiling))
        .routes(routes!(revenue))
        .routes(routes!(list_disclosures, publish_disclosure))
        .routes(routes!(disclosure_status))
        .routes(routes!(get_disclosure))
        .routes(routes!(disclosure_csv))
        .routes(routes!(preview_disclosure))
}

/// A cap or price.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct PriceDto {
    seq: i64,
    /// `cap` (上限收费标准, the implementing body's) or `price` (具体收费标准, the operator's).
    tier: &'static str,
    tier_zh: &'static str,
    /// `per_copy`, `per_call`, `per_day`, `per_thousand_rows`.
    unit: &'static str,
    unit_zh: &'static str,
    /// Fen per unit.
    amount_fen: i64,
    /// Yuan per unit, as text.
    amount_yuan: String,
    effective_from: NaiveDate,
    /// The day it was announced (publicised).
    announced_on: NaiveDate,
    trial_until: Option<NaiveDate>,
    basis: String,
}

impl From<&PriceRecord> for PriceDto {
    fn from(p: &PriceRecord) -> Self {
        PriceDto {
            seq: p.seq,
            tier: p.tier.code(),
            tier_zh: p.tier.label_zh(),
            unit: p.unit.code(),
            unit_zh: p.unit.label_zh(),
            amount_fen: p.amount_fen,
            amount_yuan: yuan(p.amount_fen),
            effective_from: p.effective_from,
            announced_on: p.announced_on,
            trial_until: p.trial_until,
            basis: p.basis.clone(),
        }
    }
}

/// What a charged delivery costs today.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ChargeDto {
    unit: &'static str,
    amount_fen: i64,
    amount_yuan: String,
}

/// One source resource of a product and the fields it delivers.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ProductResourceDto {
    resource_id: String,
    columns: Vec<String>,
}

/// A product or service.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ProductDto {
    id: String,
    /// 产品登记编码 (kind 2), once coded.
    code: Option<String>,
    operator_org_id: String,
    agreement_id: String,
    grant_id: String,
    implementing_org_id: String,
    name: String,
    /// `dataset`, `api`, `model`, `verification`, `report`, `index`, `privacy_computing`.
    form: &'static str,
    form_zh: &'static str,
    /// `public_governance` and `public_welfare` are free; `industry` and `sector` are charged.
    use_category: &'static str,
    use_category_zh: &'static str,
    free: bool,
    scenario: String,
    description: String,
    resources: Vec<ProductResourceDto>,
    input_fields: Vec<String>,
    usage_conditions: String,
    documentation: String,
    compliance: String,
    quality: String,
    /// The registration workflow's state.
    registration_state: &'static str,
    registration_state_zh: &'static str,
    /// `unlisted`, `listed`, `suspended`, `delisted`.
    listing: &'static str,
    listing_zh: &'static str,
    due_date: Option<NaiveDate>,
    overdue: bool,
    publicity_start: Option<NaiveDate>,
    publicity_end: Option<NaiveDate>,
    created_at: DateTime<Utc>,
    /// The cap in force today.
    cap: Option<PriceDto>,
    /// The operator's price in force today, as announced.
    price: Option<PriceDto>,
    /// What a charged delivery costs today: the price held to the cap in force, in its unit; null when nothing can be charged.
    charge: Option<ChargeDto>,
    /// Announced and not yet in force (收费公示).
    upcoming: Vec<PriceDto>,
    /// Every cap and price, in order of announcement.
    price_history: Vec<PriceDto>,
}

impl From<&ProductView> for ProductDto {
    fn from(v: &ProductView) -> Self {
        let p = &v.product;
        ProductDto {
            id: p.id.clone(),
            code: p.code.as_ref().map(|c| c.as_str().to_owned()),
            operator_org_id: p.operator_org_id.clone(),
            agreement_id: p.agreement_id.clone(),
            grant_id: p.grant_id.clone(),
            implementing_org_id: p.implementing_org_id.clone(),
            name: p.draft.name.clone(),
            form: p.draft.form.code(),
            form_zh: p.draft.form.label_zh(),
            use_category: p.draft.use_category.code(),
            use_category_zh: p.draft.use_category.label_zh(),
            free: p.draft.use_category.is_free(),
            scenario: p.draft.scenario.clone(),
            description: p.draft.spec.description.clone(),
            resources: p
                .draft
                .spec
                .resources
                .iter()
                .map(|r| ProductResourceDto { resource_id: r.resource_id.clone(), columns: r.columns.clone() })
                .collect(),
            input_fields: p.draft.spec.input_fields.clone(),
            usage_conditions: p.draft.spec.usage_conditions.clone(),
            documentation: p.draft.spec.documentation.clone(),
            compliance: p.draft.spec.compliance.clone(),
            quality: p.draft.spec.quality.clone(),
            registration_state: p.registration.code(),
            registration_state_zh: p.registration.label_zh(),
            listing: p.listing.code(),
            listing_zh: p.listing.label_zh(),
            due_date: p.due_date,
            overdue: v.overdue,
            publicity_start: p.publicity_start,
            publicity_end: p.publicity_end,
            created_at: p.created_at,
            cap: v.cap_now.as_ref().map(PriceDto::from),
            price: v.price_now.as_ref().map(PriceDto::from),
            charge: v.charge_now.map(|(unit, fen)| ChargeDto {
                unit: unit.code(),
                amount_fen: fen,
                amount_yuan: yuan(fen),
            }),
            upcoming: v.upcoming.iter().map(PriceDto::from).collect(),
            price_history: v.prices.iter().map(PriceDto::from).collect(),
        }
    }
}

/// A product as filed.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ProductInput {
    /// The authorized-operation agreement it is made under.
    agreement_id: String,
    name: String,
    /// `dataset`, `api`, `model`, `verification`, `report`, `index`, `privacy_computing`.
    form: String,
    /// `public_governance`, `public_welfare`, `industry`, `sector`.
    use_category: String,
    /// One of the agreement's scenarios.
    scenario: String,
    description: String,
    resources: Vec<ProductResourceDto>,
    #[serde(default)]
    input_fields: Vec<String>,
    usage_conditions: String,
    #[serde(default)]
    documentation: String,
    /// 合规评估: the compliance assessment it passed.
    compliance: String,
    #[serde(default)]
    quality: String,
}

impl From<ProductInput> for NewProduct {
    fn from(i: ProductInput) -> Self {
        NewProduct {
            agreement_id: i.agreement_id,
            name: i.name,
            form: i.form,
            use_category: i.use_category,
            scenario: i.scenario,
            description: i.description,
            resources: i
                .resources
                .into_iter()
                .map(|r| ProductResource { resource_id: r.resource_id, columns: r.columns })
                .collect(),
            input_fields: i.input_fields,
            usage_conditions: i.usage_conditions,
            documentation: i.documentation,
            compliance: i.compliance,
            quality: i.quality,
        }
    }
}

/// Which products to list.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub(crate) struct ProductQuery {
    /// Only this operator's (its capability list, 产品和服务能力清单).
    operator: Option<String>,
}

/// Products and services: the public sees those in publicity and registered,
/// with the caps and prices in force and announced; organizations also see
/// their own under review. Filter by `operator` for one operator's list.
#[utoipa::path(get, path = "/api/v1/products", tag = "products", params(ProductQuery), security((), ("bearer" = [])),
    responses((status = 200, description = "Success", body = Vec<ProductDto>)))]
async fn list_products(
    State(state): State<ApiState>,
    Caller(subject): Caller,
    Query(query): Query<ProductQuery>,
) -> ApiResult<Json<Vec<ProductDto>>> {
    let views = state.app.products(&subject, query.operator.as_deref()).await?;
    Ok(Json(views.iter().map(ProductDto::from).collect()))
}

/// Registers a product under an authorized-operation agreement the caller's
/// operator holds; it may use only the grant's resources, fields and modes,
/// in one of the agreement's scenarios. It goes to the bureau for acceptance.
#[utoipa::path(post, path = "/api/v1/products", tag = "products", request_body = ProductInput,
    responses((status = 201, description = "Submitted", body = ProductDto),
        (status = 403, description = "Not the operator's cataloguer or administrator: `forbidden`", body = ErrorBody),
        (status = 422, description = "Invalid, or beyond the grant: `validation_failed`", body = ErrorBody)))]
async fn register_product(
    State(state): State<ApiState>,
    Caller(subject): Caller,
    ApiJson(input): ApiJson<ProductInput>,
) -> ApiResult<(StatusCode, Json<ProductDto>)> {
    let product = state.app.register_product(&subject, input.into()).await?;
    let view = state.app.product(&subject, &product.id).await?;
    Ok((StatusCode::CREATED, Json(ProductDto::from(&view))))
}

/// One product with its caps and prices.
#[utoipa::path(get, path = "/api/v1/products/{id}", tag = "products", params(("id" = String, Path)), security((), ("bearer" = [])),
    responses((status = 200, description = "Success", body = ProductDto), (status = 404, description = "Not found or not visible: `not_found`", body = ErrorBody)))]
async fn get_product(
    State(state): State<ApiState>,
    Caller(subject): Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<ProductDto>> {
    Ok(Json(ProductDto::from(&state.app.product(&subject, &id).await?)))
}

/// Resubmits a returned product with corrected content.
#[utoipa::path(put, path = "/api/v1/products/{id}", tag = "products", params(("id" = String, Path)), request_body = ProductInput,
    responses((status = 200, description = "Resubmitted", body = ProductDto),
        (status = 409, description = "Not returned: `invalid_transition`", body = ErrorBody),
        (status = 422, description = "Invalid: `validation_failed`", body = ErrorBody)))]
async fn resubmit_product(
    State(state): State<ApiState>,
    Caller(subject): Caller,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<ProductInput>,
) -> ApiResult<Json<ProductDto>> {
    state.app.resubmit_product(&subject, &id, input.into()).await?;
    Ok(Json(ProductDto::from(&state.app.product(&subject, &id).await?)))
}

/// An opinion on a step.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct OpinionInput {
    /// Required to refuse, return, reject, object or decide an objection.
    #[serde(default)]
    opinion: Option<String>,
}

/// A step of a product's registration: `accept`, `refuse`, `return`,
/// `pass_review` (publicity starts), `reject`, `assign_code` (after
/// publicity; lists it), `object` (anyone signed in, during publicity, with
/// the claim as opinion), `dismiss_objection`, `uphold_objection_return`,
/// `uphold_objection_reject`, or `withdraw` (the operator).
#[utoipa::path(post, path = "/api/v1/products/{id}/registration/{action}", tag = "products", params(("id" = String, Path), ("action" = String, Path)), request_body = OpinionInput,
    responses((status = 200, description = "Done", body = ProductDto),
        (status = 409, description = "Not possible now: `invalid_transition` or `conflict`", body = ErrorBody),
        (status = 422, description = "No opinion where one is needed: `validation_failed`", body = ErrorBody)))]
async fn act_on_registration(
    State(state): State<ApiState>,
    Caller(subject): Caller,
    Path((id, action)): Path<(String, String)>,
    ApiJson(input): ApiJson<OpinionInput>,
) -> ApiResult<Json<ProductDto>> {
    state.app.act_on_product(&subject, &id, &action, input.opinion.as_deref()).await?;
    Ok(Json(ProductDto::from(&state.app.product(&subject, &id).await?)))
}

/// A reason.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ReasonInput {
    reason: String,
}

/// Suspends (`suspend`), resumes (`resume`) or delists (`delist`) a listed
/// product: its operator, or the bureau intervening. Deliveries stop at once.
#[utoipa::path(post, path = "/api/v1/products/{id}/listing/{action}", tag = "products", params(("id" = String, Path), ("action" = String, Path)), request_body = ReasonInput,
    responses((status = 200, description = "Done", body = ProductDto), (status = 409, description = "Not possible now: `invalid_transition`", body = ErrorBody)))]
async fn change_listing(
    State(state): State<ApiState>,
    Caller(subject): Caller,
    Path((id, action)): Path<(String, String)>,
    ApiJson(input): ApiJson<ReasonInput>,
) -> ApiResult<Json<ProductDto>> {
    state.app.change_listing(&subject, &id, &action, &input.reason).await?;
    Ok(Json(ProductDto::from(&state.app.product(&subject, &id).await?)))
}

/// A product's history: registration steps, caps and prices announced, listing changes.
#[utoipa::path(get, path = "/api/v1/products/{id}/history", tag = "products", params(("id" = String, Path)), security((), ("bearer" = [])),
    responses((status = 200, description = "Success", body = Vec<HistoryDto>)))]
async fn product_history(
    State(state): State<ApiState>,
    Caller(subject): Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Vec<HistoryDto>>> {
    Ok(Json(state.app.product_history(&subject, &id).await?.iter().map(HistoryDto::from).collect()))
}

/// A cap or price to announce.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct PriceInputDto {
    /// `per_copy`, `per_call`, `per_day`, `per_thousand_rows`.
    unit: String,
    /// Yuan per unit, as text with at most two decimals (`1.20`).
    amount: String,
    /// First day, `YYYY-MM-DD`.
    effective_from: String,
    /// A trial cap's last day (required while the operator has run less than a year).
    #[serde(default)]
    trial_until: Option<String>,
    /// The basis: the cost survey and written report (cap), or the publicity notice (price).
    basis: String,
}

impl From<PriceInputDto> for PriceInput {
    fn from(i: PriceInputDto) -> Self {
        PriceInput {
            unit: i.unit,
            amount: i.amount,
            effective_from: i.effective_from,
            trial_until: i.trial_until,
            basis: i.basis,
        }
    }
}

/// The implementing body sets a product's cap (上限收费标准), from today at the
/// earliest; a trial cap (试行) while the operator has run less than a year.
/// Public-governance and public-welfare products take none.
#[utoipa::path(post, path = "/api/v1/products/{id}/cap", tag = "products", params(("id" = String, Path)), request_body = PriceInputDto,
    responses((status = 201, description = "Announced", body = PriceDto),
        (status = 403, description = "Not the implementing body: `forbidden`", body = ErrorBody),
        (status = 422, description = "Retroactive, not a trial when it must be, or a free product: `validation_failed`", body = ErrorBody)))]
async fn set_cap(
    State(state): State<ApiState>,
    Caller(subject): Caller,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<PriceInputDto>,
) -> ApiResult<(StatusCode, Json<PriceDto>)> {
    let record = state.app.set_price_cap(&subject, &id, input.into()).await?;
    Ok((StatusCode::CREATED, Json(PriceDto::from(&record))))
}

/// The operator announces its price (具体收费标准): at most the cap in force on
/// its first day, in the cap's unit, taking effect only after its publicity
/// (收费公示, `registration.price_publicity_days`); never retroactive.
#[utoipa::path(post, path = "/api/v1/products/{id}/price", tag = "products", params(("id" = String, Path)), request_body = PriceInputDto,
    responses((status = 201, description = "Announced", body = PriceDto),
        (status = 403, description = "Not the operator: `forbidden`", body = ErrorBody),
        (status = 422, description = "Above the cap, another unit, too early, or a free product: `validation_failed`, naming the field", body = ErrorBody)))]
async fn set_price(
    State(state): State<ApiState>,
    Caller(subject): Caller,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<PriceInputDto>,
) -> ApiResult<(StatusCode, Json<PriceDto>)> {
    let record = state.app.set_price(&subject, &id, input.into()).await?;
    Ok((StatusCode::CREATED, Json(PriceDto::from(&record))))
}

/// A subscription.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct SubscriptionDto {
    id: String,
    product_id: String,
    product_name: String,
    operator_org_id: String,
    customer_org_id: String,
    use_category: &'static str,
    use_category_zh: &'static str,
    purpose: String,
    /// `pending`, `active`, `refused`, `ended`.
    state: &'static str,
    state_zh: &'static str,
    opinion: Option<String>,
    /// Whether its deliveries are free.
    free: bool,
    created_at: DateTime<Utc>,
}

impl From<&SubscriptionView> for SubscriptionDto {
    fn from(v: &SubscriptionView) -> Self {
        let s = &v.subscription;
        SubscriptionDto {
            id: s.id.clone(),
            product_id: s.product_id.clone(),
            product_name: v.product.draft.name.clone(),
            operator_org_id: v.product.operator_org_id.clone(),
            customer_org_id: s.customer_org_id.clone(),
            use_category: s.use_category.code(),
            use_category_zh: s.use_category.label_zh(),
            purpose: s.purpose.clone(),
            state: s.state.code(),
            state_zh: s.state.label_zh(),
            opinion: s.opinion.clone(),
            free: v.free,
            created_at: s.created_at,
        }
    }
}

/// A subscription as asked.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct SubscribeInput {
    /// The subscribing organization; the caller's only one when absent.
    #[serde(default)]
    customer_org_id: Option<String>,
    /// What the use serves: a public-governance or welfare use of a charged product is free once the operator confirms it.
    use_category: String,
    purpose: String,
}

/// Subscribes the caller's organization to a listed product.
#[utoipa::path(post, path = "/api/v1/products/{id}/subscriptions", tag = "products", params(("id" = String, Path)), request_body = SubscribeInput,
    responses((status = 201, description = "Subscribed", body = SubscriptionDto), (status = 409, description = "Not listed: `conflict`", body = ErrorBody)))]
async fn subscribe(
    State(state): State<ApiState>,
    Caller(subject): Caller,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<SubscribeInput>,
) -> ApiResult<(StatusCode, Json<SubscriptionDto>)> {
    let view = state
        .app
        .subscribe(&subject, &id, input.customer_org_id.as_deref(), &input.use_category, &input.purpose)
        .await?;
    Ok((StatusCode::CREATED, Json(SubscriptionDto::from(&view))))
}

/// Subscriptions the caller is party to (as customer or operator); all for the bureau and auditors.
#[utoipa::path(get, path = "/api/v1/subscriptions", tag = "products",
    responses((status = 200, description = "Success", body = Vec<SubscriptionDto>)))]
async fn list_subscriptions(
    State(state): State<ApiState>,
    Caller(subject): Caller,
) -> ApiResult<Json<Vec<SubscriptionDto>>> {
    Ok(Json(state.app.subscriptions(&subject).await?.iter().map(SubscriptionDto::from).collect()))
}

/// `confirm` or `refuse` (with an opinion) a pending free use (the operator), or `end` a subscription (either side).
#[utoipa::path(post, path = "/api/v1/subscriptions/{id}/{action}", tag = "products", params(("id" = String, Path), ("action" = String, Path)), request_body = OpinionInput,
    responses((status = 200, description = "Done", body = SubscriptionDto), (status = 409, description = "Not possible now: `invalid_transition`", body = ErrorBody)))]
async fn act_on_subscription(
    State(state): State<ApiState>,
    Caller(subject): Caller,
    Path((id, action)): Path<(String, String)>,
    ApiJson(input): ApiJson<OpinionInput>,
) -> ApiResult<Json<SubscriptionDto>> {
    let view = state.app.act_on_subscription(&subject, &id, &action, input.opinion.as_deref()).await?;
    Ok(Json(SubscriptionDto::from(&view)))
}

/// What a customer asks of a product: exactly one of `rows`, `verify`, `aggregate`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct DeliveryInput {
    /// A dataset or API product: the source (when several) and the data query's parameters.
    #[serde(default)]
    rows: Option<RowsInput>,
    /// A verification product: the source (when several) and field → value.
    #[serde(default)]
    verify: Option<VerifyRequest>,
    /// A report, index, model or privacy-computing product: aggregate SQL over its sources.
    #[serde(default)]
    aggregate: Option<AggregateRequest>,
}

/// Rows asked of a product.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RowsInput {
    #[serde(default)]
    resource_id: Option<String>,
    /// Filters and options as for `/resources/{id}/data` (`city=Boston`, `_limit=20`).
    #[serde(default)]
    params: BTreeMap<String, String>,
}

/// A verification asked of a product.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct VerifyRequest {
    #[serde(default)]
    resource_id: Option<String>,
    criteria: BTreeMap<String, String>,
}

/// Aggregates asked of a product.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct AggregateRequest {
    /// Tables are the product's resource ids.
    sql: String,
}

/// What a delivery was charged.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct DeliveryDto {
    seq: i64,
    /// The usage event the gateway recorded.
    usage_seq: i64,
    product_id: String,
    subscription_id: String,
    customer_org_id: String,
    at: DateTime<Utc>,
    day: NaiveDate,
    version: Option<i64>,
    rows: i64,
    /// `None` when free.
    unit: Option<&'static str>,
    units: i64,
    unit_price_fen: i64,
    fee_fen: i64,
    fee_yuan: String,
    free: bool,
}

impl From<&Delivery> for DeliveryDto {
    fn from(d: &Delivery) -> Self {
        DeliveryDto {
            seq: d.seq,
            usage_seq: d.usage_seq,
            product_id: d.product_id.clone(),
            subscription_id: d.subscription_id.clone(),
            customer_org_id: d.customer_org_id.clone(),
            at: d.at,
            day: d.day,
            version: d.version,
            rows: d.rows,
            unit: d.unit.map(|u| u.code()),
            units: d.units,
            unit_price_fen: d.unit_price_fen,
            fee_fen: d.fee_fen,
            fee_yuan: yuan(d.fee_fen),
            free: d.free,
        }
    }
}

/// A delivery: the answer and its charge.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct DeliveryReceiptDto {
    charge: DeliveryDto,
    /// Rows or aggregates, when the product delivers them.
    result: Option<SqlDto>,
    /// A verification's answer.
    matched: Option<bool>,
    /// For rows: the matching total.
    total: Option<u64>,
}

fn receipt_dto(receipt: &DeliveryReceipt) -> Result<DeliveryReceiptDto, gongshu_app::AppError> {
    let charge = DeliveryDto::from(&receipt.delivery);
    Ok(match &receipt.answer {
        DeliveryAnswer::Rows(page) => {
            let result = gongshu_app::SqlResult {
                schema: page.page.schema.clone(),
                batches: page.page.batches.clone(),
                truncated: false,
            };
            DeliveryReceiptDto { charge, result: Some(sql_dto(&result)?), matched: None, total: Some(page.page.total) }
        }
        DeliveryAnswer::Verified(matched) => {
            DeliveryReceiptDto { charge, result: None, matched: Some(*matched), total: None }
        }
        DeliveryAnswer::Aggregate(result) => {
            DeliveryReceiptDto { charge, result: Some(sql_dto(result)?), matched: None, total: None }
        }
    })
}

/// Delivers a product to a member of the subscribing customer, through the
/// access gateway under the operator's grant narrowed to the product: the
/// read and its charge are recorded (and enter the ledger) before the answer leaves.
#[utoipa::path(post, path = "/api/v1/subscriptions/{id}/deliveries", tag = "products", params(("id" = String, Path)), request_body = DeliveryInput,
    responses((status = 200, description = "Delivered", body = DeliveryReceiptDto),
        (status = 403, description = "Not in force, not listed, outside the grant or frozen: `forbidden`", body = ErrorBody),
        (status = 409, description = "No price in force for a charged use: `conflict`", body = ErrorBody),
        (status = 422, description = "A request the product does not take: `validation_failed`", body = ErrorBody)))]
async fn deliver(
    State(state): State<ApiState>,
    Caller(subject): Caller,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<DeliveryInput>,
) -> ApiResult<Json<DeliveryReceiptDto>> {
    let request = match (input.rows, input.verify, input.aggregate) {
        (Some(rows), None, None) => {
            DeliveryRequest::Rows { resource_id: rows.resource_id, params: rows.params.into_iter().collect() }
        }
        (None, Some(verify), None) => {
            DeliveryRequest::Verify { resource_id: verify.resource_id, criteria: verify.criteria.into_iter().collect() }
        }
        (None, None, Some(aggregate)) => DeliveryRequest::Aggregate { sql: aggregate.sql },
        _ => {
            return Err(gongshu_app::AppError::from(gongshu_domain::ValidationError::new(
                "request",
                "give exactly one of `rows`, `verify`, `aggregate`",
                "须且只能提供 `rows`、`verify`、`aggregate` 之一",
            ))
            .into());
        }
    };
    let receipt = state.app.deliver_product(&subject, &id, request).await?;
    Ok(Json(receipt_dto(&receipt)?))
}

/// Which statement.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub(crate) struct StatementQuery {
    /// The customer.
    customer: String,
    /// Only this operator's products.
    operator: Option<String>,
    /// The month, `YYYY-MM`.
    period: String,
}

/// One line of a statement.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct StatementLineDto {
    product_id: String,
    product_code: Option<String>,
    product_name: String,
    operator_org_id: String,
    unit: Option<&'static str>,
    unit_zh: Option<&'static str>,
    unit_price_fen: i64,
    deliveries: i64,
    units: i64,
    rows: i64,
    fee_fen: i64,
    fee_yuan: String,
}

/// A metered statement.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct StatementDto {
    customer_org_id: String,
    operator_org_id: Option<String>,
    since: NaiveDate,
    until: NaiveDate,
    lines: Vec<StatementLineDto>,
    total_fen: i64,
    total_yuan: String,
}

impl From<&Statement> for StatementDto {
    fn from(s: &Statement) -> Self {
        StatementDto {
            customer_org_id: s.customer_org_id.clone(),
            operator_org_id: s.operator_org_id.clone(),
            since: s.since,
            until: s.until,
            lines: s
                .lines
                .iter()
                .map(|(line, product)| StatementLineDto {
                    product_id: product.id.clone(),
                    product_code: product.code.as_ref().map(|c| c.as_str().to_owned()),
                    product_name: product.draft.name.clone(),
                    operator_org_id: product.operator_org_id.clone(),
                    unit: line.unit.map(|u| u.code()),
                    unit_zh: line.unit.map(|u| u.label_zh()),
                    unit_price_fen: line.unit_price_fen,
                    deliveries: line.deliveries,
                    units: line.units,
                    rows: line.rows,
                    fee_fen: line.fee_fen,
                    fee_yuan: yuan(line.fee_fen),
                })
                .collect(),
            total_fen: s.total_fen,
            total_yuan: yuan(s.total_fen),
        }
    }
}

/// A customer's metered statement for a month: deliveries grouped by product
/// and unit price, with units, rows and fees (free uses at zero). For the
/// customer, the operator (its own products), the bureau and auditors.
#[utoipa::path(get, path = "/api/v1/statements", tag = "products", params(StatementQuery),
    responses((status = 200, description = "Success", body = StatementDto), (status = 403, description = "Not a party: `forbidden`", body = ErrorBody)))]
async fn statement(
    State(state): State<ApiState>,
    Caller(subject): Caller,
    Query(query): Query<StatementQuery>,
) -> ApiResult<Json<StatementDto>> {
    let statement = state.app.statement(&subject, &query.customer, query.operator.as_deref(), &query.period).await?;
    Ok(Json(StatementDto::from(&statement)))
}

/// A maximum allowed revenue.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CeilingInput {
    /// Yuan, as text.
    amount: String,
    /// 准许成本 and 合理收益.
    basis: String,
}

/// An operator's revenue in a year against its maximum.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct RevenueDto {
    operator_org_id: String,
    year: i32,
    /// 最高准许收入 as set, in fen.
    ceiling_fen: Option<i64>,
    /// Deducted for last year's excess.
    deduction_fen: Option<i64>,
    /// What may be taken this year.
    allowed_fen: Option<i64>,
    revenue_fen: i64,
    /// Above the maximum: flagged, and deducted next year.
    excess_fen: i64,
    deliveries: i64,
    free_deliveries: i64,
}

impl From<&Revenue> for RevenueDto {
    fn from(r: &Revenue) -> Self {
        RevenueDto {
            operator_org_id: r.operator_org_id.clone(),
            year: r.year,
            ceiling_fen: r.ceiling.as_ref().map(|c| c.amount_fen),
            deduction_fen: r.ceiling.as_ref().map(|c| c.deduction_fen),
            allowed_fen: r.ceiling.as_ref().map(gongshu_domain::RevenueCeiling::allowed_fen),
            revenue_fen: r.revenue_fen,
            excess_fen: r.excess_fen,
            deliveries: r.deliveries,
            free_deliveries: r.free_deliveries,
        }
    }
}

/// The bureau sets an operator's maximum allowed revenue (最高准许收入) for a
/// year; last year's revenue above its maximum is deducted.
#[utoipa::path(put, path = "/api/v1/operators/{id}/ceilings/{year}", tag = "products", params(("id" = String, Path), ("year" = i32, Path)), request_body = CeilingInput,
    responses((status = 200, description = "Set", body = RevenueDto), (status = 403, description = "Not a bureau administrator: `forbidden`", body = ErrorBody)))]
async fn set_ceiling(
    State(state): State<ApiState>,
    Caller(subject): Caller,
    Path((id, year)): Path<(String, i32)>,
    ApiJson(input): ApiJson<CeilingInput>,
) -> ApiResult<Json<RevenueDto>> {
    state.app.set_revenue_ceiling(&subject, &id, year, &input.amount, &input.basis).await?;
    Ok(Json(RevenueDto::from(&state.app.revenue(&subject, &id, year).await?)))
}

/// An operator's revenue in a year against its maximum (the operator, the bureau, auditors).
#[utoipa::path(get, path = "/api/v1/operators/{id}/revenue/{year}", tag = "products", params(("id" = String, Path), ("year" = i32, Path)),
    responses((status = 200, description = "Success", body = RevenueDto), (status = 403, description = "Not the operator, the bureau or an auditor: `forbidden`", body = ErrorBody)))]
async fn revenue(
    State(state): State<ApiState>,
    Caller(subject): Caller,
    Path((id, year)): Path<(String, i32)>,
) -> ApiResult<Json<RevenueDto>> {
    Ok(Json(RevenueDto::from(&state.app.revenue(&subject, &id, year).await?)))
}

/// A published disclosure report.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct DisclosureDto {
    id: String,
    year: i32,
    org_id: String,
    /// `implementing_body` or `operator`.
    role: &'static str,
    /// SHA-256 of the report's exact JSON (`/content.json`), as the ledger records it.
    content_sha256: String,
    published_at: DateTime<Utc>,
    /// The report it corrects.
    supersedes: Option<String>,
    /// Whether a later report corrected it.
    superseded: bool,
    /// A report on part of a year (published before the year ended): it does not fulfil the year's duty.
    interim: bool,
    /// The report.
    #[schema(value_type = Object)]
    content: serde_json::Value,
}

fn disclosure_dto(v: &DisclosureView) -> Result<DisclosureDto, gongshu_app::AppError> {
    let d = &v.disclosure;
    Ok(DisclosureDto {
        id: d.id.clone(),
        year: d.year,
        org_id: d.org_id.clone(),
        role: d.role.code(),
        content_sha256: d.content_sha256.clone(),
        published_at: d.published_at,
        supersedes: d.supersedes.clone(),
        superseded: d.superseded,
        interim: v.interim,
        content: serde_json::to_value(&v.content).map_err(|e| gongshu_app::AppError::Internal(Box::new(e)))?,
    })
}

/// Which year.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub(crate) struct YearQuery {
    year: Option<i32>,
}

/// Published disclosure reports (授权运营信息披露), newest first; anyone may read them.
#[utoipa::path(get, path = "/api/v1/disclosures", tag = "disclosure", params(YearQuery), security((), ("bearer" = [])),
    responses((status = 200, description = "Success", body = Vec<DisclosureDto>)))]
async fn list_disclosures(
    State(state): State<ApiState>,
    Query(query): Query<YearQuery>,
) -> ApiResult<Json<Vec<DisclosureDto>>> {
    let views = state.app.disclosures(query.year).await?;
    Ok(Json(views.iter().map(disclosure_dto).collect::<Result<_, _>>()?))
}

/// What to publish.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct PublishInput {
    org_id: String,
    year: i32,
}

/// Publishes an implementing body's or operator's report for a year,
/// generated from the records; its hash enters the ledger. Publishing the
/// same year again corrects (supersedes) the earlier report.
#[utoipa::path(post, path = "/api/v1/disclosures", tag = "disclosure", request_body = PublishInput,
    responses((status = 201, description = "Published", body = DisclosureDto),
        (status = 403, description = "Not the discloser's administrator: `forbidden`", body = ErrorBody),
        (status = 422, description = "Not a discloser, or a year not begun: `validation_failed`", body = ErrorBody)))]
async fn publish_disclosure(
    State(state): State<ApiState>,
    Caller(subject): Caller,
    ApiJson(input): ApiJson<PublishInput>,
) -> ApiResult<(StatusCode, Json<DisclosureDto>)> {
    let view = state.app.publish_disclosure(&subject, &input.org_id, input.year).await?;
    Ok((StatusCode::CREATED, Json(disclosure_dto(&view)?)))
}

/// Whether a discloser has published a year's report.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct DisclosureDueDto {
    org_id: String,
    org_name: String,
    role: &'static str,
    year: i32,
    due: NaiveDate,
    /// `published`, `due`, `overdue`.
    status: &'static str,
    status_zh: &'static str,
    published_id: Option<String>,
}

impl From<&DisclosureDue> for DisclosureDueDto {
    fn from(d: &DisclosureDue) -> Self {
        DisclosureDueDto {
            org_id: d.org.id.clone(),
            org_name: d.org.name_zh.clone(),
            role: d.role.code(),
            year: d.year,
            due: d.due,
            status: d.status.code(),
            status_zh: d.status.label_zh(),
            published_id: d.published_id.clone(),
        }
    }
}

/// Who must disclose for a year (every implementing body and operator party
/// to an authorized operation in force in it) and whether they have; due by
/// the end of March of the next year.
#[utoipa::path(get, path = "/api/v1/disclosures/status/{year}", tag = "disclosure", params(("year" = i32, Path)), security((), ("bearer" = [])),
    responses((status = 200, description = "Success", body = Vec<DisclosureDueDto>)))]
async fn disclosure_status(
    State(state): State<ApiState>,
    Path(year): Path<i32>,
) -> ApiResult<Json<Vec<DisclosureDueDto>>> {
    Ok(Json(state.app.disclosure_status(year).await?.iter().map(DisclosureDueDto::from).collect()))
}

/// One published report.
#[utoipa::path(get, path = "/api/v1/disclosures/{id}", tag = "disclosure", params(("id" = String, Path)), security((), ("bearer" = [])),
    responses((status = 200, description = "Success", body = DisclosureDto), (status = 404, description = "Not found: `not_found`", body = ErrorBody)))]
async fn get_disclosure(State(state): State<ApiState>, Path(id): Path<String>) -> ApiResult<Json<DisclosureDto>> {
    Ok(Json(disclosure_dto(&state.app.disclosure(&id).await?)?))
}

/// A published report in another form: `content.json` (the exact bytes
/// whose SHA-256 the ledger holds) or `report.csv` (one fact per row).
#[utoipa::path(get, path = "/api/v1/disclosures/{id}/{file}", tag = "disclosure", params(("id" = String, Path), ("file" = String, Path, description = "content.json | report.csv")), security((), ("bearer" = [])),
    responses((status = 200, description = "The file", content_type = "application/octet-stream"), (status = 404, description = "Not found: `not_found`", body = ErrorBody)))]
async fn disclosure_csv(
    State(state): State<ApiState>,
    Path((id, file)): Path<(String, String)>,
) -> ApiResult<axum::response::Response> {
    let view = state.app.disclosure(&id).await?;
    let name = format!("disclosure-{}-{}", view.disclosure.year, view.disclosure.id);
    match file.as_str() {
        "content.json" => Ok((
            [
                (header::CONTENT_TYPE, "application/json".to_owned()),
                (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{name}.json\"")),
            ],
            view.disclosure.content,
        )
            .into_response()),
        "report.csv" => Ok((
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
                (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{name}.csv\"")),
            ],
            gongshu_app::disclosure_csv(&view.content),
        )
            .into_response()),
        other => Err(gongshu_app::AppError::NotFound { entity: "disclosure file", id: other.to_owned() }.into()),
    }
}

/// What a year's report would say now, before publishing (the discloser, the bureau, auditors).
#[utoipa::path(get, path = "/api/v1/organizations/{id}/disclosures/{year}/preview", tag = "disclosure", params(("id" = String, Path), ("year" = i32, Path)),
    responses((status = 200, description = "Success", body = Object), (status = 403, description = "Not the discloser or an overseer: `forbidden`", body = ErrorBody)))]
async fn preview_disclosure(
    State(state): State<ApiState>,
    Caller(subject): Caller,
    Path((id, year)): Path<(String, i32)>,
) -> ApiResult<Json<serde_json::Value>> {
    let content = state.app.preview_disclosure(&subject, &id, year).await?;
    Ok(Json(serde_json::to_value(&content).map_err(|e| gongshu_app::AppError::Internal(Box::new(e)))?))
}
