//! Parquet inputs. A Parquet file already carries a schema its producer
//! chose, so nothing is inferred: each column's type is mapped onto the
//! types every version is written with (narrow integers widen, decimals keep
//! their scale, timestamps become microseconds, anything nested becomes its
//! text), and the batches are rewritten with the same compression and
//! quality profile as every other version. Unlike text inputs, a text value
//! such as `-` or `NULL` stays a value: Parquet says what is null.

use std::fs::File;
use std::path::Path;
use std::sync::Arc;

use arrow_array::{Array, ArrayRef, RecordBatch, StringArray};
use arrow_cast::display::{ArrayFormatter, FormatOptions};
use arrow_cast::{CastOptions, can_cast_types, cast_with_options};
use arrow_schema::{ArrowError, DataType, Schema};
use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use crate::infer::ColumnType;
use crate::layout::header_names;
use crate::profile::{ColumnStats, Duplicates, QualityProfile};
use crate::schema::ColumnSchema;
use crate::write::{Written, arrow_schema, hash_file, writer_properties};
use crate::{IngestError, IngestOptions};

const BATCH_ROWS: usize = 8192;

fn unreadable(error: impl std::fmt::Display) -> IngestError {
    IngestError::Unreadable {
        en: format!("not a readable Parquet file: {error}"),
        zh: format!("无法读取该 Parquet 文件：{error}"),
    }
}

/// The type a Parquet column is written as.
fn column_type(data_type: &DataType) -> ColumnType {
    match data_type {
        DataType::Int8
        | DataType::Int16
        | DataType::Int32
        | DataType::Int64
        | DataType::UInt8
        | DataType::UInt16
        | DataType::UInt32 => ColumnType::Integer,
        // Past i64::MAX, so exact as a decimal.
        DataType::UInt64 => ColumnType::Decimal { scale: 0 },
        DataType::Float16 | DataType::Float32 | DataType::Float64 => ColumnType::Float,
        DataType::Decimal32(_, scale)
        | DataType::Decimal64(_, scale)
        | DataType::Decimal128(_, scale)
        | DataType::Decimal256(_, scale) => ColumnType::Decimal { scale: (*scale).clamp(0, 38) as u8 },
        DataType::Boolean => ColumnType::Boolean,
        DataType::Date32 | DataType::Date64 => ColumnType::Date,
        DataType::Timestamp(_, _) => ColumnType::DateTime,
        DataType::Dictionary(_, values) => column_type(values),
        _ => ColumnType::Text,
    }
}

/// A source column converted to the type it is written as.
fn convert(array: &ArrayRef, target: &DataType) -> Result<ArrayRef, ArrowError> {
    if *target == DataType::Utf8 && !can_cast_types(array.data_type(), target) {
        // Lists, structs, maps: kept as their text.
        let formatter = ArrayFormatter::try_new(array.as_ref(), &FormatOptions::default())?;
        let text: StringArray =
            (0..array.len()).map(|i| (!array.is_null(i)).then(|| formatter.value(i).to_string())).collect();
        return Ok(Arc::new(text));
    }
    cast_with_options(array, target, &CastOptions { safe: false, ..CastOptions::default() })
}

/// Rewrites the Parquet file `source` as a version at `output`.
pub(crate) fn ingest_parquet(
    source: &Path,
    options: &IngestOptions,
    output: &Path,
    progress: &dyn Fn(u64, u64),
) -> Result<(Vec<ColumnSchema>, Written), IngestError> {
    if options.schema.is_some() {
        return Err(IngestError::schema(
            "a Parquet file carries its own schema; leave out the declared schema",
            "Parquet 文件自带表结构，无需另行声明",
        ));
    }
    let source_bytes = std::fs::metadata(source).map_err(|e| IngestError::io(source, e))?.len();
    let file = File::open(source).map_err(|e| IngestError::io(source, e))?;
    let builder = ParquetRecordBatchReaderBuilder::try_new(file).map_err(unreadable)?;
    let total_rows = u64::try_from(builder.metadata().file_metadata().num_rows()).unwrap_or(0).max(1);
    let source_schema = builder.schema().clone();
    let names = header_names(source_schema.fields().iter().map(|f| f.name().as_str()));
    let columns: Vec<ColumnSchema> = names
        .into_iter()
        .zip(source_schema.fields())
        .map(|(name, field)| ColumnSchema { name, column_type: column_type(field.data_type()) })
        .collect();
    let schema: Arc<Schema> = Arc::new(arrow_schema(&columns));
    let reader = builder.with_batch_size(BATCH_ROWS).build().map_err(unreadable)?;

    let out = File::create(output).map_err(|e| IngestError::io(output, e))?;
    let mut writer = ArrowWriter::try_new(out, schema.clone(), Some(writer_properties()))?;
    let mut stats: Vec<ColumnStats> = columns.iter().map(|c| ColumnStats::new(c.column_type)).collect();
    let mut duplicates = Duplicates::default();
    let mut row_count = 0u64;
    let format_options = FormatOptions::default();
    for batch in reader {
        let batch = batch.map_err(unreadable)?;
        let mut arrays = Vec::with_capacity(columns.len());
        for ((array, field), column) in batch.columns().iter().zip(schema.fields()).zip(&columns) {
            let converted = convert(array, field.data_type()).map_err(|e| IngestError::Unreadable {
                en: format!(
                    "column `{}` ({}) in rows {}–{} does not convert to {:?}: {e}",
                    column.name,
                    array.data_type(),
                    row_count + 1,
                    row_count + batch.num_rows() as u64,
                    column.column_type
                ),
                zh: format!(
                    "第 {}–{} 行的列 `{}`（{}）无法转换为 {:?}：{e}",
                    row_count + 1,
                    row_count + batch.num_rows() as u64,
                    column.name,
                    array.data_type(),
                    column.column_type
                ),
            })?;
            arrays.push(converted);
        }
        let formatters = arrays
            .iter()
            .map(|a| ArrayFormatter::try_new(a.as_ref(), &format_options))
            .collect::<Result<Vec<_>, _>>()?;
        let mut cells = vec![String::new(); columns.len()];
        for row in 0..batch.num_rows() {
            for (index, (array, formatter)) in arrays.iter().zip(&formatters).enumerate() {
                cells[index].clear();
                if array.is_null(row) {
                    stats[index].observe_null();
                } else {
                    use std::fmt::Write;
                    let _ = write!(cells[index], "{}", formatter.value(row));
                    stats[index].observe_value(&cells[index]);
                }
            }
            duplicates.observe(&cells);
        }
        drop(formatters);
        row_count += batch.num_rows() as u64;
        writer.write(&RecordBatch::try_new(schema.clone(), arrays)?)?;
        progress(source_bytes.saturating_mul(row_count) / total_rows, row_count);
    }
    if row_count == 0 {
        writer.write(&RecordBatch::new_empty(schema.clone()))?;
    }
    writer.close()?;
    let (bytes, content_hash) = hash_file(output)?;
    let profile = QualityProfile {
        columns: stats.into_iter().zip(&columns).map(|(s, c)| s.finish(&c.name)).collect(),
        duplicate_rows: duplicates.count,
    };
    Ok((columns, Written { row_count, bytes, content_hash, profile }))
}
