//! Agreements in the console: an enterprise applies for conditionally open
//! data and its provider approves with the terms it grants; an
//! implementing body drafts an authorized-operation plan, the bureau
//! approves it with its reviews, the implementing body selects the
//! operator. The holder reads the agreement's full text with its SHA-256
//! and signs it, which makes the grant; it then reports its use, and after
//! the end attests the destruction. The grantor or the bureau suspends,
//! resumes or terminates.
//!
//! Every page calls the same use cases as the API, as the signed-in user.

use std::collections::HashMap;

use axum::Form;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use gongshu_app::{
    AgreementDetail, AgreementQuery, AgreementStep, AgreementView, AppError, GrantTerms, NewUsageReport,
    OpenApplication, OpenTerms, OperationPlan, PlannedResource, ResourceQuery,
};
use gongshu_domain::{AccessMode, AgreementAction, OperationMode, OrgKind, PlanApproval, ValidationError};
use gongshu_policy::Subject;
use serde_json::{Value, json};

use crate::pages::{Request, after_post, date, error_page, organization_names, render, respond};
use crate::requests::session_subject;
use crate::sharing::{MASK_CHOICES, form_masks, history, lines};
use crate::{Lang, WebState};

type Fields = [(String, String)];

/// The first value a form posted under `name` (empty when none).
pub(crate) fn field(fields: &Fields, name: &str) -> String {
    fields.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()).unwrap_or_default()
}

/// Every value a form posted under `name`, in order.
pub(crate) fn all(fields: &Fields, name: &str) -> Vec<String> {
    fields.iter().filter(|(k, _)| k == name).map(|(_, v)| v.clone()).collect()
}

/// Non-empty lines of a textarea.
fn lines_of(text: &str) -> Vec<String> {
    text.lines().map(str::trim).filter(|line| !line.is_empty()).map(str::to_owned).collect()
}

fn number<T: std::str::FromStr>(fields: &Fields, name: &str) -> Result<Option<T>, ValidationError> {
    let text = field(fields, name);
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    text.parse::<T>()
        .map(Some)
        .map_err(|_| ValidationError::new(name, format!("`{text}` is not a number"), format!("`{text}` 不是有效数字")))
}

