//! Reading one cell: what a text value means, and which column types it
//! still allows. Types are inferred over the whole file: a column is an
//! integer column only if every non-null cell of it reads as an integer.

use chrono::{NaiveDate, NaiveDateTime};

/// What a column can be, from the most specific to text, which accepts
/// everything. Stored with each version as its schema (`{"type": "decimal", "scale": 2}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ColumnType {
    /// Whole numbers that fit in 64 bits and are not codes.
    Integer,
    /// Exact decimals with this many digits after the point.
    Decimal {
        /// Digits after the decimal point.
        scale: u8,
    },
    /// Numbers that are not exact decimals (exponents, very long fractions).
    Float,
    /// True or false.
    Boolean,
    /// Calendar dates.
    Date,
    /// Date and time, without a time zone.
    DateTime,
    /// Anything.
    Text,
}

/// Cells that mean "no value". `-` and `—` are how Chinese statistical
/// tables mark a missing figure.
pub fn is_null(cell: &str) -> bool {
    matches!(
        cell,
        "" | "NULL" | "null" | "Null" | "NA" | "N/A" | "n/a" | "#N/A" | "-" | "—" | "－" | "--" | "……" | "..."
    )
}

/// The largest scale an exact decimal column keeps; longer fractions are
/// read as floating point.
pub const MAX_DECIMAL_SCALE: u8 = 12;

/// Per-column inference state: which types are still possible.
#[derive(Debug, Clone)]
pub struct Candidates {
    integer: bool,
    decimal: bool,
    float: bool,
    boolean: bool,
    date: bool,
    datetime: bool,
    max_scale: u8,
    max_integer_digits: u8,
    /// Whether any non-null value was seen.
    pub seen_value: bool,
}

impl Default for Candidates {
    fn default() -> Self {
        Candidates {
            integer: true,
            decimal: true,
            float: true,
            boolean: true,
            date: true,
            datetime: true,
            max_scale: 0,
            max_integer_digits: 0,
            seen_value: false,
        }
    }
}

impl Candidates {
    /// Narrows the candidates by one cell (already trimmed, not null).
    pub fn observe(&mut self, cell: &str) {
        self.seen_value = true;
        let number = if self.integer || self.decimal || self.float { parse_number(cell) } else { None };
        match number {
            Some(number) => {
                if number.is_code {
                    // Leading zeros and long identifiers are codes, never numbers.
                    self.integer = false;
                    self.decimal = false;
                    self.float = false;
                }
                if number.scale > 0 || number.exponent {
                    self.integer = false;
                }
                if number.exponent || number.scale > MAX_DECIMAL_SCALE {
                    self.decimal = false;
                }
                self.max_scale = self.max_scale.max(number.scale);
                self.max_integer_digits = self.max_integer_digits.max(number.integer_digits);
            }
            None => {
                self.integer = false;
                self.decimal = false;
                self.float = false;
            }
        }
        if self.boolean && parse_bool(cell).is_none() {
            self.boolean = false;
        }
        if self.date && parse_date(cell).is_none() {
            self.date = false;
        }
        if self.datetime && parse_datetime(cell).is_none() {
            self.datetime = false;
        }
    }

    /// The most specific type every observed cell allows.
    pub fn resolve(&self) -> ColumnType {
        if !self.seen_value {
            return ColumnType::Text;
        }
        // Eight-digit dates (20240102) also read as integers; a column where
        // every value is a valid date is a date column.
        if self.date {
            return ColumnType::Date;
        }
        if self.datetime {
            return ColumnType::DateTime;
        }
        if self.integer {
            return ColumnType::Integer;
        }
        // 38 digits is the precision of the stored decimal type.
        if self.decimal && u32::from(self.max_integer_digits) + u32::from(self.max_scale) <= 38 {
            return ColumnType::Decimal { scale: self.max_scale };
        }
        if self.float {
            return ColumnType::Float;
        }
        if self.boolean {
            return ColumnType::Boolean;
        }
        ColumnType::Text
    }
}

/// A number as written.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Number {
    /// Its value as a float.
    pub value: f64,
    /// Digits after the decimal point.
    pub scale: u8,
    /// Digits before it.
    pub integer_digits: u8,
    /// Written with an exponent.
    pub exponent: bool,
    /// Looks like a code: a leading zero (`007`) or 12 or more digits.
    pub is_code: bool,
}

