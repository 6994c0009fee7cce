//! Spark's interval literals, read before the statement is parsed (sqlparser reads neither
//! Spark's multi-unit form nor `'1-1' YEAR TO MONTH`, and DataFusion types every interval
//! as `Interval(MonthDayNano)`, which has no Spark type).
//!
//! Forms Spark accepts:
//!
//! - `INTERVAL [-]'<text>' <unit> [TO <unit>]`: `INTERVAL '2021-11' YEAR TO MONTH`,
//!   `INTERVAL '123 23:55:59.002001' DAY TO SECOND`, `INTERVAL -'1-1' YEAR TO MONTH`,
//!   `INTERVAL '-1' MONTH`;
//! - `INTERVAL <value> <unit> [<value> <unit>]...`: `interval 5 days 3 hours 7 minutes`,
//!   `INTERVAL 1 DAY` (values are numbers or quoted numbers, with an optional sign);
//! - `INTERVAL '<value> <unit> ...'`: `interval '2147483647 months'`.
//!
//! Spark's typing: units of years and months only make an `interval year to month`
//! (Arrow `Interval(YearMonth)`, months), units from days to microseconds only an
//! `interval day to second` (Arrow `Duration(Microsecond)`); both at once is Spark's legacy
//! `CalendarInterval`, not supported yet. Each literal becomes a call of
//! `weir_interval_ym(months)` or `weir_interval_dt(micros)` (`weir_interval_days(micros)` for
//! a literal in days only, Spark's `interval day`, which a date adds as days; see
//! [`crate::sql::functions::datetime::interval`]), which fold to typed literals. A literal
//! that is a window frame bound (`RANGE BETWEEN INTERVAL 1 DAY PRECEDING ...`) is written in
//! the single-unit form DataFusion's window frames read.

use std::borrow::Cow;

const MICROS_PER_SECOND: i128 = 1_000_000;
const MICROS_PER_MINUTE: i128 = 60 * MICROS_PER_SECOND;
const MICROS_PER_HOUR: i128 = 60 * MICROS_PER_MINUTE;
const MICROS_PER_DAY: i128 = 24 * MICROS_PER_HOUR;

/// A unit of an interval literal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Unit {
    Year,
    Month,
    Week,
    Day,
    Hour,
    Minute,
    Second,
    Millisecond,
    Microsecond,
}

impl Unit {
    fn parse(word: &str) -> Option<Unit> {
        Some(match word.to_ascii_lowercase().as_str() {
            "year" | "years" => Unit::Year,
            "month" | "months" => Unit::Month,
            "week" | "weeks" => Unit::Week,
            "day" | "days" => Unit::Day,
            "hour" | "hours" => Unit::Hour,
            "minute" | "minutes" => Unit::Minute,
            "second" | "seconds" => Unit::Second,
            "millisecond" | "milliseconds" => Unit::Millisecond,
            "microsecond" | "microseconds" => Unit::Microsecond,
            _ => return None,
        })
    }

    fn is_year_month(self) -> bool {
        matches!(self, Unit::Year | Unit::Month)
    }

    /// Months (year-month units) or microseconds (the others) in one unit.
    fn size(self) -> i128 {
        match self {
            Unit::Year => 12,
            Unit::Month => 1,
            Unit::Week => 7 * MICROS_PER_DAY,
            Unit::Day => MICROS_PER_DAY,
            Unit::Hour => MICROS_PER_HOUR,
            Unit::Minute => MICROS_PER_MINUTE,
            Unit::Second => MICROS_PER_SECOND,
            Unit::Millisecond => 1_000,
            Unit::Microsecond => 1,
        }
    }
}

/// The value of a Spark interval literal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IntervalValue {
    /// `interval year to month`: months.
    YearMonth(i32),
    /// `interval day to second`: microseconds.
    DayTime(i64),
    /// Spark's `interval day` (a literal in days only): microseconds of whole days.
    Days(i64),
}

fn not_supported(text: &str, why: &str) -> String {
    format!("the interval literal {text} is not supported yet ({why})")
}

fn invalid(text: &str, why: &str) -> String {
    format!("[INVALID_INTERVAL_FORMAT] cannot read the interval literal {text}: {why}")
}

