//! Any aggregate over a moving window frame (`ROWS BETWEEN 2 PRECEDING AND CURRENT ROW`).
//!
//! DataFusion evaluates a moving frame with an accumulator that adds the rows entering the
//! frame and retracts the rows leaving it; many aggregates (`bool_and`, `max_by`,
//! `collect_list`, `percentile`…) cannot retract, and DataFusion then fails at run time.
//! Spark computes every aggregate over any frame. [`Sliding`] wraps a windowed aggregate: when
//! its own accumulator cannot retract, it keeps the frame's rows (as Arrow slices) and
//! evaluates a fresh accumulator over them for each output row — the frame's length times
//! slower than retracting, but exact.

use std::collections::VecDeque;
use std::sync::Arc;

use datafusion::arrow::array::ArrayRef;
use datafusion::arrow::datatypes::{DataType, FieldRef, Schema};
use datafusion::common::{Result, ScalarValue, internal_err};
use datafusion::logical_expr::expr::{AggregateFunctionParams, WindowFunctionParams};
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::{
    Accumulator, AggregateUDF, AggregateUDFImpl, GroupsAccumulator, ReversedUDAF, Signature,
};
use datafusion::physical_expr::PhysicalExpr;
use datafusion::physical_expr_common::sort_expr::PhysicalSortExpr;

/// A windowed aggregate that falls back to recomputing when it cannot retract.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct Sliding {
    inner: Arc<AggregateUDF>,
}

impl Sliding {
    pub fn wrap(inner: Arc<AggregateUDF>) -> Arc<AggregateUDF> {
        if inner.inner().is::<Sliding>() {
            return inner;
        }
        Arc::new(AggregateUDF::from(Sliding { inner }))
    }
}

impl AggregateUDFImpl for Sliding {
    fn name(&self) -> &str {
        self.inner.name()
    }

    fn aliases(&self) -> &[String] {
        self.inner.aliases()
    }

    fn signature(&self) -> &Signature {
        self.inner.signature()
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        self.inner.inner().coerce_types(arg_types)
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        self.inner.return_type(arg_types)
    }

    fn return_field(&self, arg_fields: &[FieldRef]) -> Result<FieldRef> {
        self.inner.return_field(arg_fields)
    }

    fn is_nullable(&self) -> bool {
        self.inner.is_nullable()
    }

    fn schema_name(&self, params: &AggregateFunctionParams) -> Result<String> {
        self.inner.inner().schema_name(params)
    }

    fn window_function_schema_name(&self, params: &WindowFunctionParams) -> Result<String> {
        self.inner.inner().window_function_schema_name(params)
    }

    fn display_name(&self, params: &AggregateFunctionParams) -> Result<String> {
        self.inner.inner().display_name(params)
    }

    fn window_function_display_name(&self, params: &WindowFunctionParams) -> Result<String> {
        self.inner.inner().window_function_display_name(params)
    }

    fn state_fields(&self, args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        self.inner.state_fields(args)
    }

    fn accumulator(&self, args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        self.inner.accumulator(args)
    }

    fn groups_accumulator_supported(&self, args: AccumulatorArgs) -> bool {
        self.inner.groups_accumulator_supported(args)
    }

    fn create_groups_accumulator(&self, args: AccumulatorArgs) -> Result<Box<dyn GroupsAccumulator>> {
        self.inner.create_groups_accumulator(args)
    }

    fn create_sliding_accumulator(&self, args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        let own = self.inner.create_sliding_accumulator(args.clone())?;
        if own.supports_retract_batch() {
            return Ok(own);
        }
        Ok(Box::new(Recompute { inner: self.inner.clone(), args: OwnedArgs::from(&args), rows: VecDeque::new() }))
    }

    fn reverse_expr(&self) -> ReversedUDAF {
        match self.inner.reverse_udf() {
            ReversedUDAF::Reversed(udf) => ReversedUDAF::Reversed(Sliding::wrap(udf)),
            other => other,
        }
    }

