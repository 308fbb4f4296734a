//! JSON inputs: an array of objects (or an object holding one, as API
//! exports do: `{"code": 200, "data": [...]}`), or newline-delimited
//! objects. Columns are the keys in the order they first appear.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::{Map, Value};

use crate::IngestError;
use crate::layout::{Row, clean, header_names};
use crate::source::RowSource;

/// A JSON array is parsed whole; past this size, NDJSON streams instead.
const MAX_JSON_ARRAY_BYTES: u64 = 256 * 1024 * 1024;

/// Keys under which API exports usually put their records, tried first.
const RECORD_KEYS: [&str; 6] = ["data", "records", "rows", "result", "items", "list"];

pub(crate) struct JsonPlan {
    pub(crate) lines: bool,
    keys: Vec<String>,
}

fn not_records(line: u64, what: &str) -> IngestError {
    IngestError::row(
        line,
        None,
        format!("{what} is not a JSON object; each record must be an object of column: value"),
        format!("{what}不是 JSON 对象；每条记录应为“列名: 值”形式的对象"),
    )
}

fn parse_error(line: u64, error: &serde_json::Error) -> IngestError {
    IngestError::row(line, None, format!("invalid JSON: {error}"), format!("JSON 格式错误：{error}"))
}

/// The records of a parsed JSON document.
fn records(document: Value) -> Result<Vec<Value>, IngestError> {
    match document {
        Value::Array(records) => Ok(records),
        Value::Object(mut object) => {
            let key =
                RECORD_KEYS.iter().map(|k| (*k).to_owned()).chain(object.keys().cloned().collect::<Vec<_>>()).find(
                    |key| matches!(object.get(key), Some(Value::Array(items)) if items.iter().all(Value::is_object)),
                );
            match key.and_then(|key| object.remove(&key)) {
                Some(Value::Array(records)) => Ok(records),
                _ => Err(IngestError::Unreadable {
                    en: "the JSON holds no array of records (an array of objects, or an object with one)".into(),
                    zh: "JSON 中没有记录数组（应为对象数组，或包含对象数组的对象）".into(),
                }),
            }
        }
        _ => Err(not_records(1, "the document")),
    }
}

fn read_array(source: &Path) -> Result<Vec<Value>, IngestError> {
    let size = std::fs::metadata(source).map_err(|e| IngestError::io(source, e))?.len();
    if size > MAX_JSON_ARRAY_BYTES {
        return Err(IngestError::Unreadable {
            en: format!(
                "a JSON array of {} MiB is too large to load whole; send it as NDJSON (one object per line)",
                size >> 20
            ),
            zh: format!("JSON 数组（{} MiB）过大，请改为 NDJSON（每行一个对象）", size >> 20),
        });
    }
    let file = File::open(source).map_err(|e| IngestError::io(source, e))?;
    let document: Value =
        serde_json::from_reader(BufReader::new(file)).map_err(|e| parse_error(e.line() as u64, &e))?;
    records(document)
}

fn collect_keys(keys: &mut Vec<String>, object: &Map<String, Value>) {
    for key in object.keys() {
        if !keys.contains(key) {
            keys.push(key.clone());
        }
    }
}

impl JsonPlan {
    pub(crate) fn prepare(source: &Path, lines: bool) -> Result<JsonPlan, IngestError> {
        let mut keys = Vec::new();
        if lines {
            let mut reader = NdjsonRows::open(source, Arc::new(AtomicU64::new(0)), Vec::new())?;
            while let Some((_, object)) = reader.next_object()? {
                collect_keys(&mut keys, &object);
            }
        } else {
            for (index, record) in read_array(source)?.iter().enumerate() {
                match record {
                    Value::Object(object) => collect_keys(&mut keys, object),
                    _ => return Err(not_records(index as u64 + 1, &format!("record {}", index + 1))),
                }
            }
        }
        if keys.is_empty() {
            return Err(IngestError::Empty);
        }
        Ok(JsonPlan { lines, keys })
    }

