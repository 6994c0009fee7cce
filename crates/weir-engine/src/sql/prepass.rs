//! Spark SQL spellings the tokenizer or parser does not read, rewritten in the SQL text
//! before parsing (each rewrite keeps Spark's meaning):
//!
//! - **Raw string literals** `r'a\d'` / `r"a\d"`: no escape processing, written as the
//!   ordinary literal `'a\\d'`.
//! - **Binary literals with a space** `X 'F0'` as `X'F0'`; an odd number of hex digits gets a
//!   leading zero (`X'0'` is `X'00'`), as Spark reads it.
//! - **`trim(BOTH FROM s)`** (and `LEADING` / `TRAILING`) without trim characters: the
//!   characters are the space, `trim(BOTH ' ' FROM s)`.
//! - **Typed literals with an exponent** `1e7D`, `1.5e-3F`, `1e3BD` (the tokenizer splits
//!   the suffix off the number): `CAST(1e7 AS DOUBLE)`, `CAST(1.5e-3 AS FLOAT)`,
//!   `CAST(1000 AS DECIMAL(4,0))` (Spark's decimal of the written value, scale at least 0).
//! - **`VALUES` without parentheses around rows** (`FROM VALUES 'a', 'b' AS t(c)`): each bare
//!   expression is a one-column row, `VALUES ('a'), ('b') AS t(c)`.
//! - **`CROSS JOIN t ON cond`** (or `USING (k)`), which Spark reads as an inner join:
//!   `INNER JOIN t ON cond`.

use std::borrow::Cow;

use datafusion::sql::sqlparser::keywords::Keyword;
use datafusion::sql::sqlparser::tokenizer::{Location, Token, TokenWithSpan, Tokenizer, Whitespace};

use super::dialect::SparkDialect;

/// One replacement of the characters `start..end` (char indexes) by `text`.
struct Edit {
    start: usize,
    end: usize,
    text: String,
}

/// The SQL text with the rewrites of the module doc applied (unchanged when it has none or
/// does not tokenize: the parser reports the error).
pub fn rewrite(sql: &str) -> Cow<'_, str> {
    let lower = sql.to_ascii_lowercase();
    let candidate = lower.contains("r'")
        || lower.contains("r\"")
        || lower.contains("x '")
        || lower.contains("x'")
        || lower.contains("trim")
        || lower.contains("values")
        || lower.contains('e');
    if !candidate {
        return Cow::Borrowed(sql);
    }
    let Ok(tokens) = Tokenizer::new(&SparkDialect, sql).tokenize_with_location() else {
        return Cow::Borrowed(sql);
    };
    let chars: Vec<char> = sql.chars().collect();
    let index = LineIndex::new(&chars);
    let mut edits = Vec::new();
    raw_strings(&tokens, &chars, &index, &mut edits);
    binary_literals(&tokens, &chars, &index, &mut edits);
    trim_without_characters(&tokens, &index, &mut edits);
    bare_values(&tokens, &index, &mut edits);
    exponent_literals(&tokens, &index, &mut edits);
    cross_join_with_condition(&tokens, &index, &mut edits);
    if edits.is_empty() {
        return Cow::Borrowed(sql);
    }
    edits.sort_by_key(|e| (e.start, e.end));
    let mut out = String::with_capacity(sql.len() + 16);
    let mut at = 0;
    for edit in edits {
        if edit.start < at {
            // Overlapping edits: keep the text as written.
            return Cow::Borrowed(sql);
        }
        out.extend(&chars[at..edit.start]);
        out.push_str(&edit.text);
        at = edit.end;
    }
    out.extend(&chars[at..]);
    Cow::Owned(out)
}

/// From a token's (line, column) to its char index in the text.
struct LineIndex {
    line_starts: Vec<usize>,
}

impl LineIndex {
    fn new(chars: &[char]) -> Self {
        let mut line_starts = vec![0];
        for (i, c) in chars.iter().enumerate() {
            if *c == '\n' {
                line_starts.push(i + 1);
            }
        }
        Self { line_starts }
    }

    fn at(&self, location: Location) -> Option<usize> {
        let line = usize::try_from(location.line).ok()?.checked_sub(1)?;
        let column = usize::try_from(location.column).ok()?.checked_sub(1)?;
        Some(self.line_starts.get(line)? + column)
    }

    /// The token's `start..end` (end exclusive).
    fn span(&self, token: &TokenWithSpan) -> Option<(usize, usize)> {
        Some((self.at(token.span.start)?, self.at(token.span.end)?))
    }
}

fn is_space(token: &Token) -> bool {
    matches!(token, Token::Whitespace(_))
}

