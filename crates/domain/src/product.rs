//! Operators' products and services (产品和服务) made under an
//! authorized-operation grant, and the customers' subscriptions to them.
//!
//! A product is registered through the same workflow as a catalog entry
//! (申请 → 受理 → 形式审核 → 公示 → 赋码, [`RegistrationState`]), with
//! registration kind 2 in its code; once coded it is listed, and the
//! operator or the bureau may suspend or delist it. What it may touch is
//! bounded by its grant: [`ProductDraft::check_within`] refuses a product
//! that names a resource, column, access mode or scenario the grant does
//! not give, and every delivery goes through the access gateway under that
//! grant, so a product can never leak more than the grant allows.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::codes::{RegistrationCode, code_enum};
use crate::error::{InvalidTransition, ValidationError, Validations};
use crate::grant::{AccessMode, Grant};
use crate::registration::RegistrationState;

code_enum! {
    /// What kind of product or service it is (产品形态).
    pub enum ProductForm {
        /// 数据集: rows of a shaped view, page by page.
        Dataset = ("dataset", "数据集"),
        /// 数据接口 (API): rows answering the customer's filters.
        Api = ("api", "数据接口"),
        /// 模型: model outputs computed from aggregates.
        Model = ("model", "模型"),
        /// 核验服务: yes or no to "does this record match?".
        Verification = ("verification", "核验服务"),
        /// 分析报告: aggregate statistics.
        Report = ("report", "分析报告"),
        /// 指数: an index computed from aggregates.
        Index = ("index", "指数"),
        /// 隐私计算服务: aggregate-only computation, small groups suppressed.
        PrivacyComputing = ("privacy_computing", "隐私计算服务"),
    }
}

impl ProductForm {
    /// The access mode a delivery of this form uses: rows for datasets and
    /// APIs, yes or no for verification, aggregates for everything else
    /// (可用不可见).
    pub fn mode(self) -> AccessMode {
        match self {
            ProductForm::Dataset | ProductForm::Api => AccessMode::Query,
            ProductForm::Verification => AccessMode::Verify,
            ProductForm::Model | ProductForm::Report | ProductForm::Index | ProductForm::PrivacyComputing => {
                AccessMode::Aggregate
            }
        }
    }
}

code_enum! {
    /// What a product or a customer's use of it serves (使用类别). The
    /// pricing notice makes public governance and public welfare free and
    /// lets industry and sector development be charged under the cap.
    pub enum UseCategory {
        /// 公共治理: free.
        PublicGovernance = ("public_governance", "公共治理"),
        /// 公益事业: free.
        PublicWelfare = ("public_welfare", "公益事业"),
        /// 产业发展: charged, at most the cap.
        Industry = ("industry", "产业发展"),
        /// 行业发展: charged, at most the cap.
        Sector = ("sector", "行业发展"),
    }
}

impl UseCategory {
    /// Whether a use of this category is free of charge (免费提供).
    pub fn is_free(self) -> bool {
        matches!(self, UseCategory::PublicGovernance | UseCategory::PublicWelfare)
    }
}

code_enum! {
    /// Whether a registered product is offered.
    pub enum ListingState {
        /// Not yet coded: no deliveries.
        Unlisted = ("unlisted", "未上架"),
        /// 已上架: deliveries go on.
        Listed = ("listed", "已上架"),
        /// 已暂停: the operator stopped deliveries until it resumes them.
        Suspended = ("suspended", "已暂停"),
        /// 监管暂停: the bureau stopped deliveries; only the bureau resumes them.
        Halted = ("halted", "监管暂停"),
        /// 已下架: for good.
        Delisted = ("delisted", "已下架"),
    }
}

code_enum! {
    /// What may be done to a product's listing.
    pub enum ListingAction {
        /// Stop deliveries for now (the operator).
        Suspend = ("suspend", "暂停"),
        /// Stop deliveries as an intervention (the bureau).
        Halt = ("halt", "监管暂停"),
        /// Let deliveries go on.
        Resume = ("resume", "恢复"),
        /// Withdraw it for good.
        Delist = ("delist", "下架"),
    }
}

impl ListingState {
    /// The state after `action`, or why it is not possible now.
    pub fn apply(self, action: ListingAction) -> Result<ListingState, InvalidTransition> {
        use ListingAction as A;
        use ListingState as S;
        match (self, action) {
            (S::Listed, A::Suspend) => Ok(S::Suspended),
            (S::Listed | S::Suspended, A::Halt) => Ok(S::Halted),
            (S::Suspended | S::Halted, A::Resume) => Ok(S::Listed),
            (S::Listed | S::Suspended | S::Halted, A::Delist) => Ok(S::Delisted),
            _ => Err(InvalidTransition { entity: "product", action: action.code(), current: self.code() }),
        }
    }
}