    pub(crate) fn open(&self, source: &Path, bytes_read: Arc<AtomicU64>) -> Result<Box<dyn RowSource>, IngestError> {
        let headers = header_names(self.keys.iter().map(String::as_str));
        if self.lines {
            Ok(Box::new(NdjsonRows::open(source, bytes_read, self.keys.clone())?.with_headers(headers)))
        } else {
            let records = read_array(source)?;
            Ok(Box::new(ArrayRows { headers, keys: self.keys.clone(), records: records.into_iter(), index: 0 }))
        }
    }
}

/// A JSON value as a cell: nested values stay JSON text.
fn cell_text(value: Option<&Value>) -> String {
    match value {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(text)) => clean(text),
        Some(Value::Bool(flag)) => flag.to_string(),
        Some(Value::Number(number)) => number.to_string(),
        Some(nested) => nested.to_string(),
    }
}

fn row_of(line: u64, keys: &[String], object: &Map<String, Value>) -> Row {
    Row { line, cells: keys.iter().map(|key| cell_text(object.get(key))).collect(), short_by: 0 }
}

struct ArrayRows {
    headers: Vec<String>,
    keys: Vec<String>,
    records: std::vec::IntoIter<Value>,
    index: u64,
}

impl RowSource for ArrayRows {
    fn headers(&self) -> &[String] {
        &self.headers
    }

    fn next_row(&mut self) -> Result<Option<Row>, IngestError> {
        loop {
            self.index += 1;
            match self.records.next() {
                None => return Ok(None),
                Some(Value::Object(object)) => {
                    let row = row_of(self.index, &self.keys, &object);
                    if row.cells.iter().any(|c| !c.is_empty()) {
                        return Ok(Some(row));
                    }
                }
                Some(_) => return Err(not_records(self.index, &format!("record {}", self.index))),
            }
        }
    }
}

/// A JSON object with the line it was on.
type NumberedObject = (u64, Map<String, Value>);

struct NdjsonRows {
    reader: BufReader<File>,
    bytes_read: Arc<AtomicU64>,
    line: u64,
    buffer: String,
    headers: Vec<String>,
    keys: Vec<String>,
}

impl NdjsonRows {
    fn open(source: &Path, bytes_read: Arc<AtomicU64>, keys: Vec<String>) -> Result<NdjsonRows, IngestError> {
        let file = File::open(source).map_err(|e| IngestError::io(source, e))?;
        Ok(NdjsonRows {
            reader: BufReader::new(file),
            bytes_read,
            line: 0,
            buffer: String::new(),
            headers: vec![],
            keys,
        })
    }

    fn with_headers(mut self, headers: Vec<String>) -> Self {
        self.headers = headers;
        self
    }

    fn next_object(&mut self) -> Result<Option<NumberedObject>, IngestError> {
        loop {
            self.buffer.clear();
            let n = self.reader.read_line(&mut self.buffer).map_err(|e| {
                IngestError::row(
                    self.line + 1,
                    None,
                    format!("cannot read the line: {e}"),
                    format!("无法读取该行：{e}"),
                )
            })?;
            if n == 0 {
                return Ok(None);
            }
            self.line += 1;
            self.bytes_read.fetch_add(n as u64, Ordering::Relaxed);
            let text = self.buffer.trim().trim_start_matches('\u{feff}');
            if text.is_empty() {
                continue;
            }
            return match serde_json::from_str::<Value>(text) {
                Ok(Value::Object(object)) => Ok(Some((self.line, object))),
                Ok(_) => Err(not_records(self.line, "the line")),
                Err(error) => Err(parse_error(self.line, &error)),
            };
        }
    }
}

impl RowSource for NdjsonRows {
    fn headers(&self) -> &[String] {
        &self.headers
    }

    fn next_row(&mut self) -> Result<Option<Row>, IngestError> {
        Ok(self.next_object()?.map(|(line, object)| row_of(line, &self.keys, &object)))
    }
}
