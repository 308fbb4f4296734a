//! Operators' products and services (产品和服务): registration under an
//! authorized-operation agreement through the registration workflow
//! (受理 → 形式审核 → 公示 → 赋码, with objections during publicity), the
//! listing, and customers' subscriptions. Delivery is the gateway's
//! (`gateway::delivery`); prices, statements and revenue are `pricing`'s.

use gongshu_domain::error::{optional_text, required_text};
use gongshu_domain::registration::coding_blockers;
use gongshu_domain::{
    AgreementKind, AgreementState, HistoryEntry, ListingAction, ListingState, PriceRecord, Product, ProductDraft,
    ProductForm, ProductResource, ProductSpec, RegistrationAction, RegistrationCode, RegistrationState, Subscription,
    SubscriptionAction, SubscriptionState, UseCategory, ValidationError, Validations,
};
use gongshu_metadata::{ProductFilter, SubscriptionFilter, Transaction};
use gongshu_policy::{Action, Subject};

use crate::catalog::visible_orgs;
use crate::registrations::{blocked, opinion_for};
use crate::{App, AppError, AppResult, Step, actor_id, authorize, new_id};

/// What an operator files for a product.
#[derive(Debug, Clone, Default)]
pub struct NewProduct {
    /// The authorized-operation agreement it is made under.
    pub agreement_id: String,
    /// 产品名称.
    pub name: String,
    /// `dataset`, `api`, `model`, `verification`, `report`, `index`, `privacy_computing`.
    pub form: String,
    /// `public_governance`, `public_welfare`, `industry`, `sector`.
    pub use_category: String,
    /// One of the agreement's scenarios.
    pub scenario: String,
    /// 产品简介.
    pub description: String,
    /// Source resources and their output fields.
    pub resources: Vec<ProductResource>,
    /// Input fields (for verification: the fields compared).
    pub input_fields: Vec<String>,
    /// 使用条件.
    pub usage_conditions: String,
    /// 技术文档.
    pub documentation: String,
    /// 合规评估.
    pub compliance: String,
    /// 质量评估.
    pub quality: String,
}

/// A product with its prices and what is in force now.
#[derive(Debug, Clone)]
pub struct ProductView {
    /// The product.
    pub product: Product,
    /// Its caps and prices, in order of announcement.
    pub prices: Vec<PriceRecord>,
    /// The cap in force today.
    pub cap_now: Option<PriceRecord>,
    /// The operator's price in force today.
    pub price_now: Option<PriceRecord>,
    /// Caps and prices announced and not yet in force (收费公示).
    pub upcoming: Vec<PriceRecord>,
    /// What a charged delivery costs today: the price held to the cap, in
    /// its unit; `None` when nothing can be charged.
    pub charge_now: Option<(gongshu_domain::ChargingUnit, i64)>,
    /// Whether the bureau is past its working-day deadline.
    pub overdue: bool,
    /// Its source resources, named (filled for one product, not for lists).
    pub sources: Vec<ProductSource>,
}

/// A product's source resource. A grant's resources are disclosed (授权内容),
/// so their names are public even before the entries are published.
#[derive(Debug, Clone)]
pub struct ProductSource {
    /// The resource.
    pub resource_id: String,
    /// Its name.
    pub name: String,
    /// Its registration code, once coded.
    pub code: Option<String>,
    /// Whether its page is public.
    pub published: bool,
}

/// A subscription with its product's name.
#[derive(Debug, Clone)]
pub struct SubscriptionView {
    /// The subscription.
    pub subscription: Subscription,
    /// The product.
    pub product: Product,
    /// Whether its deliveries are free.
    pub free: bool,
}

fn text_list(field: &str, values: &[String], problems: &mut Validations) -> Vec<String> {
    let mut out = Vec::new();
    for (i, value) in values.iter().enumerate() {
        if let Some(text) = problems.check(required_text(&format!("{field}[{i}]"), value, 200)) {
            out.push(text);
        }
    }
    out
}

