//! Running queries: one `SessionContext` per query, seeing only the tables
//! it is given, with a memory limit and a timeout.

use std::sync::Arc;
use std::time::Duration;

use chrono::{NaiveDate, NaiveDateTime};
use datafusion::arrow::datatypes::{DataType, SchemaRef};
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::common::ScalarValue;
use datafusion::execution::SendableRecordBatchStream;
use datafusion::execution::runtime_env::RuntimeEnvBuilder;
use datafusion::functions::expr_fn::{contains, lower, starts_with, to_char};
use datafusion::functions_aggregate::expr_fn::{avg, count, max, min, sum};
use datafusion::prelude::{
    DataFrame, Expr, ParquetReadOptions, SQLOptions, SessionConfig, SessionContext, cast, ident, lit,
};
use object_store::ObjectStore;
use url::Url;

use crate::params::{AggregateFunction, FilterOp};
use crate::sandbox::SandboxRules;
use crate::shape::{Shape, ShapedTable};
use crate::{QueryError, TableQuery};
use datafusion::logical_expr::LogicalPlan;

/// The URL under which the data store is known to DataFusion.
const STORE_URL: &str = "gongshu://data/";

/// A table a query may read: its name in the query, and where its Parquet
/// file is in the data store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Table {
    /// Name in SQL (`FROM "name"`).
    pub name: String,
    /// Location in the data store.
    pub location: String,
    /// What a grant lets through of it; the whole table when `None`.
    pub shape: Option<Shape>,
}

/// Bounds every query runs within.
#[derive(Debug, Clone)]
pub struct QueryLimits {
    /// Memory a query may use for sorting, grouping and joining.
    pub memory_bytes: usize,
    /// Wall time a query may take.
    pub timeout: Duration,
    /// Rows an SQL query returns at most.
    pub sql_row_cap: usize,
}

impl Default for QueryLimits {
    fn default() -> Self {
        QueryLimits { memory_bytes: 512 * 1024 * 1024, timeout: Duration::from_secs(30), sql_row_cap: 10_000 }
    }
}

/// One page of a table query.
#[derive(Debug, Clone)]
pub struct QueryPage {
    /// The columns returned.
    pub schema: SchemaRef,
    /// The rows.
    pub batches: Vec<RecordBatch>,
    /// Rows (or groups) matching in all.
    pub total: u64,
}

/// The result of an SQL query.
#[derive(Debug, Clone)]
pub struct SqlResult {
    /// The columns.
    pub schema: SchemaRef,
    /// The rows, at most the cap.
    pub batches: Vec<RecordBatch>,
    /// Whether rows beyond the cap were left out.
    pub truncated: bool,
}

/// Runs queries over Parquet files in the data store.
#[derive(Debug, Clone)]
pub struct QueryEngine {
    store: Arc<dyn ObjectStore>,
    limits: QueryLimits,
}

impl QueryEngine {
    /// An engine over `store`.
    pub fn new(store: Arc<dyn ObjectStore>, limits: QueryLimits) -> Self {
        QueryEngine { store, limits }
    }

    /// The limits queries run within.
    pub fn limits(&self) -> &QueryLimits {
        &self.limits
    }

    fn context(&self) -> Result<SessionContext, QueryError> {
        let runtime = RuntimeEnvBuilder::new().with_memory_limit(self.limits.memory_bytes, 1.0).build_arc()?;
        let config = SessionConfig::new().with_target_partitions(2).with_information_schema(false);
        let context = SessionContext::new_with_config_rt(config, runtime);
        let url = Url::parse(STORE_URL).expect("a valid URL");
        context.register_object_store(&url, self.store.clone());
        Ok(context)
    }

    async fn register(&self, context: &SessionContext, table: &Table) -> Result<(), QueryError> {
        let path = format!("{STORE_URL}{}", table.location);
        match &table.shape {
            None => context.register_parquet(table.name.as_str(), path, ParquetReadOptions::default()).await?,
            Some(shape) => {
                // Read without registering, so the raw table has no name a query could use.
                let raw = context.read_parquet(path, ParquetReadOptions::default()).await?;
                context.register_table(table.name.as_str(), Arc::new(ShapedTable::new(raw, shape)?))?;
            }
        }
        Ok(())
    }

