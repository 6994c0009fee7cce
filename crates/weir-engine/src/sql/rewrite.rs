//! Rewrites of the parsed statement that make DataFusion read it as Spark does, before it
//! is planned:
//!
//! - **Typed numeric literals**: `1L` (bigint), `1S` (smallint), `1Y` (tinyint), `1.5D` /
//!   `1D` (double), `1.5F` (float), `1.5BD` (decimal), and literals with an exponent (`1e3`,
//!   `1.0E20`), which Spark types as double while `1.5` is a decimal.
//! - **Case-insensitive column resolution** (Spark's default `spark.sql.caseSensitive=false`):
//!   a column written `Name` is rewritten to the one spelling the query's views (or the
//!   query's own aliases) use, `name` or `NAME`; two columns of one view that differ only in
//!   case make the reference ambiguous, an error naming both.

use std::collections::{HashMap, HashSet};
use std::ops::ControlFlow;

use datafusion::sql::sqlparser::ast::{
    self, CastKind, DataType, ExactNumberInfo, Expr, Ident, Query, Select, SelectItem, Statement, TableFactor, Value,
    ValueWithSpan, Visit, VisitMut, Visitor, VisitorMut,
};

/// Rewrites typed numeric literals (see the module doc).
pub fn literals(statement: &mut Statement) {
    struct Literals;
    impl VisitorMut for Literals {
        type Break = ();
        fn post_visit_expr(&mut self, expr: &mut Expr) -> ControlFlow<()> {
            if let Some(new) = typed_literal(expr) {
                *expr = new;
            }
            super::interval::negate_literal(expr);
            ceil_floor_scale(expr);
            // `mod(a, b)` is `a % b` (Spark's operator typing applies).
            if let Expr::Function(f) = expr
                && f.name.to_string().eq_ignore_ascii_case("mod")
                && let ast::FunctionArguments::List(list) = &f.args
                && let [
                    ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(a)),
                    ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(b)),
                ] = list.args.as_slice()
            {
                *expr = Expr::Nested(Box::new(Expr::BinaryOp {
                    left: Box::new(a.clone()),
                    op: ast::BinaryOperator::Modulo,
                    right: Box::new(b.clone()),
                }));
            }
            if let Expr::Function(function) = expr {
                ignore_nulls_argument(function);
                default_round_scale(function);
                distinct_tuples(function);
                time_unit_argument(function);
                array_sort_comparator(function);
                empty_map(function);
                ranking_arguments(function);
            }
            if let Expr::Like { pattern, escape_char, .. } | Expr::ILike { pattern, escape_char, .. } = expr {
                like_escape(pattern, escape_char);
            }
            if let Expr::CompoundFieldAccess { access_chain, .. } = expr {
                named_field_access(access_chain);
            }
            operators(expr);
            ControlFlow::Continue(())
        }
    }
    let _ = VisitMut::visit(statement, &mut Literals);
}

/// A call of the function `name` on `args`.
fn call(name: &str, args: Vec<Expr>) -> Expr {
    Expr::Function(ast::Function {
        name: ast::ObjectName::from(vec![Ident::new(name)]),
        uses_odbc_syntax: false,
        parameters: ast::FunctionArguments::None,
        args: ast::FunctionArguments::List(ast::FunctionArgumentList {
            duplicate_treatment: None,
            args: args.into_iter().map(|e| ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(e))).collect(),
            clauses: vec![],
        }),
        filter: None,
        null_treatment: None,
        over: None,
        within_group: vec![],
    })
}

/// Spark operators DataFusion does not plan, as the functions Spark defines them by:
/// `a RLIKE p` / `a REGEXP p` (`rlike`), `~a` (`bitwise_not`), `!a` (`NOT a`); and
/// `monotonically_increasing_id()` as a row number.
fn operators(expr: &mut Expr) {
    match expr {
        Expr::RLike { negated, expr: text, pattern, .. } => {
            let matched = call("rlike", vec![text.as_ref().clone(), pattern.as_ref().clone()]);
            *expr = if *negated {
                Expr::UnaryOp { op: ast::UnaryOperator::Not, expr: Box::new(Expr::Nested(Box::new(matched))) }
            } else {
                matched
            };
        }
        Expr::UnaryOp { op: ast::UnaryOperator::BitwiseNot, expr: inner } => {
            *expr = call("bitwise_not", vec![inner.as_ref().clone()]);
        }
        Expr::UnaryOp { op: op @ ast::UnaryOperator::BangNot, .. } => *op = ast::UnaryOperator::Not,
        // Unique and increasing, not consecutive across partitions in Spark: here the row's
        // number in the query's output order, from 0.
        Expr::Function(f)
            if f.name.to_string().eq_ignore_ascii_case("monotonically_increasing_id")
                && f.over.is_none()
                && matches!(&f.args, ast::FunctionArguments::List(l) if l.args.is_empty()) =>
        {
            let sql = "CAST(row_number() OVER () - 1 AS BIGINT)";
            if let Ok(id) = datafusion::sql::sqlparser::parser::Parser::new(&super::dialect::SparkDialect)
                .try_with_sql(sql)
                .and_then(|mut p| p.parse_expr())
            {
                *expr = Expr::Nested(Box::new(id));
            }
        }
        _ => {}
    }
}

/// `ceil(x, 2)` / `floor(x, 2)`, which sqlparser reads as `CEIL`/`FLOOR` with a scale that
/// DataFusion does not plan: the function call, planned with Spark's `ceil`/`floor`.
fn ceil_floor_scale(expr: &mut Expr) {
    let (name, inner, scale) = match expr {
        Expr::Ceil { expr: inner, field: ast::CeilFloorKind::Scale(scale) } => ("ceil", inner, scale),
        Expr::Floor { expr: inner, field: ast::CeilFloorKind::Scale(scale) } => ("floor", inner, scale),
        _ => return,
    };
    let args = vec![
        ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(inner.as_ref().clone())),
        ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(Expr::Value(scale.clone()))),
    ];
    *expr = Expr::Function(ast::Function {
        name: ast::ObjectName::from(vec![Ident::new(name)]),
        uses_odbc_syntax: false,
        parameters: ast::FunctionArguments::None,
        args: ast::FunctionArguments::List(ast::FunctionArgumentList {
            duplicate_treatment: None,
            args,
            clauses: vec![],
        }),
        filter: None,
        null_treatment: None,
        over: None,
        within_group: vec![],
    });
}

