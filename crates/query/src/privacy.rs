//! Differential privacy for the sandbox: Laplace noise on counts from
//! OpenDP's vetted discrete Laplace mechanism, as a scalar function the
//! sandbox's rewrite places right above the aggregation. The budget these
//! draws spend is kept by the caller (a grant's durable ε account).

use std::fmt;
use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, Int64Array};
use datafusion::arrow::datatypes::DataType;
use datafusion::error::DataFusionError;
use datafusion::logical_expr::{ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility};
use opendp::domains::AtomDomain;
use opendp::measurements::make_laplace;
use opendp::measures::MaxDivergence;
use opendp::metrics::AbsoluteDistance;

use crate::QueryError;

/// A count plus discrete Laplace noise of `scale`.
#[derive(PartialEq, Eq, Hash)]
struct LaplaceNoise {
    /// `f64::to_bits` of the scale, so the function can be compared.
    scale_bits: u64,
    signature: Signature,
}

impl fmt::Debug for LaplaceNoise {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "laplace_noise(scale = {})", f64::from_bits(self.scale_bits))
    }
}

/// The noise function for counts, with noise of `scale` (sensitivity 1, so
/// each value spends ε = 1 / scale).
pub(crate) fn laplace_function(scale: f64) -> Result<ScalarUDF, QueryError> {
    if !(scale.is_finite() && scale > 0.0) {
        return Err(QueryError::invalid("epsilon", "ε must be a positive number", "ε 必须为正数"));
    }
    Ok(ScalarUDF::new_from_impl(LaplaceNoise {
        scale_bits: scale.to_bits(),
        // Volatile: every call draws anew, and no optimizer folds it.
        signature: Signature::exact(vec![DataType::Int64], Volatility::Volatile),
    }))
}

fn dp_error(error: opendp::error::Error) -> DataFusionError {
    DataFusionError::Execution(format!("differential privacy: {error}"))
}

impl ScalarUDFImpl for LaplaceNoise {
    fn name(&self) -> &str {
        "laplace_noise"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _arg_types: &[DataType]) -> datafusion::error::Result<DataType> {
        Ok(DataType::Int64)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> datafusion::error::Result<ColumnarValue> {
        let scale = f64::from_bits(self.scale_bits);
        let measurement = make_laplace::<_, _, MaxDivergence>(
            AtomDomain::<i64>::new_non_nan(),
            AbsoluteDistance::<i64>::default(),
            scale,
            None,
        )
        .map_err(dp_error)?;
        let input = args.args[0].to_array(args.number_rows)?;
        let counts = input
            .as_any()
            .downcast_ref::<Int64Array>()
            .ok_or_else(|| DataFusionError::Internal("laplace_noise expects counts".into()))?;
        let noised = counts
            .iter()
            .map(|count| count.map(|count| measurement.invoke(&count)).transpose())
            .collect::<Result<Int64Array, _>>()
            .map_err(dp_error)?;
        Ok(ColumnarValue::Array(Arc::new(noised) as ArrayRef))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mechanism_spends_one_over_its_scale() {
        let measurement = make_laplace::<_, _, MaxDivergence>(
            AtomDomain::<i64>::new_non_nan(),
            AbsoluteDistance::<i64>::default(),
            4.0,
            None,
        )
        .unwrap();
        assert_eq!(measurement.map(&1).unwrap(), 0.25);
        let draws: Vec<i64> = (0..2000).map(|_| measurement.invoke(&100).unwrap()).collect();
        let mean = draws.iter().sum::<i64>() as f64 / draws.len() as f64;
        assert!((mean - 100.0).abs() < 1.0, "noise is centred on the count: mean {mean}");
        assert!(draws.iter().any(|d| *d != 100), "noise is added");
    }
}
