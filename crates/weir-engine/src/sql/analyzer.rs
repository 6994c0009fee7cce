//! Analyzer rules giving plans Spark's typing:
//!
//! - [`SparkLiterals`] (before type coercion): an integer literal that fits in 32 bits is an
//!   INT, as Spark types it (DataFusion: BIGINT), so `1 + 1` is an int, `xxhash64(1)` hashes
//!   four bytes and `VALUES (1)` has an int column.
//! - [`SparkCasts`] (after type coercion): casts to string render as Spark does (see
//!   [`super::cast`]); outside ANSI mode every cast is a `TRY_CAST`, so text that is not a
//!   number becomes NULL instead of failing the query, as Arc's Spark does.
//!
//! Both rules are idempotent: DataFusion analyzes a plan again when it runs it.

use std::sync::Arc;

use datafusion::arrow::datatypes::{DataType, Field, Schema, TimeUnit};
use datafusion::common::config::ConfigOptions;
use datafusion::common::tree_node::{Transformed, TreeNode};
use datafusion::common::{DFSchema, Result, ScalarValue, plan_err};
use datafusion::logical_expr::expr::ScalarFunction;
use datafusion::logical_expr::expr_rewriter::NamePreserver;
use datafusion::logical_expr::{Cast, Expr, ExprSchemable, LogicalPlan, ScalarUDF, TryCast, Union, Values};
use datafusion::optimizer::AnalyzerRule;

fn narrow(value: &ScalarValue) -> Option<ScalarValue> {
    match value {
        ScalarValue::Int64(Some(v)) => i32::try_from(*v).ok().map(|v| ScalarValue::Int32(Some(v))),
        // Past BIGINT: Spark's literal is a DECIMAL(19|20, 0).
        ScalarValue::UInt64(Some(v)) => {
            let digits = v.to_string().len() as u8;
            Some(ScalarValue::Decimal128(Some(*v as i128), digits, 0))
        }
        _ => None,
    }
}

/// Integer literals as INT when they fit (see the module doc).
#[derive(Debug, Default)]
pub struct SparkLiterals;

impl AnalyzerRule for SparkLiterals {
    fn name(&self) -> &str {
        "spark_literals"
    }

    fn analyze(&self, plan: LogicalPlan, _config: &ConfigOptions) -> Result<LogicalPlan> {
        plan.transform_up_with_subqueries(|plan| match plan {
            // LIMIT/OFFSET keep their types.
            LogicalPlan::Limit(_) => Ok(Transformed::no(plan)),
            LogicalPlan::Values(values) => narrow_values(values),
            // A union's type is its inputs' common type, found again by type coercion.
            LogicalPlan::Union(union) => {
                Ok(Transformed::yes(LogicalPlan::Union(Union::try_new_with_loose_types(union.inputs)?)))
            }
            // Every node's schema is recomputed: a child's may have changed.
            plan => {
                let names = NamePreserver::new(&plan);
                let schema = merged_input_schema(&plan);
                let rewritten = plan.map_expressions(|e| {
                    let saved = names.save(&e);
                    let rewritten = e.transform_down(|e| match &e {
                        Expr::Literal(value, meta) => match narrow(value) {
                            Some(v) => Ok(Transformed::yes(Expr::Literal(v, meta.clone()))),
                            None => Ok(Transformed::no(e)),
                        },
                        _ => Ok(Transformed::no(e)),
                    })?;
                    // Lambda parameters were typed from the arguments as planned (which may have
                    // narrowed here or in an input): type them again.
                    let rewritten = if has_lambda(&rewritten.data) {
                        let cleared = rewritten.data.transform(|e| match e {
                            Expr::LambdaVariable(mut v) => {
                                v.field = None;
                                Ok(Transformed::yes(Expr::LambdaVariable(v)))
                            }
                            e => Ok(Transformed::no(e)),
                        })?;
                        Transformed::yes(cleared.data.resolve_lambda_variables(&schema)?.data)
                    } else {
                        rewritten
                    };
                    Ok(rewritten.update_data(|e| saved.restore(e)))
                })?;
                rewritten.map_data(|p| p.recompute_schema())
            }
        })
        .map(|t| t.data)
    }
}

