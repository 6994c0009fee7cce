//! MySQL and MariaDB through mysql_async (plain TCP, no TLS). Queries use the text protocol
//! and are typed from the result's column definitions (DECIMAL(p,s) → Decimal128(p,s),
//! TINYINT(1) → boolean as Spark's MySQL dialect reads it). The session time zone is UTC, so
//! TIMESTAMP columns read and write as UTC. Loads use multi-row INSERTs with bound parameters.

use std::sync::Arc;

use datafusion::arrow::datatypes::{DataType, Field, Schema};
use mysql_async::consts::{ColumnFlags, ColumnType};
use mysql_async::prelude::Queryable;
use mysql_async::{Column, Value};

use super::cells::{Batcher, Cell, timestamp_type};
use super::{JdbcError, JdbcUrl, QueryResult};

/// MySQL's binary character set: a string column with it holds bytes.
const BINARY_CHARSET: u16 = 63;

pub struct MySqlConnection {
    conn: mysql_async::Conn,
}

fn driver_error(e: mysql_async::Error) -> JdbcError {
    JdbcError::Driver(e.to_string())
}

impl MySqlConnection {
    pub async fn connect(url: &JdbcUrl) -> Result<Self, JdbcError> {
        let mut opts = mysql_async::OptsBuilder::default()
            .ip_or_hostname(url.host.clone())
            .tcp_port(url.port)
            .prefer_socket(false)
            .user(url.user().map(str::to_string))
            .pass(url.password().map(str::to_string))
            .init(vec!["SET time_zone = '+00:00'".to_string()]);
        if !url.database.is_empty() {
            opts = opts.db_name(Some(url.database.clone()));
        }
        let conn = mysql_async::Conn::new(opts)
            .await
            .map_err(|e| JdbcError::Connect { target: url.target(), message: e.to_string() })?;
        Ok(Self { conn })
    }

    pub async fn execute(&mut self, sql: &str) -> Result<(), JdbcError> {
        self.conn.query_drop(sql).await.map_err(driver_error)
    }

    pub async fn query(&mut self, sql: &str, fetch_size: usize) -> Result<QueryResult, JdbcError> {
        let mut result = self.conn.query_iter(sql).await.map_err(driver_error)?;
        let columns: Vec<Column> = result.columns().map(|c| c.to_vec()).unwrap_or_default();
        let mut fields = Vec::with_capacity(columns.len());
        for column in &columns {
            let name = column.name_str().into_owned();
            let data_type = arrow_type(column).ok_or_else(|| JdbcError::UnsupportedType {
                column: name.clone(),
                type_name: format!("{:?}", column.column_type()),
            })?;
            fields.push(Field::new(name, data_type, true));
        }
        let binary: Vec<bool> = fields.iter().map(|f| f.data_type() == &DataType::Binary).collect();
        let mut batcher = Batcher::new(Arc::new(Schema::new(fields)), fetch_size);
        while let Some(row) = result.next().await.map_err(driver_error)? {
            let cells = row.unwrap().into_iter().zip(&binary).map(|(v, is_binary)| cell(v, *is_binary));
            batcher.push(cells.collect::<Vec<_>>())?;
        }
        // Further result sets (a multi-statement query) are read and dropped.
        result.drop_result().await.map_err(driver_error)?;
        batcher.finish()
    }

    pub async fn insert(&mut self, table: &str, columns: &[String], rows: Vec<Vec<Cell>>) -> Result<(), JdbcError> {
        for chunk in rows.chunks(super::rows_per_statement(columns.len())) {
            let sql = super::insert_sql(table, columns, chunk.len());
            let values: Vec<Value> = chunk.iter().flatten().map(value).collect();
            self.conn.exec_drop(sql, mysql_async::Params::Positional(values)).await.map_err(driver_error)?;
        }
        Ok(())
    }
}