/// `LIKE 'a!%b' ESCAPE '!'` as `LIKE 'a\\%b'`: DataFusion only takes a backslash as the
/// escape character, so a literal pattern is rewritten to use it.
fn like_escape(pattern: &mut Expr, escape_char: &mut Option<ValueWithSpan>) {
    let Some(ValueWithSpan { value: Value::SingleQuotedString(esc), .. }) = escape_char.as_ref() else { return };
    let mut chars = esc.chars();
    let (Some(esc), None) = (chars.next(), chars.next()) else { return };
    if esc == '\\' {
        return;
    }
    let Expr::Value(ValueWithSpan { value: Value::SingleQuotedString(text), .. }) = pattern else { return };
    let mut out = String::with_capacity(text.len());
    let mut it = text.chars();
    while let Some(c) = it.next() {
        if c == esc {
            match it.next() {
                Some(n @ ('%' | '_')) => {
                    out.push('\\');
                    out.push(n);
                }
                Some(n) if n == esc => out.push(n),
                Some(n) => out.push(n),
                None => out.push(c),
            }
        } else if c == '\\' {
            out.push_str("\\\\");
        } else {
            out.push(c);
        }
    }
    *text = out;
    *escape_char = None;
}

/// `timestampadd(MONTH, n, ts)` / `timestampdiff(HOUR, a, b)` (also `dateadd`, `date_add`,
/// `datediff`, `date_diff` with a unit first): the unit, a bare word, becomes a string.
fn time_unit_argument(function: &mut ast::Function) {
    let name = function.name.to_string().to_ascii_lowercase();
    let target = match name.as_str() {
        "timestampadd" | "dateadd" | "date_add" => "timestampadd",
        "timestampdiff" | "datediff" | "date_diff" => "timestampdiff",
        _ => return,
    };
    let ast::FunctionArguments::List(list) = &mut function.args else { return };
    if list.args.len() != 3 {
        return;
    }
    let ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(Expr::Identifier(unit))) = &list.args[0] else { return };
    if unit.quote_style.is_some() {
        return;
    }
    let text = unit.value.to_ascii_uppercase();
    list.args[0] = ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(Expr::Value(ValueWithSpan::from(
        Value::SingleQuotedString(text),
    ))));
    function.name = ast::ObjectName::from(vec![Ident::new(target)]);
}

/// `round(x)` is `round(x, 0)` (and `bround`): Spark's one-argument form keeps a decimal's
/// type at scale 0, which the two-argument implementation computes.
fn default_round_scale(function: &mut ast::Function) {
    let name = function.name.to_string().to_ascii_lowercase();
    if name != "round" && name != "bround" {
        return;
    }
    let ast::FunctionArguments::List(list) = &mut function.args else { return };
    if list.args.len() == 1 {
        list.args.push(ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(Expr::Value(ValueWithSpan::from(
            Value::Number("0".into(), false),
        )))));
    }
}

/// `count(DISTINCT a, b)` counts the distinct tuples with no NULL in them, as
/// `count(DISTINCT CASE WHEN a IS NOT NULL AND b IS NOT NULL THEN struct(a, b) END)`
/// (DataFusion's distinct count takes one argument).
fn distinct_tuples(function: &mut ast::Function) {
    if !function.name.to_string().eq_ignore_ascii_case("count") {
        return;
    }
    let ast::FunctionArguments::List(list) = &mut function.args else { return };
    if list.duplicate_treatment != Some(ast::DuplicateTreatment::Distinct) || list.args.len() < 2 {
        return;
    }
    let mut items = Vec::with_capacity(list.args.len());
    for arg in &list.args {
        let ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(e)) = arg else { return };
        items.push(e.clone());
    }
    let condition = items.iter().map(|e| Expr::IsNotNull(Box::new(e.clone()))).reduce(|a, b| Expr::BinaryOp {
        left: Box::new(a),
        op: ast::BinaryOperator::And,
        right: Box::new(b),
    });
    let Some(condition) = condition else { return };
    let tuple = Expr::Function(ast::Function {
        name: ast::ObjectName::from(vec![Ident::new("struct")]),
        uses_odbc_syntax: false,
        parameters: ast::FunctionArguments::None,
        args: ast::FunctionArguments::List(ast::FunctionArgumentList {
            duplicate_treatment: None,
            args: items.into_iter().map(|e| ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(e))).collect(),
            clauses: vec![],
        }),
        filter: None,
        null_treatment: None,
        over: None,
        within_group: vec![],
    });
    let case = Expr::Case {
        case_token: ast::helpers::attached_token::AttachedToken::empty(),
        end_token: ast::helpers::attached_token::AttachedToken::empty(),
        operand: None,
        conditions: vec![ast::CaseWhen { condition, result: tuple }],
        else_result: None,
    };
    list.args = vec![ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(case))];
}

/// `f(x).a` / `arr[0].a`: a struct field by name (DataFusion's planner takes only a quoted
/// name after a non-column expression).
fn named_field_access(chain: &mut [ast::AccessExpr]) {
    for access in chain {
        if let ast::AccessExpr::Dot(Expr::Identifier(name)) = access {
            *access =
                ast::AccessExpr::Dot(Expr::Value(ValueWithSpan::from(Value::SingleQuotedString(name.value.clone()))));
        }
    }
}

/// `map()` (DataFusion's `map` needs arguments) as `map_from_arrays(array(), array())`, an
/// empty `map<void, void>`.
fn empty_map(function: &mut ast::Function) {
    if !function.name.to_string().eq_ignore_ascii_case("map") {
        return;
    }
    if !matches!(&function.args, ast::FunctionArguments::List(list) if list.args.is_empty()) {
        return;
    }
    let mut empty = function.clone();
    empty.name = ast::ObjectName::from(vec![Ident::new("array")]);
    let empty = ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(Expr::Function(empty)));
    let ast::FunctionArguments::List(list) = &mut function.args else { return };
    list.args = vec![empty.clone(), empty];
    function.name = ast::ObjectName::from(vec![Ident::new("map_from_arrays")]);
}

/// `rank(b) OVER (… ORDER BY b)`: Spark's ranking functions take the ORDER BY columns as
/// their arguments and ignore any written ones; DataFusion's take none.
fn ranking_arguments(function: &mut ast::Function) {
    let name = function.name.to_string().to_ascii_lowercase();
    if function.over.is_none() || !matches!(name.as_str(), "rank" | "dense_rank" | "percent_rank") {
        return;
    }
    if let ast::FunctionArguments::List(list) = &mut function.args {
        list.args.clear();
    }
}

/// `array_sort(arr, (l, r) -> …)` is the higher-order `array_sort_by` (a scalar function of
/// the same name would take precedence over it).
fn array_sort_comparator(function: &mut ast::Function) {
    if !function.name.to_string().eq_ignore_ascii_case("array_sort") {
        return;
    }
    let ast::FunctionArguments::List(list) = &function.args else { return };
    if let [_, ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(Expr::Lambda(_)))] = list.args.as_slice() {
        function.name = ast::ObjectName::from(vec![ast::Ident::new("array_sort_by")]);
    }
}

