//! The open catalog in the formats other catalogs harvest: DCAT-AP 3 as
//! Turtle, JSON-LD and RDF/XML (the whole catalog, paged, and each
//! dataset), and each dataset as a Frictionless Data Package.
//!
//! The graph is written to pass the official DCAT-AP 3.0.1 SHACL shapes
//! offline: every object whose class the shapes check carries its
//! `rdf:type` in the data (licences, formats, media types, frequencies,
//! access rights, agents, locations, periods, contact points), literals
//! have the datatypes the shapes require, and texts are tagged `@zh` or
//! `@en`. CI validates all three serializations with pyshacl.
//!
//! **Architecture Invariant:** reads the catalog through `App` as the
//! public, like the portal; nothing here sees an unpublished entry.

mod graph;

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use gongshu_app::{App, AppError, FacetKind, SearchRequest, SortOrder};
use gongshu_policy::Subject;
use oxrdfio::{RdfFormat, RdfSerializer};

pub use graph::PAGE_SIZE;

#[derive(Clone)]
struct DcatState {
    app: App,
}

/// The routes: `/catalog.{ttl,jsonld,rdf}[?page=N]`,
/// `/datasets/{id}/dcat.{ttl,jsonld,rdf}` and `/datasets/{id}/datapackage.json`.
pub fn router(app: App) -> Router {
    Router::new()
        .route(
            "/catalog.ttl",
            axum::routing::get(|s: State<DcatState>, q: Query<PageQuery>, h: HeaderMap| catalog(s, q, h, "ttl")),
        )
        .route(
            "/catalog.jsonld",
            axum::routing::get(|s: State<DcatState>, q: Query<PageQuery>, h: HeaderMap| catalog(s, q, h, "jsonld")),
        )
        .route(
            "/catalog.rdf",
            axum::routing::get(|s: State<DcatState>, q: Query<PageQuery>, h: HeaderMap| catalog(s, q, h, "rdf")),
        )
        .route(
            "/datasets/{id}/dcat.ttl",
            axum::routing::get(|s: State<DcatState>, p: Path<String>, h: HeaderMap| dataset(s, p, h, "ttl")),
        )
        .route(
            "/datasets/{id}/dcat.jsonld",
            axum::routing::get(|s: State<DcatState>, p: Path<String>, h: HeaderMap| dataset(s, p, h, "jsonld")),
        )
        .route(
            "/datasets/{id}/dcat.rdf",
            axum::routing::get(|s: State<DcatState>, p: Path<String>, h: HeaderMap| dataset(s, p, h, "rdf")),
        )
        .route("/datasets/{id}/datapackage.json", axum::routing::get(datapackage))
        .with_state(DcatState { app })
}

fn base_url(headers: &HeaderMap) -> String {
    headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .map_or_else(|| "http://127.0.0.1:8080".to_owned(), |host| format!("http://{host}"))
}

/// The format of an extension, with its content type.
fn format(extension: &str) -> (RdfFormat, &'static str) {
    match extension {
        "jsonld" => (RdfFormat::JsonLd { profile: oxrdfio::JsonLdProfileSet::empty() }, "application/ld+json"),
        "rdf" => (RdfFormat::RdfXml, "application/rdf+xml"),
        _ => (RdfFormat::Turtle, "text/turtle; charset=utf-8"),
    }
}

fn serialize(triples: &[oxrdf::Triple], extension: &str) -> Response {
    let (format, content_type) = format(extension);
    let mut serializer = RdfSerializer::from_format(format);
    for (prefix, iri) in graph::PREFIXES {
        serializer = match serializer.with_prefix(*prefix, *iri) {
            Ok(serializer) => serializer,
            Err(error) => return internal(&error),
        };
    }
    let mut writer = serializer.for_writer(Vec::new());
    // A graph holds each triple once (agents and formats recur) and keeps
    // a subject's triples together, so that Turtle groups them.
    let graph: oxrdf::Graph = triples.iter().cloned().collect();
    for triple in &graph {
        if let Err(error) = writer.serialize_triple(triple) {
            return internal(&error);
        }
    }
    match writer.finish() {
        Ok(bytes) => ([(header::CONTENT_TYPE, content_type)], bytes).into_response(),
        Err(error) => internal(&error),
    }
}

