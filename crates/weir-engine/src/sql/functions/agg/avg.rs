//! `avg`/`mean`: datafusion-spark's `avg` (a double) except on decimals, where Spark's result is
//! decimal(p + 4, s + 4) (bounded by 38), which is DataFusion's own decimal average. `mean` is
//! its own function so that `avg(v), mean(v)` name two columns.

use std::sync::Arc;

use datafusion::arrow::datatypes::{DataType, FieldRef};
use datafusion::common::Result;
use datafusion::functions_aggregate;
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::{Accumulator, AggregateUDF, AggregateUDFImpl, GroupsAccumulator, Signature, Volatility};

/// `avg` choosing its implementation by the argument's type.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct Avg {
    name: &'static str,
    spark: Arc<AggregateUDF>,
    decimal: Arc<AggregateUDF>,
    /// Spark's average of intervals.
    interval: Arc<AggregateUDF>,
    signature: Signature,
}

/// `avg`, `mean`.
pub fn functions() -> Vec<Arc<AggregateUDF>> {
    ["avg", "mean"]
        .into_iter()
        .map(|name| {
            Arc::new(AggregateUDF::from(Avg {
                name,
                spark: datafusion_spark::function::aggregate::avg(),
                decimal: functions_aggregate::average::avg_udaf(),
                interval: super::interval_avg::interval_avg(false),
                signature: Signature::user_defined(Volatility::Immutable),
            }))
        })
        .collect()
}

impl Avg {
    fn pick(&self, t: Option<&DataType>) -> &Arc<AggregateUDF> {
        if t.is_some_and(crate::sql::functions::datetime::interval_fields::is_interval) {
            return &self.interval;
        }
        if matches!(t, Some(DataType::Decimal128(..))) { &self.decimal } else { &self.spark }
    }
}

impl AggregateUDFImpl for Avg {
    fn name(&self) -> &str {
        self.name
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        let inner = self.pick(arg_types.first());
        let fields: Vec<FieldRef> = arg_types
            .iter()
            .map(|t| Arc::new(datafusion::arrow::datatypes::Field::new("f", t.clone(), true)))
            .collect();
        Ok(datafusion::logical_expr::type_coercion::functions::fields_with_udf(&fields, inner.as_ref())?
            .iter()
            .map(|f| f.data_type().clone())
            .collect())
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        self.pick(arg_types.first()).return_type(arg_types)
    }

    fn state_fields(&self, args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        self.pick(args.input_fields.first().map(|f| f.data_type())).state_fields(args)
    }

    fn accumulator(&self, acc_args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        self.pick(acc_args.expr_fields.first().map(|f| f.data_type())).accumulator(acc_args)
    }

    fn groups_accumulator_supported(&self, args: AccumulatorArgs) -> bool {
        self.pick(args.expr_fields.first().map(|f| f.data_type())).groups_accumulator_supported(args)
    }

    fn create_groups_accumulator(&self, args: AccumulatorArgs) -> Result<Box<dyn GroupsAccumulator>> {
        self.pick(args.expr_fields.first().map(|f| f.data_type())).create_groups_accumulator(args)
    }

    /// Moving frames (`ROWS BETWEEN 2 PRECEDING AND CURRENT ROW`) need an accumulator that
    /// retracts rows: DataFusion's average does, and over doubles (every non-decimal input is
    /// cast to double) it is the same sum / count as Spark's.
    fn create_sliding_accumulator(&self, args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        match args.expr_fields.first().map(|f| f.data_type()) {
            Some(DataType::Float64 | DataType::Decimal128(..)) => self.decimal.create_sliding_accumulator(args),
            t => self.pick(t).create_sliding_accumulator(args),
        }
    }
}