/// Spark's `first_value(x, true)` / `first(x, true)` (and `last…`): the second argument
/// says whether NULLs are skipped, which is `IGNORE NULLS` in DataFusion.
fn ignore_nulls_argument(function: &mut ast::Function) {
    let name = function.name.to_string().to_ascii_lowercase();
    if !matches!(name.as_str(), "first_value" | "last_value" | "first" | "last") {
        return;
    }
    let ast::FunctionArguments::List(list) = &mut function.args else { return };
    if list.args.len() != 2 {
        return;
    }
    let flag = match &list.args[1] {
        ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(Expr::Value(ValueWithSpan {
            value: Value::Boolean(b),
            ..
        }))) => *b,
        _ => return,
    };
    list.args.truncate(1);
    if flag {
        function.null_treatment = Some(ast::NullTreatment::IgnoreNulls);
    }
}

/// Spark's generators as DataFusion's `unnest` (zipped unnests of arrays of one length):
///
/// - in a SELECT list: `explode(arr)` (column `col`), `explode(map)` (`key`, `value`),
///   `posexplode(arr | map)` (`pos`, an INT from 0, then as `explode`), `inline(structs)`
///   (one column per field, named after it), `stack(n, e1, …)` (`col0`, `col1`…, `n` rows,
///   missing values NULL, each column's values of one type), each renamed by `AS c` /
///   `AS (c1, c2)`; the `_outer` forms keep a NULL or empty input as one row of NULLs, the
///   others drop it. One generator per SELECT list; the other items repeat on each row.
/// - `FROM t LATERAL VIEW [OUTER] gen(…) v [AS c1, c2]`: `FROM (SELECT *, gen(…) AS (c1, c2)
///   FROM t) AS t`, with `v.c` read as `t.c` (over one relation, not a join).
///
/// Whether an argument is an array, a map or an array of structs (and its field names) is
/// only known from its type: a generator whose `shapes` entry (by its number in the
/// statement) is missing becomes the probe `__weir_generator_shape(arg, id)`, whose planning
/// error tells [`super::plan`] the shape to rewrite with (see
/// [`super::functions::array::generator`]).
pub fn generators(statement: &mut Statement, shapes: &Shapes) -> Result<(), String> {
    struct Generators<'a> {
        /// Lateral view name (lower-cased) → the relation it now belongs to.
        renamed: HashMap<String, String>,
        shapes: &'a Shapes,
        /// The number of the next generator met.
        next: usize,
    }
    impl VisitorMut for Generators<'_> {
        type Break = String;
        fn pre_visit_select(&mut self, select: &mut Select) -> ControlFlow<String> {
            json_tuple_columns(select);
            if !select.lateral_views.is_empty()
                && let Err(message) = lateral_views(select, &mut self.renamed)
            {
                return ControlFlow::Break(message);
            }
            let mut projection = Vec::with_capacity(select.projection.len());
            let mut found = false;
            for item in std::mem::take(&mut select.projection) {
                let (expr, aliases) = match &item {
                    SelectItem::UnnamedExpr(expr) => (expr, vec![]),
                    SelectItem::ExprWithAlias { expr, alias } => (expr, vec![alias.clone()]),
                    SelectItem::ExprWithAliases { expr, aliases } => (expr, aliases.clone()),
                    _ => {
                        projection.push(item);
                        continue;
                    }
                };
                let Expr::Function(function) = expr else {
                    projection.push(item);
                    continue;
                };
                let name = function.name.to_string().to_ascii_lowercase();
                if !GENERATORS.contains(&name.as_str()) || name == "json_tuple" || function.over.is_some() {
                    projection.push(item);
                    continue;
                }
                if std::mem::replace(&mut found, true) {
                    return ControlFlow::Break("several generators in one SELECT list are not supported yet".into());
                }
                let id = self.next;
                self.next += 1;
                match generator_items(function, &name, &aliases, id, self.shapes.get(&id)) {
                    Ok(items) => projection.extend(items),
                    Err(message) => return ControlFlow::Break(message),
                }
            }
            select.projection = projection;
            ControlFlow::Continue(())
        }
    }
    let mut generators = Generators { renamed: HashMap::new(), shapes, next: 0 };
    if let ControlFlow::Break(message) = VisitMut::visit(statement, &mut generators) {
        return Err(message);
    }
    if generators.renamed.is_empty() {
        return Ok(());
    }
    struct Requalify<'a>(&'a HashMap<String, String>);
    impl VisitorMut for Requalify<'_> {
        type Break = String;
        // `t.*` / `v.*` of a relation a lateral view was joined to: the rewritten relation
        // also holds the generated columns.
        fn pre_visit_select(&mut self, select: &mut Select) -> ControlFlow<String> {
            for item in &select.projection {
                if let SelectItem::QualifiedWildcard(ast::SelectItemQualifiedWildcardKind::ObjectName(name), _) = item
                    && let Some(last) = name.0.last().and_then(|p| p.as_ident())
                {
                    let lower = last.value.to_lowercase();
                    if self.0.contains_key(&lower) || self.0.values().any(|r| r.to_lowercase() == lower) {
                        return ControlFlow::Break(format!(
                            "`{}.*` beside a LATERAL VIEW is not supported yet: name the columns",
                            last.value
                        ));
                    }
                }
            }
            ControlFlow::Continue(())
        }
        fn post_visit_expr(&mut self, expr: &mut Expr) -> ControlFlow<String> {
            if let Expr::CompoundIdentifier(parts) = expr
                && parts.len() >= 2
                && let Some(relation) = self.0.get(&parts[0].value.to_lowercase())
            {
                parts[0] = Ident::new(relation.clone());
            }
            ControlFlow::Continue(())
        }
    }
    match VisitMut::visit(statement, &mut Requalify(&generators.renamed)) {
        ControlFlow::Break(message) => Err(message),
        ControlFlow::Continue(()) => Ok(()),
    }
}

/// Spark's generators (table-valued functions of a SELECT list) Weir plans.
const GENERATORS: [&str; 8] =
    ["explode", "explode_outer", "posexplode", "posexplode_outer", "inline", "inline_outer", "stack", "json_tuple"];

pub use super::functions::array::generator::Shape;

/// What each generator's argument is (by the generator's number in the statement).
pub type Shapes = HashMap<usize, Shape>;

fn number(n: usize) -> Expr {
    Expr::Value(ValueWithSpan::from(Value::Number(n.to_string(), false)))
}

