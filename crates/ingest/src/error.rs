//! Why a file could not be loaded, said so a person can find and fix it.

use std::path::Path;

/// A problem at a place in the source file.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RowProblem {
    /// 1-based line in the source file where the row starts.
    pub line: u64,
    /// The column's name, when one column is at fault.
    pub column: Option<String>,
    /// What is wrong.
    pub problem: String,
}

impl std::fmt::Display for RowProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.column {
            Some(column) => write!(f, "line {}, column `{column}`: {}", self.line, self.problem),
            None => write!(f, "line {}: {}", self.line, self.problem),
        }
    }
}

/// Why ingest stopped. Nothing usable was written in any of these cases.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// The file could not be read or the output written.
    #[error("cannot read or write {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The encoding label is not one encoding_rs knows.
    #[error("unknown encoding `{0}`; use a label such as utf-8, gb18030, gbk, big5 or utf-16le")]
    UnknownEncoding(String),
    /// The format is not one ingest reads.
    #[error("cannot read `{0}` files; supported: csv, tsv, psv, txt")]
    UnsupportedFormat(String),
    /// The file holds no header row.
    #[error("the file is empty: no header row was found")]
    Empty,
    /// A row could not be parsed or does not fit.
    #[error("{0}")]
    Row(RowProblem),
    /// The declared schema does not match the file.
    #[error("the declared schema does not match the file: {0}")]
    Schema(String),
    /// Parquet writing failed.
    #[error("cannot write parquet: {0}")]
    Parquet(#[from] parquet::errors::ParquetError),
    /// Arrow refused a batch.
    #[error("cannot build a record batch: {0}")]
    Arrow(#[from] arrow_schema::ArrowError),
}

impl IngestError {
    pub(crate) fn io(path: &Path, source: std::io::Error) -> Self {
        IngestError::Io { path: path.display().to_string(), source }
    }

    pub(crate) fn row(line: u64, column: Option<&str>, problem: impl Into<String>) -> Self {
        IngestError::Row(RowProblem { line, column: column.map(str::to_owned), problem: problem.into() })
    }
}
