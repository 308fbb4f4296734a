//! The CKAN actions Gongshu answers, each mapped onto one or two use cases.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use arrow_array::RecordBatch;
use arrow_schema::{DataType, Schema};
use gongshu_app::{App, FacetKind, ResourceQuery, SearchRequest, SortOrder, open_kind};
use gongshu_domain::{DatasetVersion, Organization, Resource};
use gongshu_policy::Subject;
use serde_json::{Map, Value, json};

use crate::{CkanError, write};

/// One action call.
pub(crate) struct Context<'a> {
    pub(crate) app: &'a App,
    pub(crate) subject: Subject,
    pub(crate) params: Map<String, Value>,
    pub(crate) upload: Option<crate::Upload>,
    pub(crate) base_url: String,
}

impl Context<'_> {
    pub(crate) fn text(&self, key: &str) -> Option<String> {
        match self.params.get(key)? {
            Value::String(s) => Some(s.clone()).filter(|s| !s.is_empty()),
            Value::Number(n) => Some(n.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            _ => None,
        }
    }

    pub(crate) fn required(&self, key: &str) -> Result<String, CkanError> {
        self.text(key).ok_or_else(|| CkanError::validation(key, "Missing value"))
    }

    pub(crate) fn number(&self, key: &str, default: usize, max: usize) -> Result<usize, CkanError> {
        let value = match self.params.get(key) {
            None | Some(Value::Null) => return Ok(default),
            Some(Value::Number(n)) => n.as_u64().map(|n| n as usize),
            Some(Value::String(s)) if s.is_empty() => return Ok(default),
            Some(Value::String(s)) => s.trim().parse().ok(),
            _ => None,
        };
        let value = value.ok_or_else(|| CkanError::validation(key, "Invalid integer"))?;
        if value > max {
            return Err(CkanError::validation(key, format!("Must be less than or equal to {max}")));
        }
        Ok(value)
    }

    pub(crate) fn flag(&self, key: &str) -> bool {
        match self.params.get(key) {
            Some(Value::Bool(b)) => *b,
            Some(Value::String(s)) => matches!(s.to_ascii_lowercase().as_str(), "true" | "1" | "yes" | "on"),
            Some(Value::Number(n)) => n.as_u64() == Some(1),
            _ => false,
        }
    }

    /// A list given as a JSON list, one string, or a comma-separated string.
    pub(crate) fn list(&self, key: &str) -> Vec<String> {
        match self.params.get(key) {
            Some(Value::Array(items)) => items.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect(),
            Some(Value::String(s)) => {
                let trimmed = s.trim();
                if trimmed.starts_with('[') {
                    serde_json::from_str::<Vec<String>>(trimmed).unwrap_or_default()
                } else {
                    trimmed.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect()
                }
            }
            _ => vec![],
        }
    }
}

/// The entry a dataset id or CKAN name stands for. Entries have UUIDs; a
/// dataset created through CKAN with a `name` and no `id` gets the name's
/// UUID (version 5), so `package_show {"id": name}` finds it and
/// `ckanapi load` run twice updates instead of creating twice.
pub(crate) fn dataset_id(id_or_name: &str) -> String {
    let text = id_or_name.trim();
    match uuid::Uuid::parse_str(text) {
        Ok(id) => id.hyphenated().to_string(),
        Err(_) => uuid::Uuid::new_v5(&CKAN_NAMES, text.to_lowercase().as_bytes()).hyphenated().to_string(),
    }
}

/// The namespace of CKAN names' UUIDs (a v5 UUID of `gongshu:ckan-name` in the URL namespace).
const CKAN_NAMES: uuid::Uuid = uuid::Uuid::from_u128(0x770e_b4dd_6eb5_5e11_93f4_031c_db6e_c20f);

