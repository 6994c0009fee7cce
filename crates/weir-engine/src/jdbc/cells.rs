//! Values between databases and Arrow: [`Cell`] is one database value as a driver decodes it;
//! [`to_array`] builds an Arrow column of a given type from cells (converting what databases
//! return loosely, e.g. SQLite dates as text, MySQL's text protocol); [`batch_rows`] turns a
//! batch into rows of cells for a load; [`sql_type`] maps an Arrow type to a column type for
//! `CREATE TABLE`.

use std::sync::Arc;

use chrono::{DateTime, NaiveDate, NaiveDateTime};
use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, BinaryArray, BooleanArray, Date32Array, Decimal128Array, Float32Array, Float64Array,
    Int8Array, Int16Array, Int32Array, Int64Array, StringArray, TimestampMicrosecondArray,
};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Date32Type, Decimal128Type, Float32Type, Float64Type, TimeUnit};
use datafusion::arrow::record_batch::RecordBatch;

use super::{Driver, JdbcError};

/// The timestamp type of JDBC reads (Spark's TimestampType in UTC).
pub fn timestamp_type() -> DataType {
    DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))
}

/// One database value.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    /// Text; also numbers and dates as a text protocol sends them.
    Text(String),
    Bytes(Vec<u8>),
    /// Days since 1970-01-01.
    Date(i32),
    /// Microseconds since 1970-01-01T00:00:00Z.
    Timestamp(i64),
    /// A decimal already scaled to the column's scale.
    Decimal(i128),
}

fn bad(column: &str, cell: &Cell, target: &DataType) -> JdbcError {
    JdbcError::Other(format!("column '{column}': cannot read value {cell:?} as {target}"))
}

fn text_of(cell: &Cell) -> Option<String> {
    match cell {
        Cell::Text(s) => Some(s.clone()),
        Cell::Bytes(b) => Some(String::from_utf8_lossy(b).into_owned()),
        _ => None,
    }
}

/// Parses a date as databases print it (`2024-01-31`, or a timestamp's date part).
fn parse_date(text: &str) -> Option<i32> {
    let text = text.trim();
    let day = NaiveDate::parse_from_str(text.get(..10).unwrap_or(text), "%Y-%m-%d").ok()?;
    Some((day - NaiveDate::from_ymd_opt(1970, 1, 1)?).num_days() as i32)
}

/// Parses a timestamp as databases print it, UTC unless an offset is given.
pub fn parse_timestamp(text: &str) -> Option<i64> {
    let text = text.trim();
    for format in ["%Y-%m-%d %H:%M:%S%.f%#z", "%Y-%m-%dT%H:%M:%S%.f%#z", "%Y-%m-%d %H:%M:%S%.f%:z"] {
        if let Ok(t) = DateTime::parse_from_str(text, format) {
            return Some(t.timestamp_micros());
        }
    }
    let text = text.trim_end_matches('Z');
    for format in ["%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M", "%Y-%m-%d"] {
        if let Ok(t) = NaiveDateTime::parse_from_str(text, format) {
            return Some(t.and_utc().timestamp_micros());
        }
        if format == "%Y-%m-%d"
            && let Ok(d) = NaiveDate::parse_from_str(text, format)
        {
            return Some(d.and_hms_opt(0, 0, 0)?.and_utc().timestamp_micros());
        }
    }
    None
}

