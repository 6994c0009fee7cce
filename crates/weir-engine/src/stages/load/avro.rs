//! AvroLoad: writes a view as Avro object container files, snappy-compressed, with the schema
//! Spark's Avro source writes: record `topLevelRecord`, a nullable column as the union
//! `[type, "null"]`, byte/short as `int`, date as `int`/`date`, timestamp as
//! `long`/`timestamp-micros`, timestamp_ntz as `long`/`local-timestamp-micros`, decimal as
//! `fixed`/`decimal` (the fewest bytes for its precision), nested structs as records named
//! after their column in the enclosing record's namespace.

use std::sync::Arc;

use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::{DataType, Field, Fields, Schema, SchemaRef};
use datafusion::arrow::error::ArrowError;
use serde_json::{Value, json};

use crate::config::StageConfig;
use crate::stages::load::encoded::{BatchEncoder, EncoderFactory, SharedBuffer};
use crate::stages::load::files::{FileFormat, FileLoad};
use crate::stages::{LoadCommon, Stage};

pub fn build(c: &mut StageConfig) -> Option<Box<dyn Stage>> {
    let common = LoadCommon::read(c);
    let _ = c.node("authentication");
    Some(Box::new(FileLoad { stage: "AvroLoad", common: common?, format: FileFormat::Avro, extra: Default::default() }))
}

fn unsupported(name: &str, t: &DataType) -> ArrowError {
    ArrowError::SchemaError(format!("AvroLoad cannot write column '{name}' of type {t} as Avro."))
}

/// The Arrow type written for `t`: the one Spark's Avro writer produces from that Spark type.
fn write_type(name: &str, t: &DataType) -> Result<DataType, ArrowError> {
    Ok(match t {
        DataType::Boolean | DataType::Int32 | DataType::Int64 | DataType::Float32 | DataType::Float64 => t.clone(),
        DataType::Int8 | DataType::Int16 | DataType::UInt8 | DataType::UInt16 => DataType::Int32,
        DataType::UInt32 | DataType::UInt64 => DataType::Int64,
        DataType::Float16 => DataType::Float32,
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => DataType::Utf8,
        DataType::Binary | DataType::LargeBinary | DataType::BinaryView | DataType::FixedSizeBinary(_) => {
            DataType::Binary
        }
        DataType::Date32 | DataType::Date64 => DataType::Date32,
        DataType::Timestamp(_, Some(_)) => crate::sql::timestamps::ltz(),
        DataType::Timestamp(_, None) => crate::sql::timestamps::ntz(),
        DataType::Decimal32(p, s) | DataType::Decimal64(p, s) | DataType::Decimal128(p, s) if *s >= 0 => {
            DataType::Decimal128(*p, *s)
        }
        DataType::Decimal256(p, s) if *p <= 38 && *s >= 0 => DataType::Decimal128(*p, *s),
        DataType::Dictionary(_, value) => write_type(name, value)?,
        DataType::List(f) | DataType::LargeList(f) | DataType::FixedSizeList(f, _) => {
            DataType::List(Arc::new(write_field(&format!("{name}.element"), f)?))
        }
        DataType::Struct(fields) => DataType::Struct(
            fields.iter().map(|f| write_field(&format!("{name}.{}", f.name()), f)).collect::<Result<Fields, _>>()?,
        ),
        DataType::Map(entries, sorted) => {
            let DataType::Struct(kv) = entries.data_type() else { return Err(unsupported(name, t)) };
            if !matches!(kv[0].data_type(), DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View) {
                return Err(ArrowError::SchemaError(format!(
                    "AvroLoad cannot write column '{name}': Avro map keys are strings, not {}.",
                    kv[0].data_type()
                )));
            }
            let key = Field::new(kv[0].name(), DataType::Utf8, false);
            let value = write_field(&format!("{name}.value"), &kv[1])?;
            let entries = Field::new(entries.name(), DataType::Struct(Fields::from(vec![key, value])), false);
            DataType::Map(Arc::new(entries), *sorted)
        }
        other => return Err(unsupported(name, other)),
    })
}

fn write_field(name: &str, f: &Field) -> Result<Field, ArrowError> {
    Ok(Field::new(f.name(), write_type(name, f.data_type())?, f.is_nullable()))
}

/// Spark's `minBytesForPrecision`: the fewest bytes of a two's complement integer holding
/// every unscaled value of that many decimal digits.
fn min_bytes_for_precision(precision: u8) -> usize {
    let mut bytes = 1usize;
    while 2f64.powi((8 * bytes - 1) as i32) < 10f64.powi(precision as i32) {
        bytes += 1;
    }
    bytes
}

