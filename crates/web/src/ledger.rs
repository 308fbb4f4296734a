//! The ledger and supervision in the portal: the public ledger page (the
//! latest signed checkpoint, the key, how to verify, and a check of any
//! entry, which the browser repeats on its own), the data tracker on each
//! dataset page, and the bureau's supervision console (usage over time,
//! alerts, freezes, refusals, expiring grants, tracker exemptions).

use std::collections::{BTreeMap, HashMap};

use axum::Form;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::NaiveDate;
use gongshu_app::AppError;
use gongshu_domain::supervision::{AlertState, FreezeTarget};
use gongshu_ledger::hex;
use gongshu_policy::{Action, Subject};
use serde_json::{Value, json};

use crate::agreements::field;
use crate::pages::{Request, date, error_page, organization_names, render, respond};
use crate::requests::session_subject;
use crate::{Lang, Page, WebState};

/// `/ledger`: the latest checkpoint, the public key, recent entries, and
/// `?entry=N` checks one entry against the checkpoint.
pub(crate) async fn page(State(state): State<WebState>, request: Request) -> Page {
    let view = async {
        let app = &state.app;
        let head = app.ledger_head().await?;
        let checkpoint = app.latest_checkpoint().await?;
        let checkpoints = app.checkpoints().await?;
        let size = checkpoint.as_ref().map_or(0, |c| c.size);
        let asked = request.param("entry").map(str::trim).filter(|v| !v.is_empty());
        let check = match asked {
            None => Value::Null,
            Some(text) => match text.parse::<u64>() {
                Ok(index) if index < size => {
                    let proof = app.inclusion_proof(index, Some(size)).await?;
                    let leaf = gongshu_ledger::leaf_hash(proof.entry.body.as_bytes());
                    let root = checkpoint.as_ref().map(|c| c.root).unwrap_or_default();
                    let verified =
                        gongshu_ledger::tree::verify_inclusion(&leaf, index, size, &proof.hashes, &root).is_ok();
                    let pretty = serde_json::from_str::<Value>(&proof.entry.body)
                        .ok()
                        .and_then(|v| serde_json::to_string_pretty(&v).ok())
                        .unwrap_or_else(|| proof.entry.body.clone());
                    json!({
                        "index": index,
                        "entry": proof.entry.body,
                        "pretty": pretty,
                        "leaf": hex(&leaf),
                        "hashes": proof.hashes.iter().map(|h| hex(h)).collect::<Vec<_>>(),
                        "root": hex(&root),
                        "size": size,
                        "verified": verified,
                    })
                }
                _ => json!({ "error": true, "asked": text }),
            },
        };
        let recent_from = size.saturating_sub(15);
        let mut recent = Vec::new();
        for record in app.ledger_entries(recent_from, size - recent_from).await?.iter().rev() {
            let parsed = gongshu_ledger::Entry::parse(record.body.as_bytes()).ok();
            let what = match &parsed {
                Some(gongshu_ledger::Entry::State(c)) => {
                    format!("{} · {} · {}", c.entity, c.action, c.to.as_deref().unwrap_or(""))
                }
                Some(gongshu_ledger::Entry::Usage(u)) => {
                    format!("{} · {} · {}", u.mode, u.channel, if u.allowed { "allowed" } else { "refused" })
                }
                Some(gongshu_ledger::Entry::UsageOutcome(o)) => format!("{} bytes", o.bytes_out),
                Some(gongshu_ledger::Entry::Delivery(d)) => format!(
                    "{} × {} · {} 元",
                    d.units,
                    d.unit.as_deref().unwrap_or("free"),
                    gongshu_domain::pricing::yuan(d.fee_fen)
                ),
                None => String::new(),
            };
            recent.push(json!({
                "index": record.index,
                "kind": record.kind,
                "what": what,
                "at": date(request.lang, record.queued_at),
            }));
        }
        Ok::<_, AppError>(json!({
            "origin": app.ledger_origin(),
            "public_key": app.ledger_verifier().to_string(),
            "integrated": head.size,
            "checkpoint": checkpoint.as_ref().map(|c| json!({
                "size": c.size,
                "root": hex(&c.root),
                "note": c.note,
                "issued": date(request.lang, c.issued_at),
            })),
            "checkpoint_count": checkpoints.len(),
            "check": check,
            "recent": recent,
            "base_url": request.base_url,
        }))
    }
    .await;
    respond(&state, &request, "ledger.html", view)
}

