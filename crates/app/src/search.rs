//! The catalog's search index, kept in step with the metadata store.
//!
//! The index holds the published entries (what the public may list). Every
//! use case that changes an entry calls [`App::catalog_changed`] after its
//! commit, which re-reads that one entry and updates or removes its
//! document. A full [`App::sync_search`] compares every published entry's
//! `row_version` with the one indexed and fixes what differs; `serve` runs
//! it at start and every minute, so an index that missed a change (a crash
//! between commit and update, another node's write) heals by itself.
//!
//! **Architecture Invariant:** the index is derived state. A failure to
//! update it never fails the change that caused it.

use std::collections::HashSet;
use std::sync::Arc;

use gongshu_domain::{OpenAttribute, OrgKind, Resource, ResourceState};
use gongshu_metadata::Transaction;
use gongshu_search::{CatalogDocument, CatalogIndex, FacetKind, SearchRequest, SearchResults};

use crate::{App, AppError, AppResult};

/// What a sync changed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct SyncReport {
    /// Entries added or brought up to date.
    pub indexed: usize,
    /// Entries taken out.
    pub removed: usize,
    /// Entries the index holds afterwards.
    pub total: u64,
}

/// A page of search hits with the entries they are.
#[derive(Debug, Clone)]
pub struct CatalogSearch {
    /// Hits, facets and the total.
    pub results: SearchResults,
    /// The entry of each hit, in the same order.
    pub resources: Vec<Resource>,
}

/// The open attribute's code, as facets and filters name it.
pub fn open_kind(open: &OpenAttribute) -> &'static str {
    match open {
        OpenAttribute::Unconditional => "unconditional",
        OpenAttribute::Conditional { .. } => "conditional",
        OpenAttribute::NotOpen { .. } => "not",
    }
}

/// A search parameter at fault is the caller's mistake; anything else is this machine's.
impl From<gongshu_search::SearchError> for AppError {
    fn from(error: gongshu_search::SearchError) -> AppError {
        match error {
            gongshu_search::SearchError::Invalid { param, en, zh } => {
                gongshu_domain::ValidationError { field: param, message_en: en, message_zh: zh }.into()
            }
            other => AppError::Internal(Box::new(other)),
        }
    }
}

/// The format of a version as the portal shows it: its source file's extension.
fn format_of(source_name: &str) -> Option<String> {
    let extension = source_name.rsplit_once('.')?.1.to_ascii_uppercase();
    (!extension.is_empty() && extension.len() <= 8).then_some(extension)
}

async fn document(tx: &mut Box<dyn Transaction>, resource: &Resource) -> AppResult<CatalogDocument> {
    let draft = &resource.draft;
    let provider = tx.organization(&resource.provider_org_id).await?;
    let region = draft.spatial_coverage.as_ref().unwrap_or(&provider.region).as_str().to_owned();
    let mut facets = vec![
        (FacetKind::Department, provider.id.clone()),
        (FacetKind::Theme, draft.theme.clone()),
        (FacetKind::Open, open_kind(&draft.open).to_owned()),
        (FacetKind::UpdateCycle, draft.update_cycle.code().to_owned()),
        (FacetKind::Level, draft.level().code().to_owned()),
        (FacetKind::Region, region),
        (FacetKind::Origin, if provider.kind == OrgKind::Portal { "harvested" } else { "local" }.to_owned()),
    ];
    if let Some(format) = tx.versions(&resource.id).await?.first().and_then(|v| format_of(&v.source_name)) {
        facets.push((FacetKind::Format, format));
    }
    Ok(CatalogDocument {
        id: resource.id.clone(),
        row_version: resource.row_version,
        title_zh: draft.name_zh.clone(),
        title_en: draft.name_en.clone().unwrap_or_default(),
        description_zh: draft.abstract_zh.clone(),
        description_en: draft.abstract_en.clone().unwrap_or_default(),
        keywords: draft.keywords.clone(),
        items: draft.items.iter().flat_map(|item| [item.name.clone(), item.title.clone()]).collect(),
        provider_name: provider.name_zh,
        facets,
        updated_at: resource.updated_at.timestamp(),
        published_at: resource.published_at.unwrap_or(resource.updated_at).timestamp(),
    })
}

