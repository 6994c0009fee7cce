//! Spark's reading of operators and accessors, planned before DataFusion's own planners:
//!
//! - `a / b` on integers (and strings) divides as doubles (`3 / 2` is 1.5); `a / 0` and
//!   `a % 0` are NULL outside ANSI mode;
//! - `arr[i]` is 0-based and NULL outside the array (DataFusion's is 1-based and counts
//!   negative indexes from the end);
//! - `EXTRACT(field FROM x)` is Spark's `date_part`;
//! - `struct(a, b)` names its fields after the columns (`a`, `b`) and `col1`, `col2`… for
//!   other expressions (DataFusion: `c0`, `c1`);
//! - `s.A` reads the field `a` (field names resolve ignoring case, as Spark's columns do) and
//!   `arr.a` on an array of structs is the array of their `a` fields.

use datafusion::arrow::datatypes::{DataType, Field};
use datafusion::common::{Column, DFSchema, Result, ScalarValue, TableReference, plan_err};
use datafusion::functions::core::expr_fn::nullif;
use datafusion::logical_expr::planner::{ExprPlanner, PlannerResult, RawBinaryExpr, RawFieldAccessExpr};
use datafusion::logical_expr::{Cast, Expr, ExprSchemable, GetFieldAccess, lit, when};
use datafusion::sql::sqlparser::ast::BinaryOperator;

/// The planner (register it ahead of DataFusion's).
#[derive(Debug, Default)]
pub struct SparkExprPlanner {
    /// ANSI mode: division by zero fails instead of giving NULL.
    pub ansi: bool,
    /// `spark.sql.caseSensitive`: struct field names must match in case.
    pub case_sensitive: bool,
}

fn is_integer(t: &DataType) -> bool {
    t.is_integer() || matches!(t, DataType::Null)
}

fn is_text(t: &DataType) -> bool {
    matches!(t, DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View)
}

fn to_double(expr: Expr) -> Expr {
    Expr::Cast(Cast::new(Box::new(expr), DataType::Float64))
}

/// A decimal operand's (precision, scale) as Spark sees it: integer columns as DECIMAL(3|5|10|20, 0),
/// integer literals with just their digits.
fn decimal_shape(e: &Expr, t: &DataType) -> Option<(i32, i32)> {
    if let DataType::Decimal128(p, s) = t {
        return Some((*p as i32, *s as i32));
    }
    if let Expr::Literal(v, _) = e {
        let digits = |n: i128| n.unsigned_abs().to_string().len() as i32;
        return match v {
            ScalarValue::Int8(Some(n)) => Some((digits(*n as i128), 0)),
            ScalarValue::Int16(Some(n)) => Some((digits(*n as i128), 0)),
            ScalarValue::Int32(Some(n)) => Some((digits(*n as i128), 0)),
            ScalarValue::Int64(Some(n)) => Some((digits(*n as i128), 0)),
            _ => None,
        };
    }
    match t {
        DataType::Int8 => Some((3, 0)),
        DataType::Int16 => Some((5, 0)),
        DataType::Int32 => Some((10, 0)),
        DataType::Int64 => Some((20, 0)),
        _ => None,
    }
}

/// Spark's result type of decimal `+ - * / %` (with `spark.sql.decimalOperations.allowPrecisionLoss`);
/// None when the unbounded precision passes 38 digits for `+ - *`, where Weir does not follow Spark.
fn spark_decimal_result(op: &BinaryOperator, (p1, s1): (i32, i32), (p2, s2): (i32, i32)) -> Option<(i32, i32)> {
    let (p, s) = match op {
        BinaryOperator::Plus | BinaryOperator::Minus => {
            let s = s1.max(s2);
            ((p1 - s1).max(p2 - s2) + s + 1, s)
        }
        BinaryOperator::Multiply => (p1 + p2 + 1, s1 + s2),
        BinaryOperator::Divide => {
            let s = 6.max(s1 + p2 + 1);
            (p1 - s1 + s2 + s, s)
        }
        _ => {
            let s = s1.max(s2);
            return Some((((p1 - s1).min(p2 - s2) + s).min(38), s.min(38)));
        }
    };
    if p <= 38 {
        return Some((p, s));
    }
    if *op != BinaryOperator::Divide {
        return None;
    }
    let int_digits = p - s;
    let s = (38 - int_digits).max(s.min(6));
    Some((38, s))
}

