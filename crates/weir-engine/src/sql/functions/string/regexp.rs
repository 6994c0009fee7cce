//! Spark's regular-expression string functions (Java regex semantics as far as Rust's `regex`
//! crate shares them): `regexp_replace` replaces EVERY match and takes Java's replacement
//! syntax (`$1`, `${name}`, `\$`); `regexp_extract` (empty string when nothing matches),
//! `regexp_extract_all`, `regexp_substr` (NULL when nothing matches), `regexp_count` and
//! `regexp_instr` (int), and `split` (Java `String.split` with Spark's limit rules, trailing
//! empty strings kept); `rlike` / `regexp` / `regexp_like` (a match anywhere in the text).
//!
//! Java's predefined classes are ASCII: `\d`, `\w`, `\s` (and `\D`, `\W`, `\S`, `\b`)
//! are translated to their ASCII sets before compiling, where Rust's would be Unicode.

use std::sync::Arc;

use std::borrow::Cow;

use datafusion::arrow::array::{Array, ArrayRef, BooleanBuilder, Int32Builder, ListBuilder, StringBuilder};
use datafusion::arrow::datatypes::{DataType, Field};
use datafusion::common::{Result, ScalarValue, exec_err};
use datafusion::error::DataFusionError;
use datafusion::logical_expr::ScalarUDF;
use regex::Regex;

use crate::sql::functions::simple::{
    Simple, check_arity, int64, ret_bool, ret_int32, ret_utf8, to_int_type, to_string_type, utf8,
};

pub fn udfs() -> Vec<Arc<ScalarUDF>> {
    vec![
        Simple::new("regexp_replace", coerce(3, 4), ret_utf8, eval_replace).udf(),
        Simple::new("regexp_extract", coerce(2, 3), ret_utf8, eval_extract).udf(),
        Simple::new("regexp_extract_all", coerce(2, 3), ret_list, eval_extract_all).udf(),
        Simple::new("regexp_substr", coerce(2, 2), ret_utf8, eval_substr).udf(),
        Simple::new("regexp_count", coerce(2, 2), ret_int32, eval_count).udf(),
        Simple::new("regexp_instr", coerce(2, 3), ret_int32, eval_instr).udf(),
        Simple::new("split", coerce(2, 3), ret_list, eval_split).udf(),
        Simple::new("rlike", coerce(2, 2), ret_bool, eval_like).udf(),
        Simple::new("regexp", coerce(2, 2), ret_bool, eval_like).udf(),
        Simple::new("regexp_like", coerce(2, 2), ret_bool, eval_like).udf(),
    ]
}

/// `n_str` leading string arguments, then integers.
fn coerce(min: usize, max: usize) -> fn(&str, &[DataType]) -> Result<Vec<DataType>> {
    match (min, max) {
        (3, 4) => |n, t| coerce_n(n, t, 3, 4, 3),
        (2, 3) => |n, t| coerce_n(n, t, 2, 3, 2),
        _ => |n, t| coerce_n(n, t, 2, 2, 2),
    }
}

fn coerce_n(name: &str, t: &[DataType], min: usize, max: usize, n_str: usize) -> Result<Vec<DataType>> {
    check_arity(name, t, min, max)?;
    t.iter().enumerate().map(|(i, x)| if i < n_str { to_string_type(name, x) } else { to_int_type(name, x) }).collect()
}

fn ret_list(_: &str, _: &[DataType], _: &[Option<&ScalarValue>]) -> Result<DataType> {
    Ok(DataType::List(Arc::new(Field::new("item", DataType::Utf8, true))))
}

/// Compiles patterns, reusing the last one (a literal pattern compiles once).
struct Cache {
    last: Option<(String, Regex)>,
}

impl Cache {
    fn new() -> Self {
        Self { last: None }
    }
    fn get(&mut self, pattern: &str) -> Result<&Regex> {
        if self.last.as_ref().is_none_or(|(p, _)| p != pattern) {
            let re = Regex::new(&java_classes(pattern))
                .map_err(|e| DataFusionError::Execution(format!("invalid regular expression '{pattern}': {e}")))?;
            self.last = Some((pattern.to_string(), re));
        }
        match &self.last {
            Some((_, re)) => Ok(re),
            None => exec_err!("regex cache is empty"),
        }
    }
}

