//! Spark aggregates that are DataFusion aggregates with other arguments: `first`/`first_value`/
//! `any_value` and `last`/`last_value` (an optional `ignoreNulls` boolean literal as second
//! argument; Spark respects nulls by default), `count_if(cond)` (the rows where `cond` is true,
//! a bigint), `listagg` (the delimiter defaults to the empty string) and `try_avg`
//! (`avg`; numeric averages cannot overflow in double).
//!
//! Each plans with Spark's result type and is rewritten by `simplify` into the DataFusion
//! aggregate that computes it.

use std::sync::Arc;

use datafusion::arrow::datatypes::DataType;
use datafusion::common::{Result, ScalarValue, internal_err, plan_err};
use datafusion::functions_aggregate;
use datafusion::logical_expr::expr::{AggregateFunction, AggregateFunctionParams, NullTreatment};
use datafusion::logical_expr::function::{AccumulatorArgs, AggregateFunctionSimplification};
use datafusion::logical_expr::{
    Accumulator, AggregateUDF, AggregateUDFImpl, Expr, Signature, TypeSignature, Volatility, lit, when,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Kind {
    First,
    Last,
    CountIf,
    ListAgg,
    TryAvg,
}

/// A Spark aggregate planned with Spark's type and rewritten into a DataFusion aggregate.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct Rewritten {
    name: &'static str,
    kind: Kind,
    signature: Signature,
}

impl Rewritten {
    fn new(name: &'static str, kind: Kind) -> Self {
        let signature = match kind {
            Kind::First | Kind::Last => {
                Signature::one_of(vec![TypeSignature::Any(1), TypeSignature::Any(2)], Volatility::Immutable)
            }
            Kind::CountIf => Signature::exact(vec![DataType::Boolean], Volatility::Immutable),
            Kind::ListAgg | Kind::TryAvg => Signature::user_defined(Volatility::Immutable),
        };
        Self { name, kind, signature }
    }
}

/// `first`, `first_value`, `any_value`, `last`, `last_value`, `count_if`, `listagg`,
/// `try_avg`.
pub fn functions() -> Vec<Arc<AggregateUDF>> {
    [
        ("first", Kind::First),
        ("first_value", Kind::First),
        ("any_value", Kind::First),
        ("last", Kind::Last),
        ("last_value", Kind::Last),
        ("count_if", Kind::CountIf),
        ("listagg", Kind::ListAgg),
        // `string_agg` stays DataFusion's: its `ORDER BY` inside the call needs the ordering
        // planned with the call, which a rewrite at simplification comes too late for.
        ("try_avg", Kind::TryAvg),
    ]
    .into_iter()
    .map(|(name, kind)| Arc::new(AggregateUDF::from(Rewritten::new(name, kind))))
    .collect()
}

fn is_string(t: &DataType) -> bool {
    matches!(t, DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View | DataType::Null)
}

/// The boolean literal of Spark's `ignoreNulls` argument.
fn ignore_nulls_arg(name: &str, arg: &Expr) -> Result<bool> {
    match arg {
        Expr::Literal(ScalarValue::Boolean(Some(b)), _) => Ok(*b),
        other => plan_err!("function {name} is not supported yet: ignoreNulls must be a boolean literal, not {other}"),
    }
}

impl AggregateUDFImpl for Rewritten {
    fn name(&self) -> &str {
        self.name
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        match self.kind {
            Kind::TryAvg => match arg_types {
                [t] if t.is_integer() || t.is_floating() || t.is_null() => Ok(vec![DataType::Float64]),
                [t] if crate::sql::functions::datetime::interval_fields::is_interval(t) => Ok(vec![t.clone()]),
                _ => plan_err!("function try_avg is not supported yet: arguments {arg_types:?}"),
            },
            Kind::ListAgg => {
                // With `WITHIN GROUP (ORDER BY k)` DataFusion's planner puts `k` first.
                let ordered_first = arg_types.len() >= 2 && !is_string(&arg_types[0]);
                let rest = if ordered_first { &arg_types[1..] } else { arg_types };
                if (1..=3).contains(&arg_types.len()) && rest.iter().all(is_string) {
                    let mut types: Vec<DataType> = rest.iter().map(|_| DataType::Utf8).collect();
                    if ordered_first {
                        types.insert(0, arg_types[0].clone());
                    }
                    Ok(types)
                } else {
                    plan_err!("function {} is not supported yet: arguments {arg_types:?} (strings only)", self.name)
                }
            }
            _ => Ok(arg_types.to_vec()),
        }
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        match self.kind {
            Kind::First | Kind::Last => Ok(arg_types[0].clone()),
            Kind::CountIf => Ok(DataType::Int64),
            Kind::ListAgg => Ok(DataType::LargeUtf8),
            Kind::TryAvg if crate::sql::functions::datetime::interval_fields::is_interval(&arg_types[0]) => {
                Ok(arg_types[0].clone())
            }
            Kind::TryAvg => Ok(DataType::Float64),
        }
    }

