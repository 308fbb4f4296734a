//! Requests from the public on the portal (开放需求, 纠错: list, form,
//! status page) and the department console where they are answered.
//!
//! The console signs in with a user name and password and keeps the API
//! token it is issued in an `HttpOnly`, `SameSite=Lax` cookie, and signing
//! out revokes it. The portal's router refuses form posts from other sites
//! (`lib.rs`).

use std::collections::HashMap;

use axum::Form;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use gongshu_app::{
    AnswerInput, AppError, NewRequest, NewToken, RegistrationQuery, RequestQuery, RequestView, ResourceQuery,
};
use gongshu_domain::{Outcome, RequestKind};
use gongshu_policy::Subject;
use serde_json::{Value, json};

use crate::pages::{Request, date, error_page, href, organization_names, render, respond};
use crate::{Lang, WebState};

const SESSION_COOKIE: &str = "gongshu_session";

fn kind_label(lang: Lang, kind: RequestKind) -> &'static str {
    lang.text(&format!("kind_{}", kind.code()))
}

fn request_card(state_lang: Lang, view: &RequestView, orgs: &HashMap<String, String>) -> Value {
    let r = &view.request;
    json!({
        "id": r.id,
        "kind": r.kind.code(),
        "kind_label": kind_label(state_lang, r.kind),
        "title": r.title,
        "body": r.body,
        "org": orgs.get(&r.org_id).cloned().unwrap_or_default(),
        "org_id": r.org_id,
        "resource_id": r.resource_id,
        "requester": r.requester_name.clone().unwrap_or_else(|| state_lang.text("anonymous").to_owned()),
        "contact": r.requester_contact,
        "state": r.state.code(),
        "state_label": state_lang.text(&format!("state_{}", r.state.code())),
        "outcome": r.outcome.map(|o| o.code()),
        "outcome_label": r.outcome.map(|o| state_lang.text(&format!("outcome_{}", o.code()))),
        "answer": r.answer,
        "planned_date": r.planned_date.map(|d| d.to_string()),
        "submitted": date(state_lang, r.submitted_at),
        "due": r.due_date.to_string(),
        "overdue": view.overdue,
        "response_days": view.response_working_days,
        "may_answer": view.may_answer,
    })
}

/// `/requests`: every request with the response figures.
pub(crate) async fn list(State(state): State<WebState>, request: Request) -> crate::Page {
    let view = async {
        let kind = request.param("kind").map(str::to_owned);
        let status = request.param("state").map(str::to_owned);
        let page: i64 = request.param("page").and_then(|p| p.parse().ok()).filter(|p| *p >= 1).unwrap_or(1);
        let query = RequestQuery {
            kind: kind.clone(),
            state: status.clone(),
            limit: Some(20),
            offset: Some((page - 1) * 20),
            ..RequestQuery::default()
        };
        let list = state.app.requests(&Subject::Anonymous, query).await?;
        let stats = state.app.request_stats().await?;
        let orgs = organization_names(&state, request.lang).await?;
        let pages = (list.total as usize).div_ceil(20).max(1) as i64;
        let link = |kind: Option<&str>, status: Option<&str>, page: i64| {
            let mut pairs = Vec::new();
            if let Some(kind) = kind {
                pairs.push(("kind".to_owned(), kind.to_owned()));
            }
            if let Some(status) = status {
                pairs.push(("state".to_owned(), status.to_owned()));
            }
            if page > 1 {
                pairs.push(("page".to_owned(), page.to_string()));
            }
            href("/requests", &pairs)
        };
        let tabs: Vec<Value> = [(None, "all"), (Some("demand"), "kind_demand"), (Some("feedback"), "kind_feedback")]
            .iter()
            .map(|(k, label)| {
                json!({
                    "label": request.t(label),
                    "href": link(*k, status.as_deref(), 1),
                    "current": kind.as_deref() == *k,
                })
            })
            .collect();
        Ok::<_, AppError>(json!({
            "requests": list.items.iter().map(|v| request_card(request.lang, v, &orgs)).collect::<Vec<_>>(),
            "total": list.total,
            "tabs": tabs,
            "stats": {
                "total": stats.total,
                "answered": stats.answered,
                "overdue": stats.overdue,
                "median": stats.median_response_working_days.map(|d| format!("{d:.1}")),
            },
            "page": page,
            "pages": pages,
            "previous_href": (page > 1).then(|| link(kind.as_deref(), status.as_deref(), page - 1)),
            "next_href": (page < pages).then(|| link(kind.as_deref(), status.as_deref(), page + 1)),
        }))
    };
    respond(&state, &request, "requests.html", view.await)
}

