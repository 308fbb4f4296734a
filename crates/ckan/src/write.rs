//! CKAN's write actions, each mapped onto Gongshu's own use cases, so a
//! CKAN client writes through the same rules as the console and the
//! native API (ADR 0010).
//!
//! A dataset a client creates is a **draft** of a catalog entry: it becomes
//! public only through Gongshu's registration and the bureau's publication,
//! never through CKAN's `private` flag. What CKAN can say (title, notes,
//! tags, the first group as theme, licence, extras) is read from CKAN's
//! keys; what it cannot (data items, share and open attributes with their
//! conditions, classification) travels in the `gongshu` object that
//! `package_show` writes, so `ckanapi dump` followed by `load` carries an
//! entry whole. An update on a registered entry files a change
//! registration; a delete discards a draft or files a cancellation.

use std::sync::Arc;

use axum::http::StatusCode;
use gongshu_app::{AppError, FileRegistration, LoadOptions, NewOrganization};
use gongshu_domain::resource::DESCRIBED_ITEM_NOTE;
use gongshu_domain::{OrgKind, Organization, Resource, ResourceDraft, ResourceState, ValidationError, Validations};
use gongshu_http_api::dto::{ResourceInput, resource_input_json};
use gongshu_policy::Subject;
use serde_json::{Map, Value, json};

use crate::CkanError;
use crate::actions::{Context, dataset_id, organization_dict, organizations, package_dict, resource_dict};

fn signed_in(cx: &Context<'_>, action: &str) -> Result<(), CkanError> {
    if cx.subject == Subject::Anonymous {
        return Err(CkanError {
            status: StatusCode::FORBIDDEN,
            kind: "Authorization Error",
            message: format!("Action {action} requires an authenticated user: send an API token (需要 API 令牌)"),
            fields: None,
        });
    }
    Ok(())
}

/// Gongshu's field names in CKAN's words, so errors name what the client sent.
fn ckan_field(field: &str) -> String {
    let (head, rest) = field.split_once(['.', '[']).map_or((field, ""), |(h, _)| (h, &field[h.len()..]));
    match head {
        "name_zh" => "title".into(),
        "name_en" => "title_en".into(),
        "abstract_zh" => "notes".into(),
        "abstract_en" => "notes_en".into(),
        "theme" => "groups".into(),
        "keywords" => format!("tags{rest}"),
        "license" => "license_id".into(),
        "provider_org_id" => "owner_org".into(),
        "id" | "owner_org" | "notes" | "title" | "groups" | "tags" | "upload" | "url" | "reason" | "change_reason" => {
            field.into()
        }
        _ => format!("gongshu.{field}"),
    }
}

/// An application error, with validation fields renamed to CKAN's.
fn write_error(error: AppError) -> CkanError {
    match error {
        AppError::Validation(problems) => CkanError::from(AppError::Validation(renamed(problems))),
        other => other.into(),
    }
}

fn renamed(problems: Validations) -> Validations {
    Validations(problems.0.into_iter().map(|p| ValidationError { field: ckan_field(&p.field), ..p }).collect())
}

fn not_found(error: AppError, what: &str) -> CkanError {
    match error {
        AppError::NotFound { .. } => CkanError::not_found(format!("{what} was not found.")),
        other => write_error(other),
    }
}