impl NewProduct {
    fn validate(&self) -> Result<ProductDraft, Validations> {
        let mut problems = Validations::default();
        let name = problems.check(required_text("name", &self.name, 200));
        let form = problems.check(ProductForm::parse("form", &self.form));
        let use_category = problems.check(UseCategory::parse("use_category", &self.use_category));
        let scenario = problems.check(required_text("scenario", &self.scenario, 200));
        let description = problems.check(required_text("description", &self.description, 4000));
        let mut resources = Vec::new();
        for (i, part) in self.resources.iter().enumerate() {
            let columns = text_list(&format!("resources[{i}].columns"), &part.columns, &mut problems);
            resources.push(ProductResource { resource_id: part.resource_id.trim().to_owned(), columns });
        }
        let input_fields = text_list("input_fields", &self.input_fields, &mut problems);
        let usage_conditions = problems.check(required_text("usage_conditions", &self.usage_conditions, 4000));
        let documentation = problems.check(optional_text("documentation", Some(&self.documentation), 4000));
        let compliance = problems.check(required_text("compliance", &self.compliance, 4000));
        let quality = problems.check(optional_text("quality", Some(&self.quality), 4000));
        problems.finish(|| ProductDraft {
            name: name.unwrap_or_default(),
            form: form.unwrap_or(ProductForm::Api),
            use_category: use_category.unwrap_or(UseCategory::Industry),
            scenario: scenario.unwrap_or_default(),
            spec: ProductSpec {
                description: description.unwrap_or_default(),
                resources,
                input_fields,
                usage_conditions: usage_conditions.unwrap_or_default(),
                documentation: documentation.flatten().unwrap_or_default(),
                compliance: compliance.unwrap_or_default(),
                quality: quality.flatten().unwrap_or_default(),
            },
        })
    }
}

impl App {
    /// Whether `subject` may see `product`: everyone once it is in
    /// publicity, else its operator, its implementing body, the bureau
    /// and auditors.
    pub(crate) fn may_see_product(subject: &Subject, product: &Product) -> bool {
        if product.is_public() {
            return true;
        }
        match visible_orgs(subject) {
            None => true,
            Some(orgs) => orgs.contains(&product.operator_org_id) || orgs.contains(&product.implementing_org_id),
        }
    }

    pub(crate) async fn visible_product(
        &self,
        tx: &mut Box<dyn Transaction>,
        subject: &Subject,
        id: &str,
    ) -> AppResult<Product> {
        let product = tx.product(id).await?;
        if Self::may_see_product(subject, &product) {
            Ok(product)
        } else {
            Err(AppError::NotFound { entity: "product", id: id.to_owned() })
        }
    }

    fn product_view(&self, product: Product, prices: Vec<PriceRecord>) -> ProductView {
        let today = self.today();
        let own: Vec<PriceRecord> = prices.into_iter().filter(|p| p.product_id == product.id).collect();
        let cap_now = gongshu_domain::pricing::in_force(&own, gongshu_domain::PriceTier::Cap, today).cloned();
        let price_now = gongshu_domain::pricing::in_force(&own, gongshu_domain::PriceTier::Price, today).cloned();
        let upcoming = own.iter().filter(|p| p.effective_from > today).cloned().collect();
        let charge_now = gongshu_domain::pricing::charge_on(&own, today);
        let overdue = product.registration.awaits_bureau() && product.due_date.is_some_and(|due| today > due);
        ProductView { product, prices: own, cap_now, price_now, upcoming, charge_now, overdue, sources: Vec::new() }
    }