pub(crate) async fn run(name: &str, cx: Context<'_>) -> Result<Value, CkanError> {
    match name {
        "status_show" => Ok(status_show(&cx)),
        "package_list" => package_list(&cx).await,
        "current_package_list_with_resources" => current_packages(&cx).await,
        "package_search" => package_search(&cx).await,
        "package_show" => package_show(&cx).await,
        "resource_show" => resource_show(&cx).await,
        "organization_list" => organization_list(&cx).await,
        "organization_show" => organization_show(&cx).await,
        "group_list" => group_list(&cx).await,
        "group_show" => group_show(&cx).await,
        "tag_list" => tag_list(&cx).await,
        "datastore_search" => datastore_search(&cx).await,
        "datastore_search_sql" => datastore_search_sql(&cx).await,
        "package_create" => write::package_create(&cx).await,
        "package_update" | "package_patch" => write::package_update(&cx).await,
        "package_delete" => write::package_delete(&cx).await,
        "resource_create" | "resource_update" | "resource_patch" => write::resource_upload(&cx, name).await,
        "organization_create" => write::organization_create(&cx).await,
        other => Err(CkanError {
            status: axum::http::StatusCode::BAD_REQUEST,
            kind: "Bad Request",
            message: format!("Bad request - Action name not known: {other}"),
            fields: None,
        }),
    }
}

fn status_show(cx: &Context<'_>) -> Value {
    json!({
        "site_title": "公共数据开放平台 (Gongshu)",
        "site_description": "Public data resources catalog and open data portal",
        "site_url": cx.base_url,
        "ckan_version": "2.10.0",
        "extensions": ["datastore", "gongshu"],
        "locale_default": "zh_Hans_CN",
    })
}

fn timestamp(at: chrono::DateTime<chrono::Utc>) -> String {
    // CKAN's format: ISO 8601 without a zone, in UTC.
    at.naive_utc().format("%Y-%m-%dT%H:%M:%S%.6f").to_string()
}

pub(crate) fn organization_dict(org: &Organization, package_count: Option<u64>) -> Value {
    let mut dict = json!({
        "id": org.id,
        "name": org.id,
        "title": org.name_zh,
        "display_name": org.name_zh,
        "title_en": org.name_en,
        "description": "",
        "type": "organization",
        "is_organization": true,
        "state": "active",
        "approval_status": "approved",
        "image_url": "",
        "created": timestamp(org.created_at),
        "region": org.region.as_str(),
        "credit_code": org.code.as_ref().map(|c| c.as_str().to_owned()),
    });
    if let Some(count) = package_count {
        dict["package_count"] = json!(count);
    }
    dict
}

fn group_dict(theme: &str, count: u64) -> Value {
    json!({
        "id": theme,
        "name": theme,
        "title": theme,
        "display_name": theme,
        "description": "",
        "type": "group",
        "is_organization": false,
        "state": "active",
        "image_url": "",
        "package_count": count,
    })
}

pub(crate) fn resource_dict(resource: &Resource, newest: Option<&DatasetVersion>, base_url: &str) -> Value {
    let id = &resource.id;
    json!({
        "id": id,
        "package_id": id,
        "name": format!("{} (CSV)", resource.draft.name_zh),
        "description": resource.draft.abstract_zh,
        "format": "CSV",
        "mimetype": "text/csv",
        "url": format!("{base_url}/api/v1/resources/{id}/download?format=csv"),
        "url_type": "datastore",
        "datastore_active": newest.is_some(),
        // `size` and `hash` describe the file at `url`, a CSV encoded on
        // request; clients such as frictionless check them, so they are
        // left empty and the stored Parquet file's figures are given apart.
        "size": null,
        "hash": "",
        "parquet_bytes": newest.map(|v| v.parquet_bytes),
        "parquet_sha256": newest.map(|v| v.content_hash.clone()),
        "created": timestamp(newest.map_or(resource.created_at, |v| v.created_at)),
        "last_modified": newest.map(|v| timestamp(v.created_at)),
        "metadata_modified": timestamp(resource.updated_at),
        "position": 0,
        "state": "active",
        "version": newest.map(|v| v.version),
        "parquet_url": format!("{base_url}/api/v1/resources/{id}/download?format=parquet"),
    })
}

