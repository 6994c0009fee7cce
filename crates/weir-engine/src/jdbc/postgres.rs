//! PostgreSQL through tokio-postgres (plain TCP). Query results are read in the binary
//! protocol and decoded here (no extra type crates): the column type and its modifier give
//! the Arrow type (NUMERIC(p,s) → Decimal128(p,s)). Loads use `COPY ... FROM STDIN` (text
//! format), one COPY per batch, inside the load's transaction.

use std::sync::Arc;

use bytes::Bytes;
use datafusion::arrow::datatypes::{DataType, Field, Schema};
use futures::{SinkExt, StreamExt};
use tokio_postgres::types::{FromSql, Type};

use super::cells::{Batcher, Cell, date_text, timestamp_text, timestamp_type};
use super::{JdbcError, JdbcUrl, QueryResult};

/// Microseconds between 1970-01-01 and PostgreSQL's epoch 2000-01-01.
const PG_EPOCH_MICROS: i64 = 946_684_800_000_000;
/// Days between 1970-01-01 and 2000-01-01.
const PG_EPOCH_DAYS: i32 = 10_957;

pub struct PgConnection {
    client: tokio_postgres::Client,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for PgConnection {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn driver_error(e: tokio_postgres::Error) -> JdbcError {
    match e.as_db_error() {
        Some(db) => {
            let mut text = format!("{}: {}", db.severity(), db.message());
            if let Some(detail) = db.detail() {
                text.push_str(&format!(" ({detail})"));
            }
            JdbcError::Driver(text)
        }
        None => JdbcError::Driver(e.to_string()),
    }
}

impl PgConnection {
    pub async fn connect(url: &JdbcUrl) -> Result<Self, JdbcError> {
        let mut config = tokio_postgres::Config::new();
        config.host(&url.host).port(url.port).application_name("weir");
        config.connect_timeout(std::time::Duration::from_secs(30));
        if !url.database.is_empty() {
            config.dbname(&url.database);
        }
        if let Some(user) = url.user() {
            config.user(user);
        }
        if let Some(password) = url.password() {
            config.password(password);
        }
        let (client, connection) = config.connect(tokio_postgres::NoTls).await.map_err(|e| JdbcError::Connect {
            target: url.target(),
            message: match e.as_db_error() {
                Some(db) => format!("{}: {}", db.severity(), db.message()),
                None => e.to_string(),
            },
        })?;
        let task = tokio::spawn(async move {
            let _ = connection.await;
        });
        Ok(Self { client, task })
    }

    pub async fn execute(&mut self, sql: &str) -> Result<(), JdbcError> {
        self.client.batch_execute(sql).await.map_err(driver_error)
    }

    pub async fn query(&mut self, sql: &str, fetch_size: usize) -> Result<QueryResult, JdbcError> {
        let statement = self.client.prepare(sql).await.map_err(driver_error)?;
        let mut fields = Vec::new();
        for column in statement.columns() {
            let data_type = arrow_type(column.type_(), column.type_modifier()).ok_or_else(|| {
                JdbcError::UnsupportedType { column: column.name().to_string(), type_name: column.type_().to_string() }
            })?;
            fields.push(Field::new(column.name(), data_type, true));
        }
        let types: Vec<Type> = statement.columns().iter().map(|c| c.type_().clone()).collect();
        let schema = Arc::new(Schema::new(fields));
        let mut batcher = Batcher::new(schema.clone(), fetch_size);
        let rows = self.client.query_raw(&statement, std::iter::empty::<i32>()).await.map_err(driver_error)?;
        futures::pin_mut!(rows);
        while let Some(row) = rows.next().await {
            let row = row.map_err(driver_error)?;
            let mut cells = Vec::with_capacity(types.len());
            for (i, ty) in types.iter().enumerate() {
                let raw: Option<Raw<'_>> = row.try_get(i).map_err(driver_error)?;
                let field = schema.field(i);
                cells.push(match raw {
                    None => Cell::Null,
                    Some(Raw(bytes)) => decode(ty, field.data_type(), bytes)
                        .map_err(|why| JdbcError::Other(format!("column '{}': {why}", field.name())))?,
                });
            }
            batcher.push(cells)?;
        }
        batcher.finish()
    }

    /// `COPY table (columns) FROM STDIN` of `rows` in the text format.
    pub async fn copy_in(&mut self, table: &str, columns: &[String], rows: &[Vec<Cell>]) -> Result<(), JdbcError> {
        let sql = format!("COPY {table} ({}) FROM STDIN", columns.join(", "));
        let mut text = String::new();
        for row in rows {
            for (i, cell) in row.iter().enumerate() {
                if i > 0 {
                    text.push('\t');
                }
                copy_text(cell, &mut text);
            }
            text.push('\n');
        }
        let sink = self.client.copy_in::<_, Bytes>(&sql).await.map_err(driver_error)?;
        futures::pin_mut!(sink);
        sink.send(Bytes::from(text)).await.map_err(driver_error)?;
        sink.finish().await.map_err(driver_error)?;
        Ok(())
    }
}

/// A value's bytes as the server sent them (binary format).
struct Raw<'a>(&'a [u8]);

impl<'a> FromSql<'a> for Raw<'a> {
    fn from_sql(_: &Type, raw: &'a [u8]) -> Result<Self, Box<dyn std::error::Error + Sync + Send>> {
        Ok(Raw(raw))
    }

