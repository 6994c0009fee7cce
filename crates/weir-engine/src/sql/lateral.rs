//! Spark's lateral column aliases in a SELECT without FROM: `SELECT 'x' AS s, upper(s)` reads
//! `s` as the earlier item's expression. Without a FROM clause a name can only be such an
//! alias, so it is replaced by the aliased expression (in parentheses). SELECTs with a FROM
//! clause are left to the planner.

use std::collections::{HashMap, HashSet};
use std::ops::ControlFlow;

use datafusion::sql::sqlparser::ast::{
    Expr, OneOrManyWithParens, Query, Select, SelectItem, Statement, VisitMut, VisitorMut,
};

/// Replaces lateral alias references (see the module doc).
pub fn rewrite(statement: &mut Statement) {
    struct Selects;
    impl VisitorMut for Selects {
        type Break = ();
        fn pre_visit_select(&mut self, select: &mut Select) -> ControlFlow<()> {
            if !select.from.is_empty() {
                return ControlFlow::Continue(());
            }
            let mut aliases: HashMap<String, Expr> = HashMap::new();
            for item in &mut select.projection {
                let (expr, alias) = match item {
                    SelectItem::UnnamedExpr(expr) => (expr, None),
                    SelectItem::ExprWithAlias { expr, alias } => (expr, Some(alias.value.to_lowercase())),
                    _ => continue,
                };
                if !aliases.is_empty() {
                    let _ = VisitMut::visit(
                        expr,
                        &mut References { aliases: &aliases, depth: 0, lambda_params: HashSet::new() },
                    );
                }
                if let Some(alias) = alias {
                    aliases.insert(alias, expr.clone());
                }
            }
            ControlFlow::Continue(())
        }
    }
    let _ = VisitMut::visit(statement, &mut Selects);
}

struct References<'a> {
    aliases: &'a HashMap<String, Expr>,
    /// Subqueries entered: their names are their own.
    depth: usize,
    /// Lambda parameters seen: never aliases.
    lambda_params: HashSet<String>,
}

impl VisitorMut for References<'_> {
    type Break = ();
    fn pre_visit_query(&mut self, _query: &mut Query) -> ControlFlow<()> {
        self.depth += 1;
        ControlFlow::Continue(())
    }
    fn post_visit_query(&mut self, _query: &mut Query) -> ControlFlow<()> {
        self.depth -= 1;
        ControlFlow::Continue(())
    }
    fn pre_visit_expr(&mut self, expr: &mut Expr) -> ControlFlow<()> {
        if let Expr::Lambda(lambda) = expr {
            match &lambda.params {
                OneOrManyWithParens::One(p) => {
                    self.lambda_params.insert(p.name.value.to_lowercase());
                }
                OneOrManyWithParens::Many(ps) => {
                    self.lambda_params.extend(ps.iter().map(|p| p.name.value.to_lowercase()));
                }
            }
        }
        ControlFlow::Continue(())
    }
    fn post_visit_expr(&mut self, expr: &mut Expr) -> ControlFlow<()> {
        if self.depth == 0
            && let Expr::Identifier(ident) = expr
            && !self.lambda_params.contains(&ident.value.to_lowercase())
            && let Some(aliased) = self.aliases.get(&ident.value.to_lowercase())
        {
            *expr = Expr::Nested(Box::new(aliased.clone()));
        }
        ControlFlow::Continue(())
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
    fn later_items_read_earlier_aliases() {
        assert_eq!(
            rewritten("SELECT 'a' AS S, s LIKE 'a', upper(S) AS u"),
            "SELECT 'a' AS S, ('a') LIKE 'a', upper(('a')) AS u"
        );
        assert_eq!(rewritten("SELECT a AS b, b FROM t"), "SELECT a AS b, b FROM t");
    }
}
