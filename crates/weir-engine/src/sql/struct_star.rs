//! Spark's `s.*` where `s` is a struct column: the struct's fields as columns (`SELECT s.*
//! FROM (SELECT named_struct('x', 1, 'y', 'z') AS s)` gives the columns `x` and `y`). As in
//! Spark a relation of that name wins (`t.*` is the table's columns).
//!
//! A qualifier that names no relation of its SELECT's FROM is looked up in the FROM's
//! columns, found by planning `SELECT * FROM <that FROM>` (with the CTEs in scope); a struct
//! column's `.*` is then rewritten to one item per field (`s.'x' AS x, …`).
//!
//! Spark's `struct(*)` / `struct(t.*)` (parsed by the dialect as the call `struct` with a
//! wildcard argument) become `named_struct('c', c, …)` over the columns the same probe finds
//! (`SELECT * FROM <FROM>`, or `SELECT t.* FROM <FROM>`).

use std::ops::ControlFlow;

use datafusion::arrow::datatypes::DataType;
use datafusion::common::DFSchemaRef;
use datafusion::execution::SessionState;
use datafusion::sql::parser::Statement as DFStatement;
use datafusion::sql::sqlparser::ast::{
    self, Expr, Ident, ObjectName, Query, Select, SelectItem, SelectItemQualifiedWildcardKind, Statement, TableFactor,
    Value, ValueWithSpan, Visit, VisitMut, Visitor, VisitorMut, With,
};

/// A `q.*` item to look up: its qualifier and the query that lists the FROM's columns.
struct Probe {
    qualifier: Vec<String>,
    query: Query,
}

/// Expands the struct stars of `statement` (see the module doc). Inner SELECTs first, one
/// star at a time, so that a probe's FROM has its own stars expanded already.
pub async fn expand(state: &SessionState, statement: &mut Statement, case_sensitive: bool) -> Result<(), String> {
    let mut next = 0;
    loop {
        let mut finder = Finder { scopes: Vec::new(), probes: Vec::new(), struct_probes: Vec::new() };
        let _ = Visit::visit(&*statement, &mut finder);
        let Some(index) = (next..finder.probes.len()).find(|i| finder.probes[*i].is_some()) else { return Ok(()) };
        let probe = finder.probes.swap_remove(index).expect("a probe");
        let query = DFStatement::Statement(Box::new(Statement::Query(Box::new(probe.query))));
        let items = match state.statement_to_plan(query).await {
            Ok(plan) => fields_of(plan.schema(), &probe.qualifier, case_sensitive)?,
            // The FROM cannot be planned alone (it refers to outer columns): left to the planner.
            Err(_) => None,
        };
        match items {
            Some(items) => {
                let _ = VisitMut::visit(statement, &mut Replacer { star: 0, target: index, items: Some(items) });
            }
            None => next = index + 1,
        }
    }
}

/// The items `q.*` stands for when `q` is a struct column of `schema` (None when it names a
/// relation, or nothing the planner would not report itself).
fn fields_of(
    schema: &DFSchemaRef,
    qualifier: &[String],
    case_sensitive: bool,
) -> Result<Option<Vec<SelectItem>>, String> {
    let same = |a: &str, b: &str| if case_sensitive { a == b } else { a.eq_ignore_ascii_case(b) };
    let (relation, column) = match qualifier {
        [column] => (None, column),
        [relation, column] => (Some(relation), column),
        _ => return Ok(None),
    };
    let joined = qualifier.join(".");
    if schema.iter().any(|(q, _)| q.is_some_and(|q| same(q.table(), &joined) || same(&q.to_string(), &joined))) {
        return Ok(None);
    }
    let matching: Vec<_> = schema
        .iter()
        .filter(|(q, f)| same(f.name(), column) && relation.is_none_or(|r| q.is_some_and(|q| same(q.table(), r))))
        .collect();
    let [(q, field)] = matching.as_slice() else { return Ok(None) };
    let DataType::Struct(fields) = field.data_type() else {
        return Err(format!(
            "[INVALID_USAGE_OF_STAR_OR_REGEX] Can only star expand struct data types: `{joined}` is a {}.",
            field.data_type()
        ));
    };
    let root = match (relation, q) {
        (Some(_), Some(q)) => {
            Expr::CompoundIdentifier(vec![Ident::new(q.table()), Ident::with_quote('`', field.name().clone())])
        }
        _ => Expr::Identifier(Ident::with_quote('`', field.name().clone())),
    };
    Ok(Some(
        fields
            .iter()
            .map(|f| SelectItem::ExprWithAlias {
                expr: Expr::CompoundFieldAccess {
                    root: Box::new(root.clone()),
                    access_chain: vec![ast::AccessExpr::Dot(Expr::Value(ValueWithSpan::from(
                        Value::SingleQuotedString(f.name().clone()),
                    )))],
                },
                alias: Ident::with_quote('`', f.name().clone()),
            })
            .collect(),
    ))
}

