//! Reading another portal's open catalog for harvest (区域协作): a CKAN
//! Action API, read with `package_search` page by page, or a DCAT
//! document in Turtle, RDF/XML or JSON-LD, followed through its Hydra
//! pages. Either way the result is a list of [`RemoteDataset`]s, the
//! metadata a harvest keeps; the data itself stays at the source.
//!
//! This crate knows nothing of Gongshu's catalog: `gongshu-app` turns the
//! datasets into read-only entries with their provenance.

mod dcat;

use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;

pub use dcat::{RdfSyntax, parse_dcat};

/// What kind of endpoint a source is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceKind {
    /// A CKAN portal (or another Gongshu): its Action API.
    Ckan,
    /// A DCAT catalog document.
    Dcat,
}

impl SourceKind {
    /// The kind's code: `ckan` or `dcat`.
    pub fn code(self) -> &'static str {
        match self {
            SourceKind::Ckan => "ckan",
            SourceKind::Dcat => "dcat",
        }
    }

    /// Parses a code.
    pub fn parse(code: &str) -> Option<SourceKind> {
        match code.trim() {
            "ckan" => Some(SourceKind::Ckan),
            "dcat" => Some(SourceKind::Dcat),
            _ => None,
        }
    }
}

/// One dataset as the source describes it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RemoteDataset {
    /// The source's identifier: a CKAN id or the dataset's IRI.
    pub remote_id: String,
    /// Title, in Chinese when the source has it, else as given.
    pub title: String,
    /// Title in English, when given apart.
    pub title_en: Option<String>,
    /// Description.
    pub description: Option<String>,
    /// Description in English, when given apart.
    pub description_en: Option<String>,
    /// Who publishes it at the source.
    pub publisher: Option<String>,
    /// Its page at the source.
    pub landing_page: Option<String>,
    /// Keywords.
    pub keywords: Vec<String>,
    /// Themes, as labels.
    pub themes: Vec<String>,
    /// Licence, as a name or IRI.
    pub license: Option<String>,
    /// Last modified, as the source states it.
    pub modified: Option<String>,
    /// How often it is updated: the last segment of a frequency IRI or a code.
    pub frequency: Option<String>,
    /// Where its files are.
    pub distributions: Vec<RemoteDistribution>,
}

/// A file or service of a remote dataset.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RemoteDistribution {
    /// Title.
    pub title: Option<String>,
    /// Format, e.g. `CSV`.
    pub format: Option<String>,
    /// Media type, e.g. `text/csv`.
    pub media_type: Option<String>,
    /// Download URL, else access URL.
    pub url: Option<String>,
}

/// A catalog read from a source.
#[derive(Debug, Clone, Default)]
pub struct Fetched {
    /// Every dataset found, once each.
    pub datasets: Vec<RemoteDataset>,
    /// Documents or pages read.
    pub pages: usize,
    /// Whether the whole catalog was read. A read cut short by a limit
    /// says nothing about what it did not reach, so nothing is withdrawn.
    pub complete: bool,
}

/// `text` if it is an http(s) address: anything else (`javascript:`,
/// `data:`, relative paths) would become a link on the portal.
pub fn web_url(text: &str) -> Option<String> {
    let url = url::Url::parse(text.trim()).ok()?;
    matches!(url.scheme(), "http" | "https").then(|| url.to_string())
}

/// Why a harvest could not read its source.
#[derive(Debug, thiserror::Error)]
pub enum HarvestError {
    /// The source could not be reached, or answered with an error status.
    #[error("cannot read {url}: {reason}")]
    Unreachable {
        /// What was asked for.
        url: String,
        /// Why.
        reason: String,
    },
    /// The source answered something that is not a catalog.
    #[error("{url} is not a {kind} catalog: {reason}")]
    NotACatalog {
        /// What was read.
        url: String,
        /// `CKAN` or `DCAT`.
        kind: &'static str,
        /// What is wrong with it.
        reason: String,
    },
}

impl HarvestError {
    /// The message in Chinese.
    pub fn message_zh(&self) -> String {
        match self {
            HarvestError::Unreachable { url, reason } => format!("无法读取 {url}：{reason}"),
            HarvestError::NotACatalog { url, kind, reason } => format!("{url} 不是 {kind} 目录：{reason}"),
        }
    }
}

/// The most datasets one harvest reads, so a runaway source cannot fill the catalog.
pub const MAX_DATASETS: usize = 100_000;
/// The most bytes one document or page may have.
const MAX_DOCUMENT_BYTES: usize = 64 * 1024 * 1024;
/// The most DCAT pages followed.
const MAX_PAGES: usize = 10_000;

