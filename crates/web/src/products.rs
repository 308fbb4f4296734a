//! Operators' products and the yearly disclosure on the portal: the public
//! product and service lists (产品和服务能力清单) with the caps and prices in
//! force and in publicity (收费公示), each product's sheet and history, the
//! disclosure reports as print-ready pages with their JSON and CSV, who
//! must disclose and whether they have, and, in the console, a customer's
//! or operator's metered statements.

use axum::Form;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::Datelike;
use gongshu_app::{AppError, DisclosureView, PriceInput, ProductView};
use gongshu_domain::pricing::yuan;
use gongshu_domain::{PriceRecord, UseCategory};
use gongshu_policy::{Action, Subject};
use serde_json::{Value, json};

use crate::agreements::field;
use crate::pages::{Request, after_post, date, organization_names, respond};
use crate::requests::session_subject;
use crate::{Lang, Page, WebState};

/// A code list value for the reader: its Chinese label, or its code in words.
fn label(lang: Lang, code: &str, zh: &str) -> String {
    if lang == Lang::Zh { zh.to_owned() } else { code.replace('_', " ") }
}

fn price_json(lang: Lang, p: &PriceRecord) -> Value {
    json!({
        "tier": label(lang, p.tier.code(), p.tier.label_zh()),
        "amount": yuan(p.amount_fen),
        "unit": label(lang, p.unit.code(), p.unit.label_zh()),
        "effective_from": p.effective_from.to_string(),
        "announced_on": p.announced_on.to_string(),
        "trial_until": p.trial_until.map(|d| d.to_string()),
        "basis": p.basis,
    })
}

fn product_json(lang: Lang, view: &ProductView, orgs: &std::collections::HashMap<String, String>) -> Value {
    let p = &view.product;
    json!({
        "id": p.id,
        "code": p.code.as_ref().map(|c| c.as_str().to_owned()),
        "name": p.draft.name,
        "operator": orgs.get(&p.operator_org_id).cloned().unwrap_or_default(),
        "operator_id": p.operator_org_id,
        "implementing": orgs.get(&p.implementing_org_id).cloned().unwrap_or_default(),
        "form": label(lang, p.draft.form.code(), p.draft.form.label_zh()),
        "category": label(lang, p.draft.use_category.code(), p.draft.use_category.label_zh()),
        "free": p.draft.use_category.is_free(),
        "scenario": p.draft.scenario,
        "description": p.draft.spec.description,
        "listing": label(lang, p.listing.code(), p.listing.label_zh()),
        "registration": label(lang, p.registration.code(), p.registration.label_zh()),
        "publicity_end": p.publicity_end.map(|d| d.to_string()),
        "cap": view.cap_now.as_ref().map(|c| price_json(lang, c)),
        "price": view.price_now.as_ref().map(|c| price_json(lang, c)),
        "upcoming": view.upcoming.iter().map(|c| price_json(lang, c)).collect::<Vec<_>>(),
        "chargeable": view.charge_now.is_some(),
        "held_to_cap": match (&view.price_now, view.charge_now) {
            (Some(price), Some((_, fen))) if fen < price.amount_fen => Some(yuan(fen)),
            _ => None,
        },
    })
}

/// `/products`: every operator's product and service list, with prices.
pub(crate) async fn list(State(state): State<WebState>, request: Request) -> Page {
    let view = async {
        let orgs = organization_names(&state, request.lang).await?;
        let products = state.app.products(&Subject::Anonymous, request.param("operator")).await?;
        let mut operators: Vec<(&str, Vec<Value>)> = Vec::new();
        for view in &products {
            let item = product_json(request.lang, view, &orgs);
            let id = view.product.operator_org_id.as_str();
            match operators.iter_mut().find(|(operator, _)| *operator == id) {
                Some((_, items)) => items.push(item),
                None => operators.push((id, vec![item])),
            }
        }
        let operators: Vec<Value> = operators
            .into_iter()
            .map(|(id, items)| json!({ "name": orgs.get(id).cloned().unwrap_or_default(), "products": items }))
            .collect();
        Ok::<_, AppError>(json!({ "section": "products", "operators": operators }))
    }
    .await;
    respond(&state, &request, "products.html", view)
}

