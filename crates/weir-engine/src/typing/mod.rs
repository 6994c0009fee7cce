//! Arc's TypingTransform core: types all-string columns with an Arc schema.
//!
//! Columns are matched **by position** (ignoring internal columns `_filename`, `_index`,
//! `_monotonically_increasing_id`); names, types and nullability come from the schema. Each
//! value is trimmed (if `trim`), compared with `nullableValues`, replaced by
//! `nullReplacementValue` or set to null, else converted ([`convert`]). Failures become
//! entries of the `_errors` column — `array<struct<field, message>>`, an empty array on clean
//! rows — and, per `failMode`, may abort.
//!
//! | type | Arrow type | rules |
//! |---|---|---|
//! | string | Utf8 | minLength, maxLength, regex (full match) |
//! | integer / long | Int32 / Int64 | Java parseInt/parseLong, `E+` notation, DecimalFormat `formatters` |
//! | double | Float64 | Java parseDouble (NaN, exponents, d/f suffix; infinity is an error), formatters |
//! | decimal | Decimal128(p, s) | BigDecimal literal, HALF_UP to scale, precision checked, formatters |
//! | boolean | Boolean | exact trueValues / falseValues |
//! | date | Date32 | Java patterns; `yyyy` resolves leniently (Feb 30 → Feb 29), `uuuu` strictly |
//! | timestamp | Timestamp(µs, UTC) | Java patterns in `timezoneId` unless the pattern has a zone; `time`; epoch `ssssssssss` / `sssssssssssss` |
//! | time | Utf8 | ISO local time text |
//! | binary | Binary | base64 (lenient) or hexadecimal (Arc's 64-bit limit) |
//! | struct, array | — | schema-only: rejected by TypingTransform |

pub mod convert;
pub mod javatime;
pub mod schema;

use std::collections::HashMap;
use std::sync::Arc;

use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, BinaryBuilder, BooleanBuilder, Date32Builder, Decimal128Builder, Float64Builder,
    Int32Builder, Int64Builder, ListBuilder, RecordBatch, StringBuilder, StructBuilder, TimestampMicrosecondBuilder,
};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Field, Fields, Schema, SchemaRef, TimeUnit};

pub use schema::{FieldKind, FieldSpec, SchemaError, parse_schema};

/// Columns extracts add; TypingTransform passes them through.
pub const INTERNAL_COLUMNS: &[&str] = &["_filename", "_index", "_monotonically_increasing_id"];

/// What a typing failure does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailMode {
    /// Errors go to `_errors`; only a failing non-nullable column aborts.
    Permissive,
    /// Any row with an error aborts.
    FailFast,
}

impl FailMode {
    /// Arc's name of the mode, as `failMode` takes it.
    pub fn name(self) -> &'static str {
        match self {
            FailMode::Permissive => "permissive",
            FailMode::FailFast => "failfast",
        }
    }

    /// Reads `failMode` (`permissive`, the default, or `failfast`).
    pub fn read(c: &mut crate::config::StageConfig) -> Option<Self> {
        c.choice(
            "failMode",
            &[("permissive", FailMode::Permissive), ("failfast", FailMode::FailFast)],
            FailMode::Permissive,
        )
    }
}

/// Why typing cannot go on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TypingError {
    #[error(
        "TypingTransform requires an input schema to define how to transform data but the provided schema has 0 columns."
    )]
    EmptySchema,
    #[error(
        "TypingTransform can only be performed on tables with the same number of columns, but the schema has {schema} columns and the data table has {data} columns."
    )]
    ColumnCount { schema: usize, data: usize },
    #[error("TypingTransform cannot produce '{1}' columns (field '{0}'): struct and array are schema-only types.")]
    Unsupported(String, String),
    #[error(
        "TypingTransform input column '{column}' has type {found} but must be a string (or already {expected}) to be typed as '{field}'."
    )]
    InputType { column: String, field: String, found: String, expected: String },
    #[error("TypingTransform with non-nullable column '{field}' cannot continue due to error: {message}.")]
    NonNullable { field: String, message: String },
    #[error("TypingTransform with failMode equal to 'failfast' cannot continue due to row with error(s): [{}].", .0.iter().map(|(f, m)| format!("[{f},{m}]")).collect::<Vec<_>>().join(", "))]
    FailFast(Vec<(String, String)>),
    #[error("{0}")]
    Arrow(String),
}

fn errors_struct_fields() -> Fields {
    Fields::from(vec![Field::new("field", DataType::Utf8, false), Field::new("message", DataType::Utf8, false)])
}

/// The `_errors` column type.
pub fn errors_type() -> DataType {
    DataType::List(Arc::new(Field::new("item", DataType::Struct(errors_struct_fields()), true)))
}