/// `x + 0.0` as [`SparkCasts`] writes it (so it runs once).
fn is_normalized(e: &Expr) -> bool {
    matches!(e, Expr::BinaryExpr(b) if b.op == datafusion::logical_expr::Operator::Plus
        && matches!(b.right.as_ref(), Expr::Literal(v, _) if v == &ScalarValue::Float64(Some(0.0)) || v == &ScalarValue::Float32(Some(0.0)))
        || matches!(b.right.as_ref(), Expr::Cast(_)))
}

fn has_lambda(e: &Expr) -> bool {
    e.exists(|e| Ok(matches!(e, Expr::LambdaVariable(_)))).unwrap_or(false)
}

/// VALUES columns retyped: a column of integer literals (or NULLs) that all fit becomes INT,
/// and literals inside other expressions (`array(10, 20)`) narrow when every row then agrees.
fn narrow_values(values: Values) -> Result<Transformed<LogicalPlan>> {
    let Values { schema, mut values } = values;
    let mut changed = false;
    let mut fields: Vec<Field> = schema.fields().iter().map(|f| f.as_ref().clone()).collect();
    let empty = DFSchema::empty();
    for (j, field) in fields.iter_mut().enumerate() {
        let literal_column = values.iter().all(|row| matches!(row.get(j), Some(Expr::Literal(..))));
        if literal_column {
            if field.data_type() != &DataType::Int64 {
                continue;
            }
            let all_fit = values.iter().all(|row| match row.get(j) {
                Some(Expr::Literal(ScalarValue::Int64(None) | ScalarValue::Null, _)) => true,
                Some(Expr::Literal(v, _)) => narrow(v).is_some(),
                _ => false,
            });
            if !all_fit {
                continue;
            }
            for row in values.iter_mut() {
                if let Some(Expr::Literal(v, meta)) = row.get(j) {
                    let narrowed = narrow(v).unwrap_or(ScalarValue::Int32(None));
                    row[j] = Expr::Literal(narrowed, meta.clone());
                }
            }
            *field = field.clone().with_data_type(DataType::Int32);
            changed = true;
            continue;
        }
        // Expressions: narrow inside, keep it only if every row ends up with one type.
        let mut rewritten = Vec::with_capacity(values.len());
        for row in &values {
            let Some(e) = row.get(j) else { break };
            let e = e
                .clone()
                .transform_down(|e| match &e {
                    Expr::Literal(v, meta) => match narrow(v) {
                        Some(n) => Ok(Transformed::yes(Expr::Literal(n, meta.clone()))),
                        None => Ok(Transformed::no(e)),
                    },
                    _ => Ok(Transformed::no(e)),
                })?
                .data;
            // A cast VALUES' coercion put around the row's own cast (`CAST(NULL AS MAP<STRING,
            // INT>)` widened to the other rows' BIGINT values before they narrowed) goes.
            let e = match e {
                Expr::Cast(Cast { expr, .. }) if matches!(expr.as_ref(), Expr::Cast(_) | Expr::TryCast(_)) => *expr,
                e => e,
            };
            rewritten.push(e);
        }
        if rewritten.len() != values.len() {
            continue;
        }
        // Rows without a type of their own (NULL, `array()` cast to the column's type) take
        // the others' type.
        let untyped: Vec<Option<Expr>> = rewritten.iter().map(|e| untyped_row(e, &empty)).collect();
        let types: Vec<DataType> = rewritten
            .iter()
            .zip(&untyped)
            .filter(|(_, u)| u.is_none())
            .filter_map(|(e, _)| e.get_type(&empty).ok())
            .collect();
        let Some(first) = types.first().cloned() else { continue };
        let typed = untyped.iter().filter(|u| u.is_none()).count();
        if types.len() != typed || types.iter().any(|t| t != &first) || &first == field.data_type() {
            continue;
        }
        for ((row, e), u) in values.iter_mut().zip(rewritten).zip(untyped) {
            row[j] = match u {
                None => e,
                Some(Expr::Literal(v, meta)) if v.is_null() => Expr::Literal(ScalarValue::try_from(&first)?, meta),
                Some(inner) => Expr::Cast(Cast::new(Box::new(inner), first.clone())),
            };
        }
        *field = field.clone().with_data_type(first);
        changed = true;
    }
    if !changed {
        return Ok(Transformed::no(LogicalPlan::Values(Values { schema, values })));
    }
    let arrow = Schema::new_with_metadata(fields, schema.metadata().clone());
    let schema = Arc::new(DFSchema::try_from(arrow)?);
    Ok(Transformed::yes(LogicalPlan::Values(Values { schema, values })))
}

