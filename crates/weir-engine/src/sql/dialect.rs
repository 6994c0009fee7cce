//! The Spark SQL dialect: sqlparser's Databricks dialect (backtick identifiers, lambdas,
//! `LATERAL VIEW`, struct literals…) plus Spark's backslash escapes in string literals
//! (`'a\tb'`, `'\\d+'` is the regex `\d+`), as Spark parses them by default
//! (`spark.sql.parser.escapedStringLiterals=false`).

use std::any::TypeId;

use datafusion::sql::sqlparser::ast::{BinaryOperator, Expr};
use datafusion::sql::sqlparser::dialect::{DatabricksDialect, Dialect};
use datafusion::sql::sqlparser::keywords::Keyword;
use datafusion::sql::sqlparser::parser::{Parser, ParserError};
use datafusion::sql::sqlparser::tokenizer::Token;

/// Databricks' dialect with Spark's string-literal escapes. sqlparser's own Databricks
/// checks (`dialect_of!`) still apply: [`Dialect::dialect`] answers Databricks.
#[derive(Debug, Default, Clone, Copy)]
pub struct SparkDialect;

const BASE: DatabricksDialect = DatabricksDialect {};

impl Dialect for SparkDialect {
    fn dialect(&self) -> TypeId {
        TypeId::of::<DatabricksDialect>()
    }
    fn supports_string_literal_backslash_escape(&self) -> bool {
        true
    }
    fn is_delimited_identifier_start(&self, ch: char) -> bool {
        BASE.is_delimited_identifier_start(ch)
    }
    fn is_identifier_start(&self, ch: char) -> bool {
        BASE.is_identifier_start(ch)
    }
    fn is_identifier_part(&self, ch: char) -> bool {
        BASE.is_identifier_part(ch)
    }
    fn supports_numeric_prefix(&self) -> bool {
        BASE.supports_numeric_prefix()
    }
    fn supports_filter_during_aggregation(&self) -> bool {
        BASE.supports_filter_during_aggregation()
    }
    fn supports_group_by_expr(&self) -> bool {
        BASE.supports_group_by_expr()
    }
    fn supports_table_versioning(&self) -> bool {
        BASE.supports_table_versioning()
    }
    fn supports_lambda_functions(&self) -> bool {
        BASE.supports_lambda_functions()
    }
    fn supports_select_wildcard_except(&self) -> bool {
        BASE.supports_select_wildcard_except()
    }
    fn require_interval_qualifier(&self) -> bool {
        BASE.require_interval_qualifier()
    }
    fn supports_map_literal_with_angle_brackets(&self) -> bool {
        true
    }
    fn supports_struct_literal(&self) -> bool {
        BASE.supports_struct_literal()
    }
    fn supports_nested_comments(&self) -> bool {
        BASE.supports_nested_comments()
    }
    fn supports_group_by_with_modifier(&self) -> bool {
        BASE.supports_group_by_with_modifier()
    }
    fn supports_values_as_table_factor(&self) -> bool {
        BASE.supports_values_as_table_factor()
    }
    fn supports_bang_not_operator(&self) -> bool {
        BASE.supports_bang_not_operator()
    }
    fn supports_cte_without_as(&self) -> bool {
        BASE.supports_cte_without_as()
    }
    fn supports_select_item_multi_column_alias(&self) -> bool {
        BASE.supports_select_item_multi_column_alias()
    }
    /// Spark's `a div b` (integral division), planned by the Spark planner.
    fn parse_infix(&self, parser: &mut Parser, expr: &Expr, precedence: u8) -> Option<Result<Expr, ParserError>> {
        if !matches!(&parser.peek_token_ref().token, Token::Word(w) if w.keyword == Keyword::DIV) {
            return None;
        }
        parser.advance_token();
        Some(parser.parse_subexpr(precedence).map(|right| Expr::BinaryOp {
            left: Box::new(expr.clone()),
            op: BinaryOperator::MyIntegerDivide,
            right: Box::new(right),
        }))
    }
}
