//! Spark's time windows in GROUP BY, rewritten before planning:
//!
//! - `GROUP BY …, window(ts, '10 minutes'[, '5 minutes'[, '1 minute']])`: each row belongs
//!   to every window `[start, start + duration)` that contains `ts`, windows starting every
//!   `slide` (the duration by default) from the epoch plus `startTime`. The relation is
//!   rewritten to `(SELECT *, unnest(weir_time_windows(ts, duration, slide, start)) AS window
//!   FROM relation)`, one row per window, and the group key is the column `window`, a
//!   `struct<start, end>` of `ts`'s type (text is cast to TIMESTAMP).
//! - `GROUP BY …, session_window(ts, gap)`: per value of the other group keys, rows ordered
//!   by `ts` form one session while each starts before the latest `ts + gap` so far; the
//!   session is `struct<start: first ts, end: latest ts + gap>`. Rewritten with window
//!   functions over the relation; `gap` may differ per row (rows whose gap is not positive
//!   are dropped, as Spark drops them).
//!
//! Rows whose `ts` is NULL belong to no window. Durations are text such as `'5 minutes'` or
//! `'1 hour 30 seconds'` (no months or years, which Spark refuses).

use std::ops::ControlFlow;

use datafusion::sql::sqlparser::ast::{
    self, Expr, GroupByExpr, Ident, Select, Statement, TableFactor, Value, ValueWithSpan, VisitMut, VisitorMut,
};

/// Microseconds of a duration such as `5 minutes` or `1 hour 30 seconds` (an optional
/// leading `interval`); None when it is not one.
pub fn duration_micros(text: &str) -> Option<i64> {
    let lower = text.trim().to_ascii_lowercase();
    let mut words = lower.split_whitespace().peekable();
    if words.peek() == Some(&"interval") {
        words.next();
    }
    let mut total: i64 = 0;
    let mut any = false;
    while let Some(number) = words.next() {
        let unit = words.next()?;
        let (negative, digits) = match number.strip_prefix('-') {
            Some(d) => (true, d),
            None => (false, number.strip_prefix('+').unwrap_or(number)),
        };
        let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
        if whole.is_empty() && fraction.is_empty() {
            return None;
        }
        if !whole.bytes().all(|b| b.is_ascii_digit()) || !fraction.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let per: i64 = match unit.trim_end_matches('s') {
            "week" => 7 * 86_400_000_000,
            "day" => 86_400_000_000,
            "hour" => 3_600_000_000,
            "minute" => 60_000_000,
            "second" => 1_000_000,
            "millisecond" => 1_000,
            "microsecond" => 1,
            _ => return None,
        };
        if !fraction.is_empty() && per < 1_000_000 {
            return None;
        }
        let whole: i64 = if whole.is_empty() { 0 } else { whole.parse().ok()? };
        let mut value = whole.checked_mul(per)?;
        if !fraction.is_empty() {
            // Fractions of seconds (or larger units) down to microseconds.
            let scale = 10i64.checked_pow(u32::try_from(fraction.len()).ok()?)?;
            let frac: i64 = fraction.parse().ok()?;
            value = value.checked_add(i64::try_from(i128::from(frac) * i128::from(per) / i128::from(scale)).ok()?)?;
        }
        total = if negative { total.checked_sub(value)? } else { total.checked_add(value)? };
        any = true;
    }
    any.then_some(total)
}

fn string_literal(e: &Expr) -> Option<&str> {
    match e {
        Expr::Value(ValueWithSpan { value: Value::SingleQuotedString(s) | Value::DoubleQuotedString(s), .. }) => {
            Some(s)
        }
        _ => None,
    }
}

fn arguments(function: &ast::Function) -> Option<Vec<&Expr>> {
    let ast::FunctionArguments::List(list) = &function.args else { return None };
    list.args
        .iter()
        .map(|a| match a {
            ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(e)) => Some(e),
            _ => None,
        })
        .collect()
}

fn refuse<T>(what: &str) -> Result<T, String> {
    Err(format!("{what} is not supported yet"))
}

/// Rewrites `window(…)` and `session_window(…)` group keys (see the module doc).
pub fn time_windows(statement: &mut Statement) -> Result<(), String> {
    struct Windows;
    impl VisitorMut for Windows {
        type Break = String;
        fn pre_visit_select(&mut self, select: &mut Select) -> ControlFlow<String> {
            match rewrite_select(select) {
                Ok(()) => ControlFlow::Continue(()),
                Err(message) => ControlFlow::Break(message),
            }
        }
    }
    match VisitMut::visit(statement, &mut Windows) {
        ControlFlow::Break(message) => Err(message),
        ControlFlow::Continue(()) => Ok(()),
    }
}

fn window_kind(e: &Expr) -> Option<&'static str> {
    let Expr::Function(f) = e else { return None };
    let name = f.name.to_string().to_ascii_lowercase();
    match name.as_str() {
        "window" => Some("window"),
        "session_window" => Some("session_window"),
        _ => None,
    }
}

