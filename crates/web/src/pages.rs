//! The portal's pages: each handler reads through `App` as the public,
//! shapes a view for its template, and renders it in the request's language.

use std::collections::HashMap;

use arrow_array::RecordBatch;
use arrow_cast::display::{ArrayFormatter, FormatOptions};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use gongshu_app::{AppError, FacetKind, SearchRequest, SortOrder, open_kind};
use gongshu_domain::{DatasetVersion, OpenAttribute, Organization, Resource, SecurityLevel, UpdateCycle};
use gongshu_policy::Subject;
use serde::Serialize;
use serde_json::{Value, json};

use crate::{Lang, Page, WebState, chart};

const PAGE_SIZE: usize = 20;
const PREVIEW_ROWS: usize = 20;

/// What every page knows about its request.
pub(crate) struct Request {
    pub(crate) lang: Lang,
    remember: bool,
    path: String,
    pairs: Vec<(String, String)>,
    pub(crate) base_url: String,
    pub(crate) headers: HeaderMap,
}

impl axum::extract::FromRequestParts<WebState> for Request {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut axum::http::request::Parts, _: &WebState) -> Result<Self, Self::Rejection> {
        Ok(Request::new(&parts.uri, parts.uri.query().map(str::to_owned), &parts.headers))
    }
}

impl Request {
    fn new(uri: &Uri, query: Option<String>, headers: &HeaderMap) -> Request {
        let pairs: Vec<(String, String)> =
            url::form_urlencoded::parse(query.unwrap_or_default().as_bytes()).into_owned().collect();
        let query_lang = pairs.iter().find(|(k, _)| k == "lang").map(|(_, v)| v.as_str());
        let (lang, remember) = Lang::of_request(query_lang, headers);
        let pairs = pairs.into_iter().filter(|(k, _)| k != "lang").collect();
        let host = headers.get("host").and_then(|h| h.to_str().ok()).unwrap_or("127.0.0.1:8080");
        Request {
            lang,
            remember,
            path: uri.path().to_owned(),
            pairs,
            base_url: format!("http://{host}"),
            headers: headers.clone(),
        }
    }

    pub(crate) fn param(&self, name: &str) -> Option<&str> {
        self.pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str()).filter(|v| !v.trim().is_empty())
    }

    pub(crate) fn t(&self, key: &str) -> &'static str {
        self.lang.text(key)
    }

    /// This page in the other language.
    fn switch_href(&self) -> String {
        let other = if self.lang == Lang::Zh { "en" } else { "zh" };
        let mut pairs = self.pairs.clone();
        pairs.push(("lang".into(), other.into()));
        href(&self.path, &pairs)
    }
}

pub(crate) fn href(path: &str, pairs: &[(String, String)]) -> String {
    if pairs.is_empty() {
        return path.to_owned();
    }
    let query: String = url::form_urlencoded::Serializer::new(String::new()).extend_pairs(pairs).finish();
    format!("{path}?{query}")
}

pub(crate) fn render(state: &WebState, request: &Request, status: StatusCode, template: &str, view: Value) -> Page {
    let content_type =
        if template.ends_with(".xml") { "application/atom+xml; charset=utf-8" } else { "text/html; charset=utf-8" };
    let context = minijinja::context! {
        lang => request.lang.code(),
        t => request.lang.messages(),
        switch_href => request.switch_href(),
        section => request.path.trim_start_matches('/').split('/').next().unwrap_or(""),
        q => request.param("q").unwrap_or(""),
        ..minijinja::Value::from(minijinja::value::Serde(&view))
    };
    let rendered = state.templates.get_template(template).and_then(|t| t.render(context));
    match rendered {
        Ok(body) => Page { status, body, content_type, remember: request.remember.then_some(request.lang) },
        Err(error) => {
            tracing::error!(template, error = format!("{error:#}"), "a page did not render");
            Page {
                status: StatusCode::INTERNAL_SERVER_ERROR,
                body: format!("<!doctype html><title>500</title><p>{}</p>", request.t("error_text")),
                content_type: "text/html; charset=utf-8",
                remember: None,
            }
        }
    }
}

/// The page, or the error page when its view could not be made.
pub(crate) fn respond(state: &WebState, request: &Request, template: &str, view: Result<Value, AppError>) -> Page {
    match view {
        Ok(view) => render(state, request, StatusCode::OK, template, view),
        Err(error) => error_page(state, request, &error),
    }
}