pub(crate) fn agreement_card(lang: Lang, view: &AgreementView, orgs: &HashMap<String, String>) -> Value {
    let a = &view.agreement;
    let t = &a.terms;
    let r = &a.record;
    json!({
        "id": a.id,
        "kind": a.kind.code(),
        "kind_label": lang.text(&format!("basis_{}", a.kind.code())),
        "title": t.title,
        "grantor": orgs.get(&a.grantor_org_id).cloned().unwrap_or_default(),
        "holder": a.holder_org_id.as_ref().and_then(|id| orgs.get(id)).cloned(),
        "mode": t.operation_mode.map(|m| lang.text(&format!("operation_mode_{}", m.code()))),
        "domain": t.domain,
        "resources": t.resources.iter().map(|g| json!({
            "resource_id": g.resource_id,
            "columns": g.columns.iter().map(|c| json!({"name": c, "mask": g.masks.get(c).map(|m| m.describe())})).collect::<Vec<_>>(),
            "row_filter": g.row_filter.iter().map(|c| format!("{} {} {}", c.column, c.op.label_zh(), c.values.join("、"))).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
        "modes": t.modes.iter().map(|m| lang.text(&format!("mode_{}", m.code()))).collect::<Vec<_>>(),
        "mode_codes": t.modes.iter().map(|m| m.code()).collect::<Vec<_>>(),
        "purpose": t.purpose,
        "application": t.application,
        "scenarios": t.scenarios,
        "permitted_uses": t.permitted_uses,
        "prohibited_uses": t.prohibited_uses,
        "security_duties": t.security_duties,
        "exit_terms": t.exit_terms,
        "attribution": t.attribution,
        "valid_from": t.valid_from.to_string(),
        "valid_until": t.valid_until.to_string(),
        "destruction_days": t.destruction_days,
        "min_group_size": t.min_group_size,
        "epsilon_budget": t.epsilon_budget_micros.map(|m| m as f64 / 1e6),
        "status": view.status.code(),
        "status_label": lang.text(&format!("agreement_{}", view.status.code())),
        "due": a.due_date.map(|d| d.to_string()),
        "overdue": view.overdue,
        "opinion": a.opinion,
        "grant_id": a.grant_id,
        "content_sha256": view.content_sha256,
        "plan_approval": r.plan_approval.as_ref().map(|p| json!({
            "risk": p.risk_assessment, "compliance": p.compliance_review,
            "fair_competition": p.fair_competition_review, "approval_ref": p.approval_ref,
        })),
        "selection_method": r.selection_method,
        "signed": r.signature.as_ref().map(|s| json!({"sha256": s.content_sha256, "at": date(lang, s.signed_at)})),
        "termination": r.termination.as_ref().map(|t| json!({"reason": t.reason, "at": date(lang, t.at)})),
        "destruction": r.destruction.as_ref().map(|d| json!({"statement": d.statement, "at": date(lang, d.attested_at)})),
        "report_due": view.report_due.map(|d| d.to_string()),
        "destruction_due": view.destruction_due.map(|d| d.to_string()),
        "holder_late": view.holder_late,
        "submitted": date(lang, a.created_at),
        "may": view.may.iter().map(|a| a.code()).collect::<Vec<_>>(),
    })
}

/// The console's list of agreements.
pub(crate) async fn console_section(state: &WebState, subject: &Subject, lang: Lang) -> Result<Value, AppError> {
    let orgs = organization_names(state, lang).await?;
    let list = state.app.agreements(subject, AgreementQuery { limit: Some(100), ..AgreementQuery::default() }).await?;
    Ok(json!(list.items.iter().map(|v| agreement_card(lang, v, &orgs)).collect::<Vec<_>>()))
}

fn modes_view(request: &Request) -> Vec<Value> {
    AccessMode::ALL
        .iter()
        .map(|m| json!({"code": m.code(), "label": request.t(&format!("mode_{}", m.code()))}))
        .collect()
}

async fn open_form_view(
    state: &WebState,
    subject: &Subject,
    request: &Request,
    fields: &Fields,
    errors: Vec<String>,
) -> Result<Value, AppError> {
    let resource_id = Some(field(fields, "resource_id"))
        .filter(|id| !id.is_empty())
        .or_else(|| request.param("resource").map(str::to_owned))
        .unwrap_or_default();
    let resource = if resource_id.is_empty() {
        Value::Null
    } else {
        match state.app.resource(subject, &resource_id).await {
            Ok(view) => json!({
                "id": view.resource.id,
                "title": view.resource.draft.name_zh,
                "conditions": view.resource.draft.open.parts().1,
                "items": view.resource.draft.items.iter().map(|i| json!({"name": i.name, "title": i.title})).collect::<Vec<_>>(),
            }),
            Err(AppError::NotFound { .. }) => Value::Null,
            Err(other) => return Err(other),
        }
    };
    Ok(json!({
        "resource_id": resource_id,
        "resource": resource,
        "columns": all(fields, "columns"),
        "modes": if fields.is_empty() { vec!["query".to_owned()] } else { all(fields, "modes") },
        "all_modes": modes_view(request),
        "purpose": field(fields, "purpose"),
        "application": field(fields, "application"),
        "scenario": field(fields, "scenario"),
        "needed_until": field(fields, "needed_until"),
        "errors": errors,
    }))
}

/// `/console/open-applications/new?resource=<id>`: the application form.
pub(crate) async fn open_form(State(state): State<WebState>, request: Request) -> Response {
    let subject = session_subject(&state, &request.headers).await;
    if subject == Subject::Anonymous {
        return Redirect::to("/console/sign-in").into_response();
    }
    let view = open_form_view(&state, &subject, &request, &[], vec![]).await;
    respond(&state, &request, "open_form.html", view).into_response()
}

/// `POST /console/open-applications`: files the application, then shows it.
pub(crate) async fn open_submit(
    State(state): State<WebState>,
    request: Request,
    Form(fields): Form<Vec<(String, String)>>,
) -> Response {
    let subject = session_subject(&state, &request.headers).await;
    if subject == Subject::Anonymous {
        return Redirect::to("/console/sign-in").into_response();
    }
    let new = OpenApplication {
        resource_id: field(&fields, "resource_id"),
        applicant_org_id: None,
        columns: all(&fields, "columns"),
        modes: all(&fields, "modes"),
        purpose: field(&fields, "purpose"),
        application: field(&fields, "application"),
        scenario: field(&fields, "scenario"),
        needed_until: field(&fields, "needed_until"),
    };
    match state.app.apply_for_open_data(&subject, new).await {
        Ok(view) => Redirect::to(&format!("/console/agreements/{}", view.agreement.id)).into_response(),
        Err(error @ (AppError::Validation(_) | AppError::Forbidden { .. })) => {
            let errors = lines(request.lang, &error);
            match open_form_view(&state, &subject, &request, &fields, errors).await {
                Ok(view) => {
                    render(&state, &request, StatusCode::UNPROCESSABLE_ENTITY, "open_form.html", view).into_response()
                }
                Err(error) => error_page(&state, &request, &error).into_response(),
            }
        }
        Err(error) => error_page(&state, &request, &error).into_response(),
    }
}

/// The plan a form describes: `resources` checked, `include.<resource>`
/// columns and `mask.<resource>.<column>` masks when the form showed them.
fn form_plan(fields: &Fields) -> Result<OperationPlan, AppError> {
    let mut problems = gongshu_domain::Validations::default();
    let mut resources = Vec::new();
    for resource_id in all(fields, "resources") {
        let shown = fields.iter().any(|(k, _)| k == &format!("shown.{resource_id}"));
        let columns = shown.then(|| all(fields, &format!("include.{resource_id}")));
        let masks = form_masks(fields, &format!("mask.{resource_id}."), &mut problems);
        resources.push(PlannedResource { resource_id, terms: GrantTerms { columns, masks, ..GrantTerms::default() } });
    }
    let destruction_days = problems.check(number::<u32>(fields, "destruction_days")).flatten();
    let min_group_size = problems.check(number::<u32>(fields, "min_group_size")).flatten();
    let epsilon_budget = problems.check(number::<f64>(fields, "epsilon_budget")).flatten();
    let plan = OperationPlan {
        implementing_org_id: None,
        title: field(fields, "title"),
        mode: field(fields, "mode"),
        domain: Some(field(fields, "domain")),
        resources,
        modes: all(fields, "modes"),
        purpose: field(fields, "purpose"),
        application: field(fields, "application"),
        scenarios: lines_of(&field(fields, "scenarios")),
        permitted_uses: lines_of(&field(fields, "permitted_uses")),
        prohibited_uses: lines_of(&field(fields, "prohibited_uses")),
        security_duties: field(fields, "security_duties"),
        exit_terms: field(fields, "exit_terms"),
        attribution: field(fields, "attribution"),
        valid_from: field(fields, "valid_from"),
        valid_until: field(fields, "valid_until"),
        destruction_days,
        min_group_size,
        epsilon_budget,
        allow_joins: field(fields, "allow_joins") == "on",
    };
    Ok(problems.finish(|| plan)?)
}

/// The plan form's view: the catalog to choose from, and the plan so far
/// (from the form just posted, or the stored draft).
async fn plan_form_view(
    state: &WebState,
    subject: &Subject,
    request: &Request,
    fields: &Fields,
    draft: Option<&AgreementView>,
) -> Result<Value, AppError> {
    let catalog = state
        .app
        .resources(
            subject,
            ResourceQuery {
                states: vec!["registered".into(), "published".into()],
                limit: Some(100),
                ..ResourceQuery::default()
            },
        )
        .await?;
    let chosen: Vec<String> = match draft {
        Some(view) if fields.is_empty() => {
            view.agreement.terms.resources.iter().map(|r| r.resource_id.clone()).collect()
        }
        _ => all(fields, "resources"),
    };
    let resources: Vec<Value> = catalog
        .items
        .iter()
        .map(|resource| {
            let granted =
                draft.and_then(|view| view.agreement.terms.resources.iter().find(|r| r.resource_id == resource.id));
            json!({
                "id": resource.id,
                "title": resource.draft.name_zh,
                "chosen": chosen.contains(&resource.id),
                // Columns and masks are set once the resource is in the draft.
                "items": granted.map(|g| resource.draft.items.iter().map(|item| json!({
                    "name": item.name,
                    "title": item.title,
                    "included": g.columns.contains(&item.name),
                    "mask": g.masks.get(&item.name).map(|m| m.describe()),
                })).collect::<Vec<_>>()),
            })
        })
        .collect();
    let terms = draft.map(|view| &view.agreement.terms);
    let text = |name: &str, stored: Option<String>| -> String {
        if fields.is_empty() { stored.unwrap_or_default() } else { field(fields, name) }
    };
    let joined = |values: Option<&Vec<String>>| values.map(|v| v.join("\n"));
    Ok(json!({
        "id": draft.map(|view| view.agreement.id.clone()),
        "resources": resources,
        "title": text("title", terms.map(|t| t.title.clone())),
        "mode": text("mode", terms.and_then(|t| t.operation_mode).map(|m| m.code().to_owned())),
        "all_operation_modes": OperationMode::ALL.iter().map(|m| json!({"code": m.code(), "label": request.t(&format!("operation_mode_{}", m.code()))})).collect::<Vec<_>>(),
        "domain": text("domain", terms.and_then(|t| t.domain.clone())),
        "modes": match terms {
            Some(t) if fields.is_empty() => t.modes.iter().map(|m| m.code().to_owned()).collect(),
            _ => all(fields, "modes"),
        },
        "all_modes": modes_view(request),
        "purpose": text("purpose", terms.map(|t| t.purpose.clone())),
        "application": text("application", terms.map(|t| t.application.clone())),
        "scenarios": text("scenarios", joined(terms.map(|t| &t.scenarios))),
        "permitted_uses": text("permitted_uses", joined(terms.map(|t| &t.permitted_uses))),
        "prohibited_uses": text("prohibited_uses", joined(terms.map(|t| &t.prohibited_uses))),
        "security_duties": text("security_duties", terms.map(|t| t.security_duties.clone())),
        "exit_terms": text("exit_terms", terms.map(|t| t.exit_terms.clone())),
        "attribution": text("attribution", terms.map(|t| t.attribution.clone())),
        "valid_from": text("valid_from", terms.map(|t| t.valid_from.to_string())),
        "valid_until": text("valid_until", terms.map(|t| t.valid_until.to_string())),
        "destruction_days": text("destruction_days", terms.map(|t| t.destruction_days.to_string())),
        "min_group_size": text("min_group_size", terms.map(|t| t.min_group_size.to_string())),
        "epsilon_budget": text("epsilon_budget", terms.and_then(|t| t.epsilon_budget_micros).map(|m| (m as f64 / 1e6).to_string())),
        "allow_joins": terms.is_some_and(|t| t.allow_joins),
        "mask_choices": MASK_CHOICES,
    }))
}

/// `/console/operation-plans/new`: the plan form.
pub(crate) async fn plan_form(State(state): State<WebState>, request: Request) -> Response {
    let subject = session_subject(&state, &request.headers).await;
    if subject == Subject::Anonymous {
        return Redirect::to("/console/sign-in").into_response();
    }
    let view = plan_form_view(&state, &subject, &request, &[], None)
        .await
        .map(|plan| json!({"plan": plan, "errors": Vec::<String>::new()}));
    respond(&state, &request, "operation_form.html", view).into_response()
}

/// `POST /console/operation-plans`: drafts the plan, then shows it.
pub(crate) async fn plan_submit(
    State(state): State<WebState>,
    request: Request,
    Form(fields): Form<Vec<(String, String)>>,
) -> Response {
    let subject = session_subject(&state, &request.headers).await;
    if subject == Subject::Anonymous {
        return Redirect::to("/console/sign-in").into_response();
    }
    let result = match form_plan(&fields) {
        Ok(plan) => state.app.draft_operation(&subject, plan).await,
        Err(error) => Err(error),
    };
    match result {
        Ok(view) => Redirect::to(&format!("/console/agreements/{}", view.agreement.id)).into_response(),
        Err(error @ (AppError::Validation(_) | AppError::Forbidden { .. })) => {
            let errors = lines(request.lang, &error);
            match plan_form_view(&state, &subject, &request, &fields, None).await {
                Ok(plan) => {
                    let view = json!({"plan": plan, "errors": errors});
                    render(&state, &request, StatusCode::UNPROCESSABLE_ENTITY, "operation_form.html", view)
                        .into_response()
                }
                Err(error) => error_page(&state, &request, &error).into_response(),
            }
        }
        Err(error) => error_page(&state, &request, &error).into_response(),
    }
}

async fn detail_view(
    state: &WebState,
    subject: &Subject,
    request: &Request,
    id: &str,
    errors: Vec<String>,
) -> Result<Value, AppError> {
    let lang = request.lang;
    let orgs = organization_names(state, lang).await?;
    let AgreementDetail { view, history: entries, reports } = state.app.agreement(subject, id).await?;
    let resource_titles: HashMap<String, String> = {
        let mut titles = HashMap::new();
        for granted in &view.agreement.terms.resources {
            if let Ok(resource) = state.app.resource(subject, &granted.resource_id).await {
                titles.insert(granted.resource_id.clone(), resource.resource.draft.name_zh);
            }
        }
        titles
    };
    let operators: Vec<Value> = if view.may.contains(&AgreementAction::SelectOperator) {
        state
            .app
            .organizations()
            .await?
            .into_iter()
            .filter(|org| org.kind == OrgKind::Operator)
            .map(|org| json!({"id": org.id, "name": orgs.get(&org.id).cloned().unwrap_or_default()}))
            .collect()
    } else {
        vec![]
    };
    let plan_form = if view.may.contains(&AgreementAction::Submit) {
        plan_form_view(state, subject, request, &[], Some(&view)).await?
    } else {
        Value::Null
    };
    Ok(json!({
        "agreement": agreement_card(lang, &view, &orgs),
        "resource_titles": resource_titles,
        "history": history(lang, &entries),
        "reports": reports.iter().map(|r| json!({
            "period": format!("{} – {}", r.period_start, r.period_end),
            "summary": r.summary,
            "outputs": r.outputs,
            "incidents": r.incidents,
            "filed": date(lang, r.created_at),
        })).collect::<Vec<_>>(),
        "may_report": matches!(view.status.code(), "active" | "suspended" | "wind_down")
            && view.agreement.holder_org_id.as_deref().is_some_and(|holder| {
                gongshu_policy::decide(subject, gongshu_policy::Action::ActUnderAgreement { holder_org_id: holder })
                    .is_allowed()
            }),
        "operators": operators,
        "plan": plan_form,
        "mask_choices": MASK_CHOICES,
        "errors": errors,
    }))
}

/// `/console/agreements/{id}`: the agreement, its text, reports, history
/// and what the caller may do.
pub(crate) async fn detail(State(state): State<WebState>, Path(id): Path<String>, request: Request) -> Response {
    let subject = session_subject(&state, &request.headers).await;
    if subject == Subject::Anonymous {
        return Redirect::to("/console/sign-in").into_response();
    }
    let view = detail_view(&state, &subject, &request, &id, vec![]).await;
    respond(&state, &request, "agreement.html", view).into_response()
}

/// The step a posted form asks for.
fn form_step(fields: &Fields, action: AgreementAction) -> Result<AgreementStep, AppError> {
    let text = |name: &str| field(fields, name);
    let opinion = Some(text("opinion")).filter(|o| !o.trim().is_empty());
    Ok(match action {
        AgreementAction::Submit => AgreementStep::Submit,
        AgreementAction::Approve => {
            let mut problems = gongshu_domain::Validations::default();
            let masks = form_masks(fields, "mask.", &mut problems);
            let min_group_size = problems.check(number::<u32>(fields, "min_group_size")).flatten();
            let epsilon_budget = problems.check(number::<f64>(fields, "epsilon_budget")).flatten();
            let destruction_days = problems.check(number::<u32>(fields, "destruction_days")).flatten();
            let grant = GrantTerms {
                columns: fields.iter().any(|(k, _)| k == "shown.columns").then(|| all(fields, "include")),
                masks,
                min_group_size,
                valid_until: Some(text("valid_until")).filter(|v| !v.is_empty()),
                epsilon_budget,
                ..GrantTerms::default()
            };
            let plan_approval =
                Some(text("approval_ref")).filter(|r| !r.trim().is_empty()).map(|approval_ref| PlanApproval {
                    risk_assessment: text("risk_assessment"),
                    compliance_review: text("compliance_review"),
                    fair_competition_review: text("fair_competition_review"),
                    approval_ref,
                });
            let terms = OpenTerms {
                grant,
                destruction_days,
                attribution: Some(text("attribution")).filter(|a| !a.trim().is_empty()),
            };
            problems.finish(|| AgreementStep::Approve { opinion, plan_approval, terms: Box::new(terms) })?
        }
        AgreementAction::Return => AgreementStep::Return { opinion: text("opinion") },
        AgreementAction::Refuse => AgreementStep::Refuse { opinion: text("opinion") },
        AgreementAction::SelectOperator => AgreementStep::SelectOperator {
            operator_org_id: text("operator_org_id"),
            selection_method: text("selection_method"),
        },
        AgreementAction::Sign => AgreementStep::Sign { content_sha256: text("content_sha256") },
        AgreementAction::Suspend => AgreementStep::Suspend { reason: text("reason") },
        AgreementAction::Resume => AgreementStep::Resume { reason: text("reason") },
        AgreementAction::Terminate => AgreementStep::Terminate { reason: text("reason") },
        AgreementAction::AttestDestruction => AgreementStep::AttestDestruction { statement: text("statement") },
        AgreementAction::Withdraw => AgreementStep::Withdraw,
    })
}

/// `POST /console/agreements/{id}`: a step named by `action`, a revision
/// of the plan (`revise`) or a usage report (`report`).
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
    let result = match field(&fields, "action").as_str() {
        "revise" => match form_plan(&fields) {
            Ok(plan) => app.revise_operation(&subject, &id, plan).await.map(|_| ()),
            Err(error) => Err(error),
        },
        "report" => {
            let report = NewUsageReport {
                period_start: field(&fields, "period_start"),
                period_end: field(&fields, "period_end"),
                summary: field(&fields, "summary"),
                outputs: field(&fields, "outputs"),
                incidents: field(&fields, "incidents"),
            };
            app.report_usage(&subject, &id, report).await.map(|_| ())
        }
        code => match AgreementAction::parse("action", code) {
            Ok(action) => match form_step(&fields, action) {
                Ok(step) => app.act_on_agreement(&subject, &id, step).await.map(|_| ()),
                Err(error) => Err(error),
            },
            Err(error) => Err(error.into()),
        },
    };
    let done = format!("/console/agreements/{id}");
    after_post(&state, &request, result, &done, "agreement.html", |errors| {
        detail_view(&state, &subject, &request, &id, errors)
    })
    .await
}