fn word_is(token: &Token, text: &str) -> bool {
    matches!(token, Token::Word(w) if w.quote_style.is_none() && w.value.eq_ignore_ascii_case(text))
}

/// `r'…'` / `r"…"` as `'…'` with every backslash doubled.
fn raw_strings(tokens: &[TokenWithSpan], chars: &[char], index: &LineIndex, edits: &mut Vec<Edit>) {
    for pair in tokens.windows(2) {
        let [prefix, string] = pair else { continue };
        if !word_is(&prefix.token, "r")
            || !matches!(string.token, Token::SingleQuotedString(_) | Token::DoubleQuotedString(_))
        {
            continue;
        }
        let (Some((start, prefix_end)), Some((string_start, end))) = (index.span(prefix), index.span(string)) else {
            continue;
        };
        if prefix_end != string_start || end < string_start + 2 || end > chars.len() {
            continue;
        }
        let body = &chars[string_start + 1..end - 1];
        let mut text = String::from("'");
        for c in body {
            match c {
                '\\' => text.push_str("\\\\"),
                '\'' => text.push_str("\\'"),
                c => text.push(*c),
            }
        }
        text.push('\'');
        edits.push(Edit { start, end, text });
    }
}

/// `X 'F0'` as `X'F0'`, and `X'0'` as `X'00'`.
fn binary_literals(tokens: &[TokenWithSpan], chars: &[char], index: &LineIndex, edits: &mut Vec<Edit>) {
    for (i, token) in tokens.iter().enumerate() {
        match &token.token {
            Token::HexStringLiteral(digits) if digits.len() % 2 == 1 => {
                if let Some((start, end)) = index.span(token) {
                    edits.push(Edit { start, end, text: format!("X'0{digits}'") });
                }
            }
            Token::Word(_) if word_is(&token.token, "x") => {
                let mut j = i + 1;
                while tokens.get(j).is_some_and(|t| matches!(t.token, Token::Whitespace(Whitespace::Space))) {
                    j += 1;
                }
                let Some(string) = tokens.get(j) else { continue };
                let Token::SingleQuotedString(digits) = &string.token else { continue };
                if j == i + 1 || !digits.chars().all(|c| c.is_ascii_hexdigit()) {
                    continue;
                }
                let (Some((start, _)), Some((_, end))) = (index.span(token), index.span(string)) else { continue };
                if end > chars.len() {
                    continue;
                }
                let pad = if digits.len() % 2 == 1 { "0" } else { "" };
                edits.push(Edit { start, end, text: format!("X'{pad}{digits}'") });
            }
            _ => {}
        }
    }
}

/// `trim(BOTH FROM s)` as `trim(BOTH ' ' FROM s)` (and `LEADING`, `TRAILING`).
fn trim_without_characters(tokens: &[TokenWithSpan], index: &LineIndex, edits: &mut Vec<Edit>) {
    let significant: Vec<&TokenWithSpan> = tokens.iter().filter(|t| !is_space(&t.token)).collect();
    for window in significant.windows(4) {
        let [name, open, side, from] = window else { continue };
        if word_is(&name.token, "trim")
            && open.token == Token::LParen
            && (word_is(&side.token, "both") || word_is(&side.token, "leading") || word_is(&side.token, "trailing"))
            && word_is(&from.token, "from")
            && let Some((start, _)) = index.span(from)
        {
            edits.push(Edit { start, end: start, text: "' ' ".into() });
        }
    }
}

/// `CROSS JOIN t ON …` / `CROSS JOIN t USING (…)` as `INNER JOIN …`: the relation after
/// `CROSS JOIN` (at its parenthesis depth) is followed by `ON` or `USING`.
fn cross_join_with_condition(tokens: &[TokenWithSpan], index: &LineIndex, edits: &mut Vec<Edit>) {
    const CLAUSE_END: [&str; 22] = [
        "join",
        "where",
        "group",
        "order",
        "limit",
        "union",
        "intersect",
        "except",
        "minus",
        "having",
        "window",
        "lateral",
        "cross",
        "inner",
        "left",
        "right",
        "full",
        "natural",
        "qualify",
        "cluster",
        "distribute",
        "sort",
    ];
    let significant: Vec<&TokenWithSpan> = tokens.iter().filter(|t| !is_space(&t.token)).collect();
    for i in 0..significant.len().saturating_sub(1) {
        if !(word_is(&significant[i].token, "cross") && word_is(&significant[i + 1].token, "join")) {
            continue;
        }
        let mut depth = 0usize;
        // `CROSS JOIN VALUES (1), (2) AS t(c) ON …`: the rows' commas are the relation's.
        let values = significant.get(i + 2).is_some_and(|t| word_is(&t.token, "values"));
        for token in &significant[i + 2..] {
            match &token.token {
                Token::LParen => depth += 1,
                Token::RParen if depth == 0 => break,
                Token::RParen => depth -= 1,
                Token::Comma if depth == 0 && !values => break,
                Token::SemiColon if depth == 0 => break,
                t if depth == 0 && (word_is(t, "on") || word_is(t, "using")) => {
                    if let Some((start, end)) = index.span(significant[i]) {
                        edits.push(Edit { start, end, text: "INNER".into() });
                    }
                    break;
                }
                t if depth == 0 && CLAUSE_END.iter().any(|w| word_is(t, w)) => break,
                _ => {}
            }
        }
    }
}