fn harvested_resource_dict(resource: &Resource, position: usize, file: &gongshu_app::RemoteDistribution) -> Value {
    json!({
        "id": format!("{}-{position}", resource.id),
        "package_id": resource.id,
        "name": file.title.clone().unwrap_or_else(|| format!("{} ({})", resource.draft.name_zh, position + 1)),
        "format": file.format.clone().unwrap_or_default(),
        "mimetype": file.media_type,
        "url": file.url.clone().unwrap_or_default(),
        "url_type": null,
        "datastore_active": false,
        "position": position,
        "state": "active",
    })
}

pub(crate) async fn package_dict(
    cx: &Context<'_>,
    resource: &Resource,
    orgs: &HashMap<String, Organization>,
) -> Result<Value, CkanError> {
    let draft = &resource.draft;
    let versions = cx.app.versions(&cx.subject, &resource.id).await?;
    let newest = versions.first();
    let provenance = cx.app.provenance(&resource.id).await?;
    let resources: Vec<Value> = match &provenance {
        // A harvested entry's files stay at its source: link resources.
        Some(from) => {
            from.distributions.iter().enumerate().map(|(i, d)| harvested_resource_dict(resource, i, d)).collect()
        }
        None if newest.is_some() => vec![resource_dict(resource, newest, &cx.base_url)],
        None => vec![],
    };
    let org = orgs.get(&resource.provider_org_id);
    let tags: Vec<Value> = draft
        .keywords
        .iter()
        .map(|k| json!({ "name": k, "display_name": k, "state": "active", "vocabulary_id": null }))
        .collect();
    let open = open_kind(&draft.open);
    let mut extras = vec![
        json!({ "key": "open_attribute", "value": open }),
        json!({ "key": "update_cycle", "value": draft.update_cycle.code() }),
        json!({ "key": "level", "value": draft.level().code() }),
        json!({ "key": "resource_class", "value": draft.resource_class.code() }),
    ];
    if let Some(code) = &resource.registration_code {
        extras.push(json!({ "key": "registration_code", "value": code.as_str() }));
    }
    if let Some(region) = &draft.spatial_coverage {
        extras.push(json!({ "key": "spatial_coverage", "value": region.as_str() }));
    }
    // ckanext-harvest's keys, so harvesters downstream see the chain.
    if let Some(from) = &provenance {
        extras.push(json!({ "key": "harvest_source_id", "value": from.source.id }));
        extras.push(json!({ "key": "harvest_source_title", "value": from.portal.name_zh }));
        extras.push(json!({ "key": "harvest_source_url", "value": from.source.url }));
        extras.push(json!({ "key": "harvest_remote_id", "value": from.record.remote_id }));
        extras.push(json!({ "key": "harvest_last_read", "value": timestamp(from.record.harvested_at) }));
        if let Some(publisher) = &from.record.publisher {
            extras.push(json!({ "key": "harvest_publisher", "value": publisher }));
        }
    }
    if let Some(start) = draft.time_coverage_start {
        extras.push(json!({ "key": "temporal_start", "value": start.to_string() }));
    }
    if let Some(end) = draft.time_coverage_end {
        extras.push(json!({ "key": "temporal_end", "value": end.to_string() }));
    }
    Ok(json!({
        "id": resource.id,
        "name": resource.id,
        "title": draft.name_zh,
        "title_en": draft.name_en,
        "notes": draft.abstract_zh,
        "notes_en": draft.abstract_en,
        "type": "dataset",
        "state": ckan_state(resource.state),
        // Only the bureau's publication makes an entry public; until then
        // (and after it is withdrawn) it is private to those entitled.
        "private": resource.state != gongshu_domain::ResourceState::Published,
        "gongshu_state": resource.state.code(),
        "url": provenance
            .as_ref()
            .and_then(|from| from.record.landing_page.clone())
            .unwrap_or_else(|| format!("{}/datasets/{}", cx.base_url, resource.id)),
        "author": org.map(|o| o.name_zh.clone()),
        "maintainer": org.map(|o| o.name_zh.clone()),
        "license_id": draft.license,
        "license_title": draft.license,
        "metadata_created": timestamp(resource.created_at),
        "metadata_modified": timestamp(resource.updated_at),
        "owner_org": resource.provider_org_id,
        "organization": org.map(|o| organization_dict(o, None)),
        "groups": [group_dict(&draft.theme, 0)],
        "tags": tags,
        "num_tags": draft.keywords.len(),
        "resources": resources,
        "num_resources": resources.len(),
        "extras": extras,
        "open_attribute": open,
        // The whole registration content, in the native API's input form:
        // `ckanapi dump` then `load` carries it to another Gongshu intact.
        "gongshu": gongshu_http_api::dto::resource_input_json(resource),
    }))
}