/// The Avro schema of a type as Spark writes it (`record_name`/`namespace` name records and
/// fixed types, as Spark's `SchemaConverters.toAvroType`).
fn avro_type(t: &DataType, nullable: bool, record_name: &str, namespace: &str) -> Value {
    let inner = match t {
        DataType::Boolean => json!("boolean"),
        DataType::Int32 => json!("int"),
        DataType::Int64 => json!("long"),
        DataType::Float32 => json!("float"),
        DataType::Float64 => json!("double"),
        DataType::Utf8 => json!("string"),
        DataType::Binary => json!("bytes"),
        DataType::Date32 => json!({"type": "int", "logicalType": "date"}),
        DataType::Timestamp(_, Some(_)) => json!({"type": "long", "logicalType": "timestamp-micros"}),
        DataType::Timestamp(_, None) => json!({"type": "long", "logicalType": "local-timestamp-micros"}),
        DataType::Decimal128(p, s) => {
            let name = match namespace {
                "" => format!("{record_name}.fixed"),
                ns => format!("{ns}.{record_name}.fixed"),
            };
            json!({"type": "fixed", "name": name, "size": min_bytes_for_precision(*p),
                   "logicalType": "decimal", "precision": p, "scale": s})
        }
        DataType::List(f) => {
            json!({"type": "array", "items": avro_type(f.data_type(), f.is_nullable(), record_name, namespace)})
        }
        DataType::Map(entries, _) => {
            let DataType::Struct(kv) = entries.data_type() else { unreachable!("checked by write_type") };
            json!({"type": "map", "values": avro_type(kv[1].data_type(), kv[1].is_nullable(), record_name, namespace)})
        }
        DataType::Struct(fields) => {
            let child_namespace = match namespace {
                "" => record_name.to_string(),
                ns => format!("{ns}.{record_name}"),
            };
            let fields: Vec<Value> = fields
                .iter()
                .map(|f| {
                    json!({"name": f.name(), "type": avro_type(f.data_type(), f.is_nullable(), f.name(), &child_namespace)})
                })
                .collect();
            let mut record = json!({"type": "record", "name": record_name, "fields": fields});
            if !namespace.is_empty() {
                record["namespace"] = json!(namespace);
            }
            record
        }
        other => unreachable!("write_type maps {other} to a written type"),
    };
    match nullable {
        true => json!([inner, "null"]),
        false => inner,
    }
}

/// The written schema of `schema`: Spark's types, and the Avro schema in the metadata key the
/// writer takes it from.
fn written_schema(schema: &Schema) -> Result<SchemaRef, ArrowError> {
    let fields = schema.fields().iter().map(|f| write_field(f.name(), f)).collect::<Result<Fields, _>>()?;
    let record = avro_type(&DataType::Struct(fields.clone()), false, "topLevelRecord", "");
    let metadata = [(arrow_avro::schema::SCHEMA_METADATA_KEY.to_string(), record.to_string())].into_iter().collect();
    Ok(Arc::new(Schema::new_with_metadata(fields, metadata)))
}