/// One source resource of a product and the columns it delivers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProductResource {
    /// The catalog entry.
    pub resource_id: String,
    /// Output fields (输出字段): a subset of what the grant exposes.
    pub columns: Vec<String>,
}

/// What an operator describes when it registers a product: the exchange
/// product sheet's sections (基本信息, 内容说明, 使用条件, 使用说明, 资质).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProductSpec {
    /// 产品简介.
    pub description: String,
    /// Source resources and their output fields.
    pub resources: Vec<ProductResource>,
    /// Input fields (输入字段): what a verification compares, or the
    /// parameters an API takes.
    pub input_fields: Vec<String>,
    /// 使用条件: who may use it and how.
    pub usage_conditions: String,
    /// 技术文档 or how to call it.
    pub documentation: String,
    /// 合规评估: the compliance assessment it passed.
    pub compliance: String,
    /// 质量评估: how its quality was assessed.
    pub quality: String,
}

/// What an operator submits (or resubmits after a return).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProductDraft {
    /// 产品名称.
    pub name: String,
    /// 产品形态.
    pub form: ProductForm,
    /// 使用类别: free for public governance and welfare.
    pub use_category: UseCategory,
    /// 应用场景: one of the agreement's scenarios.
    pub scenario: String,
    /// The rest of the sheet.
    pub spec: ProductSpec,
}

impl ProductDraft {
    /// Refuses a product that reaches beyond its grant (超范围): a resource,
    /// column or mode the grant does not give, a masked column compared by
    /// a verification, or a scenario outside the agreement's.
    pub fn check_within(&self, grant: &Grant, scenarios: &[String]) -> Result<(), Validations> {
        let mut problems = Validations::default();
        let mode = self.form.mode();
        if !grant.modes.contains(&mode) {
            problems.push(ValidationError::new(
                "form",
                format!("a product of form `{}` is delivered as `{mode}`, which the grant does not allow", self.form),
                format!("“{}”以“{}”方式交付，该授权未允许此方式", self.form.label_zh(), mode.label_zh()),
            ));
        }
        if !scenarios.contains(&self.scenario) {
            problems.push(ValidationError::new(
                "scenario",
                format!(
                    "`{}` is not a scenario of the agreement (its scenarios: {})",
                    self.scenario,
                    scenarios.join(", ")
                ),
                format!("“{}”不是授权运营协议约定的应用场景（约定场景：{}）", self.scenario, scenarios.join("、")),
            ));
        }
        if self.spec.resources.is_empty() {
            problems.push(ValidationError::required("resources"));
        }
        for (i, part) in self.spec.resources.iter().enumerate() {
            let field = format!("resources[{i}]");
            if self.spec.resources[..i].iter().any(|earlier| earlier.resource_id == part.resource_id) {
                problems.push(ValidationError::new(
                    &field,
                    format!("resource `{}` is named twice", part.resource_id),
                    format!("数据资源 `{}` 重复", part.resource_id),
                ));
                continue;
            }
            let Some(granted) = grant.resources.iter().find(|g| g.resource_id == part.resource_id) else {
                problems.push(ValidationError::new(
                    format!("{field}.resource_id"),
                    format!("resource `{}` is not covered by the grant", part.resource_id),
                    format!("数据资源 `{}` 不在授权范围内", part.resource_id),
                ));
                continue;
            };
            if part.columns.is_empty() {
                problems.push(ValidationError::required(format!("{field}.columns")));
            }
            for column in &part.columns {
                if !granted.columns.contains(column) {
                    problems.push(ValidationError::new(
                        format!("{field}.columns"),
                        format!("`{column}` is not a column the grant exposes"),
                        format!("数据项 `{column}` 不在授权开放的数据项内"),
                    ));
                }
            }
            if mode == AccessMode::Verify {
                for input in &self.spec.input_fields {
                    if part.columns.contains(input) && granted.masks.contains_key(input) {
                        problems.push(ValidationError::new(
                            "input_fields",
                            format!("`{input}` is masked by the grant, so it cannot be verified"),
                            format!("数据项 `{input}` 在授权中已脱敏，不能用于核验"),
                        ));
                    }
                }
            }
        }
        if mode == AccessMode::Verify {
            if self.spec.input_fields.is_empty() {
                problems.push(ValidationError::new(
                    "input_fields",
                    "a verification service names the fields it compares",
                    "核验服务须列明用于比对的输入字段",
                ));
            }
            for input in &self.spec.input_fields {
                if !self.spec.resources.iter().any(|part| part.columns.contains(input)) {
                    problems.push(ValidationError::new(
                        "input_fields",
                        format!("input field `{input}` is not among the product's output fields"),
                        format!("输入字段 `{input}` 不在产品的数据项中"),
                    ));
                }
            }
        }
        problems.finish(|| ())
    }
}