/// `pattern` with Java's ASCII predefined classes spelled out (see the module doc).
pub fn java_classes(pattern: &str) -> Cow<'_, str> {
    if !pattern.contains('\\') {
        return Cow::Borrowed(pattern);
    }
    let mut out = String::with_capacity(pattern.len() + 16);
    let mut chars = pattern.chars();
    let mut in_class = 0usize;
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                let Some(next) = chars.next() else {
                    out.push('\\');
                    break;
                };
                match next {
                    'd' => out.push_str("[0-9]"),
                    'D' => out.push_str("[^0-9]"),
                    'w' => out.push_str("[0-9A-Za-z_]"),
                    'W' => out.push_str("[^0-9A-Za-z_]"),
                    's' => out.push_str("[\\t\\n\\x0B\\f\\r ]"),
                    'S' => out.push_str("[^\\t\\n\\x0B\\f\\r ]"),
                    'b' if in_class == 0 => out.push_str("(?-u:\\b)"),
                    'B' if in_class == 0 => out.push_str("(?-u:\\B)"),
                    // `\Q…\E` quotes: copied as is (Rust's regex has no `\Q`; it fails to compile).
                    other => {
                        out.push('\\');
                        out.push(other);
                    }
                }
            }
            '[' => {
                in_class += 1;
                out.push(c);
            }
            ']' if in_class > 0 => {
                in_class -= 1;
                out.push(c);
            }
            _ => out.push(c),
        }
    }
    Cow::Owned(out)
}

fn eval_like(args: &[ArrayRef], _: &DataType) -> Result<ArrayRef> {
    let s = utf8(&args[0])?;
    let pat = utf8(&args[1])?;
    let mut cache = Cache::new();
    let mut out = BooleanBuilder::with_capacity(s.len());
    for i in 0..s.len() {
        if s.is_null(i) || pat.is_null(i) {
            out.append_null();
            continue;
        }
        out.append_value(cache.get(pat.value(i))?.is_match(s.value(i)));
    }
    Ok(Arc::new(out.finish()))
}