/// Answers a form posted from a record's console page: back to `done` when
/// it worked; the error page for what that page cannot show (the record is
/// gone, or the server failed); otherwise the page again (422), made by
/// `page` with the error's lines above its forms.
pub(crate) async fn after_post<F, Fut>(
    state: &WebState,
    request: &Request,
    result: Result<(), AppError>,
    done: &str,
    template: &str,
    page: F,
) -> axum::response::Response
where
    F: FnOnce(Vec<String>) -> Fut,
    Fut: std::future::Future<Output = Result<Value, AppError>>,
{
    use axum::response::IntoResponse;
    match result {
        Ok(()) => axum::response::Redirect::to(done).into_response(),
        Err(error @ (AppError::NotFound { .. } | AppError::Internal(_))) => {
            error_page(state, request, &error).into_response()
        }
        Err(error) => match page(crate::sharing::lines(request.lang, &error)).await {
            Ok(view) => render(state, request, StatusCode::UNPROCESSABLE_ENTITY, template, view).into_response(),
            Err(error) => error_page(state, request, &error).into_response(),
        },
    }
}

pub(crate) fn error_page(state: &WebState, request: &Request, error: &AppError) -> Page {
    let (status, title, text) = match error {
        AppError::NotFound { .. } => (StatusCode::NOT_FOUND, "not_found_title", "not_found_text"),
        AppError::Forbidden { .. } | AppError::Unauthenticated(_) => {
            (StatusCode::FORBIDDEN, "forbidden_title", "forbidden_text")
        }
        other => {
            tracing::error!(error = %other, path = request.path, "a portal page failed");
            (StatusCode::INTERNAL_SERVER_ERROR, "error_title", "error_text")
        }
    };
    render(state, request, status, "error.html", json!({ "title": request.t(title), "text": request.t(text) }))
}

/// Unknown paths.
pub(crate) async fn not_found(State(state): State<WebState>, uri: Uri, headers: HeaderMap) -> Page {
    let request = Request::new(&uri, uri.query().map(str::to_owned), &headers);
    let error = AppError::NotFound { entity: "page", id: uri.path().to_owned() };
    error_page(&state, &request, &error)
}

/// Names of organizations in the request's language.
pub(crate) async fn organization_names(state: &WebState, lang: Lang) -> Result<HashMap<String, String>, AppError> {
    Ok(state.app.organizations().await?.into_iter().map(|o| (o.id.clone(), org_name(&o, lang))).collect())
}

fn org_name(org: &Organization, lang: Lang) -> String {
    match (lang, &org.name_en) {
        (Lang::En, Some(name)) if !name.is_empty() => name.clone(),
        _ => org.name_zh.clone(),
    }
}

fn open_label(lang: Lang, kind: &str) -> String {
    lang.text(&format!("open_{kind}")).to_owned()
}

fn title_case(code: &str) -> String {
    let spaced = code.replace(['-', '_'], " ");
    let mut chars = spaced.chars();
    chars.next().map_or_else(String::new, |first| first.to_uppercase().chain(chars).collect())
}

fn cycle_label(lang: Lang, code: &str) -> String {
    match (lang, UpdateCycle::parse("update_cycle", code)) {
        (Lang::Zh, Ok(cycle)) => cycle.label_zh().to_owned(),
        _ => title_case(code),
    }
}

fn level_label(lang: Lang, code: &str) -> String {
    match (lang, SecurityLevel::parse("level", code)) {
        (Lang::Zh, Ok(level)) => level.label_zh().to_owned(),
        _ => title_case(code),
    }
}

fn facet_label(lang: Lang, kind: FacetKind, value: &str, orgs: &HashMap<String, String>) -> String {
    match kind {
        FacetKind::Department => orgs.get(value).cloned().unwrap_or_else(|| value.to_owned()),
        FacetKind::Open => open_label(lang, value),
        FacetKind::UpdateCycle => cycle_label(lang, value),
        FacetKind::Level => level_label(lang, value),
        FacetKind::Theme | FacetKind::Format | FacetKind::Region => value.to_owned(),
        FacetKind::Origin => match (lang, value) {
            (Lang::Zh, "local") => "本平台".into(),
            (Lang::Zh, "harvested") => "区域协作采集".into(),
            (Lang::En, "local") => "This portal".into(),
            (Lang::En, "harvested") => "Harvested".into(),
            _ => value.to_owned(),
        },
    }
}

/// Facet values with their labels, most common first, then by label.
fn labelled(
    lang: Lang,
    kind: FacetKind,
    values: &[(String, u64)],
    orgs: &HashMap<String, String>,
) -> Vec<(String, String, u64)> {
    let mut labelled: Vec<(String, String, u64)> =
        values.iter().map(|(value, count)| (facet_label(lang, kind, value, orgs), value.clone(), *count)).collect();
    labelled.sort_by(|a, b| b.2.cmp(&a.2).then_with(|| a.0.cmp(&b.0)));
    labelled
}

