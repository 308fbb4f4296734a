//! The table-query language of the data API, in the style of Datasette:
//! `column=value` or `column__op=value` filters, and `_`-prefixed options.
//!
//! ```text
//! ?省份__eq=北京市&人口__gte=1000&_q=朝阳 区&_sort=-人口,名称&_fields=名称,人口&_limit=50&_offset=100
//! ?_group_by=省份&_aggregate=count,sum:人口,avg:面积
//! ```

use crate::QueryError;

/// Comparison of a column with a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FilterOp {
    /// `=`.
    Eq,
    /// `<>`.
    Ne,
    /// `<`.
    Lt,
    /// `<=`.
    Lte,
    /// `>`.
    Gt,
    /// `>=`.
    Gte,
    /// One of a comma-separated list.
    In,
    /// Text contains the value.
    Contains,
    /// Text starts with the value.
    Prefix,
    /// `true`: the column is null; `false`: it is not.
    IsNull,
}

const OPS: &[(&str, FilterOp)] = &[
    ("eq", FilterOp::Eq),
    ("ne", FilterOp::Ne),
    ("lt", FilterOp::Lt),
    ("lte", FilterOp::Lte),
    ("gt", FilterOp::Gt),
    ("gte", FilterOp::Gte),
    ("in", FilterOp::In),
    ("contains", FilterOp::Contains),
    ("prefix", FilterOp::Prefix),
    ("isnull", FilterOp::IsNull),
];

/// One filter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Filter {
    /// The column.
    pub column: String,
    /// How to compare.
    pub op: FilterOp,
    /// The value, as text; typed against the column when the query runs.
    pub value: String,
}

/// An aggregate function.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AggregateFunction {
    /// Rows.
    Count,
    /// Sum.
    Sum,
    /// Mean.
    Avg,
    /// Smallest.
    Min,
    /// Largest.
    Max,
}

/// One aggregate output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Aggregate {
    /// The function.
    pub function: AggregateFunction,
    /// Its column (`None` for `count`).
    pub column: Option<String>,
}

impl Aggregate {
    /// The output column's name: `count`, `sum_人口`.
    pub fn output_name(&self) -> String {
        let function = match self.function {
            AggregateFunction::Count => "count",
            AggregateFunction::Sum => "sum",
            AggregateFunction::Avg => "avg",
            AggregateFunction::Min => "min",
            AggregateFunction::Max => "max",
        };
        match &self.column {
            Some(column) => format!("{function}_{column}"),
            None => function.to_owned(),
        }
    }
}

/// A table query, parsed; columns are checked against the table when it runs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TableQuery {
    /// Version number; the newest when `None`.
    pub version: Option<i64>,
    /// Filters, all of which must hold.
    pub filters: Vec<Filter>,
    /// Words that must each appear in some text column.
    pub text: Vec<String>,
    /// Sort keys: column and whether descending.
    pub sort: Vec<(String, bool)>,
    /// Columns to return; all when empty.
    pub fields: Vec<String>,
    /// Group-by columns.
    pub group_by: Vec<String>,
    /// Aggregates (with or without group-by).
    pub aggregates: Vec<Aggregate>,
    /// Page size.
    pub limit: usize,
    /// Rows skipped.
    pub offset: usize,
}

/// Rows per page when `_limit` is absent.
pub(crate) const DEFAULT_LIMIT: usize = 100;
/// The most rows one page returns; downloads have no such cap.
pub(crate) const MAX_LIMIT: usize = 10_000;

fn list(value: &str) -> Vec<String> {
    value.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect()
}

impl TableQuery {
    /// Parses query-string pairs.
    pub fn from_params(params: &[(String, String)]) -> Result<TableQuery, QueryError> {
        let mut query = TableQuery { limit: DEFAULT_LIMIT, ..Default::default() };
        for (key, value) in params {
            match key.as_str() {
                "_version" => {
                    query.version = Some(value.trim().parse().map_err(|_| {
                        QueryError::invalid("_version", "must be a version number", "应为版本号（整数）")
                    })?);
                }
                "_q" => query.text.extend(value.split_whitespace().map(str::to_owned)),
                "_sort" => {
                    for key in list(value) {
                        match key.strip_prefix('-') {
                            Some(column) => query.sort.push((column.to_owned(), true)),
                            None => query.sort.push((key, false)),
                        }
                    }
                }
                "_fields" => query.fields = list(value),
                "_group_by" => query.group_by = list(value),
                "_aggregate" => {
                    for spec in list(value) {
                        query.aggregates.push(parse_aggregate(&spec)?);
                    }
                }
                "_limit" => {
                    let limit: usize = value
                        .trim()
                        .parse()
                        .map_err(|_| QueryError::invalid("_limit", "must be a whole number", "应为非负整数"))?;
                    if !(1..=MAX_LIMIT).contains(&limit) {
                        return Err(QueryError::invalid(
                            "_limit",
                            format!("must be between 1 and {MAX_LIMIT}; download the data for more"),
                            format!("应在 1 到 {MAX_LIMIT} 之间；需要更多请下载数据"),
                        ));
                    }
                    query.limit = limit;
                }
                "_offset" => {
                    query.offset = value
                        .trim()
                        .parse()
                        .map_err(|_| QueryError::invalid("_offset", "must be a whole number", "应为非负整数"))?;
                }
                other if other.starts_with('_') => {
                    return Err(QueryError::invalid(
                        other,
                        "unknown option; options are _q, _sort, _fields, _limit, _offset, _group_by, _aggregate, _version",
                        "未知参数；可用 _q、_sort、_fields、_limit、_offset、_group_by、_aggregate、_version",
                    ));
                }
                column => query.filters.push(parse_filter(column, value)?),
            }
        }
        if !query.group_by.is_empty() && query.aggregates.is_empty() {
            query.aggregates.push(Aggregate { function: AggregateFunction::Count, column: None });
        }
        Ok(query)
    }
}