/// An Arrow column of type `target` from `cells`; a value that does not fit names the column.
pub fn to_array(column: &str, target: &DataType, cells: &[Cell]) -> Result<ArrayRef, JdbcError> {
    macro_rules! ints {
        ($array:ty, $t:ty) => {{
            let values: Result<Vec<Option<$t>>, JdbcError> = cells
                .iter()
                .map(|c| match c {
                    Cell::Null => Ok(None),
                    Cell::Int(i) => <$t>::try_from(*i).map(Some).map_err(|_| bad(column, c, target)),
                    Cell::Bool(b) => Ok(Some(<$t>::from(*b))),
                    other => text_of(other)
                        .and_then(|t| t.trim().parse::<$t>().ok())
                        .map(Some)
                        .ok_or_else(|| bad(column, c, target)),
                })
                .collect();
            Arc::new(<$array>::from(values?)) as ArrayRef
        }};
    }
    let array: ArrayRef = match target {
        DataType::Boolean => {
            let values: Result<Vec<Option<bool>>, JdbcError> = cells
                .iter()
                .map(|c| match c {
                    Cell::Null => Ok(None),
                    Cell::Bool(b) => Ok(Some(*b)),
                    Cell::Int(i) => Ok(Some(*i != 0)),
                    other => match text_of(other).as_deref().map(str::trim) {
                        Some("1" | "t" | "true" | "TRUE") => Ok(Some(true)),
                        Some("0" | "f" | "false" | "FALSE") => Ok(Some(false)),
                        _ => Err(bad(column, c, target)),
                    },
                })
                .collect();
            Arc::new(BooleanArray::from(values?))
        }
        DataType::Int8 => ints!(Int8Array, i8),
        DataType::Int16 => ints!(Int16Array, i16),
        DataType::Int32 => ints!(Int32Array, i32),
        DataType::Int64 => ints!(Int64Array, i64),
        DataType::Float32 | DataType::Float64 => {
            let values: Result<Vec<Option<f64>>, JdbcError> = cells
                .iter()
                .map(|c| match c {
                    Cell::Null => Ok(None),
                    Cell::Float(f) => Ok(Some(*f)),
                    Cell::Int(i) => Ok(Some(*i as f64)),
                    other => text_of(other)
                        .and_then(|t| t.trim().parse::<f64>().ok())
                        .map(Some)
                        .ok_or_else(|| bad(column, c, target)),
                })
                .collect();
            let values = values?;
            match target {
                DataType::Float32 => Arc::new(Float32Array::from_iter(values.iter().map(|v| v.map(|f| f as f32)))),
                _ => Arc::new(Float64Array::from(values)),
            }
        }
        DataType::Decimal128(precision, scale) => {
            let values: Result<Vec<Option<i128>>, JdbcError> = cells
                .iter()
                .map(|c| {
                    let text = match c {
                        Cell::Null => return Ok(None),
                        Cell::Decimal(d) => return Ok(Some(*d)),
                        Cell::Int(i) => i.to_string(),
                        Cell::Float(f) => f.to_string(),
                        other => text_of(other).ok_or_else(|| bad(column, c, target))?,
                    };
                    datafusion::arrow::compute::kernels::cast_utils::parse_decimal::<Decimal128Type>(
                        text.trim(),
                        *precision,
                        *scale,
                    )
                    .map(Some)
                    .map_err(|_| bad(column, c, target))
                })
                .collect();
            Arc::new(Decimal128Array::from(values?).with_precision_and_scale(*precision, *scale)?)
        }
        DataType::Utf8 => {
            let values: Vec<Option<String>> = cells
                .iter()
                .map(|c| match c {
                    Cell::Null => None,
                    Cell::Bool(b) => Some(b.to_string()),
                    Cell::Int(i) => Some(i.to_string()),
                    Cell::Float(f) => Some(f.to_string()),
                    other => text_of(other).or_else(|| Some(format!("{other:?}"))),
                })
                .collect();
            Arc::new(StringArray::from(values))
        }
        DataType::Binary => {
            let values: Vec<Option<Vec<u8>>> = cells
                .iter()
                .map(|c| match c {
                    Cell::Null => None,
                    Cell::Bytes(b) => Some(b.clone()),
                    Cell::Text(t) => Some(t.clone().into_bytes()),
                    other => Some(format!("{other:?}").into_bytes()),
                })
                .collect();
            Arc::new(BinaryArray::from_iter(values))
        }
        DataType::Date32 => {
            let values: Result<Vec<Option<i32>>, JdbcError> = cells
                .iter()
                .map(|c| match c {
                    Cell::Null => Ok(None),
                    Cell::Date(d) => Ok(Some(*d)),
                    Cell::Timestamp(t) => Ok(Some(t.div_euclid(86_400_000_000) as i32)),
                    other => {
                        text_of(other).and_then(|t| parse_date(&t)).map(Some).ok_or_else(|| bad(column, c, target))
                    }
                })
                .collect();
            Arc::new(Date32Array::from(values?))
        }
        DataType::Timestamp(TimeUnit::Microsecond, zone) => {
            let values: Result<Vec<Option<i64>>, JdbcError> = cells
                .iter()
                .map(|c| match c {
                    Cell::Null => Ok(None),
                    Cell::Timestamp(t) => Ok(Some(*t)),
                    Cell::Date(d) => Ok(Some(i64::from(*d) * 86_400_000_000)),
                    other => {
                        text_of(other).and_then(|t| parse_timestamp(&t)).map(Some).ok_or_else(|| bad(column, c, target))
                    }
                })
                .collect();
            Arc::new(TimestampMicrosecondArray::from(values?).with_timezone_opt(zone.clone()))
        }
        other => {
            return Err(JdbcError::UnsupportedType { column: column.to_string(), type_name: other.to_string() });
        }
    };
    Ok(array)
}