pub(crate) fn date(lang: Lang, at: chrono::DateTime<chrono::Utc>) -> String {
    let local = at.with_timezone(&chrono::FixedOffset::east_opt(8 * 3600).expect("UTC+8 is a valid offset"));
    match lang {
        Lang::Zh => local.format("%Y年%-m月%-d日").to_string(),
        Lang::En => local.format("%-d %b %Y").to_string(),
    }
}

/// A dataset as lists show it.
#[derive(Serialize)]
struct Card {
    id: String,
    title: String,
    title_html: Option<String>,
    description: String,
    description_html: Option<String>,
    provider: String,
    provider_id: String,
    theme: String,
    open: &'static str,
    open_label: String,
    updated: String,
    updated_iso: String,
}

fn card(resource: &Resource, lang: Lang, orgs: &HashMap<String, String>) -> Card {
    let draft = &resource.draft;
    let (title, description) = match lang {
        Lang::En => (
            draft.name_en.clone().filter(|n| !n.is_empty()).unwrap_or_else(|| draft.name_zh.clone()),
            draft.abstract_en.clone().filter(|a| !a.is_empty()).unwrap_or_else(|| draft.abstract_zh.clone()),
        ),
        Lang::Zh => (draft.name_zh.clone(), draft.abstract_zh.clone()),
    };
    let description = if description.chars().count() > 140 {
        description.chars().take(140).chain(['…']).collect()
    } else {
        description
    };
    let open = open_kind(&draft.open);
    Card {
        id: resource.id.clone(),
        title,
        title_html: None,
        description,
        description_html: None,
        provider: orgs.get(&resource.provider_org_id).cloned().unwrap_or_default(),
        provider_id: resource.provider_org_id.clone(),
        theme: draft.theme.clone(),
        open,
        open_label: open_label(lang, open),
        updated: date(lang, resource.updated_at),
        updated_iso: resource.updated_at.to_rfc3339(),
    }
}

async fn cards(
    state: &WebState,
    lang: Lang,
    orgs: &HashMap<String, String>,
    request: SearchRequest,
) -> Result<(Vec<Card>, gongshu_app::SearchResults), AppError> {
    let found = state.app.search_catalog(request).await?;
    let highlight = lang == Lang::Zh;
    let cards = found
        .resources
        .iter()
        .zip(&found.results.hits)
        .map(|(resource, hit)| {
            let mut card = card(resource, lang, orgs);
            if highlight {
                card.title_html = Some(hit.title_html.clone());
                card.description_html = Some(hit.description_html.clone()).filter(|h| !h.is_empty());
            }
            card
        })
        .collect();
    Ok((cards, found.results))
}

/// `/`: the search box, what is new, and the catalog by department and theme.
pub(crate) async fn home(State(state): State<WebState>, request: Request) -> Page {
    respond(&state, &request, "home.html", home_view(&state, &request).await)
}

async fn home_view(state: &WebState, request: &Request) -> Result<Value, AppError> {
    let lang = request.lang;
    let orgs = organization_names(state, lang).await?;
    let newest = SearchRequest { sort: SortOrder::Published, limit: 6, ..SearchRequest::default() };
    let (featured, results) = cards(state, lang, &orgs, newest).await?;
    let updated = SearchRequest { sort: SortOrder::Updated, limit: 6, ..SearchRequest::default() };
    let (recent, _) = cards(state, lang, &orgs, updated).await?;
    let facet = |kind: FacetKind| -> Vec<Value> {
        labelled(lang, kind, results.facets.get(&kind).map_or(&[][..], Vec::as_slice), &orgs)
            .into_iter()
            .map(|(label, value, count)| {
                json!({
                    "label": label,
                    "count": count,
                    "href": href("/datasets", &[(kind.name().to_owned(), value)]),
                })
            })
            .collect()
    };
    Ok(json!({
        "total": results.total,
        "departments": facet(FacetKind::Department),
        "themes": facet(FacetKind::Theme),
        "featured": featured,
        "recent": recent,
    }))
}

/// `/datasets`: ranked search with facets, sorting and pages.
pub(crate) async fn search(State(state): State<WebState>, request: Request) -> Page {
    respond(&state, &request, "search.html", search_view(&state, &request).await)
}