/// Parses `1234`, `-1,234.50`, `１２３` (full-width), `1.5e3`, `12%`-free
/// numbers. Thousands separators must group by three.
pub fn parse_number(cell: &str) -> Option<Number> {
    let normalized: String = cell.chars().map(full_width_to_ascii).collect();
    let text = normalized.trim();
    let body = text.strip_prefix(['-', '+']).unwrap_or(text);
    if body.is_empty() {
        return None;
    }
    let (mantissa, exponent) = match body.find(['e', 'E']) {
        Some(at) => {
            let exponent = &body[at + 1..];
            let digits = exponent.strip_prefix(['+', '-']).unwrap_or(exponent);
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            (&body[..at], true)
        }
        None => (body, false),
    };
    let (integer_part, fraction) = match mantissa.split_once('.') {
        Some((integer, fraction)) => (integer, Some(fraction)),
        None => (mantissa, None),
    };
    if integer_part.is_empty() && fraction.is_none_or(str::is_empty) {
        return None;
    }
    let integer_digits = strip_thousands(integer_part)?;
    if let Some(fraction) = fraction
        && !fraction.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let scale = fraction.map_or(0, str::len);
    let plain: String = format!("{}{}", &text[..text.len() - body.len()], body.replace(',', ""));
    let value: f64 = plain.parse().ok()?;
    let leading_zero = integer_digits.len() > 1 && integer_digits.starts_with('0') && !integer_part.contains(',');
    let long_identifier = integer_digits.len() >= 12 && !integer_part.contains(',');
    let is_code = !exponent && fraction.is_none() && (leading_zero || long_identifier);
    Some(Number {
        value,
        scale: u8::try_from(scale).unwrap_or(u8::MAX),
        integer_digits: u8::try_from(integer_digits.len()).unwrap_or(u8::MAX),
        exponent,
        is_code,
    })
}

/// The digits of an integer part, checking any thousands separators group by three.
fn strip_thousands(integer_part: &str) -> Option<String> {
    if !integer_part.contains(',') {
        return integer_part.bytes().all(|b| b.is_ascii_digit()).then(|| integer_part.to_owned());
    }
    let groups: Vec<&str> = integer_part.split(',').collect();
    let first_ok = (1..=3).contains(&groups[0].len());
    let rest_ok = groups[1..].iter().all(|g| g.len() == 3);
    let digits_ok = groups.iter().all(|g| g.bytes().all(|b| b.is_ascii_digit()));
    (first_ok && rest_ok && digits_ok).then(|| groups.concat())
}

fn full_width_to_ascii(c: char) -> char {
    match c {
        '０'..='９' => char::from_u32(c as u32 - '０' as u32 + '0' as u32).unwrap_or(c),
        '．' => '.',
        '，' => ',',
        '－' => '-',
        '＋' => '+',
        _ => c,
    }
}

/// Parses booleans written in English or Chinese.
pub fn parse_bool(cell: &str) -> Option<bool> {
    match cell.to_ascii_lowercase().as_str() {
        "true" | "yes" | "y" | "是" | "真" => Some(true),
        "false" | "no" | "n" | "否" | "假" => Some(false),
        _ => None,
    }
}

const DATE_FORMATS: &[&str] = &["%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y年%m月%d日"];

/// Parses dates in the common Chinese and international forms:
/// `2024-01-02`, `2024/1/2`, `2024.1.2`, `2024年1月2日`, `20240102`.
pub fn parse_date(cell: &str) -> Option<NaiveDate> {
    // chrono's %Y accepts signs and long years; public data wants four digits.
    let bytes = cell.as_bytes();
    if bytes.len() < 8 || !bytes[..4].iter().all(u8::is_ascii_digit) {
        return None;
    }
    if bytes.iter().all(u8::is_ascii_digit) {
        // Eight digits are a date only in a plausible range (not an amount).
        return (bytes.len() == 8)
            .then(|| NaiveDate::parse_from_str(cell, "%Y%m%d").ok())
            .flatten()
            .filter(|d| (1800..=2200).contains(&chrono::Datelike::year(d)));
    }
    DATE_FORMATS.iter().find_map(|format| NaiveDate::parse_from_str(cell, format).ok())
}

