//! Weir's "JDBC" drivers: Arc's `jdbc:` URLs executed by native Rust clients, for the JDBC
//! stages (JDBCExecute, JDBCExtract, JDBCLoad).
//!
//! - [`JdbcUrl::parse`] reads a URL (`jdbc:postgresql://host:port/db?user=..`, `jdbc:mysql://`,
//!   `jdbc:mariadb://`, `jdbc:sqlite:/path/file.db`, `jdbc:sqlite::memory:`) and merges the
//!   connection properties of its query string with the stage's `params` (later wins).
//! - [`Connection::connect`] opens it (PostgreSQL: tokio-postgres over plain TCP; MySQL/MariaDB:
//!   mysql_async without TLS; SQLite: rusqlite); an unreachable server names `host:port`.
//! - [`Connection::execute`], [`Connection::query`] (Arrow batches of `fetchsize` rows, typed
//!   from the database's column types, see [`cells`]) and [`Connection::load`] (one
//!   transaction, batched multi-row INSERTs with bound parameters, COPY for PostgreSQL).
//!
//! Every message leaving this module has the password masked ([`JdbcError`] scrubs it).
//! A new driver (Amazon Athena) is one more [`Driver`] variant and one more arm in
//! [`Connection::connect`] / [`execute`].

pub mod cells;
pub mod mysql;
pub mod postgres;
pub mod sqlite;

use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::record_batch::RecordBatch;
use futures::StreamExt;

use crate::stages::SaveMode;

/// A database Weir can reach through a `jdbc:` URL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Driver {
    Postgres,
    MySql,
    Sqlite,
}

/// URL prefixes of the drivers Weir has, as listed in the "Invalid driver" message.
pub const DRIVERS: &[(&str, Driver)] = &[
    ("jdbc:postgresql:", Driver::Postgres),
    ("jdbc:mysql:", Driver::MySql),
    ("jdbc:mariadb:", Driver::MySql),
    ("jdbc:sqlite:", Driver::Sqlite),
];

/// The driver of a URL, or Arc's config error naming the URL (password masked).
pub fn driver_of(url: &str) -> Result<Driver, String> {
    DRIVERS.iter().find(|(prefix, _)| url.starts_with(prefix)).map(|(_, d)| *d).ok_or_else(|| invalid_driver(url, &[]))
}

/// Arc's "Invalid driver" message for `url` (password masked), listing Weir's JDBC drivers
/// and `more` (drivers a stage has beyond them, e.g. JDBCExecute's Athena).
pub fn invalid_driver(url: &str, more: &[&str]) -> String {
    let names: Vec<&str> = DRIVERS.iter().map(|(p, _)| p.trim_end_matches(':')).chain(more.iter().copied()).collect();
    format!(
        "Invalid driver for ('{}'). Available JDBC drivers: [{}].",
        crate::mask::mask_credentials(url),
        names.join(", ")
    )
}

/// A failure talking to a database. Messages never hold the password.
#[derive(Debug, thiserror::Error)]
pub enum JdbcError {
    #[error("{0}")]
    Url(String),
    #[error("cannot connect to {target}: {message}")]
    Connect { target: String, message: String },
    #[error("{0}")]
    Driver(String),
    #[error("column '{column}' has type '{type_name}', which Weir's JDBC reader does not support")]
    UnsupportedType { column: String, type_name: String },
    #[error("{0}")]
    Other(String),
}

impl From<datafusion::arrow::error::ArrowError> for JdbcError {
    fn from(e: datafusion::arrow::error::ArrowError) -> Self {
        JdbcError::Other(e.to_string())
    }
}

impl From<datafusion::error::DataFusionError> for JdbcError {
    fn from(e: datafusion::error::DataFusionError) -> Self {
        JdbcError::Other(e.to_string())
    }
}

/// `text` with `secret` (when non-empty) and every URL credential form masked.
pub fn scrub(text: &str, secret: Option<&str>) -> String {
    let masked = crate::mask::mask_credentials(text).into_owned();
    match secret {
        Some(s) if !s.is_empty() => masked.replace(s, crate::mask::MASK),
        _ => masked,
    }
}