fn internal(error: &dyn std::fmt::Display) -> Response {
    tracing::error!(%error, "the catalog did not serialize");
    (StatusCode::INTERNAL_SERVER_ERROR, "the catalog could not be written").into_response()
}

fn app_error(error: &AppError) -> Response {
    match error {
        AppError::NotFound { .. } => (StatusCode::NOT_FOUND, "not found (未找到)").into_response(),
        other => internal(other),
    }
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct PageQuery {
    page: Option<String>,
}

async fn catalog(
    State(state): State<DcatState>,
    Query(query): Query<PageQuery>,
    headers: HeaderMap,
    extension: &str,
) -> Response {
    let page = match query.page.as_deref().map(str::parse::<usize>) {
        None => 1,
        Some(Ok(page)) if page >= 1 => page,
        Some(_) => {
            return (StatusCode::BAD_REQUEST, "page must be a whole number from 1 (page 应为从 1 开始的整数)")
                .into_response();
        }
    };
    let base = base_url(&headers);
    // This portal's own catalog: harvested entries are their origin's to
    // publish, and a harvester downstream reads them there.
    let request = SearchRequest {
        filters: vec![(FacetKind::Origin, "local".into())],
        sort: SortOrder::Updated,
        limit: PAGE_SIZE,
        offset: (page - 1) * PAGE_SIZE,
        ..SearchRequest::default()
    };
    let result = async {
        let found = state.app.search_catalog(request).await?;
        let orgs = state.app.organizations().await?;
        let mut entries = Vec::new();
        for resource in found.resources {
            let versions = state.app.versions(&Subject::Anonymous, &resource.id).await?;
            entries.push((resource, versions.into_iter().next()));
        }
        Ok::<_, AppError>((found.results.total, orgs, entries))
    }
    .await;
    match result {
        Ok((total, orgs, entries)) => {
            let paging = graph::Paging { page, total, extension };
            serialize(&graph::catalog(&base, &orgs, &entries, Some(&paging)), extension)
        }
        Err(error) => app_error(&error),
    }
}

async fn dataset(
    State(state): State<DcatState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    extension: &str,
) -> Response {
    let base = base_url(&headers);
    let result = async {
        let resource = state.app.resource(&Subject::Anonymous, &id).await?.resource;
        own_entry(&state.app, &id).await?;
        let orgs = state.app.organizations().await?;
        let newest = state.app.versions(&Subject::Anonymous, &id).await?.into_iter().next();
        Ok::<_, AppError>((resource, orgs, newest))
    }
    .await;
    match result {
        Ok((resource, orgs, newest)) => {
            serialize(&graph::catalog(&base, &orgs, &[(resource, newest)], None), extension)
        }
        Err(error) => app_error(&error),
    }
}

/// Harvested entries are their origin's to describe (ADR 0011): not found here.
async fn own_entry(app: &App, id: &str) -> Result<(), AppError> {
    match app.provenance(id).await? {
        Some(_) => Err(AppError::NotFound { entity: "dataset", id: id.to_owned() }),
        None => Ok(()),
    }
}

async fn datapackage(State(state): State<DcatState>, Path(id): Path<String>, headers: HeaderMap) -> Response {
    let base = base_url(&headers);
    let result = async {
        let resource = state.app.resource(&Subject::Anonymous, &id).await?.resource;
        own_entry(&state.app, &id).await?;
        let provider = state.app.organization(&resource.provider_org_id).await?;
        let newest = state.app.versions(&Subject::Anonymous, &id).await?.into_iter().next();
        Ok::<_, AppError>((resource, provider, newest))
    }
    .await;
    match result {
        Ok((resource, provider, newest)) => {
            axum::Json(graph::data_package(&base, &resource, &provider, newest.as_ref())).into_response()
        }
        Err(error) => app_error(&error),
    }
}