    /// Parses `sql` and plans it, admitting a single read-only query only:
    /// no EXPLAIN (it would show the plan of a shaped view), DDL, DML or SET.
    async fn plan_query(&self, context: &SessionContext, sql: &str) -> Result<LogicalPlan, QueryError> {
        let state = context.state();
        let dialect = state.config().options().sql_parser.dialect;
        let statement = state.sql_to_statement(sql, &dialect)?;
        let is_query = matches!(
            &statement,
            datafusion::sql::parser::Statement::Statement(inner)
                if matches!(inner.as_ref(), datafusion::sql::sqlparser::ast::Statement::Query(_))
        );
        if !is_query {
            return Err(QueryError::invalid(
                "sql",
                "only a single SELECT query is accepted",
                "只接受单条 SELECT 查询语句",
            ));
        }
        let plan = state.statement_to_plan(statement).await?;
        // SELECT … INTO plans as DDL; the options refuse it.
        SQLOptions::new()
            .with_allow_ddl(false)
            .with_allow_dml(false)
            .with_allow_statements(false)
            .verify_plan(&plan)?;
        Ok(plan)
    }

    async fn timed<T>(&self, work: impl Future<Output = Result<T, QueryError>>) -> Result<T, QueryError> {
        match tokio::time::timeout(self.limits.timeout, work).await {
            Ok(result) => result,
            Err(_) => Err(QueryError::Timeout { seconds: self.limits.timeout.as_secs() }),
        }
    }

    /// One page of a table query, with the total count.
    pub async fn table_query(&self, table: &Table, query: &TableQuery) -> Result<QueryPage, QueryError> {
        self.timed(async {
            let context = self.context()?;
            self.register(&context, table).await?;
            let shaped = shape(context.table(table.name.as_str()).await?, query)?;
            let total = shaped.clone().count().await? as u64;
            let page = shaped.limit(query.offset, Some(query.limit))?;
            let schema = Arc::new(page.schema().as_arrow().clone());
            let batches = page.collect().await?;
            Ok(QueryPage { schema, batches, total })
        })
        .await
    }

    /// Every row a table query matches (no paging), as a stream, for downloads.
    /// The timeout covers planning; streaming runs as long as the reader reads.
    pub async fn table_stream(
        &self,
        table: &Table,
        query: &TableQuery,
    ) -> Result<SendableRecordBatchStream, QueryError> {
        self.timed(async {
            let context = self.context()?;
            self.register(&context, table).await?;
            let shaped = shape(context.table(table.name.as_str()).await?, query)?;
            Ok(shaped.execute_stream().await?)
        })
        .await
    }

    /// The table names an SQL statement reads, so the caller can decide
    /// which it may. Only a single read-only query is accepted.
    pub fn referenced_tables(&self, sql: &str) -> Result<Vec<String>, QueryError> {
        let context = self.context()?;
        let state = context.state();
        let dialect = state.config().options().sql_parser.dialect;
        let statement = state.sql_to_statement(sql, &dialect)?;
        let references = state.resolve_table_references(&statement)?;
        Ok(references.iter().map(|reference| reference.table().to_owned()).collect())
    }

    /// Runs a read-only SQL query over `tables`, returning at most the row cap.
    pub async fn sql(&self, tables: &[Table], sql: &str) -> Result<SqlResult, QueryError> {
        let prepared = self
            .timed(async {
                let context = self.context()?;
                for table in tables {
                    self.register(&context, table).await?;
                }
                let plan = self.plan_query(&context, sql).await?;
                Ok(PreparedQuery { frame: DataFrame::new(context.state(), plan) })
            })
            .await?;
        self.run(prepared).await
    }
}

impl QueryEngine {
    /// Whether `table` holds a row whose columns equal all of `criteria`
    /// (each value parsed as its column's type); for verification.
    pub async fn matches(&self, table: &Table, criteria: &[(String, String)]) -> Result<bool, QueryError> {
        self.timed(async {
            let context = self.context()?;
            self.register(&context, table).await?;
            let frame = context.table(table.name.as_str()).await?;
            let schema = frame.schema().as_arrow().clone();
            let mut condition = lit(true);
            for (column, value) in criteria {
                let field = schema.field_with_name(column).map_err(|_| {
                    QueryError::invalid(
                        format!("criteria.{column}"),
                        format!("there is no column `{column}`"),
                        format!("不存在数据项 `{column}`"),
                    )
                })?;
                let typed = ScalarValue::try_from_string(value.clone(), field.data_type()).map_err(|_| {
                    QueryError::invalid(
                        format!("criteria.{column}"),
                        format!("`{value}` is not a value of `{column}` ({})", field.data_type()),
                        format!("`{value}` 不是数据项 `{column}` 的有效值（{}）", field.data_type()),
                    )
                })?;
                condition = condition.and(ident(column.as_str()).eq(lit(typed)));
            }
            Ok(frame.filter(condition)?.limit(0, Some(1))?.count().await? > 0)
        })
        .await
    }