/// `/products/{id}`: a product's sheet, prices and history.
pub(crate) async fn detail(State(state): State<WebState>, request: Request, Path(id): Path<String>) -> Page {
    let view = product_view(&state, &request, &Subject::Anonymous, &id, vec![]).await;
    respond(&state, &request, "product.html", view)
}

/// The product page's view; for a signed-in subject also what it may do
/// (`may`) and the errors of a form that failed.
async fn product_view(
    state: &WebState,
    request: &Request,
    subject: &Subject,
    id: &str,
    errors: Vec<String>,
) -> Result<Value, AppError> {
    let orgs = organization_names(state, request.lang).await?;
    let view = state.app.product(subject, id).await?;
    let mut product = product_json(request.lang, &view, &orgs);
    let spec = &view.product.draft.spec;
    let mut resources = Vec::new();
    for (part, source) in spec.resources.iter().zip(&view.sources) {
        resources.push(json!({
            "id": part.resource_id,
            "name": source.name,
            "code": source.code,
            "published": source.published,
            "columns": part.columns.join("、"),
        }));
    }
    let history: Vec<Value> = state
        .app
        .product_history(subject, id)
        .await?
        .iter()
        .map(|h| {
            json!({
                "at": date(request.lang, h.at),
                "action": step_label(request.lang, &h.action),
                "to": h.to_state.as_deref().map(|to| state_label(request.lang, to)),
                "opinion": h.opinion,
            })
        })
        .collect();
    product["resources"] = json!(resources);
    product["input_fields"] = json!(spec.input_fields.join("、"));
    product["usage_conditions"] = json!(spec.usage_conditions);
    product["documentation"] = json!(spec.documentation);
    product["compliance"] = json!(spec.compliance);
    product["quality"] = json!(spec.quality);
    product["prices"] = json!(view.prices.iter().map(|p| price_json(request.lang, p)).collect::<Vec<_>>());
    product["history"] = json!(history);
    product["mode"] = json!(view.product.draft.form.mode().code());
    let mut page = json!({ "section": "products", "product": product, "base_url": request.base_url });
    if *subject != Subject::Anonymous {
        page["may"] = may(request.lang, subject, &view, state.app.today());
        page["errors"] = json!(errors);
    }
    Ok(page)
}

/// A product history step's action, in the reader's language.
fn step_label(lang: Lang, code: &str) -> String {
    use gongshu_domain::{ListingAction, RegistrationAction};
    let zh = match code {
        "submit" => Some("提交登记"),
        "set_cap" => Some("制定上限收费标准"),
        "set_price" => Some("公示收费标准"),
        other => RegistrationAction::parse("", other)
            .map(RegistrationAction::label_zh)
            .or_else(|_| ListingAction::parse("", other).map(ListingAction::label_zh))
            .ok(),
    };
    label(lang, code, zh.unwrap_or(code))
}

/// A product's registration or listing state, in the reader's language.
fn state_label(lang: Lang, code: &str) -> String {
    use gongshu_domain::{ListingState, RegistrationState};
    let zh = RegistrationState::parse("", code)
        .map(RegistrationState::label_zh)
        .or_else(|_| ListingState::parse("", code).map(ListingState::label_zh))
        .unwrap_or(code);
    label(lang, code, zh)
}