fn rewrite_select(select: &mut Select) -> Result<(), String> {
    let GroupByExpr::Expressions(keys, modifiers) = &mut select.group_by else { return Ok(()) };
    let found: Vec<usize> = keys.iter().enumerate().filter(|(_, k)| window_kind(k).is_some()).map(|(i, _)| i).collect();
    let [index] = found.as_slice() else {
        if found.len() > 1 {
            return refuse("more than one time window in GROUP BY");
        }
        return Ok(());
    };
    if !modifiers.is_empty() {
        return refuse("time windows with GROUP BY modifiers");
    }
    let index = *index;
    let kind = window_kind(&keys[index]).unwrap_or("window");
    let Expr::Function(function) = &keys[index] else { return Ok(()) };
    let Some(args) = arguments(function) else { return refuse(&format!("this call of {kind}")) };
    let others: Vec<String> =
        keys.iter().enumerate().filter(|(i, _)| *i != index).map(|(_, k)| k.to_string()).collect();
    // Sessions are found per value of the other keys: a key by position cannot partition them.
    if kind == "session_window" && keys.iter().enumerate().any(|(i, k)| i != index && matches!(k, Expr::Value(_))) {
        return refuse("session_window with a GROUP BY position");
    }
    let [from] = select.from.as_mut_slice() else { return refuse(&format!("{kind} over several relations")) };
    if !from.joins.is_empty() {
        return refuse(&format!("{kind} over a join"));
    }
    let relation = match &from.relation {
        TableFactor::Table { alias: Some(a), .. } | TableFactor::Derived { alias: Some(a), .. } => a.name.value.clone(),
        TableFactor::Table { name, alias: None, .. } => match name.0.last().and_then(|p| p.as_ident()) {
            Some(i) => i.value.clone(),
            None => return refuse(&format!("{kind} over this relation")),
        },
        _ => return refuse(&format!("{kind} over this relation")),
    };
    let alias = Ident::with_quote('`', relation).to_string();
    let mut source = from.relation.to_string();
    // Sessions are found among the rows the WHERE clause keeps.
    if kind == "session_window"
        && let Some(selection) = select.selection.take()
    {
        source = format!("{source} WHERE {selection}");
    }
    let text = match kind {
        "window" => tumbling_or_sliding(&args, &source, &alias)?,
        _ => session(&args, &others, &source, &alias)?,
    };
    let parsed = datafusion::sql::sqlparser::parser::Parser::parse_sql(&super::dialect::SparkDialect, &text)
        .map_err(|e| format!("{kind} could not be rewritten: {e}"))?;
    let Some(Statement::Query(query)) = parsed.into_iter().next() else { return refuse(kind) };
    let ast::SetExpr::Select(inner) = *query.body else { return refuse(kind) };
    let Some(wrapped) = inner.from.into_iter().next() else { return refuse(kind) };
    from.relation = wrapped.relation;
    keys[index] = Expr::Identifier(Ident::with_quote('`', kind));
    // Spark names `window.start` after the field: `start`.
    for item in &mut select.projection {
        let ast::SelectItem::UnnamedExpr(Expr::CompoundIdentifier(parts)) = item else { continue };
        if let [column, field] = parts.as_slice()
            && column.value.eq_ignore_ascii_case(kind)
        {
            let alias = field.clone();
            let expr = Expr::CompoundIdentifier(parts.clone());
            *item = ast::SelectItem::ExprWithAlias { expr, alias };
        }
    }
    Ok(())
}

/// A duration argument's text: `'5 minutes'`, or an interval literal (`INTERVAL 5 MINUTES`,
/// `INTERVAL '5' MINUTE`, `INTERVAL '5 minutes'`).
fn duration_text(e: &Expr) -> Option<String> {
    match e {
        Expr::Interval(ast::Interval { value, leading_field, last_field: None, .. }) => {
            let value = match value.as_ref() {
                Expr::Value(ValueWithSpan { value: Value::Number(n, _), .. }) => n.clone(),
                other => string_literal(other)?.to_string(),
            };
            Some(match leading_field {
                Some(field) => format!("{value} {field}"),
                None => value,
            })
        }
        // An interval literal after the interval pre-pass (`crate::sql::interval`).
        Expr::Function(f) => {
            let name = f.name.to_string().to_ascii_lowercase();
            if name != "weir_interval_dt" && name != "weir_interval_days" {
                return None;
            }
            let ast::FunctionArguments::List(list) = &f.args else { return None };
            match list.args.as_slice() {
                [ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(e)), ..] => match e {
                    Expr::Value(ValueWithSpan { value: Value::Number(n, _), .. }) => Some(format!("{n} microseconds")),
                    Expr::UnaryOp { op: ast::UnaryOperator::Minus, expr } => match expr.as_ref() {
                        Expr::Value(ValueWithSpan { value: Value::Number(n, _), .. }) => {
                            Some(format!("-{n} microseconds"))
                        }
                        _ => None,
                    },
                    _ => None,
                },
                _ => None,
            }
        }
        other => string_literal(other).map(str::to_string),
    }
}

fn duration_arg(e: &Expr, what: &str) -> Result<i64, String> {
    let Some(text) = duration_text(e) else { return refuse(&format!("a window {what} that is not a literal")) };
    match duration_micros(&text) {
        Some(v) => Ok(v),
        None => refuse(&format!("the window {what} '{text}'")),
    }
}

