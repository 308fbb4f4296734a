//! Sharing in the console (共享申请, 授权): a department files a request
//! for another's resource; the bureau checks it; the provider approves it
//! with the terms it grants (columns, masks, minimum group size, term) or
//! refuses it with a reason; a refusal can go to the bureau for
//! coordination. A grant's page shows what it lets through, its usage and
//! its history; its holder reads rows and runs the aggregate-only sandbox
//! there, and the grantor or the bureau suspends, resumes or revokes it.
//!
//! Every page calls the same use cases as the API, as the signed-in user.

use std::collections::{BTreeMap, HashMap};

use axum::Form;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use gongshu_app::{
    AppError, GrantTerms, GrantView, NewSharingRequest, SharingDecision, SharingQuery, SharingView, UsageQuery,
    records_json,
};
use gongshu_domain::{AccessMode, GrantAction, HistoryEntry, Mask, Validations};
use gongshu_policy::Subject;
use serde_json::{Value, json};

use crate::pages::{Request, after_post, date, error_page, organization_names, render, respond};
use crate::requests::session_subject;
use crate::{Lang, WebState};

/// Masks offered in the provider's decision form, by code.
pub(crate) const MASK_CHOICES: &[&str] =
    &["hash", "keep_first(1)", "keep_last(4)", "year", "month", "region_prefix(4)", "null"];

pub(crate) fn lines(lang: Lang, error: &AppError) -> Vec<String> {
    let pick = |en: &str, zh: &str| if lang == Lang::Zh { zh.to_owned() } else { en.to_owned() };
    match error {
        AppError::Validation(problems) => {
            problems.0.iter().map(|p| format!("{}: {}", p.field, pick(&p.message_en, &p.message_zh))).collect()
        }
        AppError::Forbidden { en, zh } => vec![pick(en, zh)],
        AppError::Conflict { en, zh } => vec![pick(en, zh)],
        AppError::InvalidTransition(refused) => vec![pick(
            &format!("this cannot be done now: it is {}", refused.current),
            &format!("当前状态（{}）下不能执行此操作", refused.current),
        )],
        _ => vec![lang.text("error_text").to_owned()],
    }
}

pub(crate) fn history(lang: Lang, entries: &[HistoryEntry]) -> Vec<Value> {
    entries
        .iter()
        .map(|h| {
            json!({
                "at": date(lang, h.at),
                "action": h.action,
                "from": h.from_state,
                "to": h.to_state,
                "opinion": h.opinion,
            })
        })
        .collect()
}

pub(crate) fn sharing_card(lang: Lang, view: &SharingView, orgs: &HashMap<String, String>) -> Value {
    let r = &view.request;
    json!({
        "id": r.id,
        "requester": orgs.get(&r.requester_org_id).cloned().unwrap_or_default(),
        "provider": orgs.get(&r.provider_org_id).cloned().unwrap_or_default(),
        "resource_id": r.resource_id,
        "columns": r.columns,
        "modes": r.modes.iter().map(|m| lang.text(&format!("mode_{}", m.code()))).collect::<Vec<_>>(),
        "purpose": r.purpose,
        "legal_basis": r.legal_basis,
        "scenario": r.scenario,
        "needed_until": r.needed_until.to_string(),
        "state": r.state.code(),
        "state_label": lang.text(&format!("sharing_{}", r.state.code())),
        "due": r.due_date.map(|d| d.to_string()),
        "overdue": view.overdue,
        "opinion": r.opinion,
        "grant_id": r.grant_id,
        "bundle_id": r.bundle_id,
        "submitted": date(lang, r.created_at),
        "may": view.may.iter().map(|a| a.code()).collect::<Vec<_>>(),
    })
}

