//! The schema of what ingest writes: inferred over every row, or declared
//! by the provider as a Frictionless Table Schema, in which case every cell
//! must conform.

use serde::{Deserialize, Serialize};

use crate::infer::{self, Candidates, ColumnType};
use crate::layout::Row;
use crate::{IngestError, RowProblem};

/// One column written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ColumnSchema {
    /// Its name (unique, from the header).
    pub name: String,
    /// Its type.
    #[serde(flatten)]
    pub column_type: ColumnType,
}

impl ColumnSchema {
    /// The catalog's name for the type.
    pub fn data_type(&self) -> gongshu_domain::DataType {
        use gongshu_domain::DataType;
        match self.column_type {
            ColumnType::Integer => DataType::Integer,
            ColumnType::Decimal { .. } | ColumnType::Float => DataType::Decimal,
            ColumnType::Boolean => DataType::Boolean,
            ColumnType::Date => DataType::Date,
            ColumnType::DateTime => DataType::DateTime,
            ColumnType::Text => DataType::Text,
        }
    }
}

/// A Frictionless Table Schema (<https://specs.frictionlessdata.io/table-schema/>),
/// the part ingest uses: field names and types.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct DeclaredSchema {
    /// The fields.
    pub fields: Vec<DeclaredField>,
}

/// One declared field.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct DeclaredField {
    /// The column it describes, by header name.
    pub name: String,
    /// `string`, `integer`, `number`, `boolean`, `date`, `datetime`, `year` or `any`.
    #[serde(rename = "type", default = "any")]
    pub field_type: String,
}

fn any() -> String {
    "any".into()
}

impl DeclaredSchema {
    /// Parses a Table Schema document.
    pub fn from_json(json: &str) -> Result<DeclaredSchema, IngestError> {
        serde_json::from_str(json).map_err(|e| {
            IngestError::schema(format!("not a Table Schema: {e}"), format!("不是有效的 Table Schema：{e}"))
        })
    }
}

/// What a declared field forces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Declared {
    Text,
    Integer,
    Number,
    Boolean,
    Date,
    DateTime,
}

/// Type inference over every row.
pub(crate) struct Inference {
    headers: Vec<String>,
    candidates: Vec<Candidates>,
    declared: Vec<Option<Declared>>,
}

/// Warnings beyond this many are counted, not listed.
const MAX_WARNINGS: usize = 100;

impl Inference {
    pub(crate) fn new(headers: &[String], schema: Option<&DeclaredSchema>) -> Result<Inference, IngestError> {
        let mut declared = vec![None; headers.len()];
        if let Some(schema) = schema {
            for field in &schema.fields {
                let Some(index) = headers.iter().position(|h| *h == field.name) else {
                    return Err(IngestError::schema(
                        format!("field `{}` is not a column of the file (columns: {})", field.name, headers.join(", ")),
                        format!("字段 `{}` 不是文件中的列（文件的列：{}）", field.name, headers.join(", ")),
                    ));
                };
                declared[index] = match field.field_type.as_str() {
                    "string" => Some(Declared::Text),
                    "integer" | "year" => Some(Declared::Integer),
                    "number" => Some(Declared::Number),
                    "boolean" => Some(Declared::Boolean),
                    "date" => Some(Declared::Date),
                    "datetime" => Some(Declared::DateTime),
                    "any" => None,
                    other => {
                        return Err(IngestError::schema(
                            format!(
                                "field `{}` has type `{other}`; supported: string, integer, number, boolean, date, datetime, year, any",
                                field.name
                            ),
                            format!(
                                "字段 `{}` 的类型 `{other}` 不受支持；可用：string、integer、number、boolean、date、datetime、year、any",
                                field.name
                            ),
                        ));
                    }
                };
            }
        }
        Ok(Inference { headers: headers.to_vec(), candidates: vec![Candidates::default(); headers.len()], declared })
    }

    pub(crate) fn observe(&mut self, row: &Row, warnings: &mut Vec<RowProblem>) -> Result<(), IngestError> {
        if row.short_by > 0 {
            self.warn(
                warnings,
                row.line,
                None,
                format!("the row has {} fewer cells than the header; the missing ones are empty", row.short_by),
                format!("该行比表头少 {} 个单元格，缺少的按空值处理", row.short_by),
            );
        }
        for (index, cell) in row.cells.iter().enumerate() {
            if infer::is_null(cell) {
                continue;
            }
            if cell.contains('\u{FFFD}') {
                let column = self.headers[index].clone();
                self.warn(
                    warnings,
                    row.line,
                    Some(column),
                    "undecodable bytes were replaced by U+FFFD; check the encoding".into(),
                    "存在无法解码的字节，已替换为 U+FFFD，请检查文件编码".into(),
                );
            }
            match self.declared[index] {
                None => self.candidates[index].observe(cell),
                Some(declared) => {
                    if !conforms(declared, cell) {
                        return Err(IngestError::row(
                            row.line,
                            Some(&self.headers[index]),
                            format!(
                                "`{cell}` is not a valid {} as the declared schema requires",
                                declared_name(declared)
                            ),
                            format!("`{cell}` 不是声明的表结构要求的 {}", declared_name(declared)),
                        ));
                    }
                    self.candidates[index].observe(cell);
                }
            }
        }
        Ok(())
    }

    fn warn(&mut self, warnings: &mut Vec<RowProblem>, line: u64, column: Option<String>, en: String, zh: String) {
        if warnings.len() < MAX_WARNINGS {
            warnings.push(RowProblem { line, column, problem: en, problem_zh: zh });
        }
    }

    pub(crate) fn finish(self) -> Vec<ColumnSchema> {
        self.headers
            .into_iter()
            .zip(self.candidates)
            .zip(self.declared)
            .map(|((name, candidates), declared)| {
                let column_type = match declared {
                    None => candidates.resolve(),
                    Some(Declared::Text) => ColumnType::Text,
                    Some(Declared::Integer) => ColumnType::Integer,
                    Some(Declared::Number) => match candidates.resolve() {
                        decimal @ ColumnType::Decimal { .. } => decimal,
                        ColumnType::Integer => ColumnType::Decimal { scale: 0 },
                        _ => ColumnType::Float,
                    },
                    Some(Declared::Boolean) => ColumnType::Boolean,
                    Some(Declared::Date) => ColumnType::Date,
                    Some(Declared::DateTime) => ColumnType::DateTime,
                };
                ColumnSchema { name, column_type }
            })
            .collect()
    }
}

fn conforms(declared: Declared, cell: &str) -> bool {
    match declared {
        Declared::Text => true,
        Declared::Integer => {
            infer::parse_number(cell).is_some_and(|n| n.scale == 0 && !n.exponent && n.value.fract() == 0.0)
        }
        Declared::Number => infer::parse_number(cell).is_some(),
        Declared::Boolean => infer::parse_bool(cell).is_some(),
        Declared::Date => infer::parse_date(cell).is_some(),
        Declared::DateTime => infer::parse_datetime(cell).is_some(),
    }
}

fn declared_name(declared: Declared) -> &'static str {
    match declared {
        Declared::Text => "string",
        Declared::Integer => "integer",
        Declared::Number => "number",
        Declared::Boolean => "boolean",
        Declared::Date => "date",
        Declared::DateTime => "datetime",
    }
}
