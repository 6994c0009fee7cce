//! `typeof(expr)` (Spark's simple type name of the argument; not of an interval, whose
//! Spark subtype — `interval day`, `interval hour to minute`… — Weir does not keep),
//! `assert_true(cond[, msg])` (NULL when the condition holds, an error otherwise),
//! `raise_error(msg)` (an error for any row) and the session-information functions
//! (`current_catalog`, `current_database`/`current_schema`, `current_user`/`user`/`session_user`).

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, NullArray, StringArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::DataType;
use datafusion::common::{Result, ScalarValue, exec_err, plan_err};
use datafusion::logical_expr::ScalarUDF;

use crate::sql::functions::simple::{Simple, check_arity, ret_utf8, to_string_type};

pub fn udfs() -> Vec<Arc<ScalarUDF>> {
    let constant = |name: &'static str, eval: fn(&[ArrayRef], &DataType) -> Result<ArrayRef>| {
        Simple::new(name, |n, t| check_arity(n, t, 0, 0).map(|_| vec![]), ret_utf8, eval).udf()
    };
    vec![
        Simple::new("typeof", coerce_any1, ret_typeof, eval_typeof).udf(),
        Simple::new("assert_true", coerce_assert, ret_null, eval_assert).udf(),
        Simple::new("raise_error", coerce_raise, ret_null, eval_raise).udf(),
        constant("current_catalog", |_, _| Ok(Arc::new(StringArray::from(vec!["spark_catalog"])))),
        constant("current_database", |_, _| Ok(Arc::new(StringArray::from(vec!["default"])))),
        constant("current_schema", |_, _| Ok(Arc::new(StringArray::from(vec!["default"])))),
        constant("current_path", |_, _| {
            Ok(Arc::new(StringArray::from(vec!["system.builtin,system.session,spark_catalog.default"])))
        }),
        constant("current_user", user),
        constant("user", user),
        constant("session_user", user),
    ]
}

fn user(_: &[ArrayRef], _: &DataType) -> Result<ArrayRef> {
    let name = std::env::var("USER").unwrap_or_else(|_| "weir".into());
    Ok(Arc::new(StringArray::from(vec![name])))
}

fn coerce_any1(name: &str, t: &[DataType]) -> Result<Vec<DataType>> {
    check_arity(name, t, 1, 1)?;
    Ok(t.to_vec())
}

/// Spark's `simpleString` of an Arrow type (see [`crate::sql::types::spark_type_name`]).
fn spark_type_name(t: &DataType) -> Result<String> {
    match crate::sql::types::spark_type_name(t) {
        Some(name) => Ok(name),
        None => plan_err!("function typeof is not supported yet: {t}"),
    }
}

fn ret_typeof(_: &str, t: &[DataType], _: &[Option<&ScalarValue>]) -> Result<DataType> {
    if let Some(t) = t.first() {
        if matches!(t, DataType::Duration(_) | DataType::Interval(_)) {
            return plan_err!(
                "function typeof of an interval is not supported yet (Spark's interval subtypes are not kept)"
            );
        }
        spark_type_name(t)?;
    }
    Ok(DataType::Utf8)
}

fn eval_typeof(args: &[ArrayRef], _: &DataType) -> Result<ArrayRef> {
    let name = spark_type_name(args[0].data_type())?;
    Ok(Arc::new(StringArray::from(vec![name; args[0].len()])))
}

fn coerce_assert(name: &str, t: &[DataType]) -> Result<Vec<DataType>> {
    check_arity(name, t, 1, 2)?;
    let mut out = vec![DataType::Boolean];
    if t.len() == 2 {
        out.push(to_string_type(name, &t[1])?);
    }
    Ok(out)
}

fn coerce_raise(name: &str, t: &[DataType]) -> Result<Vec<DataType>> {
    check_arity(name, t, 1, 1)?;
    Ok(vec![to_string_type(name, &t[0])?])
}

fn eval_raise(args: &[ArrayRef], _: &DataType) -> Result<ArrayRef> {
    let m = cast(&args[0], &DataType::Utf8)?;
    let m = m.as_string::<i32>();
    if m.is_empty() {
        return Ok(Arc::new(NullArray::new(0)));
    }
    let msg = if m.is_null(0) { "null" } else { m.value(0) };
    exec_err!("[USER_RAISED_EXCEPTION] {msg}")
}

fn ret_null(_: &str, _: &[DataType], _: &[Option<&ScalarValue>]) -> Result<DataType> {
    Ok(DataType::Null)
}

fn eval_assert(args: &[ArrayRef], _: &DataType) -> Result<ArrayRef> {
    let c = cast(&args[0], &DataType::Boolean)?;
    let c = c.as_boolean();
    for i in 0..c.len() {
        if c.is_null(i) || !c.value(i) {
            let msg = match args.get(1) {
                Some(m) => {
                    let m = cast(m, &DataType::Utf8)?;
                    let m = m.as_string::<i32>();
                    if m.is_null(i) { "null".to_string() } else { m.value(i).to_string() }
                }
                None => "assertion failed".to_string(),
            };
            return exec_err!("[USER_RAISED_EXCEPTION] {msg}");
        }
    }
    Ok(Arc::new(NullArray::new(c.len())))
}
