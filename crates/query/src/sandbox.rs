//! The aggregate-only sandbox (可用不可见): SQL whose result holds only
//! aggregates, with groups smaller than a minimum suppressed.
//!
//! A query is admitted by its logical plan, not by its text: exactly one
//! aggregation, fed by scans, filters, projections and (where allowed)
//! joins of the shaped views, and followed only by projections, filters,
//! sorts and limits. Its aggregate functions are COUNT, SUM and AVG, which
//! no single row can dominate the way MIN, MAX or ARRAY_AGG would. No
//! subquery, window, set operation or grouping set passes. The admitted
//! plan is then rewritten so the aggregation also counts each group's rows
//! and drops groups under the minimum before anything above it runs, so
//! neither HAVING nor an outer filter can bring a small group back.

use datafusion::arrow::datatypes::DataType;
use datafusion::common::tree_node::{Transformed, TreeNode, TreeNodeRecursion};
use datafusion::functions_aggregate::expr_fn::count;
use datafusion::logical_expr::{Aggregate, Expr, LogicalPlan, LogicalPlanBuilder, col, lit};

use crate::QueryError;

/// The column the rewrite adds to count each group's rows.
const GROUP_ROWS: &str = "__gongshu_group_rows";

/// Aggregate functions the sandbox admits.
const ALLOWED_AGGREGATES: &[&str] = &["count", "sum", "avg"];

/// What the sandbox enforces on one query.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SandboxRules {
    /// Groups with fewer rows are left out of the result.
    pub min_group_size: u64,
    /// Whether the query may join tables.
    pub allow_joins: bool,
    /// The privacy loss (ε) this query may spend, when the grant asks for
    /// differential privacy: its counts are then released with Laplace
    /// noise (groups are still kept or dropped on their true size).
    pub epsilon: Option<f64>,
}

fn refused(en: impl Into<String>, zh: impl Into<String>) -> datafusion::error::DataFusionError {
    datafusion::error::DataFusionError::External(Box::new(QueryError::invalid("sql", en, zh)))
}

/// Admits `plan` or says what in it the sandbox does not allow.
pub(crate) fn admit(plan: &LogicalPlan, rules: SandboxRules) -> Result<(), QueryError> {
    let mut aggregations = 0;
    walk(plan, false, rules, &mut aggregations).map_err(unwrap_refusal)?;
    if rules.epsilon.is_some() {
        let mut sums = false;
        plan.apply(|node| {
            if let LogicalPlan::Aggregate(aggregate) = node {
                sums |= aggregate.aggr_expr.iter().any(|expr| {
                    matches!(unalias(expr), Expr::AggregateFunction(f) if f.func.name().to_lowercase() != "count")
                });
            }
            Ok(TreeNodeRecursion::Continue)
        })?;
        if sums {
            return Err(QueryError::invalid(
                "sql",
                "under a privacy budget only COUNT is answered: SUM and AVG need bounds the grant does not declare",
                "在隐私预算下只回答 COUNT：SUM 和 AVG 需要授权声明取值范围",
            ));
        }
    }
    match aggregations {
        1 => Ok(()),
        0 => Err(QueryError::invalid(
            "sql",
            "only aggregates leave the sandbox: use COUNT, SUM or AVG, with GROUP BY for groups",
            "仅统计沙箱只输出统计结果：请使用 COUNT、SUM 或 AVG，分组请用 GROUP BY",
        )),
        _ => Err(QueryError::invalid(
            "sql",
            "one aggregation per query: aggregates of aggregates are not allowed",
            "每个查询只能有一层聚合，不允许对聚合结果再聚合",
        )),
    }
}