/// Java's replacement string (`$n`, `${name}`, `\x` literal) as a Rust `regex` template.
pub fn java_replacement(rep: &str, groups: usize) -> Result<String> {
    let chars: Vec<char> = rep.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            '\\' => {
                i += 1;
                match chars.get(i) {
                    Some('$') => out.push_str("$$"),
                    Some(c) => out.push(*c),
                    None => return exec_err!("character to be escaped is missing in replacement '{rep}'"),
                }
                i += 1;
            }
            '$' => {
                i += 1;
                match chars.get(i) {
                    Some('{') => {
                        let end = chars[i..].iter().position(|c| *c == '}');
                        let Some(end) = end else {
                            return exec_err!("named capturing group is missing trailing '}}' in '{rep}'");
                        };
                        let name: String = chars[i + 1..i + end].iter().collect();
                        out.push_str(&format!("${{{name}}}"));
                        i += end + 1;
                    }
                    Some(c) if c.is_ascii_digit() => {
                        let mut n = c.to_digit(10).unwrap_or(0) as usize;
                        if n > groups {
                            return exec_err!("no group {n} in regular expression (replacement '{rep}')");
                        }
                        i += 1;
                        while let Some(d) = chars.get(i).and_then(|c| c.to_digit(10)) {
                            let next = n * 10 + d as usize;
                            if next > groups {
                                break;
                            }
                            n = next;
                            i += 1;
                        }
                        out.push_str(&format!("${{{n}}}"));
                    }
                    _ => return exec_err!("illegal group reference in replacement '{rep}'"),
                }
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    Ok(out)
}

fn eval_replace(args: &[ArrayRef], _: &DataType) -> Result<ArrayRef> {
    let s = utf8(&args[0])?;
    let pat = utf8(&args[1])?;
    let rep = utf8(&args[2])?;
    let pos = args.get(3).map(int64).transpose()?;
    let mut cache = Cache::new();
    let mut template: Option<(String, String, String)> = None;
    let mut out = StringBuilder::with_capacity(s.len(), s.len() * 16);
    for i in 0..s.len() {
        if s.is_null(i) || pat.is_null(i) || rep.is_null(i) || pos.as_ref().is_some_and(|p| p.is_null(i)) {
            out.append_null();
            continue;
        }
        let p = pos.as_ref().map(|p| p.value(i)).unwrap_or(1);
        if p < 1 {
            return exec_err!("regexp_replace: the position must be at least 1, got {p}");
        }
        let re = cache.get(pat.value(i))?;
        let key = (pat.value(i), rep.value(i));
        if template.as_ref().is_none_or(|(a, b, _)| a != key.0 || b != key.1) {
            let t = java_replacement(key.1, re.captures_len() - 1)?;
            template = Some((key.0.to_string(), key.1.to_string(), t));
        }
        let t = template.as_ref().map(|(_, _, t)| t.as_str()).unwrap_or_default();
        let text = s.value(i);
        let split = text.char_indices().nth((p - 1) as usize).map(|(b, _)| b);
        match split {
            Some(b) => {
                let replaced = re.replace_all(&text[b..], t);
                out.append_value(format!("{}{}", &text[..b], replaced));
            }
            None => out.append_value(text),
        }
    }
    Ok(Arc::new(out.finish()))
}

fn group_index(args: &[ArrayRef], i: usize, default: i64) -> Result<Option<i64>> {
    match args.get(2) {
        None => Ok(Some(default)),
        Some(a) => {
            let a = int64(a)?;
            Ok(if a.is_null(i) { None } else { Some(a.value(i)) })
        }
    }
}

fn check_group(name: &str, re: &Regex, idx: i64) -> Result<usize> {
    let groups = re.captures_len() as i64 - 1;
    if idx < 0 || idx > groups {
        return exec_err!("{name}: regex group count is {groups}, but the specified group index is {idx}");
    }
    Ok(idx as usize)
}

fn eval_extract(args: &[ArrayRef], _: &DataType) -> Result<ArrayRef> {
    let s = utf8(&args[0])?;
    let pat = utf8(&args[1])?;
    let mut cache = Cache::new();
    let mut out = StringBuilder::with_capacity(s.len(), s.len() * 8);
    for i in 0..s.len() {
        let idx = group_index(args, i, 1)?;
        let (Some(idx), false, false) = (idx, s.is_null(i), pat.is_null(i)) else {
            out.append_null();
            continue;
        };
        let re = cache.get(pat.value(i))?;
        let g = check_group("regexp_extract", re, idx)?;
        let value = re.captures(s.value(i)).and_then(|c| c.get(g)).map(|m| m.as_str()).unwrap_or("");
        out.append_value(value);
    }
    Ok(Arc::new(out.finish()))
}

fn eval_extract_all(args: &[ArrayRef], _: &DataType) -> Result<ArrayRef> {
    let s = utf8(&args[0])?;
    let pat = utf8(&args[1])?;
    let mut cache = Cache::new();
    let mut out = ListBuilder::new(StringBuilder::new());
    for i in 0..s.len() {
        let idx = group_index(args, i, 1)?;
        let (Some(idx), false, false) = (idx, s.is_null(i), pat.is_null(i)) else {
            out.append_null();
            continue;
        };
        let re = cache.get(pat.value(i))?;
        let g = check_group("regexp_extract_all", re, idx)?;
        for c in re.captures_iter(s.value(i)) {
            out.values().append_value(c.get(g).map(|m| m.as_str()).unwrap_or(""));
        }
        out.append(true);
    }
    Ok(Arc::new(out.finish()))
}

fn eval_substr(args: &[ArrayRef], _: &DataType) -> Result<ArrayRef> {
    let s = utf8(&args[0])?;
    let pat = utf8(&args[1])?;
    let mut cache = Cache::new();
    let mut out = StringBuilder::with_capacity(s.len(), s.len() * 8);
    for i in 0..s.len() {
        if s.is_null(i) || pat.is_null(i) {
            out.append_null();
            continue;
        }
        let re = cache.get(pat.value(i))?;
        match re.find(s.value(i)) {
            Some(m) if !m.as_str().is_empty() => out.append_value(m.as_str()),
            _ => out.append_null(),
        }
    }
    Ok(Arc::new(out.finish()))
}

fn eval_count(args: &[ArrayRef], _: &DataType) -> Result<ArrayRef> {
    let s = utf8(&args[0])?;
    let pat = utf8(&args[1])?;
    let mut cache = Cache::new();
    let mut out = Int32Builder::with_capacity(s.len());
    for i in 0..s.len() {
        if s.is_null(i) || pat.is_null(i) {
            out.append_null();
            continue;
        }
        let re = cache.get(pat.value(i))?;
        out.append_value(re.find_iter(s.value(i)).count() as i32);
    }
    Ok(Arc::new(out.finish()))
}

fn eval_instr(args: &[ArrayRef], _: &DataType) -> Result<ArrayRef> {
    let s = utf8(&args[0])?;
    let pat = utf8(&args[1])?;
    let mut cache = Cache::new();
    let mut out = Int32Builder::with_capacity(s.len());
    for i in 0..s.len() {
        let idx = group_index(args, i, 0)?;
        let (Some(idx), false, false) = (idx, s.is_null(i), pat.is_null(i)) else {
            out.append_null();
            continue;
        };
        let re = cache.get(pat.value(i))?;
        let g = check_group("regexp_instr", re, idx)?;
        let text = s.value(i);
        let pos =
            re.captures(text).and_then(|c| c.get(g)).map(|m| text[..m.start()].chars().count() as i32 + 1).unwrap_or(0);
        out.append_value(pos);
    }
    Ok(Arc::new(out.finish()))
}

/// Java `String.split(regex, limit)` as Spark calls it (limit <= 0: no limit, trailing empty
/// strings kept; an empty pattern splits into characters).
pub fn split_one<'a>(text: &'a str, re: &Regex, empty_pattern: bool, limit: i64) -> Vec<&'a str> {
    if text.is_empty() {
        return vec![""];
    }
    if empty_pattern {
        let n = text.chars().count();
        let pieces = if limit <= 0 || limit as usize > n { n } else { limit as usize };
        let mut out = Vec::with_capacity(pieces);
        let mut bounds = text.char_indices().map(|(b, _)| b).chain(std::iter::once(text.len()));
        let mut start = bounds.next().unwrap_or(0);
        for _ in 0..pieces.saturating_sub(1) {
            let end = bounds.next().unwrap_or(text.len());
            out.push(&text[start..end]);
            start = end;
        }
        out.push(&text[start..]);
        return out;
    }
    let mut out = Vec::new();
    let mut last = 0;
    for m in re.find_iter(text) {
        if limit > 0 && out.len() as i64 == limit - 1 {
            break;
        }
        if m.end() == 0 {
            continue;
        }
        out.push(&text[last..m.start()]);
        last = m.end();
    }
    out.push(&text[last..]);
    out
}