async fn search_view(state: &WebState, request: &Request) -> Result<Value, AppError> {
    let lang = request.lang;
    let orgs = organization_names(state, lang).await?;
    let filters: Vec<(FacetKind, String)> = request
        .pairs
        .iter()
        .filter_map(|(k, v)| Some((FacetKind::parse(k)?, v.clone())))
        .filter(|(_, v)| !v.is_empty())
        .collect();
    let sort = SortOrder::parse(request.param("sort").unwrap_or("")).unwrap_or_default();
    let page: usize = request.param("page").and_then(|p| p.parse().ok()).filter(|p| *p >= 1).unwrap_or(1);
    let search = SearchRequest {
        text: request.param("q").unwrap_or("").to_owned(),
        filters: filters.clone(),
        sort,
        limit: PAGE_SIZE,
        offset: (page - 1) * PAGE_SIZE,
    };
    let (cards, results) = cards(state, lang, &orgs, search).await?;

    // Links keep every other parameter and drop the page number.
    let base: Vec<(String, String)> = request.pairs.iter().filter(|(k, _)| k != "page").cloned().collect();
    let facets: Vec<Value> = FacetKind::ALL
        .iter()
        .filter_map(|kind| {
            let values = results.facets.get(kind)?;
            if values.is_empty() {
                return None;
            }
            let items: Vec<Value> = labelled(lang, *kind, values, &orgs)
                .into_iter()
                .take(12)
                .map(|(label, value, count)| {
                    let selected = filters.iter().any(|(k, v)| k == kind && *v == value);
                    let mut pairs = base.clone();
                    if selected {
                        pairs.retain(|(k, v)| !(k == kind.name() && *v == value));
                    } else {
                        pairs.push((kind.name().to_owned(), value.clone()));
                    }
                    json!({
                        "label": label,
                        "count": count,
                        "selected": selected,
                        "href": href("/datasets", &pairs),
                    })
                })
                .collect();
            Some(json!({ "title": request.t(&format!("facet_{}", kind.name())), "items": items }))
        })
        .collect();
    let active: Vec<Value> = filters
        .iter()
        .map(|(kind, value)| {
            let pairs: Vec<(String, String)> =
                base.iter().filter(|(k, v)| !(k == kind.name() && v == value)).cloned().collect();
            json!({
                "facet": request.t(&format!("facet_{}", kind.name())),
                "label": facet_label(lang, *kind, value, &orgs),
                "href": href("/datasets", &pairs),
            })
        })
        .collect();
    let pages = results.total.div_ceil(PAGE_SIZE).max(1);
    let page_href = |number: usize| {
        let mut pairs = base.clone();
        pairs.push(("page".into(), number.to_string()));
        href("/datasets", &pairs)
    };
    let hidden: Vec<Value> =
        base.iter().filter(|(k, _)| k != "q" && k != "sort").map(|(k, v)| json!({ "name": k, "value": v })).collect();
    let sort_code = match sort {
        SortOrder::Relevance => "relevance",
        SortOrder::Updated => "updated",
        SortOrder::Published => "published",
    };
    Ok(json!({
        "total": results.total,
        "matched_all_words": results.matched_all_words,
        "cards": cards,
        "facets": facets,
        "active": active,
        "clear_href": request.param("q").map_or_else(|| "/datasets".to_owned(), |q| href("/datasets", &[("q".into(), q.to_owned())])),
        "sort": sort_code,
        "hidden": hidden,
        "page": page,
        "pages": pages,
        "previous_href": (page > 1).then(|| page_href(page - 1)),
        "next_href": (page < pages).then(|| page_href(page + 1)),
    }))
}

/// A column of a version's schema.
#[derive(Debug, Clone, serde::Deserialize)]
struct SchemaColumn {
    name: String,
    #[serde(rename = "type")]
    column_type: String,
}

fn schema_columns(version: &DatasetVersion) -> Vec<SchemaColumn> {
    serde_json::from_str::<Value>(&version.schema_json)
        .ok()
        .and_then(|v| serde_json::from_value(v["columns"].clone()).ok())
        .unwrap_or_default()
}

fn profile_of(version: &DatasetVersion) -> Value {
    serde_json::from_str::<Value>(&version.profile_json).map(|v| v["profile"].clone()).unwrap_or(Value::Null)
}

fn size(bytes: i64) -> String {
    let bytes = bytes as f64;
    if bytes >= 1024.0 * 1024.0 {
        format!("{:.1} MiB", bytes / 1024.0 / 1024.0)
    } else if bytes >= 1024.0 {
        format!("{:.1} KiB", bytes / 1024.0)
    } else {
        format!("{bytes:.0} B")
    }
}

