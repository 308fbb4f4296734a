//! Why a file could not be loaded, said so a person can find and fix it.

use std::path::Path;

/// A problem at a place in the source file.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RowProblem {
    /// 1-based line in the source file where the row starts.
    pub line: u64,
    /// The column's name, when one column is at fault.
    pub column: Option<String>,
    /// What is wrong, in English.
    pub problem: String,
    /// What is wrong, in Chinese.
    pub problem_zh: String,
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
    #[error(
        "cannot read `{0}` files; supported: csv, tsv, psv, ssv, txt, xlsx, xlsm, xlsb, xls, ods, json, ndjson, parquet"
    )]
    UnsupportedFormat(String),
    /// The file cannot be read as its format says (a broken or encrypted
    /// spreadsheet, JSON without records, a sheet that does not exist).
    #[error("{en}")]
    Unreadable {
        /// Why, in English.
        en: String,
        /// Why, in Chinese.
        zh: String,
    },
    /// The file holds no header row.
    #[error("the file is empty: no header row was found")]
    Empty,
    /// A row could not be parsed or does not fit.
    #[error("{0}")]
    Row(RowProblem),
    /// The declared schema does not match the file.
    #[error("the declared schema does not match the file: {en}")]
    Schema {
        /// What, in English.
        en: String,
        /// What, in Chinese.
        zh: String,
    },
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

    pub(crate) fn row(line: u64, column: Option<&str>, en: impl Into<String>, zh: impl Into<String>) -> Self {
        IngestError::Row(RowProblem {
            line,
            column: column.map(str::to_owned),
            problem: en.into(),
            problem_zh: zh.into(),
        })
    }

    pub(crate) fn schema(en: impl Into<String>, zh: impl Into<String>) -> Self {
        IngestError::Schema { en: en.into(), zh: zh.into() }
    }

    /// The message in Chinese, for people who read the platform in Chinese.
    pub fn message_zh(&self) -> String {
        match self {
            IngestError::Io { path, .. } => format!("无法读取或写入文件 {path}"),
            IngestError::UnknownEncoding(label) => {
                format!("未知编码 `{label}`，可用如 utf-8、gb18030、gbk、big5、utf-16le")
            }
            IngestError::UnsupportedFormat(format) => {
                format!(
                    "暂不支持 `{format}` 格式；支持 csv、tsv、psv、ssv、txt、xlsx、xlsm、xlsb、xls、ods、json、ndjson、parquet"
                )
            }
            IngestError::Empty => "文件为空：未找到表头行".into(),
            IngestError::Unreadable { zh, .. } => zh.clone(),
            IngestError::Row(problem) => match &problem.column {
                Some(column) => format!("第 {} 行，列 `{column}`：{}", problem.line, problem.problem_zh),
                None => format!("第 {} 行：{}", problem.line, problem.problem_zh),
            },
            IngestError::Schema { zh, .. } => format!("声明的表结构与文件不符：{zh}"),
            IngestError::Parquet(_) | IngestError::Arrow(_) => "写入 Parquet 文件失败".into(),
        }
    }

    /// Whether the input is at fault (as opposed to this machine).
    pub fn is_bad_input(&self) -> bool {
        !matches!(self, IngestError::Parquet(_) | IngestError::Arrow(_))
    }
}
