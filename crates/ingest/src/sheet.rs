//! Spreadsheets (XLSX, XLSM, XLSB, XLS, ODS) through calamine: a chosen
//! sheet, or the first with data, with title rows above the header skipped
//! as in delimited files.

use std::path::Path;

use calamine::{Data, DataType, Reader, open_workbook_auto};

use crate::layout::{Row, clean, find_header, fit_row, header_names};
use crate::source::RowSource;
use crate::{IngestError, IngestOptions};

/// Rows looked at to find the header.
const SNIFF_ROWS: usize = 200;

pub(crate) struct SheetPlan {
    /// The sheet's name.
    pub(crate) sheet: String,
    /// 1-based row of the header (or of the first data row).
    pub(crate) header_row: u64,
    has_header: bool,
}

fn unreadable(source: &Path, error: impl std::fmt::Display) -> IngestError {
    IngestError::Unreadable {
        en: format!("cannot read the spreadsheet {}: {error}", source.display()),
        zh: format!("无法读取电子表格 {}（文件损坏、加密或格式不符）：{error}", source.display()),
    }
}

/// A sheet's non-blank rows as trimmed text with their 1-based row numbers.
fn sheet_rows(source: &Path, sheet: &str) -> Result<Vec<(u64, Vec<String>)>, IngestError> {
    let mut workbook = open_workbook_auto(source).map_err(|e| unreadable(source, e))?;
    let range = workbook.worksheet_range(sheet).map_err(|e| unreadable(source, e))?;
    let first_row = range.start().map_or(0, |(row, _)| row);
    let first_column = range.start().map_or(0, |(_, column)| column) as usize;
    let mut rows = Vec::new();
    for (index, cells) in range.rows().enumerate() {
        let mut texts: Vec<String> = vec![String::new(); first_column];
        texts.extend(cells.iter().map(cell_text));
        if texts.iter().all(String::is_empty) {
            continue;
        }
        rows.push((u64::from(first_row) + index as u64 + 1, texts));
    }
    Ok(rows)
}

/// A cell as text: integral numbers without a fraction (Excel stores every
/// number as a float), dates in ISO form.
fn cell_text(cell: &Data) -> String {
    match cell {
        Data::Empty => String::new(),
        Data::String(text) => clean(text),
        Data::Int(value) => value.to_string(),
        Data::Float(value) if value.fract() == 0.0 && value.abs() < 1e15 => format!("{value:.0}"),
        Data::Float(value) => value.to_string(),
        Data::Bool(value) => value.to_string(),
        Data::DateTime(_) => match cell.as_datetime() {
            Some(time) if time.time() == chrono::NaiveTime::MIN => time.date().to_string(),
            Some(time) => time.format("%Y-%m-%d %H:%M:%S").to_string(),
            None => String::new(),
        },
        Data::DateTimeIso(text) | Data::DurationIso(text) => text.clone(),
        Data::Error(_) => String::new(),
    }
}

impl SheetPlan {
    pub(crate) fn prepare(source: &Path, options: &IngestOptions) -> Result<SheetPlan, IngestError> {
        let workbook = open_workbook_auto(source).map_err(|e| unreadable(source, e))?;
        let names = workbook.sheet_names();
        drop(workbook);
        let sheet = match options.sheet.as_deref().map(str::trim) {
            Some(wanted) => {
                let by_number = wanted.parse::<usize>().ok().and_then(|n| n.checked_sub(1)).and_then(|i| names.get(i));
                by_number.or_else(|| names.iter().find(|name| name.as_str() == wanted)).cloned().ok_or_else(|| {
                    IngestError::Unreadable {
                        en: format!("no sheet `{wanted}`; the sheets are {}", names.join(", ")),
                        zh: format!("不存在工作表 `{wanted}`；可用的工作表：{}", names.join("、")),
                    }
                })?
            }
            None => {
                // The sheet with the most rows: a notes sheet in front of the
                // data is common in government workbooks.
                let mut best: Option<(usize, String)> = None;
                for name in &names {
                    let rows = sheet_rows(source, name)?.len();
                    if rows > 0 && best.as_ref().is_none_or(|(most, _)| rows > *most) {
                        best = Some((rows, name.clone()));
                    }
                }
                best.map(|(_, name)| name).ok_or(IngestError::Empty)?
            }
        };
        let rows = sheet_rows(source, &sheet)?;
        if rows.is_empty() {
            return Err(IngestError::Empty);
        }
        let sniffed: Vec<(u64, Vec<String>)> = rows.into_iter().take(SNIFF_ROWS).collect();
        let (index, has_header) = match options.skip_rows {
            Some(skip) => (skip.min(sniffed.len() - 1), true),
            None => find_header(&sniffed),
        };
        Ok(SheetPlan { sheet, header_row: sniffed[index].0, has_header })
    }

    pub(crate) fn open(&self, source: &Path) -> Result<SheetRows, IngestError> {
        let rows: Vec<(u64, Vec<String>)> =
            sheet_rows(source, &self.sheet)?.into_iter().filter(|(row, _)| *row >= self.header_row).collect();
        let mut rows = rows.into_iter();
        let headers = if self.has_header {
            let (_, header) = rows.next().ok_or(IngestError::Empty)?;
            header_names(header.iter().map(String::as_str))
        } else {
            let width = rows.as_slice().iter().map(|(_, cells)| cells.len()).max().unwrap_or(0);
            (1..=width).map(|i| format!("column_{i}")).collect()
        };
        // Trailing header cells that are blank in every row are formatting, not columns.
        let mut headers = headers;
        let rest: Vec<(u64, Vec<String>)> = rows.collect();
        while headers.len() > 1
            && headers.last().is_some_and(|h| h.starts_with("column_"))
            && rest.iter().all(|(_, cells)| cells.get(headers.len() - 1).is_none_or(String::is_empty))
        {
            headers.pop();
        }
        Ok(SheetRows { headers, rows: rest.into_iter() })
    }
}

pub(crate) struct SheetRows {
    headers: Vec<String>,
    rows: std::vec::IntoIter<(u64, Vec<String>)>,
}

impl RowSource for SheetRows {
    fn headers(&self) -> &[String] {
        &self.headers
    }

    fn next_row(&mut self) -> Result<Option<Row>, IngestError> {
        match self.rows.next() {
            Some((line, cells)) => fit_row(line, cells, self.headers.len()).map(Some),
            None => Ok(None),
        }
    }
}