    fn default_value(&self, data_type: &DataType) -> Result<ScalarValue> {
        self.inner.default_value(data_type)
    }

    fn supports_null_handling_clause(&self) -> bool {
        self.inner.inner().supports_null_handling_clause()
    }

    fn supports_within_group_clause(&self) -> bool {
        self.inner.inner().supports_within_group_clause()
    }

    fn is_descending(&self) -> Option<bool> {
        self.inner.is_descending()
    }
}

/// What a fresh accumulator is made from, kept past the call that gave it.
#[derive(Debug)]
struct OwnedArgs {
    return_field: FieldRef,
    schema: Schema,
    ignore_nulls: bool,
    order_bys: Vec<PhysicalSortExpr>,
    is_reversed: bool,
    name: String,
    is_distinct: bool,
    exprs: Vec<Arc<dyn PhysicalExpr>>,
    expr_fields: Vec<FieldRef>,
}

impl From<&AccumulatorArgs<'_>> for OwnedArgs {
    fn from(a: &AccumulatorArgs<'_>) -> Self {
        Self {
            return_field: a.return_field.clone(),
            schema: a.schema.clone(),
            ignore_nulls: a.ignore_nulls,
            order_bys: a.order_bys.to_vec(),
            is_reversed: a.is_reversed,
            name: a.name.to_string(),
            is_distinct: a.is_distinct,
            exprs: a.exprs.to_vec(),
            expr_fields: a.expr_fields.to_vec(),
        }
    }
}

impl OwnedArgs {
    fn args(&self) -> AccumulatorArgs<'_> {
        AccumulatorArgs {
            return_field: self.return_field.clone(),
            schema: &self.schema,
            ignore_nulls: self.ignore_nulls,
            order_bys: &self.order_bys,
            is_reversed: self.is_reversed,
            name: &self.name,
            is_distinct: self.is_distinct,
            exprs: &self.exprs,
            expr_fields: &self.expr_fields,
        }
    }
}

/// The frame's rows, in order, as slices of the batches they came in.
#[derive(Debug)]
struct Recompute {
    inner: Arc<AggregateUDF>,
    args: OwnedArgs,
    rows: VecDeque<Vec<ArrayRef>>,
}

impl Accumulator for Recompute {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        if values.first().is_some_and(|v| !v.is_empty()) {
            self.rows.push_back(values.to_vec());
        }
        Ok(())
    }

    fn retract_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        let mut leaving = values.first().map_or(0, |v| v.len());
        while leaving > 0 {
            let Some(front) = self.rows.front_mut() else {
                return internal_err!("{}: more rows left the window frame than entered it", self.args.name);
            };
            let len = front.first().map_or(0, |v| v.len());
            if len <= leaving {
                leaving -= len;
                self.rows.pop_front();
            } else {
                *front = front.iter().map(|a| a.slice(leaving, len - leaving)).collect();
                leaving = 0;
            }
        }
        Ok(())
    }

    fn supports_retract_batch(&self) -> bool {
        true
    }

    fn evaluate(&mut self) -> Result<ScalarValue> {
        let mut fresh = self.inner.accumulator(self.args.args())?;
        for chunk in &self.rows {
            fresh.update_batch(chunk)?;
        }
        fresh.evaluate()
    }

    fn size(&self) -> usize {
        size_of_val(self) + self.rows.iter().flatten().map(|a| a.get_array_memory_size()).sum::<usize>()
    }

    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        let mut fresh = self.inner.accumulator(self.args.args())?;
        for chunk in &self.rows {
            fresh.update_batch(chunk)?;
        }
        fresh.state()
    }

    fn merge_batch(&mut self, _states: &[ArrayRef]) -> Result<()> {
        internal_err!("{}: a window frame's accumulator is never merged", self.args.name)
    }
}
