//! Harvest (区域协作): another region's open catalog, read on a schedule
//! into this one as read-only entries that say where they came from.

use chrono::{DateTime, Utc};

use crate::codes::code_enum;

code_enum! {
    /// What kind of endpoint a harvest source is.
    pub enum HarvestKind {
        /// A CKAN portal's Action API (another Gongshu is one).
        Ckan = ("ckan", "CKAN 接口"),
        /// A DCAT document (Turtle, RDF/XML or JSON-LD), possibly paged.
        Dcat = ("dcat", "DCAT 目录"),
    }
}

/// A portal whose open catalog this one harvests. Its entries are provided
/// by an organization of kind `portal` that stands for it and has no
/// members, so nobody here can edit them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HarvestSource {
    /// Stable id.
    pub id: String,
    /// The organization that stands for the portal.
    pub org_id: String,
    /// What kind of endpoint it is.
    pub kind: HarvestKind,
    /// Where its catalog is read.
    pub url: String,
    /// Added.
    pub created_at: DateTime<Utc>,
    /// Last harvested.
    pub last_run_at: Option<DateTime<Utc>>,
    /// The last harvest's report (JSON): what it created, updated, withdrew, or why it failed.
    pub last_report: Option<String>,
}

/// Where a harvested entry came from: the provenance shown with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HarvestRecord {
    /// The entry here.
    pub resource_id: String,
    /// The source it was read from.
    pub source_id: String,
    /// Its id at the source (a CKAN id or the dataset's IRI).
    pub remote_id: String,
    /// Its page at the source.
    pub landing_page: Option<String>,
    /// Its publisher at the source.
    pub publisher: Option<String>,
    /// Its files at the source (JSON list of title, format, media type, url).
    pub distributions_json: String,
    /// Last modified, as the source states it.
    pub remote_modified: Option<String>,
    /// SHA-256 of what was read, to tell a change from a re-read.
    pub content_hash: String,
    /// Last read.
    pub harvested_at: DateTime<Utc>,
    /// Whether the source still lists it.
    pub present: bool,
}