impl SparkExprPlanner {
    /// Decimal arithmetic with Spark's result type. DataFusion computes the value (division
    /// at a scale above Spark's, so rounding to Spark's scale is exact) and the result is
    /// cast to Spark's type, NULL on overflow as Spark's non-ANSI mode gives.
    fn decimal_arithmetic(&self, expr: &RawBinaryExpr, left: &DataType, right: &DataType) -> Result<Option<Expr>> {
        let is_decimal = |t: &DataType| matches!(t, DataType::Decimal128(..));
        if !(is_decimal(left) || is_decimal(right)) {
            return Ok(None);
        }
        let (Some(l), Some(r)) = (decimal_shape(&expr.left, left), decimal_shape(&expr.right, right)) else {
            return Ok(None);
        };
        let Some((p, s)) = spark_decimal_result(&expr.op, l, r) else {
            return plan_err!(
                "decimal arithmetic past 38 digits of precision is not supported yet (DECIMAL({}, {}) {} DECIMAL({}, {}))",
                l.0,
                l.1,
                expr.op,
                r.0,
                r.1
            );
        };
        let as_decimal =
            |e: Expr, (p, s): (i32, i32)| Expr::Cast(Cast::new(Box::new(e), DataType::Decimal128(p as u8, s as i8)));
        let (left_e, right_e) = (as_decimal(expr.left.clone(), l), as_decimal(expr.right.clone(), r));
        let value = match expr.op {
            BinaryOperator::Plus => left_e + right_e,
            BinaryOperator::Minus => left_e - right_e,
            BinaryOperator::Multiply => left_e * right_e,
            BinaryOperator::Divide => {
                // DataFusion's quotient has the dividend's scale + 4: widen the dividend so
                // that it keeps one digit more than Spark's scale.
                let extra = (s - l.1 - 3).max(0);
                let widened = ((l.0 + extra).min(38), l.1 + extra);
                let divisor = if self.ansi { right_e } else { nullif(right_e, lit(0)) };
                as_decimal(expr.left.clone(), widened) / divisor
            }
            BinaryOperator::Modulo => {
                let divisor = if self.ansi { right_e } else { nullif(right_e, lit(0)) };
                left_e % divisor
            }
            _ => return Ok(None),
        };
        Ok(Some(Expr::TryCast(datafusion::logical_expr::TryCast::new(
            Box::new(value),
            DataType::Decimal128(p as u8, s as i8),
        ))))
    }
}