/// A VALUES cell with no type of its own: a NULL, or a cast (added by VALUES' type coercion)
/// of something whose type holds NULL (`array()`, `map()`). Gives what is under the cast.
fn untyped_row(e: &Expr, schema: &DFSchema) -> Option<Expr> {
    fn holds_null(t: &DataType) -> bool {
        match t {
            DataType::Null => true,
            DataType::List(f) | DataType::LargeList(f) | DataType::FixedSizeList(f, _) => holds_null(f.data_type()),
            DataType::Map(f, _) => holds_null(f.data_type()),
            DataType::Struct(fields) => fields.iter().any(|f| holds_null(f.data_type())),
            _ => false,
        }
    }
    match e {
        Expr::Literal(v, _) if v.is_null() => Some(e.clone()),
        Expr::Cast(c) if c.expr.get_type(schema).is_ok_and(|t| holds_null(&t)) => Some(c.expr.as_ref().clone()),
        _ => None,
    }
}

/// Spark's casts (see the module doc).
#[derive(Debug)]
pub struct SparkCasts {
    /// `spark.sql.ansi.enabled`: invalid casts fail instead of giving NULL.
    pub ansi: bool,
    pub to_string: Arc<ScalarUDF>,
    /// Spark's non-ANSI conversions by name (`int`, `date`…), for the casts Arrow reads
    /// differently: text with spaces or a fraction, partial dates, narrowing that wraps.
    pub conversions: Vec<Arc<ScalarUDF>>,
}

/// The Spark conversion function that casts `source` to `target` as non-ANSI Spark does,
/// where Arrow's cast would differ.
fn conversion_for(source: &DataType, target: &DataType) -> Option<&'static str> {
    let text = is_text(source);
    let width = |t: &DataType| match t {
        DataType::Int8 => 1,
        DataType::Int16 => 2,
        DataType::Int32 => 4,
        DataType::Int64 => 8,
        _ => 0,
    };
    let narrowing = source.is_integer() && width(source) > width(target);
    let from_number = text || narrowing || source.is_floating();
    match target {
        DataType::Int8 if from_number => Some("tinyint"),
        DataType::Int16 if from_number => Some("smallint"),
        DataType::Int32 if from_number => Some("int"),
        DataType::Int64 if from_number => Some("bigint"),
        DataType::Float64 if text => Some("double"),
        DataType::Float32 if text => Some("float"),
        DataType::Boolean if text => Some("boolean"),
        DataType::Date32 if text => Some("date"),
        DataType::Timestamp(_, None) if text => Some("to_timestamp_ntz"),
        DataType::Timestamp(_, _) if text => Some("timestamp"),
        _ => None,
    }
}

fn is_text(t: &DataType) -> bool {
    matches!(t, DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View)
}

impl AnalyzerRule for SparkCasts {
    fn name(&self) -> &str {
        "spark_casts"
    }

    fn analyze(&self, plan: LogicalPlan, _config: &ConfigOptions) -> Result<LogicalPlan> {
        plan.transform_up_with_subqueries(|plan| {
            let schema = merged_input_schema(&plan);
            let names = NamePreserver::new(&plan);
            let rewritten = plan.map_expressions(|e| {
                let saved = names.save(&e);
                Ok(e.transform_up(|e| self.rewrite(e, &schema))?.update_data(|e| saved.restore(e)))
            })?;
            rewritten.map_data(|p| p.recompute_schema())
        })
        .map(|t| t.data)
    }
}

fn merged_input_schema(plan: &LogicalPlan) -> DFSchema {
    let mut schema = DFSchema::empty();
    for input in plan.inputs() {
        schema.merge(input.schema());
    }
    schema
}