/// Cells of record batches as text, nulls empty.
fn rows(batches: &[RecordBatch]) -> Vec<Vec<String>> {
    let options = FormatOptions::default();
    let mut rows = Vec::new();
    for batch in batches {
        let formatters: Vec<_> =
            batch.columns().iter().filter_map(|c| ArrayFormatter::try_new(c.as_ref(), &options).ok()).collect();
        for row in 0..batch.num_rows() {
            rows.push(
                batch
                    .columns()
                    .iter()
                    .zip(&formatters)
                    .map(|(column, f)| if column.is_null(row) { String::new() } else { f.value(row).to_string() })
                    .collect(),
            );
        }
    }
    rows
}

/// `/datasets/{id}`: everything about one dataset, with a preview and a chart.
pub(crate) async fn dataset(State(state): State<WebState>, Path(id): Path<String>, request: Request) -> Page {
    respond(&state, &request, "dataset.html", dataset_view(&state, &request, &id).await)
}

async fn dataset_view(state: &WebState, request: &Request, id: &str) -> Result<Value, AppError> {
    let lang = request.lang;
    let public = Subject::Anonymous;
    let resource = state.app.resource(&public, id).await?.resource;
    let provider = state.app.organization(&resource.provider_org_id).await?;
    let orgs: HashMap<String, String> = [(provider.id.clone(), org_name(&provider, lang))].into();
    let draft = &resource.draft;
    let versions = state.app.versions(&public, id).await?;
    let newest = versions.first();
    let columns = newest.map(schema_columns).unwrap_or_default();

    let (open_text_key, open_text) = match &draft.open {
        OpenAttribute::Unconditional => ("", String::new()),
        OpenAttribute::Conditional { conditions } => ("open_conditions", conditions.clone()),
        OpenAttribute::NotOpen { legal_basis } => ("legal_basis", legal_basis.clone()),
    };
    let mut metadata = vec![
        (request.t("provider"), org_name(&provider, lang)),
        (request.t("theme"), draft.theme.clone()),
        (request.t("open_attribute"), open_label(lang, open_kind(&draft.open))),
        (request.t("update_cycle"), cycle_label(lang, draft.update_cycle.code())),
        (request.t("level"), level_label(lang, draft.level().code())),
    ];
    if !open_text_key.is_empty() {
        metadata.push((request.t(open_text_key), open_text));
    }
    if let Some(code) = &resource.registration_code {
        metadata.push((request.t("registration_code"), code.as_str().to_owned()));
    }
    if let Some(license) = &draft.license {
        metadata.push((request.t("license"), license.clone()));
    }
    if draft.time_coverage_start.is_some() || draft.time_coverage_end.is_some() {
        let show = |d: Option<chrono::NaiveDate>| d.map_or_else(|| "…".to_owned(), |d| d.to_string());
        metadata.push((
            request.t("time_coverage"),
            format!("{} – {}", show(draft.time_coverage_start), show(draft.time_coverage_end)),
        ));
    }
    if let Some(region) = &draft.spatial_coverage {
        metadata.push((request.t("spatial_coverage"), region.as_str().to_owned()));
    }
    if !draft.keywords.is_empty() {
        metadata.push((request.t("keywords"), draft.keywords.join("、")));
    }
    if let Some(published) = resource.published_at {
        metadata.push((request.t("published"), date(lang, published)));
    }
    metadata.push((request.t("updated"), date(lang, resource.updated_at)));

    let items: Vec<Value> = draft
        .items
        .iter()
        .map(|item| {
            json!({
                "name": item.name,
                "title": item.title,
                "type": item.data_type.code(),
                "unit": item.unit.clone().unwrap_or_default(),
                "description": item.description.clone().unwrap_or_default(),
            })
        })
        .collect();
    let version_rows: Vec<Value> = versions
        .iter()
        .map(|v| {
            json!({
                "version": v.version,
                "rows": v.row_count,
                "size": size(v.source_bytes),
                "source": v.source_name,
                "loaded": date(lang, v.created_at),
                "hash": v.content_hash,
            })
        })
        .collect();
    let profile = newest.map(profile_of).unwrap_or(Value::Null);

    // The preview and the chart come through the access gateway.
    let page: usize = request.param("page").and_then(|p| p.parse().ok()).filter(|p| *p >= 1).unwrap_or(1);
    let mut params: Vec<(String, String)> =
        vec![("_limit".into(), PREVIEW_ROWS.to_string()), ("_offset".into(), ((page - 1) * PREVIEW_ROWS).to_string())];
    let mut filter_inputs = Vec::new();
    for column in &columns {
        let value = request.param(&format!("f.{}", column.name)).unwrap_or("").trim().to_owned();
        if !value.is_empty() {
            let param =
                if column.column_type == "text" { format!("{}__contains", column.name) } else { column.name.clone() };
            params.push((param, value.clone()));
        }
        let title =
            draft.items.iter().find(|i| i.name == column.name && i.title != column.name).map(|i| i.title.as_str());
        let label = title.map_or_else(|| column.name.clone(), |title| format!("{title} ({})", column.name));
        filter_inputs.push(json!({ "name": format!("f.{}", column.name), "label": label, "value": value }));
    }
    let mut preview = json!(null);
    let mut preview_error = String::new();
    let mut data_state = "none";
    if newest.is_some() {
        match state.app.query_data(&public, id, &params).await {
            Ok(data) => {
                data_state = "open";
                let total = data.page.total as usize;
                let pages = total.div_ceil(PREVIEW_ROWS).max(1);
                let base: Vec<(String, String)> = request.pairs.iter().filter(|(k, _)| k != "page").cloned().collect();
                let page_href = |number: usize| {
                    let mut pairs = base.clone();
                    pairs.push(("page".into(), number.to_string()));
                    format!("{}#preview", href(&request.path, &pairs))
                };
                let shown = rows(&data.page.batches);
                let titles: HashMap<&str, &str> =
                    draft.items.iter().map(|i| (i.name.as_str(), i.title.as_str())).collect();
                let columns: Vec<Value> = data
                    .page
                    .schema
                    .fields()
                    .iter()
                    .map(|f| {
                        let title = titles.get(f.name().as_str()).copied().unwrap_or("");
                        json!({ "name": f.name(), "title": if title == f.name() { "" } else { title } })
                    })
                    .collect();
                preview = json!({
                    "columns": columns,
                    "rows": shown,
                    "first": if total == 0 { 0 } else { (page - 1) * PREVIEW_ROWS + 1 },
                    "last": (page - 1) * PREVIEW_ROWS + shown.len(),
                    "total": total,
                    "page": page,
                    "pages": pages,
                    "previous_href": (page > 1).then(|| page_href(page - 1)),
                    "next_href": (page < pages).then(|| page_href(page + 1)),
                });
            }
            Err(AppError::Forbidden { .. }) => data_state = "closed",
            Err(AppError::Validation(problems)) => {
                data_state = "open";
                preview_error = problems
                    .0
                    .iter()
                    .map(|p| if lang == Lang::Zh { p.message_zh.clone() } else { p.message_en.clone() })
                    .collect::<Vec<_>>()
                    .join("; ");
            }
            Err(other) => return Err(other),
        }
    }
    let chart = if data_state == "open" { chart_for(state, request, id, &columns, &profile).await } else { None };
    let provenance = state.app.provenance(id).await?.map(|from| {
        let files: Vec<Value> = from
            .distributions
            .iter()
            .filter_map(|d| {
                let url = d.url.as_deref().and_then(gongshu_app::web_url)?;
                let title = d.title.clone().unwrap_or_else(|| url.rsplit('/').next().unwrap_or(&url).to_owned());
                // "日报数据（CSV）" needs no "(CSV)" after it.
                let format = d.format.clone().filter(|f| !title.contains(f.as_str())).unwrap_or_default();
                Some(json!({ "title": title, "format": format, "url": url }))
            })
            .collect();
        json!({
            "portal": org_name(&from.portal, lang),
            "portal_id": from.portal.id,
            "url": from.source.url,
            "landing_page": from.record.landing_page.as_deref().and_then(gongshu_app::web_url),
            "publisher": from.record.publisher,
            "remote_id": from.record.remote_id,
            "harvested": date(lang, from.record.harvested_at),
            "present": from.record.present,
            "files": files,
        })
    });
    if provenance.is_some() {
        // The data stays at the source: no preview, downloads or API examples here.
        data_state = "harvested";
    }

    let downloads: Vec<Value> = ["csv", "csv-bom", "csv-gb18030", "xlsx", "json", "ndjson", "parquet"]
        .iter()
        .map(|format| {
            json!({
                "label": request.t(&format!("download_{}", format.replace('-', "_"))),
                "href": format!("/api/v1/resources/{id}/download?format={format}"),
            })
        })
        .collect();
    let api_base = &request.base_url;
    let first_text = columns.iter().find(|c| c.column_type == "text").map(|c| c.name.clone());
    let example_filter = first_text.map(|c| format!("&{c}__contains=…")).unwrap_or_default();
    let curl = format!(
        "curl '{api_base}/api/v1/resources/{id}/data?_limit=10{example_filter}'\ncurl -o data.csv '{api_base}/api/v1/resources/{id}/download?format=csv'"
    );
    let python = format!(
        "import requests\n\nurl = \"{api_base}/api/v1/resources/{id}/data\"\npage = requests.get(url, params={{\"_limit\": 100}}).json()\nprint(page[\"total\"], page[\"records\"][:3])\n\n# pandas: pd.read_csv(\"{api_base}/api/v1/resources/{id}/download?format=csv\")"
    );

    let mut card = card(&resource, lang, &orgs);
    // Lists shorten the abstract; its own page shows all of it.
    card.description = match lang {
        Lang::En => draft.abstract_en.clone().filter(|a| !a.is_empty()).unwrap_or_else(|| draft.abstract_zh.clone()),
        Lang::Zh => draft.abstract_zh.clone(),
    };
    // 数据使用追踪: who used the data under a grant, and why.
    // Best effort: the dataset page stands without its tracker.
    let tracker = if data_state == "harvested" {
        Value::Null
    } else {
        crate::ledger::tracker_rows(state, lang, id).await.unwrap_or_else(|error| {
            tracing::warn!(%error, resource = id, "the data tracker could not be read");
            Value::Null
        })
    };
    Ok(json!({
        "tracker": tracker,
        "dataset": card,
        "metadata": metadata.into_iter().map(|(k, v)| json!({"label": k, "value": v})).collect::<Vec<_>>(),
        "items": items,
        "versions": version_rows,
        "profile": profile,
        "data_state": data_state,
        "preview": preview,
        "preview_error": preview_error,
        "filters": filter_inputs,
        "filters_active": request.pairs.iter().any(|(k, v)| k.starts_with("f.") && !v.is_empty()),
        "chart": chart,
        "provenance": provenance,
        "downloads": if data_state == "open" { downloads } else { vec![] },
        "curl": curl,
        "python": python,
    }))
}