/// What `subject` may do on a product's page, by the policy and the states.
fn may(lang: Lang, subject: &Subject, view: &ProductView, today: chrono::NaiveDate) -> Value {
    use gongshu_domain::{ChargingUnit, ListingAction, ListingState, RegistrationAction as A, RegistrationState};
    let product = &view.product;
    let allowed = |action| gongshu_policy::decide(subject, action).is_allowed();
    let review: Vec<Value> = [A::Accept, A::RefuseAcceptance, A::Return, A::PassReview, A::Reject, A::AssignCode]
        .into_iter()
        .chain([A::DismissObjection, A::UpholdObjectionReturn, A::UpholdObjectionReject])
        .filter(|a| product.registration.apply(*a).is_ok())
        .map(|a| json!({ "code": a.code(), "label": label(lang, a.code(), a.label_zh()) }))
        .collect();
    let operator = allowed(Action::ManageProducts { operator_org_id: &product.operator_org_id });
    let intervene = allowed(Action::Intervene);
    let listing: Vec<Value> = [ListingAction::Suspend, ListingAction::Resume, ListingAction::Delist]
        .into_iter()
        .filter(|a| {
            product.listing.apply(*a).is_ok()
                || (*a == ListingAction::Suspend && intervene && product.listing.apply(ListingAction::Halt).is_ok())
        })
        .filter(|a| match (a, product.listing) {
            // The bureau's suspension only the bureau lifts.
            (ListingAction::Resume, ListingState::Halted) => intervene,
            (ListingAction::Resume, _) => operator,
            _ => operator || intervene,
        })
        .map(|a| json!({ "code": a.code(), "label": label(lang, a.code(), a.label_zh()) }))
        .collect();
    let units: Vec<Value> = ChargingUnit::ALL
        .iter()
        .filter(|u| u.fits(product.draft.form))
        .map(|u| json!({ "code": u.code(), "label": label(lang, u.code(), u.label_zh()) }))
        .collect();
    let categories: Vec<Value> = UseCategory::ALL
        .iter()
        .filter(|c| !product.draft.use_category.is_free() || c.is_free())
        .map(|c| json!({ "code": c.code(), "label": label(lang, c.code(), c.label_zh()) }))
        .collect();
    let charged = !product.draft.use_category.is_free() && product.is_public();
    let customer = match subject {
        Subject::User { memberships, .. } => memberships.iter().any(|m| {
            m.org_id != product.operator_org_id && allowed(Action::SubscribeProducts { customer_org_id: &m.org_id })
        }),
        Subject::Anonymous => false,
    };
    json!({
        "review": if allowed(Action::Review) { review } else { vec![] },
        "object": matches!(product.registration, RegistrationState::Publicity | RegistrationState::ObjectionReview)
            && product.publicity_end.is_none_or(|end| today <= end),
        "cap": charged && allowed(Action::SetPriceCap { implementing_org_id: &product.implementing_org_id }),
        "price": charged && operator,
        "listing": if product.registration == RegistrationState::Active { listing } else { vec![] },
        "subscribe": customer && product.deliverable(),
        "units": units,
        "categories": categories,
    })
}

/// `/console/products/{id}`: the product page with what the signed-in
/// user may do on it.
pub(crate) async fn console(State(state): State<WebState>, request: Request, Path(id): Path<String>) -> Response {
    let subject = session_subject(&state, &request.headers).await;
    if subject == Subject::Anonymous {
        return Redirect::to("/console/sign-in").into_response();
    }
    let view = product_view(&state, &request, &subject, &id, vec![]).await;
    respond(&state, &request, "product.html", view).into_response()
}

