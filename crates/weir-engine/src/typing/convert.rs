//! String-to-value conversions with Arc's rules and error messages.

use std::sync::LazyLock;

use chrono::NaiveTime;
use regex::Regex;

use super::schema::FieldKind;

/// Formatters Arc prints for numbers when none are given.
const DEFAULT_INT_FORMATTERS: &str = "['#,##0;-#,##0']";
const DEFAULT_DECIMAL_FORMATTERS: &str = "['#,##0.###;-#,##0.###']";

fn list(items: &[String]) -> String {
    let quoted: Vec<String> = items.iter().map(|s| format!("'{s}'")).collect();
    format!("[{}]", quoted.join(", "))
}

fn formatters_text(formatters: &Option<Vec<String>>, default: &str) -> String {
    formatters.as_ref().map(|f| list(f)).unwrap_or_else(|| default.to_string())
}

/// Java's integer syntax: an optional sign, then one or more ASCII digits.
fn is_java_int(text: &str) -> bool {
    let digits = text.strip_prefix(['+', '-']).unwrap_or(text);
    !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
}
static JAVA_DOUBLE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^\s*[+-]?(NaN|Infinity|(([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?)[fFdD]?)\s*$")
        .expect("static regex")
});
static BIG_DECIMAL: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^([+-]?)([0-9]*)(?:\.([0-9]*))?(?:[eE]([+-]?[0-9]+))?$").expect("static regex"));

/// A decimal literal as (unscaled digits, scale) with arbitrary precision in a string.
struct BigDec {
    negative: bool,
    /// Digits without leading zeros (may be empty for zero).
    digits: String,
    /// Number of digits after the point (may be negative).
    scale: i64,
}

fn parse_big_decimal(text: &str) -> Option<BigDec> {
    let caps = BIG_DECIMAL.captures(text)?;
    let int = caps.get(2).map_or("", |m| m.as_str());
    let frac = caps.get(3).map_or("", |m| m.as_str());
    if int.is_empty() && frac.is_empty() {
        return None;
    }
    let exp: i64 = caps.get(4).map(|m| m.as_str().parse().ok()).unwrap_or(Some(0))?;
    let digits = format!("{int}{frac}").trim_start_matches('0').to_string();
    Some(BigDec { negative: &caps[1] == "-", digits, scale: frac.len() as i64 - exp })
}

impl BigDec {
    /// The value rescaled to `scale` digits after the point, rounding HALF_UP, as i128.
    fn rescale(&self, scale: i64) -> Option<i128> {
        let mut digits = self.digits.clone();
        let shift = scale - self.scale;
        let value: i128 = if shift >= 0 {
            if digits.len() as i64 + shift > 38 {
                return None;
            }
            digits.push_str(&"0".repeat(shift as usize));
            if digits.is_empty() { 0 } else { digits.parse().ok()? }
        } else {
            let cut = (-shift) as usize;
            if cut > digits.len() {
                0
            } else {
                let keep_len = digits.len().saturating_sub(cut);
                let (keep, dropped) = digits.split_at(keep_len);
                let kept: i128 = if keep.is_empty() { 0 } else { keep.parse().ok()? };
                let round_up = dropped.chars().next().is_some_and(|c| c >= '5');
                kept + i128::from(round_up)
            }
        };
        Some(if self.negative { -value } else { value })
    }

    /// The value as an integer, when it has no fractional part.
    fn exact_integer(&self) -> Option<i128> {
        if self.scale > 0 {
            let s = self.scale as usize;
            let tail =
                if self.digits.len() >= s { &self.digits[self.digits.len() - s..] } else { self.digits.as_str() };
            if tail.chars().any(|c| c != '0') {
                return None;
            }
        }
        self.rescale(0)
    }
}

