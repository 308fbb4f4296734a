//! XLSX downloads. An XLSX file is a zip archive whose directory comes
//! last, so it cannot be sent while it is being written. Rows go to
//! constant-memory worksheets (spilled to temporary files in the scratch
//! directory), the workbook is assembled into an unnamed temporary file, and
//! that file is streamed. Memory stays flat; the disk holds one copy for as
//! long as the download lasts.
//!
//! Excel's own limits decide the rest: past 1,048,575 data rows the rows go
//! on in another sheet, numbers beyond 15 significant digits (18-digit
//! identifiers held as numbers, long decimals) are written as text so that
//! Excel does not round them, and text past 32,767 characters is cut there.

use std::io::{Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use datafusion::arrow::array::{Array, ArrayRef, AsArray, RecordBatch};
use datafusion::arrow::compute::{CastOptions, cast_with_options};
use datafusion::arrow::datatypes::{DataType, Date32Type, Int64Type, SchemaRef, TimeUnit, TimestampMicrosecondType};
use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};
use datafusion::error::DataFusionError;
use datafusion::execution::SendableRecordBatchStream;
use futures::{Stream, StreamExt};
use rust_xlsxwriter::{Format, Workbook, Worksheet, XlsxError};

use crate::QueryError;

/// Data rows per sheet: Excel's 1,048,576 rows less the header.
const ROWS_PER_SHEET: u32 = 1_048_575;
/// Excel's columns per sheet.
const MAX_COLUMNS: usize = 16_384;
/// Excel's characters per cell.
const MAX_CELL_CHARS: usize = 32_767;
/// Integers Excel holds exactly (2^53); beyond, doubles round.
const MAX_EXACT_INTEGER: i64 = 9_007_199_254_740_992;
/// The Excel serial number of 1970-01-01.
const UNIX_EPOCH_SERIAL: f64 = 25_569.0;
/// Serial numbers below this fall before 1900-03-01, where Excel's calendar
/// is off by its fictitious 1900-02-29; such dates are written as text.
const FIRST_RELIABLE_SERIAL: f64 = 61.0;

fn xlsx_error(error: XlsxError) -> QueryError {
    QueryError::Engine(DataFusionError::External(Box::new(error)))
}

fn arrow_error(error: datafusion::arrow::error::ArrowError) -> QueryError {
    QueryError::Engine(error.into())
}

fn io_error(error: std::io::Error) -> QueryError {
    QueryError::Engine(DataFusionError::IoError(error))
}

/// Encodes every batch of `input` as one XLSX workbook and streams it.
/// Temporary files go in `scratch`; nothing is left there afterwards.
pub async fn encode_xlsx(
    input: SendableRecordBatchStream,
    scratch: &Path,
    sheet_name: &str,
) -> Result<impl Stream<Item = Result<Bytes, QueryError>> + Send + use<>, QueryError> {
    encode_in_sheets(input, scratch, sheet_name, ROWS_PER_SHEET).await
}

async fn encode_in_sheets(
    mut input: SendableRecordBatchStream,
    scratch: &Path,
    sheet_name: &str,
    rows_per_sheet: u32,
) -> Result<impl Stream<Item = Result<Bytes, QueryError>> + Send + use<>, QueryError> {
    let schema = input.schema();
    if schema.fields().len() > MAX_COLUMNS {
        return Err(QueryError::invalid(
            "format",
            format!("XLSX holds at most {MAX_COLUMNS} columns; this table has {}; use csv", schema.fields().len()),
            format!("XLSX 最多 {MAX_COLUMNS} 列，该表有 {} 列，请改用 csv", schema.fields().len()),
        ));
    }
    let (sender, receiver) = tokio::sync::mpsc::channel::<RecordBatch>(2);
    let scratch = scratch.to_owned();
    let sheet_name = sheet_name.to_owned();
    let writer =
        tokio::task::spawn_blocking(move || write_workbook(schema, receiver, &scratch, &sheet_name, rows_per_sheet));
    while let Some(batch) = input.next().await {
        let batch = batch?;
        if sender.send(batch).await.is_err() {
            // The writer stopped early; its error says why.
            break;
        }
    }
    drop(sender);
    let file = writer.await.map_err(|e| QueryError::Engine(DataFusionError::External(Box::new(e))))??;
    let file = tokio::fs::File::from_std(file);
    Ok(futures::stream::unfold(Some(file), |file| async move {
        use tokio::io::AsyncReadExt;
        let mut file = file?;
        let mut buffer = vec![0; 256 * 1024];
        match file.read(&mut buffer).await {
            Ok(0) => None,
            Ok(n) => {
                buffer.truncate(n);
                Some((Ok(Bytes::from(buffer)), Some(file)))
            }
            Err(error) => Some((Err(io_error(error)), None)),
        }
    }))
}