/// A chart chosen from the data: counts over a category column with a few
/// distinct values (bars), or else over a date column (a line).
async fn chart_for(
    state: &WebState,
    request: &Request,
    id: &str,
    columns: &[SchemaColumn],
    profile: &Value,
) -> Option<Value> {
    let distinct = |name: &str| -> u64 {
        profile["columns"]
            .as_array()
            .and_then(|cs| cs.iter().find(|c| c["name"] == name))
            .and_then(|c| c["distinct_estimate"].as_u64())
            .unwrap_or(0)
    };
    // Any column with a few distinct values draws as bars, any date column
    // as a line; the reader may pick another than the first (`chart=`).
    let candidates: Vec<&SchemaColumn> = columns
        .iter()
        .filter(|c| (c.column_type == "text" && (2..=30).contains(&distinct(&c.name))) || c.column_type == "date")
        .collect();
    let wanted = request.param("chart").and_then(|name| candidates.iter().find(|c| c.name == name));
    let column = *wanted.or_else(|| candidates.iter().find(|c| c.column_type == "text")).or(candidates.first())?;
    let bars = column.column_type == "text";
    let params = if bars {
        vec![("_group_by", column.name.clone()), ("_sort", "-count".into()), ("_limit", "12".into())]
    } else {
        // Daily rows counted per day draw a flat line: months say more.
        let key = if distinct(&column.name) > 60 { format!("{}:month", column.name) } else { column.name.clone() };
        vec![("_group_by", key), ("_sort", column.name.clone()), ("_limit", "400".into())]
    };
    let options: Vec<Value> =
        candidates.iter().map(|c| json!({ "name": c.name, "selected": c.name == column.name })).collect();
    let params: Vec<(String, String)> = params.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
    let data = match state.app.query_data(&Subject::Anonymous, id, &params).await {
        Ok(data) => data,
        Err(error) => {
            tracing::warn!(%error, id, "no chart for this dataset");
            return None;
        }
    };
    let points: Vec<(String, f64)> = rows(&data.page.batches)
        .into_iter()
        .filter_map(|row| Some((row.first()?.clone(), row.get(1)?.parse::<f64>().ok()?)))
        .collect();
    if points.len() < 2 {
        return None;
    }
    let title = format!("{} {}", request.t("chart_count_by"), column.name);
    let svg = if bars { chart::bars(&title, &points) } else { chart::line(&title, &points) };
    Some(json!({ "title": title, "svg": svg, "options": options }))
}