    /// Plans an aggregate-only query over `tables` (the sandbox): admitted
    /// by its plan and rewritten to suppress groups under the minimum.
    /// Nothing has run yet, so a refusal here costs the caller nothing.
    pub async fn prepare_aggregate(
        &self,
        tables: &[Table],
        sql: &str,
        rules: SandboxRules,
    ) -> Result<PreparedQuery, QueryError> {
        self.timed(async {
            let context = self.context()?;
            for table in tables {
                self.register(&context, table).await?;
            }
            let plan = self.plan_query(&context, sql).await?;
            crate::sandbox::admit(&plan, rules)?;
            let plan = crate::sandbox::suppress_small_groups(plan, rules)?;
            Ok(PreparedQuery { frame: DataFrame::new(context.state(), plan) })
        })
        .await
    }

    /// Runs a prepared query, returning at most the row cap.
    pub async fn run(&self, prepared: PreparedQuery) -> Result<SqlResult, QueryError> {
        self.timed(async {
            let cap = self.limits.sql_row_cap;
            let capped = prepared.frame.limit(0, Some(cap + 1))?;
            let schema = Arc::new(capped.schema().as_arrow().clone());
            let mut batches = capped.collect().await?;
            let rows: usize = batches.iter().map(RecordBatch::num_rows).sum();
            let truncated = rows > cap;
            if truncated {
                batches = trim_to(batches, cap);
            }
            Ok(SqlResult { schema, batches, truncated })
        })
        .await
    }

    /// Plans and runs an aggregate-only query (see [`QueryEngine::prepare_aggregate`]).
    pub async fn aggregate_sql(
        &self,
        tables: &[Table],
        sql: &str,
        rules: SandboxRules,
    ) -> Result<SqlResult, QueryError> {
        let prepared = self.prepare_aggregate(tables, sql, rules).await?;
        self.run(prepared).await
    }
}

/// A query planned and admitted, not yet run.
pub struct PreparedQuery {
    frame: DataFrame,
}

impl std::fmt::Debug for PreparedQuery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PreparedQuery")
    }
}

fn trim_to(batches: Vec<RecordBatch>, cap: usize) -> Vec<RecordBatch> {
    let mut kept = Vec::new();
    let mut remaining = cap;
    for batch in batches {
        if remaining == 0 {
            break;
        }
        let take = batch.num_rows().min(remaining);
        kept.push(batch.slice(0, take));
        remaining -= take;
    }
    kept
}