    fn accumulator(&self, _acc_args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        internal_err!("{} is rewritten before execution", self.name)
    }

    fn supports_null_handling_clause(&self) -> bool {
        matches!(self.kind, Kind::First | Kind::Last)
    }

    fn supports_within_group_clause(&self) -> bool {
        self.kind == Kind::ListAgg
    }

    fn simplify(&self) -> Option<AggregateFunctionSimplification> {
        let kind = self.kind;
        let name = self.name;
        Some(Box::new(move |aggregate: AggregateFunction, info| {
            let AggregateFunctionParams { mut args, distinct, filter, order_by, null_treatment } = aggregate.params;
            let (func, args, null_treatment) = match kind {
                Kind::First | Kind::Last => {
                    let ignore = match args.get(1) {
                        Some(arg) => ignore_nulls_arg(name, arg)?,
                        None => matches!(null_treatment, Some(NullTreatment::IgnoreNulls)),
                    };
                    args.truncate(1);
                    let func = if kind == Kind::First {
                        functions_aggregate::first_last::first_value_udaf()
                    } else {
                        functions_aggregate::first_last::last_value_udaf()
                    };
                    let treatment = if ignore { NullTreatment::IgnoreNulls } else { NullTreatment::RespectNulls };
                    (func, args, Some(treatment))
                }
                Kind::CountIf => {
                    let cond = args.into_iter().next().unwrap_or(lit(false));
                    let counted = when(cond, lit(1i32)).end()?;
                    (functions_aggregate::count::count_udaf(), vec![counted], null_treatment)
                }
                Kind::ListAgg => {
                    // `WITHIN GROUP (ORDER BY k)`: the planner prepended `k` to the arguments
                    // (`string_agg(x, ',' ORDER BY k)` has no such extra argument).
                    let delimiter_second = args.len() == 2
                        && matches!(&args[1], Expr::Literal(v, _) if matches!(v, ScalarValue::Utf8(_) | ScalarValue::Utf8View(_) | ScalarValue::LargeUtf8(_)));
                    let prepended = order_by.first().is_some_and(|k| args.first() == Some(&k.expr));
                    if prepended && args.len() >= 2 && !delimiter_second {
                        args.remove(0);
                    }
                    if args.len() == 1 {
                        args.push(lit(""));
                    }
                    (functions_aggregate::string_agg::string_agg_udaf(), args, null_treatment)
                }
                Kind::TryAvg
                    if args
                        .first()
                        .and_then(|a| info.get_data_type(a).ok())
                        .is_some_and(|t| crate::sql::functions::datetime::interval_fields::is_interval(&t)) =>
                {
                    (super::interval_avg::interval_avg(true), args, null_treatment)
                }
                Kind::TryAvg => (functions_aggregate::average::avg_udaf(), args, null_treatment),
            };
            Ok(Expr::AggregateFunction(AggregateFunction::new_udf(
                func,
                args,
                distinct,
                filter,
                order_by,
                null_treatment,
            )))
        }))
    }
}

/// The same rewrites where these aggregates are window functions (`first(v) OVER w`):
/// DataFusion simplifies aggregate calls only, so this analyzer rule (run after type coercion)
/// applies each function's rewrite to its windowed calls, keeping the column names. Windowed
/// aggregates over a moving frame are also wrapped in [`super::sliding::Sliding`], so the ones
/// that cannot retract rows still compute.
#[derive(Debug, Default)]
pub struct WindowAggregates;