/// `digits[.digits]` with an optional sign, as a count of `unit`s (a fraction only of seconds).
fn amount(text: &str, unit: Unit, literal: &str) -> Result<i128, String> {
    let t = text.trim();
    let (negative, t) = match t.strip_prefix('-') {
        Some(rest) => (true, rest.trim_start()),
        None => (false, t.strip_prefix('+').unwrap_or(t).trim_start()),
    };
    let (whole, fraction) = t.split_once('.').unwrap_or((t, ""));
    if whole.is_empty() && fraction.is_empty()
        || !whole.chars().all(|c| c.is_ascii_digit())
        || !fraction.chars().all(|c| c.is_ascii_digit())
    {
        return Err(invalid(literal, &format!("'{text}' is not a number of {unit:?}s")));
    }
    let whole_value: i128 =
        if whole.is_empty() { 0 } else { whole.parse().map_err(|_| invalid(literal, "a value out of range"))? };
    let size = unit.size();
    let mut value = whole_value.checked_mul(size).ok_or_else(|| invalid(literal, "a value out of range"))?;
    if !fraction.is_empty() && fraction.chars().any(|c| c != '0') {
        if unit != Unit::Second {
            return Err(not_supported(literal, "a fraction of a unit other than seconds"));
        }
        // Microseconds of the fraction (Spark keeps at most six digits).
        let digits: String = fraction.chars().chain(std::iter::repeat('0')).take(18).collect();
        let parts: i128 = digits.parse().map_err(|_| invalid(literal, "a bad fraction"))?;
        let micros = parts * size / 1_000_000_000_000_000_000;
        if micros * 1_000_000_000_000_000_000 != parts * size {
            return Err(not_supported(literal, "a fraction finer than a microsecond"));
        }
        value += micros;
    }
    Ok(if negative { -value } else { value })
}

/// `'<text>' FROM TO TO` (`'1-2' YEAR TO MONTH`, `'1 2:03:04.5' DAY TO SECOND`...).
fn ranged(text: &str, from: Unit, to: Unit, literal: &str) -> Result<IntervalValue, String> {
    let t = text.trim();
    let (negative, body) = match t.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, t.strip_prefix('+').unwrap_or(t)),
    };
    let bad = || invalid(literal, &format!("'{text}' does not match {from:?} TO {to:?}"));
    let sign = |v: i128| if negative { -v } else { v };
    if from == Unit::Year && to == Unit::Month {
        let (y, m) = body.split_once('-').ok_or_else(bad)?;
        let (y, m): (i128, i128) = (y.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
        if m > 11 {
            return Err(invalid(literal, "the month must be in 0..11"));
        }
        return year_month(sign(y * 12 + m), literal);
    }
    let order = [Unit::Day, Unit::Hour, Unit::Minute, Unit::Second];
    let (Some(start), Some(end)) = (order.iter().position(|u| *u == from), order.iter().position(|u| *u == to)) else {
        return Err(bad());
    };
    if start >= end {
        return Err(bad());
    }
    // DAY is separated by a space, the rest by colons.
    let mut fields: Vec<&str> = Vec::new();
    let rest = if from == Unit::Day {
        let (d, rest) = body.split_once(' ').ok_or_else(bad)?;
        fields.push(d);
        rest.trim_start()
    } else {
        body
    };
    fields.extend(rest.split(':'));
    if fields.len() != end - start + 1 {
        return Err(bad());
    }
    let mut total: i128 = 0;
    for (i, field) in fields.iter().enumerate() {
        let unit = order[start + i];
        if field.starts_with(['-', '+']) || field.is_empty() {
            return Err(bad());
        }
        if unit != Unit::Second && field.contains('.') {
            return Err(bad());
        }
        let v = amount(field, unit, literal)?;
        let limit = match unit {
            Unit::Hour if i > 0 => Some(23),
            Unit::Minute if i > 0 => Some(59),
            _ => None,
        };
        if let Some(limit) = limit
            && v / unit.size() > limit
        {
            return Err(invalid(literal, &format!("{unit:?} out of range")));
        }
        if unit == Unit::Second && i > 0 && v >= 60 * MICROS_PER_SECOND {
            return Err(invalid(literal, "second out of range"));
        }
        total += v;
    }
    day_time(sign(total), literal)
}

fn year_month(months: i128, literal: &str) -> Result<IntervalValue, String> {
    i32::try_from(months).map(IntervalValue::YearMonth).map_err(|_| invalid(literal, "months out of range"))
}

fn day_time(micros: i128, literal: &str) -> Result<IntervalValue, String> {
    i64::try_from(micros).map(IntervalValue::DayTime).map_err(|_| invalid(literal, "microseconds out of range"))
}

