//! Spark's number formats (`ToNumberParser`): `to_number(str, fmt)` / `try_to_number` parse
//! text into `decimal(p, s)` where `p` is the number of `0`/`9` digits in the format and `s`
//! those after the decimal point; `to_char(expr, fmt)` / `to_varchar` render numbers with such
//! a format (`0`/`9` digits, `.`/`D` decimal point, `,`/`G` grouping, `$`, `S`/`MI` sign at
//! either end), dates and timestamps with a datetime pattern (as `date_format`), and binary as
//! `base64`, `hex` or `utf-8` text. `format_number(x, d | pattern)`: Java `DecimalFormat`
//! output (`#,###,###.dd`, HALF_EVEN) or a `#`/`0`/`,`/`.` pattern.

use std::sync::Arc;

use base64::Engine as _;
use datafusion::arrow::array::{Array, ArrayRef, AsArray, Decimal128Builder, StringBuilder};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::DataType;
use datafusion::common::{Result, ScalarValue, exec_err, plan_err};
use datafusion::logical_expr::{
    ColumnarValue, ReturnFieldArgs, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};

use crate::sql::functions::datetime::DateFormat;
use crate::sql::functions::simple::{
    Simple, binary, check_arity, is_binary, is_integer, is_numeric, literal_str, ret_utf8, strings, utf8,
};

pub fn udfs() -> Vec<Arc<ScalarUDF>> {
    vec![
        Simple::new("to_number", |n, t| strings(n, t, 2, 2), ret_to_number, |a, t| eval_to_number(a, t, false)).udf(),
        Simple::new("try_to_number", |n, t| strings(n, t, 2, 2), ret_to_number, |a, t| eval_to_number(a, t, true))
            .udf(),
        Arc::new(ScalarUDF::from(ToChar::new("to_char"))),
        Arc::new(ScalarUDF::from(ToChar::new("to_varchar"))),
        Simple::new("format_number", coerce_format_number, ret_format_number, eval_format_number).udf(),
    ]
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Digit(bool), // true for '0'
    Point,
    Group,
    Dollar,
    Sign(bool), // true for 'S' (prints '+'), false for 'MI'
}

#[derive(Debug)]
struct Format {
    toks: Vec<Tok>,
    int_digits: usize,
    frac_digits: usize,
}

fn parse_format(fmt: &str) -> std::result::Result<Format, String> {
    let up = fmt.to_ascii_uppercase();
    let chars: Vec<char> = up.chars().collect();
    let mut toks = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let t = match c {
            '0' => Tok::Digit(true),
            '9' => Tok::Digit(false),
            '.' | 'D' => Tok::Point,
            ',' | 'G' => Tok::Group,
            '$' => Tok::Dollar,
            'S' => Tok::Sign(true),
            'M' if chars.get(i + 1) == Some(&'I') => {
                i += 1;
                Tok::Sign(false)
            }
            'P' if chars.get(i + 1) == Some(&'R') => return Err("the PR (angle brackets) sign".into()),
            other => return Err(format!("the format character '{other}'")),
        };
        toks.push(t);
        i += 1;
    }
    let points = toks.iter().filter(|t| **t == Tok::Point).count();
    let signs: Vec<usize> =
        toks.iter().enumerate().filter(|(_, t)| matches!(t, Tok::Sign(_))).map(|(i, _)| i).collect();
    if points > 1 || signs.len() > 1 || signs.iter().any(|&s| s != 0 && s != toks.len() - 1) {
        return Err(format!("the format '{fmt}' (a misplaced sign or decimal point)"));
    }
    let point = toks.iter().position(|t| *t == Tok::Point).unwrap_or(toks.len());
    let int_digits = toks[..point].iter().filter(|t| matches!(t, Tok::Digit(_))).count();
    let frac_digits = toks[point..].iter().filter(|t| matches!(t, Tok::Digit(_))).count();
    if int_digits + frac_digits == 0 || int_digits + frac_digits > 38 {
        return Err(format!("the format '{fmt}' (it needs 1 to 38 digits)"));
    }
    Ok(Format { toks, int_digits, frac_digits })
}