/// Reads the catalog at `url`.
pub async fn fetch(kind: SourceKind, url: &str) -> Result<Fetched, HarvestError> {
    let client = reqwest::Client::builder()
        .user_agent(concat!("gongshu-harvest/", env!("CARGO_PKG_VERSION")))
        .timeout(Duration::from_secs(60))
        .build()
        .map_err(|e| HarvestError::Unreachable { url: url.to_owned(), reason: e.to_string() })?;
    match kind {
        SourceKind::Ckan => fetch_ckan(&client, url).await,
        SourceKind::Dcat => fetch_dcat(&client, url).await,
    }
}

async fn get(client: &reqwest::Client, url: &str, accept: &str) -> Result<(Vec<u8>, Option<String>), HarvestError> {
    let unreachable = |reason: String| HarvestError::Unreachable { url: url.to_owned(), reason };
    let mut response =
        client.get(url).header("accept", accept).send().await.map_err(|e| unreachable(e.without_url().to_string()))?;
    if !response.status().is_success() {
        return Err(unreachable(format!("HTTP {}", response.status())));
    }
    let content_type = response.headers().get("content-type").and_then(|v| v.to_str().ok()).map(str::to_owned);
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| unreachable(e.without_url().to_string()))? {
        body.extend_from_slice(&chunk);
        if body.len() > MAX_DOCUMENT_BYTES {
            return Err(unreachable(format!("larger than {} MiB", MAX_DOCUMENT_BYTES >> 20)));
        }
    }
    Ok((body, content_type))
}

/// The Action API's base: the portal's root, however the URL was given.
fn ckan_base(url: &str) -> String {
    let trimmed = url.trim().trim_end_matches('/');
    for suffix in ["/api/3/action/package_search", "/api/action/package_search", "/api/3/action", "/api/3", "/api"] {
        if let Some(base) = trimmed.strip_suffix(suffix) {
            return base.to_owned();
        }
    }
    trimmed.to_owned()
}

async fn fetch_ckan(client: &reqwest::Client, url: &str) -> Result<Fetched, HarvestError> {
    const ROWS: usize = 100;
    let base = ckan_base(url);
    let mut fetched = Fetched::default();
    let mut seen = std::collections::HashSet::new();
    loop {
        let start = fetched.pages * ROWS;
        let page_url = format!("{base}/api/3/action/package_search?q=*:*&rows={ROWS}&start={start}&sort=id%20asc");
        let (body, _) = get(client, &page_url, "application/json").await?;
        let not_ckan = |reason: String| HarvestError::NotACatalog { url: page_url.clone(), kind: "CKAN", reason };
        let envelope: Value = serde_json::from_slice(&body).map_err(|e| not_ckan(e.to_string()))?;
        if envelope["success"] != Value::Bool(true) {
            return Err(not_ckan(format!("the API answered {}", envelope["error"])));
        }
        let results = envelope["result"]["results"]
            .as_array()
            .ok_or_else(|| not_ckan("package_search has no `results` list".into()))?;
        fetched.pages += 1;
        let count = envelope["result"]["count"].as_u64().unwrap_or(0) as usize;
        for dict in results {
            // A dataset the source itself harvested is read from its origin,
            // not copied again down a chain of portals.
            let second_hand = dict["extras"]
                .as_array()
                .is_some_and(|extras| extras.iter().any(|e| e["key"].as_str() == Some("harvest_source_id")));
            if second_hand {
                continue;
            }
            if let Some(dataset) = ckan_dataset(&base, dict)
                && seen.insert(dataset.remote_id.clone())
            {
                fetched.datasets.push(dataset);
            }
        }
        if fetched.datasets.len() >= MAX_DATASETS {
            return Ok(fetched);
        }
        if results.is_empty() || start + results.len() >= count {
            fetched.complete = true;
            return Ok(fetched);
        }
    }
}

fn text(value: &Value) -> Option<String> {
    value.as_str().map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned)
}