impl App {
    async fn apply_to_index(&self, upserts: Vec<CatalogDocument>, removals: Vec<String>) -> AppResult<()> {
        let index = self.search.clone();
        tokio::task::spawn_blocking(move || index.apply(&upserts, &removals))
            .await
            .map_err(|e| AppError::Internal(Box::new(e)))?
            .map_err(AppError::from)
    }

    /// Brings one entry's document up to date after a change to it.
    pub(crate) async fn catalog_changed(&self, resource_id: &str) {
        if let Err(error) = self.reindex_one(resource_id).await {
            tracing::warn!(resource_id, %error, "the search index missed a change; the next sync repairs it");
        }
    }

    async fn reindex_one(&self, resource_id: &str) -> AppResult<()> {
        let mut tx = self.store.read().await?;
        let resource = tx.resource(resource_id).await?;
        if resource.state == ResourceState::Published {
            let document = document(&mut tx, &resource).await?;
            drop(tx);
            self.apply_to_index(vec![document], vec![]).await
        } else {
            drop(tx);
            self.apply_to_index(vec![], vec![resource_id.to_owned()]).await
        }
    }

    /// Compares every published entry with the index and fixes what differs.
    pub async fn sync_search(&self) -> AppResult<SyncReport> {
        let index = self.search.clone();
        let indexed = tokio::task::spawn_blocking(move || index.indexed_versions())
            .await
            .map_err(|e| AppError::Internal(Box::new(e)))?
            .map_err(AppError::from)?;
        let mut tx = self.store.read().await?;
        let current = tx.resource_row_versions(ResourceState::Published).await?;
        let current_ids: HashSet<&str> = current.iter().map(|(id, _)| id.as_str()).collect();
        let removals: Vec<String> = indexed.keys().filter(|id| !current_ids.contains(id.as_str())).cloned().collect();
        let stale: Vec<&String> =
            current.iter().filter(|(id, version)| indexed.get(id) != Some(version)).map(|(id, _)| id).collect();
        let mut report = SyncReport { indexed: 0, removed: removals.len(), total: 0 };
        // Batches keep a large first build from holding every document at once.
        for chunk in stale.chunks(1000) {
            let mut documents = Vec::with_capacity(chunk.len());
            for id in chunk {
                let resource = tx.resource(id).await?;
                documents.push(document(&mut tx, &resource).await?);
            }
            report.indexed += documents.len();
            self.apply_to_index(documents, vec![]).await?;
        }
        drop(tx);
        if !removals.is_empty() {
            self.apply_to_index(vec![], removals).await?;
        }
        report.total = self.search.len();
        Ok(report)
    }

    /// Throws the index away and builds it again from the metadata store.
    pub async fn rebuild_search(&self) -> AppResult<SyncReport> {
        let index = self.search.clone();
        tokio::task::spawn_blocking(move || index.clear())
            .await
            .map_err(|e| AppError::Internal(Box::new(e)))?
            .map_err(AppError::from)?;
        self.sync_search().await
    }

    /// Searches the published catalog. Anyone may: the index holds only
    /// what the public may list.
    pub async fn search_catalog(&self, request: SearchRequest) -> AppResult<CatalogSearch> {
        if request.limit == 0 || request.limit > 100 {
            return Err(gongshu_domain::ValidationError::new(
                "limit",
                "must be between 1 and 100",
                "应在 1 到 100 之间",
            )
            .into());
        }
        let index: Arc<CatalogIndex> = self.search.clone();
        let results = tokio::task::spawn_blocking(move || index.search(&request))
            .await
            .map_err(|e| AppError::Internal(Box::new(e)))?
            .map_err(AppError::from)?;
        let mut results = results;
        // One query for the page's entries, not one per hit.
        let ids: Vec<String> = results.hits.iter().map(|hit| hit.id.clone()).collect();
        let mut by_id: std::collections::HashMap<String, Resource> =
            self.store.read().await?.resources_by_ids(&ids).await?.into_iter().map(|r| (r.id.clone(), r)).collect();
        let mut resources = Vec::with_capacity(results.hits.len());
        let mut hits = Vec::with_capacity(results.hits.len());
        for hit in std::mem::take(&mut results.hits) {
            // An entry taken out since the index last heard is not shown.
            match by_id.remove(&hit.id) {
                Some(resource) if resource.state == ResourceState::Published => {
                    resources.push(resource);
                    hits.push(hit);
                }
                _ => {}
            }
        }
        results.hits = hits;
        Ok(CatalogSearch { results, resources })
    }
}