fn literal_format(name: &str, args: &[Option<&ScalarValue>], i: usize) -> Result<Option<Format>> {
    match literal_str(args, i) {
        Some(Some(f)) => parse_format(f).map(Some).or_else(|e| plan_err!("function {name} is not supported yet: {e}")),
        Some(None) => Ok(None),
        None if args.is_empty() => Ok(None),
        None => plan_err!("function {name} is not supported yet: a format that is not a literal"),
    }
}

fn ret_to_number(name: &str, _: &[DataType], args: &[Option<&ScalarValue>]) -> Result<DataType> {
    match literal_format(name, args, 1)? {
        Some(f) => Ok(DataType::Decimal128((f.int_digits + f.frac_digits) as u8, f.frac_digits as i8)),
        None => Ok(DataType::Decimal128(38, 0)),
    }
}

/// The unscaled value of `text` read with `f`, or None when it does not match.
fn parse_number(text: &str, f: &Format) -> Option<i128> {
    let mut s = text.trim().to_string();
    let mut negative = false;
    if f.toks.iter().any(|t| matches!(t, Tok::Sign(_))) {
        if let Some(r) = s.strip_prefix('-') {
            negative = true;
            s = r.to_string();
        } else if let Some(r) = s.strip_suffix('-') {
            negative = true;
            s = r.to_string();
        } else if let Some(r) = s.strip_prefix('+').or_else(|| s.strip_suffix('+')) {
            s = r.to_string();
        }
    }
    if f.toks.contains(&Tok::Dollar) {
        s = s.replacen('$', "", 1);
    }
    if s.contains('$') {
        return None;
    }
    if f.toks.contains(&Tok::Group) {
        s = s.replace(',', "");
    }
    let (int, frac) = match s.split_once('.') {
        Some((a, b)) if f.frac_digits > 0 || b.is_empty() => (a.to_string(), b.to_string()),
        Some(_) => return None,
        None => (s.clone(), String::new()),
    };
    if int.is_empty() && frac.is_empty() {
        return None;
    }
    if !int.bytes().all(|b| b.is_ascii_digit()) || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let int = int.trim_start_matches('0');
    if int.len() > f.int_digits || frac.len() > f.frac_digits {
        return None;
    }
    let digits = format!("{int}{frac:0<width$}", width = f.frac_digits);
    let v: i128 = if digits.is_empty() { 0 } else { digits.parse().ok()? };
    Some(if negative { -v } else { v })
}

fn eval_to_number(args: &[ArrayRef], ret: &DataType, lenient: bool) -> Result<ArrayRef> {
    let s = utf8(&args[0])?;
    let fmt = utf8(&args[1])?;
    let (p, sc) = match ret {
        DataType::Decimal128(p, s) => (*p, *s),
        _ => (38, 0),
    };
    let mut out = Decimal128Builder::with_capacity(s.len());
    let mut cached: Option<(String, Format)> = None;
    for i in 0..s.len() {
        if s.is_null(i) || fmt.is_null(i) {
            out.append_null();
            continue;
        }
        if cached.as_ref().is_none_or(|(k, _)| k != fmt.value(i)) {
            let f = parse_format(fmt.value(i)).or_else(|e| exec_err!("to_number: unsupported {e}"))?;
            cached = Some((fmt.value(i).to_string(), f));
        }
        let Some((_, f)) = &cached else { return exec_err!("to_number: no format") };
        match parse_number(s.value(i), f) {
            Some(v) => out.append_value(v),
            None if lenient => out.append_null(),
            None => {
                return exec_err!(
                    "[INVALID_FORMAT.MISMATCH_INPUT] The input '{}' does not match the format '{}'",
                    s.value(i),
                    fmt.value(i)
                );
            }
        }
    }
    Ok(Arc::new(out.finish().with_precision_and_scale(p, sc)?))
}