/// The SELECT items of generator `name` (see [`generators`]).
fn generator_items(
    function: &ast::Function,
    name: &str,
    aliases: &[Ident],
    id: usize,
    shape: Option<&Shape>,
) -> Result<Vec<SelectItem>, String> {
    let ast::FunctionArguments::List(list) = &function.args else {
        return Err(format!("{name} without arguments is not supported yet"));
    };
    if list.duplicate_treatment.is_some() || !list.clauses.is_empty() {
        return Err(format!("this call of {name} is not supported yet"));
    }
    let mut args = Vec::with_capacity(list.args.len());
    for arg in &list.args {
        match arg {
            ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(e))
            | ast::FunctionArg::Named { arg: ast::FunctionArgExpr::Expr(e), .. }
            | ast::FunctionArg::ExprNamed { arg: ast::FunctionArgExpr::Expr(e), .. } => args.push(e.clone()),
            _ => return Err(format!("this call of {name} is not supported yet")),
        }
    }
    let columns: Vec<(String, Expr)> = if name == "stack" {
        stack_columns(&args)?
    } else {
        let [arg] = args.as_slice() else {
            return Err(format!(
                "[WRONG_NUM_ARGS] The `{name}` requires 1 parameters but the actual number is {}.",
                args.len()
            ));
        };
        let Some(shape) = shape else {
            return Ok(vec![SelectItem::UnnamedExpr(call("__weir_generator_shape", vec![arg.clone(), number(id)]))]);
        };
        let outer = name.ends_with("_outer");
        let wrap = |e: Expr| if outer { call("__weir_outer", vec![e]) } else { e };
        let unnest = |e: Expr| call("unnest", vec![e]);
        let mut columns = Vec::new();
        if name.starts_with("posexplode") && matches!(shape, Shape::Array | Shape::Map | Shape::Structs(_)) {
            let flag = Expr::Value(ValueWithSpan::from(Value::Boolean(outer)));
            columns.push(("pos".to_string(), unnest(call("__weir_positions", vec![arg.clone(), flag]))));
        }
        match (name.starts_with("inline"), shape) {
            (false, Shape::Array | Shape::Structs(_)) => columns.push(("col".into(), unnest(wrap(arg.clone())))),
            (false, Shape::Map) => {
                columns.push(("key".into(), unnest(wrap(call("map_keys", vec![arg.clone()])))));
                columns.push(("value".into(), unnest(wrap(call("map_values", vec![arg.clone()])))));
            }
            (true, Shape::Structs(fields)) => {
                for field in fields {
                    let text = Expr::Value(ValueWithSpan::from(Value::SingleQuotedString(field.clone())));
                    columns.push((field.clone(), call("get_field", vec![unnest(wrap(arg.clone())), text])));
                }
            }
            (true, other) => {
                let t = match other {
                    Shape::Other(t) => t.clone(),
                    Shape::Map => "a map".into(),
                    _ => "an array of other than structs".into(),
                };
                return Err(format!(
                    "[DATATYPE_MISMATCH.UNEXPECTED_INPUT_TYPE] Cannot resolve \"{name}\": its argument must be an array of structs, not {t}."
                ));
            }
            (false, Shape::Other(t)) => {
                return Err(format!(
                    "[DATATYPE_MISMATCH.UNEXPECTED_INPUT_TYPE] Cannot resolve \"{name}\": its argument must be an array or a map, not {t}."
                ));
            }
        }
        columns
    };
    if !aliases.is_empty() && aliases.len() != columns.len() {
        return Err("[UDTF_ALIAS_NUMBER_MISMATCH] The number of aliases supplied in the AS clause does not match the number of columns output by the UDTF.".into());
    }
    Ok(columns
        .into_iter()
        .enumerate()
        .map(|(i, (default, expr))| {
            let alias = aliases.get(i).cloned().unwrap_or_else(|| Ident::with_quote('`', default));
            SelectItem::ExprWithAlias { expr, alias }
        })
        .collect())
}

/// `stack(n, e1, …, ek)`: `ceil(k / n)` columns, column `c` the unnest of
/// `__weir_stack(e[c], e[c + m], …)` (NULL past the last value).
fn stack_columns(args: &[Expr]) -> Result<Vec<(String, Expr)>, String> {
    let [count, values @ ..] = args else { return Err("stack without arguments is not supported yet".into()) };
    let n = match count {
        Expr::Value(ValueWithSpan { value: Value::Number(text, _), .. }) => text.parse::<usize>().ok(),
        _ => None,
    };
    let Some(n) = n.filter(|n| *n > 0) else {
        return Err("stack with a row count other than a positive integer literal is not supported yet".into());
    };
    if values.is_empty() {
        return Err("stack without values is not supported yet".into());
    }
    let m = values.len().div_ceil(n);
    let null = Expr::Value(ValueWithSpan::from(Value::Null));
    Ok((0..m)
        .map(|c| {
            let column = (0..n).map(|r| values.get(r * m + c).cloned().unwrap_or_else(|| null.clone())).collect();
            (format!("col{c}"), call("unnest", vec![call("__weir_stack", column)]))
        })
        .collect())
}

/// Spark's generators in FROM (`SELECT * FROM explode(array(1, 2)) AS t(c)`) as a derived
/// table of the generator in a SELECT list (`FROM (SELECT explode(array(1, 2))) AS t(c)`),
/// which [`generators`] then rewrites.
pub fn table_generators(statement: &mut Statement) -> Result<(), String> {
    struct TableGenerators;
    impl VisitorMut for TableGenerators {
        type Break = String;
        fn pre_visit_table_factor(&mut self, factor: &mut TableFactor) -> ControlFlow<String> {
            let TableFactor::Table { name, alias, args: Some(args), .. } = factor else {
                return ControlFlow::Continue(());
            };
            let function = name.to_string();
            if !GENERATORS.iter().chain(["variant_explode"].iter()).any(|g| function.eq_ignore_ascii_case(g)) {
                return ControlFlow::Continue(());
            }
            let list: Vec<String> = args.args.iter().map(ToString::to_string).collect();
            let sql = format!("SELECT {function}({})", list.join(", "));
            let parsed = datafusion::sql::sqlparser::parser::Parser::parse_sql(&super::dialect::SparkDialect, &sql);
            let Ok(Some(Statement::Query(subquery))) = parsed.map(|mut v| v.pop()) else {
                return ControlFlow::Break(format!("the generator {function} in FROM is not supported yet"));
            };
            *factor = TableFactor::Derived { lateral: false, subquery, alias: alias.take(), sample: None };
            ControlFlow::Continue(())
        }
    }
    match VisitMut::visit(statement, &mut TableGenerators) {
        ControlFlow::Break(message) => Err(message),
        ControlFlow::Continue(()) => Ok(()),
    }
}

