//! Where rows come from: delimited text, spreadsheets or JSON, each read
//! into the same trimmed string cells, so inference and writing are shared.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use encoding_rs::Encoding;

use crate::layout::{Layout, Row};
use crate::{IngestError, IngestOptions, decode, json, sheet};

/// Rows under a header.
pub(crate) trait RowSource {
    /// Column names, unique and non-empty.
    fn headers(&self) -> &[String];
    /// The next non-blank row, or `None` at the end.
    fn next_row(&mut self) -> Result<Option<Row>, IngestError>;
}

/// How a file will be read, decided once and used for both passes.
pub(crate) enum Plan {
    Delimited { layout: Layout, encoding: &'static Encoding },
    Sheet(sheet::SheetPlan),
    Json(json::JsonPlan),
}

/// How a file was read, for the version's record.
pub(crate) struct Described {
    pub(crate) format: &'static str,
    pub(crate) encoding: Option<String>,
    pub(crate) delimiter: Option<String>,
    pub(crate) sheet: Option<String>,
    pub(crate) header_line: u64,
}

impl Plan {
    /// Picks the reader by the file's extension and looks at the file.
    pub(crate) fn prepare(source: &Path, options: &IngestOptions) -> Result<Plan, IngestError> {
        let extension = source.extension().and_then(|e| e.to_str()).unwrap_or("").to_ascii_lowercase();
        match extension.as_str() {
            "xlsx" | "xlsm" | "xlsb" | "xls" | "ods" => Ok(Plan::Sheet(sheet::SheetPlan::prepare(source, options)?)),
            "json" => Ok(Plan::Json(json::JsonPlan::prepare(source, false)?)),
            "ndjson" | "jsonl" => Ok(Plan::Json(json::JsonPlan::prepare(source, true)?)),
            _ => {
                let sample = decode::sample(source).map_err(|e| IngestError::io(source, e))?;
                let encoding = match &options.encoding {
                    Some(label) => decode::by_label(label)?,
                    None => decode::detect(&sample),
                };
                let text_sample = decode::decode_sample(&sample, encoding);
                let layout = Layout::detect(source, &text_sample, options)?;
                Ok(Plan::Delimited { layout, encoding })
            }
        }
    }

    /// Opens the file at its first data row.
    pub(crate) fn open(&self, source: &Path, bytes_read: Arc<AtomicU64>) -> Result<Box<dyn RowSource>, IngestError> {
        Ok(match self {
            Plan::Delimited { layout, encoding } => Box::new(layout.open(source, encoding, bytes_read)?),
            Plan::Sheet(plan) => Box::new(plan.open(source)?),
            Plan::Json(plan) => plan.open(source, bytes_read)?,
        })
    }

    /// Whether decoding warnings mean nothing (UTF-16 samples cut mid-character).
    pub(crate) fn is_utf16(&self) -> bool {
        matches!(self, Plan::Delimited { encoding, .. } if decode::is_utf16(encoding))
    }

    pub(crate) fn describe(&self) -> Described {
        match self {
            Plan::Delimited { layout, encoding } => Described {
                format: "delimited",
                encoding: Some(encoding.name().to_owned()),
                delimiter: Some(layout.delimiter_name()),
                sheet: None,
                header_line: layout.header_line,
            },
            Plan::Sheet(plan) => Described {
                format: "spreadsheet",
                encoding: None,
                delimiter: None,
                sheet: Some(plan.sheet.clone()),
                header_line: plan.header_row,
            },
            Plan::Json(plan) => Described {
                format: if plan.lines { "ndjson" } else { "json" },
                encoding: Some("UTF-8".into()),
                delimiter: None,
                sheet: None,
                header_line: 1,
            },
        }
    }
}

impl RowSource for crate::layout::Rows {
    fn headers(&self) -> &[String] {
        &self.headers
    }

    fn next_row(&mut self) -> Result<Option<Row>, IngestError> {
        crate::layout::Rows::next_row(self)
    }
}