/// A form posted from the console's product page: a registration step,
/// an objection, a cap or price, a listing change or a subscription.
pub(crate) async fn act(
    State(state): State<WebState>,
    Path(id): Path<String>,
    request: Request,
    Form(fields): Form<Vec<(String, String)>>,
) -> Response {
    let subject = session_subject(&state, &request.headers).await;
    if subject == Subject::Anonymous {
        return Redirect::to("/console/sign-in").into_response();
    }
    let app = &state.app;
    let price = || PriceInput {
        unit: field(&fields, "unit"),
        amount: field(&fields, "amount"),
        effective_from: field(&fields, "effective_from"),
        trial_until: Some(field(&fields, "trial_until")),
        basis: field(&fields, "basis"),
    };
    let opinion = field(&fields, "opinion");
    let opinion = Some(opinion.as_str()).filter(|o| !o.trim().is_empty());
    let result = match field(&fields, "action").as_str() {
        "registration" => app.act_on_product(&subject, &id, &field(&fields, "step"), opinion).await.map(|_| ()),
        "object" => app.act_on_product(&subject, &id, "object", opinion).await.map(|_| ()),
        "cap" => app.set_price_cap(&subject, &id, price()).await.map(|_| ()),
        "price" => app.set_price(&subject, &id, price()).await.map(|_| ()),
        "listing" => {
            app.change_listing(&subject, &id, &field(&fields, "step"), &field(&fields, "reason")).await.map(|_| ())
        }
        "subscribe" => app
            .subscribe(&subject, &id, None, &field(&fields, "use_category"), &field(&fields, "purpose"))
            .await
            .map(|_| ()),
        other => Err(gongshu_domain::ValidationError::unknown_code(
            "action",
            other,
            &["registration", "object", "cap", "price", "listing", "subscribe"],
        )
        .into()),
    };
    let done = format!("/console/products/{id}");
    after_post(&state, &request, result, &done, "product.html", |errors| {
        product_view(&state, &request, &subject, &id, errors)
    })
    .await
}

fn report_json(lang: Lang, view: &DisclosureView) -> Value {
    let d = &view.disclosure;
    let c = &view.content;
    json!({
        "id": d.id,
        "year": d.year,
        "as_of": c.as_of.to_string(),
        "role": label(lang, c.role.code(), c.role.label_zh()),
        "discloser": c.discloser,
        "sha256": d.content_sha256,
        "published": date(lang, d.published_at),
        "superseded": d.superseded,
        "supersedes": d.supersedes,
        "interim": view.interim,
        "grants": c.grants,
        "products": c.products,
        "prices": c.prices.iter().map(|p| json!({
            "product_code": p.product_code,
            "product_name": p.product_name,
            "tier": p.tier,
            "unit": p.unit,
            "amount": yuan(p.amount_fen),
            "effective_from": p.effective_from.to_string(),
            "trial_until": p.trial_until.map(|d| d.to_string()),
        })).collect::<Vec<_>>(),
        "revenue": c.revenue.as_ref().map(|r| json!({
            "allowed": r.allowed_fen.map(yuan),
            "revenue": yuan(r.revenue_fen),
            "excess": yuan(r.excess_fen),
            "deliveries": r.deliveries,
            "free_deliveries": r.free_deliveries,
        })),
    })
}

/// `/disclosures`: who must disclose for a year, whether they have, and
/// every published report.
pub(crate) async fn disclosures(State(state): State<WebState>, request: Request) -> Page {
    let view = async {
        let this_year = state.app.today().year();
        let year = request.param("year").and_then(|y| y.trim().parse::<i32>().ok()).unwrap_or(this_year - 1);
        // Years outside those the platform can have records for show the last one.
        let year = if (2000..=this_year).contains(&year) { year } else { this_year - 1 };
        let status: Vec<Value> = state
            .app
            .disclosure_status(year)
            .await?
            .iter()
            .map(|d| {
                json!({
                    "org": d.org.name_zh,
                    "role": label(request.lang, d.role.code(), d.role.label_zh()),
                    "due": d.due.to_string(),
                    "status": d.status.code(),
                    "status_label": label(request.lang, d.status.code(), d.status.label_zh()),
                    "report": d.published_id,
                })
            })
            .collect();
        let reports: Vec<Value> =
            state.app.disclosures(None).await?.iter().map(|view| report_json(request.lang, view)).collect();
        let years: Vec<i32> = (2024..=this_year).rev().collect();
        Ok::<_, AppError>(json!({
            "section": "disclosures",
            "year": year,
            "years": years,
            "status": status,
            "reports": reports,
        }))
    }
    .await;
    respond(&state, &request, "disclosures.html", view)
}

