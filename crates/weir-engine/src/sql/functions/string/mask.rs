//! `mask(str[, upperChar[, lowerChar[, digitChar[, otherChar]]]])`: Spark replaces upper-case
//! letters with `X`, lower-case with `x`, digits with `n` and leaves other characters, each
//! replacement overridable; a NULL replacement keeps that class of characters as it is.

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, StringBuilder};
use datafusion::arrow::datatypes::DataType;
use datafusion::common::Result;
use datafusion::logical_expr::ScalarUDF;

use crate::sql::functions::simple::{Simple, ret_utf8, strings, utf8};

pub fn udf() -> Arc<ScalarUDF> {
    Simple::new("mask", |n, t| strings(n, t, 1, 5), ret_utf8, eval).udf()
}

fn eval(args: &[ArrayRef], _: &DataType) -> Result<ArrayRef> {
    let input = utf8(&args[0])?;
    let reps = args[1..].iter().map(utf8).collect::<Result<Vec<_>>>()?;
    let defaults = [Some('X'), Some('x'), Some('n'), None];
    let mut out = StringBuilder::with_capacity(input.len(), 16 * input.len());
    let mut buf = String::new();
    for row in 0..input.len() {
        if input.is_null(row) {
            out.append_null();
            continue;
        }
        let pick = |k: usize| -> Option<char> {
            match reps.get(k) {
                None => defaults[k],
                Some(a) if a.is_null(row) => None,
                Some(a) => a.value(row).chars().next(),
            }
        };
        let (upper, lower, digit, other) = (pick(0), pick(1), pick(2), pick(3));
        buf.clear();
        for c in input.value(row).chars() {
            let r = if c.is_uppercase() {
                upper
            } else if c.is_lowercase() {
                lower
            } else if c.is_ascii_digit() {
                digit
            } else {
                other
            };
            buf.push(r.unwrap_or(c));
        }
        out.append_value(&buf);
    }
    Ok(Arc::new(out.finish()))
}