fn eval_split(args: &[ArrayRef], _: &DataType) -> Result<ArrayRef> {
    let s = utf8(&args[0])?;
    let pat = utf8(&args[1])?;
    let limit = args.get(2).map(int64).transpose()?;
    let mut cache = Cache::new();
    let mut out = ListBuilder::new(StringBuilder::new());
    for i in 0..s.len() {
        if s.is_null(i) || pat.is_null(i) || limit.as_ref().is_some_and(|l| l.is_null(i)) {
            out.append_null();
            continue;
        }
        let l = limit.as_ref().map(|l| l.value(i)).unwrap_or(-1);
        let p = pat.value(i);
        let re = cache.get(p)?;
        for piece in split_one(s.value(i), re, p.is_empty(), l) {
            out.values().append_value(piece);
        }
        out.append(true);
    }
    Ok(Arc::new(out.finish()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn java_replacements() {
        assert_eq!(java_replacement("$2 $1", 2).unwrap(), "${2} ${1}");
        assert_eq!(java_replacement("num", 1).unwrap(), "num");
        assert_eq!(java_replacement("\\$1$10", 1).unwrap(), "$$1${1}0");
        assert!(java_replacement("$3", 2).is_err());
    }

    #[test]
    fn splits_like_java() {
        assert_eq!(java_classes(r"\d+-\w\s[\d.]\b"), r"[0-9]+-[0-9A-Za-z_][\t\n\x0B\f\r ][[0-9].](?-u:\b)");
        let digits = Regex::new(&java_classes(r"^\d+$")).unwrap();
        assert!(digits.is_match("123") && !digits.is_match("١٢٣"));
        let re = Regex::new("[ABC]").unwrap();
        assert_eq!(split_one("oneAtwoBthreeC", &re, false, -1), vec!["one", "two", "three", ""]);
        assert_eq!(split_one("oneAtwoBthreeC", &re, false, 2), vec!["one", "twoBthreeC"]);
        let comma = Regex::new(",").unwrap();
        assert_eq!(split_one("a,b,,c", &comma, false, -1), vec!["a", "b", "", "c"]);
        assert_eq!(split_one("", &comma, false, -1), vec![""]);
        let empty = Regex::new("").unwrap();
        assert_eq!(split_one("abc", &empty, true, -1), vec!["a", "b", "c"]);
        assert_eq!(split_one("abc", &empty, true, 2), vec!["a", "bc"]);
    }
}