/// Avro's `long`: zig-zag, then base-128 varint.
fn write_long(out: &mut Vec<u8>, value: i64) {
    let mut n = ((value << 1) ^ (value >> 63)) as u64;
    while n >= 0x80 {
        out.push((n as u8 & 0x7f) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

fn write_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    write_long(out, bytes.len() as i64);
    out.extend_from_slice(bytes);
}

/// The object container file header: magic, the schema and codec, the sync marker.
fn header(schema_json: &str, codec: &str, sync: &[u8; 16]) -> Vec<u8> {
    let mut out = b"Obj\x01".to_vec();
    write_long(&mut out, 2);
    write_bytes(&mut out, b"avro.schema");
    write_bytes(&mut out, schema_json.as_bytes());
    write_bytes(&mut out, b"avro.codec");
    write_bytes(&mut out, codec.as_bytes());
    write_long(&mut out, 0);
    out.extend_from_slice(sync);
    out
}

/// One snappy block of `count` encoded rows: raw snappy, then the CRC-32 of the plain bytes.
fn block(rows: &[u8], count: usize, sync: &[u8; 16]) -> Result<Vec<u8>, ArrowError> {
    let mut data = snap::raw::Encoder::new().compress_vec(rows).map_err(|e| ArrowError::ExternalError(Box::new(e)))?;
    data.extend_from_slice(&crc32fast::hash(rows).to_be_bytes());
    let mut out = Vec::with_capacity(data.len() + 36);
    write_long(&mut out, count as i64);
    write_bytes(&mut out, &data);
    out.extend_from_slice(sync);
    Ok(out)
}

/// An uncompressed object container file holding `datums` (each one Avro binary-encoded
/// value of `schema_json`) as one block: how Avro records held in a binary column are
/// decoded with the file reader.
pub(crate) fn container(schema_json: &str, datums: &[&[u8]]) -> Vec<u8> {
    let sync = [0x5a; 16];
    let mut out = header(schema_json, "null", &sync);
    if !datums.is_empty() {
        write_long(&mut out, datums.len() as i64);
        write_long(&mut out, datums.iter().map(|d| d.len() as i64).sum());
        for datum in datums {
            out.extend_from_slice(datum);
        }
        out.extend_from_slice(&sync);
    }
    out
}

/// Writes one object container file. arrow-avro encodes the rows with the given Avro schema;
/// the file framing is ours, because arrow-avro's own file writer (59.3) puts a schema of its
/// own making in the header rather than the one the rows are encoded with.
struct AvroEncoder {
    schema: SchemaRef,
    encoder: arrow_avro::writer::Encoder,
    out: SharedBuffer,
    sync: [u8; 16],
}

impl BatchEncoder for AvroEncoder {
    fn write(&mut self, batch: &RecordBatch) -> Result<(), ArrowError> {
        use std::io::Write;
        self.encoder.encode(&crate::stages::cast_batch(batch, &self.schema)?)?;
        let rows = self.encoder.flush();
        if !rows.is_empty() {
            self.out.write_all(&block(rows.bytes(), rows.len(), &self.sync)?)?;
        }
        Ok(())
    }

    fn finish(self: Box<Self>) -> Result<(), ArrowError> {
        Ok(())
    }
}

/// Makes the Avro writer of one file (snappy blocks, as Spark's default codec).
pub(crate) fn encoder() -> EncoderFactory {
    Arc::new(|schema: SchemaRef, mut out: SharedBuffer| {
        use std::io::Write;
        let schema = written_schema(&schema)?;
        let json = schema.metadata()[arrow_avro::schema::SCHEMA_METADATA_KEY].clone();
        let encoder = arrow_avro::writer::WriterBuilder::new(schema.as_ref().clone())
            .build_encoder::<arrow_avro::writer::format::AvroBinaryFormat>()?;
        let sync = *uuid::Uuid::new_v4().as_bytes();
        out.write_all(&header(&json, "snappy", &sync))?;
        Ok(Box::new(AvroEncoder { schema, encoder, out, sync }) as Box<dyn BatchEncoder>)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::datatypes::TimeUnit;

    #[test]
    fn decimal_sizes_follow_spark() {
        // Spark: precision 1-2 → 1 byte, 9 → 4, 10 → 5, 18 → 8, 38 → 16.
        let sizes: Vec<usize> = [1, 2, 3, 9, 10, 18, 19, 38].iter().map(|p| min_bytes_for_precision(*p)).collect();
        assert_eq!(sizes, [1, 1, 2, 4, 5, 8, 9, 16]);
    }

    #[test]
    fn schema_is_the_one_spark_writes() {
        let schema = Schema::new(vec![
            Field::new("id", DataType::Int16, false),
            Field::new("amount", DataType::Decimal128(10, 2), true),
            Field::new("at", DataType::Timestamp(TimeUnit::Nanosecond, Some("+00:00".into())), true),
            Field::new(
                "s",
                DataType::Struct(Fields::from(vec![
                    Field::new("d", DataType::Date32, true),
                    Field::new("p", DataType::Decimal128(5, 1), false),
                ])),
                true,
            ),
        ]);
        let written = written_schema(&schema).unwrap();
        assert_eq!(written.field(0).data_type(), &DataType::Int32);
        assert_eq!(written.field(2).data_type(), &crate::sql::timestamps::ltz());
        let avro: Value = serde_json::from_str(&written.metadata()["avro.schema"]).unwrap();
        assert_eq!(
            avro,
            json!({"type": "record", "name": "topLevelRecord", "fields": [
                {"name": "id", "type": "int"},
                {"name": "amount", "type": [{"type": "fixed", "name": "topLevelRecord.amount.fixed", "size": 5,
                    "logicalType": "decimal", "precision": 10, "scale": 2}, "null"]},
                {"name": "at", "type": [{"type": "long", "logicalType": "timestamp-micros"}, "null"]},
                {"name": "s", "type": [{"type": "record", "name": "s", "namespace": "topLevelRecord", "fields": [
                    {"name": "d", "type": [{"type": "int", "logicalType": "date"}, "null"]},
                    {"name": "p", "type": {"type": "fixed", "name": "topLevelRecord.s.p.fixed", "size": 3,
                        "logicalType": "decimal", "precision": 5, "scale": 1}}
                ]}, "null"]}
            ]})
        );
    }

    #[test]
    fn longs_are_zigzag_varints() {
        let encoded = |v: i64| {
            let mut out = Vec::new();
            write_long(&mut out, v);
            out
        };
        assert_eq!(encoded(0), [0]);
        assert_eq!(encoded(-1), [1]);
        assert_eq!(encoded(1), [2]);
        assert_eq!(encoded(64), [0x80, 0x01]);
        assert_eq!(encoded(-65), [0x81, 0x01]);
        assert_eq!(encoded(i64::MIN).len(), 10);
    }

    #[test]
    fn unwritable_types_name_the_column() {
        let schema = Schema::new(vec![Field::new("t", DataType::Time64(TimeUnit::Microsecond), true)]);
        let err = written_schema(&schema).unwrap_err().to_string();
        assert!(err.contains("AvroLoad cannot write column 't'"), "{err}");
    }
}