/// Parses with a Java DecimalFormat pattern subset: literal prefix/suffix, grouping `,`,
/// decimal `.`, percent, and a `;`-separated negative subpattern.
fn parse_decimal_format(text: &str, pattern: &str) -> Option<BigDec> {
    let (positive, negative) = match pattern.split_once(';') {
        Some((p, n)) => (p, Some(n)),
        None => (pattern, None),
    };
    let affixes = |p: &str| -> (String, String) {
        let start = p.find(|c| "#0,.".contains(c)).unwrap_or(p.len());
        let end = p.rfind(|c| "#0,.".contains(c)).map(|i| i + 1).unwrap_or(start);
        (p[..start].replace('\'', ""), p[end..].replace('\'', ""))
    };
    let (pos_prefix, pos_suffix) = affixes(positive);
    let (neg_prefix, neg_suffix) = match negative {
        Some(n) => affixes(n),
        None => (format!("-{pos_prefix}"), pos_suffix.clone()),
    };
    // A negative subpattern is told apart by its prefix or suffix (`-#,##0`, `(#,##0)`, `#,##0-`).
    let is_negative_text = (!neg_prefix.is_empty() || !neg_suffix.is_empty())
        && text.len() >= neg_prefix.len() + neg_suffix.len()
        && text.starts_with(&neg_prefix)
        && text.ends_with(&neg_suffix);
    let (is_negative, body) = if is_negative_text {
        (true, &text[neg_prefix.len()..text.len() - neg_suffix.len()])
    } else if text.starts_with(&pos_prefix)
        && text.ends_with(&pos_suffix)
        && text.len() >= pos_prefix.len() + pos_suffix.len()
    {
        (false, &text[pos_prefix.len()..text.len() - pos_suffix.len()])
    } else {
        return None;
    };
    let grouping = positive.contains(',');
    let cleaned: String = body.chars().filter(|c| !(grouping && *c == ',')).collect();
    if cleaned.is_empty()
        || !cleaned.chars().all(|c| c.is_ascii_digit() || c == '.')
        || cleaned.matches('.').count() > 1
    {
        return None;
    }
    let mut value = parse_big_decimal(&cleaned)?;
    value.negative = is_negative && !value.digits.is_empty();
    if pos_suffix.contains('%') {
        value.scale += 2;
    }
    Some(value)
}

fn parse_number(text: &str, formatters: &Option<Vec<String>>) -> Option<BigDec> {
    match formatters {
        Some(patterns) => patterns.iter().find_map(|p| parse_decimal_format(text, p)),
        None => parse_big_decimal(text),
    }
}

/// An integer (Java `Integer.parseInt`/`Long.parseLong` rules, or `E+` notation, or formatters).
pub fn to_integer(text: &str, formatters: &Option<Vec<String>>, min: i128, max: i128) -> Option<i128> {
    let value = match formatters {
        None if text.contains("E+") || text.contains("e+") => parse_big_decimal(text)?.exact_integer()?,
        None => {
            if !is_java_int(text) {
                return None;
            }
            text.parse::<i128>().ok()?
        }
        Some(_) => parse_number(text, formatters)?.exact_integer()?,
    };
    (min..=max).contains(&value).then_some(value)
}

/// A double (Java `Double.parseDouble` rules; infinite results are errors).
pub fn to_double(text: &str, formatters: &Option<Vec<String>>) -> Option<f64> {
    let value = match formatters {
        None => {
            if !JAVA_DOUBLE.is_match(text) {
                return None;
            }
            let t = text.trim().trim_end_matches(['f', 'F', 'd', 'D']);
            if t.ends_with("NaN") {
                f64::NAN
            } else if t.ends_with("Infinity") {
                return None;
            } else {
                t.parse::<f64>().ok()?
            }
        }
        Some(_) => {
            let d = parse_number(text, formatters)?;
            let s = format!(
                "{}{}e{}",
                if d.negative { "-" } else { "" },
                if d.digits.is_empty() { "0" } else { &d.digits },
                -d.scale
            );
            s.parse::<f64>().ok()?
        }
    };
    value.is_finite().then_some(value).or(value.is_nan().then_some(value))
}

/// A decimal(p, s) as its unscaled i128 value.
pub fn to_decimal(text: &str, precision: u8, scale: i8, formatters: &Option<Vec<String>>) -> Option<i128> {
    let value = parse_number(text, formatters)?.rescale(i64::from(scale))?;
    (value.unsigned_abs() < 10u128.pow(u32::from(precision))).then_some(value)
}

/// A time of day rendered as ISO_LOCAL_TIME (`12:34:00`, `12:34:56.5`).
pub fn iso_local_time(time: NaiveTime) -> String {
    let base = time.format("%H:%M:%S").to_string();
    let nanos = time.nanosecond() % 1_000_000_000;
    if nanos == 0 {
        base
    } else {
        let frac = format!("{nanos:09}");
        format!("{base}.{}", frac.trim_end_matches('0'))
    }
}