    /// Registers a product under an authorized-operation agreement the
    /// operator holds and that is in force: the product may use only what
    /// the grant gives, in one of the agreement's scenarios. It goes to
    /// the bureau for acceptance.
    pub async fn register_product(&self, subject: &Subject, new: NewProduct) -> AppResult<Product> {
        let draft = new.validate()?;
        let mut tx = self.store.write().await?;
        let agreement = match tx.agreement(&new.agreement_id).await {
            Ok(agreement) => agreement,
            Err(gongshu_metadata::StoreError::NotFound { .. }) => {
                return Err(ValidationError::new(
                    "agreement_id",
                    format!("no agreement has the id `{}`", new.agreement_id),
                    format!("不存在 id 为 `{}` 的协议", new.agreement_id),
                )
                .into());
            }
            Err(other) => return Err(other.into()),
        };
        let operator = agreement.holder_org_id.clone().unwrap_or_default();
        authorize(subject, Action::ManageProducts { operator_org_id: &operator })?;
        if agreement.kind != AgreementKind::Operation || agreement.status(self.today()) != AgreementState::Active {
            return Err(ValidationError::new(
                "agreement_id",
                "products are registered under an authorized-operation agreement that is signed and in force",
                "产品和服务须在已签署且在有效期内的授权运营协议下登记",
            )
            .into());
        }
        let grant_id =
            agreement.grant_id.clone().ok_or_else(|| AppError::Internal("a signed agreement has a grant".into()))?;
        let grant = tx.grant(&grant_id).await?;
        draft.check_within(&grant, &agreement.terms.scenarios)?;
        let now = self.clock.now();
        let product = Product {
            id: new_id(),
            code: None,
            operator_org_id: operator,
            agreement_id: agreement.id.clone(),
            grant_id,
            implementing_org_id: agreement.grantor_org_id.clone(),
            draft,
            registration: RegistrationState::Submitted,
            listing: ListingState::Unlisted,
            due_date: Some(self.due(self.rules.acceptance_working_days)),
            publicity_start: None,
            publicity_end: None,
            submitted_by: actor_id(subject).unwrap_or_default(),
            created_at: now,
            updated_at: now,
            row_version: 1,
        };
        tx.insert_product(&product).await?;
        let step = Step {
            entity_kind: "product",
            entity_id: &product.id,
            action: "submit",
            from_state: None,
            to_state: Some(product.registration.code()),
            opinion: None,
        };
        self.record(&mut tx, subject, step).await?;
        tx.commit().await?;
        Ok(product)
    }

    /// Resubmits a returned product with corrected content.
    pub async fn resubmit_product(&self, subject: &Subject, id: &str, new: NewProduct) -> AppResult<Product> {
        let draft = new.validate()?;
        let mut tx = self.store.write().await?;
        let product = self.visible_product(&mut tx, subject, id).await?;
        authorize(subject, Action::ManageProducts { operator_org_id: &product.operator_org_id })?;
        let agreement = tx.agreement(&product.agreement_id).await?;
        if agreement.status(self.today()) != AgreementState::Active {
            return Err(AppError::conflict(
                "the agreement the product is made under is no longer in force",
                "该产品所依据的授权运营协议已不在有效期内",
            ));
        }
        let grant = tx.grant(&product.grant_id).await?;
        draft.check_within(&grant, &agreement.terms.scenarios)?;
        let from = product.registration;
        let to = from.apply(RegistrationAction::Resubmit)?;
        let next = Product {
            draft,
            registration: to,
            due_date: Some(self.due(self.rules.acceptance_working_days)),
            updated_at: self.clock.now(),
            ..product
        };
        let next = tx.update_product(&next).await?;
        let step = Step {
            entity_kind: "product",
            entity_id: &next.id,
            action: RegistrationAction::Resubmit.code(),
            from_state: Some(from.code()),
            to_state: Some(to.code()),
            opinion: None,
        };
        self.record(&mut tx, subject, step).await?;
        tx.commit().await?;
        Ok(next)
    }

