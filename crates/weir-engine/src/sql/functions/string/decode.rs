//! Spark's two `decode`s: `decode(bin, charset)` turns bytes into text, and
//! `decode(expr, search1, result1[, search2, result2 ...][, default])` is a CASE that compares
//! NULL-safely (a NULL `expr` matches a NULL search) and returns NULL when nothing matches and
//! there is no default.

use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, BooleanArray, new_null_array};
use datafusion::arrow::compute::kernels::cmp::not_distinct;
use datafusion::arrow::compute::kernels::zip::zip;
use datafusion::arrow::datatypes::DataType;
use datafusion::common::{Result, ScalarValue, plan_err};
use datafusion::logical_expr::ScalarUDF;
use datafusion::logical_expr::type_coercion::binary::{comparison_coercion, type_union_resolution};

use super::encoding::{coerce_decode, eval_decode};
use crate::sql::functions::simple::Simple;

pub fn udf() -> Arc<ScalarUDF> {
    Simple::new("decode", coerce, ret, eval).udf()
}

fn coerce(name: &str, t: &[DataType]) -> Result<Vec<DataType>> {
    if t.len() < 2 {
        return plan_err!("function {name} takes at least 2 arguments, got {}", t.len());
    }
    if t.len() == 2 {
        return coerce_decode(name, t);
    }
    let mut key = t[0].clone();
    for s in t[1..].iter().step_by(2).take((t.len() - 1) / 2) {
        key = match comparison_coercion(&key, s) {
            Some(k) => k,
            None => return plan_err!("function {name}: cannot compare {key} with {s}"),
        };
    }
    let mut results: Vec<DataType> = t[2..].iter().step_by(2).cloned().collect();
    if t.len() % 2 == 0 {
        results.push(t[t.len() - 1].clone());
    }
    let value = match type_union_resolution(&results) {
        Some(v) if v == DataType::Null => DataType::Utf8,
        Some(v) => v,
        None => return plan_err!("function {name}: the results have no common type ({results:?})"),
    };
    let mut out = vec![key.clone()];
    for i in 1..t.len() {
        let is_search = i % 2 == 1 && i + 1 < t.len();
        out.push(if is_search { key.clone() } else { value.clone() });
    }
    Ok(out)
}

fn ret(_: &str, t: &[DataType], _: &[Option<&ScalarValue>]) -> Result<DataType> {
    if t.len() == 2 { Ok(DataType::Utf8) } else { Ok(t[2].clone()) }
}

fn eval(args: &[ArrayRef], ret: &DataType) -> Result<ArrayRef> {
    if args.len() == 2 {
        return eval_decode(args, ret);
    }
    let expr = &args[0];
    let pairs = (args.len() - 1) / 2;
    let mut result: ArrayRef =
        if args.len() % 2 == 0 { args[args.len() - 1].clone() } else { new_null_array(ret, expr.len()) };
    for k in (0..pairs).rev() {
        let search = &args[1 + 2 * k];
        let value = &args[2 + 2 * k];
        let hit: BooleanArray = not_distinct(expr, search)?;
        result = zip(&hit, value, &result)?;
    }
    Ok(result)
}