const DATETIME_FORMATS: &[&str] = &[
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%d %H:%M:%S%.f",
    "%Y-%m-%dT%H:%M:%S%.f",
    "%Y-%m-%d %H:%M",
    "%Y/%m/%d %H:%M:%S",
    "%Y/%m/%d %H:%M",
    "%Y年%m月%d日 %H:%M:%S",
    "%Y年%m月%d日 %H时%M分%S秒",
];

/// Parses a date and time without a zone (a trailing `Z` is read as UTC and dropped).
pub fn parse_datetime(cell: &str) -> Option<NaiveDateTime> {
    if cell.len() < 12 || !cell.as_bytes()[..4].iter().all(u8::is_ascii_digit) {
        return None;
    }
    let cell = cell.strip_suffix('Z').unwrap_or(cell);
    DATETIME_FORMATS.iter().find_map(|format| NaiveDateTime::parse_from_str(cell, format).ok())
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn infer(cells: &[&str]) -> ColumnType {
        let mut candidates = Candidates::default();
        for cell in cells {
            if !is_null(cell) {
                candidates.observe(cell);
            }
        }
        candidates.resolve()
    }

    #[test]
    fn codes_stay_text() {
        assert_eq!(infer(&["110101", "110102"]), ColumnType::Integer);
        assert_eq!(infer(&["0101", "0102"]), ColumnType::Text, "leading zeros");
        assert_eq!(infer(&["110101001001", "110101001002"]), ColumnType::Text, "12-digit division codes");
        assert_eq!(infer(&["91350100M000100Y43"]), ColumnType::Text);
        assert_eq!(infer(&["110101199003074578"]), ColumnType::Text, "18-digit ID numbers");
        assert_eq!(infer(&["0", "1", "20"]), ColumnType::Integer, "a lone zero is a number");
    }

    #[test]
    fn numbers_with_separators_and_decimals() {
        assert_eq!(infer(&["1,234", "12,345,678", "-7"]), ColumnType::Integer);
        assert_eq!(infer(&["1,234.5", "3.25"]), ColumnType::Decimal { scale: 2 });
        assert_eq!(infer(&["1,23"]), ColumnType::Text, "separators group by three");
        assert_eq!(infer(&["1.5e3", "2"]), ColumnType::Float);
        assert_eq!(infer(&["381.750901969", "-"]), ColumnType::Decimal { scale: 9 }, "dashes are nulls");
        assert_eq!(infer(&["１２３", "４５"]), ColumnType::Integer, "full-width digits");
        assert_eq!(parse_number("-1,234.50").unwrap().value, -1234.5);
    }

    #[test]
    fn dates_in_chinese_and_international_forms() {
        let day = NaiveDate::from_ymd_opt(2024, 1, 2).unwrap();
        for cell in ["2024-01-02", "2024/1/2", "2024年1月2日", "20240102", "2024.01.02"] {
            assert_eq!(parse_date(cell), Some(day), "{cell}");
        }
        assert_eq!(infer(&["20240102", "20231231"]), ColumnType::Date);
        assert_eq!(infer(&["20240102", "12345678"]), ColumnType::Integer, "not every value is a date");
        assert_eq!(infer(&["2012/01/01", "2012/01/02"]), ColumnType::Date);
        assert_eq!(infer(&["2024-01-02 08:30:00", "2024-01-03T09:00:00"]), ColumnType::DateTime);
        assert_eq!(infer(&["1978年", "1979年"]), ColumnType::Text);
    }

    #[test]
    fn booleans_and_empty_columns() {
        assert_eq!(infer(&["是", "否", "是"]), ColumnType::Boolean);
        assert_eq!(infer(&["", "NA", "-"]), ColumnType::Text);
    }

    proptest! {
        #[test]
        fn integers_written_with_separators_read_back(value in -10_000_000_000i64..10_000_000_000) {
            let digits = value.unsigned_abs().to_string();
            let mut grouped = String::new();
            for (i, c) in digits.chars().enumerate() {
                if i > 0 && (digits.len() - i) % 3 == 0 {
                    grouped.push(',');
                }
                grouped.push(c);
            }
            let text = if value < 0 { format!("-{grouped}") } else { grouped };
            let number = parse_number(&text).unwrap();
            prop_assert_eq!(number.value, value as f64);
            prop_assert_eq!(number.scale, 0);
        }
    }
}