    /// Moves a product's registration: the operator withdraws; anyone
    /// signed in objects during publicity (the claim is the opinion); the
    /// bureau's reviewers do the rest. Coding (赋码) lists it.
    pub async fn act_on_product(
        &self,
        subject: &Subject,
        id: &str,
        action: &str,
        opinion: Option<&str>,
    ) -> AppResult<Product> {
        let action = RegistrationAction::parse("action", action)?;
        if matches!(action, RegistrationAction::Resubmit | RegistrationAction::Supersede) {
            return Err(ValidationError::new(
                "action",
                "a returned product is resubmitted with its corrected content (PUT /api/v1/products/{id})",
                "退回的产品请修改内容后重新提交（PUT /api/v1/products/{id}）",
            )
            .into());
        }
        let opinion = opinion_for(action, opinion)?;
        let mut tx = self.store.write().await?;
        let product = self.visible_product(&mut tx, subject, id).await?;
        match action {
            RegistrationAction::Withdraw => {
                authorize(subject, Action::ManageProducts { operator_org_id: &product.operator_org_id })?
            }
            RegistrationAction::Object => authorize(subject, Action::Object)?,
            _ => authorize(subject, Action::Review)?,
        }
        let today = self.today();
        let from = product.registration;
        let to = from.apply(action)?;
        let mut next = Product { registration: to, updated_at: self.clock.now(), ..product };
        next.due_date = match to {
            RegistrationState::Submitted => Some(self.due(self.rules.acceptance_working_days)),
            RegistrationState::FormalReview => Some(self.due(self.rules.review_working_days)),
            RegistrationState::ObjectionReview => Some(self.due(self.rules.objection_working_days)),
            RegistrationState::Publicity => next.publicity_end,
            _ => None,
        };
        match action {
            RegistrationAction::PassReview => {
                let end = self.due(self.rules.publicity_working_days);
                next.publicity_start = Some(today);
                next.publicity_end = Some(end);
                next.due_date = Some(end);
            }
            RegistrationAction::Object if next.publicity_end.is_some_and(|end| today > end) => {
                return Err(AppError::conflict(
                    "publicity has closed; objections are no longer accepted",
                    "公示期已结束，不再受理异议",
                ));
            }
            RegistrationAction::AssignCode => {
                let end = next.publicity_end.expect("a product in publicity has its window");
                let blockers = coding_blockers(today, end, 0, 0);
                if !blockers.is_empty() {
                    return Err(blocked(&blockers));
                }
                // Registration kind 2: 产品和服务.
                let prefix = RegistrationCode::prefix(&self.rules.registry_region, 2, today);
                let sequence = tx.next_code_sequence(&prefix).await?;
                next.code = Some(RegistrationCode::from_parts(&prefix, sequence as u32));
                next.listing = ListingState::Listed;
            }
            _ => {}
        }
        let next = tx.update_product(&next).await?;
        let step = Step {
            entity_kind: "product",
            entity_id: &next.id,
            action: action.code(),
            from_state: Some(from.code()),
            to_state: Some(to.code()),
            opinion: opinion.as_deref(),
        };
        self.record(&mut tx, subject, step).await?;
        tx.commit().await?;
        Ok(next)
    }

    /// Suspends, resumes or delists a listed product: its operator; or the
    /// bureau intervening, whose suspension (`halt`, or `suspend` when the
    /// bureau says it) only the bureau lifts. Deliveries stop at once.
    pub async fn change_listing(&self, subject: &Subject, id: &str, action: &str, reason: &str) -> AppResult<Product> {
        let mut action = ListingAction::parse("action", action)?;
        let reason = required_text("reason", reason, 2000)?;
        let mut tx = self.store.write().await?;
        let product = self.visible_product(&mut tx, subject, id).await?;
        let operator = Action::ManageProducts { operator_org_id: &product.operator_org_id };
        let intervening = if gongshu_policy::decide(subject, operator).is_allowed() {
            action == ListingAction::Halt
                || (product.listing == ListingState::Halted && action == ListingAction::Resume)
        } else {
            true
        };
        if intervening {
            authorize(subject, Action::Intervene).map_err(|error| match product.listing {
                ListingState::Halted => AppError::Forbidden {
                    en: "the data bureau suspended this product; only the bureau resumes it",
                    zh: "该产品由数据管理机构监管暂停，只能由数据管理机构恢复",
                },
                _ => error,
            })?;
            if action == ListingAction::Suspend {
                action = ListingAction::Halt;
            }
            // The operator's own pause is the operator's to end.
            if action == ListingAction::Resume && product.listing != ListingState::Halted {
                return Err(AppError::Forbidden {
                    en: "the operator suspended this product itself; the bureau intervenes by halting, not by resuming",
                    zh: "该产品由运营机构自行暂停；数据管理机构可监管暂停，但不代为恢复",
                });
            }
        }
        let from = product.listing;
        let to = from.apply(action)?;
        let next = tx.update_product(&Product { listing: to, updated_at: self.clock.now(), ..product }).await?;
        let step = Step {
            entity_kind: "product",
            entity_id: &next.id,
            action: action.code(),
            from_state: Some(from.code()),
            to_state: Some(to.code()),
            opinion: Some(&reason),
        };
        self.record(&mut tx, subject, step).await?;
        tx.commit().await?;
        Ok(next)
    }

    /// One product with its prices.
    pub async fn product(&self, subject: &Subject, id: &str) -> AppResult<ProductView> {
        let mut tx = self.store.read().await?;
        let product = self.visible_product(&mut tx, subject, id).await?;
        let prices = tx.prices(std::slice::from_ref(&product.id)).await?;
        let mut sources = Vec::new();
        for part in &product.draft.spec.resources {
            let resource = tx.resource(&part.resource_id).await?;
            sources.push(ProductSource {
                resource_id: resource.id.clone(),
                name: resource.draft.name_zh.clone(),
                code: resource.registration_code.as_ref().map(|c| c.as_str().to_owned()),
                published: resource.state == gongshu_domain::ResourceState::Published,
            });
        }
        Ok(ProductView { sources, ..self.product_view(product, prices) })
    }

