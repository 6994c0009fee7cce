//! SQLite through rusqlite (bundled SQLite). The connection is used on the blocking pool. A
//! column's Arrow type comes from its declared type ([`cells::type_of_declared`]); a column
//! without one (an expression) takes the type of its first non-NULL value.

use std::sync::Arc;

use datafusion::arrow::datatypes::{DataType, Field, Schema};
use rusqlite::types::{Value, ValueRef};

use super::cells::{self, Batcher, Cell};
use super::{JdbcError, JdbcUrl, QueryResult};

pub struct SqliteConnection {
    conn: Option<rusqlite::Connection>,
}

fn driver_error(e: rusqlite::Error) -> JdbcError {
    JdbcError::Driver(e.to_string())
}

impl SqliteConnection {
    pub async fn connect(url: &JdbcUrl) -> Result<Self, JdbcError> {
        let path = url.database.clone();
        let conn = tokio::task::spawn_blocking(move || {
            let conn = rusqlite::Connection::open(&path)?;
            conn.busy_timeout(std::time::Duration::from_secs(30))?;
            Ok::<_, rusqlite::Error>(conn)
        })
        .await
        .map_err(|e| JdbcError::Other(e.to_string()))?
        .map_err(|e| JdbcError::Connect { target: url.target(), message: e.to_string() })?;
        Ok(Self { conn: Some(conn) })
    }

    /// Runs `work` with the connection on the blocking pool.
    async fn with<T: Send + 'static>(
        &mut self,
        work: impl FnOnce(&rusqlite::Connection) -> Result<T, JdbcError> + Send + 'static,
    ) -> Result<T, JdbcError> {
        let conn = self.conn.take().ok_or_else(|| JdbcError::Other("SQLite connection lost".into()))?;
        let (conn, result) = tokio::task::spawn_blocking(move || {
            let result = work(&conn);
            (conn, result)
        })
        .await
        .map_err(|e| JdbcError::Other(e.to_string()))?;
        self.conn = Some(conn);
        result
    }

    pub async fn execute(&mut self, sql: &str) -> Result<(), JdbcError> {
        let sql = sql.to_string();
        self.with(move |conn| conn.execute_batch(&sql).map_err(driver_error)).await
    }

    pub async fn query(&mut self, sql: &str, fetch_size: usize) -> Result<QueryResult, JdbcError> {
        let sql = sql.to_string();
        self.with(move |conn| {
            let mut statement = conn.prepare(&sql).map_err(driver_error)?;
            let mut declared: Vec<(String, Option<DataType>)> = Vec::new();
            for column in statement.columns() {
                let name = column.name().to_string();
                let data_type = match column.decl_type() {
                    Some(decl) => Some(cells::type_of_declared(decl).ok_or_else(|| JdbcError::UnsupportedType {
                        column: name.clone(),
                        type_name: decl.to_string(),
                    })?),
                    None => None,
                };
                declared.push((name, data_type));
            }
            let mut rows = statement.query([]).map_err(driver_error)?;
            // Rows are read ahead until every undeclared column has a value (or the end), to type them.
            let mut ahead: Vec<Vec<Cell>> = Vec::new();
            let mut done = false;
            while declared.iter().any(|(_, t)| t.is_none()) && ahead.len() < fetch_size {
                let Some(row) = rows.next().map_err(driver_error)? else {
                    done = true;
                    break;
                };
                let cells = row_cells(row, declared.len())?;
                for ((_, t), cell) in declared.iter_mut().zip(&cells) {
                    if t.is_none() {
                        *t = match cell {
                            Cell::Int(_) => Some(DataType::Int64),
                            Cell::Float(_) => Some(DataType::Float64),
                            Cell::Text(_) => Some(DataType::Utf8),
                            Cell::Bytes(_) => Some(DataType::Binary),
                            _ => None,
                        };
                    }
                }
                ahead.push(cells);
            }
            let width = declared.len();
            let fields: Vec<Field> =
                declared.into_iter().map(|(name, t)| Field::new(name, t.unwrap_or(DataType::Utf8), true)).collect();
            let mut batcher = Batcher::new(Arc::new(Schema::new(fields)), fetch_size);
            for cells in ahead {
                batcher.push(cells)?;
            }
            while !done {
                match rows.next().map_err(driver_error)? {
                    Some(row) => batcher.push(row_cells(row, width)?)?,
                    None => done = true,
                }
            }
            batcher.finish()
        })
        .await
    }

    pub async fn insert(&mut self, table: &str, columns: &[String], rows: Vec<Vec<Cell>>) -> Result<(), JdbcError> {
        let (table, columns) = (table.to_string(), columns.to_vec());
        self.with(move |conn| {
            for chunk in rows.chunks(super::rows_per_statement(columns.len())) {
                let sql = super::insert_sql(&table, &columns, chunk.len());
                let mut statement = conn.prepare_cached(&sql).map_err(driver_error)?;
                let values = chunk.iter().flatten().map(value);
                statement.execute(rusqlite::params_from_iter(values)).map_err(driver_error)?;
            }
            Ok(())
        })
        .await
    }
}

fn row_cells(row: &rusqlite::Row<'_>, width: usize) -> Result<Vec<Cell>, JdbcError> {
    (0..width)
        .map(|i| {
            Ok(match row.get_ref(i).map_err(driver_error)? {
                ValueRef::Null => Cell::Null,
                ValueRef::Integer(v) => Cell::Int(v),
                ValueRef::Real(v) => Cell::Float(v),
                ValueRef::Text(t) => Cell::Text(String::from_utf8_lossy(t).into_owned()),
                ValueRef::Blob(b) => Cell::Bytes(b.to_vec()),
            })
        })
        .collect()
}

/// A cell as a SQLite value: dates and timestamps as ISO text (as SQLite's date functions read them).
fn value(cell: &Cell) -> Value {
    match cell {
        Cell::Null => Value::Null,
        Cell::Bool(b) => Value::Integer(i64::from(*b)),
        Cell::Int(i) => Value::Integer(*i),
        Cell::Float(f) => Value::Real(*f),
        Cell::Text(t) => Value::Text(t.clone()),
        Cell::Bytes(b) => Value::Blob(b.clone()),
        Cell::Date(d) => Value::Text(cells::date_text(*d)),
        Cell::Timestamp(t) => Value::Text(cells::timestamp_text(*t)),
        Cell::Decimal(d) => Value::Text(d.to_string()),
    }
}
