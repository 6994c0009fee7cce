//! Substring search as Spark does it, counting characters (not bytes), 1-based:
//! `locate(substr, str[, pos])` and its alias `position` (0 when `pos < 1` or not found),
//! `instr(str, substr[, pos[, occurrence]])` (a negative `pos` searches backwards from the end),
//! and `startswith` / `endswith` / `contains` over strings or binary.

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, BooleanBuilder, Int32Builder};
use datafusion::arrow::datatypes::DataType;
use datafusion::common::{Result, exec_err};
use datafusion::logical_expr::ScalarUDF;

use crate::sql::functions::simple::{
    Simple, binary, check_arity, int64, is_binary, ret_bool, ret_int32, to_int_type, to_string_type, utf8,
};

pub fn udfs() -> Vec<Arc<ScalarUDF>> {
    vec![
        Simple::new("locate", coerce_locate, ret_int32, eval_locate).udf(),
        Simple::new("position", coerce_locate, ret_int32, eval_locate).udf(),
        Simple::new("instr", coerce_instr, ret_int32, eval_instr).udf(),
        Simple::new("startswith", coerce_pair, ret_bool, |a, _| eval_pair(a, |s, p| s.starts_with(p))).udf(),
        Simple::new("endswith", coerce_pair, ret_bool, |a, _| eval_pair(a, |s, p| s.ends_with(p))).udf(),
        Simple::new("contains", coerce_pair, ret_bool, |a, _| {
            eval_pair(a, |s, p| p.is_empty() || s.windows(p.len()).any(|w| w == p))
        })
        .udf(),
    ]
}

fn coerce_locate(name: &str, t: &[DataType]) -> Result<Vec<DataType>> {
    check_arity(name, t, 2, 3)?;
    let mut out = vec![to_string_type(name, &t[0])?, to_string_type(name, &t[1])?];
    if t.len() == 3 {
        out.push(to_int_type(name, &t[2])?);
    }
    Ok(out)
}

fn coerce_instr(name: &str, t: &[DataType]) -> Result<Vec<DataType>> {
    check_arity(name, t, 2, 4)?;
    let mut out = vec![to_string_type(name, &t[0])?, to_string_type(name, &t[1])?];
    for x in &t[2..] {
        out.push(to_int_type(name, x)?);
    }
    Ok(out)
}

/// Char index (0-based) of `needle` in `hay` at or after char `from`.
fn find_from(hay: &str, needle: &str, from: usize) -> Option<usize> {
    let start = hay.char_indices().nth(from).map(|(b, _)| b).or(if from == hay.chars().count() {
        Some(hay.len())
    } else {
        None
    })?;
    let byte = hay[start..].find(needle)? + start;
    Some(hay[..byte].chars().count())
}

fn eval_locate(args: &[ArrayRef], _: &DataType) -> Result<ArrayRef> {
    let sub = utf8(&args[0])?;
    let s = utf8(&args[1])?;
    let pos = args.get(2).map(int64).transpose()?;
    let mut out = Int32Builder::with_capacity(s.len());
    for i in 0..s.len() {
        let p = match &pos {
            Some(p) if p.is_null(i) => {
                // Spark (as Hive): a NULL start position gives 0, whatever the other arguments.
                out.append_value(0);
                continue;
            }
            Some(p) => p.value(i),
            None => 1,
        };
        if sub.is_null(i) || s.is_null(i) {
            out.append_null();
            continue;
        }
        if p < 1 {
            out.append_value(0);
            continue;
        }
        let found = find_from(s.value(i), sub.value(i), (p - 1) as usize);
        out.append_value(found.map(|c| c as i32 + 1).unwrap_or(0));
    }
    Ok(Arc::new(out.finish()))
}

fn eval_instr(args: &[ArrayRef], _: &DataType) -> Result<ArrayRef> {
    let s = utf8(&args[0])?;
    let sub = utf8(&args[1])?;
    let pos = args.get(2).map(int64).transpose()?;
    let occ = args.get(3).map(int64).transpose()?;
    let mut out = Int32Builder::with_capacity(s.len());
    for i in 0..s.len() {
        if s.is_null(i)
            || sub.is_null(i)
            || pos.as_ref().is_some_and(|p| p.is_null(i))
            || occ.as_ref().is_some_and(|o| o.is_null(i))
        {
            out.append_null();
            continue;
        }
        let p = pos.as_ref().map(|p| p.value(i)).unwrap_or(1);
        let n = occ.as_ref().map(|o| o.value(i)).unwrap_or(1);
        if n < 1 {
            return exec_err!("instr: the occurrence must be at least 1, got {n}");
        }
        let hay: Vec<char> = s.value(i).chars().collect();
        let needle: Vec<char> = sub.value(i).chars().collect();
        let matches_at = |k: usize| k + needle.len() <= hay.len() && hay[k..k + needle.len()] == needle[..];
        let mut result = 0i32;
        let mut seen = 0i64;
        if p > 0 {
            let mut k = (p - 1) as usize;
            while k <= hay.len() {
                if matches_at(k) {
                    seen += 1;
                    if seen == n {
                        result = k as i32 + 1;
                        break;
                    }
                }
                k += 1;
            }
        } else if p < 0 {
            let start = hay.len() as i64 + p;
            let mut k = start;
            while k >= 0 {
                if matches_at(k as usize) {
                    seen += 1;
                    if seen == n {
                        result = k as i32 + 1;
                        break;
                    }
                }
                k -= 1;
            }
        }
        out.append_value(result);
    }
    Ok(Arc::new(out.finish()))
}

fn coerce_pair(name: &str, t: &[DataType]) -> Result<Vec<DataType>> {
    check_arity(name, t, 2, 2)?;
    let bin = |x: &DataType| is_binary(x) || x == &DataType::Null;
    if bin(&t[0]) && bin(&t[1]) && (is_binary(&t[0]) || is_binary(&t[1])) {
        return Ok(vec![DataType::Binary, DataType::Binary]);
    }
    Ok(vec![to_string_type(name, &t[0])?, to_string_type(name, &t[1])?])
}

fn eval_pair(args: &[ArrayRef], f: fn(&[u8], &[u8]) -> bool) -> Result<ArrayRef> {
    let a = binary(&args[0])?;
    let b = binary(&args[1])?;
    let mut out = BooleanBuilder::with_capacity(a.len());
    for i in 0..a.len() {
        if a.is_null(i) || b.is_null(i) {
            out.append_null();
        } else {
            out.append_value(f(a.value(i), b.value(i)));
        }
    }
    Ok(Arc::new(out.finish()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_by_characters() {
        assert_eq!(find_from("foobarbar", "bar", 0), Some(3));
        assert_eq!(find_from("foobarbar", "bar", 4), Some(6));
        assert_eq!(find_from("héllo", "l", 0), Some(2));
        assert_eq!(find_from("abc", "", 3), Some(3));
        assert_eq!(find_from("abc", "", 4), None);
    }
}
