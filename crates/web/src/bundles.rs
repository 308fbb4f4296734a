//! Scenario bundles (“高效办成一件事”) in the console: a department files
//! one service's requests together; the bureau checks them as a whole; the
//! bundle's page shows each part, who must act and whether the grants are
//! in force yet.

use std::collections::HashMap;

use axum::Form;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use gongshu_app::{AppError, BundlePart, BundleView, NewBundle, ResourceQuery, SharingDecision};
use gongshu_policy::Subject;
use serde_json::{Value, json};

use crate::agreements::field;
use crate::pages::{Request, after_post, date, error_page, organization_names, render, respond};
use crate::requests::session_subject;
use crate::sharing::{history, lines, sharing_card};
use crate::{Lang, WebState};

pub(crate) fn bundle_card(lang: Lang, view: &BundleView, orgs: &HashMap<String, String>) -> Value {
    let b = &view.bundle;
    let granted = view.parts.iter().filter(|p| p.request.state == gongshu_domain::SharingState::Granted).count();
    json!({
        "id": b.id,
        "title": b.title,
        "service": b.service,
        "requester": orgs.get(&b.requester_org_id).cloned().unwrap_or_default(),
        "state": b.state.code(),
        "state_label": lang.text(&format!("bundle_{}", b.state.code())),
        "blocked": view.blocked,
        "granted": granted,
        "total": view.parts.len(),
        "parts": view.parts.iter().map(|p| sharing_card(lang, p, orgs)).collect::<Vec<_>>(),
        "may_check": view.may_check,
        "may_withdraw": view.may_withdraw,
        "submitted": date(lang, b.created_at),
    })
}

/// The console's list of bundles.
pub(crate) async fn console_section(state: &WebState, subject: &Subject, lang: Lang) -> Result<Value, AppError> {
    let orgs = organization_names(state, lang).await?;
    let bundles = state.app.bundles(subject).await?;
    Ok(json!(bundles.iter().map(|v| bundle_card(lang, v, &orgs)).collect::<Vec<_>>()))
}

async fn form_view(
    state: &WebState,
    subject: &Subject,
    lang: Lang,
    fields: &[(String, String)],
    errors: Vec<String>,
) -> Result<Value, AppError> {
    let orgs = organization_names(state, lang).await?;
    let own: Vec<String> = match subject {
        Subject::User { memberships, .. } => memberships.iter().map(|m| m.org_id.clone()).collect(),
        Subject::Anonymous => vec![],
    };
    let query = ResourceQuery {
        states: vec!["registered".into(), "published".into()],
        limit: Some(100),
        ..ResourceQuery::default()
    };
    let chosen = crate::agreements::all(fields, "resources");
    let catalog: Vec<Value> = state
        .app
        .resources(subject, query)
        .await?
        .items
        .iter()
        .filter(|r| !own.contains(&r.provider_org_id))
        .map(|r| {
            json!({
                "id": r.id,
                "title": r.draft.name_zh,
                "provider": orgs.get(&r.provider_org_id).cloned().unwrap_or_default(),
                "chosen": chosen.contains(&r.id),
            })
        })
        .collect();
    Ok(json!({
        "catalog": catalog,
        "title": field(fields, "title"),
        "service": field(fields, "service"),
        "purpose": field(fields, "purpose"),
        "legal_basis": field(fields, "legal_basis"),
        "needed_until": field(fields, "needed_until"),
        "errors": errors,
    }))
}

/// `/console/bundles/new`: the bundle form over the sharing catalog.
pub(crate) async fn new_form(State(state): State<WebState>, request: Request) -> Response {
    let subject = session_subject(&state, &request.headers).await;
    if subject == Subject::Anonymous {
        return Redirect::to("/console/sign-in").into_response();
    }
    let view = form_view(&state, &subject, request.lang, &[], vec![]).await;
    respond(&state, &request, "bundle_form.html", view).into_response()
}

/// `POST /console/bundles`: files the bundle, then shows it.
pub(crate) async fn submit(
    State(state): State<WebState>,
    request: Request,
    Form(fields): Form<Vec<(String, String)>>,
) -> Response {
    let subject = session_subject(&state, &request.headers).await;
    if subject == Subject::Anonymous {
        return Redirect::to("/console/sign-in").into_response();
    }
    let new = NewBundle {
        requester_org_id: None,
        title: field(&fields, "title"),
        service: field(&fields, "service"),
        purpose: field(&fields, "purpose"),
        legal_basis: field(&fields, "legal_basis"),
        needed_until: field(&fields, "needed_until"),
        parts: crate::agreements::all(&fields, "resources")
            .into_iter()
            .map(|resource_id| BundlePart { resource_id, ..BundlePart::default() })
            .collect(),
    };
    match state.app.submit_bundle(&subject, new).await {
        Ok(view) => Redirect::to(&format!("/console/bundles/{}", view.bundle.id)).into_response(),
        Err(error @ (AppError::Validation(_) | AppError::Forbidden { .. })) => {
            let errors = lines(request.lang, &error);
            match form_view(&state, &subject, request.lang, &fields, errors).await {
                Ok(view) => {
                    render(&state, &request, StatusCode::UNPROCESSABLE_ENTITY, "bundle_form.html", view).into_response()
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
    lang: Lang,
    id: &str,
    errors: Vec<String>,
) -> Result<Value, AppError> {
    let orgs = organization_names(state, lang).await?;
    let (view, entries) = state.app.bundle(subject, id).await?;
    Ok(json!({ "bundle": bundle_card(lang, &view, &orgs), "history": history(lang, &entries), "errors": errors }))
}

/// `/console/bundles/{id}`: the bundle, its parts and history.
pub(crate) async fn detail(State(state): State<WebState>, Path(id): Path<String>, request: Request) -> Response {
    let subject = session_subject(&state, &request.headers).await;
    if subject == Subject::Anonymous {
        return Redirect::to("/console/sign-in").into_response();
    }
    let view = detail_view(&state, &subject, request.lang, &id, vec![]).await;
    respond(&state, &request, "bundle.html", view).into_response()
}

/// `POST /console/bundles/{id}`: the bureau's check (`pass_check`, `return`)
/// or the requester's withdrawal.
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
    let opinion = Some(field(&fields, "opinion")).filter(|o| !o.trim().is_empty());
    let app = &state.app;
    let result = match field(&fields, "action").as_str() {
        "pass_check" => {
            app.check_bundle(&subject, &id, SharingDecision { approve: true, opinion, ..SharingDecision::default() })
                .await
        }
        "return" => {
            app.check_bundle(&subject, &id, SharingDecision { approve: false, opinion, ..SharingDecision::default() })
                .await
        }
        "withdraw" => app.withdraw_bundle(&subject, &id, opinion.as_deref().unwrap_or_default()).await,
        other => Err(AppError::Validation(
            gongshu_domain::ValidationError::unknown_code("action", other, &["pass_check", "return", "withdraw"])
                .into(),
        )),
    };
    let done = format!("/console/bundles/{id}");
    after_post(&state, &request, result.map(drop), &done, "bundle.html", |errors| {
        detail_view(&state, &subject, request.lang, &id, errors)
    })
    .await
}