/// The sum of `value unit` pairs.
fn units(pairs: &[(String, Unit)], literal: &str) -> Result<IntervalValue, String> {
    let year_month_units = pairs.iter().filter(|(_, u)| u.is_year_month()).count();
    if year_month_units != 0 && year_month_units != pairs.len() {
        return Err(not_supported(literal, "years or months with days or time: Spark's CalendarInterval"));
    }
    let mut total: i128 = 0;
    for (text, unit) in pairs {
        total =
            total.checked_add(amount(text, *unit, literal)?).ok_or_else(|| invalid(literal, "a value out of range"))?;
    }
    if year_month_units != 0 {
        return year_month(total, literal);
    }
    match day_time(total, literal)? {
        IntervalValue::DayTime(us) if pairs.iter().all(|(_, u)| *u == Unit::Day) => Ok(IntervalValue::Days(us)),
        other => Ok(other),
    }
}

/// A lexer over the statement's characters.
struct Cursor<'a> {
    chars: &'a [char],
    at: usize,
}

impl Cursor<'_> {
    fn skip_space(&mut self) {
        while self.chars.get(self.at).is_some_and(|c| c.is_whitespace()) {
            self.at += 1;
        }
    }
    fn word(&mut self) -> Option<String> {
        self.skip_space();
        let start = self.at;
        while self.chars.get(self.at).is_some_and(|c| c.is_ascii_alphanumeric() || *c == '_') {
            self.at += 1;
        }
        if start == self.at || self.chars[start].is_ascii_digit() {
            self.at = start;
            return None;
        }
        Some(self.chars[start..self.at].iter().collect())
    }
    fn unit(&mut self) -> Option<Unit> {
        let save = self.at;
        let unit = self.word().and_then(|w| Unit::parse(&w));
        if unit.is_none() {
            self.at = save;
        }
        unit
    }
    fn keyword(&mut self, keyword: &str) -> bool {
        let save = self.at;
        if self.word().is_some_and(|w| w.eq_ignore_ascii_case(keyword)) {
            return true;
        }
        self.at = save;
        false
    }
    /// A quoted string's contents (no escapes inside interval text).
    fn quoted(&mut self) -> Option<String> {
        let quote = *self.chars.get(self.at)?;
        if quote != '\'' && quote != '"' {
            return None;
        }
        let start = self.at + 1;
        let len = self.chars[start..].iter().position(|c| *c == quote || *c == '\\')?;
        if self.chars[start + len] != quote {
            return None;
        }
        self.at = start + len + 1;
        Some(self.chars[start..start + len].iter().collect())
    }
    fn number(&mut self) -> Option<String> {
        let start = self.at;
        while self.chars.get(self.at).is_some_and(|c| c.is_ascii_digit() || *c == '.') {
            self.at += 1;
        }
        let next_is_word = self.chars.get(self.at).is_some_and(|c| c.is_ascii_alphabetic() || *c == '_');
        if start == self.at || next_is_word {
            self.at = start;
            return None;
        }
        Some(self.chars[start..self.at].iter().collect())
    }
    /// `[+|-] (number | 'text')`: the sign, the text and whether it was quoted.
    fn value(&mut self) -> Option<(bool, String, bool)> {
        let save = self.at;
        self.skip_space();
        let negative = match self.chars.get(self.at) {
            Some('-') => {
                self.at += 1;
                true
            }
            Some('+') => {
                self.at += 1;
                false
            }
            _ => false,
        };
        self.skip_space();
        if let Some(text) = self.quoted() {
            return Some((negative, text, true));
        }
        if let Some(text) = self.number() {
            return Some((negative, text, false));
        }
        self.at = save;
        None
    }
}

fn negated(negative: bool, text: &str) -> String {
    if !negative {
        return text.to_string();
    }
    match text.trim().strip_prefix('-') {
        Some(rest) => rest.to_string(),
        None => format!("-{}", text.trim()),
    }
}

