//! JDBCLoad: writes a view into a database table through [`crate::jdbc`], in one transaction
//! (PostgreSQL, SQLite, MariaDB/MySQL InnoDB): a failure midway leaves the table as it was.
//! `saveMode` as Arc: Overwrite (default) empties an existing table (`DELETE FROM`, or
//! `TRUNCATE` on PostgreSQL with `truncate`) and keeps its definition; Append adds;
//! ErrorIfExists fails when the table exists; Ignore skips. A missing table is created with
//! column types mapped from the view's (`createTableColumnTypes` overrides some,
//! `createTableOptions` is appended). Rows go in batches of `batchsize` (multi-row INSERTs
//! with bound parameters; COPY on PostgreSQL). Afterwards the table must have gained as many
//! rows as the view has, else Arc's count error (and the transaction is rolled back).

use async_trait::async_trait;
use serde_json::{Map, Value};

use crate::config::StageConfig;
use crate::jdbc::{Connection, JdbcTarget, LoadOptions, LoadResult};
use crate::session::Session;
use crate::stages::{Outcome, SAVE_MODES, SaveMode, Stage, StageError};

/// `JDBCLoad` configuration.
#[derive(Debug)]
pub struct JdbcLoad {
    input_view: String,
    target: JdbcTarget,
    options: LoadOptions,
    isolation_name: &'static str,
    tablock: bool,
}

/// Arc's `isolationLevel` values and their SQL words (NONE: the database's default level).
const ISOLATION_LEVELS: &[(&str, (&str, Option<&str>))] = &[
    ("NONE", ("NONE", None)),
    ("READ_COMMITTED", ("READ_COMMITTED", Some("READ COMMITTED"))),
    ("READ_UNCOMMITTED", ("READ_UNCOMMITTED", Some("READ UNCOMMITTED"))),
    ("REPEATABLE_READ", ("REPEATABLE_READ", Some("REPEATABLE READ"))),
    ("SERIALIZABLE", ("SERIALIZABLE", Some("SERIALIZABLE"))),
];

/// `createTableColumnTypes` as Spark writes it: `name TYPE, name TYPE(p, s)`.
fn parse_column_types(text: &str) -> Option<Vec<(String, String)>> {
    let mut out = Vec::new();
    let mut depth = 0;
    let mut start = 0;
    let mut parts = Vec::new();
    for (i, ch) in text.char_indices() {
        match ch {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(&text[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&text[start..]);
    for part in parts.into_iter().map(str::trim).filter(|p| !p.is_empty()) {
        let (name, ty) = part.split_once(char::is_whitespace)?;
        out.push((name.trim_matches(['"', '`']).to_string(), ty.trim().to_string()));
    }
    Some(out)
}

pub fn build(c: &mut StageConfig) -> Option<Box<dyn Stage>> {
    let input_view = c.required_string("inputView");
    let target = JdbcTarget::read(c);
    let table = c.required_string("tableName");
    let save_mode = c.choice("saveMode", SAVE_MODES, SaveMode::Overwrite);
    let truncate = c.bool_or("truncate", false);
    let batch_size = c.positive("batchsize").unwrap_or(1000);
    let isolation = c.choice("isolationLevel", ISOLATION_LEVELS, ("READ_UNCOMMITTED", Some("READ UNCOMMITTED")));
    let create_table_options = c.string("createTableOptions");
    let column_types = c.string("createTableColumnTypes");
    let tablock = c.bool_or("tablock", true);
    let _ = c.positive("numPartitions");
    let _ = c.string_list("partitionBy");
    let create_table_column_types = match column_types.as_deref().map(parse_column_types) {
        None => Vec::new(),
        Some(Some(types)) => types,
        Some(None) => {
            c.error("createTableColumnTypes", "'createTableColumnTypes' must be 'name TYPE, name TYPE, ...'.");
            return None;
        }
    };
    let (isolation_name, isolation_level) = isolation?;
    let options = LoadOptions {
        table: table?,
        save_mode: save_mode?,
        truncate,
        batch_size,
        isolation_level,
        create_table_options,
        create_table_column_types,
    };
    Some(Box::new(JdbcLoad { input_view: input_view?, target: target?, options, isolation_name, tablock }))
}

#[async_trait]
impl Stage for JdbcLoad {
    fn detail(&self) -> Map<String, Value> {
        let o = &self.options;
        let mut m = crate::obj! {
            "inputView" => self.input_view,
            "tableName" => o.table,
            "saveMode" => o.save_mode.as_str(),
            "truncate" => o.truncate,
            "batchsize" => o.batch_size,
            "isolationLevel" => self.isolation_name,
            "tablock" => self.tablock,
        };
        if let Some(options) = &o.create_table_options {
            m.insert("createTableOptions".into(), options.clone().into());
        }
        self.target.detail(&mut m);
        m
    }

    async fn execute(&self, session: &Session) -> Result<Outcome, StageError> {
        let df = crate::stages::load::delta::load_input(session, &self.input_view, "JDBCLoad").await?;
        let url = self.target.parse().map_err(|e| StageError::msg(e.to_string()))?;
        let fail = |e: crate::jdbc::JdbcError| StageError::msg(url.scrub(&e.to_string()));
        let mut conn = Connection::connect(&url).await.map_err(fail)?;
        let schema = std::sync::Arc::new(df.schema().as_arrow().clone());
        let stream = df.execute_stream().await?;
        let result = conn.load(schema, stream, &self.options, &self.input_view).await.map_err(fail)?;
        let mut outcome = Outcome::default();
        match result {
            LoadResult::Written(rows) => {
                outcome.rows = Some(rows);
                outcome.detail.insert("records".into(), rows.into());
            }
            LoadResult::Skipped => {
                outcome.detail.insert(
                    "message".into(),
                    format!("table '{}' exists and saveMode is Ignore: nothing written", self.options.table).into(),
                );
            }
        }
        Ok(outcome)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn column_types() {
        assert_eq!(
            parse_column_types("name VARCHAR(64), amount DECIMAL(10, 2)").unwrap(),
            vec![("name".to_string(), "VARCHAR(64)".to_string()), ("amount".into(), "DECIMAL(10, 2)".into())]
        );
        assert!(parse_column_types("justaname").is_none());
    }
}
