//! The second pass: cells converted to typed Arrow arrays, written to
//! Parquet batch by batch, with the quality profile gathered on the way.

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;
use std::sync::Arc;

use arrow_array::builder::{
    BooleanBuilder, Date32Builder, Decimal128Builder, Float64Builder, Int64Builder, StringBuilder,
    TimestampMicrosecondBuilder,
};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field, Schema, TimeUnit};
use chrono::{Datelike, NaiveDate};
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;
use sha2::{Digest, Sha256};

use crate::IngestError;
use crate::infer::{self, ColumnType};
use crate::profile::{ColumnStats, Duplicates, QualityProfile};
use crate::schema::ColumnSchema;
use crate::source::RowSource;

/// Rows per record batch: small enough to keep memory flat, large enough
/// for Parquet pages to compress well.
const BATCH_ROWS: usize = 8192;

pub(crate) struct Written {
    pub(crate) row_count: u64,
    pub(crate) bytes: u64,
    pub(crate) content_hash: String,
    pub(crate) profile: QualityProfile,
}

/// The Arrow schema that a column list is written with.
pub fn arrow_schema(columns: &[ColumnSchema]) -> Schema {
    Schema::new(
        columns
            .iter()
            .map(|column| {
                let data_type = match column.column_type {
                    ColumnType::Integer => DataType::Int64,
                    ColumnType::Decimal { scale } => DataType::Decimal128(38, scale as i8),
                    ColumnType::Float => DataType::Float64,
                    ColumnType::Boolean => DataType::Boolean,
                    ColumnType::Date => DataType::Date32,
                    ColumnType::DateTime => DataType::Timestamp(TimeUnit::Microsecond, None),
                    ColumnType::Text => DataType::Utf8,
                };
                Field::new(&column.name, data_type, true)
            })
            .collect::<Vec<_>>(),
    )
}

enum Builder {
    Integer(Int64Builder),
    Decimal(Decimal128Builder, u8),
    Float(Float64Builder),
    Boolean(BooleanBuilder),
    Date(Date32Builder),
    DateTime(TimestampMicrosecondBuilder),
    Text(StringBuilder),
}

impl Builder {
    fn new(column_type: ColumnType) -> Result<Builder, IngestError> {
        Ok(match column_type {
            ColumnType::Integer => Builder::Integer(Int64Builder::with_capacity(BATCH_ROWS)),
            ColumnType::Decimal { scale } => Builder::Decimal(
                Decimal128Builder::with_capacity(BATCH_ROWS).with_precision_and_scale(38, scale as i8)?,
                scale,
            ),
            ColumnType::Float => Builder::Float(Float64Builder::with_capacity(BATCH_ROWS)),
            ColumnType::Boolean => Builder::Boolean(BooleanBuilder::with_capacity(BATCH_ROWS)),
            ColumnType::Date => Builder::Date(Date32Builder::with_capacity(BATCH_ROWS)),
            ColumnType::DateTime => Builder::DateTime(TimestampMicrosecondBuilder::with_capacity(BATCH_ROWS)),
            ColumnType::Text => Builder::Text(StringBuilder::with_capacity(BATCH_ROWS, BATCH_ROWS * 16)),
        })
    }

    /// Appends one cell; `false` when it does not convert.
    fn append(&mut self, cell: &str) -> bool {
        if infer::is_null(cell) {
            match self {
                Builder::Integer(b) => b.append_null(),
                Builder::Decimal(b, _) => b.append_null(),
                Builder::Float(b) => b.append_null(),
                Builder::Boolean(b) => b.append_null(),
                Builder::Date(b) => b.append_null(),
                Builder::DateTime(b) => b.append_null(),
                Builder::Text(b) => b.append_null(),
            }
            return true;
        }
        match self {
            Builder::Integer(b) => {
                digits(cell).and_then(|d| d.parse::<i64>().ok()).map(|v| b.append_value(v)).is_some()
            }
            Builder::Decimal(b, scale) => to_decimal(cell, *scale).map(|v| b.append_value(v)).is_some(),
            Builder::Float(b) => infer::parse_number(cell).map(|n| b.append_value(n.value)).is_some(),
            Builder::Boolean(b) => infer::parse_bool(cell).map(|v| b.append_value(v)).is_some(),
            Builder::Date(b) => infer::parse_date(cell).map(|d| b.append_value(days_since_epoch(d))).is_some(),
            Builder::DateTime(b) => {
                infer::parse_datetime(cell).map(|t| b.append_value(t.and_utc().timestamp_micros())).is_some()
            }
            Builder::Text(b) => {
                b.append_value(cell);
                true
            }
        }
    }

    fn finish(&mut self) -> ArrayRef {
        match self {
            Builder::Integer(b) => Arc::new(b.finish()),
            Builder::Decimal(b, _) => Arc::new(b.finish()),
            Builder::Float(b) => Arc::new(b.finish()),
            Builder::Boolean(b) => Arc::new(b.finish()),
            Builder::Date(b) => Arc::new(b.finish()),
            Builder::DateTime(b) => Arc::new(b.finish()),
            Builder::Text(b) => Arc::new(b.finish()),
        }
    }
}

