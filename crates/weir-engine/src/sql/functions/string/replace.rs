//! `replace(str, search[, replace])`: every occurrence of `search` replaced (removed when there
//! is no replacement); an empty `search` leaves the string as it is, as Spark does.
//! `chr(n)` / `char(n)`: the character with code `n mod 256` (empty for a negative `n`).

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, StringBuilder};
use datafusion::arrow::datatypes::DataType;
use datafusion::common::Result;
use datafusion::logical_expr::ScalarUDF;

use crate::sql::functions::simple::{Simple, check_arity, int64, ret_utf8, strings, to_int_type, utf8};

pub fn udfs() -> Vec<Arc<ScalarUDF>> {
    vec![
        Simple::new("replace", |n, t| strings(n, t, 2, 3), ret_utf8, eval_replace).udf(),
        Simple::new("chr", coerce_chr, ret_utf8, eval_chr).udf(),
        Simple::new("char", coerce_chr, ret_utf8, eval_chr).udf(),
    ]
}

fn eval_replace(args: &[ArrayRef], _: &DataType) -> Result<ArrayRef> {
    let s = utf8(&args[0])?;
    let search = utf8(&args[1])?;
    let rep = args.get(2).map(utf8).transpose()?;
    let mut out = StringBuilder::with_capacity(s.len(), s.len() * 8);
    for i in 0..s.len() {
        if s.is_null(i) || search.is_null(i) || rep.as_ref().is_some_and(|r| r.is_null(i)) {
            out.append_null();
            continue;
        }
        let needle = search.value(i);
        if needle.is_empty() {
            out.append_value(s.value(i));
        } else {
            out.append_value(s.value(i).replace(needle, rep.as_ref().map(|r| r.value(i)).unwrap_or("")));
        }
    }
    Ok(Arc::new(out.finish()))
}

fn coerce_chr(name: &str, t: &[DataType]) -> Result<Vec<DataType>> {
    check_arity(name, t, 1, 1)?;
    Ok(vec![to_int_type(name, &t[0])?])
}

fn eval_chr(args: &[ArrayRef], _: &DataType) -> Result<ArrayRef> {
    let n = int64(&args[0])?;
    let mut out = StringBuilder::with_capacity(n.len(), n.len());
    for i in 0..n.len() {
        if n.is_null(i) {
            out.append_null();
        } else if n.value(i) < 0 {
            out.append_value("");
        } else {
            out.append_value(((n.value(i) & 0xFF) as u8 as char).to_string());
        }
    }
    Ok(Arc::new(out.finish()))
}
