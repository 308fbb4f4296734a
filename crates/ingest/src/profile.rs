//! The quality profile of a version: per column, nulls, a distinct-count
//! estimate, the smallest and largest value, and how well text columns fit
//! a stricter type; per table, duplicate rows.

use std::collections::HashSet;
use std::hash::{DefaultHasher, Hash, Hasher};

use serde::Serialize;

use crate::infer::{self, ColumnType};

/// Figures for one column.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ColumnProfile {
    /// The column.
    pub name: String,
    /// Cells with no value.
    pub null_count: u64,
    /// Estimated number of distinct values (HyperLogLog, about 1.6 % error).
    pub distinct_estimate: u64,
    /// Smallest value, as text.
    pub min: Option<String>,
    /// Largest value, as text.
    pub max: Option<String>,
    /// Share of non-null cells that conform to the column's type (1 for
    /// inferred types; for text columns, the share that would read as
    /// `near_type`).
    pub conformance: f64,
    /// For a text column whose values are mostly numbers or dates: that type.
    /// A few stray cells keep such a column text; they are worth a look.
    pub near_type: Option<String>,
}

/// Figures for a whole version.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct QualityProfile {
    /// Per column, in order.
    pub columns: Vec<ColumnProfile>,
    /// Rows identical to an earlier row.
    pub duplicate_rows: u64,
}

/// Collects a column's figures while its cells are written.
pub(crate) struct ColumnStats {
    column_type: ColumnType,
    nulls: u64,
    values: u64,
    numeric: u64,
    dates: u64,
    min: Option<Value>,
    max: Option<Value>,
    sketch: HyperLogLog,
}

#[derive(Debug, Clone, PartialEq, PartialOrd)]
enum Value {
    Number(f64),
    Text(String),
}

impl Value {
    fn render(&self) -> String {
        match self {
            Value::Number(n) => {
                if n.fract() == 0.0 && n.abs() < 1e15 {
                    format!("{n:.0}")
                } else {
                    n.to_string()
                }
            }
            Value::Text(t) => t.clone(),
        }
    }
}

impl ColumnStats {
    pub(crate) fn new(column_type: ColumnType) -> ColumnStats {
        ColumnStats {
            column_type,
            nulls: 0,
            values: 0,
            numeric: 0,
            dates: 0,
            min: None,
            max: None,
            sketch: HyperLogLog::new(),
        }
    }

    pub(crate) fn observe(&mut self, cell: &str) {
        if infer::is_null(cell) {
            self.observe_null();
        } else {
            self.observe_value(cell);
        }
    }

    pub(crate) fn observe_null(&mut self) {
        self.nulls += 1;
    }

    /// A cell known to hold a value, even one that reads as null in text (`-`).
    pub(crate) fn observe_value(&mut self, cell: &str) {
        self.values += 1;
        self.sketch.insert(cell);
        let value = match self.column_type {
            ColumnType::Integer | ColumnType::Decimal { .. } | ColumnType::Float => {
                infer::parse_number(cell).map(|n| Value::Number(n.value))
            }
            // ISO dates sort as text; other forms are normalized first.
            ColumnType::Date => infer::parse_date(cell).map(|d| Value::Text(d.to_string())),
            ColumnType::DateTime => infer::parse_datetime(cell).map(|d| Value::Text(d.to_string())),
            ColumnType::Boolean | ColumnType::Text => {
                if self.column_type == ColumnType::Text {
                    if infer::parse_number(cell).is_some_and(|n| !n.is_code) {
                        self.numeric += 1;
                    } else if infer::parse_date(cell).is_some() {
                        self.dates += 1;
                    }
                }
                Some(Value::Text(cell.to_owned()))
            }
        };
        if let Some(value) = value {
            if self.min.as_ref().is_none_or(|min| value < *min) {
                self.min = Some(value.clone());
            }
            if self.max.as_ref().is_none_or(|max| value > *max) {
                self.max = Some(value);
            }
        }
    }

    pub(crate) fn finish(self, name: &str) -> ColumnProfile {
        let (conformance, near_type) = if self.column_type != ColumnType::Text || self.values == 0 {
            (1.0, None)
        } else {
            let (best, label) =
                if self.numeric >= self.dates { (self.numeric, "number") } else { (self.dates, "date") };
            let share = best as f64 / self.values as f64;
            if share >= 0.8 { (share, Some(label.to_owned())) } else { (1.0, None) }
        };
        ColumnProfile {
            name: name.to_owned(),
            null_count: self.nulls,
            distinct_estimate: self.sketch.estimate().min(self.values),
            min: self.min.map(|v| v.render()),
            max: self.max.map(|v| v.render()),
            conformance,
            near_type,
        }
    }
}

/// Counts rows seen before.
#[derive(Default)]
pub(crate) struct Duplicates {
    seen: HashSet<u64>,
    pub(crate) count: u64,
}

impl Duplicates {
    pub(crate) fn observe(&mut self, cells: &[String]) {
        let mut hasher = DefaultHasher::new();
        cells.hash(&mut hasher);
        if !self.seen.insert(hasher.finish()) {
            self.count += 1;
        }
    }
}

/// HyperLogLog with 4,096 registers: distinct counts in 4 KiB per column.
struct HyperLogLog {
    registers: Vec<u8>,
}

const PRECISION: u32 = 12;

impl HyperLogLog {
    fn new() -> Self {
        HyperLogLog { registers: vec![0; 1 << PRECISION] }
    }

    fn insert(&mut self, value: &str) {
        let mut hasher = DefaultHasher::new();
        value.hash(&mut hasher);
        let hash = hasher.finish();
        let index = (hash >> (64 - PRECISION)) as usize;
        let rest = (hash << PRECISION) | (1 << (PRECISION - 1));
        let rank = rest.leading_zeros() as u8 + 1;
        self.registers[index] = self.registers[index].max(rank);
    }

    fn estimate(&self) -> u64 {
        let m = self.registers.len() as f64;
        let alpha = 0.7213 / (1.0 + 1.079 / m);
        let sum: f64 = self.registers.iter().map(|&r| 2f64.powi(-i32::from(r))).sum();
        let raw = alpha * m * m / sum;
        let zeros = self.registers.iter().filter(|&&r| r == 0).count();
        // Small cardinalities: linear counting is exact enough and unbiased.
        let estimate = if raw <= 2.5 * m && zeros > 0 { m * (m / zeros as f64).ln() } else { raw };
        estimate.round() as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distinct_estimates_are_close() {
        for n in [1u64, 10, 1_000, 50_000] {
            let mut sketch = HyperLogLog::new();
            for i in 0..n {
                sketch.insert(&format!("value-{i}"));
                sketch.insert(&format!("value-{i}"));
            }
            let estimate = sketch.estimate() as f64;
            assert!((estimate - n as f64).abs() <= (n as f64 * 0.05).max(1.0), "{n}: {estimate}");
        }
    }

    #[test]
    fn text_columns_that_are_nearly_numbers_are_pointed_out() {
        let mut stats = ColumnStats::new(ColumnType::Text);
        for cell in ["1", "2", "3", "4", "n/a*", "-"] {
            stats.observe(cell);
        }
        let profile = stats.finish("temperature");
        assert_eq!((profile.near_type.as_deref(), profile.conformance), (Some("number"), 0.8));
        assert_eq!(profile.null_count, 1);
    }
}