/// Collects rows of cells into Arrow batches of at most `fetch_size` rows.
pub struct Batcher {
    schema: datafusion::arrow::datatypes::SchemaRef,
    columns: Vec<Vec<Cell>>,
    rows: usize,
    fetch_size: usize,
    batches: Vec<RecordBatch>,
}

impl Batcher {
    pub fn new(schema: datafusion::arrow::datatypes::SchemaRef, fetch_size: usize) -> Self {
        let columns = vec![Vec::new(); schema.fields().len()];
        Self { schema, columns, rows: 0, fetch_size: fetch_size.max(1), batches: Vec::new() }
    }

    /// Adds one row (one cell per column).
    pub fn push(&mut self, row: impl IntoIterator<Item = Cell>) -> Result<(), JdbcError> {
        for (column, cell) in self.columns.iter_mut().zip(row) {
            column.push(cell);
        }
        self.rows += 1;
        if self.rows >= self.fetch_size {
            self.flush()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<(), JdbcError> {
        if self.rows == 0 {
            return Ok(());
        }
        let mut arrays = Vec::with_capacity(self.columns.len());
        for (field, cells) in self.schema.fields().iter().zip(self.columns.iter_mut()) {
            arrays.push(to_array(field.name(), field.data_type(), cells)?);
            cells.clear();
        }
        self.batches.push(RecordBatch::try_new(self.schema.clone(), arrays)?);
        self.rows = 0;
        Ok(())
    }

    pub fn finish(mut self) -> Result<super::QueryResult, JdbcError> {
        self.flush()?;
        Ok(super::QueryResult { schema: self.schema, batches: self.batches })
    }
}

/// The rows of a batch as cells (for a load); a column type a database cannot take names the column.
pub fn batch_rows(batch: &RecordBatch) -> Result<Vec<Vec<Cell>>, JdbcError> {
    let schema = batch.schema();
    let mut columns = Vec::with_capacity(batch.num_columns());
    for (field, array) in schema.fields().iter().zip(batch.columns()) {
        columns.push(column_cells(field.name(), array)?);
    }
    let mut rows: Vec<Vec<Cell>> = (0..batch.num_rows()).map(|_| Vec::with_capacity(columns.len())).collect();
    for column in columns {
        for (row, cell) in rows.iter_mut().zip(column) {
            row.push(cell);
        }
    }
    Ok(rows)
}

fn column_cells(name: &str, array: &ArrayRef) -> Result<Vec<Cell>, JdbcError> {
    let n = array.len();
    let nullable = |i: usize, cell: Cell| if array.is_null(i) { Cell::Null } else { cell };
    let cells = match array.data_type() {
        DataType::Null => vec![Cell::Null; n],
        DataType::Boolean => {
            let a = array.as_boolean();
            (0..n).map(|i| nullable(i, Cell::Bool(a.value(i)))).collect()
        }
        t if crate::sql::functions::simple::is_integer(t) => {
            let ints = cast(array, &DataType::Int64).map_err(|e| JdbcError::Other(format!("column '{name}': {e}")))?;
            let a = ints.as_primitive::<datafusion::arrow::datatypes::Int64Type>();
            (0..n).map(|i| nullable(i, Cell::Int(a.value(i)))).collect()
        }
        DataType::Float16 | DataType::Float32 => {
            let floats = cast(array, &DataType::Float32)?;
            let a = floats.as_primitive::<Float32Type>();
            (0..n).map(|i| nullable(i, Cell::Float(f64::from(a.value(i))))).collect()
        }
        DataType::Float64 => {
            let a = array.as_primitive::<Float64Type>();
            (0..n).map(|i| nullable(i, Cell::Float(a.value(i)))).collect()
        }
        DataType::Decimal32(..) | DataType::Decimal64(..) | DataType::Decimal128(..) | DataType::Decimal256(..) => {
            let text = cast(array, &DataType::Utf8)?;
            let a = text.as_string::<i32>();
            (0..n).map(|i| nullable(i, Cell::Text(a.value(i).to_string()))).collect()
        }
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => {
            let text = cast(array, &DataType::Utf8)?;
            let a = text.as_string::<i32>();
            (0..n).map(|i| nullable(i, Cell::Text(a.value(i).to_string()))).collect()
        }
        DataType::Binary | DataType::LargeBinary | DataType::BinaryView | DataType::FixedSizeBinary(_) => {
            let bytes = cast(array, &DataType::Binary)?;
            let a = bytes.as_binary::<i32>();
            (0..n).map(|i| nullable(i, Cell::Bytes(a.value(i).to_vec()))).collect()
        }
        DataType::Date32 | DataType::Date64 => {
            let days = cast(array, &DataType::Date32)?;
            let a = days.as_primitive::<Date32Type>();
            (0..n).map(|i| nullable(i, Cell::Date(a.value(i)))).collect()
        }
        DataType::Timestamp(_, _) => {
            let micros = cast(array, &DataType::Timestamp(TimeUnit::Microsecond, None))?;
            let a = micros.as_primitive::<datafusion::arrow::datatypes::TimestampMicrosecondType>();
            (0..n).map(|i| nullable(i, Cell::Timestamp(a.value(i)))).collect()
        }
        other => {
            return Err(JdbcError::Other(format!("column '{name}' has type '{other}', which JDBCLoad cannot write")));
        }
    };
    Ok(cells)
}

/// The column type `CREATE TABLE` uses for an Arrow type, per database (None: cannot write).
pub fn sql_type(driver: Driver, t: &DataType) -> Option<String> {
    let (mysql, pg) = (driver == Driver::MySql, driver == Driver::Postgres);
    Some(match t {
        DataType::Boolean => "BOOLEAN".into(),
        DataType::Int8 | DataType::Int16 | DataType::UInt8 => "SMALLINT".into(),
        DataType::Int32 | DataType::UInt16 => if mysql || pg { "INTEGER" } else { "INT" }.into(),
        DataType::Int64 | DataType::UInt32 | DataType::UInt64 | DataType::Null => "BIGINT".into(),
        DataType::Float16 | DataType::Float32 => "REAL".into(),
        DataType::Float64 => if mysql { "DOUBLE" } else { "DOUBLE PRECISION" }.into(),
        DataType::Decimal32(p, s) | DataType::Decimal64(p, s) | DataType::Decimal128(p, s) => {
            format!("DECIMAL({},{s})", (*p).min(if mysql { 65 } else { 38 }))
        }
        DataType::Decimal256(p, s) => format!("DECIMAL({},{s})", (*p).min(if mysql { 65 } else { 76 })),
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => if mysql { "LONGTEXT" } else { "TEXT" }.into(),
        DataType::Binary | DataType::LargeBinary | DataType::BinaryView | DataType::FixedSizeBinary(_) => {
            match driver {
                Driver::MySql => "LONGBLOB",
                Driver::Postgres => "BYTEA",
                Driver::Sqlite => "BLOB",
            }
            .into()
        }
        DataType::Date32 | DataType::Date64 => "DATE".into(),
        DataType::Timestamp(..) => if mysql { "DATETIME(6)" } else { "TIMESTAMP" }.into(),
        _ => return None,
    })
}

/// Date text `YYYY-MM-DD` of days since the epoch.
pub fn date_text(days: i32) -> String {
    DateTime::from_timestamp(i64::from(days) * 86_400, 0)
        .map(|t| t.format("%Y-%m-%d").to_string())
        .unwrap_or_else(|| days.to_string())
}

/// Timestamp text `YYYY-MM-DD HH:MM:SS.ffffff` (UTC) of microseconds since the epoch.
pub fn timestamp_text(micros: i64) -> String {
    DateTime::from_timestamp_micros(micros)
        .map(|t| t.format("%Y-%m-%d %H:%M:%S%.6f").to_string())
        .unwrap_or_else(|| micros.to_string())
}

/// The Arrow type of a declared SQL column type, by its words (SQLite's declared types,
/// and the names MySQL reports): None when no rule matches.
pub fn type_of_declared(declared: &str) -> Option<DataType> {
    let upper = declared.trim().to_ascii_uppercase();
    let base = upper.split('(').next().unwrap_or("").trim();
    let args: Vec<u8> = upper
        .split_once('(')
        .map(|(_, rest)| rest.trim_end_matches(')').split(',').filter_map(|p| p.trim().parse().ok()).collect())
        .unwrap_or_default();
    Some(match base {
        "BOOLEAN" | "BOOL" | "BIT" => DataType::Boolean,
        "TINYINT" => DataType::Int8,
        "SMALLINT" | "INT2" => DataType::Int16,
        "INT" | "MEDIUMINT" | "INT4" => DataType::Int32,
        "INTEGER" | "BIGINT" | "INT8" | "UNSIGNED BIG INT" => DataType::Int64,
        "REAL" | "FLOAT" | "FLOAT4" => DataType::Float32,
        "DOUBLE" | "DOUBLE PRECISION" | "FLOAT8" => DataType::Float64,
        "DECIMAL" | "NUMERIC" => {
            let precision = args.first().copied().unwrap_or(38).clamp(1, 38);
            let scale = args.get(1).copied().unwrap_or(if args.is_empty() { 18 } else { 0 });
            DataType::Decimal128(precision, scale.min(precision) as i8)
        }
        "DATE" => DataType::Date32,
        "DATETIME" | "TIMESTAMP" => timestamp_type(),
        "BLOB" | "BINARY" | "VARBINARY" | "BYTEA" => DataType::Binary,
        _ if base.contains("CHAR") || base.contains("TEXT") || base.contains("CLOB") => DataType::Utf8,
        // SQLite's affinity rules for other words.
        _ if base.contains("INT") => DataType::Int64,
        _ if base.contains("REAL") || base.contains("FLOA") || base.contains("DOUB") => DataType::Float64,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn declared_types() {
        assert_eq!(type_of_declared("integer"), Some(DataType::Int64));
        assert_eq!(type_of_declared("INT"), Some(DataType::Int32));
        assert_eq!(type_of_declared("decimal(10, 2)"), Some(DataType::Decimal128(10, 2)));
        assert_eq!(type_of_declared("NUMERIC"), Some(DataType::Decimal128(38, 18)));
        assert_eq!(type_of_declared("varchar(20)"), Some(DataType::Utf8));
        assert_eq!(type_of_declared("TIMESTAMP"), Some(timestamp_type()));
        assert_eq!(type_of_declared("geometry"), None);
    }

    #[test]
    fn arrays_from_loose_cells() {
        let a = to_array("n", &DataType::Decimal128(10, 2), &[Cell::Text("12.5".into()), Cell::Null, Cell::Int(3)])
            .unwrap();
        let a = a.as_primitive::<Decimal128Type>();
        assert_eq!((a.value(0), a.is_null(1), a.value(2)), (1250, true, 300));
        let a = to_array("d", &DataType::Date32, &[Cell::Text("1970-01-11".into())]).unwrap();
        assert_eq!(a.as_primitive::<Date32Type>().value(0), 10);
        let a = to_array("t", &timestamp_type(), &[Cell::Text("1970-01-01 00:00:01.5".into())]).unwrap();
        assert_eq!(a.as_primitive::<datafusion::arrow::datatypes::TimestampMicrosecondType>().value(0), 1_500_000);
        let e = to_array("small", &DataType::Int16, &[Cell::Int(1 << 20)]).unwrap_err().to_string();
        assert!(e.contains("column 'small'"), "{e}");
        let e = to_array(
            "g",
            &DataType::List(Arc::new(datafusion::arrow::datatypes::Field::new("x", DataType::Int32, true))),
            &[],
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("column 'g'"), "{e}");
        let a = to_array("b", &DataType::Boolean, &[Cell::Int(1), Cell::Text("f".into())]).unwrap();
        assert!(a.as_boolean().value(0) && !a.as_boolean().value(1));
    }

    #[test]
    fn rows_of_a_batch() {
        let batch = RecordBatch::try_from_iter([
            ("i", Arc::new(Int32Array::from(vec![Some(1), None])) as ArrayRef),
            ("s", Arc::new(StringArray::from(vec!["a", "b"])) as ArrayRef),
            ("ts", Arc::new(TimestampMicrosecondArray::from(vec![1_000_000, 0]).with_timezone("UTC")) as ArrayRef),
        ])
        .unwrap();
        let rows = batch_rows(&batch).unwrap();
        assert_eq!(rows[0], vec![Cell::Int(1), Cell::Text("a".into()), Cell::Timestamp(1_000_000)]);
        assert_eq!(rows[1][0], Cell::Null);
        assert_eq!(timestamp_text(1_500_000), "1970-01-01 00:00:01.500000");
        assert_eq!(date_text(10), "1970-01-11");
        assert_eq!(parse_timestamp("1970-01-01 01:00:00+01"), Some(0));
    }

    #[test]
    fn create_types() {
        assert_eq!(sql_type(Driver::Postgres, &DataType::Decimal128(10, 2)).unwrap(), "DECIMAL(10,2)");
        assert_eq!(sql_type(Driver::MySql, &DataType::Utf8).unwrap(), "LONGTEXT");
        assert_eq!(sql_type(Driver::Sqlite, &DataType::Int32).unwrap(), "INT");
        assert_eq!(sql_type(Driver::Postgres, &timestamp_type()).unwrap(), "TIMESTAMP");
        assert!(sql_type(Driver::Sqlite, &DataType::Struct(Default::default())).is_none());
    }
}