/// Renders the digits (`int` without sign, `frac` exactly `f.frac_digits` long) with `f`.
fn render(int: &str, frac: &str, negative: bool, f: &Format) -> String {
    let int = int.trim_start_matches('0');
    let overflow = int.len() > f.int_digits;
    let zero_pad = f.toks.iter().find(|t| matches!(t, Tok::Digit(_))) == Some(&Tok::Digit(true));
    let pad = if zero_pad { '0' } else { ' ' };
    let padded: Vec<char> = if overflow {
        vec!['#'; f.int_digits]
    } else {
        let mut v = vec![pad; f.int_digits - int.len()];
        v.extend(int.chars());
        // A value below one shows its zero before the decimal point when there is room.
        if int.is_empty() && f.int_digits > 0 && (f.frac_digits == 0 || pad == ' ') {
            if let Some(last) = v.last_mut() {
                *last = '0';
            }
        }
        v
    };
    let frac: Vec<char> = if overflow { vec!['#'; f.frac_digits] } else { frac.chars().collect() };
    let mut out = String::new();
    let (mut ii, mut fi) = (0, 0);
    let mut after_point = false;
    let mut started = false;
    for t in &f.toks {
        match t {
            Tok::Digit(_) if !after_point => {
                let c = padded[ii];
                ii += 1;
                if c != ' ' {
                    started = true;
                }
                out.push(c);
            }
            Tok::Digit(_) => {
                out.push(frac[fi]);
                fi += 1;
            }
            Tok::Point => {
                after_point = true;
                out.push('.');
            }
            Tok::Group => out.push(if started || after_point { ',' } else { ' ' }),
            Tok::Dollar => out.push('$'),
            Tok::Sign(plus) => out.push(if negative {
                '-'
            } else if *plus {
                '+'
            } else {
                ' '
            }),
        }
    }
    if negative && !f.toks.iter().any(|t| matches!(t, Tok::Sign(_))) {
        out.insert(0, '-');
    }
    out
}

/// A number's decimal digits rounded HALF_UP to `scale`: (integer digits, fraction digits, negative).
fn digits_of(array: &ArrayRef, i: usize, scale: usize) -> Result<(String, String, bool)> {
    let text = match array.data_type() {
        DataType::Float32 | DataType::Float64 => {
            let v = cast(array, &DataType::Float64)?;
            let v = v.as_primitive::<datafusion::arrow::datatypes::Float64Type>().value(i);
            if !v.is_finite() {
                return exec_err!("to_char: cannot format {v}");
            }
            format!("{v:.40}")
        }
        _ => {
            let v = cast(array, &DataType::Utf8)?;
            v.as_string::<i32>().value(i).to_string()
        }
    };
    let (int, frac, negative) = round_half(&text, scale, false);
    let zero = int.bytes().chain(frac.bytes()).all(|b| b == b'0');
    Ok((int, frac, negative && !zero))
}

/// Rounds decimal text to `scale` fraction digits (HALF_EVEN when `even`, else HALF_UP).
pub fn round_half(text: &str, scale: usize, even: bool) -> (String, String, bool) {
    let (negative, body) = match text.strip_prefix('-') {
        Some(b) => (true, b),
        None => (false, text),
    };
    let (int, frac) = body.split_once('.').unwrap_or((body, ""));
    let mut digits: Vec<u8> =
        int.bytes().chain(frac.bytes().chain(std::iter::repeat(b'0')).take(scale)).map(|b| b - b'0').collect();
    let rest: Vec<u8> = frac.bytes().skip(scale).map(|b| b - b'0').collect();
    let up = match rest.first() {
        None => false,
        Some(&d) if d > 5 => true,
        Some(&d) if d < 5 => false,
        Some(_) => {
            let beyond = rest[1..].iter().any(|d| *d != 0);
            if beyond || !even { true } else { digits.last().is_some_and(|d| d % 2 == 1) }
        }
    };
    if up {
        let mut k = digits.len();
        loop {
            if k == 0 {
                digits.insert(0, 1);
                break;
            }
            k -= 1;
            if digits[k] == 9 {
                digits[k] = 0;
            } else {
                digits[k] += 1;
                break;
            }
        }
    }
    let split = digits.len() - scale;
    let s: String = digits.iter().map(|d| (d + b'0') as char).collect();
    let (i, f) = s.split_at(split);
    // The sign stays on a value that rounds to zero (Java's DecimalFormat prints "-0").
    (i.to_string(), f.to_string(), negative)
}