/// Checks one node and its inputs.
fn walk(
    node: &LogicalPlan,
    below_aggregation: bool,
    rules: SandboxRules,
    aggregations: &mut usize,
) -> datafusion::error::Result<()> {
    let mut below = below_aggregation;
    match node {
        LogicalPlan::Filter(_)
        | LogicalPlan::Sort(_)
        | LogicalPlan::Limit(_)
        | LogicalPlan::SubqueryAlias(_)
        | LogicalPlan::TableScan(_) => {}
        LogicalPlan::Projection(_) => {}
        LogicalPlan::Aggregate(aggregate) => {
            *aggregations += 1;
            admit_aggregate(aggregate)?;
            for expr in &aggregate.aggr_expr {
                expr.apply(|expr| {
                    if let Expr::Column(column) = expr {
                        trace_to_scan(&aggregate.input, &column.name)?;
                    }
                    Ok(TreeNodeRecursion::Continue)
                })?;
            }
            below = true;
        }
        LogicalPlan::Join(_) if rules.allow_joins => {}
        LogicalPlan::Join(_) => {
            return Err(refused("this grant does not allow joins between tables", "该授权不允许多表关联查询"));
        }
        other => {
            let what = match other {
                LogicalPlan::Window(_) => "window functions",
                LogicalPlan::Union(_) => "UNION, INTERSECT and EXCEPT",
                LogicalPlan::Distinct(_) => "SELECT DISTINCT (use COUNT(DISTINCT …) instead)",
                LogicalPlan::Values(_) | LogicalPlan::EmptyRelation(_) => "queries without a table",
                LogicalPlan::RecursiveQuery(_) => "recursive queries",
                LogicalPlan::Unnest(_) => "UNNEST",
                _ => "this kind of query",
            };
            return Err(refused(
                format!("{what}: not allowed in the aggregate-only sandbox"),
                format!("仅统计沙箱中不允许使用 {what}"),
            ));
        }
    }
    if below_aggregation || matches!(node, LogicalPlan::Aggregate(_)) {
        let exprs = match node {
            LogicalPlan::Aggregate(aggregate) => aggregate.group_expr.clone(),
            other => other.expressions(),
        };
        for expr in &exprs {
            admit_row_expr(expr)?;
        }
    }
    node.apply_expressions(|expr| {
        expr.apply(|expr| match expr {
            Expr::ScalarSubquery(_) | Expr::Exists(_) | Expr::InSubquery(_) | Expr::OuterReferenceColumn(..) => {
                Err(refused("subqueries are not allowed in the aggregate-only sandbox", "仅统计沙箱中不允许使用子查询"))
            }
            Expr::WindowFunction(_) => Err(refused(
                "window functions: not allowed in the aggregate-only sandbox",
                "仅统计沙箱中不允许使用窗口函数",
            )),
            Expr::Column(column) if column.name.starts_with("__gongshu") => Err(reserved()),
            Expr::Alias(alias) if alias.name.starts_with("__gongshu") => Err(reserved()),
            _ => Ok(TreeNodeRecursion::Continue),
        })
    })?;
    for input in node.inputs() {
        walk(input, below, rules, aggregations)?;
    }
    Ok(())
}

/// Follows a column an aggregate reads down to the table it comes from.
/// Below the aggregation rows may be filtered (which shrinks the groups the
/// minimum is counted on) but what is aggregated may not be computed: an
/// aggregate fed `CASE WHEN <one person> THEN income END` by a derived
/// table would reveal one row inside a large group.
fn trace_to_scan(plan: &LogicalPlan, name: &str) -> datafusion::error::Result<()> {
    match plan {
        LogicalPlan::TableScan(_) => Ok(()),
        LogicalPlan::Projection(projection) => {
            let produced = projection
                .expr
                .iter()
                .zip(projection.schema.fields())
                .find(|(_, field)| field.name() == name)
                .map(|(expr, _)| expr);
            match produced.map(unalias) {
                Some(Expr::Column(column)) => trace_to_scan(&projection.input, &column.name),
                Some(_) => Err(refused(
                    format!("`{name}` is computed before it is aggregated; aggregate a column as it is"),
                    format!("`{name}` 是聚合前计算出的值；只能对数据项本身聚合"),
                )),
                None => {
                    Err(refused(format!("`{name}` cannot be traced to a table"), format!("无法确定 `{name}` 的来源")))
                }
            }
        }
        LogicalPlan::Join(join) => {
            let side = if join.left.schema().fields().iter().any(|field| field.name() == name) {
                &join.left
            } else {
                &join.right
            };
            trace_to_scan(side, name)
        }
        other => match other.inputs().as_slice() {
            [input] => trace_to_scan(input, name),
            _ => Err(refused(format!("`{name}` cannot be traced to a table"), format!("无法确定 `{name}` 的来源"))),
        },
    }
}

