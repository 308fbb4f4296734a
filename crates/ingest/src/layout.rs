//! The shape of a delimited file: its delimiter, where the header is (title
//! rows above it are skipped), and the rows under it, padded or refused
//! when ragged.

use std::collections::HashMap;
use std::io::Read;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use encoding_rs::Encoding;

use crate::{IngestError, IngestOptions, decode, infer};

/// Delimiters tried when sniffing, in order of preference on a tie.
const DELIMITERS: [u8; 4] = [b',', b'\t', b';', b'|'];

/// Records looked at to sniff the delimiter and find the header.
const SNIFF_RECORDS: usize = 200;

/// Where the data is in a delimited file.
#[derive(Debug, Clone)]
pub(crate) struct Layout {
    delimiter: u8,
    /// Whether the file has a header row at all.
    has_header: bool,
    /// 1-based line of the header (or of the first data row).
    pub(crate) header_line: u64,
}

impl Layout {
    /// Finds the delimiter and the header in the decoded start of the file.
    pub(crate) fn detect(source: &Path, sample: &str, options: &IngestOptions) -> Result<Layout, IngestError> {
        let extension = source.extension().and_then(|e| e.to_str()).unwrap_or("").to_ascii_lowercase();
        let by_extension = match extension.as_str() {
            "csv" | "txt" | "" => None,
            "tsv" | "tab" => Some(b'\t'),
            "psv" => Some(b'|'),
            "ssv" => Some(b';'),
            other => return Err(IngestError::UnsupportedFormat(other.to_owned())),
        };
        let delimiter = options.delimiter.or(by_extension).unwrap_or_else(|| sniff_delimiter(sample));
        let records = sample_records(sample, delimiter);
        if records.is_empty() {
            return Err(IngestError::Empty);
        }
        let (skip_records, has_header) = match options.skip_rows {
            Some(skip) => (skip, true),
            None => find_header(&records),
        };
        let header_line = records.get(skip_records).map_or(1, |(line, _)| *line);
        Ok(Layout { delimiter, has_header, header_line })
    }

    /// The delimiter, named for people.
    pub(crate) fn delimiter_name(&self) -> String {
        match self.delimiter {
            b'\t' => "tab".into(),
            other => (other as char).to_string(),
        }
    }

    /// Opens the file and positions it at the first data row.
    pub(crate) fn open(
        &self,
        source: &Path,
        encoding: &'static Encoding,
        bytes_read: Arc<AtomicU64>,
    ) -> Result<Rows, IngestError> {
        let reader = decode::open_decoded(source, encoding, bytes_read).map_err(|e| IngestError::io(source, e))?;
        let mut csv = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .delimiter(self.delimiter)
            .terminator(csv::Terminator::Any(b'\n'))
            .from_reader(Box::new(reader) as Box<dyn Read>);
        let mut record = csv::StringRecord::new();
        // Skip by line, not by record count: the sniffer left out records
        // that are all empty cells, the reader does not.
        let mut pending = None;
        loop {
            if !read_record(&mut csv, &mut record)? {
                return Err(IngestError::Empty);
            }
            if start_line(&csv, &record) >= self.header_line {
                break;
            }
        }
        let headers = if self.has_header {
            header_names(record.iter())
        } else {
            pending = Some(record.clone());
            (1..=record.len()).map(|i| format!("column_{i}")).collect()
        };
        Ok(Rows { csv, headers, record, pending })
    }
}

/// Reads the next record; `false` at the end. Decoding and quoting errors
/// name the line.
fn read_record(csv: &mut csv::Reader<Box<dyn Read>>, record: &mut csv::StringRecord) -> Result<bool, IngestError> {
    csv.read_record(record).map_err(|error| {
        let line = error.position().map_or(0, csv::Position::line);
        IngestError::row(line, None, format!("cannot parse the row: {error}"), format!("无法解析该行：{error}"))
    })
}

/// The line a record just read starts on. The csv crate dates a record
/// from before the blank lines it skips, so this counts back from where the
/// reader stopped instead (line ends are already LF).
fn start_line<R: Read>(csv: &csv::Reader<R>, record: &csv::StringRecord) -> u64 {
    let after = csv.position().line();
    let last_line = if csv.is_done() { after } else { after.saturating_sub(1) };
    let inner_newlines: usize = record.iter().map(|field| field.bytes().filter(|b| *b == b'\n').count()).sum();
    last_line.saturating_sub(inner_newlines as u64).max(1)
}