/// A product or service as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct Product {
    /// Stable id.
    pub id: String,
    /// 产品登记编码, once coded.
    pub code: Option<RegistrationCode>,
    /// The operator that offers it.
    pub operator_org_id: String,
    /// The authorized-operation agreement it is made under.
    pub agreement_id: String,
    /// That agreement's grant: every delivery reads under it.
    pub grant_id: String,
    /// The implementing body that granted it, which sets the cap.
    pub implementing_org_id: String,
    /// The content.
    pub draft: ProductDraft,
    /// Where its registration is.
    pub registration: RegistrationState,
    /// Whether it is offered.
    pub listing: ListingState,
    /// The day by which the bureau has to act.
    pub due_date: Option<NaiveDate>,
    /// Publicity (公示) window, once the review passed.
    pub publicity_start: Option<NaiveDate>,
    /// Last day of publicity.
    pub publicity_end: Option<NaiveDate>,
    /// Who submitted it.
    pub submitted_by: String,
    /// Filed.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
    /// Optimistic-concurrency counter.
    pub row_version: i64,
}

impl Product {
    /// Whether it may be delivered now: coded and listed.
    pub fn deliverable(&self) -> bool {
        self.registration == RegistrationState::Active && self.listing == ListingState::Listed
    }

    /// Whether anyone may read it: in publicity or after.
    pub fn is_public(&self) -> bool {
        matches!(
            self.registration,
            RegistrationState::Publicity | RegistrationState::ObjectionReview | RegistrationState::Active
        )
    }
}

code_enum! {
    /// Where a customer's subscription is.
    pub enum SubscriptionState {
        /// 待确认: a free use of a charged product waits for the operator.
        Pending = ("pending", "待运营机构确认"),
        /// 有效: deliveries go on.
        Active = ("active", "有效"),
        /// 未确认: the operator did not accept the free use.
        Refused = ("refused", "未予确认"),
        /// 已终止.
        Ended = ("ended", "已终止"),
    }
}

code_enum! {
    /// What may be done to a subscription.
    pub enum SubscriptionAction {
        /// The operator confirms a pending free use.
        Confirm = ("confirm", "确认"),
        /// The operator refuses a pending free use, saying why.
        Refuse = ("refuse", "不予确认"),
        /// Either side ends it.
        End = ("end", "终止"),
    }
}

impl SubscriptionState {
    /// The state after `action`, or why it is not possible now.
    pub fn apply(self, action: SubscriptionAction) -> Result<SubscriptionState, InvalidTransition> {
        use SubscriptionAction as A;
        use SubscriptionState as S;
        match (self, action) {
            (S::Pending, A::Confirm) => Ok(S::Active),
            (S::Pending, A::Refuse) => Ok(S::Refused),
            (S::Pending | S::Active, A::End) => Ok(S::Ended),
            _ => Err(InvalidTransition { entity: "subscription", action: action.code(), current: self.code() }),
        }
    }
}

/// A customer's subscription (订购) to a product: who uses it, for what,
/// and so whether its deliveries are charged.
#[derive(Debug, Clone, PartialEq)]
pub struct Subscription {
    /// Stable id.
    pub id: String,
    /// The product.
    pub product_id: String,
    /// The customer.
    pub customer_org_id: String,
    /// What the customer's use serves: a public-welfare use is free even
    /// of a charged product, once the operator confirms it.
    pub use_category: UseCategory,
    /// The customer's stated purpose.
    pub purpose: String,
    /// Where it is.
    pub state: SubscriptionState,
    /// The operator's reason for refusing or ending it.
    pub opinion: Option<String>,
    /// Who subscribed.
    pub created_by: String,
    /// When.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
    /// Optimistic-concurrency counter.
    pub row_version: i64,
}

impl Subscription {
    /// The state a new subscription starts in: a free use of a charged
    /// product needs the operator's confirmation, since it costs the
    /// operator its fee; everything else starts at once.
    pub fn initial_state(product: UseCategory, use_category: UseCategory) -> SubscriptionState {
        if use_category.is_free() && !product.is_free() {
            SubscriptionState::Pending
        } else {
            SubscriptionState::Active
        }
    }