/// `/disclosures/{id}`: a report, print-ready, with its hash and ledger entry.
pub(crate) async fn disclosure(State(state): State<WebState>, request: Request, Path(id): Path<String>) -> Page {
    let view = async {
        let report = state.app.disclosure(&id).await?;
        let entry = state.app.disclosure_ledger_entry(&id).await?.map(|record| record.index);
        let mut json = report_json(request.lang, &report);
        json["ledger_entry"] = json!(entry);
        Ok::<_, AppError>(json!({ "section": "disclosures", "report": json }))
    }
    .await;
    respond(&state, &request, "disclosure.html", view)
}

/// `/console/statements`: the signed-in organization's subscriptions and
/// its statement for a month, as customer and as operator.
pub(crate) async fn statements(State(state): State<WebState>, request: Request) -> Response {
    let subject = session_subject(&state, &request.headers).await;
    if subject == Subject::Anonymous {
        return Redirect::to("/console/sign-in").into_response();
    }
    let view = async {
        let orgs = organization_names(&state, request.lang).await?;
        let period = request.param("period").map(str::to_owned).unwrap_or_else(|| state.app.today().format("%Y-%m").to_string());
        let subscriptions = state.app.subscriptions(&subject).await?;
        let own: Vec<String> = match &subject {
            Subject::User { memberships, .. } => memberships.iter().map(|m| m.org_id.clone()).collect(),
            Subject::Anonymous => vec![],
        };
        let mut statements = Vec::new();
        let mut customers: Vec<(String, Option<String>)> = Vec::new();
        for s in &subscriptions {
            let key = if own.contains(&s.subscription.customer_org_id) {
                (s.subscription.customer_org_id.clone(), None)
            } else {
                (s.subscription.customer_org_id.clone(), Some(s.product.operator_org_id.clone()))
            };
            if !customers.contains(&key) {
                customers.push(key);
            }
        }
        for (customer, operator) in customers {
            let statement = state.app.statement(&subject, &customer, operator.as_deref(), &period).await?;
            let lines: Vec<Value> = statement
                .lines
                .iter()
                .map(|(line, product)| {
                    json!({
                        "product": product.draft.name,
                        "product_id": product.id,
                        "operator": orgs.get(&product.operator_org_id).cloned().unwrap_or_default(),
                        "unit": line.unit.map(|u| label(request.lang, u.code(), u.label_zh())),
                        "unit_price": yuan(line.unit_price_fen),
                        "deliveries": line.deliveries,
                        "units": line.units,
                        "rows": line.rows,
                        "fee": yuan(line.fee_fen),
                    })
                })
                .collect();
            statements.push(json!({
                "customer": orgs.get(&customer).cloned().unwrap_or_default(),
                "since": statement.since.to_string(),
                "until": statement.until.to_string(),
                "lines": lines,
                "total": yuan(statement.total_fen),
            }));
        }
        let subscriptions: Vec<Value> = subscriptions
            .iter()
            .map(|s| {
                json!({
                    "id": s.subscription.id,
                    "product": s.product.draft.name,
                    "product_id": s.product.id,
                    "customer": orgs.get(&s.subscription.customer_org_id).cloned().unwrap_or_default(),
                    "category": label(request.lang, s.subscription.use_category.code(), s.subscription.use_category.label_zh()),
                    "purpose": s.subscription.purpose,
                    "state": label(request.lang, s.subscription.state.code(), s.subscription.state.label_zh()),
                    "free": s.free,
                })
            })
            .collect();
        Ok::<_, AppError>(json!({
            "section": "console",
            "period": period,
            "subscriptions": subscriptions,
            "statements": statements,
        }))
    }
    .await;
    respond(&state, &request, "statements.html", view).into_response()
}