pub(crate) fn grant_card(lang: Lang, view: &GrantView, orgs: &HashMap<String, String>) -> Value {
    let g = &view.grant;
    json!({
        "id": g.id,
        "basis": lang.text(&format!("basis_{}", g.basis.code())),
        "source_href": match g.basis {
            gongshu_domain::GrantBasis::Sharing => format!("/console/sharing/{}", g.source_id),
            _ => format!("/console/agreements/{}", g.source_id),
        },
        "grantee": orgs.get(&g.grantee_org_id).cloned().unwrap_or_default(),
        "grantor": orgs.get(&g.grantor_org_id).cloned().unwrap_or_default(),
        "resources": g.resources.iter().map(|r| json!({
            "resource_id": r.resource_id,
            "columns": r.columns.iter().map(|c| json!({
                "name": c,
                "mask": r.masks.get(c).map(|m| m.describe()),
            })).collect::<Vec<_>>(),
            "row_filter": r.row_filter.iter().map(|c| format!("{} {} {}", c.column, c.op.label_zh(), c.values.join("、"))).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
        "modes": g.modes.iter().map(|m| lang.text(&format!("mode_{}", m.code()))).collect::<Vec<_>>(),
        "purpose": g.purpose,
        "scenario": g.scenario,
        "valid_from": date(lang, g.valid_from),
        "valid_until": date(lang, g.valid_until),
        "min_group_size": g.min_group_size,
        "epsilon_budget": g.epsilon_budget_micros.map(|m| m as f64 / 1e6),
        "epsilon_spent": g.epsilon_spent_micros as f64 / 1e6,
        "status": view.status,
        "status_label": lang.text(&format!("grant_{}", view.status)),
        "state_reason": g.state_reason,
        "may_manage": view.may_manage,
    })
}

/// What the console shows of sharing: requests to act on or follow, and grants.
pub(crate) async fn console_section(state: &WebState, subject: &Subject, lang: Lang) -> Result<Value, AppError> {
    let orgs = organization_names(state, lang).await?;
    let requests =
        state.app.sharing_requests(subject, SharingQuery { limit: Some(100), ..SharingQuery::default() }).await?;
    let grants = state.app.grants(subject, None).await?;
    Ok(json!({
        "sharing": requests.items.iter().map(|v| sharing_card(lang, v, &orgs)).collect::<Vec<_>>(),
        "grants": grants.iter().map(|v| grant_card(lang, v, &orgs)).collect::<Vec<_>>(),
    }))
}

/// `/console/sharing/new?resource=<id>`: the request form.
pub(crate) async fn new_form(State(state): State<WebState>, request: Request) -> Response {
    let subject = session_subject(&state, &request.headers).await;
    if subject == Subject::Anonymous {
        return Redirect::to("/console/sign-in").into_response();
    }
    let view = form_view(&state, &subject, &request, &[], vec![]).await;
    respond(&state, &request, "sharing_form.html", view).into_response()
}

async fn form_view(
    state: &WebState,
    subject: &Subject,
    request: &Request,
    fields: &[(String, String)],
    errors: Vec<String>,
) -> Result<Value, AppError> {
    let field = |name: &str| fields.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
    let resource_id = field("resource_id").or_else(|| request.param("resource").map(str::to_owned)).unwrap_or_default();
    let resource = if resource_id.is_empty() {
        Value::Null
    } else {
        match state.app.resource(subject, &resource_id).await {
            Ok(view) => json!({
                "id": view.resource.id,
                "title": view.resource.draft.name_zh,
                "share": view.resource.draft.share.parts().0,
                "items": view.resource.draft.items.iter().map(|i| json!({"name": i.name, "title": i.title})).collect::<Vec<_>>(),
            }),
            Err(AppError::NotFound { .. }) => Value::Null,
            Err(other) => return Err(other),
        }
    };
    let chosen = |name: &str| fields.iter().filter(|(k, _)| k == name).map(|(_, v)| v.clone()).collect::<Vec<_>>();
    Ok(json!({
        "resource_id": resource_id,
        "resource": resource,
        "columns": chosen("columns"),
        "modes": if fields.is_empty() { vec!["query".to_owned()] } else { chosen("modes") },
        "all_modes": AccessMode::ALL.iter().map(|m| json!({"code": m.code(), "label": request.t(&format!("mode_{}", m.code()))})).collect::<Vec<_>>(),
        "purpose": field("purpose").unwrap_or_default(),
        "legal_basis": field("legal_basis").unwrap_or_default(),
        "scenario": field("scenario").unwrap_or_default(),
        "needed_until": field("needed_until").unwrap_or_default(),
        "errors": errors,
    }))
}

/// `POST /console/sharing`: files the request, then shows it.
pub(crate) async fn submit(
    State(state): State<WebState>,
    request: Request,
    Form(fields): Form<Vec<(String, String)>>,
) -> Response {
    let subject = session_subject(&state, &request.headers).await;
    if subject == Subject::Anonymous {
        return Redirect::to("/console/sign-in").into_response();
    }
    let field = |name: &str| fields.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()).unwrap_or_default();
    let all = |name: &str| fields.iter().filter(|(k, _)| k == name).map(|(_, v)| v.clone()).collect::<Vec<_>>();
    let new = NewSharingRequest {
        resource_id: field("resource_id"),
        requester_org_id: None,
        columns: all("columns"),
        modes: all("modes"),
        purpose: field("purpose"),
        legal_basis: field("legal_basis"),
        scenario: field("scenario"),
        needed_until: field("needed_until"),
    };
    match state.app.submit_sharing_request(&subject, new).await {
        Ok(view) => Redirect::to(&format!("/console/sharing/{}", view.request.id)).into_response(),
        Err(error @ (AppError::Validation(_) | AppError::Forbidden { .. })) => {
            let errors = lines(request.lang, &error);
            match form_view(&state, &subject, &request, &fields, errors).await {
                Ok(view) => render(&state, &request, StatusCode::UNPROCESSABLE_ENTITY, "sharing_form.html", view)
                    .into_response(),
                Err(error) => error_page(&state, &request, &error).into_response(),
            }
        }
        Err(error) => error_page(&state, &request, &error).into_response(),
    }
}

async fn detail_view(
    state: &WebState,
    subject: &Subject,
    lang: Lang,
    id: &str,
    errors: Vec<String>,
) -> Result<Value, AppError> {
    let orgs = organization_names(state, lang).await?;
    let (view, entries) = state.app.sharing_request(subject, id).await?;
    let resource = state.app.resource(subject, &view.request.resource_id).await.ok();
    // Passing the check grants an unconditionally shared resource at once, so
    // the bureau sets the terms there.
    let unconditional =
        resource.as_ref().is_some_and(|r| r.resource.draft.share == gongshu_domain::ShareAttribute::Unconditional);
    let grants_here = view.may.iter().any(|action| match action {
        gongshu_domain::SharingAction::Approve | gongshu_domain::SharingAction::CoordinateGrant => true,
        gongshu_domain::SharingAction::PassCheck => unconditional,
        _ => false,
    });
    Ok(json!({
        "request": sharing_card(lang, &view, &orgs),
        "grants_here": grants_here,
        "resource_title": resource.map(|r| r.resource.draft.name_zh),
        "history": history(lang, &entries),
        "mask_choices": MASK_CHOICES,
        "errors": errors,
    }))
}

/// `/console/sharing/{id}`: the request, its history and what the caller may do.
pub(crate) async fn detail(State(state): State<WebState>, Path(id): Path<String>, request: Request) -> Response {
    let subject = session_subject(&state, &request.headers).await;
    if subject == Subject::Anonymous {
        return Redirect::to("/console/sign-in").into_response();
    }
    let view = detail_view(&state, &subject, request.lang, &id, vec![]).await;
    respond(&state, &request, "sharing.html", view).into_response()
}

/// The terms a provider's form grants: `mask.<column>` fields, minimum
/// group size and last day.
fn form_terms(fields: &[(String, String)]) -> Result<GrantTerms, Validations> {
    let mut problems = Validations::default();
    let masks = form_masks(fields, "mask.", &mut problems);
    let field = |name: &str| fields.iter().find(|(k, _)| k == name).map(|(_, v)| v.trim().to_owned());
    let min_group_size = match field("min_group_size").filter(|v| !v.is_empty()) {
        None => None,
        Some(text) => problems.check(text.parse::<u32>().map_err(|_| {
            gongshu_domain::ValidationError::new(
                "terms.min_group_size",
                format!("`{text}` is not a whole number"),
                format!("`{text}` 不是整数"),
            )
        })),
    };
    let epsilon_budget = match field("epsilon_budget").filter(|v| !v.is_empty()) {
        None => None,
        Some(text) => problems.check(text.parse::<f64>().map_err(|_| {
            gongshu_domain::ValidationError::new(
                "terms.epsilon_budget",
                format!("`{text}` is not a number"),
                format!("`{text}` 不是数字"),
            )
        })),
    };
    problems.finish(|| GrantTerms {
        masks,
        min_group_size,
        valid_until: field("valid_until").filter(|v| !v.is_empty()),
        epsilon_budget,
        ..GrantTerms::default()
    })
}

/// The masks a form chose: `<prefix><column>` fields with a mask code.
pub(crate) fn form_masks(
    fields: &[(String, String)],
    prefix: &str,
    problems: &mut Validations,
) -> BTreeMap<String, Mask> {
    let mut masks = BTreeMap::new();
    for (key, value) in fields {
        if let Some(column) = key.strip_prefix(prefix)
            && !value.trim().is_empty()
            && let Some(mask) = problems.check(Mask::parse(&format!("terms.masks.{column}"), value))
        {
            masks.insert(column.to_owned(), mask);
        }
    }
    masks
}

/// `POST /console/sharing/{id}`: one step of the workflow, named by `action`.
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
    let field = |name: &str| fields.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()).unwrap_or_default();
    let opinion = Some(field("opinion")).filter(|o| !o.trim().is_empty());
    let app = &state.app;
    let result = async {
        let decision = |approve: bool| -> Result<SharingDecision, AppError> {
            let terms = if approve { form_terms(&fields)? } else { GrantTerms::default() };
            Ok(SharingDecision { approve, opinion: opinion.clone(), terms })
        };
        match field("action").as_str() {
            "pass_check" => app.check_sharing_request(&subject, &id, decision(true)?).await,
            "return" => app.check_sharing_request(&subject, &id, decision(false)?).await,
            "approve" => app.decide_sharing_request(&subject, &id, decision(true)?).await,
            "refuse" => app.decide_sharing_request(&subject, &id, decision(false)?).await,
            "escalate" => app.escalate_sharing_request(&subject, &id, opinion.as_deref().unwrap_or_default()).await,
            "coordinate_grant" => app.coordinate_sharing_request(&subject, &id, decision(true)?).await,
            "uphold" => app.coordinate_sharing_request(&subject, &id, decision(false)?).await,
            "withdraw" => app.withdraw_sharing_request(&subject, &id).await,
            other => Err(AppError::Validation(
                gongshu_domain::ValidationError::unknown_code("action", other, gongshu_domain::SharingAction::CODES)
                    .into(),
            )),
        }
    }
    .await;
    let done = format!("/console/sharing/{id}");
    after_post(&state, &request, result.map(drop), &done, "sharing.html", |errors| {
        detail_view(&state, &subject, request.lang, &id, errors)
    })
    .await
}

