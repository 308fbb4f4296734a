//! Shaped views: what a grant lets through of a table, and nothing else.
//!
//! A shaped table is registered in a query's context as a [`ShapedTable`]
//! over a frame that reads the Parquet file without naming it: the raw
//! table has no name the query could refer to. The frame keeps the granted
//! rows (a structured row filter), the granted columns in the granted
//! order, and masks their values. Masks are functions known only to that
//! frame's plan, never registered by name, so a query can neither call them
//! nor see their key.
//!
//! The table is opaque to the query's planner: unlike a view, it is not
//! inlined and takes no filter pushed into it. The query's own predicates
//! therefore run only on rows the grant lets through, so an expression that
//! fails (a division by zero, a cast) cannot tell anything about a row
//! outside the grant by failing on it.

use std::fmt;
use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, StringArray};
use datafusion::arrow::datatypes::{DataType, Schema, SchemaRef};
use datafusion::catalog::{Session, TableProvider};
use datafusion::common::ScalarValue;
use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::datasource::TableType;
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility, cast, ident, lit,
};
use datafusion::physical_expr::PhysicalExpr;
use datafusion::physical_plan::execution_plan::{ChildrenPropertiesMode, ReplaceChildrenOptions};
use datafusion::physical_plan::{DisplayAs, DisplayFormatType, ExecutionPlan, PlanProperties};
use datafusion::prelude::{DataFrame, Expr};
use gongshu_domain::{Mask, RowCondition, RowOp};
use sha2::{Digest, Sha256};

use crate::QueryError;

/// What of a table a query may see.
#[derive(Clone, PartialEq, Eq)]
pub struct Shape {
    /// Columns exposed, in order; every other column is absent.
    pub columns: Vec<String>,
    /// Masks on exposed columns.
    pub masks: std::collections::BTreeMap<String, Mask>,
    /// Rows exposed: those meeting every condition.
    pub row_filter: Vec<RowCondition>,
    /// The key of hash masks.
    pub hash_key: Vec<u8>,
}

impl fmt::Debug for Shape {
    // The key stays out of logs and error messages.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Shape")
            .field("columns", &self.columns)
            .field("masks", &self.masks)
            .field("row_filter", &self.row_filter)
            .finish_non_exhaustive()
    }
}

/// A shaped frame as a table: the query sees its schema and its rows and
/// nothing of how they were made.
#[derive(Debug)]
pub(crate) struct ShapedTable {
    frame: DataFrame,
    schema: SchemaRef,
}

impl ShapedTable {
    pub(crate) fn new(raw: DataFrame, shape: &Shape) -> Result<ShapedTable, QueryError> {
        let frame = shaped_frame(raw, shape)?;
        let schema = Arc::new(frame.schema().as_arrow().clone());
        Ok(ShapedTable { frame, schema })
    }
}

#[async_trait::async_trait]
impl TableProvider for ShapedTable {
    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    fn table_type(&self) -> TableType {
        TableType::Temporary
    }

    // `supports_filters_pushdown` keeps its default (unsupported): the
    // query's filters stay above this scan.
    async fn scan(
        &self,
        _state: &dyn Session,
        projection: Option<&Vec<usize>>,
        _filters: &[Expr],
        _limit: Option<usize>,
    ) -> datafusion::error::Result<Arc<dyn ExecutionPlan>> {
        let mut frame = self.frame.clone();
        if let Some(projection) = projection {
            let names: Vec<&str> = projection.iter().map(|i| self.schema.field(*i).name().as_str()).collect();
            frame = frame.select_columns(&names)?;
        }
        let input = frame.create_physical_plan().await?;
        Ok(Arc::new(GrantBoundary { input }))
    }
}

/// The physical edge of a shaped table. Like every plan node that does not
/// opt in, it lets no filter of the query above be pushed below it, where
/// the physical optimizer would merge it with the grant's row filter and
/// evaluate it on rows outside the grant.
#[derive(Debug)]
struct GrantBoundary {
    input: Arc<dyn ExecutionPlan>,
}

impl DisplayAs for GrantBoundary {
    fn fmt_as(&self, _format: DisplayFormatType, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("GrantBoundary")
    }
}

impl ExecutionPlan for GrantBoundary {
    fn name(&self) -> &str {
        "GrantBoundary"
    }