/// A text value given at the top level or as a CKAN extra.
fn extra(params: &Map<String, Value>, key: &str) -> Option<String> {
    let text = |value: &Value| match value {
        Value::String(s) => Some(s.trim().to_owned()).filter(|s| !s.is_empty()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    };
    params.get(key).and_then(text).or_else(|| {
        params
            .get("extras")?
            .as_array()?
            .iter()
            .find(|e| e.get("key").and_then(Value::as_str) == Some(key))
            .and_then(|e| e.get("value"))
            .and_then(text)
    })
}

/// A JSON object given as an object or as JSON text (multipart and GET send text).
fn object(value: Option<&Value>) -> Option<Map<String, Value>> {
    match value? {
        Value::Object(map) => Some(map.clone()),
        Value::String(text) => serde_json::from_str(text).ok(),
        _ => None,
    }
}

/// Names from CKAN's list forms: `[{"name": …}]`, `["…"]`, or `"a,b"`.
fn names(value: Option<&Value>) -> Option<Vec<String>> {
    let names = match value? {
        Value::Array(items) => items
            .iter()
            .filter_map(|item| match item {
                Value::String(s) => Some(s.clone()),
                Value::Object(o) => o.get("name").or_else(|| o.get("id")).and_then(Value::as_str).map(str::to_owned),
                _ => None,
            })
            .collect(),
        Value::String(text) => text.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect(),
        _ => return None,
    };
    Some(names)
}

/// An attribute from `{prefix}_attribute` with its conditions or legal
/// basis; the current one is kept when only its kind is repeated.
fn attribute(params: &Map<String, Value>, prefix: &str, current: Option<&Value>) -> Option<Value> {
    let kind = extra(params, &format!("{prefix}_attribute"));
    let conditions = extra(params, &format!("{prefix}_conditions"));
    let legal_basis = extra(params, &format!("{prefix}_legal_basis"));
    let kind = kind?;
    let same_kind = current.and_then(|c| c.get("kind")).and_then(Value::as_str) == Some(kind.as_str());
    if same_kind && conditions.is_none() && legal_basis.is_none() {
        return current.cloned();
    }
    Some(json!({ "kind": kind, "conditions": conditions, "legal_basis": legal_basis }))
}

/// Data items from the Table Schemas of the dict's resources (the
/// `schema` key of ckanext-validation and frictionless), for a new entry
/// that names none itself.
fn items_from_schemas(params: &Map<String, Value>) -> Vec<Value> {
    let mut items = Vec::new();
    let resources = params.get("resources").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
    for resource in resources {
        let Some(schema) = object(resource.get("schema")) else { continue };
        for field in schema.get("fields").and_then(Value::as_array).into_iter().flatten() {
            let Some(name) = field.get("name").and_then(Value::as_str) else { continue };
            if items.iter().any(|i: &Value| i["name"] == name) {
                continue;
            }
            let data_type = match field.get("type").and_then(Value::as_str).unwrap_or("string") {
                "integer" => "integer",
                "number" => "decimal",
                "boolean" => "boolean",
                "date" => "date",
                "datetime" => "datetime",
                _ => "text",
            };
            let text = |key: &str| field.get(key).and_then(Value::as_str).filter(|s| !s.trim().is_empty());
            items.push(json!({
                "name": name,
                "title": text("title").unwrap_or(name),
                "data_type": data_type,
                "description": text("description").unwrap_or(DESCRIBED_ITEM_NOTE),
                "identifier_kind": "none",
                "level": "general-1",
            }));
        }
    }
    items
}

/// The native input for a CKAN dict: `base` (the entry's current content,
/// or nothing for a new one), then the dict's `gongshu` object, then the
/// CKAN keys it carries. A new entry takes the defaults CKAN cannot state.
fn native_input(params: &Map<String, Value>, mut input: Map<String, Value>) -> Result<Value, CkanError> {
    let creating = input.is_empty();
    if let Some(native) = object(params.get("gongshu")) {
        input.extend(native);
    }
    let text = |key: &str| extra(params, key).map(Value::String);
    let mut set = |key: &str, value: Option<Value>| {
        if let Some(value) = value {
            input.insert(key.to_owned(), value);
        }
    };
    set("name_zh", text("title").or_else(|| creating.then(|| text("name")).flatten()));
    set("name_en", text("title_en"));
    set("abstract_zh", text("notes"));
    set("abstract_en", text("notes_en"));
    set("license", text("license_id"));
    set("resource_class", text("resource_class"));
    set("update_cycle", text("update_cycle").or_else(|| text("frequency")));
    set("spatial_coverage", text("spatial_coverage"));
    set("classification_rationale", text("classification_rationale"));
    if let Some(theme) = names(params.get("groups")).and_then(|g| g.into_iter().next()).map(Value::String) {
        set("theme", Some(theme));
    } else {
        set("theme", text("theme"));
    }
    if let Some(tags) = names(params.get("tags")).or_else(|| names(params.get("tag_string"))) {
        set("keywords", Some(json!(tags)));
    }
    let (start, end) = (extra(params, "temporal_start"), extra(params, "temporal_end"));
    if start.is_some() || end.is_some() {
        let current = input.get("time_coverage").cloned().unwrap_or_else(|| json!({}));
        let pick = |given: Option<String>, key: &str| given.map(Value::String).or_else(|| current.get(key).cloned());
        let coverage = json!({ "start": pick(start, "start"), "end": pick(end, "end") });
        input.insert("time_coverage".into(), coverage);
    }
    for prefix in ["share", "open"] {
        if let Some(attribute) = attribute(params, prefix, input.get(prefix)) {
            input.insert(prefix.into(), attribute);
        }
    }
    if creating {
        let mut problems = Validations::default();
        if !input.contains_key("abstract_zh") {
            problems.push(ValidationError::new(
                "notes",
                "Missing value: the catalog needs an abstract of the dataset",
                "缺少摘要：目录需要数据资源摘要",
            ));
        }
        if !input.contains_key("theme") {
            problems.push(ValidationError::new(
                "groups",
                "Missing value: name the dataset's theme as its first group (or `theme`)",
                "缺少主题：请以第一个 group（或 `theme`）给出主题",
            ));
        }
        if !input.contains_key("open") {
            // A public dataset is an unconditionally open one; a private one
            // must say why, since 不予开放 and 有条件开放 need a basis.
            if params.get("private").is_some_and(|p| p == true || p == "true" || p == "True") {
                problems.push(ValidationError::new(
                    "open_attribute",
                    "a private dataset needs its open attribute: `conditional` with `open_conditions`, or `not` \
                     with `open_legal_basis`",
                    "非公开数据集须给出开放属性：有条件开放（conditional，附 open_conditions）或不予开放（not，附 \
                     open_legal_basis）",
                ));
            } else {
                input.insert("open".into(), json!({ "kind": "unconditional" }));
            }
        }
        if !problems.is_empty() {
            return Err(CkanError::from(AppError::Validation(problems)));
        }
        // 以共享为原则，不共享为例外: sharing between departments is the rule.
        input.entry("share").or_insert_with(|| json!({ "kind": "unconditional" }));
        input.entry("resource_class").or_insert_with(|| json!("departmental"));
        input.entry("update_cycle").or_insert_with(|| json!("irregular"));
        let described = input.get("items").and_then(Value::as_array).is_some_and(|items| !items.is_empty());
        if !described {
            input.insert("items".into(), Value::Array(items_from_schemas(params)));
        }
    }
    Ok(Value::Object(input))
}

fn parse_draft(input: Value) -> Result<ResourceDraft, CkanError> {
    let input: ResourceInput = serde_json::from_value(input)
        .map_err(|e| CkanError::validation("gongshu", format!("not a Gongshu catalog entry: {e}")))?;
    input.into_draft("").map_err(|problems| CkanError::from(AppError::Validation(renamed(problems))))
}

async fn show(cx: &Context<'_>, resource: &Resource) -> Result<Value, CkanError> {
    package_dict(cx, resource, &organizations(cx).await?).await
}

/// The organization `owner_org` names, by id or by name.
async fn owner_org(cx: &Context<'_>, value: &str) -> Result<Organization, CkanError> {
    let orgs = cx.app.organizations().await?;
    orgs.into_iter().find(|o| o.id == value || o.name_zh == value || o.name_en.as_deref() == Some(value)).ok_or_else(
        || CkanError::validation("owner_org", format!("Organization does not exist: `{value}` (组织不存在)")),
    )
}

pub(crate) async fn package_create(cx: &Context<'_>) -> Result<Value, CkanError> {
    signed_in(cx, "package_create")?;
    let owner = owner_org(cx, &cx.required("owner_org")?).await?;
    let draft = parse_draft(native_input(&cx.params, Map::new())?)?;
    // An id given is kept (it must be a UUID); else the name decides it.
    let id = cx.text("id").or_else(|| cx.text("name").map(|name| dataset_id(&name)));
    let resource =
        cx.app.create_resource_with_id(&cx.subject, &owner.id, draft, id.as_deref()).await.map_err(write_error)?;
    show(cx, &resource).await
}

/// `package_update` and `package_patch`: both change what the dict
/// carries and keep what it leaves out, since an entry is a registration
/// record and a missing key is read as "unchanged".
pub(crate) async fn package_update(cx: &Context<'_>) -> Result<Value, CkanError> {
    signed_in(cx, "package_update")?;
    let id = cx.text("id").or_else(|| cx.text("name")).ok_or_else(|| CkanError::validation("id", "Missing value"))?;
    let id = dataset_id(&id);
    let resource = cx.app.resource(&cx.subject, &id).await.map_err(|e| not_found(e, "Dataset"))?.resource;
    if let Some(owner) = cx.text("owner_org") {
        let owner = owner_org(cx, &owner).await?;
        if owner.id != resource.provider_org_id {
            return Err(CkanError::validation(
                "owner_org",
                "a catalog entry's provider never changes; create the dataset under the new provider (提供单位不可变更)",
            ));
        }
    }
    let base = match resource_input_json(&resource) {
        Value::Object(map) => map,
        _ => unreachable!("an entry's input is an object"),
    };
    let draft = parse_draft(native_input(&cx.params, base)?)?;
    if resource.state.is_editable() {
        let updated = cx.app.update_draft(&cx.subject, &id, draft).await.map_err(write_error)?;
        return show(cx, &updated).await;
    }
    let unchanged =
        resource_input_json(&Resource { draft: draft.clone(), ..resource.clone() }) == resource_input_json(&resource);
    if unchanged || !resource.state.is_registered() {
        if !unchanged {
            return Err(write_error(
                gongshu_domain::InvalidTransition {
                    entity: "resource",
                    action: "edit",
                    current: resource.state.code(),
                }
                .into(),
            ));
        }
        return show(cx, &resource).await;
    }
    let reason = cx.text("change_reason").or_else(|| cx.text("reason")).ok_or_else(|| {
        CkanError::validation(
            "change_reason",
            "a registered dataset changes through a change registration: give `change_reason` \
             (已登记的数据资源须经变更登记修改，请给出变更原因)",
        )
    })?;
    let filing = FileRegistration { application: "change".into(), reason, proposed: Some(draft) };
    cx.app.file_registration(&cx.subject, &id, filing).await.map_err(write_error)?;
    let resource = cx.app.resource(&cx.subject, &id).await?.resource;
    show(cx, &resource).await
}

pub(crate) async fn package_delete(cx: &Context<'_>) -> Result<Value, CkanError> {
    signed_in(cx, "package_delete")?;
    let id = dataset_id(&cx.required("id")?);
    let resource = cx.app.resource(&cx.subject, &id).await.map_err(|e| not_found(e, "Dataset"))?.resource;
    if matches!(resource.state, ResourceState::Draft | ResourceState::Rejected) {
        cx.app.discard_draft(&cx.subject, &id).await.map_err(write_error)?;
        return Ok(Value::Null);
    }
    if !resource.state.is_registered() {
        return Err(write_error(
            gongshu_domain::InvalidTransition { entity: "resource", action: "delete", current: resource.state.code() }
                .into(),
        ));
    }
    let reason = cx.text("reason").ok_or_else(|| {
        CkanError::validation(
            "reason",
            "a registered dataset ends through a cancellation registration: give `reason` \
             (已登记的数据资源须经注销登记，请给出注销原因)",
        )
    })?;
    let filing = FileRegistration { application: "cancellation".into(), reason, proposed: None };
    cx.app.file_registration(&cx.subject, &id, filing).await.map_err(write_error)?;
    Ok(Value::Null)
}

/// `resource_create`, `resource_update` and `resource_patch` with a file
/// in `upload`: the file becomes the entry's next data version. An entry
/// has one data resource with the entry's id, so `id` and `package_id` name
/// the same thing.
pub(crate) async fn resource_upload(cx: &Context<'_>, action: &str) -> Result<Value, CkanError> {
    signed_in(cx, action)?;
    let id_key = if action == "resource_create" { "package_id" } else { "id" };
    let id = cx
        .text(id_key)
        .or_else(|| cx.text("package_id"))
        .map(|id| dataset_id(&id))
        .ok_or_else(|| CkanError::validation(id_key, "Missing value"))?;
    let Some(upload) = &cx.upload else {
        return Err(if cx.text("url").is_some() {
            CkanError::validation(
                "url",
                "Gongshu keeps the data itself and does not link to files elsewhere: send the file as the \
                 multipart field `upload` (请以 upload 字段上传文件)",
            )
        } else {
            CkanError::validation("upload", "Missing value: send the file as the multipart field `upload`")
        });
    };
    let schema_json = match cx.params.get("schema") {
        Some(Value::Object(schema)) => Some(Value::Object(schema.clone()).to_string()),
        Some(Value::String(text)) if !text.trim().is_empty() => Some(text.clone()),
        _ => None,
    };
    let options = LoadOptions {
        encoding: cx.text("encoding"),
        delimiter: cx.text("delimiter"),
        skip_rows: cx.text("skip_rows").and_then(|s| s.parse().ok()),
        schema_json,
        sheet: cx.text("sheet"),
    };
    cx.app
        .load_version(&cx.subject, &id, &upload.path, &upload.file_name, &options, Arc::new(|_| {}))
        .await
        .map_err(|e| not_found(e, "Package"))?;
    let resource = cx.app.resource(&cx.subject, &id).await?.resource;
    let versions = cx.app.versions(&cx.subject, &id).await?;
    Ok(resource_dict(&resource, versions.first(), &cx.base_url))
}

pub(crate) async fn organization_create(cx: &Context<'_>) -> Result<Value, CkanError> {
    signed_in(cx, "organization_create")?;
    let name_zh =
        cx.text("title").or_else(|| cx.text("name")).ok_or_else(|| CkanError::validation("name", "Missing value"))?;
    let region = match extra(&cx.params, "region") {
        Some(region) => region,
        // A portal is run by one data bureau; its region is the default.
        None => {
            let orgs = cx.app.organizations().await?;
            let mut bureaus = orgs.iter().filter(|o| o.kind == OrgKind::DataBureau);
            match (bureaus.next(), bureaus.next()) {
                (Some(bureau), None) => bureau.region.as_str().to_owned(),
                _ => return Err(CkanError::validation("region", "Missing value: give the GB/T 2260 region code")),
            }
        }
    };
    let new = NewOrganization {
        code: extra(&cx.params, "credit_code"),
        name_zh,
        name_en: extra(&cx.params, "title_en"),
        kind: extra(&cx.params, "kind").unwrap_or_else(|| "department".into()),
        region,
        parent_id: extra(&cx.params, "parent_id"),
    };
    let org = cx.app.create_organization(&cx.subject, new).await.map_err(|e| match e {
        AppError::Validation(problems) => CkanError::from(AppError::Validation(Validations(
            problems
                .0
                .into_iter()
                .map(|p| ValidationError {
                    field: if p.field == "name_zh" { "title".into() } else { p.field.clone() },
                    ..p
                })
                .collect(),
        ))),
        other => other.into(),
    })?;
    Ok(organization_dict(&org, Some(0)))
}