/// A CKAN dataset dict as a remote dataset; `None` without an id.
pub fn ckan_dataset(base: &str, dict: &Value) -> Option<RemoteDataset> {
    let remote_id = text(&dict["id"])?;
    let name = text(&dict["name"]).unwrap_or_else(|| remote_id.clone());
    let extra = |key: &str| {
        text(&dict[key]).or_else(|| {
            dict["extras"].as_array()?.iter().find(|e| e["key"].as_str() == Some(key)).and_then(|e| text(&e["value"]))
        })
    };
    let labels = |key: &str| -> Vec<String> {
        dict[key]
            .as_array()
            .map(|items| {
                items
                    .iter()
                    .filter_map(|i| text(&i["title"]).or_else(|| text(&i["name"])).or_else(|| text(i)))
                    .collect()
            })
            .unwrap_or_default()
    };
    let distributions = dict["resources"]
        .as_array()
        .map(|resources| {
            resources
                .iter()
                .map(|r| RemoteDistribution {
                    title: text(&r["name"]),
                    format: text(&r["format"]),
                    media_type: text(&r["mimetype"]),
                    url: text(&r["url"]).and_then(|u| web_url(&u)),
                })
                .collect()
        })
        .unwrap_or_default();
    Some(RemoteDataset {
        title: text(&dict["title"]).unwrap_or_else(|| name.clone()),
        title_en: text(&dict["title_en"]),
        description: text(&dict["notes"]),
        description_en: text(&dict["notes_en"]),
        publisher: text(&dict["organization"]["title"]).or_else(|| text(&dict["author"])),
        landing_page: web_url(&format!("{base}/dataset/{name}")),
        keywords: dict["tags"]
            .as_array()
            .map(|tags| tags.iter().filter_map(|t| text(&t["name"]).or_else(|| text(t))).collect())
            .unwrap_or_default(),
        themes: labels("groups"),
        license: text(&dict["license_title"]).or_else(|| text(&dict["license_id"])),
        modified: text(&dict["metadata_modified"]),
        frequency: extra("frequency").or_else(|| extra("update_cycle")),
        distributions,
        remote_id,
    })
}

async fn fetch_dcat(client: &reqwest::Client, url: &str) -> Result<Fetched, HarvestError> {
    let mut fetched = Fetched::default();
    let mut seen = std::collections::HashSet::new();
    let mut visited = std::collections::HashSet::new();
    let mut next = Some(url.trim().to_owned());
    while let Some(page_url) = next.take() {
        if fetched.pages >= MAX_PAGES {
            return Ok(fetched);
        }
        // A `next` that leads back to a page already read ends the catalog.
        if !visited.insert(page_url.clone()) {
            break;
        }
        let accept = "text/turtle, application/rdf+xml;q=0.9, application/ld+json;q=0.8";
        let (body, content_type) = get(client, &page_url, accept).await?;
        let syntax = RdfSyntax::detect(content_type.as_deref(), &page_url);
        let page = parse_dcat(&body, syntax, &page_url)?;
        fetched.pages += 1;
        for dataset in page.datasets {
            if seen.insert(dataset.remote_id.clone()) {
                fetched.datasets.push(dataset);
            }
        }
        if fetched.datasets.len() >= MAX_DATASETS {
            return Ok(fetched);
        }
        next = page.next_page;
    }
    fetched.complete = true;
    Ok(fetched)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_action_api_base_is_found_however_the_url_is_given() {
        for url in ["https://p.example/", "https://p.example/api/3/action/package_search", "https://p.example/api/3"] {
            assert_eq!(ckan_base(url), "https://p.example");
        }
    }

    #[test]
    fn a_ckan_dict_keeps_what_a_harvest_needs() {
        let dict = json!({
            "id": "abc", "name": "air", "title": "空气质量", "notes": "逐时监测",
            "organization": {"title": "生态环境局"}, "tags": [{"name": "空气"}], "groups": [{"name": "env", "title": "生态环境"}],
            "license_id": "CC-BY-4.0", "metadata_modified": "2026-01-02T03:04:05",
            "extras": [{"key": "frequency", "value": "daily"}],
            "resources": [{"name": "数据", "format": "CSV", "url": "https://p.example/air.csv"}],
        });
        let dataset = ckan_dataset("https://p.example", &dict).unwrap();
        assert_eq!(dataset.landing_page.as_deref(), Some("https://p.example/dataset/air"));
        assert_eq!((dataset.themes, dataset.keywords), (vec!["生态环境".to_owned()], vec!["空气".to_owned()]));
        assert_eq!(dataset.frequency.as_deref(), Some("daily"));
        assert_eq!(dataset.distributions[0].url.as_deref(), Some("https://p.example/air.csv"));
        assert!(ckan_dataset("https://p.example", &json!({"title": "no id"})).is_none());
    }
}