/// CKAN's dataset states: drafts are `draft`, deleted drafts and cancelled
/// entries `deleted`, everything else `active`.
fn ckan_state(state: gongshu_domain::ResourceState) -> &'static str {
    use gongshu_domain::ResourceState as S;
    match state {
        S::Draft | S::PendingReview | S::Rejected => "draft",
        S::Discarded | S::Cancelled => "deleted",
        S::Registered | S::Published | S::Unpublished => "active",
    }
}

pub(crate) async fn organizations(cx: &Context<'_>) -> Result<HashMap<String, Organization>, CkanError> {
    Ok(cx.app.organizations().await?.into_iter().map(|o| (o.id.clone(), o)).collect())
}

/// Every published entry, newest first, a page of 100 at a time.
async fn published(cx: &Context<'_>) -> Result<Vec<Resource>, CkanError> {
    let mut all = Vec::new();
    loop {
        let query = ResourceQuery {
            states: vec!["published".into()],
            limit: Some(100),
            offset: Some(all.len() as i64),
            ..ResourceQuery::default()
        };
        let page = cx.app.resources(&Subject::Anonymous, query).await?;
        let done = page.items.len() < 100;
        all.extend(page.items);
        if done {
            return Ok(all);
        }
    }
}

async fn package_list(cx: &Context<'_>) -> Result<Value, CkanError> {
    let mut ids: Vec<String> = published(cx).await?.into_iter().map(|r| r.id).collect();
    ids.sort();
    let offset = cx.number("offset", 0, usize::MAX)?;
    let limit = cx.number("limit", usize::MAX, usize::MAX)?;
    Ok(json!(ids.into_iter().skip(offset).take(limit).collect::<Vec<_>>()))
}

async fn current_packages(cx: &Context<'_>) -> Result<Value, CkanError> {
    let orgs = organizations(cx).await?;
    let offset = cx.number("offset", 0, usize::MAX)?;
    let limit = cx.number("limit", 1000, 1000)?;
    let mut packages = Vec::new();
    for resource in published(cx).await?.iter().skip(offset).take(limit) {
        packages.push(package_dict(cx, resource, &orgs).await?);
    }
    Ok(json!(packages))
}

/// A Solr-style query, as CKAN clients write them: free words,
/// `field:value`, `field:"quoted value"`, and `*:*` for everything.
fn parse_query(text: &str, filters: &mut Vec<(FacetKind, String)>, words: &mut Vec<String>) -> Result<(), CkanError> {
    let mut rest = text.trim();
    while !rest.is_empty() {
        let (token, remaining) = next_token(rest);
        rest = remaining.trim_start();
        if token == "*:*" || token == "*" || token.eq_ignore_ascii_case("AND") {
            continue;
        }
        let Some((field, value)) = token.split_once(':') else {
            words.push(token.trim_matches('"').to_owned());
            continue;
        };
        let value = value.trim_matches('"').to_owned();
        let field = field.trim_start_matches('+');
        let kind = match field {
            "organization" | "owner_org" => Some(FacetKind::Department),
            "groups" | "theme" => Some(FacetKind::Theme),
            "res_format" | "format" => Some(FacetKind::Format),
            "open" | "open_attribute" => Some(FacetKind::Open),
            "update_cycle" => Some(FacetKind::UpdateCycle),
            "level" => Some(FacetKind::Level),
            "region" | "spatial_coverage" => Some(FacetKind::Region),
            "tags" | "text" | "title" | "notes" | "name" => None,
            other => {
                return Err(CkanError::search(format!(
                    "cannot search on field `{other}`; use organization, groups, res_format, tags, open_attribute, \
                     update_cycle, level, region or free text"
                )));
            }
        };
        match kind {
            Some(kind) if value != "*" => filters.push((kind, value)),
            Some(_) => {}
            None => words.push(value),
        }
    }
    Ok(())
}