/// The `q.*` items of a SELECT whose qualifier may be a struct column, `None` for stars that
/// are certainly a relation's.
fn stars<'a>(select: &'a Select) -> impl Iterator<Item = Option<&'a ObjectName>> + 'a {
    select.projection.iter().filter_map(move |item| match item {
        SelectItem::QualifiedWildcard(SelectItemQualifiedWildcardKind::ObjectName(name), options) => {
            let plain = options.opt_ilike.is_none()
                && options.opt_exclude.is_none()
                && options.opt_except.is_none()
                && options.opt_replace.is_none()
                && options.opt_rename.is_none();
            Some((plain && !select.from.is_empty() && !names_relation(select, name)).then_some(name))
        }
        _ => None,
    })
}

/// Whether `name` (one part) is a table name or alias of the SELECT's FROM.
fn names_relation(select: &Select, name: &ObjectName) -> bool {
    let [part] = name.0.as_slice() else { return false };
    let Some(wanted) = part.as_ident() else { return true };
    let factors =
        select.from.iter().flat_map(|t| std::iter::once(&t.relation).chain(t.joins.iter().map(|j| &j.relation)));
    factors.into_iter().any(|factor| {
        let alias = match factor {
            TableFactor::Table { alias: None, name, .. } => {
                return name
                    .0
                    .last()
                    .and_then(|p| p.as_ident())
                    .is_some_and(|i| i.value.eq_ignore_ascii_case(&wanted.value));
            }
            TableFactor::Table { alias, .. }
            | TableFactor::Derived { alias, .. }
            | TableFactor::UNNEST { alias, .. }
            | TableFactor::Function { alias, .. }
            | TableFactor::TableFunction { alias, .. }
            | TableFactor::NestedJoin { alias, .. } => alias,
            _ => return false,
        };
        alias.as_ref().is_some_and(|a| a.name.value.eq_ignore_ascii_case(&wanted.value))
    })
}

/// A WITH clause in scope and how many of its CTEs the current query sees.
struct Scope {
    with: With,
    /// The CTE bodies' addresses (to know which one is being visited).
    queries: Vec<usize>,
    visible: usize,
}

struct Finder {
    scopes: Vec<Scope>,
    probes: Vec<Option<Probe>>,
    /// Per SELECT whose projection calls `struct` with a wildcard: the probe of its first
    /// such call's columns.
    struct_probes: Vec<Option<Query>>,
}

impl Visitor for Finder {
    type Break = ();
    fn pre_visit_query(&mut self, query: &Query) -> ControlFlow<()> {
        // A CTE's body sees the CTEs before it.
        let this = query as *const Query as usize;
        for scope in &mut self.scopes {
            if let Some(i) = scope.queries.iter().position(|q| *q == this) {
                scope.visible = i;
            }
        }
        if let Some(with) = &query.with {
            let queries = with.cte_tables.iter().map(|c| &*c.query as *const Query as usize).collect();
            self.scopes.push(Scope { with: with.clone(), queries, visible: with.cte_tables.len() });
        }
        ControlFlow::Continue(())
    }
    fn post_visit_query(&mut self, query: &Query) -> ControlFlow<()> {
        if query.with.is_some() {
            self.scopes.pop();
        }
        let this = query as *const Query as usize;
        for scope in &mut self.scopes {
            if scope.queries.contains(&this) {
                scope.visible = scope.with.cte_tables.len();
            }
        }
        ControlFlow::Continue(())
    }
    fn post_visit_select(&mut self, select: &Select) -> ControlFlow<()> {
        if let Some(qualifier) = first_struct_wildcard(select) {
            let projection = match qualifier {
                Some(name) => format!("{name}.*"),
                None => "*".to_string(),
            };
            self.struct_probes.push(self.probe_query_of(select, &projection));
        }
        let found: Vec<Option<&ObjectName>> = stars(select).collect();
        for name in found {
            let probe = name.and_then(|name| {
                let qualifier: Option<Vec<String>> =
                    name.0.iter().map(|p| p.as_ident().map(|i| i.value.clone())).collect();
                Some(Probe { qualifier: qualifier?, query: self.probe_query(select)? })
            });
            self.probes.push(probe);
        }
        ControlFlow::Continue(())
    }
}