async fn grant_view(
    state: &WebState,
    subject: &Subject,
    lang: Lang,
    id: &str,
    sandbox: Option<(String, Result<Value, Vec<String>>)>,
    errors: Vec<String>,
) -> Result<Value, AppError> {
    let orgs = organization_names(state, lang).await?;
    let (view, entries) = state.app.grant(subject, id).await?;
    let holds = match subject {
        Subject::User { memberships, .. } => memberships.iter().any(|m| m.org_id == view.grant.grantee_org_id),
        Subject::Anonymous => false,
    };
    let usage = state
        .app
        .usage_events(subject, UsageQuery { grant_id: Some(id.to_owned()), limit: Some(20), ..UsageQuery::default() })
        .await?;
    // The holder sees the first rows of its view, read through the gateway like any read.
    let mut preview = Value::Null;
    if holds && view.status == "active" && view.grant.modes.contains(&AccessMode::Query) {
        let resource_id = &view.grant.resources[0].resource_id;
        let params = [("_limit".to_owned(), "10".to_owned()), ("_grant".to_owned(), id.to_owned())];
        preview = match state.app.query_data(subject, resource_id, &params).await {
            Ok(page) => json!({
                "columns": page.page.schema.fields().iter().map(|f| f.name().clone()).collect::<Vec<_>>(),
                "rows": records_json(&page.page.batches).map_err(|e| AppError::Internal(Box::new(e)))?,
                "total": page.page.total,
                "error": null,
            }),
            Err(error) => json!({ "error": lines(lang, &error).join("；"), "columns": [], "rows": [], "total": 0 }),
        };
    }
    let may_sandbox = holds && view.grant.modes.contains(&AccessMode::Aggregate);
    let first_resource = view.grant.resources.first().map(|r| r.resource_id.clone()).unwrap_or_default();
    let (sql, sandbox_result) = match sandbox {
        Some((sql, result)) => (sql, Some(result)),
        None => (format!("SELECT COUNT(*) AS n FROM \"{first_resource}\""), None),
    };
    Ok(json!({
        "grant": grant_card(lang, &view, &orgs),
        "history": history(lang, &entries),
        "usage": usage.items.iter().map(|e| json!({
            "at": date(lang, e.at),
            "allowed": e.allowed,
            "channel": e.channel,
            "mode": lang.text(&format!("mode_{}", e.mode.code())),
            "rows": e.rows_out,
            "bytes": e.bytes_out,
            "reason": e.reason,
            "fingerprint": e.query_fingerprint.chars().take(12).collect::<String>(),
        })).collect::<Vec<_>>(),
        "usage_total": usage.total,
        "preview": preview,
        "may_sandbox": may_sandbox,
        "sql": sql,
        "sandbox": match sandbox_result {
            None => Value::Null,
            Some(Ok(rows)) => json!({ "rows": rows, "errors": [] }),
            Some(Err(errors)) => json!({ "rows": [], "errors": errors }),
        },
        "errors": errors,
    }))
}