/// The next whitespace-separated token, keeping `"quoted parts"` whole.
fn next_token(text: &str) -> (String, &str) {
    let mut in_quotes = false;
    for (i, c) in text.char_indices() {
        match c {
            '"' => in_quotes = !in_quotes,
            c if c.is_whitespace() && !in_quotes => return (text[..i].to_owned(), &text[i..]),
            _ => {}
        }
    }
    (text.to_owned(), "")
}

fn facet_kind(name: &str) -> Option<FacetKind> {
    match name {
        "organization" | "owner_org" => Some(FacetKind::Department),
        "groups" => Some(FacetKind::Theme),
        "res_format" => Some(FacetKind::Format),
        "open_attribute" => Some(FacetKind::Open),
        other => FacetKind::parse(other),
    }
}

async fn package_search(cx: &Context<'_>) -> Result<Value, CkanError> {
    let mut filters = Vec::new();
    let mut words = Vec::new();
    if let Some(q) = cx.text("q") {
        parse_query(&q, &mut filters, &mut words)?;
    }
    for fq in cx.list("fq").into_iter().chain(cx.text("fq")) {
        parse_query(&fq, &mut filters, &mut words)?;
    }
    let rows = cx.number("rows", 10, 1000)?;
    let start = cx.number("start", 0, usize::MAX)?;
    let sort_param = cx.text("sort").unwrap_or_else(|| "score desc, metadata_modified desc".into());
    let sort = match sort_param.split(',').next().unwrap_or("").trim() {
        "metadata_modified desc" => SortOrder::Updated,
        "metadata_created desc" => SortOrder::Published,
        _ => SortOrder::Relevance,
    };
    let text = words.join(" ");
    let orgs = organizations(cx).await?;
    // The caller's own unpublished entries come first, then the catalog's.
    let private = if cx.flag("include_private") { unpublished(cx, &text, &filters).await? } else { vec![] };
    let mut resources: Vec<Resource> = private.iter().skip(start).take(rows).cloned().collect();
    let public_rows = rows - resources.len();
    // The search answers at most 100 hits a call; CKAN allows 1,000 rows.
    let mut total;
    let mut facets = BTreeMap::new();
    let mut offset = start.saturating_sub(private.len());
    let mut taken = 0;
    loop {
        let want = (public_rows - taken).clamp(1, 100);
        let request = SearchRequest { text: text.clone(), filters: filters.clone(), sort, limit: want, offset };
        let found = cx.app.search_catalog(request).await?;
        total = found.results.total;
        if facets.is_empty() {
            facets = found.results.facets.clone();
        }
        if public_rows == 0 {
            break;
        }
        let got = found.results.hits.len();
        taken += got;
        resources.extend(found.resources);
        offset += got;
        if got < want || taken >= public_rows || offset >= total {
            break;
        }
    }
    total += private.len();
    resources.truncate(rows);
    let mut results = Vec::with_capacity(resources.len());
    for resource in &resources {
        results.push(package_dict(cx, resource, &orgs).await?);
    }
    let limit = cx.number("facet.limit", 50, usize::MAX)?;
    let mut plain = Map::new();
    let mut described = Map::new();
    for field in cx.list("facet.field") {
        let Some(kind) = facet_kind(&field) else {
            plain.insert(field.clone(), json!({}));
            described.insert(field.clone(), json!({ "title": field, "items": [] }));
            continue;
        };
        let values = facets.get(&kind).cloned().unwrap_or_default();
        let counts: Map<String, Value> = values.iter().take(limit).map(|(v, c)| (v.clone(), json!(c))).collect();
        let items: Vec<Value> = values
            .iter()
            .take(limit)
            .map(|(value, count)| {
                let display = orgs.get(value).map_or(value.as_str(), |o| o.name_zh.as_str());
                json!({ "name": value, "display_name": display, "count": count })
            })
            .collect();
        plain.insert(field.clone(), Value::Object(counts));
        described.insert(field.clone(), json!({ "title": field, "items": items }));
    }
    Ok(json!({
        "count": total,
        "sort": sort_param,
        "results": results,
        "facets": plain,
        "search_facets": described,
    }))
}