/// `/requests/{id}`: one request and its answer.
pub(crate) async fn detail(State(state): State<WebState>, Path(id): Path<String>, request: Request) -> crate::Page {
    let view = async {
        let subject = session_subject(&state, &request.headers).await;
        let found = state.app.request(&subject, &id).await?;
        let orgs = organization_names(&state, request.lang).await?;
        let dataset = match &found.request.resource_id {
            Some(resource_id) => state
                .app
                .resource(&Subject::Anonymous, resource_id)
                .await
                .ok()
                .map(|v| json!({ "id": v.resource.id, "title": v.resource.draft.name_zh })),
            None => None,
        };
        Ok::<_, AppError>(json!({
            "request": request_card(request.lang, &found, &orgs),
            "dataset": dataset,
            "filed": request.param("filed").is_some(),
        }))
    };
    respond(&state, &request, "request.html", view.await)
}

/// The form's fields, as typed.
fn form_view(
    request: &Request,
    fields: &HashMap<String, String>,
    departments: Vec<Value>,
    errors: Vec<String>,
) -> Value {
    let field = |name: &str| fields.get(name).cloned().unwrap_or_default();
    json!({
        "kind": if field("kind").is_empty() { "demand".to_owned() } else { field("kind") },
        "resource_id": field("resource_id"),
        "org_id": field("org_id"),
        "title": field("title"),
        "body": field("body"),
        "requester_name": field("requester_name"),
        "requester_contact": field("requester_contact"),
        "departments": departments,
        "errors": errors,
        "dataset_title": fields.get("dataset_title"),
        "lang_code": request.lang.code(),
    })
}

async fn departments(state: &WebState, lang: Lang) -> Result<Vec<Value>, AppError> {
    let mut orgs: Vec<(String, String)> = organization_names(state, lang).await?.into_iter().collect();
    orgs.sort_by(|a, b| a.1.cmp(&b.1));
    Ok(orgs.into_iter().map(|(id, name)| json!({ "id": id, "name": name })).collect())
}

/// `/requests/new`: the form (`?kind=feedback&dataset=<id>` from a dataset page).
pub(crate) async fn new_form(State(state): State<WebState>, request: Request) -> crate::Page {
    let view = async {
        let mut fields = HashMap::new();
        if let Some(kind) = request.param("kind") {
            fields.insert("kind".to_owned(), kind.to_owned());
        }
        if let Some(dataset) = request.param("dataset") {
            let resource = state.app.resource(&Subject::Anonymous, dataset).await?.resource;
            fields.insert("resource_id".to_owned(), resource.id);
            fields.insert("dataset_title".to_owned(), resource.draft.name_zh);
        }
        Ok::<_, AppError>(form_view(&request, &fields, departments(&state, request.lang).await?, vec![]))
    };
    respond(&state, &request, "request_form.html", view.await)
}

/// `POST /requests`: files the request, or shows the form again with what is wrong.
pub(crate) async fn submit(
    State(state): State<WebState>,
    request: Request,
    Form(fields): Form<HashMap<String, String>>,
) -> Response {
    let get = |name: &str| fields.get(name).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
    let new = NewRequest {
        kind: get("kind").unwrap_or_default(),
        resource_id: get("resource_id"),
        org_id: get("org_id"),
        title: get("title").unwrap_or_default(),
        body: get("body").unwrap_or_default(),
        requester_name: get("requester_name"),
        requester_contact: get("requester_contact"),
    };
    let subject = session_subject(&state, &request.headers).await;
    match state.app.submit_request(&subject, new).await {
        Ok(view) => Redirect::to(&format!("/requests/{}?filed=1", view.request.id)).into_response(),
        Err(AppError::Validation(problems)) => {
            let errors = problem_lines(request.lang, &problems);
            match departments(&state, request.lang).await {
                Ok(departments) => {
                    let view = form_view(&request, &fields, departments, errors);
                    render(&state, &request, StatusCode::UNPROCESSABLE_ENTITY, "request_form.html", view)
                        .into_response()
                }
                Err(error) => error_page(&state, &request, &error).into_response(),
            }
        }
        Err(error) => error_page(&state, &request, &error).into_response(),
    }
}

/// Each problem of a refused form as a line: the field, then what is wrong.
/// The problems name the form's own labels, not the API's field codes.
fn problem_lines(lang: Lang, problems: &gongshu_domain::Validations) -> Vec<String> {
    problems
        .0
        .iter()
        .map(|p| {
            let label = match p.field.as_str() {
                "kind" => lang.text("request_kind"),
                "resource_id" => lang.text("request_dataset"),
                "org_id" => lang.text("request_department"),
                "title" => lang.text("request_title"),
                "body" => lang.text("request_body"),
                "requester_name" => lang.text("request_name"),
                "requester_contact" => lang.text("request_contact"),
                "outcome" => lang.text("outcome"),
                "answer" => lang.text("answer"),
                "planned_date" => lang.text("planned_date"),
                other => other,
            };
            format!("{label}：{}", if lang == Lang::Zh { &p.message_zh } else { &p.message_en })
        })
        .collect()
}