/// `to_char` / `to_varchar`.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct ToChar {
    name: &'static str,
    signature: Signature,
}

impl ToChar {
    fn new(name: &'static str) -> Self {
        Self { name, signature: Signature::user_defined(Volatility::Immutable) }
    }
}

impl ScalarUDFImpl for ToChar {
    fn name(&self) -> &str {
        self.name
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, t: &[DataType]) -> Result<Vec<DataType>> {
        check_arity(self.name, t, 2, 2)?;
        let first = match &crate::sql::functions::simple::plain(&t[0]) {
            x @ (DataType::Date32 | DataType::Date64 | DataType::Timestamp(..)) => x.clone(),
            x if is_binary(x) => DataType::Binary,
            x if is_numeric(x) => x.clone(),
            DataType::Null => DataType::Int32,
            other => {
                return plan_err!("function {} expects a number, date, timestamp or binary, not {other}", self.name);
            }
        };
        Ok(vec![first, DataType::Utf8])
    }

    fn return_type(&self, _: &[DataType]) -> Result<DataType> {
        Ok(DataType::Utf8)
    }

    fn return_field_from_args(&self, args: ReturnFieldArgs) -> Result<datafusion::arrow::datatypes::FieldRef> {
        let t = args.arg_fields.first().map(|f| f.data_type().clone()).unwrap_or(DataType::Null);
        if is_numeric(&t) {
            literal_format(self.name, args.scalar_arguments, 1)?;
        } else if is_binary(&t) {
            match literal_str(args.scalar_arguments, 1) {
                Some(Some(f)) if ["base64", "hex", "utf-8", "utf8"].contains(&f.to_ascii_lowercase().as_str()) => {}
                Some(None) => {}
                Some(Some(f)) => {
                    return plan_err!(
                        "[INVALID_PARAMETER_VALUE.BINARY_FORMAT] {}: expects one of the binary formats 'base64', 'hex', 'utf-8', but got '{f}'",
                        self.name
                    );
                }
                None => {
                    return plan_err!("function {} is not supported yet: a format that is not a literal", self.name);
                }
            }
        }
        Ok(Arc::new(datafusion::arrow::datatypes::Field::new(self.name, DataType::Utf8, true)))
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let t = args.args[0].data_type();
        if matches!(t, DataType::Date32 | DataType::Date64 | DataType::Timestamp(..)) {
            return DateFormat::new().invoke_with_args(args);
        }
        let all_scalar = args.args.iter().all(|a| matches!(a, ColumnarValue::Scalar(_)));
        let rows = if all_scalar { 1 } else { args.number_rows };
        let arrays: Vec<ArrayRef> = args.args.iter().map(|a| a.to_array(rows)).collect::<Result<_>>()?;
        let fmt = utf8(&arrays[1])?;
        let mut out = StringBuilder::with_capacity(rows, rows * 16);
        if is_binary(&t) {
            let b = binary(&arrays[0])?;
            for i in 0..rows {
                if b.is_null(i) || fmt.is_null(i) {
                    out.append_null();
                    continue;
                }
                let v = b.value(i);
                match fmt.value(i).to_ascii_lowercase().as_str() {
                    "base64" => out.append_value(base64::engine::general_purpose::STANDARD.encode(v)),
                    "hex" => out.append_value(v.iter().map(|x| format!("{x:02X}")).collect::<String>()),
                    "utf-8" | "utf8" => match std::str::from_utf8(v) {
                        Ok(s) => out.append_value(s),
                        Err(_) => return exec_err!("{}: the bytes are not valid UTF-8", self.name),
                    },
                    other => return exec_err!("{}: unsupported binary format '{other}'", self.name),
                }
            }
        } else {
            let mut cached: Option<(String, Format)> = None;
            for i in 0..rows {
                if arrays[0].is_null(i) || fmt.is_null(i) {
                    out.append_null();
                    continue;
                }
                if cached.as_ref().is_none_or(|(k, _)| k != fmt.value(i)) {
                    let f = parse_format(fmt.value(i)).or_else(|e| exec_err!("{}: unsupported {e}", self.name))?;
                    cached = Some((fmt.value(i).to_string(), f));
                }
                let Some((_, f)) = &cached else { return exec_err!("to_char: no format") };
                let (int, frac, negative) = digits_of(&arrays[0], i, f.frac_digits)?;
                out.append_value(render(&int, &frac, negative, f));
            }
        }
        let out: ArrayRef = Arc::new(out.finish());
        if all_scalar {
            Ok(ColumnarValue::Scalar(ScalarValue::try_from_array(&out, 0)?))
        } else {
            Ok(ColumnarValue::Array(out))
        }
    }
}