/// `json_tuple(json, k1, k2, …)` as the columns `json_tuple_field(json, k1) AS c0`, … (or
/// named `names`); `None` when the call has no keys or the names do not match them.
fn json_tuple_items(function: &ast::Function, names: &[Ident]) -> Option<Vec<SelectItem>> {
    let ast::FunctionArguments::List(list) = &function.args else { return None };
    let [json, keys @ ..] = list.args.as_slice() else { return None };
    if keys.is_empty() || (!names.is_empty() && names.len() != keys.len()) {
        return None;
    }
    let items = keys
        .iter()
        .enumerate()
        .map(|(i, key)| {
            let mut call = function.clone();
            call.name = ast::ObjectName::from(vec![Ident::new("json_tuple_field")]);
            if let ast::FunctionArguments::List(l) = &mut call.args {
                l.args = vec![json.clone(), key.clone()];
            }
            let alias = names.get(i).cloned().unwrap_or_else(|| Ident::new(format!("c{i}")));
            SelectItem::ExprWithAlias { expr: Expr::Function(call), alias }
        })
        .collect();
    Some(items)
}

/// Spark's `json_tuple` generator in a SELECT list: one row per input row, so its columns
/// are plain expressions (see [`json_tuple_items`]).
fn json_tuple_columns(select: &mut Select) {
    let mut projection = Vec::with_capacity(select.projection.len());
    for item in std::mem::take(&mut select.projection) {
        if let SelectItem::UnnamedExpr(Expr::Function(f)) = &item
            && f.name.to_string().eq_ignore_ascii_case("json_tuple")
            && f.over.is_none()
            && let Some(items) = json_tuple_items(f, &[])
        {
            projection.extend(items);
            continue;
        }
        projection.push(item);
    }
    select.projection = projection;
}

fn lateral_views(select: &mut Select, renamed: &mut HashMap<String, String>) -> Result<(), String> {
    let refuse = |what: &str| Err(format!("{what} is not supported yet"));
    let [from] = select.from.as_mut_slice() else { return refuse("LATERAL VIEW over several relations") };
    if !from.joins.is_empty() {
        return refuse("LATERAL VIEW over a join");
    }
    let relation = match &from.relation {
        TableFactor::Table { alias: Some(a), .. } | TableFactor::Derived { alias: Some(a), .. } => a.name.value.clone(),
        TableFactor::Table { name, alias: None, .. } => match name.0.last().and_then(|p| p.as_ident()) {
            Some(i) => i.value.clone(),
            None => return refuse("LATERAL VIEW over this relation"),
        },
        _ => return refuse("LATERAL VIEW over this relation"),
    };
    // Spark's `t.*` is the relation's columns without the lateral views' (here they are one).
    let relation_star = select.projection.iter().any(|item| {
        matches!(item, SelectItem::QualifiedWildcard(ast::SelectItemQualifiedWildcardKind::ObjectName(name), _)
            if name.0.last().and_then(|p| p.as_ident()).is_some_and(|i| i.value.eq_ignore_ascii_case(&relation)))
    });
    if relation_star {
        return refuse(&format!("{relation}.* beside a LATERAL VIEW"));
    }
    for view in std::mem::take(&mut select.lateral_views) {
        let Expr::Function(function) = &view.lateral_view else { return refuse("this LATERAL VIEW generator") };
        let generator = function.name.to_string().to_ascii_lowercase();
        let tuple = generator == "json_tuple";
        if !GENERATORS.contains(&generator.as_str()) || tuple && view.outer {
            return refuse(&format!("LATERAL VIEW {}{generator}", if view.outer { "OUTER " } else { "" }));
        }
        let items = if tuple {
            match json_tuple_items(function, &view.lateral_col_alias) {
                Some(items) => items.iter().map(ToString::to_string).collect::<Vec<_>>().join(", "),
                None => return refuse("this LATERAL VIEW json_tuple"),
            }
        } else {
            // The generator itself, as a SELECT item [`generators`] rewrites.
            let mut call = function.clone();
            if view.outer && !generator.ends_with("_outer") && generator != "stack" {
                call.name = ast::ObjectName::from(vec![Ident::new(format!("{generator}_outer"))]);
            }
            match view.lateral_col_alias.as_slice() {
                [] => call.to_string(),
                [column] => format!("{call} AS {column}"),
                columns => {
                    let columns: Vec<String> = columns.iter().map(ToString::to_string).collect();
                    format!("{call} AS ({})", columns.join(", "))
                }
            }
        };
        let text = format!(
            "SELECT * FROM (SELECT *, {items} FROM {}) AS {}",
            from.relation,
            Ident::with_quote('`', relation.clone())
        );
        let parsed = datafusion::sql::sqlparser::parser::Parser::parse_sql(&super::dialect::SparkDialect, &text)
            .map_err(|e| format!("LATERAL VIEW could not be rewritten: {e}"))?;
        let Some(Statement::Query(query)) = parsed.into_iter().next() else {
            return refuse("this LATERAL VIEW");
        };
        let ast::SetExpr::Select(inner) = *query.body else { return refuse("this LATERAL VIEW") };
        let Some(wrapped) = inner.from.into_iter().next() else { return refuse("this LATERAL VIEW") };
        from.relation = wrapped.relation;
        if let Some(name) = view.lateral_view_name.0.last().and_then(|p| p.as_ident()) {
            renamed.insert(name.value.to_lowercase(), relation.clone());
        }
        renamed.entry(relation.to_lowercase()).or_insert_with(|| relation.clone());
    }
    Ok(())
}

/// Aliases every unnamed SELECT item after its text (a column after its name), as Spark
/// names result columns; where two texts coincide the later gets a `_2`, `_3`… suffix.
pub fn name_select_items(statement: &mut Statement) {
    struct Names;
    impl VisitorMut for Names {
        type Break = ();
        fn pre_visit_select(&mut self, select: &mut Select) -> ControlFlow<()> {
            let mut taken: HashSet<String> = HashSet::new();
            for item in &mut select.projection {
                if let SelectItem::ExprWithAlias { alias, .. } = item {
                    taken.insert(alias.value.clone());
                }
            }
            for item in &mut select.projection {
                let SelectItem::UnnamedExpr(expr) = item else { continue };
                let base = match &*expr {
                    Expr::Identifier(i) => i.value.clone(),
                    Expr::CompoundIdentifier(parts) => parts.last().map(|p| p.value.clone()).unwrap_or_default(),
                    Expr::Value(ValueWithSpan { value: Value::SingleQuotedString(s), .. }) => s.clone(),
                    other => other.to_string(),
                };
                let mut name = base.clone();
                let mut n = 2;
                while !taken.insert(name.clone()) {
                    name = format!("{base}_{n}");
                    n += 1;
                }
                *item = SelectItem::ExprWithAlias { expr: expr.clone(), alias: Ident::with_quote('`', name) };
            }
            ControlFlow::Continue(())
        }
    }
    let _ = VisitMut::visit(statement, &mut Names);
}

