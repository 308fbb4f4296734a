//! The sharing responsibility list in the console: the bureau lists what a
//! department must provide; the department links the entry that fulfils
//! each duty; late ones are flagged.

use std::collections::HashMap;

use axum::Form;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use gongshu_app::{AppError, DutyView, NewDuty, ResourceQuery};
use gongshu_domain::{DutyStatus, OrgKind, UpdateCycle};
use gongshu_policy::{Action, Subject};
use serde_json::{Value, json};

use crate::agreements::field;
use crate::pages::{Request, error_page, organization_names};
use crate::requests::session_subject;
use crate::{Lang, WebState};

fn duty_card(lang: Lang, view: &DutyView, orgs: &HashMap<String, String>, titles: &HashMap<String, String>) -> Value {
    let d = &view.duty;
    json!({
        "id": d.id,
        "org": orgs.get(&d.org_id).cloned().unwrap_or_default(),
        "org_id": d.org_id,
        "title": d.title,
        "description": d.description,
        "basis": d.basis,
        "cycle": d.update_cycle.label_zh(),
        "resource_id": d.resource_id,
        "resource_title": d.resource_id.as_ref().and_then(|id| titles.get(id)).cloned(),
        "pending": matches!(view.status, DutyStatus::Pending { .. }),
        "status_label": lang.text(match view.status {
            DutyStatus::Pending { .. } => "duty_pending",
            DutyStatus::Current { .. } => "duty_current",
        }),
        "due": view.status.due().map(|d| d.to_string()),
        "overdue": view.overdue,
        "last_version_on": view.last_version_on.map(|d| d.to_string()),
        "may_link": view.may_link,
    })
}

/// What the console shows of the responsibility list, with what the caller
/// may link and, for the bureau, the form to list a duty.
pub(crate) async fn console_section(state: &WebState, subject: &Subject, lang: Lang) -> Result<Value, AppError> {
    let orgs = organization_names(state, lang).await?;
    let duties = state.app.duties(subject, false).await?;
    // The entries a department may link: its own registered ones.
    let mut linkable: HashMap<String, Vec<Value>> = HashMap::new();
    let mut titles = HashMap::new();
    for view in &duties {
        if view.may_link && !linkable.contains_key(&view.duty.org_id) {
            let query = ResourceQuery {
                states: vec!["registered".into(), "published".into()],
                provider_org_id: Some(view.duty.org_id.clone()),
                limit: Some(100),
                ..ResourceQuery::default()
            };
            let list = state.app.resources(subject, query).await?;
            for resource in &list.items {
                titles.insert(resource.id.clone(), resource.draft.name_zh.clone());
            }
            let choices = list.items.iter().map(|r| json!({"id": r.id, "title": r.draft.name_zh})).collect();
            linkable.insert(view.duty.org_id.clone(), choices);
        }
    }
    let may_list = gongshu_policy::decide(subject, Action::ManageSharingDuties).is_allowed();
    let departments: Vec<Value> = if may_list {
        state
            .app
            .organizations()
            .await?
            .iter()
            .filter(|org| org.kind == OrgKind::Department)
            .map(|org| json!({"id": org.id, "name": orgs.get(&org.id).cloned().unwrap_or_default()}))
            .collect()
    } else {
        vec![]
    };
    Ok(json!({
        "duties": duties.iter().map(|v| duty_card(lang, v, &orgs, &titles)).collect::<Vec<_>>(),
        "linkable": linkable,
        "may_list_duty": may_list,
        "departments": departments,
        "cycles": UpdateCycle::ALL.iter().map(|c| json!({"code": c.code(), "label": c.label_zh()})).collect::<Vec<_>>(),
    }))
}

/// Errors go back to the console page with the problems listed.
async fn done(state: &WebState, request: &Request, subject: &Subject, result: Result<(), AppError>) -> Response {
    match result {
        Ok(()) => Redirect::to("/console#sharing-duties").into_response(),
        Err(error @ (AppError::NotFound { .. } | AppError::Internal(_))) => {
            error_page(state, request, &error).into_response()
        }
        Err(error) => crate::requests::console_with_errors(state, request, subject, &error).await,
    }
}

/// `POST /console/duties`: the bureau lists a duty.
pub(crate) async fn create(
    State(state): State<WebState>,
    request: Request,
    Form(fields): Form<Vec<(String, String)>>,
) -> Response {
    let subject = session_subject(&state, &request.headers).await;
    if subject == Subject::Anonymous {
        return Redirect::to("/console/sign-in").into_response();
    }
    let new = NewDuty {
        org_id: field(&fields, "org_id"),
        title: field(&fields, "title"),
        description: field(&fields, "description"),
        basis: field(&fields, "basis"),
        update_cycle: field(&fields, "update_cycle"),
        first_due: field(&fields, "first_due"),
    };
    let result = state.app.create_duty(&subject, new).await.map(|_| ());
    done(&state, &request, &subject, result).await
}

/// `POST /console/duties/{id}`: the department links the entry that fulfils it.
pub(crate) async fn link(
    State(state): State<WebState>,
    Path(id): Path<String>,
    request: Request,
    Form(fields): Form<Vec<(String, String)>>,
) -> Response {
    let subject = session_subject(&state, &request.headers).await;
    if subject == Subject::Anonymous {
        return Redirect::to("/console/sign-in").into_response();
    }
    let result = state.app.link_duty(&subject, &id, &field(&fields, "resource_id")).await.map(|_| ());
    done(&state, &request, &subject, result).await
}