fn coerce_format_number(name: &str, t: &[DataType]) -> Result<Vec<DataType>> {
    check_arity(name, t, 2, 2)?;
    let x = match &crate::sql::functions::simple::plain(&t[0]) {
        x if is_numeric(x) => x.clone(),
        DataType::Null => DataType::Int32,
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => DataType::Float64,
        other => return plan_err!("function {name} expects a number, not {other}"),
    };
    let d = match &t[1] {
        x if is_integer(x) || x == &DataType::Null => DataType::Int64,
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => DataType::Utf8,
        other => return plan_err!("function {name} expects an integer or a pattern, not {other}"),
    };
    Ok(vec![x, d])
}

/// A `DecimalFormat` pattern made of `#`, `0`, `,` and `.`.
#[derive(Debug, Clone)]
struct DecPattern {
    group: usize,
    min_int: usize,
    min_frac: usize,
    max_frac: usize,
}

fn parse_dec_pattern(p: &str) -> std::result::Result<DecPattern, String> {
    if let Some(c) = p.chars().find(|c| !matches!(c, '#' | '0' | ',' | '.')) {
        return Err(format!("the pattern character '{c}'"));
    }
    let (int, frac) = p.split_once('.').unwrap_or((p, ""));
    if frac.contains('.') || frac.contains(',') {
        return Err(format!("the pattern '{p}'"));
    }
    let group = match int.rfind(',') {
        Some(k) => int.len() - k - 1,
        None => 0,
    };
    Ok(DecPattern {
        group,
        min_int: int.chars().filter(|c| *c == '0').count(),
        min_frac: frac.chars().filter(|c| *c == '0').count(),
        max_frac: frac.len(),
    })
}

fn ret_format_number(name: &str, t: &[DataType], args: &[Option<&ScalarValue>]) -> Result<DataType> {
    if t.get(1).is_some_and(|t| t == &DataType::Utf8) {
        match literal_str(args, 1) {
            Some(Some(p)) if !p.is_empty() => {
                parse_dec_pattern(p).or_else(|e| plan_err!("function {name} is not supported yet: {e}"))?;
            }
            Some(_) => {}
            None if args.is_empty() => {}
            None => return plan_err!("function {name} is not supported yet: a pattern that is not a literal"),
        }
    }
    ret_utf8(name, t, args)
}

fn decimal_format(text: &str, p: &DecPattern) -> String {
    let (int, frac, negative) = round_half(text, p.max_frac, true);
    let mut frac = frac;
    while frac.len() > p.min_frac && frac.ends_with('0') {
        frac.pop();
    }
    let mut int = int.trim_start_matches('0').to_string();
    while int.len() < p.min_int {
        int.insert(0, '0');
    }
    if int.is_empty() && frac.is_empty() {
        int.push('0');
    }
    let grouped = if p.group > 0 {
        let chars: Vec<char> = int.chars().collect();
        let mut g = String::new();
        for (k, c) in chars.iter().enumerate() {
            if k > 0 && (chars.len() - k) % p.group == 0 {
                g.push(',');
            }
            g.push(*c);
        }
        g
    } else {
        int
    };
    let mut out = String::new();
    if negative {
        out.push('-');
    }
    out.push_str(&grouped);
    if !frac.is_empty() {
        out.push('.');
        out.push_str(&frac);
    }
    out
}