impl SparkCasts {
    fn rewrite(&self, e: Expr, schema: &DFSchema) -> Result<Transformed<Expr>> {
        // Spark counts -0.0 and 0.0 as one value in DISTINCT aggregates: `x + 0.0` is 0.0 for both.
        if let Expr::AggregateFunction(mut agg) = e {
            if agg.params.distinct
                && agg.params.args.iter().any(|a| a.get_type(schema).is_ok_and(|t| t.is_floating()))
                && !agg.params.args.iter().any(is_normalized)
            {
                agg.params.args = agg
                    .params
                    .args
                    .into_iter()
                    .map(|a| match a.get_type(schema) {
                        Ok(t) if t.is_floating() => {
                            a + Expr::Literal(ScalarValue::Float64(Some(0.0)), None)
                                .cast_to(&t, schema)
                                .unwrap_or_else(|_| Expr::Literal(ScalarValue::Float64(Some(0.0)), None))
                        }
                        _ => a,
                    })
                    .collect();
                return Ok(Transformed::yes(Expr::AggregateFunction(agg)));
            }
            return Ok(Transformed::no(Expr::AggregateFunction(agg)));
        }
        let (inner, field, is_try) = match e {
            Expr::Cast(Cast { expr, field }) => (expr, field, false),
            Expr::TryCast(TryCast { expr, field }) => (expr, field, true),
            e => return Ok(Transformed::no(e)),
        };
        let target = field.data_type();
        let source = inner.get_type(schema).ok();
        // Spark reads a number cast to a timestamp as seconds since the epoch (Arrow: as the
        // timestamp's unit).
        if let (Some(source), DataType::Timestamp(_, zone)) = (&source, target)
            && source.is_numeric()
        {
            let seconds = Expr::Cast(Cast::new(inner, DataType::Float64));
            let micros =
                Expr::Cast(Cast::new(Box::new(seconds * datafusion::logical_expr::lit(1_000_000f64)), DataType::Int64));
            // A function, not a cast: the rule must leave its own output alone when it runs again.
            let micros = datafusion::functions::datetime::expr_fn::to_timestamp_micros(vec![micros]);
            let micros = match zone {
                Some(_) => {
                    Expr::Cast(Cast::new(Box::new(micros), DataType::Timestamp(TimeUnit::Microsecond, zone.clone())))
                }
                None => micros,
            };
            return Ok(Transformed::yes(Expr::Cast(Cast::new_from_field(Box::new(micros), field))));
        }
        // Spark reads a TIMESTAMP cast to BIGINT as whole seconds since the epoch (rounded
        // down), to DOUBLE / FLOAT as seconds with their fraction.
        if let Some(DataType::Timestamp(_, Some(_))) = &source
            && matches!(target, DataType::Int64 | DataType::Float64 | DataType::Float32)
        {
            use super::functions::datetime::arith::{DateArith, Op};
            let (name, op) = match target {
                DataType::Int64 => ("unix_seconds", Op::UnixSeconds),
                _ => ("unix_micros", Op::UnixMicros),
            };
            let udf = Arc::new(ScalarUDF::from(DateArith::new(name, op)));
            let value = Expr::ScalarFunction(ScalarFunction::new_udf(udf, vec![*inner]));
            if target == &DataType::Int64 {
                return Ok(Transformed::yes(value));
            }
            let seconds =
                Expr::Cast(Cast::new(Box::new(value), DataType::Float64)) / datafusion::logical_expr::lit(1_000_000f64);
            let seconds = if target == &DataType::Float64 {
                seconds
            } else {
                Expr::Cast(Cast::new(Box::new(seconds), target.clone()))
            };
            return Ok(Transformed::yes(seconds));
        }
        // Outside ANSI mode Spark casts a DATE to any number as NULL.
        if !self.ansi
            && let Some(DataType::Date32) = &source
            && target.is_numeric()
        {
            return Ok(Transformed::yes(Expr::Literal(ScalarValue::try_from(target)?, None)));
        }
        if let Some(source) = &source
            && target.is_numeric()
            && matches!(source, DataType::Timestamp(..) | DataType::Date32 | DataType::Date64)
        {
            return plan_err!(
                "CAST of a {} to a number is not supported yet",
                if matches!(source, DataType::Timestamp(..)) { "TIMESTAMP" } else { "DATE" }
            );
        }
        // Spark converts a double to a decimal through its shortest text (1.255D is 1.26 at
        // scale 2; the binary value is below 1.255).
        // Java prints plain text between 1e-3 and 1e7 only; outside, Arrow's cast is used.
        if let (Some(DataType::Float32 | DataType::Float64), DataType::Decimal128(..)) = (&source, target) {
            use datafusion::logical_expr::{lit, when};
            let magnitude =
                datafusion::functions::math::expr_fn::abs(Expr::Cast(Cast::new(inner.clone(), DataType::Float64)));
            let plain = magnitude.clone().gt_eq(lit(1e-3)).and(magnitude.lt(lit(1e7)));
            let text = Expr::ScalarFunction(ScalarFunction::new_udf(self.to_string.clone(), vec![*inner.clone()]));
            let via_text = Expr::TryCast(TryCast::new_from_field(Box::new(text), field.clone()));
            let direct = Expr::TryCast(TryCast::new_from_field(inner, field));
            return Ok(Transformed::yes(when(plain, via_text).otherwise(direct)?));
        }
        // Spark casts a struct to a struct field by field in order (Arrow: by name).
        if let (Some(DataType::Struct(from)), DataType::Struct(to)) = (&source, target)
            && from.len() == to.len()
            && from.iter().zip(to.iter()).any(|(a, b)| a.name() != b.name())
        {
            use datafusion::functions::core::expr_fn::{get_field, named_struct};
            let mut args = Vec::with_capacity(2 * to.len());
            for (a, b) in from.iter().zip(to.iter()) {
                let value = Expr::Cast(Cast::new(
                    Box::new(get_field(*inner.clone(), a.name().as_str())),
                    b.data_type().clone(),
                ));
                args.push(datafusion::logical_expr::lit(b.name().as_str()));
                args.push(self.rewrite(value, schema)?.data);
            }
            let null = Expr::Literal(ScalarValue::try_from(target)?, None);
            let fields = datafusion::logical_expr::when(inner.is_null(), null).otherwise(named_struct(args))?;
            return Ok(Transformed::yes(Expr::Cast(Cast::new_from_field(Box::new(fields), field))));
        }
        if let Some(source) = &source
            && is_text(target)
            && matches!(source, DataType::Interval(_) | DataType::Duration(_))
        {
            return plan_err!("CAST of an INTERVAL to STRING is not supported yet");
        }
        // A decimal is true when not zero (Arrow casts no decimal to boolean).
        if let Some(source @ (DataType::Decimal128(..) | DataType::Decimal256(..))) = &source
            && target == &DataType::Boolean
        {
            let zero = Expr::Literal(ScalarValue::new_zero(source)?, None);
            return Ok(Transformed::yes(inner.as_ref().clone().not_eq(zero)));
        }
        // TRY_CAST overflows give NULL in Spark too: only text goes through Spark's rules.
        let narrowing_ok = !is_try || source.as_ref().is_some_and(is_text);
        if !self.ansi
            && narrowing_ok
            && let Some(source) = &source
            && let Some(name) = conversion_for(source, target)
            && let Some(udf) = self.conversions.iter().find(|u| u.name() == name)
        {
            let converted = Expr::ScalarFunction(ScalarFunction::new_udf(udf.clone(), vec![*inner]));
            let converted = match converted.get_type(schema) {
                Ok(t) if &t == target => converted,
                _ => Expr::Cast(Cast::new(Box::new(converted), target.clone())),
            };
            return Ok(Transformed::yes(converted));
        }
        if is_text(target)
            && let Some(source) = source
            && super::cast::renders_differently(&source)
        {
            let text = Expr::ScalarFunction(ScalarFunction::new_udf(self.to_string.clone(), vec![*inner]));
            let text =
                if target == &DataType::Utf8 { text } else { Expr::Cast(Cast::new(Box::new(text), target.clone())) };
            return Ok(Transformed::yes(text));
        }
        Ok(if is_try {
            Transformed::no(Expr::TryCast(TryCast::new_from_field(inner, field)))
        } else if self.ansi {
            Transformed::no(Expr::Cast(Cast::new_from_field(inner, field)))
        } else {
            Transformed::yes(Expr::TryCast(TryCast::new_from_field(inner, field)))
        })
    }
}