impl Finder {
    /// `WITH <CTEs in scope> SELECT * FROM <select's FROM>`.
    fn probe_query(&self, select: &Select) -> Option<Query> {
        self.probe_query_of(select, "*")
    }

    /// `WITH <CTEs in scope> SELECT <projection> FROM <select's FROM>`.
    fn probe_query_of(&self, select: &Select, projection: &str) -> Option<Query> {
        if select.from.is_empty() {
            return None;
        }
        let from: Vec<String> = select.from.iter().map(ToString::to_string).collect();
        let ctes: Vec<String> =
            self.scopes.iter().flat_map(|s| s.with.cte_tables[..s.visible].iter().map(ToString::to_string)).collect();
        let with = if ctes.is_empty() { String::new() } else { format!("WITH {} ", ctes.join(", ")) };
        let sql = format!("{with}SELECT {projection} FROM {}", from.join(", "));
        let parsed = datafusion::sql::sqlparser::parser::Parser::parse_sql(&super::dialect::SparkDialect, &sql).ok()?;
        match parsed.into_iter().next()? {
            Statement::Query(query) => Some(*query),
            _ => None,
        }
    }
}

/// The qualifier of `expr` when it is `struct(*)` (`Some(None)`) or `struct(t.*)`.
fn struct_wildcard(expr: &Expr) -> Option<Option<&ObjectName>> {
    let Expr::Function(f) = expr else { return None };
    let [part] = f.name.0.as_slice() else { return None };
    if !part.as_ident().is_some_and(|i| i.value.eq_ignore_ascii_case("struct")) {
        return None;
    }
    let ast::FunctionArguments::List(list) = &f.args else { return None };
    match list.args.as_slice() {
        [ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Wildcard)] => Some(None),
        [ast::FunctionArg::Unnamed(ast::FunctionArgExpr::QualifiedWildcard(name))] => Some(Some(name)),
        _ => None,
    }
}

/// The qualifier of the first `struct(*)` / `struct(t.*)` in a SELECT's projection.
fn first_struct_wildcard(select: &Select) -> Option<Option<String>> {
    struct Search(Option<Option<String>>);
    impl Visitor for Search {
        type Break = ();
        fn pre_visit_expr(&mut self, expr: &Expr) -> ControlFlow<()> {
            match struct_wildcard(expr) {
                Some(qualifier) => {
                    self.0 = Some(qualifier.map(ToString::to_string));
                    ControlFlow::Break(())
                }
                None => ControlFlow::Continue(()),
            }
        }
    }
    let mut search = Search(None);
    for item in &select.projection {
        let _ = Visit::visit(item, &mut search);
        if search.0.is_some() {
            break;
        }
    }
    search.0
}

/// `named_struct('c', c, …)` over the columns of a probe's plan (qualified where the plan
/// knows the column's relation).
fn named_struct_of(schema: &DFSchemaRef) -> Expr {
    let mut args = Vec::with_capacity(schema.fields().len() * 2);
    for (qualifier, field) in schema.iter() {
        let name = Ident::with_quote('`', field.name().clone());
        let column = match qualifier {
            Some(q) => Expr::CompoundIdentifier(vec![Ident::with_quote('`', q.table().to_string()), name]),
            None => Expr::Identifier(name),
        };
        args.push(ast::FunctionArgExpr::Expr(Expr::Value(ValueWithSpan::from(Value::SingleQuotedString(
            field.name().clone(),
        )))));
        args.push(ast::FunctionArgExpr::Expr(column));
    }
    super::dialect::call("named_struct", args)
}

