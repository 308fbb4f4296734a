//! Ingest: turns a real-world tabular file into one typed Parquet file, with
//! the schema, row count, content hash and a quality profile of what it
//! wrote. This is where CKAN's loaders fail most often, so every decision is
//! made over the whole file, and every refusal names the row, the column and
//! the problem.
//!
//! The pipeline reads the file twice, streaming both times, so memory stays
//! flat however large the file: the first pass infers each column's type
//! from every cell; the second pass converts the cells and writes Parquet
//! batch by batch. [`ingest`] is synchronous; callers on an async runtime
//! run it on a blocking thread.
//!
//! **Architecture Invariant:** ingest writes only the output path it is given;
//! making that file a visible version is the caller's job, after it is complete.

mod decode;
mod error;
pub mod infer;
mod json;
mod layout;
mod parquet_input;
mod profile;
mod schema;
mod sheet;
mod source;
mod write;

pub use write::arrow_schema;

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

pub use error::{IngestError, RowProblem};
pub use profile::{ColumnProfile, QualityProfile};
pub use schema::{ColumnSchema, DeclaredSchema};

/// Choices the caller may make instead of letting ingest detect them.
#[derive(Debug, Clone, Default)]
pub struct IngestOptions {
    /// Encoding label (`utf-8`, `gbk`, `gb18030`, `big5`, `utf-16le`, …).
    pub encoding: Option<String>,
    /// Field delimiter.
    pub delimiter: Option<u8>,
    /// Non-blank rows above the header (titles, units) to skip; detected when `None`.
    pub skip_rows: Option<usize>,
    /// A Frictionless Table Schema whose field types override inference.
    pub schema: Option<DeclaredSchema>,
    /// The spreadsheet's sheet, by name or 1-based number; the first with data when `None`.
    pub sheet: Option<String>,
}

/// How far ingest has got, for progress bars.
#[derive(Debug, Clone, Copy)]
pub struct Progress {
    /// 1 while inferring types, 2 while writing.
    pub pass: u8,
    /// Source bytes read in this pass.
    pub bytes: u64,
    /// Rows read in this pass.
    pub rows: u64,
}

/// What ingest read and wrote.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Ingested {
    /// The columns written, in order.
    pub columns: Vec<ColumnSchema>,
    /// Data rows written.
    pub row_count: u64,
    /// Size of the source file.
    pub source_bytes: u64,
    /// Size of the Parquet file written.
    pub parquet_bytes: u64,
    /// SHA-256 of the Parquet file, hex.
    pub content_hash: String,
    /// `delimited`, `spreadsheet`, `json`, `ndjson` or `parquet`.
    pub format: String,
    /// The encoding the source was read in (text formats).
    pub encoding: Option<String>,
    /// The delimiter used (delimited text).
    pub delimiter: Option<String>,
    /// The sheet read (spreadsheets).
    pub sheet: Option<String>,
    /// 1-based line (or sheet row) of the header in the source; 0 for
    /// Parquet, whose names come from its schema.
    pub header_line: u64,
    /// Per-column quality figures and duplicate rows.
    pub profile: QualityProfile,
    /// Things worth knowing that did not stop the load (short rows, …).
    pub warnings: Vec<RowProblem>,
}

/// Reads `source` and writes typed Parquet to `output`.
pub fn ingest(
    source: &Path,
    options: &IngestOptions,
    output: &Path,
    progress: &dyn Fn(Progress),
) -> Result<Ingested, IngestError> {
    let source_bytes = std::fs::metadata(source).map_err(|e| IngestError::io(source, e))?.len();
    if is_parquet(source) {
        let (columns, written) = parquet_input::ingest_parquet(source, options, output, &|bytes, rows| {
            progress(Progress { pass: 2, bytes, rows })
        })?;
        return Ok(Ingested {
            columns,
            row_count: written.row_count,
            source_bytes,
            parquet_bytes: written.bytes,
            content_hash: written.content_hash,
            format: "parquet".into(),
            encoding: None,
            delimiter: None,
            sheet: None,
            header_line: 0,
            profile: written.profile,
            warnings: Vec::new(),
        });
    }
    let plan = source::Plan::prepare(source, options)?;

    let bytes_read = Arc::new(AtomicU64::new(0));
    let mut rows = plan.open(source, bytes_read.clone())?;
    let headers = rows.headers().to_vec();
    let mut inference = schema::Inference::new(&headers, options.schema.as_ref())?;
    let mut warnings = Vec::new();
    let mut row_count = 0u64;
    while let Some(row) = rows.next_row()? {
        inference.observe(&row, &mut warnings)?;
        row_count += 1;
        if row_count.is_multiple_of(65_536) {
            progress(Progress { pass: 1, bytes: bytes_read.load(Ordering::Relaxed), rows: row_count });
        }
    }
    if plan.is_utf16() {
        warnings.retain(|w| !w.problem.starts_with("undecodable"));
    }
    let columns = inference.finish();

    let bytes_read = Arc::new(AtomicU64::new(0));
    let rows = plan.open(source, bytes_read.clone())?;
    let written = write::write_parquet(rows, &columns, output, &|rows| {
        progress(Progress { pass: 2, bytes: bytes_read.load(Ordering::Relaxed), rows })
    })?;
    debug_assert_eq!(written.row_count, row_count);
    let described = plan.describe();
    Ok(Ingested {
        columns,
        row_count: written.row_count,
        source_bytes,
        parquet_bytes: written.bytes,
        content_hash: written.content_hash,
        format: described.format.to_owned(),
        encoding: described.encoding,
        delimiter: described.delimiter,
        sheet: described.sheet,
        header_line: described.header_line,
        profile: written.profile,
        warnings,
    })
}

fn is_parquet(source: &Path) -> bool {
    source
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| matches!(e.to_ascii_lowercase().as_str(), "parquet" | "parq"))
}