/// Spark syntax DataFusion plans with a different meaning: refused with "not supported yet"
/// rather than answered differently.
pub fn unsupported(statement: &Statement) -> Result<(), String> {
    struct Guard;
    impl Visitor for Guard {
        type Break = String;
        fn pre_visit_select(&mut self, select: &Select) -> ControlFlow<String> {
            for from in &select.from {
                for join in &from.joins {
                    let constraint = match &join.join_operator {
                        ast::JoinOperator::Right(c)
                        | ast::JoinOperator::RightOuter(c)
                        | ast::JoinOperator::FullOuter(c) => c,
                        _ => continue,
                    };
                    if matches!(constraint, ast::JoinConstraint::Using(_) | ast::JoinConstraint::Natural) {
                        return ControlFlow::Break(
                            "RIGHT/FULL OUTER JOIN with USING or NATURAL is not supported yet (Spark merges the key columns): write ON l.k = r.k and coalesce(l.k, r.k)".into(),
                        );
                    }
                }
            }
            for item in &select.projection {
                if let SelectItem::UnnamedExpr(e) | SelectItem::ExprWithAlias { expr: e, .. } = item {
                    predicate_subquery(e)?;
                }
            }
            ControlFlow::Continue(())
        }
    }
    /// `x IN (SELECT …)` / `EXISTS (…)` as a value (DataFusion plans them in WHERE only);
    /// a scalar subquery's own WHERE is its own business.
    fn predicate_subquery(e: &Expr) -> ControlFlow<String> {
        struct Find(usize);
        impl Visitor for Find {
            type Break = String;
            fn pre_visit_query(&mut self, _: &Query) -> ControlFlow<String> {
                self.0 += 1;
                ControlFlow::Continue(())
            }
            fn post_visit_query(&mut self, _: &Query) -> ControlFlow<String> {
                self.0 -= 1;
                ControlFlow::Continue(())
            }
            fn pre_visit_expr(&mut self, e: &Expr) -> ControlFlow<String> {
                if self.0 == 0 && matches!(e, Expr::InSubquery { .. } | Expr::Exists { .. }) {
                    return ControlFlow::Break(
                        "IN (subquery) and EXISTS in a SELECT list are not supported yet: use them in WHERE, or a join"
                            .into(),
                    );
                }
                ControlFlow::Continue(())
            }
        }
        Visit::visit(e, &mut Find(0))
    }
    match Visit::visit(statement, &mut Guard) {
        ControlFlow::Break(message) => Err(message),
        ControlFlow::Continue(()) => Ok(()),
    }
}

fn cast(value: &str, data_type: DataType) -> Expr {
    Expr::Cast {
        kind: CastKind::Cast,
        expr: Box::new(Expr::Value(ValueWithSpan::from(Value::Number(value.to_string(), false)))),
        data_type,
        array: false,
        format: None,
    }
}

fn typed_literal(expr: &Expr) -> Option<Expr> {
    match expr {
        Expr::Value(ValueWithSpan { value: Value::Number(text, _), .. })
            if text.bytes().any(|b| b == b'e' || b == b'E') =>
        {
            Some(cast(text, DataType::Double(ExactNumberInfo::None)))
        }
        Expr::Identifier(Ident { value, quote_style: None, .. }) => suffixed(value),
        _ => None,
    }
}

/// `1L`, `2.5D`, `3BD`…: a number with Spark's type suffix, tokenized as an identifier.
fn suffixed(word: &str) -> Option<Expr> {
    let upper = word.to_ascii_uppercase();
    let (digits, suffix) = if let Some(d) = upper.strip_suffix("BD") {
        (d, "BD")
    } else {
        let (d, s) = upper.split_at(upper.len().checked_sub(1)?);
        (d, s)
    };
    let is_integer = !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit());
    let is_number = !digits.is_empty() && digits.parse::<f64>().is_ok() && digits.bytes().next()?.is_ascii_digit();
    let number = digits.to_string();
    match suffix {
        "L" if is_integer => Some(cast(&number, DataType::BigInt(None))),
        "S" if is_integer => Some(cast(&number, DataType::SmallInt(None))),
        "Y" if is_integer => Some(cast(&number, DataType::TinyInt(None))),
        "D" if is_number => Some(cast(&number, DataType::Double(ExactNumberInfo::None))),
        "F" if is_number => Some(cast(&number, DataType::Float(ExactNumberInfo::None))),
        "BD" if is_number && !number.contains(['E', 'e']) => {
            let (whole, fraction) = number.split_once('.').unwrap_or((&number, ""));
            let scale = fraction.len() as u64;
            let precision = (whole.trim_start_matches('0').len() as u64 + scale).max(1);
            Some(cast(&number, DataType::Decimal(ExactNumberInfo::PrecisionAndScale(precision, scale as i64))))
        }
        _ => None,
    }
}

/// The columns of a view the statement reads: its name as the query writes it (lower-cased
/// key) and its field names.
pub type ViewColumns = HashMap<String, Vec<String>>;

/// Names the query itself defines: select aliases, CTE names and columns, table aliases and
/// their column lists, lateral view columns, lambda parameters.
#[derive(Default)]
struct Defined {
    names: HashSet<String>,
    /// Table alias (lower-cased) → view (lower-cased) it stands for.
    aliases: HashMap<String, String>,
    /// CTE names and table aliases (lower-cased) → as the query spells them.
    relations: HashMap<String, String>,
    lambda_params: HashSet<String>,
}