/// Applies a table query to a table, without paging.
fn shape(frame: DataFrame, query: &TableQuery) -> Result<DataFrame, QueryError> {
    let schema = frame.schema().as_arrow().clone();
    let column_type = |param: &str, name: &str| -> Result<DataType, QueryError> {
        match schema.field_with_name(name) {
            Ok(field) => Ok(field.data_type().clone()),
            Err(_) => {
                let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
                Err(QueryError::invalid(
                    param,
                    format!("no column `{name}`; the columns are {}", names.join(", ")),
                    format!("不存在列 `{name}`；可用的列：{}", names.join("、")),
                ))
            }
        }
    };
    let mut frame = frame;
    for filter in &query.filters {
        let param = format!("{}__{}", filter.column, op_name(filter.op));
        let data_type = column_type(&param, &filter.column)?;
        let column = ident(&filter.column);
        let as_text =
            || if is_text(&data_type) { ident(&filter.column) } else { cast(ident(&filter.column), DataType::Utf8) };
        let predicate = match filter.op {
            FilterOp::IsNull => {
                if filter.value.trim() == "true" {
                    column.is_null()
                } else {
                    column.is_not_null()
                }
            }
            FilterOp::Contains => contains(as_text(), lit(filter.value.clone())),
            FilterOp::Prefix => starts_with(as_text(), lit(filter.value.clone())),
            FilterOp::In => {
                let mut values = Vec::new();
                for value in filter.value.split(',') {
                    values.push(lit(typed_value(&param, &data_type, value)?));
                }
                column.in_list(values, false)
            }
            op => {
                let value = lit(typed_value(&param, &data_type, &filter.value)?);
                match op {
                    FilterOp::Eq => column.eq(value),
                    FilterOp::Ne => column.not_eq(value),
                    FilterOp::Lt => column.lt(value),
                    FilterOp::Lte => column.lt_eq(value),
                    FilterOp::Gt => column.gt(value),
                    FilterOp::Gte => column.gt_eq(value),
                    _ => unreachable!("handled above"),
                }
            }
        };
        frame = frame.filter(predicate)?;
    }
    // Each word must appear in some text column; Chinese text matches as a
    // substring, Latin text without regard to case.
    let text_columns: Vec<String> =
        schema.fields().iter().filter(|f| is_text(f.data_type())).map(|f| f.name().clone()).collect();
    for word in &query.text {
        if text_columns.is_empty() {
            return Err(QueryError::invalid("_q", "the table has no text column to search", "该表没有可检索的文本列"));
        }
        // Folding case costs a copy of every value; only Latin letters need it.
        let has_case = word.chars().any(|c| c.is_alphabetic() && c.to_lowercase().ne(c.to_uppercase()));
        let needle = lit(word.to_lowercase());
        let any_column = text_columns
            .iter()
            .map(|name| {
                if has_case {
                    contains(lower(ident(name)), needle.clone())
                } else {
                    contains(ident(name), needle.clone())
                }
            })
            .reduce(Expr::or)
            .expect("at least one text column");
        frame = frame.filter(any_column)?;
    }
    let mut output_names: Vec<String> = schema.fields().iter().map(|f| f.name().clone()).collect();
    if !query.aggregates.is_empty() {
        let mut groups = Vec::new();
        for key in &query.group_by {
            // `date:month` and `date:year` group a date column by month or year.
            let (name, bucket) = match key.split_once(':') {
                Some((name, bucket)) => (name, Some(bucket)),
                None => (key.as_str(), None),
            };
            let data_type = column_type("_group_by", name)?;
            let format = match bucket {
                None => {
                    groups.push(ident(name));
                    continue;
                }
                Some("month") => "%Y-%m",
                Some("year") => "%Y",
                Some(other) => {
                    return Err(QueryError::invalid(
                        "_group_by",
                        format!("`{other}` is not a period; group a date column by `{name}:month` or `{name}:year`"),
                        format!("`{other}` 不是有效的时间粒度；日期列可按 `{name}:month` 或 `{name}:year` 分组"),
                    ));
                }
            };
            if !matches!(data_type, DataType::Date32 | DataType::Date64 | DataType::Timestamp(..)) {
                return Err(QueryError::invalid(
                    "_group_by",
                    format!("`{name}` is not a date column, so it cannot be grouped by period"),
                    format!("列 `{name}` 不是日期列，不能按时间粒度分组"),
                ));
            }
            groups.push(to_char(ident(name), lit(format)).alias(name));
        }
        let mut aggregates = Vec::new();
        for aggregate in &query.aggregates {
            let input = match &aggregate.column {
                Some(name) => {
                    let data_type = column_type("_aggregate", name)?;
                    let numeric = data_type.is_numeric();
                    if matches!(aggregate.function, AggregateFunction::Sum | AggregateFunction::Avg) && !numeric {
                        return Err(QueryError::invalid(
                            "_aggregate",
                            format!("`{name}` is not a number column, so it cannot be summed or averaged"),
                            format!("列 `{name}` 不是数值列，不能求和或求平均"),
                        ));
                    }
                    ident(name)
                }
                None => lit(1i64),
            };
            let expr = match aggregate.function {
                AggregateFunction::Count => count(input),
                AggregateFunction::Sum => sum(input),
                AggregateFunction::Avg => avg(input),
                AggregateFunction::Min => min(input),
                AggregateFunction::Max => max(input),
            };
            aggregates.push(expr.alias(aggregate.output_name()));
        }
        frame = frame.aggregate(groups, aggregates)?;
        output_names = query
            .group_by
            .iter()
            .map(|key| key.split_once(':').map_or(key.as_str(), |(name, _)| name).to_owned())
            .chain(query.aggregates.iter().map(|a| a.output_name()))
            .collect();
    }
    let mut sort = Vec::new();
    for (name, descending) in &query.sort {
        if !output_names.contains(name) {
            return Err(QueryError::invalid(
                "_sort",
                format!("cannot sort by `{name}`; sortable columns are {}", output_names.join(", ")),
                format!("不能按 `{name}` 排序；可排序的列：{}", output_names.join("、")),
            ));
        }
        sort.push(ident(name).sort(!descending, false));
    }
    if !sort.is_empty() {
        frame = frame.sort(sort)?;
    }
    if !query.fields.is_empty() {
        for name in &query.fields {
            if !output_names.contains(name) {
                return Err(QueryError::invalid(
                    "_fields",
                    format!("no column `{name}`; the columns are {}", output_names.join(", ")),
                    format!("不存在列 `{name}`；可用的列：{}", output_names.join("、")),
                ));
            }
        }
        frame = frame.select(query.fields.iter().map(ident).collect::<Vec<_>>())?;
    }
    Ok(frame)
}