fn tumbling_or_sliding(args: &[&Expr], source: &str, alias: &str) -> Result<String, String> {
    if !(2..=4).contains(&args.len()) {
        return refuse("window with other than 2 to 4 arguments");
    }
    let duration = duration_arg(args[1], "duration")?;
    let slide = match args.get(2) {
        Some(e) => duration_arg(e, "slide")?,
        None => duration,
    };
    let start = match args.get(3) {
        Some(e) => duration_arg(e, "start")?,
        None => 0,
    };
    if duration <= 0 || slide <= 0 || slide > duration || start.abs() >= slide {
        return refuse("a window whose duration, slide or start Spark refuses");
    }
    Ok(format!(
        "SELECT * FROM (SELECT *, unnest(weir_time_windows({ts}, {duration}, {slide}, {start})) AS `window` FROM {source}) AS {alias}",
        ts = args[0]
    ))
}

fn session(args: &[&Expr], others: &[String], source: &str, alias: &str) -> Result<String, String> {
    let [ts, gap] = args else { return refuse("session_window with other than 2 arguments") };
    if let Some(text) = string_literal(gap)
        && duration_micros(text).is_none()
    {
        return refuse(&format!("the session gap '{text}'"));
    }
    // An interval literal as the duration text the gap function reads.
    let gap = match (gap, duration_text(gap)) {
        (Expr::Interval(_), Some(text)) if duration_micros(&text).is_some() => format!("'{text}'"),
        (Expr::Interval(_), _) => return refuse("this session gap"),
        _ => gap.to_string(),
    };
    let partition = if others.is_empty() { String::new() } else { format!("PARTITION BY {} ", others.join(", ")) };
    let by_session = if others.is_empty() {
        "PARTITION BY `__weir_sid`".to_string()
    } else {
        format!("PARTITION BY {}, `__weir_sid`", others.join(", "))
    };
    Ok(format!(
        "SELECT * FROM (SELECT *, named_struct('start', min(`__weir_ts`) OVER ({by_session}), 'end', max(`__weir_end`) OVER ({by_session})) AS `session_window` \
         FROM (SELECT *, sum(`__weir_new`) OVER ({partition}ORDER BY `__weir_ts` ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS `__weir_sid` \
         FROM (SELECT *, CASE WHEN max(`__weir_end`) OVER ({partition}ORDER BY `__weir_ts` ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) > `__weir_ts` THEN 0 ELSE 1 END AS `__weir_new` \
         FROM (SELECT *, weir_session_start({ts}) AS `__weir_ts`, weir_session_end({ts}, {gap}) AS `__weir_end` FROM {source}) AS {alias} \
         WHERE `__weir_ts` IS NOT NULL AND `__weir_end` IS NOT NULL) AS {alias}) AS {alias}) AS {alias}"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(duration_micros("5 minutes"), Some(300_000_000));
        assert_eq!(duration_micros("1 hour"), Some(3_600_000_000));
        assert_eq!(duration_micros("interval 1 day 2 seconds"), Some(86_402_000_000));
        assert_eq!(duration_micros("1.5 seconds"), Some(1_500_000));
        assert_eq!(duration_micros("1 month"), None);
        assert_eq!(duration_micros("minutes"), None);
        assert_eq!(duration_micros(""), None);
        let interval = |sql: &str| match crate::sql::plan::parse(&format!("SELECT {sql}")) {
            Ok(datafusion::sql::parser::Statement::Statement(s)) => match *s {
                Statement::Query(q) => match *q.body {
                    ast::SetExpr::Select(select) => match &select.projection[0] {
                        ast::SelectItem::UnnamedExpr(e) => duration_text(e),
                        _ => None,
                    },
                    _ => None,
                },
                _ => None,
            },
            _ => None,
        };
        assert_eq!(interval("INTERVAL 5 MINUTES").and_then(|t| duration_micros(&t)), Some(300_000_000));
        assert_eq!(interval("INTERVAL '2' HOUR").and_then(|t| duration_micros(&t)), Some(7_200_000_000));
        assert_eq!(interval("'10 seconds'").and_then(|t| duration_micros(&t)), Some(10_000_000));
    }

    fn rewritten(sql: &str) -> String {
        let mut statement = crate::sql::plan::parse(sql)
            .ok()
            .and_then(|s| match s {
                datafusion::sql::parser::Statement::Statement(s) => Some(*s),
                _ => None,
            })
            .expect("a statement");
        time_windows(&mut statement).expect("rewritten");
        statement.to_string()
    }

    #[test]
    fn window_group_key_becomes_a_column() {
        let sql = rewritten("SELECT a, window.start, count(*) FROM t GROUP BY a, window(b, '5 minutes')");
        assert!(
            sql.contains("unnest(weir_time_windows(b, 300000000, 300000000, 0)) AS `window` FROM t) AS `t`"),
            "{sql}"
        );
        assert!(sql.ends_with("GROUP BY a, `window`"), "{sql}");
    }
}