/// One data row.
#[derive(Debug, Clone)]
pub(crate) struct Row {
    /// 1-based line where it starts.
    pub(crate) line: u64,
    /// Trimmed cells, exactly as many as there are columns.
    pub(crate) cells: Vec<String>,
    /// How many cells the row had, when it had fewer than the header.
    pub(crate) short_by: usize,
}

/// The data rows of an opened file.
pub(crate) struct Rows {
    csv: csv::Reader<Box<dyn Read>>,
    /// Column names, unique and non-empty.
    pub(crate) headers: Vec<String>,
    record: csv::StringRecord,
    pending: Option<csv::StringRecord>,
}

impl Rows {
    /// The next non-blank row, or `None` at the end.
    pub(crate) fn next_row(&mut self) -> Result<Option<Row>, IngestError> {
        loop {
            let record = match self.pending.take() {
                Some(record) => record,
                None => {
                    if !read_record(&mut self.csv, &mut self.record)? {
                        return Ok(None);
                    }
                    self.record.clone()
                }
            };
            let line = start_line(&self.csv, &record);
            let cells: Vec<String> = record.iter().map(clean).collect();
            if cells.iter().all(String::is_empty) {
                continue;
            }
            return fit_row(line, cells, self.headers.len()).map(Some);
        }
    }
}

/// Fits a row's cells to the header's width: a short row is padded (the
/// caller warns), a value beyond the last column is refused with its place;
/// empty trailing cells (a stray delimiter) are dropped.
pub(crate) fn fit_row(line: u64, mut cells: Vec<String>, width: usize) -> Result<Row, IngestError> {
    if cells.len() > width {
        if let Some(extra) = cells[width..].iter().position(|c| !c.is_empty()) {
            return Err(IngestError::row(
                line,
                None,
                format!(
                    "the row has {} cells but the header has {width}; cell {} (`{}`) has no column",
                    cells.len(),
                    width + extra + 1,
                    cells[width + extra]
                ),
                format!(
                    "该行有 {} 个单元格，但表头只有 {width} 列；第 {} 个单元格（`{}`）没有对应的列",
                    cells.len(),
                    width + extra + 1,
                    cells[width + extra]
                ),
            ));
        }
        cells.truncate(width);
    }
    let short_by = width - cells.len();
    cells.resize(width, String::new());
    Ok(Row { line, cells, short_by })
}

/// Trims a cell, including the ideographic space that Chinese spreadsheets pad with.
pub(crate) fn clean(cell: &str) -> String {
    cell.trim_matches(|c: char| c.is_whitespace() || c == '\u{3000}' || c == '\u{feff}').to_owned()
}

/// Unique, non-empty column names: blanks become `column_N`, repeats get `_2`, `_3`.
pub(crate) fn header_names<'a>(cells: impl Iterator<Item = &'a str>) -> Vec<String> {
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut names = Vec::new();
    for (i, cell) in cells.enumerate() {
        let cleaned = clean(cell).replace(['\r', '\n'], " ");
        let base = if cleaned.is_empty() { format!("column_{}", i + 1) } else { cleaned };
        let count = seen.entry(base.clone()).or_insert(0);
        *count += 1;
        names.push(if *count == 1 { base } else { format!("{base}_{count}") });
    }
    // Trailing blank header cells with no data are common (a stray delimiter);
    // they are kept as `column_N`, and dropped only if every row leaves them empty.
    names
}

/// Parses the sample into records with their line numbers, leaving out the
/// last one, which the sample may have cut short.
fn sample_records(sample: &str, delimiter: u8) -> Vec<(u64, Vec<String>)> {
    let mut reader =
        csv::ReaderBuilder::new().has_headers(false).flexible(true).delimiter(delimiter).from_reader(sample.as_bytes());
    let mut records = Vec::new();
    let mut record = csv::StringRecord::new();
    while records.len() <= SNIFF_RECORDS {
        let Ok(true) = reader.read_record(&mut record) else { break };
        let line = start_line(&reader, &record);
        let cells: Vec<String> = record.iter().map(clean).collect();
        if cells.iter().all(String::is_empty) {
            continue;
        }
        records.push((line, cells));
    }
    if records.len() > SNIFF_RECORDS {
        records.pop();
    }
    records
}