/// The data tracker's rows for a dataset page, each linked to its entry.
pub(crate) async fn tracker_rows(state: &WebState, lang: Lang, resource_id: &str) -> Result<Value, AppError> {
    let tracker = state.app.data_tracker(&Subject::Anonymous, resource_id).await?;
    let mut rows = Vec::new();
    for row in tracker.rows.iter().take(50) {
        let entry = state.app.ledger_entry_of("usage", row.sample_seq).await?.map(|record| record.index);
        rows.push(json!({
            "day": row.day.to_string(),
            "org": row.org_name,
            "purpose": row.purpose,
            "mode": lang.text(&format!("mode_{}", row.mode)),
            "reads": row.reads,
            "rows": row.rows_out,
            "entry": entry,
        }));
    }
    Ok(json!({ "rows": rows, "delay_days": tracker.delay_days, "exempt": tracker.exemptions.len() }))
}

/// `/console/supervision`: the bureau's and auditors' overview.
pub(crate) async fn console(State(state): State<WebState>, request: Request) -> Response {
    let subject = session_subject(&state, &request.headers).await;
    if subject == Subject::Anonymous {
        return Redirect::to("/console/sign-in").into_response();
    }
    respond(&state, &request, "supervision.html", overview(&state, &subject, request.lang, vec![]).await)
        .into_response()
}

async fn overview(state: &WebState, subject: &Subject, lang: Lang, errors: Vec<String>) -> Result<Value, AppError> {
    let o = state.app.supervision(subject, 30).await?;
    let orgs = organization_names(state, lang).await?;
    let today = state.app.today();
    // Reads per day (allowed and refused) for the chart, and totals per key.
    let mut per_day: BTreeMap<NaiveDate, (i64, i64)> = BTreeMap::new();
    for offset in 0..30 {
        per_day.insert(today - chrono::Duration::days(29 - offset), (0, 0));
    }
    let mut by_grant: HashMap<(String, String, String, String), (i64, i64)> = HashMap::new();
    for d in &o.daily {
        let day = per_day.entry(d.day).or_default();
        if d.allowed {
            day.0 += d.reads;
        } else {
            day.1 += d.reads;
        }
        let key = (
            d.org_id.clone().unwrap_or_default(),
            d.grant_id.clone().unwrap_or_default(),
            d.resource_id.clone(),
            d.purpose.clone().unwrap_or_default(),
        );
        let total = by_grant.entry(key).or_default();
        if d.allowed {
            total.0 += d.reads;
            total.1 += d.rows_out;
        }
    }
    let titles: HashMap<String, String> = state
        .app
        .resources(subject, gongshu_app::ResourceQuery { limit: Some(100), ..Default::default() })
        .await?
        .items
        .into_iter()
        .map(|r| (r.id, r.draft.name_zh))
        .collect();
    let peak = per_day.values().map(|(a, r)| a + r).max().unwrap_or(0).max(1);
    let bars: Vec<Value> = per_day
        .iter()
        .enumerate()
        .map(|(i, (day, (allowed, refused)))| {
            let h = |n: i64| (n as f64 / peak as f64 * 100.0).round();
            json!({ "x": i * 20, "day": day.to_string(), "allowed": allowed, "refused": refused,
                    "h_allowed": h(*allowed), "h_refused": h(*refused) })
        })
        .collect();
    let mut totals: Vec<Value> = by_grant
        .into_iter()
        .filter(|(_, (reads, _))| *reads > 0)
        .map(|((org, grant, resource, purpose), (reads, rows))| {
            json!({ "org": orgs.get(&org).cloned().unwrap_or(org), "grant": grant,
                    "resource": titles.get(&resource).cloned().unwrap_or(resource), "purpose": purpose,
                    "reads": reads, "rows": rows })
        })
        .collect();
    totals.sort_by_key(|v| std::cmp::Reverse(v["reads"].as_i64().unwrap_or(0)));
    let may_intervene = gongshu_policy::decide(subject, Action::Intervene).is_allowed();
    let targets: Vec<Value> =
        [FreezeTarget::Resource, FreezeTarget::Grant, FreezeTarget::User, FreezeTarget::Organization]
            .iter()
            .map(|t| json!({"code": t.code(), "label": label(lang, t.label_zh(), t.code())}))
            .collect();
    Ok(json!({
        "bars": bars,
        "peak": peak,
        "totals": totals,
        "alerts": o.alerts.iter().map(|a| json!({
            "id": a.id, "rule": label(lang, a.rule.label_zh(), a.rule.code()), "rule_code": a.rule.code(),
            "summary": if lang == Lang::Zh { &a.summary_zh } else { &a.summary_en },
            "state": a.state.code(), "state_label": label(lang, a.state.label_zh(), a.state.code()),
            "org": a.org_id.as_ref().and_then(|id| orgs.get(id)).cloned(),
            "user_id": a.user_id, "grant_id": a.grant_id, "evidence": a.evidence.len(),
            "raised": date(lang, a.raised_at),
        })).collect::<Vec<_>>(),
        "freezes": o.freezes.iter().map(|f| json!({
            "id": f.id, "target": label(lang, f.target.label_zh(), f.target.code()), "target_id": f.target_id, "reason": f.reason,
            "active": f.is_active(), "frozen": date(lang, f.frozen_at),
            "released": f.released_at.map(|at| date(lang, at)), "decision": f.release_decision,
        })).collect::<Vec<_>>(),
        "denials": o.denials.iter().take(20).map(|e| json!({
            "at": date(lang, e.at), "org": e.org_id.as_ref().and_then(|id| orgs.get(id)).cloned(),
            "resource": titles.get(&e.resource_id).cloned().unwrap_or_else(|| e.resource_id.clone()),
            "reason": e.reason, "channel": e.channel,
        })).collect::<Vec<_>>(),
        "expiring": o.expiring.iter().map(|(grant, org, end)| json!({
            "grant": grant, "org": orgs.get(org).cloned().unwrap_or_default(), "end": end.to_string(),
        })).collect::<Vec<_>>(),
        "targets": targets,
        "may_intervene": may_intervene,
        "errors": errors,
    }))
}