impl ExprPlanner for SparkExprPlanner {
    fn plan_binary_op(&self, expr: RawBinaryExpr, schema: &DFSchema) -> Result<PlannerResult<RawBinaryExpr>> {
        if expr.op == BinaryOperator::MyIntegerDivide {
            let udf = super::functions::math::div::div_udf();
            return Ok(PlannerResult::Planned(Expr::ScalarFunction(
                datafusion::logical_expr::expr::ScalarFunction::new_udf(udf, vec![expr.left, expr.right]),
            )));
        }
        if let Some(planned) = super::functions::math::interval_ops::plan(&expr, schema)? {
            return Ok(PlannerResult::Planned(planned));
        }
        if matches!(
            expr.op,
            BinaryOperator::Eq
                | BinaryOperator::NotEq
                | BinaryOperator::Lt
                | BinaryOperator::LtEq
                | BinaryOperator::Gt
                | BinaryOperator::GtEq
                | BinaryOperator::Spaceship
        ) {
            // Spark compares a boolean with text as booleans (`true = 'true'`; text that is
            // no boolean is NULL), the cast being Spark's (see `SparkCasts`).
            let (left, right) = (expr.left.get_type(schema)?, expr.right.get_type(schema)?);
            let as_boolean = |e: Expr| Expr::Cast(Cast::new(Box::new(e), DataType::Boolean));
            if left == DataType::Boolean && is_text(&right) {
                let RawBinaryExpr { op, left, right } = expr;
                return Ok(PlannerResult::Original(RawBinaryExpr { op, left, right: as_boolean(right) }));
            }
            if is_text(&left) && right == DataType::Boolean {
                let RawBinaryExpr { op, left, right } = expr;
                return Ok(PlannerResult::Original(RawBinaryExpr { op, left: as_boolean(left), right }));
            }
            return Ok(PlannerResult::Original(expr));
        }
        let arithmetic = matches!(expr.op, BinaryOperator::Plus | BinaryOperator::Minus | BinaryOperator::Multiply);
        if !arithmetic && !matches!(expr.op, BinaryOperator::Divide | BinaryOperator::Modulo) {
            return Ok(PlannerResult::Original(expr));
        }
        let (left, right) = (expr.left.get_type(schema)?, expr.right.get_type(schema)?);
        if let Some(planned) = self.decimal_arithmetic(&expr, &left, &right)? {
            return Ok(PlannerResult::Planned(planned));
        }
        // Spark: text in arithmetic is read as a double (`'1' + 1` is 2.0).
        if arithmetic && (is_text(&left) && right.is_numeric() || left.is_numeric() && is_text(&right)) {
            let (l, r) = (to_double(expr.left), to_double(expr.right));
            return Ok(PlannerResult::Planned(match expr.op {
                BinaryOperator::Plus => l + r,
                BinaryOperator::Minus => l - r,
                _ => l * r,
            }));
        }
        // Outside ANSI mode `x / 0` and `x % 0` are NULL (DataFusion: an error, or infinity).
        let divisor = |e: Expr| if self.ansi { e } else { nullif(e, lit(0)) };
        if expr.op == BinaryOperator::Modulo {
            if left.is_numeric() && right.is_numeric() {
                return Ok(PlannerResult::Planned(expr.left % divisor(expr.right)));
            }
            return Ok(PlannerResult::Original(expr));
        }
        if expr.op == BinaryOperator::Plus || expr.op == BinaryOperator::Multiply {
            return Ok(PlannerResult::Original(expr));
        }
        if expr.op == BinaryOperator::Minus {
            if matches!(left, DataType::Date32 | DataType::Date64)
                && matches!(right, DataType::Date32 | DataType::Date64)
            {
                return plan_err!(
                    "DATE - DATE is not supported yet (Spark's answer is an INTERVAL DAY): use datediff(end, start) for the number of days"
                );
            }
            return Ok(PlannerResult::Original(expr));
        }
        let integral_or_text = |t: &DataType| is_integer(t) || is_text(t);
        let both_null = left == DataType::Null && right == DataType::Null;
        if !(integral_or_text(&left) && integral_or_text(&right)) && !both_null {
            // Spark: a string divided by a double is a double division too.
            let text_and_float = (is_text(&left) && right.is_floating()) || (left.is_floating() && is_text(&right));
            if !text_and_float {
                if left.is_numeric() && right.is_numeric() {
                    return Ok(PlannerResult::Planned(expr.left / divisor(expr.right)));
                }
                return Ok(PlannerResult::Original(expr));
            }
        }
        Ok(PlannerResult::Planned(to_double(expr.left) / divisor(to_double(expr.right))))
    }

    fn plan_field_access(
        &self,
        expr: RawFieldAccessExpr,
        schema: &DFSchema,
    ) -> Result<PlannerResult<RawFieldAccessExpr>> {
        let RawFieldAccessExpr { expr: base, field_access } = expr;
        match field_access {
            GetFieldAccess::NamedStructField { name: ScalarValue::Utf8(Some(name)) } => {
                let base_type = base.get_type(schema)?;
                match super::functions::structs::field_access(base.clone(), &base_type, &name, self.case_sensitive)? {
                    Some((planned, _)) => Ok(PlannerResult::Planned(planned)),
                    None => Ok(PlannerResult::Original(RawFieldAccessExpr {
                        expr: base,
                        field_access: GetFieldAccess::NamedStructField { name: ScalarValue::Utf8(Some(name)) },
                    })),
                }
            }
            GetFieldAccess::ListIndex { key }
                if matches!(
                    base.get_type(schema)?,
                    DataType::List(_) | DataType::LargeList(_) | DataType::FixedSizeList(_, _)
                ) =>
            {
                // 0-based; negative or past the end gives NULL.
                let index = *key;
                let one_based = when(index.clone().gt_eq(lit(0)), index + lit(1)).otherwise(lit(ScalarValue::Null))?;
                Ok(PlannerResult::Planned(datafusion::functions_nested::expr_fn::array_element(base, one_based)))
            }
            GetFieldAccess::ListIndex { key } if matches!(key.as_ref(), Expr::Literal(ScalarValue::Null, _)) => {
                // `map(…)[NULL]` is NULL: the key typed as the map's keys.
                if let DataType::Map(entries, _) = base.get_type(schema)?
                    && let DataType::Struct(kv) = entries.data_type()
                    && kv.len() == 2
                {
                    let key = Expr::Cast(Cast::new(Box::new(lit(ScalarValue::Null)), kv[0].data_type().clone()));
                    let field_access = GetFieldAccess::ListIndex { key: Box::new(key) };
                    return Ok(PlannerResult::Original(RawFieldAccessExpr { expr: base, field_access }));
                }
                Ok(PlannerResult::Original(RawFieldAccessExpr {
                    expr: base,
                    field_access: GetFieldAccess::ListIndex { key },
                }))
            }
            field_access => Ok(PlannerResult::Original(RawFieldAccessExpr { expr: base, field_access })),
        }
    }