    /// Whether its deliveries are free: the product serves public
    /// governance or welfare, or this use does.
    pub fn is_free(&self, product: UseCategory) -> bool {
        product.is_free() || self.use_category.is_free()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use chrono::Duration;

    use super::*;
    use crate::grant::{GrantBasis, GrantState, GrantedResource, Mask};

    fn grant() -> Grant {
        let now = Utc::now();
        Grant {
            id: "g".into(),
            basis: GrantBasis::Operation,
            source_id: "a".into(),
            grantee_org_id: "op".into(),
            grantor_org_id: "ib".into(),
            resources: vec![GrantedResource {
                resource_id: "airports".into(),
                columns: vec!["code".into(), "name".into(), "city".into()],
                masks: BTreeMap::from([("city".to_owned(), Mask::KeepFirst { n: 1 })]),
                row_filter: vec![],
            }],
            modes: vec![AccessMode::Query, AccessMode::Verify],
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
            hash_key: String::new(),
            created_at: now,
            updated_at: now,
            row_version: 1,
        }
    }

    fn draft(form: ProductForm, columns: &[&str], inputs: &[&str]) -> ProductDraft {
        ProductDraft {
            name: "n".into(),
            form,
            use_category: UseCategory::Industry,
            scenario: "出行规划".into(),
            spec: ProductSpec {
                description: "d".into(),
                resources: vec![ProductResource {
                    resource_id: "airports".into(),
                    columns: columns.iter().map(|c| (*c).to_owned()).collect(),
                }],
                input_fields: inputs.iter().map(|c| (*c).to_owned()).collect(),
                usage_conditions: String::new(),
                documentation: String::new(),
                compliance: String::new(),
                quality: String::new(),
            },
        }
    }

    fn fields(result: Result<(), Validations>) -> Vec<String> {
        result.err().map(|v| v.0.into_iter().map(|e| e.field).collect()).unwrap_or_default()
    }

    #[test]
    fn a_product_stays_within_its_grant() {
        let scenarios = ["出行规划".to_owned()];
        let g = grant();
        assert!(draft(ProductForm::Api, &["code", "name"], &[]).check_within(&g, &scenarios).is_ok());
        assert_eq!(
            fields(draft(ProductForm::Api, &["code", "lat"], &[]).check_within(&g, &scenarios)),
            ["resources[0].columns"]
        );
        assert_eq!(fields(draft(ProductForm::Report, &["code"], &[]).check_within(&g, &scenarios)), ["form"]);
        assert_eq!(
            fields(draft(ProductForm::Api, &["code"], &[]).check_within(&g, &["其他".to_owned()])),
            ["scenario"]
        );
        let mut other = draft(ProductForm::Api, &["code"], &[]);
        other.spec.resources[0].resource_id = "smoking".into();
        assert_eq!(fields(other.check_within(&g, &scenarios)), ["resources[0].resource_id"]);
    }

    #[test]
    fn a_verification_compares_only_unmasked_fields_it_delivers() {
        let scenarios = ["出行规划".to_owned()];
        let g = grant();
        assert!(draft(ProductForm::Verification, &["code", "name"], &["code"]).check_within(&g, &scenarios).is_ok());
        assert_eq!(
            fields(draft(ProductForm::Verification, &["code", "city"], &["city"]).check_within(&g, &scenarios)),
            ["input_fields"]
        );
        assert_eq!(
            fields(draft(ProductForm::Verification, &["code"], &[]).check_within(&g, &scenarios)),
            ["input_fields"]
        );
        assert_eq!(
            fields(draft(ProductForm::Verification, &["code"], &["name"]).check_within(&g, &scenarios)),
            ["input_fields"]
        );
    }

    #[test]
    fn listing_moves_only_from_where_it_can() {
        assert_eq!(ListingState::Listed.apply(ListingAction::Suspend), Ok(ListingState::Suspended));
        assert_eq!(ListingState::Suspended.apply(ListingAction::Resume), Ok(ListingState::Listed));
        assert!(ListingState::Unlisted.apply(ListingAction::Delist).is_err());
        assert!(ListingState::Delisted.apply(ListingAction::Resume).is_err());
        assert_eq!(ListingState::Suspended.apply(ListingAction::Halt), Ok(ListingState::Halted));
    }

    #[test]
    fn a_free_use_of_a_charged_product_waits_for_the_operator() {
        use UseCategory as U;
        assert_eq!(Subscription::initial_state(U::Industry, U::PublicWelfare), SubscriptionState::Pending);
        assert_eq!(Subscription::initial_state(U::Industry, U::Sector), SubscriptionState::Active);
        assert_eq!(Subscription::initial_state(U::PublicGovernance, U::PublicGovernance), SubscriptionState::Active);
        assert_eq!(SubscriptionState::Pending.apply(SubscriptionAction::Confirm), Ok(SubscriptionState::Active));
        assert!(SubscriptionState::Active.apply(SubscriptionAction::Refuse).is_err());
        assert!(SubscriptionState::Ended.apply(SubscriptionAction::End).is_err());
    }
}
