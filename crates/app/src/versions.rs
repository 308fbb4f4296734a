//! Loading data: a file becomes an immutable version of a resource. The
//! file is read and typed by ingest, written to the data store whole, and
//! only then recorded, with its history, in one transaction; a failure at
//! any step leaves no visible version.

use std::path::Path;
use std::sync::Arc;

use gongshu_datafiles::DataStore;
use gongshu_domain::{DatasetVersion, InvalidTransition, ResourceState, ValidationError, Validations};
use gongshu_ingest::{DeclaredSchema, IngestError, IngestOptions, Progress};
use gongshu_policy::{Action, Subject};

use crate::catalog::actor_may_see;
use crate::gateway::whole_access;
use crate::{App, AppError, AppResult, Step, actor_id, authorize, new_id};

/// How to read a file, where detection should not decide.
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// Encoding label (`gbk`, `big5`, `utf-16le` …).
    pub encoding: Option<String>,
    /// Field delimiter, one character (`,`, `tab`, `;`, `|`).
    pub delimiter: Option<String>,
    /// Non-blank rows above the header.
    pub skip_rows: Option<usize>,
    /// A Frictionless Table Schema (JSON) whose types override inference.
    pub schema_json: Option<String>,
    /// A spreadsheet's sheet, by name or 1-based number.
    pub sheet: Option<String>,
}

impl LoadOptions {
    fn parse(&self) -> Result<IngestOptions, Validations> {
        let mut problems = Validations::default();
        let delimiter = match self.delimiter.as_deref().map(str::trim) {
            None | Some("") => None,
            Some("tab" | "\\t" | "\t") => Some(b'\t'),
            Some(one) if one.len() == 1 && one.is_ascii() => Some(one.as_bytes()[0]),
            Some(other) => {
                problems.push(ValidationError::new(
                    "delimiter",
                    format!("`{other}` is not a delimiter: give one ASCII character or `tab`"),
                    format!("`{other}` 不是有效的分隔符：请给出一个 ASCII 字符或 `tab`"),
                ));
                None
            }
        };
        let schema = match &self.schema_json {
            None => None,
            Some(json) => match DeclaredSchema::from_json(json) {
                Ok(schema) => Some(schema),
                Err(error) => {
                    problems.push(ValidationError::new("schema", error.to_string(), error.message_zh()));
                    None
                }
            },
        };
        problems.finish(|| IngestOptions {
            encoding: self.encoding.clone(),
            delimiter,
            skip_rows: self.skip_rows,
            schema,
            sheet: self.sheet.clone(),
        })
    }
}

impl App {
    /// Loads `source` as the next version of a resource. The provider's
    /// cataloguers load data, in any state but rejected or cancelled.
    pub async fn load_version(
        &self,
        subject: &Subject,
        resource_id: &str,
        source: &Path,
        source_name: &str,
        options: &LoadOptions,
        progress: Arc<dyn Fn(Progress) + Send + Sync>,
    ) -> AppResult<DatasetVersion> {
        let ingest_options = options.parse()?;
        self.may_load(subject, resource_id).await?;

        let scratch = tempfile::Builder::new()
            .prefix("load-")
            .suffix(".parquet")
            .tempfile_in(&self.scratch)
            .map_err(|e| AppError::Internal(Box::new(e)))?;
        let output = scratch.path().to_owned();
        let input = source.to_owned();
        let ingested = tokio::task::spawn_blocking(move || {
            gongshu_ingest::ingest(&input, &ingest_options, &output, &|p| progress(p))
        })
        .await
        .map_err(|e| AppError::Internal(Box::new(e)))?
        .map_err(ingest_error)?;

        let version_id = new_id();
        let location = DataStore::version_location(resource_id, &version_id);
        self.data.put_file(&location, scratch.path()).await.map_err(|e| AppError::Internal(Box::new(e)))?;
        let mut version = DatasetVersion {
            id: version_id,
            resource_id: resource_id.to_owned(),
            version: 0,
            location: location.clone(),
            row_count: ingested.row_count as i64,
            parquet_bytes: ingested.parquet_bytes as i64,
            source_bytes: ingested.source_bytes as i64,
            content_hash: ingested.content_hash.clone(),
            source_name: source_name.to_owned(),
            schema_json: to_json(&SchemaRecord { version: 1, columns: &ingested.columns }),
            load_json: to_json(&LoadRecord {
                version: 1,
                format: &ingested.format,
                encoding: ingested.encoding.as_deref(),
                delimiter: ingested.delimiter.as_deref(),
                sheet: ingested.sheet.as_deref(),
                header_line: ingested.header_line,
                warnings: &ingested.warnings,
            }),
            profile_json: to_json(&ProfileRecord { version: 1, profile: &ingested.profile }),
            created_by: actor_id(subject),
            created_at: self.clock.now(),
        };
        match self.record_version(subject, &mut version, &ingested.columns).await {
            Ok(()) => Ok(version),
            Err(error) => {
                // The file was never recorded, so nobody can see it; remove it.
                if let Err(cleanup) = self.data.delete(&location).await {
                    tracing::warn!(%location, error = %cleanup, "unrecorded version file left behind");
                }
                Err(error)
            }
        }
    }