/// Expands the `struct(*)` / `struct(t.*)` calls of `statement` (see the module doc), one at
/// a time, inner SELECTs first.
pub async fn expand_struct_calls(state: &SessionState, statement: &mut Statement) -> Result<(), String> {
    for _ in 0..64 {
        let mut finder = Finder { scopes: Vec::new(), probes: Vec::new(), struct_probes: Vec::new() };
        let _ = Visit::visit(&*statement, &mut finder);
        let Some(probe) = finder.struct_probes.into_iter().next() else { return Ok(()) };
        let Some(query) = probe else {
            return Err("[UNSUPPORTED] struct(*) needs a FROM clause in Weir.".to_string());
        };
        let query = DFStatement::Statement(Box::new(Statement::Query(Box::new(query))));
        let plan = state.statement_to_plan(query).await.map_err(|e| e.to_string())?;
        let replacement = named_struct_of(plan.schema());
        let _ = VisitMut::visit(statement, &mut StructReplacer { replacement: Some(replacement) });
    }
    Err("[UNSUPPORTED] too many struct(*) calls in one statement.".to_string())
}

/// Replaces the first `struct(*)` / `struct(t.*)` of the first SELECT (post-order) that has one.
struct StructReplacer {
    replacement: Option<Expr>,
}

impl VisitorMut for StructReplacer {
    type Break = ();
    fn post_visit_select(&mut self, select: &mut Select) -> ControlFlow<()> {
        if first_struct_wildcard(select).is_none() {
            return ControlFlow::Continue(());
        }
        struct Swap(Option<Expr>);
        impl VisitorMut for Swap {
            type Break = ();
            fn pre_visit_expr(&mut self, expr: &mut Expr) -> ControlFlow<()> {
                if struct_wildcard(expr).is_some()
                    && let Some(replacement) = self.0.take()
                {
                    *expr = replacement;
                    return ControlFlow::Break(());
                }
                ControlFlow::Continue(())
            }
        }
        let mut swap = Swap(self.replacement.take());
        for item in &mut select.projection {
            if VisitMut::visit(item, &mut swap).is_break() {
                break;
            }
        }
        ControlFlow::Break(())
    }
}

/// Replaces the `target`-th star (in [`Finder`]'s order) with `items`.
struct Replacer {
    star: usize,
    target: usize,
    items: Option<Vec<SelectItem>>,
}

impl VisitorMut for Replacer {
    type Break = ();
    fn post_visit_select(&mut self, select: &mut Select) -> ControlFlow<()> {
        let count = stars(select).count();
        if self.target >= self.star + count {
            self.star += count;
            return ControlFlow::Continue(());
        }
        let Some(items) = self.items.take() else { return ControlFlow::Break(()) };
        let mut position = self.target - self.star;
        let mut projection = Vec::with_capacity(select.projection.len() + items.len());
        let mut items = Some(items);
        for item in std::mem::take(&mut select.projection) {
            if matches!(item, SelectItem::QualifiedWildcard(SelectItemQualifiedWildcardKind::ObjectName(_), _)) {
                if position == 0
                    && let Some(items) = items.take()
                {
                    projection.extend(items);
                    continue;
                }
                position = position.saturating_sub(1);
            }
            projection.push(item);
        }
        select.projection = projection;
        ControlFlow::Break(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sql::dialect::SparkDialect;
    use datafusion::sql::sqlparser::parser::Parser;

    fn probes(sql: &str) -> Vec<Option<(String, String)>> {
        let statement = Parser::parse_sql(&SparkDialect, sql).expect("parse").remove(0);
        let mut finder = Finder { scopes: Vec::new(), probes: Vec::new(), struct_probes: Vec::new() };
        let _ = Visit::visit(&statement, &mut finder);
        finder.probes.into_iter().map(|p| p.map(|p| (p.qualifier.join("."), p.query.to_string()))).collect()
    }

    #[test]
    fn stars_of_relations_are_not_probed() {
        assert_eq!(probes("SELECT t.* FROM t"), vec![None]);
        assert_eq!(probes("SELECT X.* FROM t AS x JOIN u ON true"), vec![None]);
        assert_eq!(
            probes("SELECT s.* FROM (SELECT 1 AS s) AS t"),
            vec![Some(("s".into(), "SELECT * FROM (SELECT 1 AS s) AS t".into()))]
        );
    }

    #[test]
    fn probes_see_the_ctes_in_scope() {
        let found = probes("WITH a AS (SELECT 1 AS s), b AS (SELECT s.* FROM a) SELECT b.x.* FROM b");
        assert_eq!(
            found,
            vec![
                Some(("s".into(), "WITH a AS (SELECT 1 AS s) SELECT * FROM a".into())),
                Some(("b.x".into(), "WITH a AS (SELECT 1 AS s), b AS (SELECT s.* FROM a) SELECT * FROM b".into())),
            ]
        );
    }
}