/// Reads one interval literal after the keyword `INTERVAL`; None when what follows is no
/// literal (a type name, `INTERVAL` as a column name), leaving the text to the parser.
fn literal(cursor: &mut Cursor<'_>, literal_text: impl Fn(usize) -> String) -> Option<Result<IntervalValue, String>> {
    let start = cursor.at;
    let (negative, first, quoted) = cursor.value()?;
    let Some(unit) = cursor.unit() else {
        // `INTERVAL '1 day 2 hours'`: the units are in the text.
        if !quoted {
            cursor.at = start;
            return None;
        }
        let text = literal_text(cursor.at);
        let words: Vec<&str> = first.split_whitespace().collect();
        if words.is_empty() || words.len() % 2 != 0 {
            return Some(Err(not_supported(&text, "text that is not pairs of a number and a unit")));
        }
        let mut pairs = Vec::new();
        for pair in words.chunks(2) {
            let Some(unit) = Unit::parse(pair[1]) else {
                return Some(Err(not_supported(&text, &format!("the unit '{}'", pair[1]))));
            };
            pairs.push((negated(negative, pair[0]), unit));
        }
        return Some(units(&pairs, &text));
    };
    let after_unit = cursor.at;
    if cursor.keyword("to") {
        if let Some(to) = cursor.unit() {
            let text = literal_text(cursor.at);
            return Some(ranged(&negated(negative, &first), unit, to, &text));
        }
        cursor.at = after_unit;
    }
    let mut pairs = vec![(negated(negative, &first), unit)];
    loop {
        let save = cursor.at;
        let Some((negative, text, _)) = cursor.value() else { break };
        let Some(unit) = cursor.unit() else {
            cursor.at = save;
            break;
        };
        pairs.push((negated(negative, &text), unit));
    }
    let text = literal_text(cursor.at);
    Some(units(&pairs, &text))
}

/// The SQL of a literal's value: a call that folds to the typed literal, or in a window frame
/// bound the single-unit form DataFusion reads there.
fn render(value: IntervalValue, frame_bound: bool) -> String {
    match (value, frame_bound) {
        (IntervalValue::YearMonth(m), false) => format!("weir_interval_ym({m})"),
        (IntervalValue::DayTime(us), false) => format!("weir_interval_dt({us})"),
        (IntervalValue::Days(us), false) => format!("weir_interval_days({us})"),
        (IntervalValue::Days(us), true) => render(IntervalValue::DayTime(us), true),
        (IntervalValue::YearMonth(m), true) => format!("INTERVAL '{m}' MONTH"),
        (IntervalValue::DayTime(us), true) if i128::from(us) % MICROS_PER_DAY == 0 => {
            format!("INTERVAL '{}' DAY", i128::from(us) / MICROS_PER_DAY)
        }
        (IntervalValue::DayTime(us), true) if i128::from(us) % MICROS_PER_SECOND == 0 => {
            format!("INTERVAL '{}' SECOND", i128::from(us) / MICROS_PER_SECOND)
        }
        (IntervalValue::DayTime(us), true) => format!("INTERVAL '{us}' MICROSECOND"),
    }
}

/// Rewrites every Spark interval literal of `sql` (see the module doc); an error for a
/// literal Spark rejects or Weir does not support.
pub fn rewrite(sql: &str) -> Result<Cow<'_, str>, String> {
    let lower = sql.to_ascii_lowercase();
    if !lower.contains("interval") {
        return Ok(Cow::Borrowed(sql));
    }
    let chars: Vec<char> = sql.chars().collect();
    let mut out = String::with_capacity(sql.len());
    let mut changed = false;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        // Skip quoted text and comments.
        if c == '\'' || c == '"' || c == '`' {
            let mut j = i + 1;
            while j < chars.len() && chars[j] != c {
                if chars[j] == '\\' && c != '`' {
                    j += 1;
                }
                j += 1;
            }
            let end = (j + 1).min(chars.len());
            out.extend(&chars[i..end]);
            i = end;
            continue;
        }
        if c == '-' && chars.get(i + 1) == Some(&'-') {
            let end = chars[i..].iter().position(|c| *c == '\n').map_or(chars.len(), |p| i + p);
            out.extend(&chars[i..end]);
            i = end;
            continue;
        }
        if c == '/' && chars.get(i + 1) == Some(&'*') {
            let end = chars[i + 2..].windows(2).position(|w| w == ['*', '/']).map_or(chars.len(), |p| i + 2 + p + 2);
            out.extend(&chars[i..end]);
            i = end;
            continue;
        }
        let boundary_before = i == 0 || !(chars[i - 1].is_ascii_alphanumeric() || matches!(chars[i - 1], '_' | '.'));
        let is_keyword = boundary_before
            && chars.len() >= i + 8
            && chars[i..i + 8].iter().collect::<String>().eq_ignore_ascii_case("interval")
            && !chars.get(i + 8).is_some_and(|c| c.is_ascii_alphanumeric() || *c == '_');
        if is_keyword {
            let mut cursor = Cursor { chars: &chars, at: i + 8 };
            let text_of = |end: usize| chars[i..end].iter().collect::<String>();
            if let Some(result) = literal(&mut cursor, text_of) {
                let value = result?;
                let end = cursor.at;
                let mut probe = Cursor { chars: &chars, at: end };
                let frame_bound = probe.keyword("preceding") || probe.keyword("following");
                out.push(' ');
                out.push_str(&render(value, frame_bound));
                out.push(' ');
                i = end;
                changed = true;
                continue;
            }
        }
        out.push(c);
        i += 1;
    }
    Ok(if changed { Cow::Owned(out) } else { Cow::Borrowed(sql) })
}