/// `VALUES e1, e2 AS t(c)` as `VALUES (e1), (e2) AS t(c)` when the first row has no
/// parentheses.
fn bare_values(tokens: &[TokenWithSpan], index: &LineIndex, edits: &mut Vec<Edit>) {
    let significant: Vec<&TokenWithSpan> = tokens.iter().filter(|t| !is_space(&t.token)).collect();
    for (i, token) in significant.iter().enumerate() {
        if !matches!(&token.token, Token::Word(w) if w.keyword == Keyword::VALUES && w.quote_style.is_none()) {
            continue;
        }
        let Some(first) = significant.get(i + 1) else { continue };
        if matches!(first.token, Token::LParen | Token::EOF | Token::SemiColon | Token::RParen) {
            continue;
        }
        // Rows: (first token, last token) of each bare expression.
        let mut rows: Vec<(usize, usize)> = Vec::new();
        let mut depth = 0usize;
        let mut row_start = i + 1;
        let mut j = i + 1;
        let mut complete = false;
        while let Some(t) = significant.get(j) {
            let at_row_start = j == row_start;
            match &t.token {
                Token::LParen | Token::LBracket => depth += 1,
                Token::RParen | Token::RBracket if depth > 0 => depth -= 1,
                Token::Comma if depth == 0 => {
                    if j == row_start {
                        break;
                    }
                    rows.push((row_start, j - 1));
                    row_start = j + 1;
                }
                Token::RParen | Token::SemiColon | Token::EOF if depth == 0 => {
                    complete = j > row_start;
                    break;
                }
                // A word after an expression ends the rows (`AS t(c)`, `t(c)`, `WHERE`…).
                Token::Word(_) if depth == 0 && !at_row_start && !is_operator_word(&t.token) => {
                    complete = true;
                    break;
                }
                _ => {}
            }
            j += 1;
        }
        if j == significant.len() && j > row_start {
            complete = true;
        }
        if !complete || depth != 0 {
            continue;
        }
        rows.push((row_start, j - 1));
        for (first, last) in rows {
            let (Some((start, _)), Some((_, end))) = (index.span(significant[first]), index.span(significant[last]))
            else {
                return;
            };
            edits.push(Edit { start, end: start, text: "(".into() });
            edits.push(Edit { start: end, end, text: ")".into() });
        }
    }
}

/// `1e7D`, `1e-3F`, `1e3BD`: a number with an exponent directly followed by a type suffix.
fn exponent_literals(tokens: &[TokenWithSpan], index: &LineIndex, edits: &mut Vec<Edit>) {
    for pair in tokens.windows(2) {
        let [number, suffix] = pair else { continue };
        let Token::Number(text, false) = &number.token else { continue };
        if !text.contains(['e', 'E']) {
            continue;
        }
        let Token::Word(word) = &suffix.token else { continue };
        if word.quote_style.is_some() {
            continue;
        }
        let (Some((start, number_end)), Some((suffix_start, end))) = (index.span(number), index.span(suffix)) else {
            continue;
        };
        if number_end != suffix_start {
            continue;
        }
        let text = match word.value.to_ascii_uppercase().as_str() {
            "D" => format!("CAST({text} AS DOUBLE)"),
            "F" => format!("CAST({text} AS FLOAT)"),
            "BD" => match plain_decimal(text) {
                Some((plain, precision, scale)) => format!("CAST({plain} AS DECIMAL({precision},{scale}))"),
                None => continue,
            },
            _ => continue,
        };
        edits.push(Edit { start, end, text });
    }
}