/// A parsed `jdbc:` URL with its connection properties.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JdbcUrl {
    pub driver: Driver,
    /// Server host (PostgreSQL, MySQL).
    pub host: String,
    pub port: u16,
    /// Database name (server drivers) or file path / `:memory:` (SQLite).
    pub database: String,
    /// Connection properties: the URL's query string, then `params` (later keys win).
    pub properties: Vec<(String, String)>,
}

impl JdbcUrl {
    /// Parses `url`, adding `params` (the stage's connection properties) after the URL's own.
    pub fn parse(url: &str, params: &[(String, String)]) -> Result<Self, JdbcError> {
        let driver = driver_of(url).map_err(JdbcError::Url)?;
        let invalid =
            |why: &str| JdbcError::Url(format!("Invalid JDBC URL '{}': {why}", crate::mask::mask_credentials(url)));
        let mut properties = Vec::new();
        let (host, port, database) = match driver {
            Driver::Sqlite => {
                let rest = url.strip_prefix("jdbc:sqlite:").unwrap_or_default();
                let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
                properties.extend(query_pairs(query));
                let path = path.strip_prefix("file:").unwrap_or(path);
                let path = path.strip_prefix("//").unwrap_or(path);
                if path.is_empty() {
                    return Err(invalid("no database file (use jdbc:sqlite:/path/file.db or jdbc:sqlite::memory:)"));
                }
                (String::new(), 0, path.to_string())
            }
            Driver::Postgres | Driver::MySql => {
                let rest = &url["jdbc:".len()..];
                let parsed = url::Url::parse(rest).map_err(|e| invalid(&e.to_string()))?;
                let host = parsed.host_str().filter(|h| !h.is_empty()).ok_or_else(|| invalid("no host"))?;
                let default_port = if driver == Driver::Postgres { 5432 } else { 3306 };
                if !parsed.username().is_empty() {
                    properties.push(("user".into(), decode(parsed.username())));
                }
                if let Some(p) = parsed.password() {
                    properties.push(("password".into(), decode(p)));
                }
                properties.extend(query_pairs(parsed.query().unwrap_or("")));
                let database = decode(parsed.path().trim_start_matches('/'));
                (host.trim_matches(['[', ']']).to_string(), parsed.port().unwrap_or(default_port), database)
            }
        };
        properties.extend(params.iter().cloned());
        Ok(Self { driver, host, port, database, properties })
    }

    /// The last value of a property (case-insensitive key).
    pub fn property(&self, key: &str) -> Option<&str> {
        self.properties.iter().rev().find(|(k, _)| k.eq_ignore_ascii_case(key)).map(|(_, v)| v.as_str())
    }

    pub fn user(&self) -> Option<&str> {
        self.property("user")
    }

    pub fn password(&self) -> Option<&str> {
        self.property("password")
    }

    /// What a connection error names: `host:port`, or the SQLite file.
    pub fn target(&self) -> String {
        match self.driver {
            Driver::Sqlite => self.database.clone(),
            _ => format!("{}:{}", self.host, self.port),
        }
    }

    /// `text` with this URL's password masked.
    pub fn scrub(&self, text: &str) -> String {
        scrub(text, self.password())
    }
}