impl Visitor for Defined {
    type Break = ();
    fn pre_visit_query(&mut self, query: &Query) -> ControlFlow<()> {
        if let Some(with) = &query.with {
            for cte in &with.cte_tables {
                self.names.insert(cte.alias.name.value.clone());
                self.relations.insert(cte.alias.name.value.to_lowercase(), cte.alias.name.value.clone());
                self.names.extend(cte.alias.columns.iter().map(|c| c.name.value.clone()));
            }
        }
        ControlFlow::Continue(())
    }
    fn pre_visit_select(&mut self, select: &Select) -> ControlFlow<()> {
        for item in &select.projection {
            if let SelectItem::ExprWithAlias { alias, .. } = item {
                self.names.insert(alias.value.clone());
            }
        }
        for view in &select.lateral_views {
            self.names.extend(view.lateral_col_alias.iter().map(|c| c.value.clone()));
            if let Some(last) = view.lateral_view_name.0.last().and_then(|p| p.as_ident()) {
                self.names.insert(last.value.clone());
            }
        }
        ControlFlow::Continue(())
    }
    fn pre_visit_table_factor(&mut self, factor: &TableFactor) -> ControlFlow<()> {
        let alias = match factor {
            TableFactor::Table { name, alias, .. } => {
                if let (Some(alias), Some(view)) = (alias, name.0.last().and_then(|p| p.as_ident())) {
                    self.aliases.insert(alias.name.value.to_lowercase(), view.value.to_lowercase());
                }
                alias
            }
            TableFactor::Derived { alias, .. }
            | TableFactor::UNNEST { alias, .. }
            | TableFactor::Function { alias, .. }
            | TableFactor::TableFunction { alias, .. } => alias,
            _ => &None,
        };
        if let Some(alias) = alias {
            self.names.insert(alias.name.value.clone());
            self.relations.insert(alias.name.value.to_lowercase(), alias.name.value.clone());
            self.names.extend(alias.columns.iter().map(|c| c.name.value.clone()));
        }
        ControlFlow::Continue(())
    }
    fn pre_visit_expr(&mut self, expr: &Expr) -> ControlFlow<()> {
        if let Expr::Lambda(lambda) = expr {
            match &lambda.params {
                ast::OneOrManyWithParens::One(p) => {
                    self.lambda_params.insert(p.name.value.clone());
                }
                ast::OneOrManyWithParens::Many(ps) => {
                    self.lambda_params.extend(ps.iter().map(|p| p.name.value.clone()));
                }
            }
        }
        ControlFlow::Continue(())
    }
}

/// Resolves column references case-insensitively (see the module doc). `views` holds the
/// columns of every view the statement reads.
pub fn case_insensitive(statement: &mut Statement, views: &ViewColumns) -> Result<(), String> {
    let mut defined = Defined::default();
    let _ = Visit::visit(&*statement, &mut defined);
    let mut resolver = Resolver { views, defined, exact: HashSet::new() };
    for columns in views.values() {
        resolver.exact.extend(columns.iter().cloned());
    }
    resolver.exact.extend(resolver.defined.names.iter().cloned());
    resolver.exact.extend(views.keys().cloned());
    match VisitMut::visit(statement, &mut resolver) {
        ControlFlow::Break(message) => Err(message),
        ControlFlow::Continue(()) => Ok(()),
    }
}

struct Resolver<'a> {
    views: &'a ViewColumns,
    defined: Defined,
    /// Every name as spelled by a view or the query.
    exact: HashSet<String>,
}

impl Resolver<'_> {
    /// The spelling `name` stands for among `columns` (views' columns when `scope` is None).
    fn resolve(&self, name: &str, scope: Option<&str>) -> Result<Option<String>, String> {
        if self.defined.lambda_params.contains(name) {
            return Ok(None);
        }
        let lower = name.to_lowercase();
        // Columns of each view in scope that match ignoring case.
        let views: Vec<(&String, &Vec<String>)> = match scope {
            Some(view) => self.views.get_key_value(view).into_iter().collect(),
            None => self.views.iter().collect(),
        };
        let mut spellings: Vec<&str> = Vec::new();
        for (view, columns) in &views {
            let matching: Vec<&String> = columns.iter().filter(|c| c.to_lowercase() == lower).collect();
            if matching.len() > 1 {
                let names: Vec<String> = matching.iter().map(|c| format!("`{view}`.`{c}`")).collect();
                return Err(format!(
                    "[AMBIGUOUS_REFERENCE] Reference `{name}` is ambiguous, could be: [{}] (column names are case-insensitive; set WEIR_SQL_CASE_SENSITIVE=true to tell them apart).",
                    names.join(", ")
                ));
            }
            spellings.extend(matching.into_iter().map(String::as_str));
        }
        if scope.is_none() {
            spellings.extend(self.defined.names.iter().filter(|n| n.to_lowercase() == lower).map(String::as_str));
        }
        spellings.sort_unstable();
        spellings.dedup();
        if spellings.contains(&name) || self.exact.contains(name) && scope.is_none() {
            return Ok(None);
        }
        Ok(match spellings.as_slice() {
            [one] => Some(one.to_string()),
            _ => None,
        })
    }

    /// The view a qualifier names (a table alias or a view name), lower-cased.
    fn qualifier(&self, qualifier: &str) -> Option<String> {
        let lower = qualifier.to_lowercase();
        if let Some(view) = self.defined.aliases.get(&lower) {
            return Some(view.clone());
        }
        self.views.contains_key(&lower).then_some(lower)
    }
}