/// Text columns: DataFusion reads Parquet strings as views.
fn is_text(data_type: &DataType) -> bool {
    matches!(data_type, DataType::Utf8 | DataType::Utf8View | DataType::LargeUtf8)
}

fn op_name(op: FilterOp) -> &'static str {
    match op {
        FilterOp::Eq => "eq",
        FilterOp::Ne => "ne",
        FilterOp::Lt => "lt",
        FilterOp::Lte => "lte",
        FilterOp::Gt => "gt",
        FilterOp::Gte => "gte",
        FilterOp::In => "in",
        FilterOp::Contains => "contains",
        FilterOp::Prefix => "prefix",
        FilterOp::IsNull => "isnull",
    }
}

/// Reads a filter value as the column's type, so that `人口__gt=1000`
/// compares numbers and `日期__gte=2024/1/2` compares dates.
fn typed_value(param: &str, data_type: &DataType, text: &str) -> Result<ScalarValue, QueryError> {
    let value = text.trim();
    let bad = |expected_en: &str, expected_zh: &str| {
        QueryError::invalid(param, format!("`{value}` is not {expected_en}"), format!("`{value}` 不是{expected_zh}"))
    };
    let plain = value.replace(',', "");
    Ok(match data_type {
        text_type if is_text(text_type) => ScalarValue::Utf8(Some(text.to_owned())),
        DataType::Int64 => ScalarValue::Int64(Some(plain.parse().map_err(|_| bad("a whole number", "整数"))?)),
        DataType::Float64 => ScalarValue::Float64(Some(plain.parse().map_err(|_| bad("a number", "数字"))?)),
        DataType::Decimal128(precision, scale) => {
            let scaled = decimal(&plain, *scale as u32).ok_or_else(|| bad("a decimal number", "数字"))?;
            ScalarValue::Decimal128(Some(scaled), *precision, *scale)
        }
        DataType::Boolean => ScalarValue::Boolean(Some(match value {
            "true" | "是" | "1" => true,
            "false" | "否" | "0" => false,
            _ => return Err(bad("true or false", "布尔值（true/false）")),
        })),
        DataType::Date32 => {
            let date = ["%Y-%m-%d", "%Y/%m/%d", "%Y%m%d", "%Y年%m月%d日"]
                .iter()
                .find_map(|format| NaiveDate::parse_from_str(value, format).ok())
                .ok_or_else(|| bad("a date such as 2024-01-02", "日期（如 2024-01-02）"))?;
            let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).expect("valid date");
            ScalarValue::Date32(Some((date - epoch).num_days() as i32))
        }
        DataType::Timestamp(_, _) => {
            let time = ["%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"]
                .iter()
                .find_map(|format| NaiveDateTime::parse_from_str(value, format).ok())
                .or_else(|| NaiveDate::parse_from_str(value, "%Y-%m-%d").ok().and_then(|d| d.and_hms_opt(0, 0, 0)))
                .ok_or_else(|| bad("a time such as 2024-01-02 08:30:00", "时间（如 2024-01-02 08:30:00）"))?;
            ScalarValue::TimestampMicrosecond(Some(time.and_utc().timestamp_micros()), None)
        }
        other => {
            return Err(QueryError::invalid(
                param,
                format!("columns of type {other} cannot be filtered"),
                format!("类型为 {other} 的列不能筛选"),
            ));
        }
    })
}

/// A decimal string as an integer with `scale` implied places.
fn decimal(text: &str, scale: u32) -> Option<i128> {
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    let (integer, fraction) = digits.split_once('.').unwrap_or((digits, ""));
    if integer.is_empty() && fraction.is_empty()
        || !integer.bytes().chain(fraction.bytes()).all(|b| b.is_ascii_digit())
        || fraction.len() > scale as usize
    {
        return None;
    }
    let padded = format!("{integer}{fraction:0<width$}", width = scale as usize);
    let value: i128 = padded.parse().ok()?;
    Some(if negative { -value } else { value })
}

#[cfg(test)]
mod tests {
    use super::decimal;

    #[test]
    fn decimals_parse_exactly() {
        assert_eq!(decimal("1234.5", 2), Some(123_450));
        assert_eq!(decimal("-0.07", 2), Some(-7));
        assert_eq!(decimal("12", 0), Some(12));
        assert_eq!(decimal("1.234", 2), None);
        assert_eq!(decimal("abc", 2), None);
    }
}
