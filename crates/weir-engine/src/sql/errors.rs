//! Planning errors in Spark's terms: names as the user wrote them, no DataFusion catalog
//! paths, a stable "did you mean" drawn from the job's own views and columns and from
//! Spark's function names, and "not supported yet" for Spark features Weir lacks.

use std::sync::LazyLock;

use datafusion::common::TableReference;
use datafusion::error::DataFusionError;

use crate::session::ViewCatalog;

/// Every Spark built-in function name (Spark 4.3's registry, regenerated with the goldens).
static SPARK_FUNCTIONS: LazyLock<Vec<&'static str>> =
    LazyLock::new(|| include_str!("spark_functions.txt").lines().filter(|l| !l.is_empty()).collect());

/// Whether `name` is one of Spark's built-in functions.
pub fn is_spark_function(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    SPARK_FUNCTIONS.binary_search(&lower.as_str()).is_ok()
}

/// The closest names to `name` among `candidates` (Jaro-Winkler ≥ 0.8), best first, ties by
/// name, so the suggestion is the same on every run.
pub fn suggestions<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    let lower = name.to_lowercase();
    let mut scored: Vec<(f64, &str)> = candidates
        .into_iter()
        .map(|c| (strsim::jaro_winkler(&lower, &c.to_lowercase()), c))
        .filter(|(score, _)| *score >= 0.8)
        .collect();
    scored.sort_by(|a, b| b.0.total_cmp(&a.0).then_with(|| a.1.cmp(b.1)));
    scored.dedup_by(|a, b| a.1 == b.1);
    scored.into_iter().take(3).map(|(_, c)| format!("`{c}`")).collect()
}

fn did_you_mean(found: Vec<String>) -> String {
    if found.is_empty() { String::new() } else { format!(" Did you mean one of the following? [{}]", found.join(", ")) }
}

/// A parse error: Spark's error class, the position, and a hint that valid Spark syntax Weir
/// cannot parse yet is a gap of Weir's.
pub fn syntax(sql: &str, message: String) -> DataFusionError {
    let text = message
        .trim_start_matches("SQL error: ")
        .trim_start_matches("ParserError(\"")
        .trim_start_matches("TokenizerError(\"")
        .trim_end_matches("\")")
        .replace("\\\"", "\"");
    const HINT: &str = "(if Spark accepts this statement, this syntax is not supported yet)";
    // sqlparser: "Expected: ..., found: TOKEN at Line: L, Column: C" (column 1-based); the end
    // of input comes without a location, so it is the end of the statement.
    static FOUND: LazyLock<regex::Regex> = LazyLock::new(|| {
        regex::Regex::new(r"^(.*), found: (.*?)(?: at Line: (\d+), Column: (\d+))?$").expect("static regex")
    });
    let Some(found) = FOUND.captures(&text) else {
        return DataFusionError::Plan(format!("[PARSE_SYNTAX_ERROR] Syntax error: {text} {HINT}"));
    };
    let near = match &found[2] {
        "EOF" => "end of input".to_string(),
        token => format!("'{token}'"),
    };
    let (line, pos) = match (found.get(3), found.get(4)) {
        (Some(line), Some(column)) => {
            (line.as_str().to_string(), column.as_str().parse::<usize>().unwrap_or(1).saturating_sub(1))
        }
        _ => {
            let trimmed = sql.trim_end();
            let last = trimmed.rsplit('\n').next().unwrap_or("");
            ((trimmed.matches('\n').count() + 1).to_string(), last.chars().count())
        }
    };
    DataFusionError::Plan(format!(
        "[PARSE_SYNTAX_ERROR] Syntax error at or near {near}. (line {line}, pos {pos}) Weir's parser: {}. {HINT}",
        &found[1]
    ))
}

fn between<'a>(text: &'a str, start: &str, end: &str) -> Option<&'a str> {
    let from = text.find(start)? + start.len();
    let len = text[from..].find(end)?;
    Some(&text[from..from + len])
}

