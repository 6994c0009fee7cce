//! Functions Spark defines on both strings (by character) and binary (by byte), keeping the
//! input's type: `left(x, n)` / `right(x, n)` (empty when `n <= 0`), `overlay(x PLACING r
//! FROM pos [FOR len])`, `lpad` / `rpad` (binary pads with zero bytes by default), and
//! `bit_length` / `octet_length` (int). `btrim(str[, chars])` trims spaces (or the given
//! characters) from both ends; binary arguments are read as UTF-8 text, as Spark's implicit cast.

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, BinaryBuilder, Int32Builder, StringBuilder};
use datafusion::arrow::datatypes::DataType;
use datafusion::common::{Result, ScalarValue};
use datafusion::logical_expr::ScalarUDF;

use crate::sql::functions::simple::{
    Simple, binary, check_arity, int64, is_binary, ret_int32, strings, to_int_type, to_string_type, utf8,
};

pub fn udfs() -> Vec<Arc<ScalarUDF>> {
    vec![
        Simple::new("left", coerce_x_int, ret_first, |a, t| eval_slice(a, t, true)).udf(),
        Simple::new("right", coerce_x_int, ret_first, |a, t| eval_slice(a, t, false)).udf(),
        overlay_udf(),
        Simple::new(
            "space",
            |n, t| check_arity(n, t, 1, 1).and_then(|_| Ok(vec![to_int_type(n, &t[0])?])),
            crate::sql::functions::simple::ret_utf8,
            eval_space,
        )
        .udf(),
        Simple::new("lpad", coerce_pad, ret_first, |a, t| eval_pad(a, t, true)).udf(),
        Simple::new("rpad", coerce_pad, ret_first, |a, t| eval_pad(a, t, false)).udf(),
        Simple::new("bit_length", coerce_x, ret_int32, |a, _| eval_len(a, 8)).udf(),
        Simple::new("octet_length", coerce_x, ret_int32, |a, _| eval_len(a, 1)).udf(),
        Simple::new("btrim", |n, t| strings(n, t, 1, 2), crate::sql::functions::simple::ret_utf8, eval_btrim).udf(),
    ]
}

/// Spark's `overlay` (strings by character, binary by byte), for the OVERLAY(... PLACING ...)
/// syntax's planner.
pub fn overlay_udf() -> Arc<ScalarUDF> {
    Simple::new("overlay", coerce_overlay, ret_first, eval_overlay).udf()
}

fn str_or_bin(name: &str, t: &DataType) -> Result<DataType> {
    if is_binary(t) { Ok(DataType::Binary) } else { to_string_type(name, t) }
}

fn ret_first(_: &str, t: &[DataType], _: &[Option<&ScalarValue>]) -> Result<DataType> {
    Ok(if t.first().is_some_and(is_binary) { DataType::Binary } else { DataType::Utf8 })
}

fn coerce_x(name: &str, t: &[DataType]) -> Result<Vec<DataType>> {
    check_arity(name, t, 1, 1)?;
    Ok(vec![str_or_bin(name, &t[0])?])
}

fn coerce_x_int(name: &str, t: &[DataType]) -> Result<Vec<DataType>> {
    check_arity(name, t, 2, 2)?;
    Ok(vec![str_or_bin(name, &t[0])?, to_int_type(name, &t[1])?])
}

fn coerce_overlay(name: &str, t: &[DataType]) -> Result<Vec<DataType>> {
    check_arity(name, t, 3, 4)?;
    let bin = is_binary(&t[0]) && (is_binary(&t[1]) || t[1] == DataType::Null);
    let x = if bin { DataType::Binary } else { DataType::Utf8 };
    if !bin {
        to_string_type(name, &t[0])?;
        to_string_type(name, &t[1])?;
    }
    let mut out = vec![x.clone(), x];
    for a in &t[2..] {
        out.push(to_int_type(name, a)?);
    }
    Ok(out)
}

fn coerce_pad(name: &str, t: &[DataType]) -> Result<Vec<DataType>> {
    check_arity(name, t, 2, 3)?;
    let bin = is_binary(&t[0]) && t.get(2).is_none_or(|p| is_binary(p) || p == &DataType::Null);
    let x = if bin { DataType::Binary } else { to_string_type(name, &t[0])? };
    let mut out = vec![x.clone(), to_int_type(name, &t[1])?];
    if t.len() == 3 {
        out.push(if bin { DataType::Binary } else { to_string_type(name, &t[2])? });
    }
    Ok(out)
}

/// Rows as units (chars of a string, bytes of binary); `f` maps each row's units to new ones.
fn map_units(
    args: &[ArrayRef],
    ret: &DataType,
    mut f: impl FnMut(usize, &[u32]) -> Option<Vec<u32>>,
) -> Result<ArrayRef> {
    let rows = args[0].len();
    if ret == &DataType::Binary {
        let b = binary(&args[0])?;
        let mut out = BinaryBuilder::with_capacity(rows, rows * 8);
        for i in 0..rows {
            if b.is_null(i) {
                out.append_null();
                continue;
            }
            let units: Vec<u32> = b.value(i).iter().map(|x| *x as u32).collect();
            match f(i, &units) {
                Some(v) => out.append_value(v.iter().map(|x| *x as u8).collect::<Vec<u8>>()),
                None => out.append_null(),
            }
        }
        Ok(Arc::new(out.finish()))
    } else {
        let s = utf8(&args[0])?;
        let mut out = StringBuilder::with_capacity(rows, rows * 8);
        for i in 0..rows {
            if s.is_null(i) {
                out.append_null();
                continue;
            }
            let units: Vec<u32> = s.value(i).chars().map(|c| c as u32).collect();
            match f(i, &units) {
                Some(v) => out.append_value(v.iter().filter_map(|u| char::from_u32(*u)).collect::<String>()),
                None => out.append_null(),
            }
        }
        Ok(Arc::new(out.finish()))
    }
}