/// `/console/grants/{id}`: a grant, its usage and history.
pub(crate) async fn grant(State(state): State<WebState>, Path(id): Path<String>, request: Request) -> Response {
    let subject = session_subject(&state, &request.headers).await;
    if subject == Subject::Anonymous {
        return Redirect::to("/console/sign-in").into_response();
    }
    let view = grant_view(&state, &subject, request.lang, &id, None, vec![]).await;
    respond(&state, &request, "grant.html", view).into_response()
}

/// `POST /console/grants/{id}`: suspend, resume or revoke (with a reason),
/// or run a query in the aggregate-only sandbox.
pub(crate) async fn grant_act(
    State(state): State<WebState>,
    Path(id): Path<String>,
    request: Request,
    Form(fields): Form<Vec<(String, String)>>,
) -> Response {
    let subject = session_subject(&state, &request.headers).await;
    if subject == Subject::Anonymous {
        return Redirect::to("/console/sign-in").into_response();
    }
    let field = |name: &str| fields.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()).unwrap_or_default();
    let action = field("action");
    if action == "sandbox" {
        let sql = field("sql");
        let epsilon = field("epsilon").trim().parse::<f64>().ok();
        let result = match state.app.sandbox_sql(&subject, &sql, Some(&id), epsilon).await {
            Ok(result) => records_json(&result.batches).map_err(|_| vec![request.t("error_text").to_owned()]),
            Err(error) => Err(lines(request.lang, &error)),
        };
        let view = grant_view(&state, &subject, request.lang, &id, Some((sql, result)), vec![]).await;
        return respond(&state, &request, "grant.html", view).into_response();
    }
    let result = match GrantAction::parse("action", &action) {
        Ok(action) => state.app.change_grant(&subject, &id, action, &field("reason")).await.map(|_| ()),
        Err(error) => Err(error.into()),
    };
    let done = format!("/console/grants/{id}");
    after_post(&state, &request, result, &done, "grant.html", |errors| {
        grant_view(&state, &subject, request.lang, &id, None, errors)
    })
    .await
}