/// The Arrow type of a result column, None when unsupported.
fn arrow_type(column: &Column) -> Option<DataType> {
    let unsigned = column.flags().contains(ColumnFlags::UNSIGNED_FLAG);
    let binary = column.character_set() == BINARY_CHARSET;
    Some(match column.column_type() {
        ColumnType::MYSQL_TYPE_TINY if column.column_length() == 1 => DataType::Boolean,
        ColumnType::MYSQL_TYPE_BIT if column.column_length() == 1 => DataType::Boolean,
        ColumnType::MYSQL_TYPE_TINY | ColumnType::MYSQL_TYPE_SHORT => {
            if unsigned {
                DataType::Int32
            } else {
                DataType::Int16
            }
        }
        ColumnType::MYSQL_TYPE_INT24 | ColumnType::MYSQL_TYPE_YEAR => DataType::Int32,
        ColumnType::MYSQL_TYPE_LONG => {
            if unsigned {
                DataType::Int64
            } else {
                DataType::Int32
            }
        }
        ColumnType::MYSQL_TYPE_LONGLONG => {
            if unsigned {
                DataType::Decimal128(20, 0)
            } else {
                DataType::Int64
            }
        }
        ColumnType::MYSQL_TYPE_FLOAT => DataType::Float32,
        ColumnType::MYSQL_TYPE_DOUBLE => DataType::Float64,
        ColumnType::MYSQL_TYPE_DECIMAL | ColumnType::MYSQL_TYPE_NEWDECIMAL => {
            let scale = column.decimals();
            let extra = u32::from(scale > 0) + u32::from(!unsigned);
            let precision = column.column_length().saturating_sub(extra).clamp(1, 38) as u8;
            DataType::Decimal128(precision, (scale.min(precision)) as i8)
        }
        ColumnType::MYSQL_TYPE_DATE | ColumnType::MYSQL_TYPE_NEWDATE => DataType::Date32,
        ColumnType::MYSQL_TYPE_DATETIME
        | ColumnType::MYSQL_TYPE_DATETIME2
        | ColumnType::MYSQL_TYPE_TIMESTAMP
        | ColumnType::MYSQL_TYPE_TIMESTAMP2 => timestamp_type(),
        ColumnType::MYSQL_TYPE_TINY_BLOB
        | ColumnType::MYSQL_TYPE_MEDIUM_BLOB
        | ColumnType::MYSQL_TYPE_LONG_BLOB
        | ColumnType::MYSQL_TYPE_BLOB
        | ColumnType::MYSQL_TYPE_VARCHAR
        | ColumnType::MYSQL_TYPE_VAR_STRING
        | ColumnType::MYSQL_TYPE_STRING => {
            if binary {
                DataType::Binary
            } else {
                DataType::Utf8
            }
        }
        ColumnType::MYSQL_TYPE_BIT => DataType::Binary,
        ColumnType::MYSQL_TYPE_ENUM | ColumnType::MYSQL_TYPE_SET | ColumnType::MYSQL_TYPE_JSON => DataType::Utf8,
        ColumnType::MYSQL_TYPE_TIME | ColumnType::MYSQL_TYPE_TIME2 => DataType::Utf8,
        ColumnType::MYSQL_TYPE_NULL => DataType::Utf8,
        _ => return None,
    })
}

fn cell(value: Value, binary: bool) -> Cell {
    match value {
        Value::NULL => Cell::Null,
        Value::Bytes(b) if binary => Cell::Bytes(b),
        Value::Bytes(b) => Cell::Text(String::from_utf8_lossy(&b).into_owned()),
        Value::Int(i) => Cell::Int(i),
        Value::UInt(u) => i64::try_from(u).map(Cell::Int).unwrap_or_else(|_| Cell::Text(u.to_string())),
        Value::Float(f) => Cell::Float(f64::from(f)),
        Value::Double(f) => Cell::Float(f),
        other => Cell::Text(other.as_sql(true).trim_matches('\'').to_string()),
    }
}

/// A cell as a bound parameter.
fn value(cell: &Cell) -> Value {
    use chrono::{Datelike, Timelike};
    match cell {
        Cell::Null => Value::NULL,
        Cell::Bool(b) => Value::Int(i64::from(*b)),
        Cell::Int(i) => Value::Int(*i),
        Cell::Float(f) => Value::Double(*f),
        Cell::Text(t) => Value::Bytes(t.clone().into_bytes()),
        Cell::Bytes(b) => Value::Bytes(b.clone()),
        Cell::Decimal(d) => Value::Bytes(d.to_string().into_bytes()),
        Cell::Date(d) => match chrono::DateTime::from_timestamp(i64::from(*d) * 86_400, 0) {
            Some(t) => Value::Date(t.year() as u16, t.month() as u8, t.day() as u8, 0, 0, 0, 0),
            None => Value::NULL,
        },
        Cell::Timestamp(micros) => match chrono::DateTime::from_timestamp_micros(*micros) {
            Some(t) => Value::Date(
                t.year() as u16,
                t.month() as u8,
                t.day() as u8,
                t.hour() as u8,
                t.minute() as u8,
                t.second() as u8,
                t.timestamp_subsec_micros(),
            ),
            None => Value::NULL,
        },
    }
}