/// Units of argument `k` (same kind as the first argument), None when NULL.
fn units_of(args: &[ArrayRef], ret: &DataType, k: usize) -> Result<Vec<Option<Vec<u32>>>> {
    let a = &args[k];
    if ret == &DataType::Binary {
        let b = binary(a)?;
        Ok((0..b.len()).map(|i| b.is_valid(i).then(|| b.value(i).iter().map(|x| *x as u32).collect())).collect())
    } else {
        let s = utf8(a)?;
        Ok((0..s.len()).map(|i| s.is_valid(i).then(|| s.value(i).chars().map(|c| c as u32).collect())).collect())
    }
}

fn eval_slice(args: &[ArrayRef], ret: &DataType, left: bool) -> Result<ArrayRef> {
    let n = int64(&args[1])?;
    map_units(args, ret, |i, u| {
        if n.is_null(i) {
            return None;
        }
        let k = n.value(i).max(0).min(u.len() as i64) as usize;
        Some(if left { u[..k].to_vec() } else { u[u.len() - k..].to_vec() })
    })
}

fn eval_overlay(args: &[ArrayRef], ret: &DataType) -> Result<ArrayRef> {
    let rep = units_of(args, ret, 1)?;
    let pos = int64(&args[2])?;
    let len = args.get(3).map(int64).transpose()?;
    map_units(args, ret, |i, u| {
        let r = rep[i].as_ref()?;
        if pos.is_null(i) || len.as_ref().is_some_and(|l| l.is_null(i)) {
            return None;
        }
        let l = len.as_ref().map(|l| l.value(i)).filter(|l| *l >= 0).unwrap_or(r.len() as i64);
        let n = u.len() as i64;
        let p = pos.value(i);
        let head = (p - 1).clamp(0, n) as usize;
        let tail = (p - 1).saturating_add(l).clamp(0, n) as usize;
        let mut out = u[..head].to_vec();
        out.extend_from_slice(r);
        out.extend_from_slice(&u[tail.max(head)..]);
        Some(out)
    })
}

fn eval_pad(args: &[ArrayRef], ret: &DataType, left: bool) -> Result<ArrayRef> {
    let n = int64(&args[1])?;
    let pads = if args.len() == 3 { Some(units_of(args, ret, 2)?) } else { None };
    let default = if ret == &DataType::Binary { vec![0u32] } else { vec![' ' as u32] };
    map_units(args, ret, |i, u| {
        if n.is_null(i) {
            return None;
        }
        let pad = match &pads {
            Some(p) => p[i].clone()?,
            None => default.clone(),
        };
        let len = n.value(i).max(0) as usize;
        if len <= u.len() {
            return Some(u[..len].to_vec());
        }
        if pad.is_empty() {
            return Some(u.to_vec());
        }
        let fill: Vec<u32> = pad.iter().cycle().take(len - u.len()).copied().collect();
        Some(if left { [fill, u.to_vec()].concat() } else { [u.to_vec(), fill].concat() })
    })
}

fn eval_len(args: &[ArrayRef], factor: i32) -> Result<ArrayRef> {
    let b = binary(&args[0])?;
    let mut out = Int32Builder::with_capacity(b.len());
    for i in 0..b.len() {
        if b.is_null(i) { out.append_null() } else { out.append_value(b.value(i).len() as i32 * factor) }
    }
    Ok(Arc::new(out.finish()))
}

fn eval_btrim(args: &[ArrayRef], _: &DataType) -> Result<ArrayRef> {
    let s = utf8(&args[0])?;
    let chars = args.get(1).map(utf8).transpose()?;
    let mut out = StringBuilder::with_capacity(s.len(), s.len() * 8);
    for i in 0..s.len() {
        if s.is_null(i) || chars.as_ref().is_some_and(|c| c.is_null(i)) {
            out.append_null();
            continue;
        }
        let set: Vec<char> = chars.as_ref().map(|c| c.value(i).chars().collect()).unwrap_or_else(|| vec![' ']);
        out.append_value(s.value(i).trim_matches(|c| set.contains(&c)));
    }
    Ok(Arc::new(out.finish()))
}

fn eval_space(args: &[ArrayRef], _: &DataType) -> Result<ArrayRef> {
    let n = int64(&args[0])?;
    let mut out = StringBuilder::with_capacity(n.len(), n.len() * 4);
    for i in 0..n.len() {
        if n.is_null(i) {
            out.append_null()
        } else {
            out.append_value(" ".repeat(n.value(i).clamp(0, 1 << 20) as usize))
        }
    }
    Ok(Arc::new(out.finish()))
}