use chrono::Timelike;

/// Bytes from base64 (lenient: whitespace ignored, padding optional) or hexadecimal (Arc's
/// 64-bit quirk: the value must fit a signed long).
pub fn to_binary(text: &str, base64_encoding: bool) -> Option<Vec<u8>> {
    if base64_encoding {
        use base64::Engine;
        let cleaned: String = text.chars().filter(|c| !c.is_whitespace()).collect();
        if !cleaned.chars().all(|c| c.is_ascii_alphanumeric() || "+/=".contains(c)) {
            return None;
        }
        let engine = base64::engine::GeneralPurpose::new(
            &base64::alphabet::STANDARD,
            base64::engine::GeneralPurposeConfig::new()
                .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent),
        );
        engine.decode(cleaned.trim_end_matches('=')).ok()
    } else {
        i64::from_str_radix(text, 16).ok()?;
        let padded = if text.len() % 2 == 1 { format!("0{text}") } else { text.to_string() };
        (0..padded.len()).step_by(2).map(|i| u8::from_str_radix(&padded[i..i + 2], 16).ok()).collect()
    }
}

/// The error message for a value that does not convert.
pub fn conversion_error(value: &str, kind: &FieldKind) -> String {
    match kind {
        FieldKind::Integer { formatters } => {
            format!(
                "Unable to convert '{value}' to integer using formatters {}",
                formatters_text(formatters, DEFAULT_INT_FORMATTERS)
            )
        }
        FieldKind::Long { formatters } => {
            format!(
                "Unable to convert '{value}' to long using formatters {}",
                formatters_text(formatters, DEFAULT_INT_FORMATTERS)
            )
        }
        FieldKind::Double { formatters } => format!(
            "Unable to convert '{value}' to double using formatters {}",
            formatters_text(formatters, DEFAULT_DECIMAL_FORMATTERS)
        ),
        FieldKind::Decimal { precision, scale, formatters } => format!(
            "Unable to convert '{value}' to decimal({precision}, {scale}) using formatters {}",
            formatters_text(formatters, DEFAULT_DECIMAL_FORMATTERS)
        ),
        FieldKind::Boolean { true_values, false_values } => format!(
            "Unable to convert '{value}' to boolean using provided true values: {} or false values: {}",
            list(true_values),
            list(false_values)
        ),
        FieldKind::Date { formatters, .. } => {
            format!("Unable to convert '{value}' to date using formatters {}", list(formatters))
        }
        FieldKind::Timestamp { formatters, timezone_id, .. } => format!(
            "Unable to convert '{value}' to timestamp using formatters {} and timezone '{timezone_id}'",
            list(formatters)
        ),
        FieldKind::Time { formatters, .. } => {
            format!("Unable to convert '{value}' to time using formatters {}", list(formatters))
        }
        FieldKind::Binary { base64: true } => format!("Unable to convert '{value}' to binary using 'base64' decoding."),
        FieldKind::Binary { base64: false } => {
            format!("Unable to convert '{value}' to binary using 'hexadecimal' decoding.")
        }
        FieldKind::String { .. } | FieldKind::Struct | FieldKind::Array => format!("Unable to convert '{value}'"),
    }
}

/// String validators: minLength, maxLength, regex (messages joined by a space).
pub fn validate_string(value: &str, kind: &FieldKind) -> Option<String> {
    let FieldKind::String { min_length, max_length, regex } = kind else { return None };
    if min_length.is_none() && max_length.is_none() && regex.is_none() {
        return None;
    }
    let len = value.chars().count();
    let mut messages = Vec::new();
    if let Some(min) = min_length
        && len < *min
    {
        messages.push(format!("String '{value}' ({len} characters) is less than minLength ({min})."));
    }
    if let Some(max) = max_length
        && len > *max
    {
        messages.push(format!("String '{value}' ({len} characters) is greater than maxLength ({max})."));
    }
    if let Some(re) = regex
        && !re.is_match(value)
    {
        let shown = re.as_str().trim_start_matches("^(?:").trim_end_matches(")$");
        messages.push(format!("String '{value}' does not match regex '{shown}'."));
    }
    (!messages.is_empty()).then(|| messages.join(" "))
}