/// The delimiter that splits the sample's records most consistently.
fn sniff_delimiter(sample: &str) -> u8 {
    let mut best = (b',', 0.0f64);
    for delimiter in DELIMITERS {
        let records = sample_records(sample, delimiter);
        let Some(modal) = modal_width(records.iter().map(|(_, cells)| cells.len())) else { continue };
        if modal < 2 {
            continue;
        }
        let consistent = records.iter().filter(|(_, cells)| cells.len() == modal).count() as f64 / records.len() as f64;
        // More columns break ties: a comma inside text splits fewer rows consistently.
        let score = consistent + modal as f64 / 1000.0;
        if score > best.1 {
            best = (delimiter, score);
        }
    }
    best.0
}

fn modal_width(widths: impl Iterator<Item = usize>) -> Option<usize> {
    let mut counts: HashMap<usize, usize> = HashMap::new();
    for width in widths {
        *counts.entry(width).or_insert(0) += 1;
    }
    counts.into_iter().max_by_key(|(width, count)| (*count, *width)).map(|(width, _)| width)
}

/// Finds the header: the first record about as wide as the data rows and
/// about as filled, above which title rows (a lone title, a unit line, a
/// "Region:;Germany" note) are skipped. Widths count empty cells too, since
/// data rows often hold placeholders. Answers the records to skip and
/// whether a header exists at all (a first row of numbers is data).
pub(crate) fn find_header(records: &[(u64, Vec<String>)]) -> (usize, bool) {
    let filled = |cells: &Vec<String>| cells.iter().filter(|c| !c.is_empty()).count();
    let Some(width) = modal_width(records.iter().map(|(_, cells)| cells.len())) else { return (0, true) };
    let typical_filled =
        modal_width(records.iter().filter(|(_, cells)| cells.len() == width).map(|(_, cells)| filled(cells)))
            .unwrap_or(1);
    let min_width = ((width as f64) * 0.6).ceil() as usize;
    let min_filled = ((typical_filled as f64) * 0.5).ceil().max(1.0) as usize;
    let index =
        records.iter().position(|(_, cells)| cells.len() >= min_width && filled(cells) >= min_filled).unwrap_or(0);
    let cells = &records[index].1;
    let non_empty: Vec<&String> = cells.iter().filter(|c| !c.is_empty()).collect();
    // Years are what statistical tables put in their header, so they do not count as data.
    let is_year = |cell: &str| cell.len() == 4 && cell.parse::<u16>().is_ok_and(|year| (1800..=2200).contains(&year));
    let numeric = non_empty.iter().filter(|c| !is_year(c) && infer::parse_number(c).is_some()).count();
    let looks_like_data = !non_empty.is_empty() && numeric * 2 > non_empty.len();
    (index, !looks_like_data)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffs_delimiters() {
        assert_eq!(sniff_delimiter("a,b,c\n1,2,3\n4,5,6\n"), b',');
        assert_eq!(sniff_delimiter("a\tb\tc\n1\t2,5\t3\n4\t5\t6\n"), b'\t');
        assert_eq!(sniff_delimiter("a;b;c\n1;2,5;3\n4;5;6\n"), b';');
        assert_eq!(sniff_delimiter("a|b\n1|2\n"), b'|');
    }

    #[test]
    fn skips_title_rows_above_the_header() {
        let sample = "地区生产总值（亿元）\n\n数据来源：国家统计局\n地区,2022年,2023年\n北京,41610.9,43760.7\n上海,44652.8,47218.7\n";
        let records = sample_records(sample, b',');
        let (skip, has_header) = find_header(&records);
        assert_eq!(records[skip].1[0], "地区");
        assert!(has_header);
        assert_eq!(records[skip].0, 4, "the header is on line 4");
    }

    #[test]
    fn a_first_row_of_numbers_is_data() {
        let records = sample_records("1,2,3\n4,5,6\n", b',');
        assert_eq!(find_header(&records), (0, false));
    }

    #[test]
    fn header_names_are_unique_and_never_blank() {
        let names = header_names(["", "name", "name", " 人口 "].into_iter());
        assert_eq!(names, ["column_1", "name", "name_2", "人口"]);
    }
}