    /// A temporary file in the scratch directory (for uploads being received),
    /// removed when dropped.
    pub fn scratch_file(&self) -> AppResult<tempfile::NamedTempFile> {
        tempfile::Builder::new()
            .prefix("upload-")
            .tempfile_in(&self.scratch)
            .map_err(|e| AppError::Internal(Box::new(e)))
    }

    async fn may_load(&self, subject: &Subject, resource_id: &str) -> AppResult<()> {
        let mut tx = self.store.read().await?;
        let resource = self.visible_resource(&mut tx, subject, resource_id).await?;
        authorize(subject, Action::ManageResource { provider_org_id: &resource.provider_org_id })?;
        crate::catalog::refuse_harvested(&mut tx, resource_id).await?;
        if matches!(resource.state, ResourceState::Rejected | ResourceState::Cancelled | ResourceState::Discarded) {
            return Err(InvalidTransition { entity: "resource", action: "load", current: resource.state.code() }.into());
        }
        Ok(())
    }

    /// Authorizes again and records the version with its history, in one
    /// transaction. A draft without data items takes them from the file.
    async fn record_version(
        &self,
        subject: &Subject,
        version: &mut DatasetVersion,
        columns: &[gongshu_ingest::ColumnSchema],
    ) -> AppResult<()> {
        let mut tx = self.store.write().await?;
        let resource = self.visible_resource(&mut tx, subject, &version.resource_id).await?;
        authorize(subject, Action::ManageResource { provider_org_id: &resource.provider_org_id })?;
        if matches!(resource.state, ResourceState::Rejected | ResourceState::Cancelled | ResourceState::Discarded) {
            return Err(InvalidTransition { entity: "resource", action: "load", current: resource.state.code() }.into());
        }
        // Touching the entry serializes loads, so version numbers never clash.
        let state = resource.state;
        let mut draft = resource.draft.clone();
        let describes_items = state.is_editable() && draft.items.is_empty();
        if describes_items {
            draft.items = items_from_columns(columns);
        }
        tx.update_resource(&gongshu_domain::Resource { draft, updated_at: self.clock.now(), ..resource }).await?;
        version.version = tx.insert_version(version).await?;
        // Loads belong to the entry's history, where people look for them.
        let mut note = format!(
            "version {} ({}): {} rows from {}, sha256 {}",
            version.version, version.id, version.row_count, version.source_name, version.content_hash
        );
        if describes_items {
            note.push_str(&format!("; {} data items described from the file's columns", columns.len()));
        }
        let step = Step {
            entity_kind: "resource",
            entity_id: &version.resource_id,
            action: "load_version",
            from_state: Some(state.code()),
            to_state: Some(state.code()),
            opinion: Some(&note),
        };
        self.record(&mut tx, subject, step).await?;
        tx.commit().await?;
        self.catalog_changed(&version.resource_id).await;
        Ok(())
    }