fn session_token(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|pair| pair.trim().strip_prefix(&format!("{SESSION_COOKIE}=")).map(str::to_owned))
}

/// The signed-in user, or the public.
pub(crate) async fn session_subject(state: &WebState, headers: &HeaderMap) -> Subject {
    match session_token(headers) {
        Some(token) => state.app.authenticate(&token).await.unwrap_or(Subject::Anonymous),
        None => Subject::Anonymous,
    }
}

fn cookie(value: &str, max_age: i64) -> HeaderValue {
    HeaderValue::from_str(&format!("{SESSION_COOKIE}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age}"))
        .expect("the token is ASCII")
}

/// `/console/sign-in`.
pub(crate) async fn sign_in_form(State(state): State<WebState>, request: Request) -> crate::Page {
    respond(&state, &request, "sign_in.html", Ok(json!({ "failed": false, "username": "" })))
}

/// `POST /console/sign-in`: a token for this browser, kept in a cookie for a day.
pub(crate) async fn sign_in(
    State(state): State<WebState>,
    request: Request,
    Form(fields): Form<HashMap<String, String>>,
) -> Response {
    let username = fields.get("username").cloned().unwrap_or_default();
    let password = fields.get("password").cloned().unwrap_or_default();
    let token = NewToken { name: "portal console".into(), expires_in_days: Some(1) };
    match state.app.login(&username, &password, token).await {
        Ok(issued) => {
            let mut response = Redirect::to("/console").into_response();
            response.headers_mut().insert(header::SET_COOKIE, cookie(&issued.secret, 86_400));
            response
        }
        Err(AppError::Unauthenticated(_)) => {
            let view = json!({ "failed": true, "username": username });
            render(&state, &request, StatusCode::UNAUTHORIZED, "sign_in.html", view).into_response()
        }
        Err(error) => error_page(&state, &request, &error).into_response(),
    }
}

/// `POST /console/sign-out`: revokes the session's token and forgets the cookie.
pub(crate) async fn sign_out(State(state): State<WebState>, request: Request) -> Response {
    if let Some(token) = session_token(&request.headers)
        && let Err(error) = state.app.revoke_secret(&token).await
    {
        // An expired or already revoked token: there is nothing left to end.
        tracing::debug!(%error, "sign-out found no live token");
    }
    let mut response = Redirect::to("/").into_response();
    response.headers_mut().insert(header::SET_COOKIE, cookie("", 0));
    response
}

/// `/console`: the requests to answer and the department's resources.
pub(crate) async fn console(State(state): State<WebState>, request: Request) -> Response {
    let subject = session_subject(&state, &request.headers).await;
    if subject == Subject::Anonymous {
        return Redirect::to("/console/sign-in").into_response();
    }
    let view = console_view(&state, &request, &subject, vec![]).await;
    respond(&state, &request, "console.html", view).into_response()
}

/// The console again, answering a form posted from it that failed.
pub(crate) async fn console_with_errors(
    state: &WebState,
    request: &Request,
    subject: &Subject,
    error: &AppError,
) -> Response {
    let errors = crate::sharing::lines(request.lang, error);
    match console_view(state, request, subject, errors).await {
        Ok(view) => render(state, request, StatusCode::UNPROCESSABLE_ENTITY, "console.html", view).into_response(),
        Err(error) => error_page(state, request, &error).into_response(),
    }
}