/// Scalar functions that cannot fail on any value, allowed before the
/// aggregation.
const SAFE_FUNCTIONS: &[&str] = &[
    "lower",
    "upper",
    "trim",
    "btrim",
    "ltrim",
    "rtrim",
    "length",
    "char_length",
    "character_length",
    "substr",
    "substring",
    "left",
    "right",
    "starts_with",
    "ends_with",
    "date_trunc",
    "date_part",
    "coalesce",
    "nullif",
    "abs",
    "round",
    "floor",
    "ceil",
];

/// Admits an expression evaluated on rows before the aggregation. A query
/// whose outcome is an error on one row but not on another is a yes/no
/// question about that row, whatever the minimum group size; so division,
/// modulo, casts that can fail and functions outside [`SAFE_FUNCTIONS`] are
/// refused here (TRY_CAST, which gives null instead of failing, is fine).
fn admit_row_expr(expr: &Expr) -> datafusion::error::Result<()> {
    use datafusion::logical_expr::Operator;
    expr.apply(|expr| match expr {
        Expr::BinaryExpr(binary) if matches!(binary.op, Operator::Divide | Operator::Modulo) => Err(refused(
            "division and modulo are not allowed before the aggregation in the sandbox (a failing row would answer a question about itself)",
            "仅统计沙箱中聚合之前不允许除法和取模（个别行出错会泄露该行的信息）",
        )),
        Expr::Cast(cast)
            if !matches!(cast.expr.as_ref(), Expr::Literal(..))
                && !matches!(cast.field.data_type(), DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View) =>
        {
            Err(refused(
                "CAST can fail on a value; use TRY_CAST in the sandbox",
                "CAST 可能因个别值失败，仅统计沙箱中请使用 TRY_CAST",
            ))
        }
        Expr::ScalarFunction(function) if !SAFE_FUNCTIONS.contains(&function.func.name()) => Err(refused(
            format!("{}: this function is not allowed before the aggregation in the sandbox", function.func.name()),
            format!("仅统计沙箱中聚合之前不允许使用函数 {}", function.func.name()),
        )),
        _ => Ok(TreeNodeRecursion::Continue),
    })?;
    Ok(())
}

fn reserved() -> datafusion::error::DataFusionError {
    refused("names starting with __gongshu are reserved", "以 __gongshu 开头的名称为系统保留")
}

/// Each aggregate is COUNT, SUM or AVG of a column (or COUNT of rows),
/// without FILTER: a filter or an expression inside one aggregate would
/// pick rows the group's size does not count.
fn admit_aggregate(aggregate: &Aggregate) -> datafusion::error::Result<()> {
    if aggregate.group_expr.iter().any(|expr| matches!(expr, Expr::GroupingSet(_))) {
        return Err(refused(
            "GROUPING SETS, ROLLUP and CUBE are not allowed in the sandbox",
            "仅统计沙箱中不允许使用 GROUPING SETS、ROLLUP 或 CUBE",
        ));
    }
    for expr in &aggregate.aggr_expr {
        let Expr::AggregateFunction(function) = unalias(expr) else {
            return Err(refused("only aggregate functions may be computed per group", "每个分组只能计算聚合函数"));
        };
        let name = function.func.name().to_lowercase();
        if !ALLOWED_AGGREGATES.contains(&name.as_str()) {
            return Err(refused(
                format!("{}: only COUNT, SUM and AVG are allowed in the sandbox", name.to_uppercase()),
                format!("仅统计沙箱只允许 COUNT、SUM、AVG，不允许 {}", name.to_uppercase()),
            ));
        }
        if function.params.filter.is_some() {
            return Err(refused(
                "FILTER (WHERE …) on an aggregate is not allowed in the sandbox; filter rows in WHERE",
                "仅统计沙箱不允许在聚合函数上使用 FILTER，请在 WHERE 中筛选",
            ));
        }
        let plain = function.params.args.iter().all(|arg| matches!(unalias(arg), Expr::Column(_) | Expr::Literal(..)));
        if !plain {
            return Err(refused(
                format!(
                    "{}: aggregate a column as it is, not an expression (CASE, arithmetic, functions)",
                    name.to_uppercase()
                ),
                format!("{} 只能对数据项本身聚合，不能对表达式（CASE、运算、函数）聚合", name.to_uppercase()),
            ));
        }
    }
    Ok(())
}