    fn accepts(_: &Type) -> bool {
        true
    }
}

/// The Arrow type of a PostgreSQL column type (with its type modifier), None when unsupported.
pub fn arrow_type(ty: &Type, modifier: i32) -> Option<DataType> {
    Some(match *ty {
        Type::BOOL => DataType::Boolean,
        Type::INT2 => DataType::Int16,
        Type::INT4 => DataType::Int32,
        Type::INT8 | Type::OID => DataType::Int64,
        Type::FLOAT4 => DataType::Float32,
        Type::FLOAT8 => DataType::Float64,
        Type::NUMERIC => match modifier {
            m if m >= 4 => {
                let precision = (((m - 4) >> 16) & 0xffff) as u8;
                let scale = ((m - 4) & 0xffff) as i8;
                DataType::Decimal128(precision.clamp(1, 38), scale.min(38))
            }
            // Unconstrained NUMERIC, as Spark reads it.
            _ => DataType::Decimal128(38, 18),
        },
        Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME | Type::JSON | Type::JSONB | Type::UUID | Type::XML => {
            DataType::Utf8
        }
        Type::BYTEA => DataType::Binary,
        Type::DATE => DataType::Date32,
        Type::TIMESTAMP | Type::TIMESTAMPTZ => timestamp_type(),
        _ => return None,
    })
}

fn fixed<const N: usize>(raw: &[u8]) -> Result<[u8; N], String> {
    raw.try_into().map_err(|_| format!("expected {N} bytes, got {}", raw.len()))
}

/// Decodes one binary value of type `ty` into a cell for `target`.
fn decode(ty: &Type, target: &DataType, raw: &[u8]) -> Result<Cell, String> {
    Ok(match *ty {
        Type::BOOL => Cell::Bool(raw.first().is_some_and(|b| *b != 0)),
        Type::INT2 => Cell::Int(i64::from(i16::from_be_bytes(fixed(raw)?))),
        Type::INT4 => Cell::Int(i64::from(i32::from_be_bytes(fixed(raw)?))),
        Type::INT8 => Cell::Int(i64::from_be_bytes(fixed(raw)?)),
        Type::OID => Cell::Int(i64::from(u32::from_be_bytes(fixed(raw)?))),
        Type::FLOAT4 => Cell::Float(f64::from(f32::from_be_bytes(fixed(raw)?))),
        Type::FLOAT8 => Cell::Float(f64::from_be_bytes(fixed(raw)?)),
        Type::NUMERIC => {
            let scale = match target {
                DataType::Decimal128(_, s) => *s,
                _ => 0,
            };
            Cell::Decimal(numeric(raw, scale)?)
        }
        Type::JSONB => Cell::Text(String::from_utf8_lossy(raw.get(1..).unwrap_or_default()).into_owned()),
        Type::UUID => {
            let hex: String = raw.iter().map(|b| format!("{b:02x}")).collect();
            match hex.len() {
                32 => Cell::Text(format!(
                    "{}-{}-{}-{}-{}",
                    &hex[..8],
                    &hex[8..12],
                    &hex[12..16],
                    &hex[16..20],
                    &hex[20..]
                )),
                _ => return Err("invalid uuid".into()),
            }
        }
        Type::BYTEA => Cell::Bytes(raw.to_vec()),
        Type::DATE => Cell::Date(i32::from_be_bytes(fixed(raw)?).saturating_add(PG_EPOCH_DAYS)),
        Type::TIMESTAMP | Type::TIMESTAMPTZ => {
            Cell::Timestamp(i64::from_be_bytes(fixed(raw)?).saturating_add(PG_EPOCH_MICROS))
        }
        _ => Cell::Text(String::from_utf8_lossy(raw).into_owned()),
    })
}