    /// Products the subject may see, newest first: the public sees those
    /// in publicity and registered (the operators' capability lists,
    /// 产品和服务能力清单); organizations also see their own in review.
    pub async fn products(&self, subject: &Subject, operator_org_id: Option<&str>) -> AppResult<Vec<ProductView>> {
        let mut tx = self.store.read().await?;
        let filter = ProductFilter { operator_org_id: operator_org_id.map(str::to_owned), ..Default::default() };
        let products: Vec<Product> =
            tx.products(&filter).await?.into_iter().filter(|p| Self::may_see_product(subject, p)).collect();
        let ids: Vec<String> = products.iter().map(|p| p.id.clone()).collect();
        let prices = tx.prices(&ids).await?;
        Ok(products.into_iter().map(|p| self.product_view(p, prices.clone())).collect())
    }

    /// A product's history, for those who may see it.
    pub async fn product_history(&self, subject: &Subject, id: &str) -> AppResult<Vec<HistoryEntry>> {
        let mut tx = self.store.read().await?;
        let product = self.visible_product(&mut tx, subject, id).await?;
        let history = tx.history("product", &product.id).await?;
        Ok(crate::catalog::redact_actors(subject, &product.operator_org_id, history))
    }

    /// Subscribes the caller's organization (or the one named) to a
    /// listed product, saying what its use serves. A free use of a charged
    /// product waits for the operator to confirm it.
    pub async fn subscribe(
        &self,
        subject: &Subject,
        product_id: &str,
        customer_org_id: Option<&str>,
        use_category: &str,
        purpose: &str,
    ) -> AppResult<SubscriptionView> {
        let mut problems = Validations::default();
        let use_category = problems.check(UseCategory::parse("use_category", use_category));
        let purpose = problems.check(required_text("purpose", purpose, 2000));
        problems.finish(|| ())?;
        let (Some(use_category), Some(purpose)) = (use_category, purpose) else { unreachable!("checked above") };
        let mut tx = self.store.write().await?;
        let product = self.visible_product(&mut tx, subject, product_id).await?;
        let named = customer_org_id.map(str::to_owned);
        let customer = Self::only_org(subject, &named, "customer_org_id", |org| {
            org != product.operator_org_id
                && gongshu_policy::decide(subject, Action::SubscribeProducts { customer_org_id: org }).is_allowed()
        })?;
        authorize(subject, Action::SubscribeProducts { customer_org_id: &customer })?;
        if !product.deliverable() {
            return Err(AppError::conflict("only a listed product can be subscribed to", "只能订购已上架的产品"));
        }
        if customer == product.operator_org_id {
            return Err(ValidationError::new(
                "customer_org_id",
                "an operator does not subscribe to its own product",
                "运营机构不能订购本机构的产品",
            )
            .into());
        }
        if product.draft.use_category.is_free() && !use_category.is_free() {
            return Err(ValidationError::new(
                "use_category",
                format!("this product serves {} and is provided free for that use only", product.draft.use_category),
                format!("该产品用于{}，仅限该类用途免费提供", product.draft.use_category.label_zh()),
            )
            .into());
        }
        let existing =
            SubscriptionFilter { product_id: Some(product.id.clone()), customer_org_ids: Some(vec![customer.clone()]) };
        if tx
            .subscriptions(&existing)
            .await?
            .iter()
            .any(|s| matches!(s.state, SubscriptionState::Pending | SubscriptionState::Active))
        {
            return Err(AppError::conflict(
                "this organization already subscribes to the product (or waits for the operator); end that subscription first",
                "本单位已订购该产品（或正待运营机构确认），如需变更请先终止原订购",
            ));
        }
        let now = self.clock.now();
        let subscription = Subscription {
            id: new_id(),
            product_id: product.id.clone(),
            customer_org_id: customer,
            use_category,
            purpose,
            state: Subscription::initial_state(product.draft.use_category, use_category),
            opinion: None,
            created_by: actor_id(subject).unwrap_or_default(),
            created_at: now,
            updated_at: now,
            row_version: 1,
        };
        match tx.insert_subscription(&subscription).await {
            Err(gongshu_metadata::StoreError::Duplicate(_)) => {
                return Err(AppError::conflict(
                    "this organization already subscribes to the product (or waits for the operator)",
                    "本单位已订购该产品（或正待运营机构确认）",
                ));
            }
            other => other?,
        }
        let step = Step {
            entity_kind: "subscription",
            entity_id: &subscription.id,
            action: "subscribe",
            from_state: None,
            to_state: Some(subscription.state.code()),
            opinion: Some(&subscription.purpose),
        };
        self.record(&mut tx, subject, step).await?;
        tx.commit().await?;
        let free = subscription.is_free(product.draft.use_category);
        Ok(SubscriptionView { subscription, product, free })
    }

