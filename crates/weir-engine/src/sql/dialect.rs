//! The Spark SQL dialect: sqlparser's Databricks dialect (backtick identifiers, lambdas,
//! `LATERAL VIEW`, struct literals…) plus Spark's backslash escapes in string literals
//! (`'a\tb'`, `'\\d+'` is the regex `\d+`), as Spark parses them by default
//! (`spark.sql.parser.escapedStringLiterals=false`).

use std::any::TypeId;

use datafusion::sql::sqlparser::ast::{self, BinaryOperator, Expr};
use datafusion::sql::sqlparser::dialect::{DatabricksDialect, Dialect};
use datafusion::sql::sqlparser::keywords::Keyword;
use datafusion::sql::sqlparser::parser::{Parser, ParserError};
use datafusion::sql::sqlparser::tokenizer::Token;

/// Databricks' dialect with Spark's string-literal escapes. sqlparser's own Databricks
/// checks (`dialect_of!`) still apply: [`Dialect::dialect`] answers Databricks.
#[derive(Debug, Default, Clone, Copy)]
pub struct SparkDialect;

const BASE: DatabricksDialect = DatabricksDialect {};

/// Between sqlparser's `&` (23) and `+`/`-` (30).
const SHIFT_PRECEDENCE: u8 = 26;

/// A plain call `name(args)`.
pub(crate) fn call(name: &str, args: Vec<ast::FunctionArgExpr>) -> Expr {
    Expr::Function(ast::Function {
        name: ast::ObjectName::from(vec![ast::Ident::new(name)]),
        uses_odbc_syntax: false,
        parameters: ast::FunctionArguments::None,
        args: ast::FunctionArguments::List(ast::FunctionArgumentList {
            duplicate_treatment: None,
            args: args.into_iter().map(ast::FunctionArg::Unnamed).collect(),
            clauses: vec![],
        }),
        filter: None,
        null_treatment: None,
        over: None,
        within_group: vec![],
    })
}

fn shift_call(name: &str, left: Expr, right: Expr) -> Expr {
    call(name, vec![ast::FunctionArgExpr::Expr(left), ast::FunctionArgExpr::Expr(right)])
}

/// Spark's `struct(*)` and `struct(t.*)` (sqlparser reads `STRUCT(` as a struct literal,
/// which takes no star): the call `struct` with a wildcard argument, which
/// `struct_star::expand_struct_calls` replaces by the FROM's columns.
fn struct_wildcard(parser: &mut Parser) -> Option<Result<Expr, ParserError>> {
    let [first, open, a, b, c, d] = parser.peek_tokens::<6>();
    if !matches!(&first, Token::Word(w) if w.keyword == Keyword::STRUCT) || open != Token::LParen {
        return None;
    }
    let (arg, tokens) = match (&a, &b, &c, &d) {
        (Token::Mul, Token::RParen, _, _) => (ast::FunctionArgExpr::Wildcard, 4),
        (Token::Word(w), Token::Period, Token::Mul, Token::RParen) => {
            let ident = ast::Ident {
                value: w.value.clone(),
                quote_style: w.quote_style,
                span: datafusion::sql::sqlparser::tokenizer::Span::empty(),
            };
            (ast::FunctionArgExpr::QualifiedWildcard(ast::ObjectName::from(vec![ident])), 6)
        }
        _ => return None,
    };
    for _ in 0..tokens {
        parser.advance_token();
    }
    Some(Ok(call("struct", vec![arg])))
}

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
    fn parse_prefix(&self, parser: &mut Parser) -> Option<Result<Expr, ParserError>> {
        struct_wildcard(parser)
    }
    /// Spark's shifts `<<`, `>>`, `>>>` bind tighter than `&` and looser than `+`.
    fn get_next_precedence(&self, parser: &Parser) -> Option<Result<u8, ParserError>> {
        match &parser.peek_token_ref().token {
            Token::ShiftLeft | Token::ShiftRight => Some(Ok(SHIFT_PRECEDENCE)),
            _ => None,
        }
    }

    /// Spark's `a div b` (integral division), planned by the Spark planner, and the shifts
    /// as Spark's `shiftleft` / `shiftright` / `shiftrightunsigned`.
    fn parse_infix(&self, parser: &mut Parser, expr: &Expr, precedence: u8) -> Option<Result<Expr, ParserError>> {
        let shift = match &parser.peek_token_ref().token {
            Token::ShiftLeft => Some("shiftleft"),
            Token::ShiftRight => Some("shiftright"),
            _ => None,
        };
        if let Some(mut name) = shift {
            parser.advance_token();
            // `>>>` is read as `>>` then `>`.
            if name == "shiftright" && parser.consume_token(&Token::Gt) {
                name = "shiftrightunsigned";
            }
            return Some(parser.parse_subexpr(precedence).map(|right| shift_call(name, expr.clone(), right)));
        }
        // `a IS [NOT] DISTINCT FROM b AND c` is `(a <=> b) AND c` in Spark; sqlparser's own rule
        // reads the right side as a whole expression (`a <=> (b AND c)`).
        for (negated, keywords) in [
            (true, &[Keyword::IS, Keyword::NOT, Keyword::DISTINCT, Keyword::FROM][..]),
            (false, &[Keyword::IS, Keyword::DISTINCT, Keyword::FROM][..]),
        ] {
            if parser.parse_keywords(keywords) {
                let left = Box::new(expr.clone());
                return Some(parser.parse_subexpr(precedence).map(|right| match negated {
                    true => Expr::IsNotDistinctFrom(left, Box::new(right)),
                    false => Expr::IsDistinctFrom(left, Box::new(right)),
                }));
            }
        }
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