    fn properties(&self) -> &Arc<PlanProperties> {
        self.input.properties()
    }

    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        vec![&self.input]
    }

    fn apply_expressions(
        &self,
        _f: &mut dyn FnMut(&Arc<dyn PhysicalExpr>) -> datafusion::error::Result<TreeNodeRecursion>,
    ) -> datafusion::error::Result<TreeNodeRecursion> {
        Ok(TreeNodeRecursion::Continue)
    }

    fn replace_children(
        self: Arc<Self>,
        mut children: Vec<Arc<dyn ExecutionPlan>>,
        _options: ReplaceChildrenOptions,
    ) -> datafusion::error::Result<Arc<dyn ExecutionPlan>> {
        Ok(Arc::new(GrantBoundary { input: children.swap_remove(0) }))
    }

    fn with_new_children(
        self: Arc<Self>,
        children: Vec<Arc<dyn ExecutionPlan>>,
    ) -> datafusion::error::Result<Arc<dyn ExecutionPlan>> {
        self.replace_children(children, ReplaceChildrenOptions::new(ChildrenPropertiesMode::Recompute))
    }

    fn execute(
        &self,
        partition: usize,
        context: Arc<TaskContext>,
    ) -> datafusion::error::Result<SendableRecordBatchStream> {
        self.input.execute(partition, context)
    }
}

/// The frame a query sees in place of `raw`.
fn shaped_frame(raw: DataFrame, shape: &Shape) -> Result<DataFrame, QueryError> {
    let schema = raw.schema().as_arrow().clone();
    let mut frame = raw;
    for condition in &shape.row_filter {
        frame = frame.filter(condition_expr(&schema, condition)?)?;
    }
    let columns = shape
        .columns
        .iter()
        .map(|name| column_expr(&schema, name, shape.masks.get(name).copied(), &shape.hash_key))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(frame.select(columns)?)
}

fn data_type(schema: &Schema, column: &str) -> Result<DataType, QueryError> {
    schema.field_with_name(column).map(|field| field.data_type().clone()).map_err(|_| QueryError::Invalid {
        param: "grant".into(),
        en: format!("the grant names column `{column}`, which this version's data does not have"),
        zh: format!("授权中的数据项 `{column}` 不在该版本的数据中"),
    })
}

fn typed(value: &str, data_type: &DataType, column: &str) -> Result<Expr, QueryError> {
    ScalarValue::try_from_string(value.to_owned(), data_type).map(lit).map_err(|_| QueryError::Invalid {
        param: "grant".into(),
        en: format!("the grant's row filter compares `{column}` with `{value}`, which is not a {data_type}"),
        zh: format!("授权的行过滤条件将 `{column}` 与 `{value}` 比较，但类型不符（{data_type}）"),
    })
}

fn condition_expr(schema: &Schema, condition: &RowCondition) -> Result<Expr, QueryError> {
    let column = condition.column.as_str();
    let data_type = data_type(schema, column)?;
    let target = ident(column);
    let first = || condition.values.first().map(String::as_str).unwrap_or_default();
    Ok(match condition.op {
        RowOp::Eq => target.eq(typed(first(), &data_type, column)?),
        RowOp::Gte => target.gt_eq(typed(first(), &data_type, column)?),
        RowOp::Lte => target.lt_eq(typed(first(), &data_type, column)?),
        RowOp::In => {
            let list =
                condition.values.iter().map(|value| typed(value, &data_type, column)).collect::<Result<Vec<_>, _>>()?;
            target.in_list(list, false)
        }
        RowOp::Prefix => {
            datafusion::functions::expr_fn::starts_with(cast(target, DataType::Utf8), lit(first().to_owned()))
        }
    })
}

fn column_expr(schema: &Schema, name: &str, mask: Option<Mask>, key: &[u8]) -> Result<Expr, QueryError> {
    let data_type = data_type(schema, name)?;
    let expr = match mask {
        None => ident(name),
        Some(Mask::Null) => lit(ScalarValue::try_from(&data_type)?),
        Some(mask) => {
            let udf = ScalarUDF::new_from_impl(MaskFunction::new(mask, key));
            udf.call(vec![cast(ident(name), DataType::Utf8)])
        }
    };
    Ok(expr.alias(name))
}

/// A mask as a scalar function over text.
#[derive(PartialEq, Eq, Hash)]
struct MaskFunction {
    mask: Mask,
    key: Vec<u8>,
    signature: Signature,
}