    fn plan_compound_identifier(
        &self,
        field: &Field,
        qualifier: Option<&TableReference>,
        nested_names: &[String],
    ) -> Result<PlannerResult<Vec<Expr>>> {
        // `column.field.field…`: each name read as in `plan_field_access`.
        let mut expr = Expr::Column(Column::from((qualifier, field)));
        let mut data_type = field.data_type().clone();
        for name in nested_names {
            // DataFusion drops this hook's errors: an ambiguous name must still fail.
            match super::functions::structs::field_access(expr, &data_type, name, self.case_sensitive) {
                Ok(Some((next, next_type))) => (expr, data_type) = (next, next_type),
                Ok(None) => return Ok(PlannerResult::Original(vec![])),
                Err(datafusion::error::DataFusionError::Plan(message)) => {
                    return Ok(PlannerResult::Planned(super::functions::structs::refusal(message)));
                }
                Err(e) => return Err(e),
            }
        }
        Ok(PlannerResult::Planned(expr))
    }

    fn plan_extract(&self, args: Vec<Expr>) -> Result<PlannerResult<Vec<Expr>>> {
        // `EXTRACT(SECOND FROM ts)` is Spark's `date_part` (seconds with fraction, DECIMAL(8,6)).
        let udf = super::functions::datetime::fields::date_part_udf();
        Ok(PlannerResult::Planned(Expr::ScalarFunction(datafusion::logical_expr::expr::ScalarFunction::new_udf(
            udf, args,
        ))))
    }

    fn plan_overlay(&self, args: Vec<Expr>) -> Result<PlannerResult<Vec<Expr>>> {
        // `OVERLAY(x PLACING y FROM p [FOR n])` is Spark's `overlay` (binary stays binary).
        let udf = super::functions::string::bytes::overlay_udf();
        Ok(PlannerResult::Planned(Expr::ScalarFunction(datafusion::logical_expr::expr::ScalarFunction::new_udf(
            udf, args,
        ))))
    }

    fn plan_struct_literal(&self, args: Vec<Expr>, is_named_struct: bool) -> Result<PlannerResult<Vec<Expr>>> {
        if is_named_struct {
            // `struct(k, count(*) AS n)`: DataFusion names the unnamed fields `c0`, `c1`…
            let mut args = args;
            for i in (0..args.len()).step_by(2) {
                let unnamed =
                    matches!(&args[i], Expr::Literal(ScalarValue::Utf8(Some(n)), _) if *n == format!("c{}", i / 2));
                if unnamed && let Some(value) = args.get(i + 1) {
                    let name = match value {
                        Expr::Column(c) => c.name.clone(),
                        _ => format!("col{}", i / 2 + 1),
                    };
                    args[i] = lit(name);
                }
            }
            return Ok(PlannerResult::Planned(datafusion::functions::core::expr_fn::named_struct(args)));
        }
        let mut named = Vec::with_capacity(args.len() * 2);
        for (i, arg) in args.into_iter().enumerate() {
            let name = match &arg {
                Expr::Column(c) => c.name.clone(),
                Expr::Alias(a) => a.name.clone(),
                Expr::LambdaVariable(v) => v.name.clone(),
                _ => format!("col{}", i + 1),
            };
            named.push(lit(name));
            named.push(arg);
        }
        Ok(PlannerResult::Planned(datafusion::functions::core::expr_fn::named_struct(named)))
    }
}