/// `/organizations`: every department with open data, with its count.
pub(crate) async fn organizations(State(state): State<WebState>, request: Request) -> Page {
    let view = async {
        let orgs = state.app.organizations().await?;
        let all = state.app.search_catalog(SearchRequest { limit: 1, ..SearchRequest::default() }).await?;
        let counts: HashMap<&str, u64> = all
            .results
            .facets
            .get(&FacetKind::Department)
            .into_iter()
            .flatten()
            .map(|(id, count)| (id.as_str(), *count))
            .collect();
        let mut listed: Vec<Value> = orgs
            .iter()
            .filter_map(|org| {
                let count = *counts.get(org.id.as_str())?;
                Some(json!({ "id": org.id, "name": org_name(org, request.lang), "count": count }))
            })
            .collect();
        listed.sort_by(|a, b| b["count"].as_u64().cmp(&a["count"].as_u64()));
        Ok::<_, AppError>(json!({ "organizations": listed }))
    };
    respond(&state, &request, "organizations.html", view.await)
}

/// `/harvest`: the portals whose open catalogs this one harvests, with each
/// one's last result.
pub(crate) async fn harvest_sources(State(state): State<WebState>, request: Request) -> Page {
    let view = async {
        let lang = request.lang;
        let sources: Vec<Value> = state
            .app
            .harvest_sources()
            .await?
            .into_iter()
            .map(|view| {
                let report: Option<gongshu_app::HarvestReport> =
                    view.source.last_report.as_deref().and_then(|r| serde_json::from_str(r).ok());
                let result = report.map(|r| match (&r.error_en, &r.error_zh) {
                    (Some(en), Some(zh)) => {
                        if lang == Lang::Zh {
                            zh.clone()
                        } else {
                            en.clone()
                        }
                    }
                    _ if lang == Lang::Zh => format!(
                        "列出 {} 个：新增 {}，更新 {}，未变 {}，下架 {}",
                        r.listed, r.created, r.updated, r.unchanged, r.withdrawn
                    ),
                    _ => format!(
                        "{} listed: {} new, {} updated, {} unchanged, {} withdrawn",
                        r.listed, r.created, r.updated, r.unchanged, r.withdrawn
                    ),
                });
                json!({
                    "id": view.portal.id,
                    "name": org_name(&view.portal, lang),
                    "kind": view.source.kind.code(),
                    "url": view.source.url,
                    "entries": view.entries,
                    "last_run": view.source.last_run_at.map(|at| date(lang, at)),
                    "result": result,
                })
            })
            .collect();
        Ok::<_, AppError>(json!({ "sources": sources, "section": "organizations" }))
    };
    respond(&state, &request, "harvest.html", view.await)
}