/// Rewrites a planning error of DataFusion's in Spark's terms.
pub fn spark_terms(error: DataFusionError, views: &ViewCatalog, _references: &[TableReference]) -> DataFusionError {
    use datafusion::catalog::SchemaProvider;
    let text = error.to_string();
    // Unknown function.
    if let Some(name) = between(&text, "Invalid function '", "'") {
        return DataFusionError::Plan(if is_spark_function(name) {
            format!("function {name} is not supported yet")
        } else {
            format!(
                "[UNRESOLVED_ROUTINE] Cannot resolve function `{name}`.{}",
                did_you_mean(suggestions(name, SPARK_FUNCTIONS.iter().copied()))
            )
        });
    }
    // Unknown table or view: `table 'datafusion.public.x' not found`.
    if let Some(path) = between(&text, "table '", "' not found") {
        let name = path.rsplit('.').next().unwrap_or(path);
        let names = views.table_names();
        return DataFusionError::Plan(format!(
            "[TABLE_OR_VIEW_NOT_FOUND] The table or view `{name}` cannot be found.{} Views defined so far: [{}]",
            did_you_mean(suggestions(name, names.iter().map(String::as_str))),
            names.join(", ")
        ));
    }
    if text.contains("unnest() can only be applied to array") {
        return DataFusionError::Plan("explode of a map (or of a non-array) is not supported yet".into());
    }
    // Unknown column: `No field named x. Valid fields are t.a, t.b.`
    if let Some(rest) = text.split_once("No field named ").map(|(_, r)| r) {
        let (name, valid) = match rest.split_once("Valid fields are ") {
            Some((name, valid)) => (name.trim_end().trim_end_matches('.'), valid.trim().trim_end_matches('.')),
            None => (rest.lines().next().unwrap_or(rest).trim_end_matches('.'), ""),
        };
        let name = name.trim_matches('"');
        let columns: Vec<String> = valid
            .split(", ")
            .filter(|c| !c.is_empty())
            .map(|c| c.rsplit('.').next().unwrap_or(c).trim_matches('"').to_string())
            .collect();
        // Spark's time windows (`GROUP BY window(ts, '5 minutes')`, read as `window.start`).
        if let Some(generator) = ["window.", "session_window."].iter().find(|p| name.starts_with(**p)) {
            return DataFusionError::Plan(format!("function {} is not supported yet", generator.trim_end_matches('.')));
        }
        let short = name.rsplit('.').next().unwrap_or(name);
        let found = suggestions(short, columns.iter().map(String::as_str));
        return DataFusionError::Plan(format!(
            "[UNRESOLVED_COLUMN] A column or function parameter with name `{name}` cannot be resolved.{}",
            did_you_mean(found)
        ));
    }
    // Features DataFusion lacks.
    if let DataFusionError::NotImplemented(message) = error.find_root() {
        return DataFusionError::Plan(format!("not supported yet: {message}"));
    }
    // A Spark function called with argument types Weir's implementation does not take.
    for (start, end) in [("call to '", "' function"), ("Function '", "' "), ("function '", "' ")] {
        if let Some(name) = between(&text, start, end)
            && is_spark_function(name)
            && (text.contains("coerce") || text.contains("argument") || text.contains("requires"))
        {
            let message = text.trim_start_matches("Error during planning: ");
            return DataFusionError::Plan(format!(
                "function {name} with these arguments is not supported yet (if Spark accepts the call): {message}"
            ));
        }
    }
    error
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spark_function_names_are_known() {
        assert!(is_spark_function("regexp_extract"));
        assert!(is_spark_function("EXPLODE"));
        assert!(!is_spark_function("array_element"));
    }

    #[test]
    fn suggestions_are_stable_and_close() {
        let a = suggestions("regexp_extrct", SPARK_FUNCTIONS.iter().copied());
        assert_eq!(a.first().map(String::as_str), Some("`regexp_extract`"));
        assert_eq!(a, suggestions("regexp_extrct", SPARK_FUNCTIONS.iter().copied()));
    }
}