impl VisitorMut for Resolver<'_> {
    type Break = String;
    fn pre_visit_relation(&mut self, relation: &mut ast::ObjectName) -> ControlFlow<String> {
        // `FROM src` naming the CTE `Src`.
        if let [part] = relation.0.as_mut_slice()
            && let Some(ident) = part.as_ident()
            && let Some(spelling) = self.defined.relations.get(&ident.value.to_lowercase())
            && spelling != &ident.value
        {
            *part = ast::ObjectNamePart::Identifier(Ident::new(spelling.clone()));
        }
        ControlFlow::Continue(())
    }
    fn post_visit_expr(&mut self, expr: &mut Expr) -> ControlFlow<String> {
        let result = match expr {
            Expr::Identifier(ident) => self.resolve(&ident.value, None).map(|s| s.map(|s| ident.value = s)),
            Expr::CompoundIdentifier(parts) if parts.len() >= 2 => {
                // A qualifier written in another case than its alias or CTE.
                if let Some(spelling) = self.defined.relations.get(&parts[0].value.to_lowercase()) {
                    parts[0].value = spelling.clone();
                }
                match self.qualifier(&parts[0].value) {
                    // `alias.column[.field…]`
                    Some(view) => self.resolve(&parts[1].value, Some(&view)).map(|s| s.map(|s| parts[1].value = s)),
                    // `alias.column` of a derived table or CTE.
                    None if self.defined.relations.contains_key(&parts[0].value.to_lowercase()) => {
                        self.resolve(&parts[1].value, None).map(|s| s.map(|s| parts[1].value = s))
                    }
                    // `column.field…`: resolve the column.
                    None => self.resolve(&parts[0].value, None).map(|s| s.map(|s| parts[0].value = s)),
                }
            }
            _ => Ok(None),
        };
        match result {
            Ok(_) => ControlFlow::Continue(()),
            Err(message) => ControlFlow::Break(message),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sql::dialect::SparkDialect;
    use datafusion::sql::sqlparser::parser::Parser;

    fn parse(sql: &str) -> Statement {
        Parser::parse_sql(&SparkDialect, sql).expect("parse").remove(0)
    }

    fn views() -> ViewColumns {
        HashMap::from([
            ("t".to_string(), vec!["name".to_string(), "Id".to_string()]),
            ("u".to_string(), vec!["NAME".to_string(), "code".to_string()]),
            ("both".to_string(), vec!["name".to_string(), "NAME".to_string()]),
        ])
    }

    /// `sql` resolved against the views it names (as the planner passes them).
    fn resolved(sql: &str) -> Result<String, String> {
        let mut s = parse(sql);
        let words: HashSet<&str> = sql.split(|c: char| !c.is_alphanumeric()).collect();
        let read: ViewColumns = views().into_iter().filter(|(v, _)| words.contains(v.as_str())).collect();
        case_insensitive(&mut s, &read)?;
        Ok(s.to_string())
    }

    #[test]
    fn columns_resolve_ignoring_case() {
        assert_eq!(resolved("SELECT Name, ID FROM t").unwrap(), "SELECT name, Id FROM t");
        assert_eq!(resolved("SELECT name FROM u").unwrap(), "SELECT name FROM u".replace("name FROM", "NAME FROM"));
        assert_eq!(resolved("SELECT x.Name FROM t AS x").unwrap(), "SELECT x.name FROM t AS x");
        assert_eq!(
            resolved("SELECT upper(id) AS Big FROM t ORDER BY big").unwrap(),
            "SELECT upper(Id) AS Big FROM t ORDER BY Big"
        );
        // Lambda parameters are left alone.
        assert_eq!(
            resolved("SELECT transform(a, name -> name + 1) FROM t").unwrap(),
            "SELECT transform(a, name -> name + 1) FROM t"
        );
    }

    #[test]
    fn columns_differing_only_in_case_are_ambiguous() {
        let err = resolved("SELECT Name FROM both").unwrap_err();
        assert!(err.contains("`both`.`name`") && err.contains("`both`.`NAME`"), "{err}");
    }

    #[test]
    fn cte_and_alias_names_ignore_case() {
        assert_eq!(
            resolved("WITH Src AS (SELECT 1 AS MyCol) SELECT mycol FROM src").unwrap(),
            "WITH Src AS (SELECT 1 AS MyCol) SELECT MyCol FROM Src"
        );
        assert_eq!(
            resolved("SELECT sub.a FROM (SELECT 1 AS A) AS Sub").unwrap(),
            "SELECT Sub.A FROM (SELECT 1 AS A) AS Sub"
        );
    }

    #[test]
    fn syntax_with_another_meaning_is_refused() {
        let refused = |sql: &str| unsupported(&parse(sql)).is_err();
        assert!(refused("SELECT * FROM a FULL OUTER JOIN b USING (k)"));
        assert!(refused("SELECT * FROM a RIGHT JOIN b USING (k)"));
        assert!(!refused("SELECT * FROM a LEFT JOIN b USING (k)"));
        assert!(!refused("SELECT 1 EXCEPT ALL SELECT 2"), "planned with bag semantics (see set_all)");
    }

    #[test]
    fn ignore_nulls_flag() {
        let mut s = parse("SELECT first_value(v, true) OVER (ORDER BY i), last(v, false) FROM t");
        literals(&mut s);
        assert_eq!(s.to_string(), "SELECT first_value(v) IGNORE NULLS OVER (ORDER BY i), last(v) FROM t");
    }

    #[test]
    fn generators_become_unnest() {
        let rewritten = |sql: &str, shapes: &[(usize, Shape)]| {
            let mut s = parse(sql);
            let shapes: Shapes = shapes.iter().cloned().collect();
            generators(&mut s, &shapes).map(|()| s.to_string())
        };
        let array = [(0, Shape::Array)];
        // Without its shape, a generator is the probe that asks for it.
        assert_eq!(
            rewritten("SELECT k, explode(a) FROM t", &[]).unwrap(),
            "SELECT k, __weir_generator_shape(a, 0) FROM t"
        );
        assert_eq!(rewritten("SELECT k, explode(a) FROM t", &array).unwrap(), "SELECT k, unnest(a) AS `col` FROM t");
        assert_eq!(
            rewritten("SELECT posexplode_outer(a) AS (p, v) FROM t", &array).unwrap(),
            "SELECT unnest(__weir_positions(a, true)) AS p, unnest(__weir_outer(a)) AS v FROM t"
        );
        assert_eq!(
            rewritten("SELECT explode(m) FROM t", &[(0, Shape::Map)]).unwrap(),
            "SELECT unnest(map_keys(m)) AS `key`, unnest(map_values(m)) AS `value` FROM t"
        );
        assert_eq!(
            rewritten("SELECT inline(s) FROM t", &[(0, Shape::Structs(vec!["a".into(), "B".into()]))]).unwrap(),
            "SELECT get_field(unnest(s), 'a') AS `a`, get_field(unnest(s), 'B') AS `B` FROM t"
        );
        assert_eq!(
            rewritten("SELECT stack(2, 1, 'a', 2)", &[]).unwrap(),
            "SELECT unnest(__weir_stack(1, 2)) AS `col0`, unnest(__weir_stack('a', NULL)) AS `col1`"
        );
        assert_eq!(
            rewritten("SELECT k, x.e FROM t LATERAL VIEW explode(a) x AS e", &array).unwrap(),
            "SELECT k, t.e FROM (SELECT *, unnest(a) AS e FROM t) AS `t`"
        );
        assert_eq!(
            rewritten("SELECT k, x.e FROM t LATERAL VIEW OUTER posexplode(a) x AS p, e", &array).unwrap(),
            "SELECT k, t.e FROM (SELECT *, unnest(__weir_positions(a, true)) AS p, unnest(__weir_outer(a)) AS e FROM t) AS `t`"
        );
        let refused = |sql: &str| rewritten(sql, &array).unwrap_err();
        assert!(refused("SELECT t.* FROM t LATERAL VIEW explode(a) x AS e").contains("not supported yet"));
        assert!(refused("SELECT x.* FROM t LATERAL VIEW explode(a) x AS e").contains("not supported yet"));
        assert!(refused("SELECT explode(a), explode(b) FROM t").contains("not supported yet"));
        assert!(refused("SELECT explode(a) AS (x, y) FROM t").contains("UDTF_ALIAS_NUMBER_MISMATCH"));
        assert!(refused("SELECT stack(n, 1) FROM t").contains("not supported yet"));
    }

    #[test]
    fn typed_literals() {
        let mut s = parse("SELECT 1L, 2S, 3Y, 1.5D, 2D, 1.5F, 1.5BD, 1e3, 1.0E20");
        literals(&mut s);
        assert_eq!(
            s.to_string(),
            "SELECT CAST(1 AS BIGINT), CAST(2 AS SMALLINT), CAST(3 AS TINYINT), CAST(1.5 AS DOUBLE), CAST(2 AS DOUBLE), CAST(1.5 AS FLOAT), CAST(1.5 AS DECIMAL(2,1)), CAST(1e3 AS DOUBLE), CAST(1.0E20 AS DOUBLE)"
        );
    }
}