/// Runs on a blocking thread: writes the rows it receives, then the workbook.
fn write_workbook(
    schema: SchemaRef,
    mut batches: tokio::sync::mpsc::Receiver<RecordBatch>,
    scratch: &PathBuf,
    sheet_name: &str,
    rows_per_sheet: u32,
) -> Result<std::fs::File, QueryError> {
    let mut workbook = Workbook::new();
    workbook.set_tempdir(scratch).map_err(xlsx_error)?;
    let formats = Formats::new();
    let mut sheets = 1;
    let mut sheet = new_sheet(&mut workbook, &schema, sheet_name, sheets, &formats)?;
    let mut row_in_sheet = 0u32;
    while let Some(batch) = batches.blocking_recv() {
        let columns = batch.columns().iter().map(Column::new).collect::<Result<Vec<_>, _>>()?;
        for row in 0..batch.num_rows() {
            if row_in_sheet == rows_per_sheet {
                sheets += 1;
                sheet = new_sheet(&mut workbook, &schema, sheet_name, sheets, &formats)?;
                row_in_sheet = 0;
            }
            row_in_sheet += 1;
            for (index, column) in columns.iter().enumerate() {
                column.write(sheet, row_in_sheet, index as u16, row, &formats).map_err(xlsx_error)?;
            }
        }
    }
    let mut file = tempfile::tempfile_in(scratch).map_err(io_error)?;
    workbook.save_to_writer(&mut file).map_err(xlsx_error)?;
    file.seek(SeekFrom::Start(0)).map_err(io_error)?;
    Ok(file)
}

struct Formats {
    header: Format,
    date: Format,
    datetime: Format,
}

impl Formats {
    fn new() -> Formats {
        Formats {
            header: Format::new().set_bold(),
            date: Format::new().set_num_format("yyyy-mm-dd"),
            datetime: Format::new().set_num_format("yyyy-mm-dd hh:mm:ss"),
        }
    }
}

/// A worksheet with the header row written and frozen.
fn new_sheet<'a>(
    workbook: &'a mut Workbook,
    schema: &SchemaRef,
    sheet_name: &str,
    number: usize,
    formats: &Formats,
) -> Result<&'a mut Worksheet, QueryError> {
    let sheet = workbook.add_worksheet_with_constant_memory().map_err(xlsx_error)?;
    let name = if number == 1 { sheet_name.to_owned() } else { format!("{sheet_name} ({number})") };
    sheet.set_name(name).map_err(xlsx_error)?;
    sheet.set_freeze_panes(1, 0).map_err(xlsx_error)?;
    for (index, field) in schema.fields().iter().enumerate() {
        // Column widths must come before the rows in constant-memory mode;
        // CJK characters take two character widths.
        let width = field.name().chars().map(|c| if c.is_ascii() { 1.0 } else { 2.0 }).sum::<f64>();
        sheet.set_column_width(index as u16, width.clamp(10.0, 40.0) + 2.0).map_err(xlsx_error)?;
        sheet.write_string_with_format(0, index as u16, field.name(), &formats.header).map_err(xlsx_error)?;
    }
    Ok(sheet)
}

/// A batch's column, in the form its cells are written from.
enum Column {
    Integer(ArrayRef),
    Float(ArrayRef),
    /// Decimals as text, written as numbers when Excel holds them exactly.
    Decimal(ArrayRef),
    Boolean(ArrayRef),
    Date(ArrayRef),
    DateTime(ArrayRef),
    Text(ArrayRef),
}