fn eval_format_number(args: &[ArrayRef], _: &DataType) -> Result<ArrayRef> {
    let x = &args[0];
    let rows = x.len();
    let mut out = StringBuilder::with_capacity(rows, rows * 16);
    let by_pattern = args[1].data_type() == &DataType::Utf8;
    let texts: Vec<Option<String>> = match x.data_type() {
        DataType::Float32 | DataType::Float64 => {
            let v = cast(x, &DataType::Float64)?;
            let v = v.as_primitive::<datafusion::arrow::datatypes::Float64Type>();
            (0..rows)
                .map(|i| {
                    v.is_valid(i).then(|| {
                        if v.value(i).is_finite() { format!("{:.60}", v.value(i)) } else { v.value(i).to_string() }
                    })
                })
                .collect()
        }
        _ => {
            let v = utf8(x)?;
            (0..rows).map(|i| v.is_valid(i).then(|| v.value(i).to_string())).collect()
        }
    };
    for (i, text) in texts.iter().enumerate() {
        let Some(text) = text else {
            out.append_null();
            continue;
        };
        if args[1].is_null(i) {
            out.append_null();
            continue;
        }
        if text == "NaN" || text.contains("inf") {
            out.append_value(if text == "NaN" {
                "NaN"
            } else if text.starts_with('-') {
                "-∞"
            } else {
                "∞"
            });
            continue;
        }
        let pattern = if by_pattern {
            let p = args[1].as_string::<i32>().value(i);
            if p.is_empty() {
                DecPattern { group: 3, min_int: 1, min_frac: 0, max_frac: 0 }
            } else {
                parse_dec_pattern(p).or_else(|e| exec_err!("format_number: unsupported {e}"))?
            }
        } else {
            let d = cast(&args[1], &DataType::Int64)?;
            let d = d.as_primitive::<datafusion::arrow::datatypes::Int64Type>().value(i);
            if d < 0 {
                out.append_null();
                continue;
            }
            DecPattern { group: 3, min_int: 1, min_frac: d as usize, max_frac: d as usize }
        };
        out.append_value(decimal_format(text, &pattern));
    }
    Ok(Arc::new(out.finish()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fmt(v: &str, f: &str) -> String {
        let f = parse_format(f).unwrap();
        let (i, fr, n) = round_half(v, f.frac_digits, false);
        render(&i, &fr, n, &f)
    }

    #[test]
    fn to_char_examples() {
        assert_eq!(fmt("454", "999"), "454");
        assert_eq!(fmt("454.00", "000D00"), "454.00");
        assert_eq!(fmt("12454", "99G999"), "12,454");
        assert_eq!(fmt("78.12", "$99.99"), "$78.12");
        assert_eq!(fmt("-12454.8", "99G999D9S"), "12,454.8-");
    }

    #[test]
    fn to_number_examples() {
        let p = |s: &str, f: &str| parse_number(s, &parse_format(f).unwrap());
        assert_eq!(p("454", "999"), Some(454));
        assert_eq!(p("454.00", "000.00"), Some(45400));
        assert_eq!(p("12,454", "99,999"), Some(12454));
        assert_eq!(p("$78.12", "$99.99"), Some(7812));
        assert_eq!(p("12,454.8-", "99,999.9S"), Some(-124548));
        assert_eq!(p("1234", "999"), None);
    }

    #[test]
    fn format_number_examples() {
        let d = |n| DecPattern { group: 3, min_int: 1, min_frac: n, max_frac: n };
        assert_eq!(decimal_format("12332.123456", &d(4)), "12,332.1235");
        assert_eq!(decimal_format("1234567.891", &d(2)), "1,234,567.89");
        assert_eq!(decimal_format("-0.5", &d(0)), "-0");
        assert_eq!(decimal_format("12", &d(0)), "12");
        assert_eq!(decimal_format("12332.123456", &parse_dec_pattern("##################.###").unwrap()), "12332.123");
        assert_eq!(decimal_format("1234.5", &parse_dec_pattern("#,###.#").unwrap()), "1,234.5");
    }
}