/// The Arrow type of a schema field.
pub fn arrow_type(field: &FieldSpec) -> Result<DataType, TypingError> {
    Ok(match &field.kind {
        FieldKind::String { .. } | FieldKind::Time { .. } => DataType::Utf8,
        FieldKind::Integer { .. } => DataType::Int32,
        FieldKind::Long { .. } => DataType::Int64,
        FieldKind::Double { .. } => DataType::Float64,
        FieldKind::Decimal { precision, scale, .. } => DataType::Decimal128(*precision, *scale),
        FieldKind::Boolean { .. } => DataType::Boolean,
        FieldKind::Date { .. } => DataType::Date32,
        FieldKind::Timestamp { .. } => DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
        FieldKind::Binary { .. } => DataType::Binary,
        FieldKind::Struct | FieldKind::Array => {
            return Err(TypingError::Unsupported(field.name.clone(), field.type_name.clone()));
        }
    })
}

/// A typed column's metadata as Arc sets it: the field's `metadata` object (non-string values
/// as JSON text), then `id` and `description` when given, `nullable` and `internal: false`.
pub fn field_metadata(field: &FieldSpec) -> HashMap<String, String> {
    let mut m = HashMap::new();
    if let Some(meta) = &field.metadata {
        for (k, v) in meta {
            let text = match v {
                serde_json::Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            m.insert(k.clone(), text);
        }
    }
    if let Some(id) = &field.id {
        m.insert("id".to_string(), id.clone());
    }
    if let Some(d) = &field.description {
        m.insert("description".to_string(), d.clone());
    }
    m.insert("nullable".to_string(), field.nullable.to_string());
    m.insert("internal".to_string(), "false".to_string());
    m
}

/// Positions of the non-internal columns of the input.
fn data_columns(input: &Schema) -> Vec<usize> {
    input
        .fields()
        .iter()
        .enumerate()
        .filter(|(_, f)| !INTERNAL_COLUMNS.contains(&f.name().as_str()) && f.name() != "_errors")
        .map(|(i, _)| i)
        .collect()
}

/// The schema TypingTransform produces for `input`.
pub fn output_schema(input: &Schema, fields: &[FieldSpec]) -> Result<SchemaRef, TypingError> {
    if fields.is_empty() {
        return Err(TypingError::EmptySchema);
    }
    let data = data_columns(input);
    if data.len() != fields.len() {
        return Err(TypingError::ColumnCount { schema: fields.len(), data: data.len() });
    }
    let mut out = Vec::with_capacity(fields.len() + 3);
    for (spec, &col) in fields.iter().zip(&data) {
        let target = arrow_type(spec)?;
        let found = input.field(col).data_type();
        let is_string = matches!(found, DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View | DataType::Null);
        if !is_string && found != &target {
            return Err(TypingError::InputType {
                column: input.field(col).name().clone(),
                field: spec.name.clone(),
                found: found.to_string(),
                expected: target.to_string(),
            });
        }
        out.push(Field::new(&spec.name, target, spec.nullable).with_metadata(field_metadata(spec)));
    }
    for f in input.fields().iter().filter(|f| INTERNAL_COLUMNS.contains(&f.name().as_str())) {
        out.push(f.as_ref().clone());
    }
    out.push(Field::new("_errors", errors_type(), true));
    Ok(Arc::new(Schema::new(out)))
}

/// Collects the errors of each row of a batch.
struct RowErrors {
    rows: Vec<Vec<(usize, String)>>,
}

/// Types one column of strings; records errors per row.
fn type_column(
    values: &ArrayRef,
    spec: &FieldSpec,
    index: usize,
    errors: &mut RowErrors,
) -> Result<ArrayRef, TypingError> {
    let target = arrow_type(spec)?;
    if values.data_type() == &target && target != DataType::Utf8 {
        return Ok(values.clone());
    }
    let strings = cast(values, &DataType::Utf8).map_err(|e| TypingError::Arrow(e.to_string()))?;
    let strings = strings.as_string::<i32>();
    let rows = strings.len();
    const NULL_ERROR: &str = "Non-null value expected and no nullReplacementValue value was provided";
    // The text to convert for a row, or None for a null result (recording the error of a
    // null in a non-nullable column).
    let resolve = |row: usize, errors: &mut RowErrors| -> Option<&str> {
        let raw = if strings.is_null(row) { None } else { Some(strings.value(row)) };
        let value = raw.map(|v| if spec.trim { v.trim() } else { v });
        let is_null = match value {
            None => true,
            Some(v) => spec.nullable_values.iter().any(|n| n == v),
        };
        if is_null {
            if let Some(replacement) = &spec.null_replacement {
                return Some(replacement.as_str());
            }
            if !spec.nullable {
                errors.rows[row].push((index, NULL_ERROR.into()));
            }
            return None;
        }
        value
    };
    macro_rules! build {
        ($builder:expr, $convert:expr) => {{
            let mut builder = $builder;
            for row in 0..rows {
                match resolve(row, errors) {
                    None => builder.append_null(),
                    Some(text) => match $convert(text) {
                        Some(v) => builder.append_value(v),
                        None => {
                            errors.rows[row].push((index, convert::conversion_error(text, &spec.kind)));
                            builder.append_null();
                        }
                    },
                }
            }
            Arc::new(builder.finish()) as ArrayRef
        }};
    }
    let array = match &spec.kind {
        FieldKind::String { .. } => {
            let mut builder = StringBuilder::with_capacity(rows, strings.value_data().len());
            for row in 0..rows {
                match resolve(row, errors) {
                    None => builder.append_null(),
                    Some(text) => {
                        if let Some(message) = convert::validate_string(text, &spec.kind) {
                            errors.rows[row].push((index, message));
                            builder.append_null();
                        } else {
                            builder.append_value(text);
                        }
                    }
                }
            }
            Arc::new(builder.finish()) as ArrayRef
        }
        FieldKind::Integer { formatters } => build!(Int32Builder::with_capacity(rows), |t: &str| convert::to_integer(
            t,
            formatters,
            i128::from(i32::MIN),
            i128::from(i32::MAX)
        )
        .map(|v| v as i32)),
        FieldKind::Long { formatters } => build!(Int64Builder::with_capacity(rows), |t: &str| convert::to_integer(
            t,
            formatters,
            i128::from(i64::MIN),
            i128::from(i64::MAX)
        )
        .map(|v| v as i64)),
        FieldKind::Double { formatters } => {
            build!(Float64Builder::with_capacity(rows), |t: &str| convert::to_double(t, formatters))
        }
        FieldKind::Decimal { precision, scale, formatters } => build!(
            Decimal128Builder::with_capacity(rows)
                .with_precision_and_scale(*precision, *scale)
                .map_err(|e| TypingError::Arrow(e.to_string()))?,
            |t: &str| convert::to_decimal(t, *precision, *scale, formatters)
        ),
        FieldKind::Boolean { true_values, false_values } => build!(BooleanBuilder::with_capacity(rows), |t: &str| {
            if true_values.iter().any(|v| v == t) {
                Some(true)
            } else if false_values.iter().any(|v| v == t) {
                Some(false)
            } else {
                None
            }
        }),
        FieldKind::Date { formats, .. } => {
            build!(Date32Builder::with_capacity(rows), |t: &str| formats
                .date(t)
                .map(|d| (d - chrono::NaiveDate::from_ymd_opt(1970, 1, 1).unwrap_or_default()).num_days() as i32))
        }
        FieldKind::Timestamp { formats, timezone, time, .. } => {
            build!(TimestampMicrosecondBuilder::with_capacity(rows).with_timezone("UTC"), |t: &str| {
                formats.instant(t, timezone, *time)
            })
        }
        FieldKind::Time { formats, .. } => {
            build!(StringBuilder::with_capacity(rows, rows * 8), |t: &str| formats
                .time_of_day(t)
                .map(convert::iso_local_time))
        }
        FieldKind::Binary { base64 } => {
            build!(BinaryBuilder::with_capacity(rows, rows * 8), |t: &str| convert::to_binary(t, *base64))
        }
        FieldKind::Struct | FieldKind::Array => unreachable_kind(spec)?,
    };
    Ok(array)
}

fn unreachable_kind(spec: &FieldSpec) -> Result<ArrayRef, TypingError> {
    Err(TypingError::Unsupported(spec.name.clone(), spec.type_name.clone()))
}

/// Types one batch into `out_schema` (from [`output_schema`]).
pub fn type_batch(
    batch: &RecordBatch,
    fields: &[FieldSpec],
    out_schema: &SchemaRef,
    fail_mode: FailMode,
) -> Result<RecordBatch, TypingError> {
    let input = batch.schema();
    let data = data_columns(&input);
    let rows = batch.num_rows();
    let mut errors = RowErrors { rows: vec![Vec::new(); rows] };
    let mut columns: Vec<ArrayRef> = Vec::with_capacity(out_schema.fields().len());
    for (index, (spec, &col)) in fields.iter().zip(&data).enumerate() {
        columns.push(type_column(batch.column(col), spec, index, &mut errors)?);
    }
    // Abort per failMode, at the first offending row.
    for row_errors in &errors.rows {
        if row_errors.is_empty() {
            continue;
        }
        match fail_mode {
            FailMode::FailFast => {
                return Err(TypingError::FailFast(
                    row_errors.iter().map(|(i, m)| (fields[*i].name.clone(), m.clone())).collect(),
                ));
            }
            FailMode::Permissive => {
                if let Some((i, message)) = row_errors.iter().find(|(i, _)| !fields[*i].nullable) {
                    return Err(TypingError::NonNullable { field: fields[*i].name.clone(), message: message.clone() });
                }
            }
        }
    }
    for (i, f) in input.fields().iter().enumerate() {
        if INTERNAL_COLUMNS.contains(&f.name().as_str()) {
            columns.push(batch.column(i).clone());
        }
    }
    let mut list = ListBuilder::with_capacity(StructBuilder::from_fields(errors_struct_fields(), rows), rows);
    for row_errors in &errors.rows {
        for (i, message) in row_errors {
            let entry = list.values();
            if let Some(b) = entry.field_builder::<StringBuilder>(0) {
                b.append_value(&fields[*i].name);
            }
            if let Some(b) = entry.field_builder::<StringBuilder>(1) {
                b.append_value(message);
            }
            entry.append(true);
        }
        list.append(true);
    }
    columns.push(Arc::new(list.finish()));
    RecordBatch::try_new(out_schema.clone(), columns).map_err(|e| TypingError::Arrow(e.to_string()))
}

#[cfg(test)]
mod tests;