impl Column {
    fn new(array: &ArrayRef) -> Result<Column, QueryError> {
        let cast = |to: &DataType| -> Result<ArrayRef, QueryError> {
            cast_with_options(array, to, &CastOptions::default()).map_err(arrow_error)
        };
        Ok(match array.data_type() {
            DataType::Int8 | DataType::Int16 | DataType::Int32 | DataType::Int64 => {
                Column::Integer(cast(&DataType::Int64)?)
            }
            DataType::UInt8 | DataType::UInt16 | DataType::UInt32 => Column::Integer(cast(&DataType::Int64)?),
            DataType::UInt64
            | DataType::Decimal32(..)
            | DataType::Decimal64(..)
            | DataType::Decimal128(..)
            | DataType::Decimal256(..) => Column::Decimal(cast(&DataType::Utf8)?),
            DataType::Float16 | DataType::Float32 | DataType::Float64 => Column::Float(cast(&DataType::Float64)?),
            DataType::Boolean => Column::Boolean(array.clone()),
            DataType::Date32 | DataType::Date64 => Column::Date(cast(&DataType::Date32)?),
            DataType::Timestamp(..) => Column::DateTime(cast(&DataType::Timestamp(TimeUnit::Microsecond, None))?),
            DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => Column::Text(cast(&DataType::Utf8)?),
            _ => {
                let formatter =
                    ArrayFormatter::try_new(array.as_ref(), &FormatOptions::default()).map_err(arrow_error)?;
                let text: datafusion::arrow::array::StringArray =
                    (0..array.len()).map(|i| (!array.is_null(i)).then(|| formatter.value(i).to_string())).collect();
                Column::Text(Arc::new(text))
            }
        })
    }

    fn array(&self) -> &ArrayRef {
        match self {
            Column::Integer(a)
            | Column::Float(a)
            | Column::Decimal(a)
            | Column::Boolean(a)
            | Column::Date(a)
            | Column::DateTime(a)
            | Column::Text(a) => a,
        }
    }