/// With `include_private`, the entries not in the public catalog that the
/// caller may see (their own organizations' drafts, entries under review,
/// registered or withdrawn ones; the bureau sees all), matching the words
/// and the organization and group filters. Other filters describe
/// published data, so they leave these out.
async fn unpublished(
    cx: &Context<'_>,
    text: &str,
    filters: &[(FacetKind, String)],
) -> Result<Vec<Resource>, CkanError> {
    if cx.subject == Subject::Anonymous
        || filters.iter().any(|(kind, _)| !matches!(kind, FacetKind::Department | FacetKind::Theme))
    {
        return Ok(vec![]);
    }
    let provider = filters.iter().find(|(kind, _)| *kind == FacetKind::Department).map(|(_, v)| v.clone());
    let theme = filters.iter().find(|(kind, _)| *kind == FacetKind::Theme).map(|(_, v)| v.as_str());
    let states = ["draft", "pending_review", "rejected", "registered", "unpublished"];
    // The store matches one phrase; every word must match, as in the search.
    let words: Vec<String> = text.split_whitespace().map(str::to_lowercase).collect();
    let first: Option<String> = words.first().map(|w| w.chars().take(100).collect());
    let mut all = Vec::new();
    loop {
        let query = ResourceQuery {
            states: states.iter().map(|s| (*s).to_owned()).collect(),
            provider_org_id: provider.clone(),
            text: first.clone(),
            limit: Some(100),
            offset: Some(all.len() as i64),
        };
        let page = cx.app.resources(&cx.subject, query).await?;
        let done = page.items.len() < 100;
        all.extend(page.items);
        if done {
            break;
        }
    }
    all.retain(|r| {
        let d = &r.draft;
        let haystack = format!(
            "{} {} {} {} {}",
            d.name_zh,
            d.name_en.as_deref().unwrap_or(""),
            d.abstract_zh,
            d.abstract_en.as_deref().unwrap_or(""),
            d.keywords.join(" ")
        )
        .to_lowercase();
        theme.is_none_or(|t| d.theme == t) && words.iter().all(|w| haystack.contains(w.as_str()))
    });
    Ok(all)
}

async fn package_show(cx: &Context<'_>) -> Result<Value, CkanError> {
    let id =
        cx.text("id").or_else(|| cx.text("name_or_id")).ok_or_else(|| CkanError::validation("id", "Missing value"))?;
    let view = cx.app.resource(&cx.subject, &dataset_id(&id)).await.map_err(|e| match e {
        gongshu_app::AppError::NotFound { .. } => CkanError::not_found("Dataset not found"),
        other => other.into(),
    })?;
    let orgs = organizations(cx).await?;
    package_dict(cx, &view.resource, &orgs).await
}

async fn resource_show(cx: &Context<'_>) -> Result<Value, CkanError> {
    let id = dataset_id(&cx.required("id")?);
    let view = cx.app.resource(&cx.subject, &id).await.map_err(|e| match e {
        gongshu_app::AppError::NotFound { .. } => CkanError::not_found("Resource was not found."),
        other => other.into(),
    })?;
    let versions = cx.app.versions(&cx.subject, &id).await?;
    if versions.is_empty() {
        return Err(CkanError::not_found("Resource was not found."));
    }
    Ok(resource_dict(&view.resource, versions.first(), &cx.base_url))
}

async fn department_counts(cx: &Context<'_>) -> Result<BTreeMap<FacetKind, Vec<(String, u64)>>, CkanError> {
    let all = cx.app.search_catalog(SearchRequest { limit: 1, ..SearchRequest::default() }).await?;
    Ok(all.results.facets)
}