/// A closed list's value as a reader sees it: its Chinese label, or its
/// code on English pages (the codes are English words).
fn label(lang: Lang, zh: &'static str, code: &'static str) -> String {
    match lang {
        Lang::Zh => zh.to_owned(),
        Lang::En => code.replace('_', " "),
    }
}

/// Posts from the supervision console: `freeze`, `release`, `acknowledge`,
/// `close`, `exempt`.
pub(crate) async fn act(
    State(state): State<WebState>,
    request: Request,
    Form(fields): Form<Vec<(String, String)>>,
) -> Response {
    let subject = session_subject(&state, &request.headers).await;
    if subject == Subject::Anonymous {
        return Redirect::to("/console/sign-in").into_response();
    }
    let app = &state.app;
    let get = |name: &str| field(&fields, name);
    let result = match get("action").as_str() {
        "freeze" => match FreezeTarget::parse("target", &get("target")) {
            Ok(target) => {
                let alert = get("alert_id");
                let alert = (!alert.is_empty()).then_some(alert);
                app.freeze(&subject, target, get("target_id").trim(), &get("reason"), alert.as_deref()).await.map(drop)
            }
            Err(error) => Err(AppError::from(error)),
        },
        "release" => app.release_freeze(&subject, &get("id"), &get("decision")).await.map(drop),
        "acknowledge" => app.handle_alert(&subject, &get("id"), AlertState::Acknowledged, &get("note")).await.map(drop),
        "close" => app.handle_alert(&subject, &get("id"), AlertState::Closed, &get("note")).await.map(drop),
        "exempt" => match NaiveDate::parse_from_str(get("until").trim(), "%Y-%m-%d") {
            Ok(until) => {
                app.exempt_from_tracker(&subject, get("grant_id").trim(), &get("reason"), until).await.map(drop)
            }
            Err(_) => Err(AppError::from(gongshu_domain::ValidationError::new(
                "until",
                "the day is written YYYY-MM-DD",
                "日期格式应为 YYYY-MM-DD",
            ))),
        },
        other => Err(AppError::from(gongshu_domain::ValidationError::new(
            "action",
            format!("unknown action `{other}`"),
            format!("未知操作「{other}」"),
        ))),
    };
    match result {
        Ok(()) => Redirect::to("/console/supervision").into_response(),
        Err(error @ (AppError::Validation(_) | AppError::Conflict { .. })) => {
            let status = if matches!(error, AppError::Conflict { .. }) {
                axum::http::StatusCode::CONFLICT
            } else {
                axum::http::StatusCode::UNPROCESSABLE_ENTITY
            };
            let errors = crate::sharing::lines(request.lang, &error);
            match overview(&state, &subject, request.lang, errors).await {
                Ok(view) => render(&state, &request, status, "supervision.html", view).into_response(),
                Err(error) => error_page(&state, &request, &error).into_response(),
            }
        }
        Err(error) => error_page(&state, &request, &error).into_response(),
    }
}