fn parse_filter(key: &str, value: &str) -> Result<Filter, QueryError> {
    let (column, op) = match key.rsplit_once("__") {
        Some((column, op_name)) => match OPS.iter().find(|(name, _)| *name == op_name) {
            Some((_, op)) => (column, *op),
            None => {
                let names: Vec<&str> = OPS.iter().map(|(name, _)| *name).collect();
                return Err(QueryError::invalid(
                    key,
                    format!("unknown operator `{op_name}`; use one of {}", names.join(", ")),
                    format!("未知运算符 `{op_name}`；可用 {}", names.join("、")),
                ));
            }
        },
        None => (key, FilterOp::Eq),
    };
    if column.is_empty() {
        return Err(QueryError::invalid(key, "names no column", "未指定列名"));
    }
    if op == FilterOp::IsNull && !matches!(value.trim(), "true" | "false") {
        return Err(QueryError::invalid(key, "must be `true` or `false`", "应为 `true` 或 `false`"));
    }
    Ok(Filter { column: column.to_owned(), op, value: value.to_owned() })
}

fn parse_aggregate(spec: &str) -> Result<Aggregate, QueryError> {
    let (function, column) = match spec.split_once(':') {
        Some((function, column)) => (function, Some(column.trim().to_owned())),
        None => (spec, None),
    };
    let function = match function.trim() {
        "count" => AggregateFunction::Count,
        "sum" => AggregateFunction::Sum,
        "avg" => AggregateFunction::Avg,
        "min" => AggregateFunction::Min,
        "max" => AggregateFunction::Max,
        other => {
            return Err(QueryError::invalid(
                "_aggregate",
                format!("unknown function `{other}`; use count, sum:col, avg:col, min:col or max:col"),
                format!("未知聚合函数 `{other}`；可用 count、sum:列、avg:列、min:列、max:列"),
            ));
        }
    };
    if function != AggregateFunction::Count && column.is_none() {
        return Err(QueryError::invalid(
            "_aggregate",
            format!("`{spec}` needs a column, as in `{spec}:人口`"),
            format!("`{spec}` 需要指定列，如 `{spec}:人口`"),
        ));
    }
    Ok(Aggregate { function, column })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(query: &str) -> Result<TableQuery, QueryError> {
        let pairs: Vec<(String, String)> = query
            .split('&')
            .filter(|p| !p.is_empty())
            .map(|p| {
                let (k, v) = p.split_once('=').unwrap_or((p, ""));
                (k.to_owned(), v.to_owned())
            })
            .collect();
        TableQuery::from_params(&pairs)
    }

    #[test]
    fn filters_options_and_aggregates() {
        let q = parse("省份=北京市&人口__gte=1000&_q=朝阳 区&_sort=-人口,名称&_fields=名称,人口&_limit=50&_offset=100")
            .unwrap();
        assert_eq!(q.filters[0], Filter { column: "省份".into(), op: FilterOp::Eq, value: "北京市".into() });
        assert_eq!(q.filters[1].op, FilterOp::Gte);
        assert_eq!(q.text, ["朝阳", "区"]);
        assert_eq!(q.sort, [("人口".into(), true), ("名称".into(), false)]);
        assert_eq!((q.limit, q.offset), (50, 100));
        let grouped = parse("_group_by=省份").unwrap();
        assert_eq!(grouped.aggregates[0].output_name(), "count");
        let sums = parse("_aggregate=sum:人口,avg:面积").unwrap();
        assert_eq!(sums.aggregates[1].output_name(), "avg_面积");
    }

    #[test]
    fn mistakes_name_the_parameter() {
        for (query, param) in [
            ("a__like=x", "a__like"),
            ("_limit=0", "_limit"),
            ("_limit=100000", "_limit"),
            ("_aggregate=sum", "_aggregate"),
            ("_aggregate=median:x", "_aggregate"),
            ("_order=x", "_order"),
            ("a__isnull=maybe", "a__isnull"),
            ("_version=latest", "_version"),
        ] {
            match parse(query) {
                Err(QueryError::Invalid { param: p, zh, .. }) => {
                    assert_eq!(p, param, "{query}");
                    assert!(!zh.is_empty());
                }
                other => panic!("{query}: {other:?}"),
            }
        }
    }
}
