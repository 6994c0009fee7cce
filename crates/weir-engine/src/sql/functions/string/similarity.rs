//! `levenshtein(a, b[, threshold])` (int; -1 when the distance exceeds the threshold) and
//! `jaro_winkler_similarity(a, b)` (double), both over characters.

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, Float64Builder, Int32Builder};
use datafusion::arrow::datatypes::DataType;
use datafusion::common::{Result, ScalarValue};
use datafusion::logical_expr::ScalarUDF;

use crate::sql::functions::simple::{Simple, check_arity, int64, ret_int32, to_int_type, to_string_type, utf8};

pub fn udfs() -> Vec<Arc<ScalarUDF>> {
    vec![
        Simple::new("levenshtein", coerce_lev, ret_int32, eval_lev).udf(),
        Simple::new(
            "jaro_winkler_similarity",
            |n, t| crate::sql::functions::simple::strings(n, t, 2, 2),
            ret_f64,
            eval_jw,
        )
        .udf(),
    ]
}

fn ret_f64(_: &str, _: &[DataType], _: &[Option<&ScalarValue>]) -> Result<DataType> {
    Ok(DataType::Float64)
}

fn coerce_lev(name: &str, t: &[DataType]) -> Result<Vec<DataType>> {
    check_arity(name, t, 2, 3)?;
    let mut out = vec![to_string_type(name, &t[0])?, to_string_type(name, &t[1])?];
    if t.len() == 3 {
        out.push(to_int_type(name, &t[2])?);
    }
    Ok(out)
}

fn eval_lev(args: &[ArrayRef], _: &DataType) -> Result<ArrayRef> {
    let a = utf8(&args[0])?;
    let b = utf8(&args[1])?;
    let th = args.get(2).map(int64).transpose()?;
    let mut out = Int32Builder::with_capacity(a.len());
    for i in 0..a.len() {
        if a.is_null(i) || b.is_null(i) || th.as_ref().is_some_and(|t| t.is_null(i)) {
            out.append_null();
            continue;
        }
        let d = strsim::levenshtein(a.value(i), b.value(i)) as i64;
        match &th {
            Some(t) if d > t.value(i) => out.append_value(-1),
            _ => out.append_value(d as i32),
        }
    }
    Ok(Arc::new(out.finish()))
}

fn eval_jw(args: &[ArrayRef], _: &DataType) -> Result<ArrayRef> {
    let a = utf8(&args[0])?;
    let b = utf8(&args[1])?;
    let mut out = Float64Builder::with_capacity(a.len());
    for i in 0..a.len() {
        if a.is_null(i) || b.is_null(i) {
            out.append_null();
        } else {
            out.append_value(strsim::jaro_winkler(a.value(i), b.value(i)));
        }
    }
    Ok(Arc::new(out.finish()))
}