    /// Writes one cell; nulls stay empty.
    fn write(
        &self,
        sheet: &mut Worksheet,
        row: u32,
        col: u16,
        index: usize,
        formats: &Formats,
    ) -> Result<(), XlsxError> {
        if self.array().is_null(index) {
            return Ok(());
        }
        match self {
            Column::Integer(array) => {
                let value = array.as_primitive::<Int64Type>().value(index);
                if value.abs() <= MAX_EXACT_INTEGER {
                    sheet.write_number(row, col, value as f64)?;
                } else {
                    sheet.write_string(row, col, value.to_string())?;
                }
            }
            Column::Float(array) => {
                let value = array.as_primitive::<datafusion::arrow::datatypes::Float64Type>().value(index);
                if value.is_finite() {
                    sheet.write_number(row, col, value)?;
                } else {
                    sheet.write_string(row, col, value.to_string())?;
                }
            }
            Column::Decimal(array) => {
                let text = array.as_string::<i32>().value(index);
                let significant = text.bytes().filter(u8::is_ascii_digit).count();
                match text.parse::<f64>() {
                    Ok(value) if significant <= 15 => sheet.write_number(row, col, value)?,
                    _ => sheet.write_string(row, col, text)?,
                };
            }
            Column::Boolean(array) => {
                sheet.write_boolean(row, col, array.as_boolean().value(index))?;
            }
            Column::Date(array) => {
                let days = array.as_primitive::<Date32Type>().value(index);
                let serial = f64::from(days) + UNIX_EPOCH_SERIAL;
                if serial >= FIRST_RELIABLE_SERIAL {
                    sheet.write_number_with_format(row, col, serial, &formats.date)?;
                } else {
                    let date = chrono::DateTime::from_timestamp(i64::from(days) * 86_400, 0)
                        .map_or_else(|| days.to_string(), |t| t.date_naive().to_string());
                    sheet.write_string(row, col, date)?;
                }
            }
            Column::DateTime(array) => {
                let micros = array.as_primitive::<TimestampMicrosecondType>().value(index);
                let serial = micros as f64 / 86_400_000_000.0 + UNIX_EPOCH_SERIAL;
                if serial >= FIRST_RELIABLE_SERIAL {
                    sheet.write_number_with_format(row, col, serial, &formats.datetime)?;
                } else {
                    let time = chrono::DateTime::from_timestamp_micros(micros)
                        .map_or_else(|| micros.to_string(), |t| t.naive_utc().to_string());
                    sheet.write_string(row, col, time)?;
                }
            }
            Column::Text(array) => {
                let text = array.as_string::<i32>().value(index);
                match text.char_indices().nth(MAX_CELL_CHARS) {
                    Some((cut, _)) => sheet.write_string(row, col, &text[..cut])?,
                    None => sheet.write_string(row, col, text)?,
                };
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use calamine::{Data, Reader, Xlsx};
    use datafusion::arrow::array::{Date32Array, Decimal128Array, Int64Array, StringArray};
    use datafusion::arrow::datatypes::{Field, Schema};
    use datafusion::physical_plan::stream::RecordBatchStreamAdapter;

    use super::*;

    fn batch() -> RecordBatch {
        let schema = Arc::new(Schema::new(vec![
            Field::new("代码", DataType::Utf8, true),
            Field::new("id", DataType::Int64, true),
            Field::new("金额", DataType::Decimal128(38, 2), true),
            Field::new("日期", DataType::Date32, true),
        ]));
        RecordBatch::try_new(
            schema,
            vec![
                Arc::new(StringArray::from(vec![Some("00123"), None, Some("𠀀")])),
                Arc::new(Int64Array::from(vec![Some(110_101_199_003_074_578), Some(7), None])),
                Arc::new(
                    Decimal128Array::from(vec![Some(123_456), Some(-7), Some(12_345_678_901_234_567)])
                        .with_precision_and_scale(38, 2)
                        .unwrap(),
                ),
                Arc::new(Date32Array::from(vec![Some(19_724), Some(-25_566), None])),
            ],
        )
        .unwrap()
    }

    async fn workbook(rows_per_sheet: u32) -> Xlsx<std::io::Cursor<Vec<u8>>> {
        let batch = batch();
        let stream = RecordBatchStreamAdapter::new(
            batch.schema(),
            futures::stream::iter(vec![Ok(batch.clone()), Ok(batch.slice(0, 1))]),
        );
        let scratch = tempfile::tempdir().unwrap();
        let mut body =
            Box::pin(encode_in_sheets(Box::pin(stream), scratch.path(), "数据", rows_per_sheet).await.unwrap());
        let mut bytes = Vec::new();
        while let Some(chunk) = body.next().await {
            bytes.extend_from_slice(&chunk.unwrap());
        }
        assert_eq!(std::fs::read_dir(scratch.path()).unwrap().count(), 0, "nothing is left in scratch");
        Xlsx::new(std::io::Cursor::new(bytes)).unwrap()
    }

    #[tokio::test]
    async fn cells_keep_what_excel_would_lose() {
        let mut book = workbook(ROWS_PER_SHEET).await;
        assert_eq!(book.sheet_names(), ["数据"]);
        let range = book.worksheet_range("数据").unwrap();
        let rows: Vec<Vec<Data>> = range.rows().map(<[Data]>::to_vec).collect();
        assert_eq!(rows.len(), 5);
        assert_eq!(rows[0], ["代码", "id", "金额", "日期"].map(|h| Data::String(h.into())));
        assert_eq!(rows[1][0], Data::String("00123".into()), "codes stay text");
        assert_eq!(rows[1][1], Data::String("110101199003074578".into()), "18-digit numbers are not rounded");
        assert_eq!(rows[1][2], Data::Float(1234.56));
        assert!(matches!(&rows[1][3], Data::DateTime(d) if d.as_f64() == 45_293.0), "{:?}", rows[1][3]);
        assert_eq!(rows[2][0], Data::Empty, "nulls stay empty");
        assert_eq!(rows[2][1], Data::Float(7.0));
        assert_eq!(rows[2][3], Data::String("1900-01-02".into()), "dates Excel miscounts are text");
        assert_eq!(rows[3][0], Data::String("𠀀".into()));
        assert_eq!(rows[3][2], Data::String("123456789012345.67".into()), "17 digits are text");
    }

    #[tokio::test]
    async fn rows_past_a_sheet_go_on_in_the_next() {
        let mut book = workbook(3).await;
        assert_eq!(book.sheet_names(), ["数据", "数据 (2)"]);
        let second = book.worksheet_range("数据 (2)").unwrap();
        assert_eq!(second.height(), 2, "a header and the fourth row");
        assert_eq!(second.get((1, 0)), Some(&Data::String("00123".into())));
    }
}