impl datafusion::optimizer::AnalyzerRule for WindowAggregates {
    fn name(&self) -> &str {
        "spark_window_aggregates"
    }

    fn analyze(
        &self,
        plan: datafusion::logical_expr::LogicalPlan,
        _config: &datafusion::common::config::ConfigOptions,
    ) -> Result<datafusion::logical_expr::LogicalPlan> {
        use datafusion::common::tree_node::{Transformed, TreeNode};
        use datafusion::logical_expr::expr::WindowFunction;
        use datafusion::logical_expr::expr_rewriter::NamePreserver;
        use datafusion::logical_expr::{LogicalPlan, WindowFunctionDefinition};

        plan.transform_up_with_subqueries(|plan| {
            if !matches!(plan, LogicalPlan::Window(_)) {
                return Ok(Transformed::no(plan));
            }
            let names = NamePreserver::new(&plan);
            let rewritten = plan.map_expressions(|e| {
                let saved = names.save(&e);
                let rewritten = e.transform_up(|e| {
                    let rewritable = |w: &WindowFunction| match &w.fun {
                        WindowFunctionDefinition::AggregateUDF(udf) => udf.inner().is::<Rewritten>(),
                        WindowFunctionDefinition::WindowUDF(_) => false,
                    };
                    let window = match e {
                        Expr::WindowFunction(w) if rewritable(&w) => w,
                        Expr::WindowFunction(mut w) => {
                            return Ok(match &w.fun {
                                WindowFunctionDefinition::AggregateUDF(udf)
                                    if !w.params.window_frame.is_ever_expanding()
                                        && !udf.inner().is::<super::sliding::Sliding>() =>
                                {
                                    w.fun = WindowFunctionDefinition::AggregateUDF(super::sliding::Sliding::wrap(
                                        udf.clone(),
                                    ));
                                    Transformed::yes(Expr::WindowFunction(w))
                                }
                                _ => Transformed::no(Expr::WindowFunction(w)),
                            });
                        }
                        other => return Ok(Transformed::no(other)),
                    };
                    let WindowFunctionDefinition::AggregateUDF(udf) = &window.fun else {
                        return internal_err!("a windowed aggregate lost its function");
                    };
                    let udf = udf.clone();
                    let Some(simplify) = udf.simplify() else { return internal_err!("{} has no rewrite", udf.name()) };
                    let mut params = window.params;
                    let call = AggregateFunction::new_udf(
                        udf.clone(),
                        std::mem::take(&mut params.args),
                        params.distinct,
                        params.filter.take(),
                        vec![],
                        params.null_treatment,
                    );
                    let Expr::AggregateFunction(call) = simplify(call, &Default::default())? else {
                        return internal_err!("the rewrite of {} gave something else than an aggregate", udf.name());
                    };
                    params.args = call.params.args;
                    params.distinct = call.params.distinct;
                    params.filter = call.params.filter;
                    params.null_treatment = call.params.null_treatment;
                    // `first_value`/`last_value` windowed are DataFusion's window functions,
                    // which handle moving frames.
                    let fun = match call.func.name() {
                        "first_value" => WindowFunctionDefinition::WindowUDF(
                            datafusion::functions_window::nth_value::first_value_udwf(),
                        ),
                        "last_value" => WindowFunctionDefinition::WindowUDF(
                            datafusion::functions_window::nth_value::last_value_udwf(),
                        ),
                        _ if !params.window_frame.is_ever_expanding() => {
                            WindowFunctionDefinition::AggregateUDF(super::sliding::Sliding::wrap(call.func))
                        }
                        _ => WindowFunctionDefinition::AggregateUDF(call.func),
                    };
                    let window = WindowFunction { fun, params };
                    Ok(Transformed::yes(Expr::WindowFunction(Box::new(window))))
                })?;
                Ok(rewritten.update_data(|e| saved.restore(e)))
            })?;
            rewritten.map_data(|p| p.recompute_schema())
        })
        .map(|t| t.data)
    }
}