/// `/dataset/{id}`: CKAN's address of a dataset page, which harvesters
/// link to, sent on to this portal's own.
pub(crate) async fn ckan_dataset_page(Path(id): Path<String>) -> axum::response::Redirect {
    let id: String = url::form_urlencoded::byte_serialize(id.as_bytes()).collect();
    axum::response::Redirect::permanent(&format!("/datasets/{id}"))
}

/// `/organizations/{id}`: one department and its open datasets.
pub(crate) async fn organization(State(state): State<WebState>, Path(id): Path<String>, request: Request) -> Page {
    let view = async {
        let org = state.app.organization(&id).await?;
        let orgs: HashMap<String, String> = [(org.id.clone(), org_name(&org, request.lang))].into();
        let search = SearchRequest {
            filters: vec![(FacetKind::Department, id.clone())],
            sort: SortOrder::Updated,
            limit: 100,
            ..SearchRequest::default()
        };
        let (cards, results) = cards(&state, request.lang, &orgs, search).await?;
        Ok::<_, AppError>(json!({
            "name": org_name(&org, request.lang),
            "region": org.region.as_str(),
            "credit_code": org.code.as_ref().map(|c| c.as_str().to_owned()),
            "total": results.total,
            "cards": cards,
        }))
    };
    respond(&state, &request, "organization.html", view.await)
}

async fn recent_changes(state: &WebState, request: &Request) -> Result<Vec<Card>, AppError> {
    let orgs = organization_names(state, request.lang).await?;
    let newest = SearchRequest { sort: SortOrder::Updated, limit: 50, ..SearchRequest::default() };
    Ok(cards(state, request.lang, &orgs, newest).await?.0)
}

/// `/whats-new`: the open catalog's latest changes (开放目录动态更新).
pub(crate) async fn whats_new(State(state): State<WebState>, request: Request) -> Page {
    let view = recent_changes(&state, &request).await.map(|cards| json!({ "cards": cards }));
    respond(&state, &request, "whats_new.html", view)
}

/// `/feed.atom`: the same changes as an Atom feed.
pub(crate) async fn feed(State(state): State<WebState>, request: Request) -> Page {
    match recent_changes(&state, &request).await {
        Ok(cards) => {
            let updated = cards.first().map_or_else(|| chrono::Utc::now().to_rfc3339(), |c| c.updated_iso.clone());
            let view = json!({ "cards": cards, "updated": updated, "base_url": request.base_url });
            render(&state, &request, StatusCode::OK, "feed.xml", view)
        }
        Err(error) => error_page(&state, &request, &error),
    }
}