impl MaskFunction {
    fn new(mask: Mask, key: &[u8]) -> Self {
        MaskFunction {
            mask,
            key: key.to_vec(),
            signature: Signature::exact(vec![DataType::Utf8], Volatility::Immutable),
        }
    }
}

impl fmt::Debug for MaskFunction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "mask({})", self.mask.describe())
    }
}

impl ScalarUDFImpl for MaskFunction {
    fn name(&self) -> &str {
        match self.mask {
            Mask::Hash => "mask_hash",
            Mask::KeepFirst { .. } => "mask_keep_first",
            Mask::KeepLast { .. } => "mask_keep_last",
            Mask::Year => "mask_year",
            Mask::Month => "mask_month",
            Mask::RegionPrefix { .. } => "mask_region_prefix",
            Mask::Null => "mask_null",
        }
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _arg_types: &[DataType]) -> datafusion::error::Result<DataType> {
        Ok(DataType::Utf8)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> datafusion::error::Result<ColumnarValue> {
        let input = args.args[0].to_array(args.number_rows)?;
        let input = input
            .as_any()
            .downcast_ref::<StringArray>()
            .ok_or_else(|| datafusion::error::DataFusionError::Internal(format!("{} expects text", self.name())))?;
        let output: StringArray =
            input.iter().map(|value| value.map(|value| apply_mask(self.mask, &self.key, value))).collect();
        Ok(ColumnarValue::Array(Arc::new(output) as ArrayRef))
    }
}

/// Applies `mask` to one value (as text). Public for property tests.
pub fn apply_mask(mask: Mask, key: &[u8], value: &str) -> String {
    match mask {
        Mask::Hash => hex(&hmac_sha256(key, value.as_bytes())[..16]),
        // At least one character is always hidden, so a value no longer
        // than `n` does not pass whole.
        Mask::KeepFirst { n } => {
            let count = value.chars().count();
            let kept = usize::from(n).min(count.saturating_sub(1));
            let shown: String = value.chars().take(kept).collect();
            format!("{shown}{}", "*".repeat((count - kept).max(1)))
        }
        Mask::KeepLast { n } => {
            let count = value.chars().count();
            let kept = usize::from(n).min(count.saturating_sub(1));
            let shown: String = value.chars().skip(count - kept).collect();
            format!("{}{shown}", "*".repeat((count - kept).max(1)))
        }
        Mask::Year => value.chars().take(4).collect(),
        Mask::Month => value.chars().take(7).collect(),
        Mask::RegionPrefix { digits } => {
            let kept: String = value.chars().take(usize::from(digits)).collect();
            let width = value.chars().count().max(kept.chars().count());
            format!("{kept:0<width$}")
        }
        Mask::Null => String::new(),
    }
}

/// HMAC-SHA-256 (RFC 2104).
fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
    const BLOCK: usize = 64;
    let mut block = [0u8; BLOCK];
    if key.len() > BLOCK {
        block[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    let pad = |byte: u8| block.map(|b| b ^ byte);
    let inner = Sha256::new().chain_update(pad(0x36)).chain_update(message).finalize();
    Sha256::new().chain_update(pad(0x5c)).chain_update(inner).finalize().into()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_matches_rfc_4231_case_2() {
        let digest = hmac_sha256(b"Jefe", b"what do ya want for nothing?");
        assert_eq!(hex(&digest), "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    }

    #[test]
    fn masks_hide_what_they_say() {
        assert_eq!(apply_mask(Mask::KeepFirst { n: 1 }, b"", "张三丰"), "张**");
        assert_eq!(apply_mask(Mask::KeepLast { n: 4 }, b"", "13800138000"), "*******8000");
        assert_eq!(apply_mask(Mask::KeepLast { n: 4 }, b"", "800"), "*00");
        assert_eq!(apply_mask(Mask::KeepFirst { n: 2 }, b"", "张三"), "张*");
        assert_eq!(apply_mask(Mask::Year, b"", "2024-03-15"), "2024");
        assert_eq!(apply_mask(Mask::Month, b"", "2024-03-15T08:00:00"), "2024-03");
        assert_eq!(apply_mask(Mask::RegionPrefix { digits: 4 }, b"", "330106"), "330100");
        assert_ne!(apply_mask(Mask::Hash, b"k1", "x"), apply_mask(Mask::Hash, b"k2", "x"));
        assert_eq!(apply_mask(Mask::Hash, b"k1", "x"), apply_mask(Mask::Hash, b"k1", "x"));
    }
}
