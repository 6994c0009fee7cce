//! Spark aggregate spellings rewritten in the parsed statement before planning:
//!
//! - `string_agg(x)` without a delimiter (Spark's is the empty string) and
//!   `string_agg(x) WITHIN GROUP (ORDER BY k)` are `listagg`, which takes these forms;
//!   `string_agg(x ORDER BY k)` gets the empty delimiter (DataFusion's `string_agg` keeps its
//!   `ORDER BY` argument).
//! - `grouping(c)` is Spark's TINYINT: 1 when `c` is aggregated away in the row's grouping
//!   set (ROLLUP / CUBE / GROUPING SETS), else 0. DataFusion's `grouping` computes the bit;
//!   the call is cast to TINYINT.
//! - `grouping_id(c1, …, cn)` is a BIGINT whose bits are `grouping(c1)` … `grouping(cn)`, `c1`
//!   the most significant — DataFusion's `grouping(c1, …, cn)`, cast to BIGINT. Without
//!   arguments the columns are the GROUP BY's, in order.

use std::collections::HashSet;
use std::ops::ControlFlow;

use datafusion::sql::sqlparser::ast::{
    self, CastKind, DataType, Expr, FunctionArg, FunctionArgExpr, FunctionArguments, GroupByExpr, Ident, ObjectName,
    Select, SelectItem, Statement, Value, ValueWithSpan, VisitMut, VisitorMut,
};

/// Rewrites the statement's aggregate spellings (see the module doc).
pub fn rewrite(statement: &mut Statement) {
    struct Selects;
    impl VisitorMut for Selects {
        type Break = ();
        fn pre_visit_select(&mut self, select: &mut Select) -> ControlFlow<()> {
            let columns = group_by_columns(&select.group_by);
            let mut calls = Calls { columns, depth: 0 };
            for item in &mut select.projection {
                if let SelectItem::UnnamedExpr(expr) | SelectItem::ExprWithAlias { expr, .. } = item {
                    let _ = VisitMut::visit(expr, &mut calls);
                }
            }
            if let Some(having) = &mut select.having {
                let _ = VisitMut::visit(having, &mut calls);
            }
            ControlFlow::Continue(())
        }
    }
    let _ = VisitMut::visit(statement, &mut Selects);
}

/// The GROUP BY's distinct expressions, in order (those of ROLLUP / CUBE / GROUPING SETS
/// flattened).
fn group_by_columns(group_by: &GroupByExpr) -> Vec<Expr> {
    let GroupByExpr::Expressions(exprs, _) = group_by else { return Vec::new() };
    let mut seen = HashSet::new();
    let mut columns = Vec::new();
    let mut add = |e: &Expr| {
        if seen.insert(e.to_string()) {
            columns.push(e.clone());
        }
    };
    for expr in exprs {
        match expr {
            Expr::Rollup(sets) | Expr::Cube(sets) | Expr::GroupingSets(sets) => {
                sets.iter().flatten().for_each(&mut add);
            }
            other => add(other),
        }
    }
    columns
}

struct Calls {
    columns: Vec<Expr>,
    /// Subqueries entered: their calls are their own SELECT's.
    depth: usize,
}

impl VisitorMut for Calls {
    type Break = ();
    fn pre_visit_query(&mut self, _query: &mut ast::Query) -> ControlFlow<()> {
        self.depth += 1;
        ControlFlow::Continue(())
    }
    fn post_visit_query(&mut self, _query: &mut ast::Query) -> ControlFlow<()> {
        self.depth -= 1;
        ControlFlow::Continue(())
    }
    fn post_visit_expr(&mut self, expr: &mut Expr) -> ControlFlow<()> {
        let Expr::Function(function) = expr else { return ControlFlow::Continue(()) };
        if function.over.is_some() || self.depth > 0 {
            return ControlFlow::Continue(());
        }
        let name = function.name.to_string().to_ascii_lowercase();
        match name.as_str() {
            "string_agg" => string_agg(function),
            "grouping" => *expr = cast(expr.clone(), DataType::TinyInt(None)),
            "grouping_id" => {
                function.name = ObjectName::from(vec![Ident::new("grouping")]);
                if let FunctionArguments::List(list) = &mut function.args {
                    if list.args.is_empty() {
                        list.args = self
                            .columns
                            .iter()
                            .map(|c| FunctionArg::Unnamed(FunctionArgExpr::Expr(c.clone())))
                            .collect();
                    }
                } else if matches!(function.args, FunctionArguments::None) {
                    function.args = FunctionArguments::List(ast::FunctionArgumentList {
                        duplicate_treatment: None,
                        args: self
                            .columns
                            .iter()
                            .map(|c| FunctionArg::Unnamed(FunctionArgExpr::Expr(c.clone())))
                            .collect(),
                        clauses: Vec::new(),
                    });
                }
                *expr = cast(expr.clone(), DataType::BigInt(None));
            }
            _ => {}
        }
        ControlFlow::Continue(())
    }
}

fn cast(expr: Expr, data_type: DataType) -> Expr {
    Expr::Cast { kind: CastKind::Cast, expr: Box::new(expr), data_type, array: false, format: None }
}

fn string_agg(function: &mut ast::Function) {
    let FunctionArguments::List(list) = &mut function.args else { return };
    if list.args.len() != 1 {
        return;
    }
    if list.clauses.is_empty() || !function.within_group.is_empty() {
        function.name = ObjectName::from(vec![Ident::new("listagg")]);
    } else {
        list.args.push(FunctionArg::Unnamed(FunctionArgExpr::Expr(Expr::Value(ValueWithSpan::from(
            Value::SingleQuotedString(String::new()),
        )))));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sql::dialect::SparkDialect;
    use datafusion::sql::sqlparser::parser::Parser;

    fn rewritten(sql: &str) -> String {
        let mut s = Parser::parse_sql(&SparkDialect, sql).expect("parse").remove(0);
        rewrite(&mut s);
        s.to_string()
    }

    #[test]
    fn grouping_functions() {
        assert_eq!(
            rewritten("SELECT grouping(a), grouping_id() FROM t GROUP BY CUBE(a, b)"),
            "SELECT CAST(grouping(a) AS TINYINT), CAST(grouping(a, b) AS BIGINT) FROM t GROUP BY CUBE (a, b)"
        );
    }

    #[test]
    fn string_agg_forms() {
        assert_eq!(rewritten("SELECT string_agg(x) FROM t"), "SELECT listagg(x) FROM t");
        assert_eq!(rewritten("SELECT string_agg(x, ',') FROM t"), "SELECT string_agg(x, ',') FROM t");
    }
}
