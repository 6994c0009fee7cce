//! Arc's `sqlParams`: `${name}` placeholders in SQL replaced verbatim by parameter values.

use std::sync::LazyLock;

use regex::Regex;

/// Why parameters could not be injected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SqlParamError {
    #[error("No placeholder found for parameter: '{0}'.")]
    NoPlaceholder(String),
    #[error("No replacement value found in parameters: [{}] for placeholders: [{}].", .params.join(", "), .placeholders.join(", "))]
    NoValue { params: Vec<String>, placeholders: Vec<String> },
}

/// `${word}` / `${ word }` / `${word=default}` (Hive's `${hiveconf:x}` is not a placeholder).
static PLACEHOLDER: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\$\{\s*([A-Za-z0-9_]*)\s*(=[^}]*)?\}").expect("static regex"));

/// Replaces every placeholder of every parameter; fails like Arc on unused parameters and
/// on placeholders left without a value.
pub fn inject_sql_params(sql: &str, params: &[(String, String)]) -> Result<String, SqlParamError> {
    let mut out = sql.to_string();
    for (key, value) in params {
        let mut found = false;
        out = PLACEHOLDER
            .replace_all(&out, |caps: &regex::Captures<'_>| {
                if &caps[1] == key.as_str() {
                    found = true;
                    value.clone()
                } else {
                    caps[0].to_string()
                }
            })
            .into_owned();
        if !found {
            return Err(SqlParamError::NoPlaceholder(key.clone()));
        }
    }
    let left: Vec<String> = PLACEHOLDER.find_iter(&out).map(|m| m.as_str().to_string()).collect();
    if !left.is_empty() {
        return Err(SqlParamError::NoValue {
            params: params.iter().map(|(k, _)| k.clone()).collect(),
            placeholders: left,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn replaces_verbatim() {
        let sql = "SELECT ${ts} AS t FROM ${ table_name } WHERE x = ${table_name=default}";
        let out = inject_sql_params(sql, &p(&[("table_name", "t1"), ("ts", "\"2026-01-01\"")])).unwrap();
        assert_eq!(out, "SELECT \"2026-01-01\" AS t FROM t1 WHERE x = t1");
    }

    #[test]
    fn arc_errors() {
        assert_eq!(
            inject_sql_params("SELECT 1", &p(&[("k", "v")])).unwrap_err().to_string(),
            "No placeholder found for parameter: 'k'."
        );
        assert_eq!(
            inject_sql_params("SELECT ${a}, ${x}", &p(&[("a", "1")])).unwrap_err().to_string(),
            "No replacement value found in parameters: [a] for placeholders: [${x}]."
        );
        assert_eq!(inject_sql_params("SELECT '${hiveconf:x}'", &[]).unwrap(), "SELECT '${hiveconf:x}'");
    }
}