/// PostgreSQL's binary NUMERIC as an integer scaled by 10^scale (digits beyond the scale
/// truncated); NaN, infinities and values beyond i128 are errors.
fn numeric(raw: &[u8], scale: i8) -> Result<i128, String> {
    let word = |i: usize| -> Result<i16, String> {
        raw.get(i * 2..i * 2 + 2).map(|b| i16::from_be_bytes([b[0], b[1]])).ok_or_else(|| "short numeric".to_string())
    };
    let ndigits = word(0)? as usize;
    let weight = i32::from(word(1)?);
    let sign = word(2)? as u16;
    match sign {
        0x0000 | 0x4000 => {}
        0xC000 => return Err("NaN does not fit a decimal".into()),
        _ => return Err("Infinity does not fit a decimal".into()),
    }
    let overflow = || "value does not fit Decimal128".to_string();
    let mut value: i128 = 0;
    for i in 0..ndigits {
        let digit = i128::from(word(4 + i)?);
        let exponent = 4 * (weight - i as i32) + i32::from(scale);
        let term = if exponent >= 0 {
            10i128.checked_pow(exponent as u32).and_then(|p| digit.checked_mul(p)).ok_or_else(overflow)?
        } else {
            match 10i128.checked_pow((-exponent) as u32) {
                Some(p) => digit / p,
                None => 0,
            }
        };
        value = value.checked_add(term).ok_or_else(overflow)?;
    }
    Ok(if sign == 0x4000 { -value } else { value })
}

/// One value in COPY's text format.
fn copy_text(cell: &Cell, out: &mut String) {
    match cell {
        Cell::Null => out.push_str("\\N"),
        Cell::Bool(b) => out.push(if *b { 't' } else { 'f' }),
        Cell::Int(i) => out.push_str(&i.to_string()),
        Cell::Float(f) if f.is_nan() => out.push_str("NaN"),
        Cell::Float(f) if f.is_infinite() => out.push_str(if *f > 0.0 { "Infinity" } else { "-Infinity" }),
        Cell::Float(f) => out.push_str(&f.to_string()),
        Cell::Decimal(d) => out.push_str(&d.to_string()),
        Cell::Text(t) => {
            for ch in t.chars() {
                match ch {
                    '\\' => out.push_str("\\\\"),
                    '\n' => out.push_str("\\n"),
                    '\r' => out.push_str("\\r"),
                    '\t' => out.push_str("\\t"),
                    c => out.push(c),
                }
            }
        }
        Cell::Bytes(b) => {
            out.push_str("\\\\x");
            for byte in b {
                out.push_str(&format!("{byte:02x}"));
            }
        }
        Cell::Date(d) => out.push_str(&date_text(*d)),
        Cell::Timestamp(t) => {
            out.push_str(&timestamp_text(*t));
            out.push_str("+00");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn numeric_bytes(weight: i16, sign: u16, dscale: u16, digits: &[i16]) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend((digits.len() as i16).to_be_bytes());
        out.extend(weight.to_be_bytes());
        out.extend(sign.to_be_bytes());
        out.extend(dscale.to_be_bytes());
        for d in digits {
            out.extend(d.to_be_bytes());
        }
        out
    }

    #[test]
    fn numerics() {
        // 12345.678 = [1, 2345, 6780] weight 1
        let raw = numeric_bytes(1, 0, 3, &[1, 2345, 6780]);
        assert_eq!(numeric(&raw, 3).unwrap(), 12_345_678);
        assert_eq!(numeric(&raw, 2).unwrap(), 1_234_567);
        let raw = numeric_bytes(-1, 0x4000, 2, &[500]); // -0.05
        assert_eq!(numeric(&raw, 2).unwrap(), -5);
        assert!(numeric(&numeric_bytes(0, 0xC000, 0, &[]), 2).is_err());
        assert_eq!(numeric(&numeric_bytes(0, 0, 0, &[]), 2).unwrap(), 0);
    }

    #[test]
    fn types() {
        assert_eq!(arrow_type(&Type::NUMERIC, ((10 << 16) | 2) + 4), Some(DataType::Decimal128(10, 2)));
        assert_eq!(arrow_type(&Type::NUMERIC, -1), Some(DataType::Decimal128(38, 18)));
        assert_eq!(arrow_type(&Type::TIMESTAMPTZ, -1), Some(timestamp_type()));
        assert_eq!(arrow_type(&Type::POINT, -1), None);
        assert_eq!(decode(&Type::DATE, &DataType::Date32, &1i32.to_be_bytes()).unwrap(), Cell::Date(PG_EPOCH_DAYS + 1));
    }

    #[test]
    fn copy_format() {
        let mut out = String::new();
        for cell in [Cell::Text("a\tb\\c\nd".into()), Cell::Null, Cell::Bytes(vec![0, 255]), Cell::Float(f64::NAN)] {
            copy_text(&cell, &mut out);
            out.push('|');
        }
        assert_eq!(out, "a\\tb\\\\c\\nd|\\N|\\\\x00ff|NaN|");
    }
}