fn decode(text: &str) -> String {
    url::form_urlencoded::parse(format!("x={text}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_else(|| text.to_string())
}

fn query_pairs(query: &str) -> Vec<(String, String)> {
    url::form_urlencoded::parse(query.as_bytes()).map(|(k, v)| (k.into_owned(), v.into_owned())).collect()
}

/// An open connection.
pub enum Connection {
    Postgres(postgres::PgConnection),
    MySql(mysql::MySqlConnection),
    Sqlite(sqlite::SqliteConnection),
}

/// The query result: its schema and its batches.
pub struct QueryResult {
    pub schema: SchemaRef,
    pub batches: Vec<RecordBatch>,
}

/// What [`Connection::load`] does.
#[derive(Debug, Clone)]
pub struct LoadOptions {
    pub table: String,
    pub save_mode: SaveMode,
    pub truncate: bool,
    pub batch_size: usize,
    /// `SET TRANSACTION ISOLATION LEVEL` words (`READ UNCOMMITTED`), or None for the default.
    pub isolation_level: Option<&'static str>,
    pub create_table_options: Option<String>,
    /// Column types overriding the mapped ones when the table is created (`name TYPE, ...`).
    pub create_table_column_types: Vec<(String, String)>,
}

/// What a load did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoadResult {
    /// Rows inserted.
    Written(u64),
    /// `saveMode: Ignore` and the table existed.
    Skipped,
}

impl Connection {
    /// Opens a connection (an unreachable server fails naming `host:port`, never the password).
    pub async fn connect(url: &JdbcUrl) -> Result<Self, JdbcError> {
        let result = match url.driver {
            Driver::Postgres => postgres::PgConnection::connect(url).await.map(Connection::Postgres),
            Driver::MySql => mysql::MySqlConnection::connect(url).await.map(Connection::MySql),
            Driver::Sqlite => sqlite::SqliteConnection::connect(url).await.map(Connection::Sqlite),
        };
        result.map_err(|e| scrub_error(url, e))
    }

    fn driver(&self) -> Driver {
        match self {
            Connection::Postgres(_) => Driver::Postgres,
            Connection::MySql(_) => Driver::MySql,
            Connection::Sqlite(_) => Driver::Sqlite,
        }
    }

    /// Runs SQL (one or more statements where the database allows), ignoring any result rows.
    pub async fn execute(&mut self, sql: &str) -> Result<(), JdbcError> {
        match self {
            Connection::Postgres(c) => c.execute(sql).await,
            Connection::MySql(c) => c.execute(sql).await,
            Connection::Sqlite(c) => c.execute(sql).await,
        }
    }

    /// Runs a query, returning its rows as Arrow batches of at most `fetch_size` rows.
    pub async fn query(&mut self, sql: &str, fetch_size: usize) -> Result<QueryResult, JdbcError> {
        let fetch_size = fetch_size.max(1);
        match self {
            Connection::Postgres(c) => c.query(sql, fetch_size).await,
            Connection::MySql(c) => c.query(sql, fetch_size).await,
            Connection::Sqlite(c) => c.query(sql, fetch_size).await,
        }
    }

    /// The number in the first column of the first row of `sql` (a `COUNT(*)`).
    async fn count(&mut self, sql: &str) -> Result<u64, JdbcError> {
        use datafusion::arrow::array::AsArray;
        let result = self.query(sql, 1).await?;
        let Some(batch) = result.batches.iter().find(|b| b.num_rows() > 0) else { return Ok(0) };
        let column = datafusion::arrow::compute::cast(batch.column(0), &datafusion::arrow::datatypes::DataType::Int64)?;
        Ok(column.as_primitive::<datafusion::arrow::datatypes::Int64Type>().value(0).max(0) as u64)
    }

    /// True when `table` can be selected from.
    pub async fn table_exists(&mut self, table: &str) -> bool {
        self.query(&format!("SELECT * FROM {table} WHERE 1=0"), 1).await.is_ok()
    }

    fn quote(&self, name: &str) -> String {
        match self.driver() {
            Driver::MySql => format!("`{}`", name.replace('`', "``")),
            _ => format!("\"{}\"", name.replace('"', "\"\"")),
        }
    }

    /// `CREATE TABLE` for `schema` with this database's column types.
    fn create_table_sql(
        &self,
        schema: &datafusion::arrow::datatypes::Schema,
        options: &LoadOptions,
    ) -> Result<String, JdbcError> {
        let mut columns = Vec::new();
        for field in schema.fields() {
            let overridden =
                options.create_table_column_types.iter().find(|(n, _)| n.eq_ignore_ascii_case(field.name()));
            let sql_type = match overridden {
                Some((_, t)) => t.clone(),
                None => cells::sql_type(self.driver(), field.data_type()).ok_or_else(|| {
                    JdbcError::Other(format!(
                        "column '{}' has type '{}', which JDBCLoad cannot write",
                        field.name(),
                        field.data_type()
                    ))
                })?,
            };
            let null = if field.is_nullable() { "" } else { " NOT NULL" };
            columns.push(format!("{} {sql_type}{null}", self.quote(field.name())));
        }
        let mut sql = format!("CREATE TABLE {} ({})", options.table, columns.join(", "));
        if let Some(extra) = options.create_table_options.as_deref().filter(|o| !o.trim().is_empty()) {
            sql.push(' ');
            sql.push_str(extra);
        }
        Ok(sql)
    }

    /// Writes a stream of batches into `options.table` with Spark's save modes, in one
    /// transaction: on any failure the table is left as it was (on MySQL a table the load
    /// created stays, empty, since MySQL commits DDL at once).
    pub async fn load(
        &mut self,
        schema: SchemaRef,
        mut batches: datafusion::physical_plan::SendableRecordBatchStream,
        options: &LoadOptions,
        input_view: &str,
    ) -> Result<LoadResult, JdbcError> {
        let table = &options.table;
        let exists = self.table_exists(table).await;
        match (exists, options.save_mode) {
            (true, SaveMode::ErrorIfExists) => {
                return Err(JdbcError::Other(format!(
                    "Table '{table}' already exists and 'saveMode' equals 'ErrorIfExists' so cannot continue."
                )));
            }
            (true, SaveMode::Ignore) => return Ok(LoadResult::Skipped),
            _ => {}
        }
        let transactional_ddl = self.driver() != Driver::MySql;
        let create = match exists {
            false => Some(self.create_table_sql(&schema, options)?),
            true => None,
        };
        if let (Some(sql), false) = (&create, transactional_ddl) {
            self.execute(sql).await?;
        }
        self.begin(options.isolation_level).await?;
        let result =
            self.load_in_transaction(schema, &mut batches, options, input_view, create.as_deref(), exists).await;
        match result {
            Ok(rows) => {
                self.execute("COMMIT").await?;
                Ok(LoadResult::Written(rows))
            }
            Err(e) => {
                let _ = self.execute("ROLLBACK").await;
                Err(e)
            }
        }
    }

    async fn begin(&mut self, isolation: Option<&'static str>) -> Result<(), JdbcError> {
        match (self.driver(), isolation) {
            (Driver::MySql, Some(level)) => {
                self.execute(&format!("SET TRANSACTION ISOLATION LEVEL {level}")).await?;
                self.execute("START TRANSACTION").await
            }
            (Driver::MySql, None) => self.execute("START TRANSACTION").await,
            (Driver::Postgres, Some(level)) => self.execute(&format!("BEGIN ISOLATION LEVEL {level}")).await,
            (Driver::Postgres, None) | (Driver::Sqlite, _) => self.execute("BEGIN").await,
        }
    }

    async fn load_in_transaction(
        &mut self,
        schema: SchemaRef,
        batches: &mut datafusion::physical_plan::SendableRecordBatchStream,
        options: &LoadOptions,
        input_view: &str,
        create: Option<&str>,
        exists: bool,
    ) -> Result<u64, JdbcError> {
        let table = &options.table;
        if let (Some(sql), true) = (create, self.driver() != Driver::MySql) {
            self.execute(sql).await?;
        }
        if exists && options.save_mode == SaveMode::Overwrite {
            // TRUNCATE commits at once on MySQL and does not exist on SQLite: DELETE there.
            let sql = match (options.truncate, self.driver()) {
                (true, Driver::Postgres) => format!("TRUNCATE TABLE {table}"),
                _ => format!("DELETE FROM {table}"),
            };
            self.execute(&sql).await?;
        }
        let count_sql = format!("SELECT COUNT(*) FROM {table}");
        let pre = self.count(&count_sql).await?;
        let columns: Vec<String> = schema.fields().iter().map(|f| self.quote(f.name())).collect();
        let mut source_rows = 0u64;
        let mut pending: Vec<Vec<cells::Cell>> = Vec::new();
        while let Some(batch) = batches.next().await {
            let batch = batch?;
            source_rows += batch.num_rows() as u64;
            let rows = cells::batch_rows(&batch)?;
            for row in rows {
                pending.push(row);
                if pending.len() >= options.batch_size {
                    self.insert(table, &columns, std::mem::take(&mut pending)).await?;
                }
            }
        }
        if !pending.is_empty() {
            self.insert(table, &columns, pending).await?;
        }
        let post = self.count(&count_sql).await?;
        let created = post.saturating_sub(pre);
        if created != source_rows {
            return Err(JdbcError::Other(format!(
                "JDBCLoad should create same number of records in the target ('{table}') as exist in source ('{input_view}') but source has {source_rows} records and target created {created} records."
            )));
        }
        Ok(source_rows)
    }

    /// Inserts rows with bound parameters (COPY on PostgreSQL).
    async fn insert(&mut self, table: &str, columns: &[String], rows: Vec<Vec<cells::Cell>>) -> Result<(), JdbcError> {
        match self {
            Connection::Postgres(c) => c.copy_in(table, columns, &rows).await,
            Connection::MySql(c) => c.insert(table, columns, rows).await,
            Connection::Sqlite(c) => c.insert(table, columns, rows).await,
        }
    }
}

/// Multi-row `INSERT INTO t (cols) VALUES (?, ..), (?, ..)` for `rows` rows.
pub(crate) fn insert_sql(table: &str, columns: &[String], rows: usize) -> String {
    let one = format!("({})", vec!["?"; columns.len()].join(", "));
    format!("INSERT INTO {table} ({}) VALUES {}", columns.join(", "), vec![one; rows].join(", "))
}

/// Rows per INSERT statement so that no statement binds more than ~30000 parameters
/// (SQLite's limit is 32766, MySQL's 65535).
pub(crate) fn rows_per_statement(columns: usize) -> usize {
    (30_000 / columns.max(1)).max(1)
}

fn scrub_error(url: &JdbcUrl, e: JdbcError) -> JdbcError {
    match e {
        JdbcError::Connect { target, message } => JdbcError::Connect { target, message: url.scrub(&message) },
        JdbcError::Driver(m) => JdbcError::Driver(url.scrub(&m)),
        JdbcError::Other(m) => JdbcError::Other(url.scrub(&m)),
        other => other,
    }
}

/// The connection settings every JDBC stage reads: `jdbcURL` (required, with a driver Weir
/// has — Arc's "Invalid driver" config error otherwise) and `params` (connection properties).
#[derive(Debug, Clone)]
pub struct JdbcTarget {
    pub url: String,
    pub params: Vec<(String, String)>,
}

impl JdbcTarget {
    pub fn read(c: &mut crate::config::StageConfig) -> Option<Self> {
        let url = c.required_string("jdbcURL");
        let params = c.string_map("params").unwrap_or_default();
        let url = url?;
        let target = Self { url, params };
        if let Err(e) = target.parse() {
            c.error("jdbcURL", e.to_string());
            return None;
        }
        Some(target)
    }

    /// Adds a stage key (JDBCExecute's `user`/`password`) as a connection property unless
    /// `params` or the URL already set it.
    pub fn default_property(&mut self, key: &str, value: Option<String>) {
        let Some(value) = value else { return };
        if self.parse().is_ok_and(|u| u.property(key).is_none()) {
            self.params.push((key.to_string(), value));
        }
    }

    pub fn parse(&self) -> Result<JdbcUrl, JdbcError> {
        JdbcUrl::parse(&self.url, &self.params)
    }

    /// `jdbcURL` (masked) and `params` (secret values masked) for the stage's events.
    pub fn detail(&self, m: &mut serde_json::Map<String, serde_json::Value>) {
        m.insert("jdbcURL".into(), crate::mask::mask_credentials(&self.url).into_owned().into());
        let params: serde_json::Map<String, serde_json::Value> = self
            .params
            .iter()
            .map(|(k, v)| {
                let secret = crate::mask::mask_credentials(&format!("{k}=x")) != format!("{k}=x");
                let v = if secret { crate::mask::MASK.to_string() } else { v.clone() };
                (k.clone(), serde_json::Value::String(v))
            })
            .collect();
        m.insert("params".into(), serde_json::Value::Object(params));
    }
}

/// Connects and runs `sql` once (JDBCExecute). Messages have the password masked.
pub async fn execute(url: &JdbcUrl, sql: &str) -> Result<(), JdbcError> {
    let mut conn = Connection::connect(url).await?;
    conn.execute(sql).await.map_err(|e| scrub_error(url, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_server_urls() {
        let u = JdbcUrl::parse(
            "jdbc:postgresql://db.example:6543/sales?user=etl&password=s%40cret&ssl=false",
            &[("password".into(), "override".into())],
        )
        .unwrap();
        assert_eq!(u.driver, Driver::Postgres);
        assert_eq!((u.host.as_str(), u.port, u.database.as_str()), ("db.example", 6543, "sales"));
        assert_eq!(u.user(), Some("etl"));
        assert_eq!(u.password(), Some("override"), "params win over the URL");
        assert_eq!(u.property("SSL"), Some("false"));
        assert_eq!(u.target(), "db.example:6543");

        let u = JdbcUrl::parse("jdbc:mysql://root:pw@127.0.0.1/shop", &[]).unwrap();
        assert_eq!((u.driver, u.port, u.user(), u.password()), (Driver::MySql, 3306, Some("root"), Some("pw")));
        let u = JdbcUrl::parse("jdbc:mariadb://h:3307/d", &[]).unwrap();
        assert_eq!((u.driver, u.port, u.database.as_str()), (Driver::MySql, 3307, "d"));
        let u = JdbcUrl::parse("jdbc:postgresql://h/d", &[]).unwrap();
        assert_eq!(u.port, 5432);
    }

    #[test]
    fn parses_sqlite_urls() {
        let u = JdbcUrl::parse("jdbc:sqlite:/tmp/x.db", &[]).unwrap();
        assert_eq!((u.driver, u.database.as_str(), u.target()), (Driver::Sqlite, "/tmp/x.db", "/tmp/x.db".into()));
        assert_eq!(JdbcUrl::parse("jdbc:sqlite::memory:", &[]).unwrap().database, ":memory:");
        assert_eq!(JdbcUrl::parse("jdbc:sqlite:file:rel.db", &[]).unwrap().database, "rel.db");
        assert!(JdbcUrl::parse("jdbc:sqlite:", &[]).is_err());
    }

    #[test]
    fn unknown_driver_is_arcs_message_with_the_password_masked() {
        let e = driver_of("jdbc:sqlserver://h:1433;user=sa;password=hunter2").unwrap_err();
        assert!(e.starts_with("Invalid driver for ('jdbc:sqlserver://h:1433;user=sa;password=*****')."), "{e}");
        assert!(e.contains("Available JDBC drivers: [jdbc:postgresql, jdbc:mysql, jdbc:mariadb, jdbc:sqlite]."), "{e}");
        assert!(!e.contains("hunter2"));
        let e = driver_of("jdbc:awsathena://AwsRegion=x;Password=s3").unwrap_err();
        assert!(e.contains("Password=*****") && !e.contains("s3cr"), "{e}");
        let e = JdbcUrl::parse("jdbc:postgresql://u:pw@/db", &[]).unwrap_err().to_string();
        assert!(!e.contains(":pw@"), "{e}");
    }

    #[test]
    fn scrub_masks_the_password_anywhere() {
        let u = JdbcUrl::parse("jdbc:postgresql://h/d", &[("password".into(), "Tr0ub4dor".into())]).unwrap();
        assert_eq!(u.scrub("auth failed for Tr0ub4dor at h"), "auth failed for ***** at h");
    }

    #[test]
    fn insert_statements() {
        let cols = vec!["\"a\"".to_string(), "\"b\"".to_string()];
        assert_eq!(insert_sql("t", &cols, 2), "INSERT INTO t (\"a\", \"b\") VALUES (?, ?), (?, ?)");
        assert_eq!(rows_per_statement(3), 10_000);
        assert_eq!(rows_per_statement(0), 30_000);
    }
}