fn days_since_epoch(date: NaiveDate) -> i32 {
    date.num_days_from_ce() - 719_163
}

/// The plain digits of a number cell (sign kept, separators removed), for
/// exact integer and decimal conversion.
fn digits(cell: &str) -> Option<String> {
    let number = infer::parse_number(cell)?;
    if number.exponent {
        return None;
    }
    let plain: String = cell
        .trim()
        .chars()
        .filter_map(|c| match c {
            '０'..='９' => char::from_u32(c as u32 - '０' as u32 + '0' as u32),
            '．' => Some('.'),
            '－' => Some('-'),
            '，' | ',' | '＋' | '+' => None,
            c => Some(c),
        })
        .collect();
    Some(plain)
}

/// A decimal cell as an integer of `scale` implied decimal places.
fn to_decimal(cell: &str, scale: u8) -> Option<i128> {
    let plain = digits(cell)?;
    let (negative, unsigned) = match plain.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, plain.as_str()),
    };
    let (integer, fraction) = unsigned.split_once('.').unwrap_or((unsigned, ""));
    if fraction.len() > scale as usize {
        return None;
    }
    let padded = format!("{integer}{fraction:0<width$}", width = scale as usize);
    let value: i128 = if padded.is_empty() { 0 } else { padded.parse().ok()? };
    Some(if negative { -value } else { value })
}

/// How every version's Parquet is written.
pub(crate) fn writer_properties() -> WriterProperties {
    WriterProperties::builder()
        .set_compression(Compression::ZSTD(ZstdLevel::default()))
        .set_created_by("gongshu".into())
        .build()
}

pub(crate) fn write_parquet(
    mut rows: Box<dyn RowSource>,
    columns: &[ColumnSchema],
    output: &Path,
    progress: &dyn Fn(u64),
) -> Result<Written, IngestError> {
    let schema = Arc::new(arrow_schema(columns));
    let file = File::create(output).map_err(|e| IngestError::io(output, e))?;
    let mut writer = ArrowWriter::try_new(file, schema.clone(), Some(writer_properties()))?;
    let mut builders = columns.iter().map(|c| Builder::new(c.column_type)).collect::<Result<Vec<_>, _>>()?;
    let mut stats: Vec<ColumnStats> = columns.iter().map(|c| ColumnStats::new(c.column_type)).collect();
    let mut duplicates = Duplicates::default();
    let mut in_batch = 0;
    let mut row_count = 0u64;
    while let Some(row) = rows.next_row()? {
        for (index, cell) in row.cells.iter().enumerate() {
            if !builders[index].append(cell) {
                return Err(IngestError::row(
                    row.line,
                    Some(&columns[index].name),
                    format!("`{cell}` does not convert to {:?}", columns[index].column_type),
                    format!("`{cell}` 无法转换为 {:?}", columns[index].column_type),
                ));
            }
            stats[index].observe(cell);
        }
        duplicates.observe(&row.cells);
        in_batch += 1;
        row_count += 1;
        if in_batch == BATCH_ROWS {
            let arrays = builders.iter_mut().map(Builder::finish).collect();
            writer.write(&RecordBatch::try_new(schema.clone(), arrays)?)?;
            in_batch = 0;
            progress(row_count);
        }
    }
    if in_batch > 0 || row_count == 0 {
        let arrays = builders.iter_mut().map(Builder::finish).collect();
        writer.write(&RecordBatch::try_new(schema.clone(), arrays)?)?;
    }
    writer.close()?;
    progress(row_count);
    let (bytes, content_hash) = hash_file(output)?;
    let profile = QualityProfile {
        columns: stats.into_iter().zip(columns).map(|(s, c)| s.finish(&c.name)).collect(),
        duplicate_rows: duplicates.count,
    };
    Ok(Written { row_count, bytes, content_hash, profile })
}

/// Size and SHA-256 of a file, streamed.
pub(crate) fn hash_file(path: &Path) -> Result<(u64, String), IngestError> {
    let file = File::open(path).map_err(|e| IngestError::io(path, e))?;
    let mut reader = BufReader::with_capacity(1 << 20, file);
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; 1 << 20];
    let mut total = 0u64;
    loop {
        let n = reader.read(&mut buffer).map_err(|e| IngestError::io(path, e))?;
        if n == 0 {
            break;
        }
        hasher.update(&buffer[..n]);
        total += n as u64;
    }
    let hex = hasher.finalize().iter().map(|b| format!("{b:02x}")).collect();
    Ok((total, hex))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_convert_exactly() {
        assert_eq!(to_decimal("1,234.5", 2), Some(123_450));
        assert_eq!(to_decimal("-0.07", 2), Some(-7));
        assert_eq!(to_decimal("３８１．７５", 3), Some(381_750));
        assert_eq!(to_decimal("1.234", 2), None);
        assert_eq!(days_since_epoch(NaiveDate::from_ymd_opt(1970, 1, 2).unwrap()), 1);
    }
}