    /// A resource's versions, newest first, for whoever may see the resource.
    pub async fn versions(&self, subject: &Subject, resource_id: &str) -> AppResult<Vec<DatasetVersion>> {
        let mut tx = self.store.read().await?;
        let resource = self.visible_resource(&mut tx, subject, resource_id).await?;
        let frozen = self.freeze_stopping(&mut tx, subject, resource_id, None).await?.is_some();
        let mut versions = tx.versions(resource_id).await?;
        for version in &mut versions {
            redact(subject, &resource, frozen, version);
        }
        Ok(versions)
    }

    /// One version of a resource.
    pub async fn version(&self, subject: &Subject, resource_id: &str, number: i64) -> AppResult<DatasetVersion> {
        let mut tx = self.store.read().await?;
        let resource = self.visible_resource(&mut tx, subject, resource_id).await?;
        let frozen = self.freeze_stopping(&mut tx, subject, resource_id, None).await?.is_some();
        let mut version = tx.version(resource_id, number).await?;
        redact(subject, &resource, frozen, &mut version);
        Ok(version)
    }
}

/// What of a version's description `subject` may see: who loaded it only
/// if they may see actors; the quality profile's smallest and largest
/// values only if they may read the data itself, since those are values
/// (and not while a freeze stops their reads).
fn redact(subject: &Subject, resource: &gongshu_domain::Resource, frozen: bool, version: &mut DatasetVersion) {
    if !actor_may_see(subject, &resource.provider_org_id) {
        version.created_by = None;
    }
    if (frozen || whole_access(subject, resource).is_err())
        && let Ok(mut profile) = serde_json::from_str::<serde_json::Value>(&version.profile_json)
    {
        if let Some(columns) = profile.pointer_mut("/profile/columns").and_then(|c| c.as_array_mut()) {
            for column in columns {
                column["min"] = serde_json::Value::Null;
                column["max"] = serde_json::Value::Null;
            }
        }
        version.profile_json = profile.to_string();
    }
}

/// Data items for a draft that had none, from a loaded file's columns.
/// Software cannot classify data, so each item says it awaits the
/// provider's review; the registration review is where that is checked.
fn items_from_columns(columns: &[gongshu_ingest::ColumnSchema]) -> Vec<gongshu_domain::DataItem> {
    columns
        .iter()
        .map(|column| gongshu_domain::DataItem {
            name: column.name.clone(),
            title: column.name.clone(),
            standard_code: None,
            data_type: column.data_type(),
            unit: None,
            description: Some(gongshu_domain::resource::DESCRIBED_ITEM_NOTE.into()),
            identifier_kind: gongshu_domain::IdentifierKind::None,
            level: gongshu_domain::SecurityLevel::General1,
            source_resource_id: None,
        })
        .collect()
}

/// A file that cannot be read is the sender's to fix: a validation error
/// naming the line and column; a failure to write is ours.
fn ingest_error(error: IngestError) -> AppError {
    if error.is_bad_input() {
        AppError::Validation(ValidationError::new("file", error.to_string(), error.message_zh()).into())
    } else {
        AppError::Internal(Box::new(error))
    }
}

/// Stored JSON formats of a version, versioned like resource content.
#[derive(serde::Serialize)]
struct SchemaRecord<'a> {
    version: u32,
    columns: &'a [gongshu_ingest::ColumnSchema],
}

#[derive(serde::Serialize)]
struct LoadRecord<'a> {
    version: u32,
    format: &'a str,
    encoding: Option<&'a str>,
    delimiter: Option<&'a str>,
    sheet: Option<&'a str>,
    header_line: u64,
    warnings: &'a [gongshu_ingest::RowProblem],
}

#[derive(serde::Serialize)]
struct ProfileRecord<'a> {
    version: u32,
    profile: &'a gongshu_ingest::QualityProfile,
}

fn to_json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).expect("stored records serialize")
}