    /// The operator confirms or refuses a pending free use, or either side
    /// ends a subscription: `confirm`, `refuse`, `end`.
    pub async fn act_on_subscription(
        &self,
        subject: &Subject,
        id: &str,
        action: &str,
        opinion: Option<&str>,
    ) -> AppResult<SubscriptionView> {
        let action = SubscriptionAction::parse("action", action)?;
        let opinion = optional_text("opinion", opinion, 2000)?;
        if action == SubscriptionAction::Refuse && opinion.is_none() {
            return Err(ValidationError::new("opinion", "a refusal says why", "不予确认须说明理由").into());
        }
        let mut tx = self.store.write().await?;
        let subscription = tx.subscription(id).await?;
        let product = tx.product(&subscription.product_id).await?;
        let operator = Action::ManageProducts { operator_org_id: &product.operator_org_id };
        let customer = Action::SubscribeProducts { customer_org_id: &subscription.customer_org_id };
        let is_operator = gongshu_policy::decide(subject, operator).is_allowed();
        if !is_operator && !gongshu_policy::decide(subject, customer).is_allowed() {
            return match visible_orgs(subject) {
                // The bureau and auditors see it, but it is not theirs to change.
                None => Err(authorize(subject, operator).expect_err("refused above")),
                Some(_) => Err(AppError::NotFound { entity: "subscription", id: id.to_owned() }),
            };
        }
        // Confirming or refusing a free use is the operator's; either side ends.
        if action != SubscriptionAction::End {
            authorize(subject, operator)?;
        }
        let from = subscription.state;
        let to = from.apply(action)?;
        let next = Subscription { state: to, opinion: opinion.clone(), updated_at: self.clock.now(), ..subscription };
        let next = tx.update_subscription(&next).await?;
        let step = Step {
            entity_kind: "subscription",
            entity_id: &next.id,
            action: action.code(),
            from_state: Some(from.code()),
            to_state: Some(to.code()),
            opinion: opinion.as_deref(),
        };
        self.record(&mut tx, subject, step).await?;
        tx.commit().await?;
        let free = next.is_free(product.draft.use_category);
        Ok(SubscriptionView { subscription: next, product, free })
    }

    /// Subscriptions the subject is party to: its organizations' own, and
    /// those to its organizations' products; everything for the bureau
    /// and auditors.
    pub async fn subscriptions(&self, subject: &Subject) -> AppResult<Vec<SubscriptionView>> {
        let mut tx = self.store.read().await?;
        let orgs = visible_orgs(subject);
        let mut seen = Vec::new();
        let mut all =
            tx.subscriptions(&SubscriptionFilter { customer_org_ids: orgs.clone(), ..Default::default() }).await?;
        if let Some(orgs) = &orgs {
            for org in orgs {
                let filter = ProductFilter { operator_org_id: Some(org.clone()), ..Default::default() };
                for product in tx.products(&filter).await? {
                    let to_product = SubscriptionFilter { product_id: Some(product.id), ..Default::default() };
                    all.extend(tx.subscriptions(&to_product).await?);
                }
            }
        }
        let mut views = Vec::new();
        for subscription in all {
            if seen.contains(&subscription.id) {
                continue;
            }
            seen.push(subscription.id.clone());
            let product = tx.product(&subscription.product_id).await?;
            let free = subscription.is_free(product.draft.use_category);
            views.push(SubscriptionView { subscription, product, free });
        }
        views.sort_by_key(|v| std::cmp::Reverse(v.subscription.created_at));
        Ok(views)
    }
}