/// `-INTERVAL 1 DAY`: the literal negated (DataFusion's unary minus takes no Spark interval).
pub fn negate_literal(expr: &mut datafusion::sql::sqlparser::ast::Expr) {
    use datafusion::sql::sqlparser::ast::{Expr, FunctionArg, FunctionArgExpr, FunctionArguments, UnaryOperator};
    let Expr::UnaryOp { op: UnaryOperator::Minus, expr: inner } = expr else { return };
    let Expr::Function(f) = inner.as_mut() else { return };
    let name = f.name.to_string();
    if !matches!(name.as_str(), "weir_interval_ym" | "weir_interval_dt" | "weir_interval_days") {
        return;
    }
    let FunctionArguments::List(list) = &mut f.args else { return };
    let [FunctionArg::Unnamed(FunctionArgExpr::Expr(arg))] = list.args.as_mut_slice() else { return };
    *arg = Expr::UnaryOp { op: UnaryOperator::Minus, expr: Box::new(Expr::Nested(Box::new(arg.clone()))) };
    *expr = inner.as_ref().clone();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn value(sql: &str) -> Result<String, String> {
        rewrite(sql).map(|s| s.trim().to_string())
    }

    #[test]
    fn reads_spark_interval_literals() {
        let us = |d: i64, h: i64, m: i64, s: i64, micro: i64| {
            format!("weir_interval_dt({})", (((d * 24 + h) * 60 + m) * 60 + s) * 1_000_000 + micro)
        };
        assert_eq!(value("interval 5 days 3 hours 7 minutes"), Ok(us(5, 3, 7, 0, 0)));
        assert_eq!(value("interval 5 hours 30 seconds 1 milliseconds 1 microseconds"), Ok(us(0, 5, 0, 30, 1001)));
        assert_eq!(value("INTERVAL '2021-11' YEAR TO MONTH"), Ok("weir_interval_ym(24263)".into()));
        assert_eq!(value("INTERVAL '123 23:55:59.002001' DAY TO SECOND"), Ok(us(123, 23, 55, 59, 2001)));
        assert_eq!(value("INTERVAL -'1-1' YEAR TO MONTH"), Ok("weir_interval_ym(-13)".into()));
        assert_eq!(value("INTERVAL '-1' MONTH"), Ok("weir_interval_ym(-1)".into()));
        assert_eq!(value("interval '2147483647 months'"), Ok("weir_interval_ym(2147483647)".into()));
        assert_eq!(value("INTERVAL 1 DAY"), Ok("weir_interval_days(86400000000)".into()));
        assert_eq!(value("INTERVAL '-2' DAY"), Ok("weir_interval_days(-172800000000)".into()));
        assert_eq!(value("interval 1 year"), Ok("weir_interval_ym(12)".into()));
        assert_eq!(
            value("INTERVAL '-1 2:03:04' DAY TO SECOND"),
            Ok(format!("weir_interval_dt(-{})", 93_784_000_000i64))
        );
        assert_eq!(value("INTERVAL '1.5' SECOND"), Ok(us(0, 0, 0, 1, 500_000)));
        assert_eq!(value("INTERVAL -'100' YEAR"), Ok("weir_interval_ym(-1200)".into()));
        assert!(value("interval 1 year 2 days").is_err_and(|e| e.contains("not supported yet")));
        assert!(value("interval '2147483648 months'").is_err());
    }

    #[test]
    fn leaves_other_text() {
        assert_eq!(value("SELECT 'interval 1 day', `interval`"), Ok("SELECT 'interval 1 day', `interval`".into()));
        assert_eq!(value("SELECT interval FROM t"), Ok("SELECT interval FROM t".into()));
        assert_eq!(value("CAST(x AS INTERVAL DAY)"), Ok("CAST(x AS INTERVAL DAY)".into()));
        assert_eq!(
            value("RANGE BETWEEN INTERVAL 1 DAY PRECEDING AND CURRENT ROW"),
            Ok("RANGE BETWEEN  INTERVAL '1' DAY  PRECEDING AND CURRENT ROW".into())
        );
        assert_eq!(value("SELECT interval 1 day, 2"), Ok("SELECT  weir_interval_days(86400000000) , 2".into()));
    }
}
