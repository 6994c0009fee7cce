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

use datafusion::sql::sqlparser::ast;

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

    /// Spark's interval field of this unit (weeks count in days, sub-second units in seconds)
    /// and its place from the widest (YEAR) to the narrowest (SECOND).
    fn field(self) -> (u8, &'static str) {
        match self {
            Unit::Year => (0, "year"),
            Unit::Month => (1, "month"),
            Unit::Week | Unit::Day => (2, "day"),
            Unit::Hour => (3, "hour"),
            Unit::Minute => (4, "minute"),
            Unit::Second | Unit::Millisecond | Unit::Microsecond => (5, "second"),
        }
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

/// A literal's value and Spark's type of it: `interval day`, `interval hour to second`...
#[derive(Debug, Clone, PartialEq, Eq)]
struct Literal {
    value: IntervalValue,
    spark_type: String,
}

impl Literal {
    /// Spark types a literal by its widest and narrowest fields.
    fn new(value: IntervalValue, widest: Unit, narrowest: Unit) -> Literal {
        let (from, to) = (widest.field(), narrowest.field());
        let spark_type =
            if from.0 == to.0 { format!("interval {}", from.1) } else { format!("interval {} to {}", from.1, to.1) };
        Literal { value, spark_type }
    }
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
fn ranged(text: &str, from: Unit, to: Unit, literal: &str) -> Result<Literal, String> {
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
        return Ok(Literal::new(year_month(sign(y * 12 + m), literal)?, from, to));
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
    Ok(Literal::new(day_time(sign(total), literal)?, from, to))
}

fn year_month(months: i128, literal: &str) -> Result<IntervalValue, String> {
    i32::try_from(months).map(IntervalValue::YearMonth).map_err(|_| invalid(literal, "months out of range"))
}

fn day_time(micros: i128, literal: &str) -> Result<IntervalValue, String> {
    i64::try_from(micros).map(IntervalValue::DayTime).map_err(|_| invalid(literal, "microseconds out of range"))
}

/// The sum of `value unit` pairs.
fn units(pairs: &[(String, Unit)], literal: &str) -> Result<Literal, String> {
    let year_month_units = pairs.iter().filter(|(_, u)| u.is_year_month()).count();
    if year_month_units != 0 && year_month_units != pairs.len() {
        return Err(not_supported(literal, "years or months with days or time: Spark's CalendarInterval"));
    }
    let mut total: i128 = 0;
    for (text, unit) in pairs {
        total =
            total.checked_add(amount(text, *unit, literal)?).ok_or_else(|| invalid(literal, "a value out of range"))?;
    }
    let by_width = |u: &&(String, Unit)| u.1.field().0;
    let widest = pairs.iter().min_by_key(by_width).map_or(Unit::Second, |p| p.1);
    let narrowest = pairs.iter().max_by_key(by_width).map_or(Unit::Second, |p| p.1);
    let value = if year_month_units != 0 {
        year_month(total, literal)?
    } else {
        match day_time(total, literal)? {
            IntervalValue::DayTime(us) if pairs.iter().all(|(_, u)| u.field().0 == Unit::Day.field().0) => {
                IntervalValue::Days(us)
            }
            other => other,
        }
    };
    Ok(Literal::new(value, widest, narrowest))
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
fn literal(cursor: &mut Cursor<'_>, literal_text: impl Fn(usize) -> String) -> Option<Result<Literal, String>> {
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

/// The SQL of a literal: a call that folds to the typed literal (its second argument is
/// Spark's type name, kept as the field's metadata), or in a window frame bound the
/// single-unit form DataFusion reads there.
fn render(literal: &Literal, frame_bound: bool) -> String {
    if frame_bound {
        return frame_bound_text(literal.value);
    }
    let t = &literal.spark_type;
    match literal.value {
        IntervalValue::YearMonth(m) => format!("weir_interval_ym({m}, '{t}')"),
        IntervalValue::DayTime(us) => format!("weir_interval_dt({us}, '{t}')"),
        IntervalValue::Days(us) => format!("weir_interval_days({us}, '{t}')"),
    }
}

fn frame_bound_text(value: IntervalValue) -> String {
    match value {
        IntervalValue::Days(us) => frame_bound_text(IntervalValue::DayTime(us)),
        IntervalValue::YearMonth(m) => format!("INTERVAL '{m}' MONTH"),
        IntervalValue::DayTime(us) if i128::from(us) % MICROS_PER_DAY == 0 => {
            format!("INTERVAL '{}' DAY", i128::from(us) / MICROS_PER_DAY)
        }
        IntervalValue::DayTime(us) if i128::from(us) % MICROS_PER_SECOND == 0 => {
            format!("INTERVAL '{}' SECOND", i128::from(us) / MICROS_PER_SECOND)
        }
        IntervalValue::DayTime(us) => format!("INTERVAL '{us}' MICROSECOND"),
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
                out.push_str(&render(&value, frame_bound));
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
    let Some(FunctionArg::Unnamed(FunctionArgExpr::Expr(arg))) = list.args.first_mut() else { return };
    *arg = Expr::UnaryOp { op: UnaryOperator::Minus, expr: Box::new(Expr::Nested(Box::new(arg.clone()))) };
    *expr = inner.as_ref().clone();
}

const LITERAL_FUNCTIONS: [&str; 3] = ["weir_interval_ym", "weir_interval_dt", "weir_interval_days"];

/// The interval literal call `expr` is (after [`rewrite`]): its name and the arguments.
fn literal_call(expr: &mut ast::Expr) -> Option<(String, &mut Vec<ast::FunctionArg>)> {
    let ast::Expr::Function(f) = expr else { return None };
    let name = f.name.to_string().to_ascii_lowercase();
    if !LITERAL_FUNCTIONS.contains(&name.as_str()) {
        return None;
    }
    let ast::FunctionArguments::List(list) = &mut f.args else { return None };
    Some((name, &mut list.args))
}

/// The subtype argument of a literal call.
fn subtype_of(args: &[ast::FunctionArg]) -> Option<String> {
    match args.get(1) {
        Some(ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(ast::Expr::Value(v)))) => match &v.value {
            ast::Value::SingleQuotedString(s) => Some(s.clone()),
            _ => None,
        },
        _ => None,
    }
}

fn string_arg(text: &str) -> ast::FunctionArg {
    ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(ast::Expr::value(ast::Value::SingleQuotedString(
        text.to_string(),
    ))))
}

/// Rows of one `VALUES` column must agree on their field metadata (DataFusion refuses the
/// list otherwise), so the interval literals of a column take Spark's common subtype
/// (`VALUES (INTERVAL 1 DAY), (INTERVAL 2 HOURS)` is an `interval day to hour`, a NULL row
/// one of the others' subtype). A column that mixes literals with other expressions loses
/// the subtypes (its type is named after the Arrow type). Year-month and day-time intervals
/// in one column are an error, as in Spark (they have no common type).
pub fn consistent_values(statement: &mut ast::Statement) -> Result<(), String> {
    use ast::{SetExpr, VisitMut, VisitorMut};
    fn set_expr(body: &mut SetExpr) -> Result<(), String> {
        match body {
            SetExpr::Values(values) => {
                let mut rows: Vec<&mut Vec<ast::Expr>> = values.rows.iter_mut().map(|r| &mut r.content).collect();
                columns(&mut rows)
            }
            SetExpr::SetOperation { left, right, .. } => {
                set_expr(left)?;
                set_expr(right)
            }
            _ => Ok(()),
        }
    }
    struct Queries;
    impl VisitorMut for Queries {
        type Break = String;
        fn post_visit_query(&mut self, query: &mut ast::Query) -> std::ops::ControlFlow<String> {
            match set_expr(&mut query.body) {
                Ok(()) => std::ops::ControlFlow::Continue(()),
                Err(e) => std::ops::ControlFlow::Break(e),
            }
        }
    }
    match statement.visit(&mut Queries) {
        std::ops::ControlFlow::Break(e) => Err(e),
        std::ops::ControlFlow::Continue(()) => Ok(()),
    }
}

fn columns(rows: &mut [&mut Vec<ast::Expr>]) -> Result<(), String> {
    use crate::sql::types::widen_interval_subtypes;
    let width = rows.iter().map(|r| r.len()).max().unwrap_or(0);
    for j in 0..width {
        // The literals' subtypes (None: a NULL), or no common subtype.
        let mut common: Option<Option<String>> = Some(None);
        let mut function = None;
        let mut any_literal = false;
        for row in rows.iter_mut() {
            let Some(e) = row.get_mut(j) else { continue };
            if matches!(e, ast::Expr::Value(v) if v.value == ast::Value::Null) {
                continue;
            }
            match literal_call(e) {
                Some((name, args)) => {
                    any_literal = true;
                    if function
                        .as_ref()
                        .is_some_and(|f: &String| (f == "weir_interval_ym") != (name == "weir_interval_ym"))
                    {
                        return Err(format!(
                            "[INCOMPATIBLE_TYPES] column {} of VALUES mixes year-month and day-time intervals, \
                             which have no common type",
                            j + 1
                        ));
                    }
                    let subtype = subtype_of(args);
                    common = match (common, subtype) {
                        (Some(None), Some(t)) => Some(Some(t)),
                        (Some(Some(c)), Some(t)) => widen_interval_subtypes(&c, &t).map(Some),
                        _ => None,
                    };
                    function.get_or_insert(name);
                }
                None => {
                    common = None;
                    any_literal |= mentions_literal(e);
                }
            }
        }
        if !any_literal {
            continue;
        }
        for row in rows.iter_mut() {
            let Some(e) = row.get_mut(j) else { continue };
            match (&common, function.as_deref()) {
                (Some(Some(subtype)), Some(function)) => {
                    if matches!(e, ast::Expr::Value(v) if v.value == ast::Value::Null) {
                        *e = ast::Expr::Function(ast::Function {
                            name: ast::ObjectName::from(vec![ast::Ident::new(function)]),
                            uses_odbc_syntax: false,
                            parameters: ast::FunctionArguments::None,
                            args: ast::FunctionArguments::List(ast::FunctionArgumentList {
                                duplicate_treatment: None,
                                args: vec![
                                    ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(ast::Expr::value(
                                        ast::Value::Null,
                                    ))),
                                    string_arg(subtype),
                                ],
                                clauses: Vec::new(),
                            }),
                            filter: None,
                            null_treatment: None,
                            over: None,
                            within_group: Vec::new(),
                        });
                    } else if let Some((_, args)) = literal_call(e) {
                        args.truncate(1);
                        args.push(string_arg(subtype));
                    }
                }
                _ => strip_subtypes(e),
            }
        }
    }
    Ok(())
}

fn mentions_literal(e: &mut ast::Expr) -> bool {
    use ast::{VisitMut, VisitorMut};
    struct Finds;
    impl VisitorMut for Finds {
        type Break = ();
        fn pre_visit_expr(&mut self, e: &mut ast::Expr) -> std::ops::ControlFlow<()> {
            if literal_call(e).is_some() {
                std::ops::ControlFlow::Break(())
            } else {
                std::ops::ControlFlow::Continue(())
            }
        }
    }
    e.visit(&mut Finds).is_break()
}

fn strip_subtypes(e: &mut ast::Expr) {
    use ast::{VisitMut, VisitorMut};
    struct Strip;
    impl VisitorMut for Strip {
        type Break = ();
        fn post_visit_expr(&mut self, e: &mut ast::Expr) -> std::ops::ControlFlow<()> {
            if let Some((_, args)) = literal_call(e) {
                args.truncate(1);
            }
            std::ops::ControlFlow::Continue(())
        }
    }
    let _ = e.visit(&mut Strip);
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
            format!("weir_interval_dt({}", (((d * 24 + h) * 60 + m) * 60 + s) * 1_000_000 + micro)
        };
        assert_eq!(value("interval 5 days 3 hours 7 minutes"), Ok(us(5, 3, 7, 0, 0) + ", 'interval day to minute')"));
        assert_eq!(
            value("interval 5 hours 30 seconds 1 milliseconds 1 microseconds"),
            Ok(us(0, 5, 0, 30, 1001) + ", 'interval hour to second')")
        );
        assert_eq!(
            value("INTERVAL '2021-11' YEAR TO MONTH"),
            Ok("weir_interval_ym(24263, 'interval year to month')".into())
        );
        assert_eq!(
            value("INTERVAL '123 23:55:59.002001' DAY TO SECOND"),
            Ok(us(123, 23, 55, 59, 2001) + ", 'interval day to second')")
        );
        assert_eq!(
            value("INTERVAL -'1-1' YEAR TO MONTH"),
            Ok("weir_interval_ym(-13, 'interval year to month')".into())
        );
        assert_eq!(value("INTERVAL '-1' MONTH"), Ok("weir_interval_ym(-1, 'interval month')".into()));
        assert_eq!(value("interval '2147483647 months'"), Ok("weir_interval_ym(2147483647, 'interval month')".into()));
        assert_eq!(value("INTERVAL 1 DAY"), Ok("weir_interval_days(86400000000, 'interval day')".into()));
        assert_eq!(value("INTERVAL 2 weeks 1 day"), Ok("weir_interval_days(1296000000000, 'interval day')".into()));
        assert_eq!(value("INTERVAL '-2' DAY"), Ok("weir_interval_days(-172800000000, 'interval day')".into()));
        assert_eq!(value("interval 1 year"), Ok("weir_interval_ym(12, 'interval year')".into()));
        assert_eq!(value("interval 1 year 2 months"), Ok("weir_interval_ym(14, 'interval year to month')".into()));
        assert_eq!(value("interval 3 microseconds"), Ok("weir_interval_dt(3, 'interval second')".into()));
        assert_eq!(
            value("INTERVAL '-1 2:03:04' DAY TO SECOND"),
            Ok(format!("weir_interval_dt(-{}, 'interval day to second')", 93_784_000_000i64))
        );
        assert_eq!(value("INTERVAL '10:20' HOUR TO MINUTE"), Ok(us(0, 10, 20, 0, 0) + ", 'interval hour to minute')"));
        assert_eq!(value("INTERVAL '1.5' SECOND"), Ok(us(0, 0, 0, 1, 500_000) + ", 'interval second')"));
        assert_eq!(value("INTERVAL -'100' YEAR"), Ok("weir_interval_ym(-1200, 'interval year')".into()));
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
        assert_eq!(
            value("SELECT interval 1 day, 2"),
            Ok("SELECT  weir_interval_days(86400000000, 'interval day') , 2".into())
        );
    }

    fn values(sql: &str) -> Result<String, String> {
        let datafusion::sql::parser::Statement::Statement(mut statement) =
            crate::sql::plan::parse(sql).map_err(|e| e.to_string())?
        else {
            return Err("not a statement".into());
        };
        consistent_values(&mut statement)?;
        Ok(statement.to_string())
    }

    #[test]
    fn values_columns_share_one_interval_subtype() {
        assert_eq!(
            values("SELECT * FROM VALUES (INTERVAL 1 DAY), (INTERVAL 2 HOURS), (NULL) AS t(x)"),
            Ok("SELECT * FROM (VALUES (weir_interval_days(86400000000, 'interval day to hour')), \
                (weir_interval_dt(7200000000, 'interval day to hour')), \
                (weir_interval_days(NULL, 'interval day to hour'))) AS t (x)"
                .into())
        );
        assert_eq!(
            values("SELECT * FROM VALUES (INTERVAL 1 MONTH), (INTERVAL 1 MONTH) AS t(x)"),
            Ok("SELECT * FROM (VALUES (weir_interval_ym(1, 'interval month')), (weir_interval_ym(1, 'interval month'))) AS t (x)".into())
        );
        // Another expression: no subtypes in the column.
        assert_eq!(
            values("SELECT * FROM VALUES (INTERVAL 1 DAY * 2), (INTERVAL 1 DAY) AS t(x)"),
            Ok("SELECT * FROM (VALUES (weir_interval_days(86400000000) * 2), (weir_interval_days(86400000000))) AS t (x)".into())
        );
        assert!(
            values("SELECT * FROM VALUES (INTERVAL 1 DAY), (INTERVAL 1 MONTH) AS t(x)")
                .is_err_and(|e| e.contains("INCOMPATIBLE_TYPES") && e.contains("column 1"))
        );
    }
}