async fn organization_list(cx: &Context<'_>) -> Result<Value, CkanError> {
    let facets = department_counts(cx).await?;
    let counts: HashMap<&str, u64> =
        facets.get(&FacetKind::Department).into_iter().flatten().map(|(id, c)| (id.as_str(), *c)).collect();
    let mut orgs: Vec<Organization> = cx.app.organizations().await?;
    orgs.sort_by(|a, b| a.id.cmp(&b.id));
    let all_fields = cx.flag("all_fields");
    let offset = cx.number("offset", 0, usize::MAX)?;
    let limit = cx.number("limit", 1000, 1000)?;
    let listed = orgs.iter().skip(offset).take(limit);
    Ok(if all_fields {
        json!(
            listed
                .map(|o| organization_dict(o, Some(counts.get(o.id.as_str()).copied().unwrap_or(0))))
                .collect::<Vec<_>>()
        )
    } else {
        json!(listed.map(|o| o.id.clone()).collect::<Vec<_>>())
    })
}

async fn organization_show(cx: &Context<'_>) -> Result<Value, CkanError> {
    let id = cx.required("id")?;
    let org = cx.app.organization(&id).await.map_err(|_| CkanError::not_found("Organization not found"))?;
    let request = SearchRequest {
        filters: vec![(FacetKind::Department, org.id.clone())],
        sort: SortOrder::Updated,
        limit: 100,
        ..SearchRequest::default()
    };
    let found = cx.app.search_catalog(request).await?;
    let mut dict = organization_dict(&org, Some(found.results.total as u64));
    if cx.params.get("include_datasets").is_none_or(|_| cx.flag("include_datasets")) {
        let orgs: HashMap<String, Organization> = [(org.id.clone(), org.clone())].into();
        let mut packages = Vec::new();
        for resource in &found.resources {
            packages.push(package_dict(cx, resource, &orgs).await?);
        }
        dict["packages"] = json!(packages);
    }
    Ok(dict)
}

async fn group_list(cx: &Context<'_>) -> Result<Value, CkanError> {
    let facets = department_counts(cx).await?;
    let mut themes: Vec<(String, u64)> = facets.get(&FacetKind::Theme).cloned().unwrap_or_default();
    themes.sort();
    Ok(if cx.flag("all_fields") {
        json!(themes.iter().map(|(t, c)| group_dict(t, *c)).collect::<Vec<_>>())
    } else {
        json!(themes.into_iter().map(|(t, _)| t).collect::<Vec<_>>())
    })
}

async fn group_show(cx: &Context<'_>) -> Result<Value, CkanError> {
    let id = cx.required("id")?;
    let request =
        SearchRequest { filters: vec![(FacetKind::Theme, id.clone())], limit: 100, ..SearchRequest::default() };
    let found = cx.app.search_catalog(request).await?;
    if found.results.total == 0 {
        return Err(CkanError::not_found("Group not found"));
    }
    let orgs = organizations(cx).await?;
    let mut dict = group_dict(&id, found.results.total as u64);
    let mut packages = Vec::new();
    for resource in &found.resources {
        packages.push(package_dict(cx, resource, &orgs).await?);
    }
    dict["packages"] = json!(packages);
    Ok(dict)
}

async fn tag_list(cx: &Context<'_>) -> Result<Value, CkanError> {
    let needle = cx.text("query").map(|q| q.to_lowercase());
    let tags: BTreeSet<String> = published(cx)
        .await?
        .into_iter()
        .flat_map(|r| r.draft.keywords)
        .filter(|k| needle.as_ref().is_none_or(|n| k.to_lowercase().contains(n)))
        .collect();
    Ok(if cx.flag("all_fields") {
        json!(tags.iter().map(|t| json!({ "id": t, "name": t, "display_name": t })).collect::<Vec<_>>())
    } else {
        json!(tags)
    })
}

fn ckan_type(data_type: &DataType) -> &'static str {
    match data_type {
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => "text",
        DataType::Int8 | DataType::Int16 | DataType::Int32 | DataType::Int64 => "int",
        DataType::UInt8 | DataType::UInt16 | DataType::UInt32 | DataType::UInt64 => "int",
        DataType::Float16 | DataType::Float32 | DataType::Float64 => "float",
        DataType::Decimal32(..) | DataType::Decimal64(..) | DataType::Decimal128(..) | DataType::Decimal256(..) => {
            "numeric"
        }
        DataType::Boolean => "bool",
        DataType::Date32 | DataType::Date64 => "date",
        DataType::Timestamp(..) => "timestamp",
        _ => "text",
    }
}