async fn console_view(
    state: &WebState,
    request: &Request,
    subject: &Subject,
    errors: Vec<String>,
) -> Result<Value, AppError> {
    let (state, subject) = (state.clone(), subject.clone());
    let view = async {
        let orgs = organization_names(&state, request.lang).await?;
        let query =
            RequestQuery { mine: true, state: Some("open".into()), limit: Some(100), ..RequestQuery::default() };
        let open = state.app.requests(&subject, query).await?;
        let Subject::User { memberships, .. } = &subject else { unreachable!("signed in above") };
        let mut resources = Vec::new();
        for membership in memberships {
            let query = ResourceQuery {
                provider_org_id: Some(membership.org_id.clone()),
                limit: Some(100),
                ..ResourceQuery::default()
            };
            for resource in state.app.resources(&subject, query).await?.items {
                resources.push(json!({
                    "id": resource.id,
                    "title": resource.draft.name_zh,
                    "state": resource.state.label_zh(),
                    "published": resource.state == gongshu_domain::ResourceState::Published,
                }));
            }
        }
        // Registrations under way: a department's own, or all of them for the bureau.
        let query = RegistrationQuery {
            states: ["submitted", "formal_review", "publicity", "objection_review"].map(str::to_owned).to_vec(),
            limit: Some(100),
            ..RegistrationQuery::default()
        };
        let mut registrations = Vec::new();
        for (registration, overdue) in state.app.registrations(&subject, query).await?.items {
            let title = state
                .app
                .resource(&subject, &registration.resource_id)
                .await
                .map_or_else(|_| registration.resource_id.clone(), |v| v.resource.draft.name_zh);
            registrations.push(json!({
                "title": title,
                "application": registration.application.label_zh(),
                "state": registration.state.label_zh(),
                "due": registration.due_date.map(|d| d.to_string()),
                "overdue": overdue,
            }));
        }
        let mut view = json!({
            "requests": open.items.iter().map(|v| request_card(request.lang, v, &orgs)).collect::<Vec<_>>(),
            "registrations": registrations,
            "resources": resources,
            "orgs": memberships.iter().map(|m| orgs.get(&m.org_id).cloned().unwrap_or_default()).collect::<Vec<_>>(),
        });
        let mut sharing = crate::sharing::console_section(&state, &subject, request.lang).await?;
        view["sharing"] = sharing["sharing"].take();
        view["grants"] = sharing["grants"].take();
        view["agreements"] = crate::agreements::console_section(&state, &subject, request.lang).await?;
        let mut duties = crate::duties::console_section(&state, &subject, request.lang).await?;
        for key in ["duties", "linkable", "may_list_duty", "departments", "cycles"] {
            view[key] = duties[key].take();
        }
        view["bundles"] = crate::bundles::console_section(&state, &subject, request.lang).await?;
        view["may_supervise"] = json!(gongshu_policy::decide(&subject, gongshu_policy::Action::Supervise).is_allowed());
        view["errors"] = json!(errors);
        Ok::<_, AppError>(view)
    };
    view.await
}

/// `/console/requests/{id}`: the answer form.
pub(crate) async fn answer_form(State(state): State<WebState>, Path(id): Path<String>, request: Request) -> Response {
    let subject = session_subject(&state, &request.headers).await;
    if subject == Subject::Anonymous {
        return Redirect::to("/console/sign-in").into_response();
    }
    let view = answer_view(&state, &request, &subject, &id, &HashMap::new(), vec![]).await;
    respond(&state, &request, "answer.html", view).into_response()
}

async fn answer_view(
    state: &WebState,
    request: &Request,
    subject: &Subject,
    id: &str,
    fields: &HashMap<String, String>,
    errors: Vec<String>,
) -> Result<Value, AppError> {
    let found = state.app.request(subject, id).await?;
    let orgs = organization_names(state, request.lang).await?;
    let outcomes: Vec<Value> = Outcome::ALL
        .iter()
        .filter(|o| o.answers(found.request.kind))
        .map(|o| json!({ "code": o.code(), "label": request.t(&format!("outcome_{}", o.code())) }))
        .collect();
    Ok(json!({
        "request": request_card(request.lang, &found, &orgs),
        "outcomes": outcomes,
        "outcome": fields.get("outcome").cloned().unwrap_or_default(),
        "answer": fields.get("answer").cloned().unwrap_or_default(),
        "planned_date": fields.get("planned_date").cloned().unwrap_or_default(),
        "errors": errors,
    }))
}

/// `POST /console/requests/{id}`: answers, then back to the console.
pub(crate) async fn answer(
    State(state): State<WebState>,
    Path(id): Path<String>,
    request: Request,
    Form(fields): Form<HashMap<String, String>>,
) -> Response {
    let subject = session_subject(&state, &request.headers).await;
    if subject == Subject::Anonymous {
        return Redirect::to("/console/sign-in").into_response();
    }
    let input = AnswerInput {
        outcome: fields.get("outcome").cloned().unwrap_or_default(),
        text: fields.get("answer").cloned().unwrap_or_default(),
        planned_date: fields.get("planned_date").cloned().filter(|d| !d.trim().is_empty()),
    };
    match state.app.answer_request(&subject, &id, input).await {
        Ok(_) => Redirect::to("/console").into_response(),
        Err(AppError::Validation(problems)) => {
            let errors = problem_lines(request.lang, &problems);
            let view = answer_view(&state, &request, &subject, &id, &fields, errors).await;
            match view {
                Ok(view) => {
                    render(&state, &request, StatusCode::UNPROCESSABLE_ENTITY, "answer.html", view).into_response()
                }
                Err(error) => error_page(&state, &request, &error).into_response(),
            }
        }
        Err(error) => error_page(&state, &request, &error).into_response(),
    }
}
