//! The SQL of a stage: inline `sql` or a file at `inputURI`, with Arc's `sqlParams` injection
//! and a syntax check before anything runs.

use serde_json::{Map, Value};

use crate::config::{ConfigError, StageConfig};
use crate::session::Session;

#[derive(Debug, Clone)]
enum Source {
    Inline(String),
    Uri(String),
}

/// A stage's SQL statement.
#[derive(Debug, Clone)]
pub struct SqlSource {
    source: Source,
    params: Vec<(String, String)>,
    /// Spark SQL, syntax-checked by `prepare`; false for another system's SQL (JDBCExecute).
    spark: bool,
    /// The statement after parameter injection (set by `prepare`).
    pub sql: String,
}

impl SqlSource {
    /// Reads `sql` / `inputURI` and `sqlParams`. One of the two sources is required.
    pub fn read(c: &mut StageConfig) -> Option<Self> {
        let inline = c.string("sql");
        let uri = c.string("inputURI");
        let params = c.string_map("sqlParams").unwrap_or_default();
        // Arc uses inputURI when both are given.
        let source = match (uri, inline) {
            (Some(uri), _) => Source::Uri(uri),
            (None, Some(sql)) => Source::Inline(sql),
            (None, None) => {
                c.error("sql", "One of ['inputURI', 'sql'] must be set.");
                return None;
            }
        };
        Some(Self { source, params, spark: true, sql: String::new() })
    }

    /// The file at `inputURI` with `sqlParams` injected, in another system's SQL dialect (a
    /// JDBCExecute statement): not checked as Spark SQL.
    pub fn foreign(uri: String, params: Vec<(String, String)>) -> Self {
        Self { source: Source::Uri(uri), params, spark: false, sql: String::new() }
    }

    /// Loads the file (if any), injects parameters and checks the syntax.
    pub async fn prepare(&mut self, session: &Session) -> Result<(), Vec<ConfigError>> {
        let (attribute, text) = match &self.source {
            Source::Uri(uri) => {
                let url = crate::storage::parse_uri(uri)
                    .map_err(|e| vec![ConfigError::new("inputURI", None, e.to_string())])?;
                let text = session
                    .storage
                    .read_text(&url)
                    .await
                    .map_err(|e| vec![ConfigError::new("inputURI", None, e.to_string())])?;
                ("inputURI", text)
            }
            Source::Inline(sql) => {
                if !session.settings.inline_sql {
                    return Err(vec![ConfigError::new(
                        "sql",
                        None,
                        "Inline SQL (use of the 'sql' attribute) has been disabled by policy. SQL statements must be supplied via files located at 'inputURI'.",
                    )]);
                }
                ("sql", sql.clone())
            }
        };
        let injected = crate::sql::inject_sql_params(&text, &self.params)
            .map_err(|e| vec![ConfigError::new("sqlParams", None, e.to_string())])?;
        if self.spark && !injected.contains("${hiveconf:") && !injected.contains("${hivevar:") {
            crate::sql::check_syntax(&injected).map_err(|e| vec![ConfigError::new(attribute, None, e)])?;
        }
        self.sql = injected;
        Ok(())
    }

    /// SQL functions whose result changes between runs, as Arc warns about.
    pub fn nondeterministic_calls(&self) -> Vec<&'static str> {
        let lower = self.sql.to_lowercase();
        ["now()", "current_date()", "current_timestamp()"].into_iter().filter(|f| lower.contains(f)).collect()
    }

    pub fn detail(&self, m: &mut Map<String, Value>) {
        if let Source::Uri(uri) = &self.source {
            m.insert("inputURI".into(), uri.clone().into());
        }
        m.insert("sql".into(), self.sql.clone().into());
        m.insert("sqlParams".into(), Value::Object(crate::config::to_json_map(&self.params)));
    }
}