/// `1.5e-2` as (`0.015`, precision 3, scale 3): the decimal Spark reads (a negative scale
/// becomes 0).
fn plain_decimal(text: &str) -> Option<(String, usize, usize)> {
    let (mantissa, exponent) = text.split_once(['e', 'E'])?;
    let exponent: i64 = exponent.parse().ok()?;
    let (whole, fraction) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    if !(whole.bytes().chain(fraction.bytes()).all(|b| b.is_ascii_digit())) || exponent.abs() > 100 {
        return None;
    }
    let mut digits = format!("{whole}{fraction}");
    let mut scale = fraction.len() as i64 - exponent;
    if scale < 0 {
        digits.push_str(&"0".repeat((-scale) as usize));
        scale = 0;
    }
    let scale = scale as usize;
    let digits = digits.trim_start_matches('0');
    let digits = if digits.is_empty() { "0" } else { digits };
    let precision = digits.len().max(scale).max(1);
    let plain = if scale == 0 {
        digits.to_string()
    } else {
        let padded = format!("{digits:0>width$}", width = scale + 1);
        let (int, frac) = padded.split_at(padded.len() - scale);
        format!("{int}.{frac}")
    };
    if precision > 38 {
        return None;
    }
    Some((plain, precision, scale))
}

/// Words that continue an expression rather than end a `VALUES` row.
fn is_operator_word(token: &Token) -> bool {
    ["and", "or", "is", "not", "null", "like", "ilike", "in", "between", "div"].iter().any(|w| word_is(token, w))
}

#[cfg(test)]
mod tests {
    use super::rewrite;

    #[test]
    fn raw_strings_keep_backslashes() {
        assert_eq!(rewrite(r"SELECT r'(\d+)-(\d+)', 1"), r"SELECT '(\\d+)-(\\d+)', 1");
        assert_eq!(
            rewrite(r#"SELECT regexp_instr(r"\abc", r"^\\abc$")"#),
            r"SELECT regexp_instr('\\abc', '^\\\\abc$')"
        );
        assert_eq!(rewrite("SELECT 'r' AS r"), "SELECT 'r' AS r");
    }

    #[test]
    fn cross_join_with_a_condition_is_inner() {
        assert_eq!(
            rewrite("SELECT * FROM a CROSS JOIN (SELECT * FROM b) AS b ON a.k = b.k"),
            "SELECT * FROM a INNER JOIN (SELECT * FROM b) AS b ON a.k = b.k"
        );
        assert_eq!(rewrite("SELECT * FROM a cross join b USING (k)"), "SELECT * FROM a INNER join b USING (k)");
        let plain = "SELECT * FROM a CROSS JOIN b JOIN c ON b.k = c.k WHERE x";
        assert_eq!(rewrite(plain), plain);
        assert_eq!(
            rewrite("SELECT * FROM VALUES (1) AS l(a) CROSS JOIN VALUES (2), (3) AS r(b) ON l.a = r.b"),
            "SELECT * FROM VALUES (1) AS l(a) INNER JOIN VALUES (2), (3) AS r(b) ON l.a = r.b"
        );
        let nested = "SELECT * FROM a CROSS JOIN (SELECT * FROM b JOIN c ON b.k = c.k) d";
        assert_eq!(rewrite(nested), nested);
    }

    #[test]
    fn binary_literals() {
        assert_eq!(rewrite("SELECT X 'F0', x '1', X'0'"), "SELECT X'F0', X'01', X'00'");
        assert_eq!(rewrite("SELECT 1 AS x"), "SELECT 1 AS x");
    }

    #[test]
    fn trim_sides() {
        assert_eq!(
            rewrite("SELECT trim(BOTH FROM s), trim(LEADING 'x' FROM s)"),
            "SELECT trim(BOTH ' ' FROM s), trim(LEADING 'x' FROM s)"
        );
    }

    #[test]
    fn exponent_suffixes() {
        assert_eq!(
            rewrite("SELECT CAST(1e7D AS STRING), 1e-3F, 1e3BD, 1.5e-2BD, 1e3 AS e"),
            "SELECT CAST(CAST(1e7 AS DOUBLE) AS STRING), CAST(1e-3 AS FLOAT), CAST(1000 AS DECIMAL(4,0)), CAST(0.015 AS DECIMAL(3,3)), 1e3 AS e"
        );
    }

    #[test]
    fn bare_values_rows() {
        assert_eq!(
            rewrite("SELECT * FROM VALUES 'a', 'b', -1 AS tab(expr)"),
            "SELECT * FROM VALUES ('a'), ('b'), (-1) AS tab(expr)"
        );
        assert_eq!(rewrite("SELECT * FROM VALUES (1), (2) AS t(c)"), "SELECT * FROM VALUES (1), (2) AS t(c)");
        assert_eq!(rewrite("SELECT * FROM (VALUES 1, 2) t(c)"), "SELECT * FROM (VALUES (1), (2)) t(c)");
    }
}