fn fields(schema: &Schema) -> Value {
    json!(
        schema.fields().iter().map(|f| json!({ "id": f.name(), "type": ckan_type(f.data_type()) })).collect::<Vec<_>>()
    )
}

fn records(batches: &[RecordBatch]) -> Result<Value, CkanError> {
    gongshu_app::records_json(batches).map_err(|e| CkanError::from(gongshu_app::AppError::Internal(Box::new(e))))
}

fn scalar(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

async fn datastore_search(cx: &Context<'_>) -> Result<Value, CkanError> {
    let resource_id = cx
        .text("resource_id")
        .or_else(|| cx.text("id"))
        .ok_or_else(|| CkanError::validation("resource_id", "Missing value"))?;
    let resource_id = dataset_id(&resource_id);
    let limit = cx.number("limit", 100, 32_000)?.min(10_000);
    let offset = cx.number("offset", 0, usize::MAX)?;
    let mut params: Vec<(String, String)> =
        vec![("_limit".into(), limit.max(1).to_string()), ("_offset".into(), offset.to_string())];
    match cx.params.get("filters") {
        None | Some(Value::Null) => {}
        Some(Value::Object(filters)) => {
            for (column, value) in filters {
                match value {
                    Value::Array(values) => {
                        params.push((format!("{column}__in"), values.iter().map(scalar).collect::<Vec<_>>().join(",")))
                    }
                    other => params.push((column.clone(), scalar(other))),
                }
            }
        }
        Some(Value::String(text)) => match serde_json::from_str::<Map<String, Value>>(text) {
            Ok(filters) => {
                for (column, value) in filters {
                    params.push((column, scalar(&value)));
                }
            }
            Err(_) => return Err(CkanError::validation("filters", "Not a JSON object")),
        },
        Some(_) => return Err(CkanError::validation("filters", "Not a JSON object")),
    }
    match cx.params.get("q") {
        None | Some(Value::Null) => {}
        Some(Value::Object(by_column)) => {
            for (column, value) in by_column {
                params.push((format!("{column}__contains"), scalar(value)));
            }
        }
        Some(other) => {
            let text = scalar(other);
            if !text.is_empty() {
                params.push(("_q".into(), text));
            }
        }
    }
    let fields_wanted = cx.list("fields");
    if !fields_wanted.is_empty() {
        params.push(("_fields".into(), fields_wanted.join(",")));
    }
    if let Some(sort) = cx.text("sort") {
        let keys: Vec<String> = sort
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|key| {
                let mut parts = key.split_whitespace();
                let column = parts.next().unwrap_or("").trim_matches('"');
                match parts.next().map(str::to_ascii_lowercase).as_deref() {
                    Some("desc") => format!("-{column}"),
                    _ => column.to_owned(),
                }
            })
            .collect();
        params.push(("_sort".into(), keys.join(",")));
    }
    let data = cx.app.query_data(&cx.subject, &resource_id, &params).await.map_err(|e| match e {
        gongshu_app::AppError::NotFound { .. } => {
            CkanError::not_found(format!("Resource \"{resource_id}\" was not found."))
        }
        other => other.into(),
    })?;
    let records = if limit == 0 { json!([]) } else { records(&data.page.batches)? };
    let link = |offset: usize| format!("/api/3/action/datastore_search?resource_id={resource_id}&offset={offset}");
    let mut result = json!({
        "resource_id": resource_id,
        "fields": fields(&data.page.schema),
        "records": records,
        "limit": limit,
        "offset": offset,
        "_links": { "start": link(0), "next": link(offset + limit) },
        "version": data.version,
    });
    if cx.params.get("include_total").is_none_or(|_| cx.flag("include_total")) {
        result["total"] = json!(data.page.total);
        result["total_was_estimated"] = json!(false);
    }
    Ok(result)
}

async fn datastore_search_sql(cx: &Context<'_>) -> Result<Value, CkanError> {
    let sql = cx.required("sql")?;
    let result = cx.app.sql(&cx.subject, &sql).await?;
    Ok(json!({
        "sql": sql,
        "fields": fields(&result.schema),
        "records": records(&result.batches)?,
        "records_truncated": result.truncated,
    }))
}