fn unalias(expr: &Expr) -> &Expr {
    match expr {
        Expr::Alias(alias) => unalias(&alias.expr),
        other => other,
    }
}

fn unwrap_refusal(error: datafusion::error::DataFusionError) -> QueryError {
    match error {
        datafusion::error::DataFusionError::External(inner) => match inner.downcast::<QueryError>() {
            Ok(refusal) => *refusal,
            Err(other) => QueryError::Engine(datafusion::error::DataFusionError::External(other)),
        },
        other => QueryError::Engine(other),
    }
}

/// Rewrites an admitted plan so every group under the minimum is dropped
/// right after the aggregation, and, under a privacy budget, so every count
/// (the group's size included) then leaves with Laplace noise. The budget is
/// split evenly over the counts: one person changes each count of one
/// group by at most one, so each count spends ε / n with noise of scale
/// n / ε, and the counts of different groups compose in parallel.
pub(crate) fn suppress_small_groups(plan: LogicalPlan, rules: SandboxRules) -> Result<LogicalPlan, QueryError> {
    let minimum = i64::try_from(rules.min_group_size.max(1)).unwrap_or(i64::MAX);
    let rewritten = plan
        .transform_up(|node| match node {
            LogicalPlan::Aggregate(aggregate) => {
                let mut aggr_expr = aggregate.aggr_expr.clone();
                aggr_expr.push(count(lit(1)).alias(GROUP_ROWS));
                let counts = aggr_expr.len();
                let counted = Aggregate::try_new(aggregate.input.clone(), aggregate.group_expr.clone(), aggr_expr)?;
                let group_keys = counted.group_expr.len();
                // Groups are kept on their true size, before any noise: a
                // noisy threshold would let a group of one through now and
                // then, and its key with it.
                let mut builder = LogicalPlanBuilder::from(LogicalPlan::Aggregate(counted))
                    .filter(col(GROUP_ROWS).gt_eq(lit(minimum)))?;
                if let Some(epsilon) = rules.epsilon {
                    let noise = crate::privacy::laplace_function(counts as f64 / epsilon)
                        .map_err(|error| datafusion::error::DataFusionError::External(Box::new(error)))?;
                    let columns = builder.schema().columns();
                    let noised = columns.into_iter().enumerate().map(|(i, column)| {
                        let name = column.name.clone();
                        if i < group_keys {
                            Expr::Column(column)
                        } else {
                            noise.call(vec![Expr::Column(column)]).alias(name)
                        }
                    });
                    builder = builder.project(noised.collect::<Vec<_>>())?;
                }
                let kept = builder.build()?;
                Ok(Transformed::yes(kept))
            }
            other => Ok(Transformed::yes(other.recompute_schema()?)),
        })?
        .data;
    // A plan whose top is not a projection would carry the count out.
    if rewritten.schema().fields().iter().any(|field| field.name() == GROUP_ROWS) {
        let keep: Vec<Expr> = rewritten
            .schema()
            .columns()
            .into_iter()
            .filter(|column| column.name != GROUP_ROWS)
            .map(Expr::Column)
            .collect();
        return Ok(LogicalPlanBuilder::from(rewritten).project(keep)?.build()?);
    }
    Ok(rewritten)
}
