//! Downloads as streams of bytes: record batches are encoded one at a time,
//! so memory stays flat however many rows a download holds.

use bytes::Bytes;
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::execution::SendableRecordBatchStream;
use futures::{Stream, StreamExt};

use crate::QueryError;

/// Formats a table downloads as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DownloadFormat {
    /// CSV in UTF-8.
    Csv,
    /// CSV in UTF-8 with a byte order mark, which Excel needs to recognise UTF-8.
    CsvBom,
    /// CSV in GB18030, which Excel on Chinese Windows opens as it is.
    CsvGb18030,
    /// One JSON array of objects.
    Json,
    /// One JSON object per line.
    Ndjson,
}

impl DownloadFormat {
    /// Parses the `format` parameter.
    pub fn parse(value: &str) -> Result<DownloadFormat, QueryError> {
        Ok(match value {
            "csv" => DownloadFormat::Csv,
            "csv-bom" => DownloadFormat::CsvBom,
            "csv-gb18030" | "csv-gbk" => DownloadFormat::CsvGb18030,
            "json" => DownloadFormat::Json,
            "ndjson" | "jsonl" => DownloadFormat::Ndjson,
            other => {
                return Err(QueryError::invalid(
                    "format",
                    format!("unknown format `{other}`; use csv, csv-bom, csv-gb18030, xlsx, json, ndjson or parquet"),
                    format!("未知格式 `{other}`；可用 csv、csv-bom、csv-gb18030、xlsx、json、ndjson、parquet"),
                ));
            }
        })
    }

    /// The HTTP content type.
    pub fn content_type(self) -> &'static str {
        match self {
            DownloadFormat::Csv | DownloadFormat::CsvBom => "text/csv; charset=utf-8",
            DownloadFormat::CsvGb18030 => "text/csv; charset=gb18030",
            DownloadFormat::Json => "application/json",
            DownloadFormat::Ndjson => "application/x-ndjson",
        }
    }

    /// The file extension.
    pub fn extension(self) -> &'static str {
        match self {
            DownloadFormat::Csv | DownloadFormat::CsvBom | DownloadFormat::CsvGb18030 => "csv",
            DownloadFormat::Json => "json",
            DownloadFormat::Ndjson => "ndjson",
        }
    }
}

struct State {
    input: SendableRecordBatchStream,
    format: DownloadFormat,
    started: bool,
    rows_written: u64,
    finished: bool,
}

/// Encodes a stream of record batches in `format`.
pub fn encode_stream(
    input: SendableRecordBatchStream,
    format: DownloadFormat,
) -> impl Stream<Item = Result<Bytes, QueryError>> + Send {
    let state = State { input, format, started: false, rows_written: 0, finished: false };
    futures::stream::unfold(state, |mut state| async move {
        if state.finished {
            return None;
        }
        let chunk = match state.input.next().await {
            Some(Ok(batch)) => encode_batch(&mut state, &batch),
            Some(Err(error)) => {
                state.finished = true;
                Err(QueryError::Engine(error))
            }
            None => {
                state.finished = true;
                finish(&mut state)
            }
        };
        Some((chunk, state))
    })
}

fn encode_batch(state: &mut State, batch: &RecordBatch) -> Result<Bytes, QueryError> {
    let first = !state.started;
    state.started = true;
    let mut out = Vec::new();
    match state.format {
        DownloadFormat::Csv | DownloadFormat::CsvBom | DownloadFormat::CsvGb18030 => {
            if first && state.format == DownloadFormat::CsvBom {
                out.extend_from_slice("\u{feff}".as_bytes());
            }
            let mut writer = arrow_csv::WriterBuilder::new().with_header(first).build(&mut out);
            writer.write(batch).map_err(arrow_error)?;
            drop(writer);
            if state.format == DownloadFormat::CsvGb18030 {
                out = to_gb18030(out);
            }
        }
        DownloadFormat::Ndjson => {
            let mut writer = arrow_json::LineDelimitedWriter::new(&mut out);
            writer.write(batch).map_err(arrow_error)?;
            writer.finish().map_err(arrow_error)?;
        }
        DownloadFormat::Json => {
            if first {
                out.push(b'[');
            }
            let mut lines = Vec::new();
            let mut writer = arrow_json::LineDelimitedWriter::new(&mut lines);
            writer.write(batch).map_err(arrow_error)?;
            writer.finish().map_err(arrow_error)?;
            // JSON text never holds a raw newline, so lines are records.
            for record in lines.split(|byte| *byte == b'\n').filter(|line| !line.is_empty()) {
                if state.rows_written > 0 {
                    out.extend_from_slice(b",\n");
                }
                out.extend_from_slice(record);
                state.rows_written += 1;
            }
            return Ok(Bytes::from(out));
        }
    }
    state.rows_written += batch.num_rows() as u64;
    Ok(Bytes::from(out))
}

/// What closes the file: `]` for JSON, the header of an empty CSV.
fn finish(state: &mut State) -> Result<Bytes, QueryError> {
    match state.format {
        DownloadFormat::Json if state.started => Ok(Bytes::from_static(b"]\n")),
        DownloadFormat::Json => Ok(Bytes::from_static(b"[]\n")),
        DownloadFormat::Csv | DownloadFormat::CsvBom | DownloadFormat::CsvGb18030 if !state.started => {
            let empty = RecordBatch::new_empty(state.input.schema());
            encode_batch(state, &empty)
        }
        _ => Ok(Bytes::new()),
    }
}

/// Record batches as one JSON array of objects with explicit nulls: the
/// rows of a page or an SQL result, as the JSON APIs (native and CKAN)
/// answer them.
pub fn records_json(batches: &[RecordBatch]) -> Result<serde_json::Value, QueryError> {
    let mut buffer = Vec::new();
    let mut writer = arrow_json::WriterBuilder::new()
        .with_explicit_nulls(true)
        .build::<_, arrow_json::writer::JsonArray>(&mut buffer);
    for batch in batches {
        writer.write(batch).map_err(arrow_error)?;
    }
    writer.finish().map_err(arrow_error)?;
    drop(writer);
    if buffer.is_empty() {
        return Ok(serde_json::Value::Array(vec![]));
    }
    serde_json::from_slice(&buffer)
        .map_err(|e| QueryError::Engine(datafusion::error::DataFusionError::External(Box::new(e))))
}

fn to_gb18030(utf8: Vec<u8>) -> Vec<u8> {
    let text = String::from_utf8(utf8).expect("the CSV writer writes UTF-8");
    // GB18030 encodes all of Unicode, so nothing is lost.
    encoding_rs::GB18030.encode(&text).0.into_owned()
}

fn arrow_error(error: datafusion::arrow::error::ArrowError) -> QueryError {
    QueryError::Engine(error.into())
}
